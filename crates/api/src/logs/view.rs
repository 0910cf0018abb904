use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::Ctx;
use crate::AppState;

/// `GET /api/logs/{id}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    Ok(Json(state.backend.logs.view(&id).await?))
}
