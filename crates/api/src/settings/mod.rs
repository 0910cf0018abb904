//! `/api/settings`: superusers only.

pub mod get;
pub mod test_email;
pub mod test_s3;
pub mod update;
