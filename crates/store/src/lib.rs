//! Storage for Motorbase: dialect-neutral queries and schema changes in, rows out.
//! SQL text exists only inside this crate; `core` speaks in [`query`] and [`schema`] types.
#![forbid(unsafe_code)]

pub mod error;
pub mod query;
pub mod schema;
pub mod sqlite;

pub use error::StoreError;
pub use query::*;
pub use schema::*;
pub use sqlite::{stored, CacheSizes, Reader, SqliteStore, ViewColumn, WriteTx, READ_CONNECTIONS};

/// The store core and api use. Today the embedded SQLite one; a PostgreSQL implementation
/// joins behind this name (with the same `read`/`write` closures over [`Reader`] and
/// [`WriteTx`]), so neither core nor api changes when it does.
pub type Store = SqliteStore;
