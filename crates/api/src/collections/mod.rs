//! `/api/collections`: superusers only.

pub mod create;
pub mod delete;
pub mod dry_run_view;
pub mod import;
pub mod list;
pub mod scaffolds;
pub mod truncate;
pub mod update;
pub mod view;
