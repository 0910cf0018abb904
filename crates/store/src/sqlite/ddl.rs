//! Schema changes for SQLite, and the system tables every data folder has.

use rusqlite::Connection;

use super::render::quote;
use crate::error::StoreError;
use crate::query::{ColumnKind, Value};
use crate::schema::{ColumnDef, IndexDef, SchemaChange};

pub(crate) fn bootstrap(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS \"_collections\" (
            \"id\" TEXT PRIMARY KEY NOT NULL,
            \"name\" TEXT NOT NULL UNIQUE COLLATE NOCASE,
            \"type\" TEXT NOT NULL DEFAULT 'base',
            \"system\" BOOLEAN NOT NULL DEFAULT FALSE,
            \"created\" TEXT NOT NULL DEFAULT '',
            \"updated\" TEXT NOT NULL DEFAULT '',
            \"data\" TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS \"_params\" (
            \"id\" TEXT PRIMARY KEY NOT NULL,
            \"value\" TEXT NOT NULL
        );",
    )?;
    Ok(())
}

fn literal(v: &Value) -> String {
    // Defaults are produced by core from field types, never from user text; still, quote safely.
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

fn column_sql(c: &ColumnDef) -> Result<String, StoreError> {
    let ty = match c.kind {
        ColumnKind::Text => "TEXT",
        ColumnKind::Number => "NUMERIC",
        ColumnKind::Bool => "BOOLEAN",
        ColumnKind::Json => "JSON",
    };
    let not_null = if matches!(c.default, Value::Null) {
        ""
    } else {
        " NOT NULL"
    };
    Ok(format!(
        "{} {ty} DEFAULT {}{not_null}",
        quote(&c.name)?,
        literal(&c.default)
    ))
}

fn index_sql(ix: &IndexDef) -> Result<String, StoreError> {
    let cols = ix
        .columns
        .iter()
        .map(|c| {
            quote(&c.name).map(|n| {
                format!(
                    "{n}{}{}",
                    if c.nocase { " COLLATE NOCASE" } else { "" },
                    if c.desc { " DESC" } else { "" }
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if ix.unique { "UNIQUE " } else { "" },
        quote(&ix.name)?,
        quote(&ix.table)?,
        cols.join(", ")
    );
    if let Some(col) = &ix.where_not_empty {
        sql.push_str(&format!(" WHERE {} != ''", quote(col)?));
    }
    Ok(sql)
}

pub(crate) fn apply(conn: &Connection, change: &SchemaChange) -> Result<(), StoreError> {
    let sql = match change {
        SchemaChange::CreateTable { table, columns } => {
            let mut cols = vec!["\"id\" TEXT PRIMARY KEY NOT NULL".to_string()];
            for c in columns {
                cols.push(column_sql(c)?);
            }
            format!("CREATE TABLE {} ({})", quote(table)?, cols.join(", "))
        }
        SchemaChange::DropTable { table } => format!("DROP TABLE IF EXISTS {}", quote(table)?),
        SchemaChange::RenameTable { from, to } => {
            format!("ALTER TABLE {} RENAME TO {}", quote(from)?, quote(to)?)
        }
        SchemaChange::AddColumn { table, column } => {
            format!(
                "ALTER TABLE {} ADD COLUMN {}",
                quote(table)?,
                column_sql(column)?
            )
        }
        SchemaChange::DropColumn { table, column } => {
            format!(
                "ALTER TABLE {} DROP COLUMN {}",
                quote(table)?,
                quote(column)?
            )
        }
        SchemaChange::RenameColumn { table, from, to } => format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            quote(table)?,
            quote(from)?,
            quote(to)?
        ),
        SchemaChange::ChangeMultiplicity {
            table,
            column,
            to_multi,
        } => {
            let (t, c) = (quote(table)?, quote(column)?);
            let (def, expr) = if *to_multi {
                (
                    "JSON DEFAULT '[]' NOT NULL",
                    format!("CASE WHEN {c} IS NULL OR {c} = '' THEN '[]' ELSE json_array({c}) END"),
                )
            } else {
                (
                    "TEXT DEFAULT '' NOT NULL",
                    format!("CASE WHEN json_valid({c}) AND json_type({c}) = 'array' THEN COALESCE(json_extract({c}, '$[0]'), '') ELSE COALESCE({c}, '') END"),
                )
            };
            format!(
                "ALTER TABLE {t} ADD COLUMN \"_mb_convert\" {def};
                 UPDATE {t} SET \"_mb_convert\" = {expr};
                 ALTER TABLE {t} DROP COLUMN {c};
                 ALTER TABLE {t} RENAME COLUMN \"_mb_convert\" TO {c};"
            )
        }
        SchemaChange::CreateView { name, query } => {
            let columns = super::view::columns(conn, query, false)?;
            let text_id = columns.iter().any(|c| {
                c.name == "id"
                    && c.decl_type
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case("text"))
            });
            let names: Vec<String> = columns.into_iter().map(|c| c.name).collect();
            return super::view::create(conn, name, query, (!text_id).then_some(&names[..]));
        }
        SchemaChange::DropView { name } => format!("DROP VIEW IF EXISTS {}", quote(name)?),
        SchemaChange::CreateIndex(ix) => index_sql(ix)?,
        SchemaChange::DropIndex { name } => format!("DROP INDEX IF EXISTS {}", quote(name)?),
    };
    conn.execute_batch(&sql).map_err(StoreError::from_sqlite)
}
