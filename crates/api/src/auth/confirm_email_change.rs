use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use motorbase_core::auth::email_change;

use super::{auth_collection, field, form, AuthReply};
use crate::error::ApiError;
use crate::extract::Body;
use crate::AppState;

/// `POST /api/collections/{c}/confirm-email-change` `{token, password}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> AuthReply<StatusCode> {
    let c = auth_collection(&state, &collection)?;
    email_change::precheck_confirm(&c)?;
    let body = form(body)?;
    email_change::confirm(
        &state.backend,
        &c,
        &field(&body, "token"),
        &field(&body, "password"),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
