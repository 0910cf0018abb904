//! Creating, updating, upserting and deleting records. A write is planned first (rules compiled,
//! body validated where the stored record is not needed, passwords hashed, uploads named), then
//! applied inside a write transaction: it reads the current state, validates, writes, checks the
//! rule and reads the result back, all inside the job's savepoint, so a failure leaves nothing
//! half-written. A single request is one writer job; a batch applies many plans in one.

use std::sync::Arc;

use motorbase_store::{CmpOp, Cond, Leaf, Operand, Path, Select, StoreError, Value, WriteTx};
use serde_json::{json, Map, Value as Json};

use super::query::{output, rule_cond};
use super::validate::{prepare, Draft, Input};
use super::{record_columns, row_to_map, stored_columns};
use crate::auth::password;
use crate::collections::{Collection, CollectionType, Field, FieldType, RuleKind, Schema};
use crate::error::{CoreError, ErrorData, FieldError, FieldErrors, Result};
use crate::files::{self, Cleanup, StagedFile, Upload};
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
        // PocketBase's wording: view records cannot be written.
        return Err(CoreError::BadRequest("Unsupported collection type.".into()));
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

/// The record as reading the row just inserted would give it, from the values written; `None`
/// when a value's stored form is not known without reading it back.
fn as_stored(c: &Collection, row: &[(String, Value)]) -> Option<Map<String, Json>> {
    let mut values = Vec::with_capacity(row.len());
    for (name, kind) in stored_columns(c) {
        // The first of a repeated column is the one SQLite stores.
        let (_, v) = row.iter().find(|(n, _)| n == name)?;
        values.push(motorbase_store::stored(v, kind)?);
    }
    Some(row_to_map(c, values))
}

/// The record as reading it back after an update would give it: the stored record read before
/// with the written columns as stored; `None` as for [`as_stored`].
fn as_updated(
    c: &Collection,
    mut record: Map<String, Json>,
    written: &[(String, Value)],
) -> Option<Map<String, Json>> {
    for (name, v) in written {
        let f = c.columns().find(|f| &f.name == name)?;
        record.insert(name.clone(), motorbase_store::stored(v, f.column_kind())?);
    }
    Some(record)
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

/// What one write did inside the transaction, to be acted on once it has committed.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// The response body; `None` for a delete (204).
    pub output: Option<Json>,
    pub events: Vec<ChangeEvent>,
    /// Keys of the uploads the stored records now reference.
    pub kept_files: Vec<String>,
    /// Files no record references any more.
    pub cleanup: Cleanup,
}

/// A create, validated and with its password hashed, ready to run inside a transaction.
pub(crate) struct CreatePlan {
    c: Arc<Collection>,
    draft: Draft,
    hashed: Option<String>,
    rule: Cond,
    ctx: RequestCtx,
    opts: WriteOptions,
    staged: Vec<StagedFile>,
    /// Whether anyone listens for realtime events (see [`Written::announce`]).
    announce: bool,
}

/// An update whose validation waits for the stored record, read inside the transaction.
pub(crate) struct UpdatePlan {
    c: Arc<Collection>,
    id: String,
    body: Map<String, Json>,
    hashed: Option<String>,
    rule: Cond,
    /// `Some(True)` for superusers; an auth collection's manageRule otherwise.
    manage_rule: Option<Cond>,
    ctx: RequestCtx,
    opts: WriteOptions,
    staged: Vec<StagedFile>,
    announce: bool,
}

pub(crate) struct DeletePlan {
    c: Arc<Collection>,
    id: String,
    rule: Cond,
}

/// `PUT` in a batch: an update when a record with the body's id exists, a create otherwise.
/// Both sides are planned up front; each keeps its own error until it turns out to be needed.
pub(crate) struct UpsertPlan {
    c: Arc<Collection>,
    id: Option<String>,
    create: Result<CreatePlan>,
    update: Result<UpdatePlan>,
}

pub(crate) enum Plan {
    Create(Box<CreatePlan>),
    Update(Box<UpdatePlan>),
    Upsert(Box<UpsertPlan>),
    Delete(DeletePlan),
}

impl CreatePlan {
    /// The uploads the validated record references, with their keys.
    fn uploads(&self) -> Vec<(String, bytes::Bytes)> {
        let id = draft_id(&self.draft);
        self.staged
            .iter()
            .filter(|s| self.draft.new_files.contains(&s.name))
            .map(|s| (files::file_key(&self.c.id, &id, &s.name), s.bytes.clone()))
            .collect()
    }
}

impl UpdatePlan {
    /// Every upload aimed at a file field: which ones stay is only known inside the transaction.
    fn uploads(&self) -> Vec<(String, bytes::Bytes)> {
        self.staged
            .iter()
            .map(|s| {
                (
                    files::file_key(&self.c.id, &self.id, &s.name),
                    s.bytes.clone(),
                )
            })
            .collect()
    }
}

impl Plan {
    /// Whether the write can only fail after its first change when the store does, and so may
    /// run without a savepoint: a create checked against no rule (its rule is checked against
    /// the stored row, after the insert), and an update (checked before it writes). A delete may
    /// refuse a required relation half-way down a cascade.
    pub(crate) fn unguarded(&self) -> bool {
        match self {
            Plan::Create(p) => matches!(p.rule, Cond::True),
            Plan::Update(_) => true,
            Plan::Upsert(_) | Plan::Delete(_) => false,
        }
    }

    /// The uploads this write may store, with their keys (written before the transaction).
    pub(crate) fn uploads(&self) -> Vec<(String, bytes::Bytes)> {
        match self {
            Plan::Create(p) => p.uploads(),
            Plan::Update(p) => p.uploads(),
            Plan::Upsert(p) => {
                let mut out = p.create.as_ref().map(|c| c.uploads()).unwrap_or_default();
                out.extend(p.update.as_ref().map(|u| u.uploads()).unwrap_or_default());
                out
            }
            Plan::Delete(_) => vec![],
        }
    }

    /// Runs the write inside the caller's transaction.
    pub(crate) fn apply(self, tx: &WriteTx, schema: &Schema) -> Result<Applied> {
        match self {
            Plan::Create(p) => apply_create(tx, schema, *p),
            Plan::Update(p) => apply_update(tx, schema, *p),
            Plan::Delete(p) => apply_delete(tx, schema, p),
            Plan::Upsert(p) => {
                let exists = match &p.id {
                    Some(id) => tx.count(&p.c.name, &Cond::IdIn(vec![id.clone()]))? > 0,
                    None => false,
                };
                if exists {
                    apply_update(tx, schema, p.update?)
                } else {
                    apply_create(tx, schema, p.create?)
                }
            }
        }
    }
}

fn draft_id(draft: &Draft) -> String {
    draft
        .record
        .get("id")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Plans a create: the createRule (403 when locked), validation and password hashing.
pub(crate) async fn plan_create(
    backend: &Backend,
    collection_name: &str,
    body: Map<String, Json>,
    uploads: Vec<Upload>,
    opts: WriteOptions,
    mut ctx: RequestCtx,
    missing: &str,
) -> Result<CreatePlan> {
    let c = writable_collection(backend, collection_name, missing)?;
    let schema = backend.schema();
    ctx.body = body.clone();
    let rule = rule_cond(&schema, &c, RuleKind::Create, &ctx)?;
    let staged = files::stage(&c, uploads);
    let draft = prepare(&Input {
        collection: &c,
        existing: None,
        body: &body,
        manager: ctx.is_superuser(),
        uploads: &staged,
    })
    .map_err(|e| validation("Failed to create record.", e))?;
    let hashed = if draft.new_password.is_some() {
        hash_if_given(&body).await?
    } else {
        None
    };
    Ok(CreatePlan {
        c,
        draft,
        hashed,
        rule,
        ctx,
        opts,
        staged,
        announce: backend.broker.client_count() > 0,
    })
}

/// Plans an update. With `precheck` (single requests with uploads) the stored record is read
/// first, so a caller the rule refuses gets its 404 before any work, and the body is validated
/// against it so that no file is written for an invalid record. A batch skips that: earlier
/// requests of the same batch may create or change the record.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn plan_update(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    body: Map<String, Json>,
    uploads: Vec<Upload>,
    opts: WriteOptions,
    mut ctx: RequestCtx,
    missing: &str,
    precheck: bool,
) -> Result<UpdatePlan> {
    let c = writable_collection(backend, collection_name, missing)?;
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
    let staged = files::stage(&c, uploads);
    let new_password = body
        .get("password")
        .and_then(Json::as_str)
        .is_some_and(|s| !s.is_empty());
    let mut staged_kept = staged;
    // Without uploads or a new password there is no work to spare: the transaction reads the
    // record under the same rule and validates the body in the same order, with the same errors.
    if (precheck && !staged_kept.is_empty()) || new_password {
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
        if c.is_auth() && !manager && new_password {
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
        if precheck {
            let draft = prepare(&Input {
                collection: &c,
                existing: Some(&current),
                body: &body,
                manager,
                uploads: &staged_kept,
            })
            .map_err(|e| validation("Failed to update record.", e))?;
            staged_kept.retain(|s| draft.new_files.contains(&s.name));
        }
    }
    let hashed = hash_if_given(&body).await?;
    Ok(UpdatePlan {
        c,
        id: id.to_string(),
        body,
        hashed,
        rule,
        manage_rule,
        ctx,
        opts,
        staged: staged_kept,
        announce: backend.broker.client_count() > 0,
    })
}

pub(crate) fn plan_delete(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    ctx: &RequestCtx,
) -> Result<DeletePlan> {
    let c = writable_collection(backend, collection_name, "Missing collection context.")?;
    let rule = rule_cond(&backend.schema(), &c, RuleKind::Delete, ctx)?;
    Ok(DeletePlan {
        c,
        id: id.to_string(),
        rule,
    })
}

/// Plans an upsert: the body's `id` decides, inside the transaction, which side runs.
pub(crate) async fn plan_upsert(
    backend: &Backend,
    collection_name: &str,
    body: Map<String, Json>,
    uploads: Vec<Upload>,
    opts: WriteOptions,
    ctx: RequestCtx,
    missing: &str,
) -> Result<UpsertPlan> {
    let c = writable_collection(backend, collection_name, missing)?;
    let id = body
        .get("id")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let create = plan_create(
        backend,
        collection_name,
        body.clone(),
        uploads.clone(),
        opts.clone(),
        ctx.clone(),
        missing,
    )
    .await;
    let update = match &id {
        Some(id) => {
            plan_update(
                backend,
                collection_name,
                id,
                body,
                uploads,
                opts,
                ctx,
                missing,
                false,
            )
            .await
        }
        None => Err(CoreError::not_found()),
    };
    Ok(UpsertPlan {
        c,
        id,
        create,
        update,
    })
}

fn apply_create(tx: &WriteTx, schema: &Schema, p: CreatePlan) -> Result<Applied> {
    let CreatePlan {
        c,
        draft,
        hashed,
        rule,
        ctx,
        opts,
        announce,
        ..
    } = p;
    let values = changed_values(&c, &draft, hashed.as_deref(), true);
    let id = draft_id(&draft);
    check_relations(tx, schema, &draft, &c, "Failed to create record.")?;
    let row: Vec<(String, Value)> = std::iter::once(("id".to_string(), Value::Text(id.clone())))
        .chain(values)
        .collect();
    tx.insert(&c.name, &row)
        .map_err(|e| unique_error("Failed to create record.", e))?;
    // A create rule is checked against the stored row; without one, the row just written tells
    // what is stored unless the store cannot (see `motorbase_store::stored`).
    let known = match rule {
        Cond::True => as_stored(&c, &row),
        _ => None,
    };
    let full = match known {
        Some(full) => full,
        None => select_one(tx, &c, &id, rule)?
            .ok_or_else(|| CoreError::BadRequest("Failed to create record.".into()))?,
    };
    let written = Written {
        c: &c,
        id: &id,
        action: Action::Create,
        ctx: &ctx,
        opts: &opts,
        announce,
    };
    written.applied(tx, schema, full, &draft.new_files, Cleanup::default())
}

/// A record just created or updated, to be answered and announced.
struct Written<'a> {
    c: &'a Arc<Collection>,
    id: &'a str,
    action: Action,
    ctx: &'a RequestCtx,
    opts: &'a WriteOptions,
    /// Whether a realtime client was connected when the write was planned: without one the
    /// event (a copy of the whole record) is not built. A client connecting meanwhile misses a
    /// write that began before it, as it would had the write committed a moment earlier.
    announce: bool,
}

impl Written<'_> {
    /// The response, the realtime event and the uploads now kept, for the stored record `full`.
    fn applied(
        &self,
        tx: &WriteTx,
        schema: &Schema,
        full: Map<String, Json>,
        new_files: &[String],
        cleanup: Cleanup,
    ) -> Result<Applied> {
        let events = if self.announce {
            vec![ChangeEvent {
                collection: self.c.clone(),
                action: self.action,
                record: full.clone(),
            }]
        } else {
            vec![]
        };
        let (expand, fields) = (&self.opts.expand, &self.opts.fields);
        Ok(Applied {
            output: Some(output(tx, schema, self.ctx, self.c, full, expand, fields)?),
            events,
            kept_files: new_files
                .iter()
                .map(|n| files::file_key(&self.c.id, self.id, n))
                .collect(),
            cleanup,
        })
    }
}

fn apply_update(tx: &WriteTx, schema: &Schema, p: UpdatePlan) -> Result<Applied> {
    let UpdatePlan {
        c,
        id,
        body,
        hashed,
        rule,
        manage_rule,
        ctx,
        opts,
        staged,
        announce,
    } = p;
    let existing = select_one(tx, &c, &id, rule)?.ok_or_else(CoreError::not_found)?;
    let manager = match manage_rule {
        Some(Cond::True) => true,
        Some(cond) => select_one(tx, &c, &id, cond)?.is_some(),
        None => false,
    };
    let draft = prepare(&Input {
        collection: &c,
        existing: Some(&existing),
        body: &body,
        manager,
        uploads: &staged,
    })
    .map_err(|e| validation("Failed to update record.", e))?;
    check_relations(tx, schema, &draft, &c, "Failed to update record.")?;
    let values = changed_values(&c, &draft, hashed.as_deref(), false);
    tx.update(&c.name, &id, &values)
        .map_err(|e| unique_error("Failed to update record.", e))?;
    let full = match as_updated(&c, existing, &values) {
        Some(full) => full,
        None => select_one(tx, &c, &id, Cond::True)?.ok_or_else(CoreError::not_found)?,
    };
    let cleanup = Cleanup {
        files: draft
            .removed_files
            .iter()
            .map(|n| (c.id.clone(), id.clone(), n.clone()))
            .collect(),
        records: vec![],
    };
    let written = Written {
        c: &c,
        id: &id,
        action: Action::Update,
        ctx: &ctx,
        opts: &opts,
        announce,
    };
    written.applied(tx, schema, full, &draft.new_files, cleanup)
}

fn apply_delete(tx: &WriteTx, schema: &Schema, p: DeletePlan) -> Result<Applied> {
    if select_one(tx, &p.c, &p.id, p.rule)?.is_none() {
        return Err(CoreError::not_found());
    }
    let mut events = vec![];
    delete_cascade(tx, schema, &p.c, &p.id, 0, &mut events)?;
    let records = events
        .iter()
        .filter(|e| e.action == Action::Delete && has_files(&e.collection))
        .filter_map(|e| {
            let id = e.record.get("id").and_then(Json::as_str)?;
            Some((e.collection.id.clone(), id.to_string()))
        })
        .collect();
    Ok(Applied {
        output: None,
        events,
        kept_files: vec![],
        cleanup: Cleanup {
            files: vec![],
            records,
        },
    })
}

fn has_files(c: &Collection) -> bool {
    c.fields.iter().any(|f| f.kind == FieldType::File)
}

/// Runs planned writes as one writer job: uploads are stored first, the database work runs in
/// one savepoint (unless `guarded` is false, see [`Plan::unguarded`]), then events are
/// published and files nobody references are deleted. On failure the uploads are removed
/// again, so a refused write leaves no file behind.
pub(crate) async fn run_planned<E, F>(
    backend: &Backend,
    plans: Vec<Plan>,
    guarded: bool,
    job: F,
) -> Result<Vec<Applied>, E>
where
    F: FnOnce(&WriteTx, &Schema, Vec<Plan>) -> Result<Vec<Applied>, E> + Send + 'static,
    E: From<StoreError> + From<CoreError> + Send + 'static,
{
    let uploads: Vec<(String, bytes::Bytes)> = plans.iter().flat_map(Plan::uploads).collect();
    let (mut store, written) = if uploads.is_empty() {
        (None, vec![])
    } else {
        let store = backend
            .files
            .current(&backend.settings())
            .map_err(|e| E::from(CoreError::from(e)))?;
        let written = files::write_all(&store, uploads)
            .await
            .map_err(|e| E::from(CoreError::from(e)))?;
        (Some(store), written)
    };
    let schema = backend.schema();
    let run = move |tx: &WriteTx| job(tx, &schema, plans);
    let mut result = if guarded {
        backend.store.write(run).await
    } else {
        backend.store.write_unguarded(run).await
    };
    let applied = match &mut result {
        Ok(applied) => applied,
        Err(_) => {
            if let Some(store) = &store {
                files::delete_keys(store, &written).await;
            }
            return result;
        }
    };
    let events = applied
        .iter_mut()
        .flat_map(|a| std::mem::take(&mut a.events))
        .collect();
    backend.broker.publish(events);
    let unused: Vec<String> = written
        .into_iter()
        .filter(|k| !applied.iter().any(|a| a.kept_files.contains(k)))
        .collect();
    let mut cleanup = Cleanup::default();
    for a in applied.iter_mut() {
        cleanup.extend(std::mem::take(&mut a.cleanup));
    }
    if unused.is_empty() && cleanup.is_empty() {
        return result;
    }
    if store.is_none() {
        match backend.files.current(&backend.settings()) {
            Ok(s) => store = Some(s),
            Err(e) => tracing::warn!(error = %e, "file storage unavailable for cleanup"),
        }
    }
    if let Some(store) = &store {
        files::delete_keys(store, &unused).await;
        cleanup.run(store).await;
    }
    result
}

/// Runs one planned write as its own writer job.
async fn run_one(backend: &Backend, plan: Plan) -> Result<Option<Json>> {
    let guarded = !plan.unguarded();
    let mut applied = run_planned(backend, vec![plan], guarded, |tx, schema, plans| {
        plans
            .into_iter()
            .map(|p| p.apply(tx, schema))
            .collect::<Result<Vec<_>>>()
    })
    .await?;
    Ok(applied.pop().and_then(|a| a.output))
}

pub async fn create(
    backend: &Backend,
    collection_name: &str,
    body: Map<String, Json>,
    opts: WriteOptions,
    ctx: RequestCtx,
) -> Result<Json> {
    create_with_files(backend, collection_name, body, vec![], opts, ctx).await
}

/// Creates a record from a body and its uploaded files.
pub async fn create_with_files(
    backend: &Backend,
    collection_name: &str,
    body: Map<String, Json>,
    uploads: Vec<Upload>,
    opts: WriteOptions,
    ctx: RequestCtx,
) -> Result<Json> {
    let plan = plan_create(
        backend,
        collection_name,
        body,
        uploads,
        opts,
        ctx,
        "Missing or invalid collection context.",
    )
    .await?;
    Ok(run_one(backend, Plan::Create(Box::new(plan)))
        .await?
        .unwrap_or_default())
}

pub async fn update(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    body: Map<String, Json>,
    opts: WriteOptions,
    ctx: RequestCtx,
) -> Result<Json> {
    update_with_files(backend, collection_name, id, body, vec![], opts, ctx).await
}

/// Updates a record from a body and its uploaded files (`field+`, `field-` included).
pub async fn update_with_files(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    body: Map<String, Json>,
    uploads: Vec<Upload>,
    opts: WriteOptions,
    ctx: RequestCtx,
) -> Result<Json> {
    let plan = plan_update(
        backend,
        collection_name,
        id,
        body,
        uploads,
        opts,
        ctx,
        "Missing or invalid collection context.",
        true,
    )
    .await?;
    Ok(run_one(backend, Plan::Update(Box::new(plan)))
        .await?
        .unwrap_or_default())
}

pub async fn delete(
    backend: &Backend,
    collection_name: &str,
    id: &str,
    ctx: RequestCtx,
) -> Result<()> {
    let plan = plan_delete(backend, collection_name, id, &ctx)?;
    run_one(backend, Plan::Delete(plan)).await.map(|_| ())
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
