use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::respond::SignIn;
use motorbase_core::auth::token::{self, Extra, TokenKind};
use motorbase_core::auth::{load_full, AuthError};
use motorbase_core::error::FieldError;
use motorbase_core::hooks::{AuthEvent, AuthEventKind};
use serde_json::{json, Value};

use super::{auth_collection, form, sign_in, AuthReply, ClientOrigin};
use crate::error::ApiError;
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/impersonate/{id}` `{duration?}`: a superuser gets a
/// non-refreshable token of any account, for support work.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path((collection, id)): Path<(String, String)>,
    ClientOrigin(origin): ClientOrigin,
    body: Result<Body, ApiError>,
) -> AuthReply<Json<Value>> {
    ctx.require_superuser()?;
    let c = auth_collection(&state, &collection)?;
    let full = load_full(&state.backend, &c, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let body = form(body)?;
    let duration = match body.get("duration") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_f64().unwrap_or(0.0) as i64,
    };
    if duration < 0 {
        let mut errors = motorbase_core::auth::error::FormErrors::default();
        errors.add_error(
            "duration",
            FieldError::new(
                "validation_min_greater_equal_than_required",
                "Must be no less than 0.",
            )
            .with_params(json!({"threshold": 0})),
        );
        return Err(AuthError::Invalid(errors.0).into());
    }
    state
        .backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::Impersonate, &c).record(&full))?;
    let token = token::issue(
        &c,
        &full,
        TokenKind::Auth,
        Extra {
            duration: Some(duration),
            refreshable: false,
            ..Default::default()
        },
    )?;
    let how = SignIn {
        token: Some(token),
        origin,
        ..Default::default()
    };
    sign_in(&state, &c, full, how, ctx.0).await
}
