use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::records::{list, ListResult, RecordOut};

use super::list_params;
use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::AppState;

/// `GET /api/collections/{c}/records`: paged, filtered, sorted, expanded under the listRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    QueryMap(q): QueryMap,
) -> ApiResult<Json<ListResult<RecordOut>>> {
    Ok(Json(
        list(&state.backend, &collection, list_params(&q), ctx).await?,
    ))
}
