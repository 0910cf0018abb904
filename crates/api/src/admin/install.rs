use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::Body;
use crate::AppState;

/// `POST /api/install` `{token, email, password, passwordConfirm}`: creates the first superuser
/// with the one-time token from the link `serve` printed (Motorbase's own endpoint; PocketBase
/// uses a temporary superuser instead). Answers the new superuser record; the dashboard then
/// signs in with the same credentials.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let token = body.get("token").and_then(Value::as_str).unwrap_or("");
    let record = state
        .backend
        .install
        .create_first_superuser(&state.backend, token, &body)
        .await?;
    Ok(Json(record))
}
