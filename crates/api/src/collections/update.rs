use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::collections::{public_json, update_collection};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `PATCH /api/collections/{idOrName}`: fields are matched by id, so renames keep data.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let JsonBody(body) = body.map_err(|e| {
        e.reword_bad_request("Failed to load the submitted data due to invalid formatting.")
    })?;
    let c = update_collection(&state.backend, &name, &body).await?;
    Ok(Json(public_json(&c)))
}
