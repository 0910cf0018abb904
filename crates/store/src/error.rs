use thiserror::Error;

/// What can go wrong below the domain layer. Constraint violations are told apart so that core
/// can turn them into field errors (`validation_not_unique`).
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unique constraint failed on {table}.{column}")]
    Unique { table: String, column: String },
    #[error("invalid identifier {0:?}")]
    InvalidIdentifier(String),
    /// A view query that is not a single reading SELECT, or that SQLite refuses.
    #[error("{0}")]
    InvalidView(String),
    #[error("the writer is gone")]
    WriterGone,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// Maps SQLite's constraint messages (`UNIQUE constraint failed: posts.title`) onto [`StoreError::Unique`].
    pub(crate) fn from_sqlite(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            {
                let cols = msg.trim_start_matches("UNIQUE constraint failed: ");
                let first = cols.split(',').next().unwrap_or("").trim();
                let (table, column) = first.split_once('.').unwrap_or(("", first));
                return StoreError::Unique {
                    table: table.to_string(),
                    column: column.to_string(),
                };
            }
        }
        StoreError::Sqlite(e)
    }
}
