//! `GET /api/collections`: the definitions, paged, filtered and sorted with the same filter
//! language as records (over `id`, `name`, `type`, `system`, `created`, `updated`).

use motorbase_store::{ColumnKind, Select};
use serde_json::{json, Value as Json};

use super::field::{Field, FieldType};
use super::model::{Collection, CollectionType};
use super::save::public_json;
use crate::error::{CoreError, Result};
use crate::records::{FieldsPicker, ListParams, ListResult};
use crate::rules::{Compiler, Mode, RequestCtx};
use crate::Backend;

/// The `_collections` table described as a collection, so filters and sorts compile against it.
fn definitions_table() -> Collection {
    let text = |n: &str| Field::new(n, FieldType::Text, json!({}));
    Collection {
        id: "_collections".into(),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: "_collections".into(),
        kind: CollectionType::Base,
        fields: vec![
            text("id"),
            text("name"),
            text("type"),
            Field::new("system", FieldType::Bool, json!({})),
            Field::new("created", FieldType::Date, json!({})),
            Field::new("updated", FieldType::Date, json!({})),
        ],
        indexes: vec![],
        created: String::new(),
        updated: String::new(),
        system: true,
        options: Default::default(),
    }
}

pub async fn list_collections(
    backend: &Backend,
    params: ListParams,
    ctx: RequestCtx,
) -> Result<ListResult> {
    let table = definitions_table();
    let schema = backend.schema();
    let compiler = Compiler::new(&schema, &ctx, Mode::Client);
    let filter = compiler
        .compile(&table, &params.filter)
        .map_err(|_| CoreError::generic_bad_request())?;
    let sort = crate::records::sort_keys(&schema, &table, &ctx, &params.sort)?;
    let (page, per_page) = crate::records::paging(&params)?;
    let q = Select {
        table: "_collections".into(),
        columns: vec![("id".into(), ColumnKind::Text)],
        filter: filter.clone(),
        sort,
        limit: Some(per_page),
        offset: (page - 1).saturating_mul(per_page),
    };
    let skip_total = params.skip_total;
    let (ids, total) = backend
        .store
        .read(move |r| -> Result<_> {
            let ids: Vec<String> = r
                .select(&q)?
                .into_iter()
                .filter_map(|row| {
                    row.into_iter()
                        .next()
                        .and_then(|v| v.as_str().map(str::to_string))
                })
                .collect();
            let total = if skip_total {
                None
            } else {
                Some(r.count("_collections", &filter)?)
            };
            Ok((ids, total))
        })
        .await?;
    let picker = FieldsPicker::parse(&params.fields);
    let items = ids
        .iter()
        .filter_map(|id| schema.get(id))
        .map(|c| {
            let mut v = public_json(&c);
            if let (Some(p), Json::Object(o)) = (&picker, &mut v) {
                p.apply(o);
            }
            v
        })
        .collect();
    Ok(ListResult::new(page, per_page, total, items))
}
