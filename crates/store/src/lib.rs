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
pub use sqlite::{Reader, SqliteStore, ViewColumn, WriteTx};
