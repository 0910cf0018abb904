//! The admin dashboard: its assets, embedded in the binary and served at `/_/`, and the
//! first-run install endpoints its "create the first superuser" form calls.

pub mod assets;
pub mod install;
pub mod install_check;
