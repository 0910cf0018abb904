//! `/api/batch`: several record writes in one transaction.

pub mod send;
