use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::settings::public;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::Ctx;
use crate::AppState;

/// `GET /api/settings`, secrets left out.
pub async fn handler(State(state): State<Arc<AppState>>, ctx: Ctx) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    Ok(Json(public(&state.backend.settings())))
}
