//! `/api/collections/{collection}/records`.

pub mod create;
pub mod delete;
pub mod list;
pub mod update;
pub mod view;

use std::collections::HashMap;

use motorbase_core::records::WriteOptions;

/// `expand` and `fields` of a write's response, from the query string.
pub fn write_options(q: &HashMap<String, String>) -> WriteOptions {
    WriteOptions {
        expand: q.get("expand").cloned().unwrap_or_default(),
        fields: q.get("fields").cloned().unwrap_or_default(),
    }
}
