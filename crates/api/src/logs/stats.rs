use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::AppState;

/// `GET /api/logs/stats`: requests per hour, optionally filtered.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    QueryMap(q): QueryMap,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let filter = q.get("filter").map(String::as_str).unwrap_or("");
    let backend = &state.backend;
    Ok(Json(
        backend.logs.stats(backend.schema(), filter, ctx.0).await?,
    ))
}
