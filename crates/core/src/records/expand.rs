//! `expand`: relation targets fetched in one query per relation and level, each filtered by the
//! target collection's viewRule for the caller.

use std::collections::{BTreeMap, HashMap};

use motorbase_store::{Cond, Reader, Select};
use serde_json::{Map, Value as Json};

use super::{record_columns, row_to_map, to_public};
use crate::collections::{Collection, FieldType, RuleKind, Schema};
use crate::error::{CoreError, Result};
use crate::rules::{Compiler, Mode, RequestCtx};

/// PocketBase's limit on nested expand levels.
const MAX_DEPTH: usize = 6;

#[derive(Debug, Default, Clone)]
pub struct ExpandTree(BTreeMap<String, ExpandTree>);

impl ExpandTree {
    pub fn parse(spec: &str) -> Self {
        let mut root = ExpandTree::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
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

/// Expands `tree` into each record's `expand` object. Records are full (not yet made public).
pub fn expand(
    r: &Reader,
    schema: &Schema,
    ctx: &RequestCtx,
    c: &Collection,
    records: &mut [Map<String, Json>],
    tree: &ExpandTree,
) -> Result<()> {
    // PocketBase answers with an (empty) `expand` object as soon as one relation was asked for.
    if tree
        .0
        .keys()
        .any(|k| c.field(k).is_some_and(|f| f.kind == FieldType::Relation))
    {
        for rec in records.iter_mut() {
            rec.entry("expand")
                .or_insert_with(|| Json::Object(Map::new()));
        }
    }
    for (name, sub) in &tree.0 {
        let Some(field) = c.field(name).filter(|f| f.kind == FieldType::Relation) else {
            continue;
        };
        let Some(target) = schema.get(field.opt_str("collectionId")) else {
            continue;
        };
        let rule = if ctx.is_superuser() {
            Cond::True
        } else {
            match target.rule(RuleKind::View) {
                None => continue,
                Some(text) => {
                    let compiler = Compiler::new(schema, ctx, Mode::Rule);
                    compiler
                        .compile(&target, text)
                        .map_err(|_| CoreError::generic_bad_request())?
                }
            }
        };
        let mut ids: Vec<String> = records
            .iter()
            .flat_map(|rec| rec.get(name).map(ids_of).unwrap_or_default())
            .collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let q = Select {
            table: target.name.clone(),
            columns: record_columns(&target),
            filter: Cond::And(vec![Cond::IdIn(ids), rule]),
            sort: vec![],
            limit: None,
            offset: 0,
        };
        let mut found: Vec<Map<String, Json>> = r
            .select(&q)?
            .into_iter()
            .map(|row| row_to_map(&target, row))
            .collect();
        if !sub.is_empty() {
            expand(r, schema, ctx, &target, &mut found, sub)?;
        }
        let by_id: HashMap<String, Json> = found
            .into_iter()
            .map(|m| {
                let id = m.get("id").and_then(Json::as_str).unwrap_or("").to_string();
                (id, Json::Object(to_public(&target, m, ctx)))
            })
            .collect();
        for rec in records.iter_mut() {
            let wanted = rec.get(name).map(ids_of).unwrap_or_default();
            let hits: Vec<Json> = wanted
                .iter()
                .filter_map(|id| by_id.get(id).cloned())
                .collect();
            if hits.is_empty() {
                continue;
            }
            let value = if field.is_multi() {
                Json::Array(hits)
            } else {
                hits.into_iter().next().unwrap_or(Json::Null)
            };
            let entry = rec
                .entry("expand")
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(e) = entry {
                e.insert(name.clone(), value);
            }
        }
    }
    Ok(())
}
