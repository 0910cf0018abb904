//! `/api/settings`: superusers only.

pub mod get;
pub mod update;
