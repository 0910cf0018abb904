use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::files::token::issue;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::AppState;

/// `POST /api/files/token`: a short-lived token that lets a URL reach protected files as the
/// authenticated caller.
pub async fn handler(State(_state): State<Arc<AppState>>, Ctx(ctx): Ctx) -> ApiResult<Json<Value>> {
    let auth = ctx.auth.as_ref().ok_or_else(ApiError::unauthorized)?;
    Ok(Json(json!({"token": issue(auth)?})))
}
