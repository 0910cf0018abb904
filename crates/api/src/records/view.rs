use std::sync::Arc;

use axum::extract::{Path, State};
use motorbase_core::records::{view, RecordOut};

use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::json::{JsonOut, RECORD_BYTES};
use crate::AppState;

/// `GET /api/collections/{c}/records/{id}` under the viewRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    QueryMap(q): QueryMap,
) -> ApiResult<JsonOut<RecordOut>> {
    let expand = q.get("expand").map(String::as_str).unwrap_or("");
    let fields = q.get("fields").map(String::as_str).unwrap_or("");
    let record = view(&state.backend, &collection, &id, expand, fields, ctx).await?;
    Ok(JsonOut(record, RECORD_BYTES))
}
