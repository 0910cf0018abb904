use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use super::auth_response;
use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::AppState;

/// `POST /api/collections/{c}/auth-refresh`: a new token for the caller, who must belong to `c`.
pub async fn handler(State(state): State<Arc<AppState>>, Ctx(ctx): Ctx, Path(collection): Path<String>) -> ApiResult<Json<Value>> {
    let c = state
        .backend
        .schema()
        .get(&collection)
        .ok_or_else(|| ApiError::new(axum::http::StatusCode::NOT_FOUND, "Missing collection context."))?;
    let Some(auth) = ctx.auth.clone() else {
        return Err(ApiError::unauthorized());
    };
    if auth.collection.id != c.id {
        return Err(ApiError::forbidden("The request requires valid record authorization token."));
    }
    auth_response(&c, auth.record, ctx)
}
