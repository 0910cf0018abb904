//! Batches: several record writes (create, update, upsert, delete) applied in one transaction.
//! Each request is planned and checked as if it came alone (its own rules, its own caller
//! context); the first one that fails rolls the whole batch back, and realtime events go out
//! only after the batch has committed.

use std::time::{Duration, Instant};

use motorbase_store::StoreError;
use serde_json::{Map, Value as Json};
use thiserror::Error;

use crate::error::CoreError;
use crate::files::Upload;
use crate::records::{self, Applied, Plan, WriteOptions};
use crate::rules::RequestCtx;
use crate::Backend;

/// How a batch refers to a missing collection (a single request words it differently).
const MISSING: &str = "Missing collection context.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAction {
    Create,
    Update(String),
    Upsert,
    Delete(String),
    /// A request no batchable route matches (it fails at its place in the batch).
    Refused,
}

/// One request of a batch, already routed.
pub struct BatchWrite {
    pub collection: String,
    pub action: BatchAction,
    pub body: Map<String, Json>,
    pub uploads: Vec<Upload>,
    pub opts: WriteOptions,
    pub ctx: RequestCtx,
}

#[derive(Debug, Error)]
pub enum BatchError {
    /// The request at `index` failed as it would have alone; nothing was written.
    #[error("batch request {index} failed: {error}")]
    Request { index: usize, error: CoreError },
    /// The batch as a whole failed (storage trouble).
    #[error("{0}")]
    Other(CoreError),
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> Self {
        BatchError::Other(CoreError::Store(e))
    }
}

impl From<CoreError> for BatchError {
    fn from(e: CoreError) -> Self {
        BatchError::Other(e)
    }
}

async fn plan(backend: &Backend, w: BatchWrite) -> Result<Plan, CoreError> {
    Ok(match w.action {
        BatchAction::Create => Plan::Create(Box::new(
            records::plan_create(
                backend,
                &w.collection,
                w.body,
                w.uploads,
                w.opts,
                w.ctx,
                MISSING,
            )
            .await?,
        )),
        BatchAction::Update(id) => Plan::Update(Box::new(
            records::plan_update(
                backend,
                &w.collection,
                &id,
                w.body,
                w.uploads,
                w.opts,
                w.ctx,
                MISSING,
                false,
            )
            .await?,
        )),
        BatchAction::Upsert => Plan::Upsert(Box::new(
            records::plan_upsert(
                backend,
                &w.collection,
                w.body,
                w.uploads,
                w.opts,
                w.ctx,
                MISSING,
            )
            .await?,
        )),
        BatchAction::Refused => return Err(CoreError::generic_bad_request()),
        BatchAction::Delete(id) => {
            Plan::Delete(records::plan_delete(backend, &w.collection, &id, &w.ctx)?)
        }
    })
}

/// Runs the writes in order in one transaction. Returns each request's response body (`None`
/// for a delete), or the first failure. `timeout` bounds the whole batch.
pub async fn run(
    backend: &Backend,
    writes: Vec<BatchWrite>,
    timeout: Duration,
) -> Result<Vec<Option<Json>>, BatchError> {
    let deadline = Instant::now() + timeout;
    let mut plans = Vec::with_capacity(writes.len());
    // A request that cannot even be planned fails the batch at its place: the ones before it
    // still run first, so an earlier failure is the one reported, as it would be in sequence.
    let mut failure = None;
    for (index, w) in writes.into_iter().enumerate() {
        match plan(backend, w).await {
            Ok(p) => plans.push(p),
            Err(error) => {
                failure = Some((index, error));
                break;
            }
        }
    }
    let applied = records::run_planned(backend, plans, true, move |tx, schema, plans| {
        let mut out: Vec<Applied> = Vec::with_capacity(plans.len());
        for (index, p) in plans.into_iter().enumerate() {
            if Instant::now() > deadline {
                return Err(BatchError::Request {
                    index,
                    error: CoreError::generic_bad_request(),
                });
            }
            out.push(
                p.apply(tx, schema)
                    .map_err(|error| BatchError::Request { index, error })?,
            );
        }
        match failure {
            Some((index, error)) => Err(BatchError::Request { index, error }),
            None => Ok(out),
        }
    })
    .await?;
    Ok(applied.into_iter().map(|a| a.output).collect())
}
