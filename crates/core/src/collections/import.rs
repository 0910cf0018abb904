//! `PUT /api/collections/import`: many definitions saved at once, all or nothing. Existing
//! collections (matched by id, then name) take the imported values over theirs; with
//! `deleteMissing`, collections and fields the import leaves out are deleted.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::model::{Collection, CollectionType};
use super::save::{
    check_draft, draft_new, draft_update, drop_collection, schema_with, schema_without,
    store_definition,
};
use super::Schema;
use crate::error::{CoreError, ErrorData, FieldError, FieldErrors, Result};
use crate::util::now;
use crate::Backend;

const FAILED: &str = "Failed to import collections.";

fn import_failure(message: String) -> CoreError {
    CoreError::field(
        FAILED,
        "collections",
        FieldError::new("validation_collections_import_failure", message),
    )
}

/// The imported definition laid over the stored one: the import's fields, plus (unless
/// `delete_missing`) the stored fields it does not mention.
fn merged_draft(
    existing: &Collection,
    data: &Map<String, Json>,
    delete_missing: bool,
    errors: &mut FieldErrors,
) -> Result<Collection> {
    let mut data = data.clone();
    if !data.contains_key("fields") && delete_missing {
        data.insert("fields".into(), Json::Array(vec![]));
    }
    let mut c = draft_update(existing, &data, errors)?;
    if !delete_missing && data.contains_key("fields") {
        for f in &existing.fields {
            if !c.fields.iter().any(|n| n.id == f.id) {
                c.fields.push(f.clone());
            }
        }
    }
    c.updated = now();
    Ok(c)
}

/// Field errors as PocketBase prints them inside an import failure: `{"name": "must be ..."}`.
fn plain(data: &FieldErrors) -> Json {
    Json::Object(
        data.iter()
            .map(|(k, v)| {
                let value = match v {
                    ErrorData::Field(f) => {
                        let msg = f.message.trim_end_matches('.');
                        let mut chars = msg.chars();
                        Json::String(match chars.next() {
                            Some(first) => first.to_lowercase().chain(chars).collect(),
                            None => String::new(),
                        })
                    }
                    ErrorData::Nested(inner) => plain(inner),
                };
                (k.clone(), value)
            })
            .collect(),
    )
}

/// Why a collection failed, as PocketBase words it.
fn describe(c: &Collection, e: CoreError) -> CoreError {
    match e {
        CoreError::Validation { data, .. } => {
            let detail = serde_json::to_string_pretty(&plain(&data)).unwrap_or_default();
            import_failure(format!(
                "Data validations failed for collection {:?} ({}):\n{detail}.",
                c.name, c.id
            ))
        }
        CoreError::BadRequest(m) => import_failure(format!(
            "Failed to import the collections configuration. Raw error:\n{m}"
        )),
        other => other,
    }
}

pub async fn import_collections(backend: &Backend, input: &Json) -> Result<()> {
    let list = input
        .get("collections")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return Err(CoreError::field(
            "An error occurred while validating the submitted data.",
            "collections",
            FieldError::required(),
        ));
    }
    let delete_missing = input
        .get("deleteMissing")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let schema = backend.schema();
    // Drafts, with the stored version of those that exist.
    let mut drafts: Vec<(Collection, Option<Arc<Collection>>, FieldErrors)> = vec![];
    for item in &list {
        let data = item.as_object().ok_or_else(|| {
            CoreError::BadRequest("An error occurred while loading the submitted data.".into())
        })?;
        let key = data
            .get("id")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| data.get("name").and_then(Json::as_str))
            .unwrap_or("");
        let mut errors = FieldErrors::new();
        match schema.get(key) {
            Some(existing) => {
                let c = merged_draft(&existing, data, delete_missing, &mut errors)?;
                drafts.push((c, Some(existing), errors));
            }
            None => drafts.push((draft_new(data, &mut errors)?, None, errors)),
        }
    }
    // Views last: their queries read the other collections' tables.
    drafts.sort_by_key(|(c, _, _)| c.kind == CollectionType::View);
    let imported: HashSet<String> = drafts.iter().map(|(c, _, _)| c.id.clone()).collect();
    let missing: Vec<Arc<Collection>> = if delete_missing {
        schema
            .all()
            .filter(|c| !c.system && !imported.contains(&c.id))
            .cloned()
            .collect()
    } else {
        vec![]
    };
    backend
        .store
        .write(move |tx| -> Result<()> {
            // The schema as it will be, so that relations may point forward in the list.
            let mut target: Schema = Schema::new(
                schema
                    .all()
                    .filter(|c| !missing.iter().any(|m| m.id == c.id))
                    .map(|c| (**c).clone())
                    .collect(),
            );
            for (c, _, _) in &drafts {
                target = schema_with(&target, c);
            }
            for m in &missing {
                drop_collection(tx, m).map_err(|e| describe(m, CoreError::Store(e)))?;
            }
            for (mut c, old, mut errors) in drafts {
                let others = schema_without(&target, &c.id);
                check_draft(tx, &mut c, old.as_deref(), &others, &mut errors);
                if !errors.is_empty() {
                    return Err(describe(&c, CoreError::validation(FAILED, errors)));
                }
                store_definition(tx, &c, old.as_deref(), FAILED).map_err(|e| describe(&c, e))?;
                // A view's fields are known only now.
                target = schema_with(&target, &c);
            }
            Ok(())
        })
        .await?;
    backend.reload_schema().await
}
