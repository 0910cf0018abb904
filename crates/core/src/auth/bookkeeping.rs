//! Rows of the auth bookkeeping collections (`_otps`, `_mfas`, `_externalAuths`,
//! `_authOrigins`), written directly: they are the server's own state, so they skip the records
//! API's rules, validation and realtime events.

use motorbase_store::{CmpOp, Cond, Operand, Path, Select, SortKey, StoreError, Value};
use serde_json::{Map, Value as Json};

use crate::error::{CoreError, Result};
use crate::records::{record_columns, row_to_map};
use crate::util::{now, random_lower};
use crate::Backend;

pub const OTPS: &str = "_otps";
pub const MFAS: &str = "_mfas";
pub const EXTERNAL_AUTHS: &str = "_externalAuths";
pub const AUTH_ORIGINS: &str = "_authOrigins";

fn eq(column: &str, value: &str) -> Cond {
    Cond::Cmp {
        left: Operand::Path(Path::column(column)),
        op: CmpOp::Eq,
        right: Operand::Value(Value::Text(value.to_string())),
        any: false,
    }
}

/// Rows of `table` whose columns equal the given values, newest first.
pub async fn find(
    backend: &Backend,
    table: &str,
    matches: &[(&str, &str)],
) -> Result<Vec<Map<String, Json>>> {
    let c = backend
        .schema()
        .get(table)
        .ok_or_else(|| CoreError::Internal(format!("the {table} collection is missing")))?;
    let q = Select {
        table: c.name.clone(),
        columns: record_columns(&c),
        filter: Cond::And(matches.iter().map(|(k, v)| eq(k, v)).collect()),
        sort: vec![SortKey::RowId { desc: true }],
        limit: None,
        offset: 0,
    };
    backend
        .store
        .read(move |r| -> std::result::Result<_, StoreError> {
            Ok(r.select(&q)?
                .into_iter()
                .map(|row| row_to_map(&c, row))
                .collect())
        })
        .await
        .map_err(CoreError::from)
}

pub async fn find_by_id(
    backend: &Backend,
    table: &str,
    id: &str,
) -> Result<Option<Map<String, Json>>> {
    Ok(find(backend, table, &[("id", id)])
        .await?
        .into_iter()
        .next())
}

/// Inserts a row with a fresh id and timestamps; returns the id.
pub async fn insert(backend: &Backend, table: &str, values: &[(&str, &str)]) -> Result<String> {
    let id = random_lower(15);
    let t = now();
    let mut row: Vec<(String, Value)> = vec![("id".into(), Value::Text(id.clone()))];
    row.extend(
        values
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Text(v.to_string()))),
    );
    row.push(("created".into(), Value::Text(t.clone())));
    row.push(("updated".into(), Value::Text(t)));
    let table = table.to_string();
    backend
        .store
        .write(move |tx| -> std::result::Result<(), StoreError> { tx.insert(&table, &row) })
        .await?;
    Ok(id)
}

/// Sets text columns of one row (and `updated`).
pub async fn set(backend: &Backend, table: &str, id: &str, values: &[(&str, &str)]) -> Result<()> {
    let mut row: Vec<(String, Value)> = values
        .iter()
        .map(|(k, v)| (k.to_string(), Value::Text(v.to_string())))
        .collect();
    row.push(("updated".into(), Value::Text(now())));
    let (table, id) = (table.to_string(), id.to_string());
    backend
        .store
        .write(move |tx| -> std::result::Result<bool, StoreError> { tx.update(&table, &id, &row) })
        .await?;
    Ok(())
}

pub async fn delete(backend: &Backend, table: &str, id: &str) -> Result<()> {
    let (table, id) = (table.to_string(), id.to_string());
    backend
        .store
        .write(move |tx| -> std::result::Result<bool, StoreError> { tx.delete(&table, &id) })
        .await?;
    Ok(())
}

/// Whether a row created at `created` (PocketBase's date format) is older than `seconds`.
pub fn has_expired(row: &Map<String, Json>, seconds: i64) -> bool {
    let created = row.get("created").and_then(Json::as_str).unwrap_or("");
    let parsed = chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S%.3fZ");
    match parsed {
        Ok(t) => t.and_utc().timestamp() + seconds <= chrono::Utc::now().timestamp(),
        Err(_) => true,
    }
}
