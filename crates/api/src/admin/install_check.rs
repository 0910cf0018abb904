use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::Body;
use crate::AppState;

/// `POST /api/install/check` `{token}`: 204 while the install link printed by `serve` is still
/// good, so the dashboard can say at once that a used or expired link is dead, before anyone
/// types a password. The token travels in the body, never in a URL.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let token = body.get("token").and_then(Value::as_str).unwrap_or("");
    state.backend.install.check(&state.backend, token).await?;
    Ok(StatusCode::NO_CONTENT)
}
