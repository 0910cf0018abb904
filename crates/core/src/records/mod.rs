//! Records: reading them under the collection's rules, and validated writes.

mod expand;
mod fields;
mod query;
mod validate;
mod write;

use motorbase_store::{ColumnKind, Row};
use serde_json::{Map, Value as Json};

use crate::collections::{Collection, FieldType};
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
    let mut cols = vec![("id".to_string(), ColumnKind::Text)];
    cols.extend(c.columns().map(|f| (f.name.clone(), f.column_kind())));
    cols
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
        if f.kind == FieldType::Password
            || f.name == "tokenKey" && c.is_auth()
            || (f.hidden && !superuser)
        {
            full.remove(&f.name);
        }
    }
    if c.is_auth() && !superuser {
        let visible = full
            .get("emailVisibility")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let own = ctx.auth.as_ref().is_some_and(|a| {
            a.collection.id == c.id && Some(a.id()) == full.get("id").and_then(Json::as_str)
        });
        if !visible && !own {
            full.remove("email");
        }
    }
    full
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
