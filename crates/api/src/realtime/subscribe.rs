use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use motorbase_core::error::{CoreError, FieldError};
use motorbase_core::realtime::Subscription;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx};
use crate::AppState;

/// PocketBase's cap on one client's subscriptions.
const MAX_SUBSCRIPTIONS: usize = 1000;

/// `POST /api/realtime` `{clientId, subscriptions}`: replaces the client's topics; the caller's
/// `Authorization` decides what the client may receive from now on.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let client_id = body.get("clientId").and_then(Value::as_str).unwrap_or("");
    if client_id.is_empty() {
        return Err(CoreError::field(
            "An error occurred while validating the submitted data.",
            "clientId",
            FieldError::required(),
        )
        .into());
    }
    let topics: Vec<String> = body
        .get("subscriptions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if topics.len() > MAX_SUBSCRIPTIONS {
        return Err(CoreError::field(
            "An error occurred while validating the submitted data.",
            "subscriptions",
            FieldError::new("validation_length_too_long", "Too many subscriptions."),
        )
        .into());
    }
    let subs = topics
        .iter()
        .map(|t| Subscription::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    if !state
        .backend
        .broker
        .set_subscriptions(client_id, subs, ctx.auth)
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid client id.",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
