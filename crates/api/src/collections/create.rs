use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::collections::{create_collection, public_json};
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `POST /api/collections`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let c = create_collection(&state.backend, &body).await?;
    Ok(Json(public_json(&c)))
}
