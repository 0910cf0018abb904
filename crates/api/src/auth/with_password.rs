use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::respond::SignIn;
use motorbase_core::auth::{auth_with_password, missing};
use motorbase_core::hooks::{AuthEvent, AuthEventKind};
use serde_json::Value;

use super::{auth_collection, field, form, mfa_id, sign_in, AuthReply, ClientOrigin};
use crate::error::ApiError;
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/auth-with-password` `{identity, password[, identityField, mfaId]}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    body: Result<Body, ApiError>,
) -> AuthReply<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    let body = form(body)?;
    let (identity, password) = (field(&body, "identity"), field(&body, "password"));
    let identity_field = field(&body, "identityField");
    let identity_field = (!identity_field.is_empty()).then_some(identity_field.as_str());
    let mut invalid: Vec<&str> = [("identity", &identity), ("password", &password)]
        .into_iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k)
        .collect();
    if identity_field.is_some_and(|f| !c.identity_fields().iter().any(|x| x == f)) {
        invalid.push("identityField");
    }
    if !invalid.is_empty() {
        return Err(ApiError::from(missing(&invalid)).into());
    }
    let full = auth_with_password(&state.backend, &c, &identity, &password, identity_field).await?;
    state.backend.hooks.trigger_auth(
        &AuthEvent::new(AuthEventKind::AuthWithPassword, &c)
            .record(&full)
            .method("password"),
    )?;
    let how = SignIn {
        method: "password".into(),
        mfa_id: mfa_id(&ctx, &body),
        token: None,
        origin,
    };
    sign_in(&state, &c, full, how, ctx).await
}
