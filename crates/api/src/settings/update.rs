use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::settings::{public, update};
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `PATCH /api/settings`: merged section by section, validated, persisted.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    Ok(Json(public(&update(&state.backend, &body).await?)))
}
