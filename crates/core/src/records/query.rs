//! Listing and viewing records under the collection's list and view rules.

use std::sync::Arc;

use motorbase_filter as filter;
use motorbase_store::{Cond, Operand, Select, SortKey};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::expand::{expand, ExpandTree};
use super::{record_columns, row_to_map, to_public, FieldsPicker, RecordOut, RowRecord};
use crate::collections::{Collection, RuleKind, Schema};
use crate::error::{CoreError, Result};
use crate::rules::{Compiler, Mode, RequestCtx, RuleError};
use crate::Backend;

pub const DEFAULT_PER_PAGE: u64 = 30;
pub const MAX_PER_PAGE: u64 = 1000;

#[derive(Debug, Default, Clone)]
pub struct ListParams {
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub sort: String,
    pub filter: String,
    pub expand: String,
    pub fields: String,
    pub skip_total: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResult<T = Json> {
    pub page: u64,
    pub per_page: u64,
    pub total_items: i64,
    pub total_pages: i64,
    pub items: Vec<T>,
}

fn client_error(e: RuleError) -> CoreError {
    match e {
        RuleError::CollectionFieldForbidden => {
            CoreError::Forbidden("Only superusers can filter by @collection.".into())
        }
        RuleError::RequestFieldForbidden => {
            CoreError::Forbidden("Only superusers can filter by @request.".into())
        }
        _ => CoreError::generic_bad_request(),
    }
}

pub(crate) fn collection(backend: &Backend, name: &str) -> Result<Arc<Collection>> {
    backend
        .schema()
        .get(name)
        .ok_or_else(|| CoreError::NotFound("Missing collection context.".into()))
}

/// The rule for `kind` as a condition: `Err(403)` when the rule is locked (null) for this caller.
pub(crate) fn rule_cond(
    schema: &Schema,
    c: &Collection,
    kind: RuleKind,
    ctx: &RequestCtx,
) -> Result<Cond> {
    if ctx.is_superuser() {
        return Ok(Cond::True);
    }
    match c.rule(kind) {
        None => Err(CoreError::superusers_only()),
        Some(text) => Compiler::new(schema, ctx, Mode::Rule)
            .compile(c, text)
            .map_err(|_| CoreError::generic_bad_request()),
    }
}

/// `page` and `perPage`: defaults for missing or non-positive values, capped at 1000 per page,
/// 400 for text that is not a number.
pub(crate) fn paging(params: &ListParams) -> Result<(u64, u64)> {
    let page = parse_number(&params.page, 1)?;
    let per_page = parse_number(&params.per_page, DEFAULT_PER_PAGE)?.min(MAX_PER_PAGE);
    Ok((page, per_page))
}

impl<T> ListResult<T> {
    /// `total` is `None` when the count was skipped (`skipTotal`): PocketBase then says -1.
    pub fn new(page: u64, per_page: u64, total: Option<u64>, items: Vec<T>) -> Self {
        let (total_items, total_pages) = match total {
            Some(t) => (t as i64, t.div_ceil(per_page) as i64),
            None => (-1, -1),
        };
        ListResult {
            page,
            per_page,
            total_items,
            total_pages,
            items,
        }
    }
}

fn parse_number(v: &Option<String>, default: u64) -> Result<u64> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n as u64),
            Ok(_) => Ok(default),
            Err(_) => Err(CoreError::generic_bad_request()),
        },
    }
}

pub(crate) fn sort_keys(
    schema: &Schema,
    c: &Collection,
    ctx: &RequestCtx,
    spec: &str,
) -> Result<Vec<SortKey>> {
    let terms = filter::parse_sort(spec).map_err(|_| CoreError::generic_bad_request())?;
    let compiler = Compiler::new(schema, ctx, Mode::Client);
    let mut keys = vec![];
    for t in terms {
        let first = t.ident.path[0].as_str();
        keys.push(match first {
            "@random" => SortKey::Random,
            "@request" | "@collection" if !ctx.is_superuser() => {
                return Err(client_error(if first == "@request" {
                    RuleError::RequestFieldForbidden
                } else {
                    RuleError::CollectionFieldForbidden
                }))
            }
            "@rowid" => SortKey::RowId { desc: t.desc },
            _ => {
                // A multi-valued path sorts by its first value, as PocketBase's joins do.
                let path = compiler
                    .field_path(c, &t.ident.path, None)
                    .map_err(client_error)?;
                SortKey::By {
                    operand: Operand::Path(path),
                    desc: t.desc,
                }
            }
        });
    }
    // A view has no rowid: its rows come in the order of its query.
    let view = c.kind == crate::collections::CollectionType::View;
    if view && keys.iter().any(|k| matches!(k, SortKey::RowId { .. })) {
        return Err(CoreError::generic_bad_request());
    }
    if keys.is_empty() && !view {
        keys.push(SortKey::RowId { desc: false });
    }
    Ok(keys)
}

fn finish(
    c: &Collection,
    full: Map<String, Json>,
    ctx: &RequestCtx,
    picker: Option<&FieldsPicker>,
) -> Json {
    let mut out = to_public(c, full, ctx);
    if let Some(p) = picker {
        p.apply(&mut out);
    }
    Json::Object(out)
}

pub async fn list(
    backend: &Backend,
    collection_name: &str,
    params: ListParams,
    ctx: RequestCtx,
) -> Result<ListResult<RecordOut>> {
    let c = collection(backend, collection_name)?;
    let schema = backend.schema();
    let rule = rule_cond(&schema, &c, RuleKind::List, &ctx)?;
    let client = Compiler::new(&schema, &ctx, Mode::Client)
        .compile(&c, &params.filter)
        .map_err(client_error)?;
    let sort = sort_keys(&schema, &c, &ctx, &params.sort)?;
    let (page, per_page) = paging(&params)?;
    let cond = Cond::And(vec![rule, client]);
    let q = Select {
        table: c.name.clone(),
        columns: record_columns(&c),
        filter: cond.clone(),
        sort,
        limit: Some(per_page),
        offset: (page - 1).saturating_mul(per_page),
    };
    let tree = ExpandTree::parse(&params.expand);
    let picker = FieldsPicker::parse(&params.fields);
    let skip_total = params.skip_total;
    backend
        .store
        .read(move |r| -> Result<ListResult<RecordOut>> {
            let rows = r.select(&q)?;
            let total = if skip_total {
                None
            } else if c.kind == crate::collections::CollectionType::View {
                Some(r.count(&c.name, &cond)?)
            } else {
                Some(r.count_table(&c.name, &cond)?)
            };
            let items = if tree.is_empty() && picker.is_none() {
                let rows = rows.into_iter();
                rows.map(|row| RecordOut::Row(RowRecord::new(&c, row, &ctx)))
                    .collect()
            } else {
                let mut records: Vec<_> = rows.into_iter().map(|row| row_to_map(&c, row)).collect();
                if !tree.is_empty() {
                    expand(r, &schema, &ctx, &c, &mut records, &tree)?;
                }
                let records = records.into_iter();
                records
                    .map(|m| RecordOut::Map(finish(&c, m, &ctx, picker.as_ref())))
                    .collect()
            };
            Ok(ListResult::new(page, per_page, total, items))
        })
        .await
}

pub async fn view(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    expand_spec: &str,
    fields: &str,
    ctx: RequestCtx,
) -> Result<RecordOut> {
    let c = collection(backend, collection_name)?;
    let schema = backend.schema();
    let rule = rule_cond(&schema, &c, RuleKind::View, &ctx)?;
    let q = Select {
        table: c.name.clone(),
        columns: record_columns(&c),
        filter: Cond::And(vec![Cond::IdIn(vec![id.to_string()]), rule]),
        sort: vec![],
        limit: Some(1),
        offset: 0,
    };
    let tree = ExpandTree::parse(expand_spec);
    let picker = FieldsPicker::parse(fields);
    backend
        .store
        .read(move |r| -> Result<RecordOut> {
            let row = r
                .select(&q)?
                .into_iter()
                .next()
                .ok_or_else(CoreError::not_found)?;
            if tree.is_empty() && picker.is_none() {
                return Ok(RecordOut::Row(RowRecord::new(&c, row, &ctx)));
            }
            let mut records = vec![row_to_map(&c, row)];
            if !tree.is_empty() {
                expand(r, &schema, &ctx, &c, &mut records, &tree)?;
            }
            let rec = records.remove(0);
            Ok(RecordOut::Map(finish(&c, rec, &ctx, picker.as_ref())))
        })
        .await
}

/// Reads one record for a write's response, with the caller's expand and fields.
pub(crate) fn output(
    r: &motorbase_store::Reader,
    schema: &Schema,
    ctx: &RequestCtx,
    c: &Collection,
    full: Map<String, Json>,
    expand_spec: &str,
    fields: &str,
) -> Result<Json> {
    let mut recs = vec![full];
    let tree = ExpandTree::parse(expand_spec);
    if !tree.is_empty() {
        expand(r, schema, ctx, c, &mut recs, &tree)?;
    }
    let picker = FieldsPicker::parse(fields);
    Ok(finish(c, recs.remove(0), ctx, picker.as_ref()))
}
