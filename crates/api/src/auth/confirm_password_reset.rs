use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use motorbase_core::auth::password_reset;

use super::{auth_collection, field, form, AuthReply};
use crate::error::ApiError;
use crate::extract::Body;
use crate::AppState;

/// `POST /api/collections/{c}/confirm-password-reset` `{token, password, passwordConfirm}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> AuthReply<StatusCode> {
    let c = auth_collection(&state, &collection)?;
    let body = form(body)?;
    password_reset::confirm(
        &state.backend,
        &c,
        &field(&body, "token"),
        &field(&body, "password"),
        &field(&body, "passwordConfirm"),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
