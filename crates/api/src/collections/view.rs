use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::collections::public_json;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::AppState;

/// `GET /api/collections/{idOrName}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let c = state
        .backend
        .schema()
        .get(&name)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(public_json(&c)))
}
