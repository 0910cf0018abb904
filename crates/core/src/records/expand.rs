//! `expand`: relation targets fetched in one query per relation and level, each filtered by the
//! target collection's viewRule for the caller (with `@request.context` = "expand").
//! Back-relations (`comments_via_post`) expand to the records whose relation holds this one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use motorbase_store::{CmpOp, ColumnKind, Cond, Leaf, Operand, Path, Reader, Select, Value};
use serde_json::{Map, Value as Json};

use super::{record_columns, row_to_map, to_public};
use crate::collections::{Collection, FieldType, RuleKind, Schema};
use crate::error::Result;
use crate::rules::{Compiler, Mode, RequestCtx};

/// PocketBase's limit on nested expand levels.
const MAX_DEPTH: usize = 6;

/// How many back-related records one record expands to at most (PocketBase's limit).
const MAX_BACK_RELATED: u64 = 1000;

#[derive(Debug, Default, Clone)]
pub struct ExpandTree(BTreeMap<String, ExpandTree>);

impl ExpandTree {
    pub fn parse(spec: &str) -> Self {
        let mut root = ExpandTree::default();
        for item in spec.split(',') {
            let item: String = item.chars().filter(|c| *c != ' ').collect();
            let item = item.trim_matches('.');
            if item.is_empty() {
                continue;
            }
            let mut node = &mut root;
            for seg in item.split('.').take(MAX_DEPTH) {
                node = node.0.entry(seg.to_string()).or_default();
            }
        }
        root
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn ids_of(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) if !s.is_empty() => vec![s.clone()],
        Json::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// What one `expand` key names on a collection.
struct Relation {
    target: Arc<Collection>,
    /// One record (an object) rather than a list.
    single: bool,
    /// For a back-relation, the relation field of `target` that holds our ids.
    back: Option<(String, bool)>,
}

fn resolve(schema: &Schema, c: &Collection, name: &str) -> Option<Relation> {
    if let Some(field) = c.field(name) {
        if field.kind != FieldType::Relation {
            return None;
        }
        return Some(Relation {
            target: schema.get(field.opt_str("collectionId"))?,
            single: !field.is_multi(),
            back: None,
        });
    }
    let (back_name, field_name) = name.rsplit_once("_via_")?;
    let target = schema.get(back_name)?;
    let field = target
        .field(field_name)
        .filter(|f| f.kind == FieldType::Relation && f.opt_str("collectionId") == c.id)?;
    // Over a column with a unique index a back-relation is one-to-one.
    let unique = target.indexes.iter().any(|sql| {
        crate::collections::index::parse_index(sql).is_ok_and(|ix| {
            ix.unique
                && ix.columns.len() == 1
                && ix.columns[0].name.eq_ignore_ascii_case(field_name)
        })
    });
    Some(Relation {
        single: unique,
        back: Some((field.name.clone(), field.is_multi())),
        target,
    })
}

/// The ids of the records of `rel` (a back-relation) that point at `id`, in stored order.
fn back_ids(r: &Reader, rel: &Relation, id: &str) -> Result<Vec<String>> {
    let Some((column, multi)) = &rel.back else {
        return Ok(vec![]);
    };
    let leaf = if *multi {
        Leaf::Each(column.clone())
    } else {
        Leaf::Column(column.clone())
    };
    let q = Select {
        table: rel.target.name.clone(),
        columns: vec![("id".into(), ColumnKind::Text)],
        filter: Cond::Cmp {
            left: Operand::Path(Path { hops: vec![], leaf }),
            op: CmpOp::Eq,
            right: Operand::Value(Value::Text(id.to_string())),
            any: true,
        },
        sort: vec![],
        limit: Some(MAX_BACK_RELATED),
        offset: 0,
    };
    Ok(r.select(&q)?
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// Expands `tree` into each record's `expand` object. Records are full (not yet made public).
pub fn expand(
    r: &Reader,
    schema: &Schema,
    ctx: &RequestCtx,
    c: &Collection,
    records: &mut [Map<String, Json>],
    tree: &ExpandTree,
) -> Result<()> {
    let ctx = RequestCtx {
        context: "expand".into(),
        ..ctx.clone()
    };
    expand_level(r, schema, &ctx, c, records, tree)
}

fn expand_level(
    r: &Reader,
    schema: &Schema,
    ctx: &RequestCtx,
    c: &Collection,
    records: &mut [Map<String, Json>],
    tree: &ExpandTree,
) -> Result<()> {
    for (name, sub) in &tree.0 {
        let Some(rel) = resolve(schema, c, name) else {
            continue;
        };
        // A relation the caller may not view is left out, as PocketBase leaves out any expand
        // that fails.
        let rule = if ctx.is_superuser() {
            Cond::True
        } else {
            match rel.target.rule(RuleKind::View) {
                None => continue,
                Some(text) => {
                    match Compiler::new(schema, ctx, Mode::Rule).compile(&rel.target, text) {
                        Ok(cond) => cond,
                        Err(_) => continue,
                    }
                }
            }
        };
        // PocketBase answers with an (empty) `expand` object as soon as one relation resolved.
        for rec in records.iter_mut() {
            rec.entry("expand")
                .or_insert_with(|| Json::Object(Map::new()));
        }
        let wanted: Vec<Vec<String>> = match rel.back {
            None => records
                .iter()
                .map(|rec| rec.get(name).map(ids_of).unwrap_or_default())
                .collect(),
            Some(_) => records
                .iter()
                .map(|rec| {
                    let id = rec.get("id").and_then(Json::as_str).unwrap_or("");
                    back_ids(r, &rel, id)
                })
                .collect::<Result<_>>()?,
        };
        let mut ids: Vec<String> = wanted.iter().flatten().cloned().collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let target = &rel.target;
        let q = Select {
            table: target.name.clone(),
            columns: record_columns(target),
            filter: Cond::And(vec![Cond::IdIn(ids), rule]),
            sort: vec![],
            limit: None,
            offset: 0,
        };
        let mut found: Vec<Map<String, Json>> = r
            .select(&q)?
            .into_iter()
            .map(|row| row_to_map(target, row))
            .collect();
        if !sub.is_empty() {
            expand_level(r, schema, ctx, target, &mut found, sub)?;
        }
        let by_id: HashMap<String, Json> = found
            .into_iter()
            .map(|m| {
                let id = m.get("id").and_then(Json::as_str).unwrap_or("").to_string();
                (id, Json::Object(to_public(target, m, ctx)))
            })
            .collect();
        for (rec, wanted) in records.iter_mut().zip(wanted) {
            let hits: Vec<Json> = wanted
                .iter()
                .filter_map(|id| by_id.get(id).cloned())
                .collect();
            if hits.is_empty() {
                continue;
            }
            let value = if rel.single {
                hits.into_iter().next().unwrap_or(Json::Null)
            } else {
                Json::Array(hits)
            };
            if let Some(Json::Object(e)) = rec.get_mut("expand") {
                e.insert(name.clone(), value);
            }
        }
    }
    Ok(())
}
