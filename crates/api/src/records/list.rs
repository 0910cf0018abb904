use std::sync::Arc;

use axum::extract::{Path, State};
use motorbase_core::records::{list, ListResult, RecordOut};

use super::list_params;
use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::json::{JsonOut, RECORD_BYTES};
use crate::AppState;

/// `GET /api/collections/{c}/records`: paged, filtered, sorted, expanded under the listRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    QueryMap(q): QueryMap,
) -> ApiResult<JsonOut<ListResult<RecordOut>>> {
    let page = list(&state.backend, &collection, list_params(&q), ctx).await?;
    let capacity = 128 + page.items.len() * RECORD_BYTES;
    Ok(JsonOut(page, capacity))
}
