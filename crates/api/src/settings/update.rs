use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::settings::{public, update};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `PATCH /api/settings`: merged section by section, validated, persisted.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let JsonBody(body) = body
        .map_err(|e| e.reword_bad_request("An error occurred while loading the submitted data."))?;
    Ok(Json(public(&update(&state.backend, &body).await?)))
}
