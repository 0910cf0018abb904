use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::collections::list_collections;
use motorbase_core::records::ListResult;

use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::records::list_params;
use crate::AppState;

/// `GET /api/collections`: paged, filtered and sorted like records.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    QueryMap(q): QueryMap,
) -> ApiResult<Json<ListResult>> {
    ctx.require_superuser()?;
    Ok(Json(
        list_collections(&state.backend, list_params(&q), ctx.0).await?,
    ))
}
