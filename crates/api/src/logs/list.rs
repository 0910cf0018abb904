use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::records::ListResult;

use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::records::list_params;
use crate::AppState;

/// `GET /api/logs`: paged, filtered and sorted like records (`level`, `message`, `data.*`, `created`).
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    QueryMap(q): QueryMap,
) -> ApiResult<Json<ListResult>> {
    ctx.require_superuser()?;
    let backend = &state.backend;
    Ok(Json(
        backend
            .logs
            .list(backend.schema(), list_params(&q), ctx.0)
            .await?,
    ))
}
