//! `/api/collections`: superusers only.

pub mod create;
pub mod delete;
pub mod list;
pub mod truncate;
pub mod update;
pub mod view;
