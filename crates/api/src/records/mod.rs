//! `/api/collections/{collection}/records`.

pub mod create;
pub mod delete;
pub mod list;
pub mod update;
pub mod view;

use std::collections::HashMap;

use motorbase_core::records::{ListParams, WriteOptions};

/// The list query parameters PocketBase reads.
pub fn list_params(q: &HashMap<String, String>) -> ListParams {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    ListParams {
        page: q.get("page").cloned(),
        per_page: q.get("perPage").cloned(),
        sort: get("sort"),
        filter: get("filter"),
        expand: get("expand"),
        fields: get("fields"),
        skip_total: matches!(get("skipTotal").as_str(), "1" | "true" | "True" | "t"),
    }
}

/// `expand` and `fields` of a write's response, from the query string.
pub fn write_options(q: &HashMap<String, String>) -> WriteOptions {
    WriteOptions {
        expand: q.get("expand").cloned().unwrap_or_default(),
        fields: q.get("fields").cloned().unwrap_or_default(),
    }
}
