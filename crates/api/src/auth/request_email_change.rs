use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use motorbase_core::auth::email_change;

use super::{auth_collection, field, form, AuthReply};
use crate::error::ApiError;
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/request-email-change` `{newEmail}`, by the signed-in owner.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> AuthReply<StatusCode> {
    let c = auth_collection(&state, &collection)?;
    let caller = ctx.auth.as_ref();
    email_change::precheck_request(&c, caller)?;
    let body = form(body)?;
    email_change::request(&state.backend, &c, caller, &field(&body, "newEmail")).await?;
    Ok(StatusCode::NO_CONTENT)
}
