//! `/api/logs`: request logs, superusers only.

pub mod list;
pub mod stats;
pub mod view;
