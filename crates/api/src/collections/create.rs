use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::collections::{create_collection, public_json};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `POST /api/collections`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let JsonBody(body) = body.map_err(|e| {
        e.reword_bad_request("Failed to load the collection type data due to invalid formatting.")
    })?;
    let c = create_collection(&state.backend, &body).await?;
    Ok(Json(public_json(&c)))
}
