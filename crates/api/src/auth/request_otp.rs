use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::otp;
use serde_json::{json, Value};

use super::{auth_collection, field, form, AuthReply};
use crate::error::ApiError;
use crate::extract::Body;
use crate::AppState;

/// `POST /api/collections/{c}/request-otp` `{email}`: `{otpId}`, made up for unknown addresses.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> AuthReply<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    otp::precheck(&c)?;
    let body = form(body)?;
    let id = otp::request(&state.backend, &c, &field(&body, "email")).await?;
    Ok(Json(json!({"otpId": id})))
}
