//! Dialect-neutral schema changes.

use crate::query::{ColumnKind, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub kind: ColumnKind,
    /// The value existing rows get and new rows default to.
    pub default: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexColumn {
    pub name: String,
    pub desc: bool,
    pub nocase: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    pub table: String,
    pub columns: Vec<IndexColumn>,
    /// Only the partial-index form PocketBase uses by default: `WHERE col != ''`.
    pub where_not_empty: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SchemaChange {
    /// A record table: `id` text primary key plus the given columns.
    CreateTable {
        table: String,
        columns: Vec<ColumnDef>,
    },
    DropTable {
        table: String,
    },
    RenameTable {
        from: String,
        to: String,
    },
    AddColumn {
        table: String,
        column: ColumnDef,
    },
    DropColumn {
        table: String,
        column: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    /// Rewrites a select/relation/file column between one value and a JSON array of values,
    /// keeping the data (a list keeps its first item when it becomes single).
    ChangeMultiplicity {
        table: String,
        column: String,
        to_multi: bool,
    },
    /// A view collection's SQL view over a superuser's SELECT (checked to be one statement that
    /// only reads); its `id` column is cast to text when it is not text already.
    CreateView {
        name: String,
        query: String,
    },
    DropView {
        name: String,
    },
    CreateIndex(IndexDef),
    DropIndex {
        name: String,
    },
}

/// Checks a table, column or index name against the identifier policy (`^[A-Za-z_][A-Za-z0-9_]*$`).
pub fn valid_identifier(name: &str) -> bool {
    // Bytes, not chars: every column of every statement passes here, and decoding UTF-8 made
    // it ~250 instructions a name. A non-ASCII byte fails both tests, as its char would.
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 100
}
