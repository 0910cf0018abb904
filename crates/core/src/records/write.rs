//! Creating, updating and deleting records. Each write is one job on the writer thread: it reads
//! the current state, validates, writes, checks the rule and reads the result back, all inside the
//! job's savepoint, so a failure leaves nothing half-written.

use std::sync::Arc;

use motorbase_store::{CmpOp, Cond, Leaf, Operand, Path, Select, StoreError, Value, WriteTx};
use serde_json::{json, Map, Value as Json};

use super::query::{output, rule_cond};
use super::validate::{prepare, Draft, Input};
use super::{record_columns, row_to_map};
use crate::auth::password;
use crate::collections::{Collection, CollectionType, Field, FieldType, RuleKind, Schema};
use crate::error::{CoreError, ErrorData, FieldError, FieldErrors, Result};
use crate::realtime::{Action, ChangeEvent};
use crate::rules::{Compiler, Mode, RequestCtx};
use crate::Backend;

/// How deep a chain of cascading deletes may go before it is refused.
const MAX_CASCADE_DEPTH: usize = 32;

/// The collection a write goes to: 404 with PocketBase's wording for the action when missing,
/// 400 for read-only view collections.
fn writable_collection(backend: &Backend, name: &str, missing: &str) -> Result<Arc<Collection>> {
    let c = backend
        .schema()
        .get(name)
        .ok_or_else(|| CoreError::NotFound(missing.to_string()))?;
    if c.kind == CollectionType::View {
        return Err(CoreError::BadRequest(
            "View collections are read-only.".into(),
        ));
    }
    Ok(c)
}

/// The response options of a write (`expand`, `fields`).
#[derive(Debug, Default, Clone)]
pub struct WriteOptions {
    pub expand: String,
    pub fields: String,
}

fn column_value(f: &Field, v: &Json) -> Value {
    use motorbase_store::ColumnKind;
    match (f.column_kind(), v) {
        (ColumnKind::Json, Json::Null) => Value::Null,
        (ColumnKind::Json, other) => Value::Text(other.to_string()),
        (ColumnKind::Number, Json::Number(n)) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        (ColumnKind::Number, _) => Value::Int(0),
        (ColumnKind::Bool, Json::Bool(b)) => Value::Bool(*b),
        (ColumnKind::Bool, _) => Value::Bool(false),
        (ColumnKind::Text, Json::String(s)) => Value::Text(s.clone()),
        (ColumnKind::Text, Json::Null) => Value::Text(String::new()),
        (ColumnKind::Text, other) => Value::Text(other.to_string()),
    }
}

fn select_one(
    tx: &WriteTx,
    c: &Collection,
    id: &str,
    rule: Cond,
) -> Result<Option<Map<String, Json>>> {
    let q = Select {
        table: c.name.clone(),
        columns: record_columns(c),
        filter: Cond::And(vec![Cond::IdIn(vec![id.to_string()]), rule]),
        sort: vec![],
        limit: Some(1),
        offset: 0,
    };
    Ok(tx
        .select(&q)?
        .into_iter()
        .next()
        .map(|row| row_to_map(c, row)))
}

fn validation(message: &str, data: FieldErrors) -> CoreError {
    CoreError::validation(message, data)
}

/// Relation ids must name existing records of the target collection.
fn check_relations(
    tx: &WriteTx,
    schema: &Schema,
    draft: &Draft,
    self_coll: &Collection,
    message: &str,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    for (field, target_id, ids) in &draft.relations {
        let target = if target_id == &self_coll.id {
            Arc::new(self_coll.clone())
        } else {
            match schema.get(target_id) {
                Some(t) => t,
                None => continue,
            }
        };
        let found = tx.count(&target.name, &Cond::IdIn(ids.clone()))?;
        if found as usize != ids.len() {
            errors.insert(
                field.clone(),
                ErrorData::Field(FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                )),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(validation(message, errors))
    }
}

fn unique_error(message: &str, e: StoreError) -> CoreError {
    match e {
        StoreError::Unique { column, .. } => CoreError::field(
            message,
            &column,
            FieldError::new("validation_not_unique", "Value must be unique."),
        ),
        other => CoreError::Store(other),
    }
}

/// The column values of the draft's changed fields (all fields on create).
fn changed_values(
    c: &Collection,
    draft: &Draft,
    hashed: Option<&str>,
    all: bool,
) -> Vec<(String, Value)> {
    let mut out = vec![];
    for f in &c.fields {
        if !all && !draft.changed.contains(&f.name) {
            continue;
        }
        if f.kind == FieldType::Password {
            if let Some(h) = hashed {
                out.push((f.name.clone(), Value::Text(h.to_string())));
            } else if all {
                out.push((f.name.clone(), Value::Text(String::new())));
            }
            continue;
        }
        let v = draft
            .record
            .get(&f.name)
            .cloned()
            .unwrap_or_else(|| f.zero_json());
        out.push((f.name.clone(), column_value(f, &v)));
    }
    out
}

async fn hash_if_given(body: &Map<String, Json>) -> Result<Option<String>> {
    match body
        .get("password")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(pw) => Ok(Some(password::hash_blocking(pw.to_string()).await?)),
        None => Ok(None),
    }
}

pub async fn create(
    backend: &Backend,
    collection_name: &str,
    body: Map<String, Json>,
    opts: WriteOptions,
    mut ctx: RequestCtx,
) -> Result<Json> {
    let c = writable_collection(
        backend,
        collection_name,
        "Missing or invalid collection context.",
    )?;
    let schema = backend.schema();
    ctx.body = body.clone();
    let rule = rule_cond(&schema, &c, RuleKind::Create, &ctx)?;
    let manager = ctx.is_superuser();
    let draft = prepare(&Input {
        collection: &c,
        existing: None,
        body: &body,
        manager,
    })
    .map_err(|e| validation("Failed to create record.", e))?;
    let hashed = if draft.new_password.is_some() {
        hash_if_given(&body).await?
    } else {
        None
    };
    let values = changed_values(&c, &draft, hashed.as_deref(), true);
    let id = draft
        .record
        .get("id")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let pre = vec![("id".to_string(), Value::Text(id.clone()))];
    let (out, event) = backend
        .store
        .write(move |tx| -> Result<(Json, ChangeEvent)> {
            check_relations(tx, &schema, &draft, &c, "Failed to create record.")?;
            let row: Vec<(String, Value)> = pre.into_iter().chain(values).collect();
            tx.insert(&c.name, &row)
                .map_err(|e| unique_error("Failed to create record.", e))?;
            let Some(full) = select_one(tx, &c, &id, rule)? else {
                return Err(CoreError::BadRequest("Failed to create record.".into()));
            };
            let event = ChangeEvent {
                collection: c.clone(),
                action: Action::Create,
                record: full.clone(),
            };
            Ok((
                output(tx, &schema, &ctx, &c, full, &opts.expand, &opts.fields)?,
                event,
            ))
        })
        .await?;
    backend.broker.publish(vec![event]);
    Ok(out)
}

pub async fn update(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    body: Map<String, Json>,
    opts: WriteOptions,
    mut ctx: RequestCtx,
) -> Result<Json> {
    let c = writable_collection(
        backend,
        collection_name,
        "Missing or invalid collection context.",
    )?;
    let schema = backend.schema();
    ctx.body = body.clone();
    let rule = rule_cond(&schema, &c, RuleKind::Update, &ctx)?;
    let manage_rule = match (c.is_auth(), ctx.is_superuser(), c.rule(RuleKind::Manage)) {
        (_, true, _) => Some(Cond::True),
        (true, false, Some(text)) => Some(
            Compiler::new(&schema, &ctx, Mode::Rule)
                .compile(&c, text)
                .map_err(|_| CoreError::generic_bad_request())?,
        ),
        _ => None,
    };
    // Checked before the slow password work so a refused caller learns nothing and costs little.
    let current = super::view_full(backend, &c, id, rule.clone())
        .await?
        .ok_or_else(CoreError::not_found)?;
    let manager = match &manage_rule {
        Some(Cond::True) => true,
        Some(cond) => super::view_full(backend, &c, id, cond.clone())
            .await?
            .is_some(),
        None => false,
    };
    if c.is_auth()
        && !manager
        && body
            .get("password")
            .and_then(Json::as_str)
            .is_some_and(|s| !s.is_empty())
    {
        let old = body
            .get("oldPassword")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        let stored = current
            .get("password")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        if !old.is_empty() && !password::verify_blocking(old, stored).await {
            return Err(CoreError::field(
                "Failed to update record.",
                "oldPassword",
                FieldError::new(
                    "validation_invalid_old_password",
                    "Missing or invalid old password.",
                ),
            ));
        }
    }
    let hashed = hash_if_given(&body).await?;
    let id = id.to_string();
    let (out, event) = backend
        .store
        .write(move |tx| -> Result<(Json, ChangeEvent)> {
            let existing = select_one(tx, &c, &id, rule)?.ok_or_else(CoreError::not_found)?;
            let draft = prepare(&Input {
                collection: &c,
                existing: Some(&existing),
                body: &body,
                manager,
            })
            .map_err(|e| validation("Failed to update record.", e))?;
            check_relations(tx, &schema, &draft, &c, "Failed to update record.")?;
            let values = changed_values(&c, &draft, hashed.as_deref(), false);
            tx.update(&c.name, &id, &values)
                .map_err(|e| unique_error("Failed to update record.", e))?;
            let full = select_one(tx, &c, &id, Cond::True)?.ok_or_else(CoreError::not_found)?;
            let event = ChangeEvent {
                collection: c.clone(),
                action: Action::Update,
                record: full.clone(),
            };
            Ok((
                output(tx, &schema, &ctx, &c, full, &opts.expand, &opts.fields)?,
                event,
            ))
        })
        .await?;
    backend.broker.publish(vec![event]);
    Ok(out)
}

pub async fn delete(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    ctx: RequestCtx,
) -> Result<()> {
    let c = writable_collection(backend, collection_name, "Missing collection context.")?;
    let schema = backend.schema();
    let rule = rule_cond(&schema, &c, RuleKind::Delete, &ctx)?;
    let id = id.to_string();
    let events = backend
        .store
        .write(move |tx| -> Result<Vec<ChangeEvent>> {
            if select_one(tx, &c, &id, rule)?.is_none() {
                return Err(CoreError::not_found());
            }
            let mut events = vec![];
            delete_cascade(tx, &schema, &c, &id, 0, &mut events)?;
            Ok(events)
        })
        .await?;
    backend.broker.publish(events);
    Ok(())
}

/// Deletes a record and follows the relations that point at it: cascading ones delete their
/// records, the others drop the reference (refused when that empties a required field).
fn delete_cascade(
    tx: &WriteTx,
    schema: &Schema,
    c: &Collection,
    id: &str,
    depth: usize,
    events: &mut Vec<ChangeEvent>,
) -> Result<()> {
    if depth > MAX_CASCADE_DEPTH {
        return Err(CoreError::BadRequest(
            "Too many nested cascade deletes.".into(),
        ));
    }
    for other in schema.all() {
        for f in other.relations_to(&c.id) {
            let leaf = if f.is_multi() {
                Leaf::Each(f.name.clone())
            } else {
                Leaf::Column(f.name.clone())
            };
            let q = Select {
                table: other.name.clone(),
                columns: record_columns(other),
                filter: Cond::Cmp {
                    left: Operand::Path(Path { hops: vec![], leaf }),
                    op: CmpOp::Eq,
                    right: Operand::Value(Value::Text(id.to_string())),
                    any: true,
                },
                sort: vec![],
                limit: None,
                offset: 0,
            };
            for row in tx.select(&q)? {
                let rec = row_to_map(other, row);
                let rid = rec
                    .get("id")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string();
                if other.id == c.id && rid == id {
                    continue;
                }
                if f.opt_bool("cascadeDelete") {
                    delete_cascade(tx, schema, other, &rid, depth + 1, events)?;
                    continue;
                }
                let remaining: Json = match rec.get(&f.name) {
                    Some(Json::Array(a)) => Json::Array(
                        a.iter()
                            .filter(|v| v.as_str() != Some(id))
                            .cloned()
                            .collect(),
                    ),
                    _ => json!(""),
                };
                let empty =
                    remaining.as_array().is_some_and(|a| a.is_empty()) || remaining == json!("");
                if f.required() && empty {
                    return Err(CoreError::BadRequest(
                        "Failed to delete record. Make sure that the record is not part of a required relation reference.".into(),
                    ));
                }
                tx.update(
                    &other.name,
                    &rid,
                    &[(f.name.clone(), column_value(f, &remaining))],
                )?;
                let mut updated = rec;
                updated.insert(f.name.clone(), remaining);
                events.push(ChangeEvent {
                    collection: other.clone(),
                    action: Action::Update,
                    record: updated,
                });
            }
        }
    }
    if let Some(record) = select_one(tx, c, id, Cond::True)? {
        events.push(ChangeEvent {
            collection: Arc::new(c.clone()),
            action: Action::Delete,
            record,
        });
    }
    tx.delete(&c.name, id)?;
    Ok(())
}

/// Deletes every record of `c`, following relations as single deletes do.
pub(crate) fn truncate(tx: &WriteTx, schema: &Schema, c: &Collection) -> Result<()> {
    if !schema.all().any(|o| o.relations_to(&c.id).next().is_some()) {
        tx.delete_all(&c.name)?;
        return Ok(());
    }
    let q = Select {
        table: c.name.clone(),
        columns: vec![("id".into(), motorbase_store::ColumnKind::Text)],
        filter: Cond::True,
        sort: vec![],
        limit: None,
        offset: 0,
    };
    for row in tx.select(&q)? {
        if let Some(Json::String(id)) = row.into_iter().next() {
            // Truncation sends no realtime events (as PocketBase).
            delete_cascade(tx, schema, c, &id, 0, &mut vec![])?;
        }
    }
    Ok(())
}

/// A full record as the column values of its table (to check rules against a snapshot).
pub(crate) fn record_values(c: &Collection, record: &Map<String, Json>) -> Vec<(String, Value)> {
    let mut out = vec![(
        "id".to_string(),
        Value::Text(
            record
                .get("id")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
        ),
    )];
    for f in c.columns() {
        let v = record
            .get(&f.name)
            .cloned()
            .unwrap_or_else(|| f.zero_json());
        out.push((f.name.clone(), column_value(f, &v)));
    }
    out
}
