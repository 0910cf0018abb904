use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use motorbase_core::auth::verification;

use super::{auth_collection, field, form, AuthReply};
use crate::error::ApiError;
use crate::extract::Body;
use crate::AppState;

/// `POST /api/collections/{c}/request-verification` `{email}`: 204 whether or not the account
/// exists.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> AuthReply<StatusCode> {
    let c = auth_collection(&state, &collection)?;
    verification::precheck(&c)?;
    let body = form(body)?;
    verification::request(&state.backend, &c, &field(&body, "email")).await?;
    Ok(StatusCode::NO_CONTENT)
}
