use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::{auth_with_password, missing};
use serde_json::Value;

use super::auth_response;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/auth-with-password` `{identity, password[, identityField]}`.
pub async fn handler(State(state): State<Arc<AppState>>, Ctx(ctx): Ctx, Path(collection): Path<String>, Body(body): Body) -> ApiResult<Json<Value>> {
    let c = state
        .backend
        .schema()
        .get(&collection)
        .ok_or_else(|| ApiError::new(axum::http::StatusCode::NOT_FOUND, "Missing collection context."))?;
    if !c.is_auth() {
        return Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "The collection is not an auth collection."));
    }
    let identity = body.get("identity").and_then(Value::as_str).unwrap_or("");
    let password = body.get("password").and_then(Value::as_str).unwrap_or("");
    if identity.is_empty() {
        return Err(missing("identity").into());
    }
    if password.is_empty() {
        return Err(missing("password").into());
    }
    let field = body.get("identityField").and_then(Value::as_str).filter(|s| !s.is_empty());
    let full = auth_with_password(&state.backend, &c, identity, password, field).await?;
    auth_response(&c, full, ctx)
}
