//! Records: reading them under the collection's rules, and validated writes.

mod expand;
mod fields;
mod query;
mod validate;
mod write;

use std::sync::Arc;

use motorbase_store::{ColumnKind, Row};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value as Json};

use crate::collections::{Collection, Field, FieldType};
use crate::rules::RequestCtx;

pub use fields::FieldsPicker;
pub(crate) use query::output;
pub use query::{list, view, ListParams, ListResult};

pub(crate) use query::{paging, sort_keys};
pub use validate::{compile_pattern, normalize_date};
pub use write::{create, create_with_files, delete, update, update_with_files};
pub(crate) use write::{
    plan_create, plan_delete, plan_update, plan_upsert, run_planned, Applied, Plan,
};
pub(crate) use write::{record_values, truncate};

/// The stored columns of a collection's table, `id` first.
pub fn record_columns(c: &Collection) -> Vec<(String, ColumnKind)> {
    stored_columns(c)
        .map(|(name, kind)| (name.to_string(), kind))
        .collect()
}

/// [`record_columns`] without copying the names.
pub(crate) fn stored_columns(c: &Collection) -> impl Iterator<Item = (&str, ColumnKind)> {
    std::iter::once(("id", ColumnKind::Text))
        .chain(c.columns().map(|f| (f.name.as_str(), f.column_kind())))
}

/// A row (in [`record_columns`] order) as a full record, hidden fields included.
pub fn row_to_map(c: &Collection, row: Row) -> Map<String, Json> {
    let mut m = Map::with_capacity(row.len() + 2);
    m.insert("collectionId".into(), Json::String(c.id.clone()));
    m.insert("collectionName".into(), Json::String(c.name.clone()));
    let names = std::iter::once("id").chain(c.columns().map(|f| f.name.as_str()));
    for (name, v) in names.zip(row) {
        m.insert(name.to_string(), v);
    }
    m
}

/// What the caller may see of a record: never secrets, hidden fields only for superusers, and
/// an auth record's email only when public or to its owner.
pub fn to_public(
    c: &Collection,
    mut full: Map<String, Json>,
    ctx: &RequestCtx,
) -> Map<String, Json> {
    let superuser = ctx.is_superuser();
    for f in &c.fields {
        if !field_public(c, f, superuser) {
            full.remove(&f.name);
        }
    }
    if !email_public(c, ctx, |key| full.get(key)) {
        full.remove("email");
    }
    full
}

/// Whether a field may leave the server for this caller (an auth record's email aside: see
/// [`email_public`]).
fn field_public(c: &Collection, f: &Field, superuser: bool) -> bool {
    !(f.kind == FieldType::Password
        || f.name == "tokenKey" && c.is_auth()
        || (f.hidden && !superuser))
}

/// Whether the caller may see the `email` of a record of `c` whose values `value` gives by
/// name: always outside auth collections and for superusers (no value is looked up then), else
/// when `emailVisibility` is on or the record is the caller's own.
fn email_public<'a>(
    c: &Collection,
    ctx: &RequestCtx,
    value: impl Fn(&str) -> Option<&'a Json>,
) -> bool {
    if !c.is_auth() || ctx.is_superuser() {
        return true;
    }
    if value("emailVisibility").and_then(Json::as_bool) == Some(true) {
        return true;
    }
    let id = value("id").and_then(Json::as_str);
    ctx.auth
        .as_ref()
        .is_some_and(|a| a.collection.id == c.id && Some(a.id()) == id)
}

/// A record as the caller may see it (as [`to_public`] leaves it), written to JSON straight from
/// its row. Plain lists and views (no `expand`, no `fields`) skip building a map of each record:
/// that cost ~3.7k instructions a record, most of it hashing keys.
#[derive(Debug)]
pub struct RowRecord {
    c: Arc<Collection>,
    /// In [`record_columns`] order.
    row: Row,
    superuser: bool,
    email: bool,
}

impl RowRecord {
    pub(crate) fn new(c: &Arc<Collection>, row: Row, ctx: &RequestCtx) -> Self {
        let names = || std::iter::once("id").chain(c.columns().map(|f| f.name.as_str()));
        let email = email_public(c, ctx, |key| {
            names()
                .zip(&row)
                .find_map(|(name, v)| (name == key).then_some(v))
        });
        RowRecord {
            c: c.clone(),
            superuser: ctx.is_superuser(),
            email,
            row,
        }
    }
}

impl Serialize for RowRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.c;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("collectionId", &c.id)?;
        m.serialize_entry("collectionName", &c.name)?;
        let mut values = self.row.iter();
        if let Some(id) = values.next() {
            m.serialize_entry("id", id)?;
        }
        for (f, v) in c.columns().zip(values) {
            let email_hidden = !self.email && f.name == "email";
            if field_public(c, f, self.superuser) && !email_hidden {
                m.serialize_entry(&f.name, v)?;
            }
        }
        m.end()
    }
}

/// A record in a response: straight from its row, or as a map when `expand` or `fields`
/// reshaped it.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum RecordOut {
    Row(RowRecord),
    Map(Json),
}

pub use write::WriteOptions;

/// Reads one full record (hidden fields included) if it passes `rule`.
pub(crate) async fn view_full(
    backend: &crate::Backend,
    c: &std::sync::Arc<Collection>,
    id: &str,
    rule: motorbase_store::Cond,
) -> crate::error::Result<Option<Map<String, Json>>> {
    let filter = motorbase_store::Cond::And(vec![
        motorbase_store::Cond::IdIn(vec![id.to_string()]),
        rule,
    ]);
    first_match(backend, c, filter).await
}

/// The first stored record of `c` matching `filter`, hidden fields included.
pub(crate) async fn first_match(
    backend: &crate::Backend,
    c: &std::sync::Arc<Collection>,
    filter: motorbase_store::Cond,
) -> crate::error::Result<Option<Map<String, Json>>> {
    let q = motorbase_store::Select {
        table: c.name.clone(),
        columns: record_columns(c),
        filter,
        sort: vec![],
        limit: Some(1),
        offset: 0,
    };
    let c = c.clone();
    backend
        .store
        .read(move |r| -> crate::error::Result<_> {
            Ok(r.select(&q)?
                .into_iter()
                .next()
                .map(|row| row_to_map(&c, row)))
        })
        .await
}
