use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::otp;
use motorbase_core::auth::respond::SignIn;
use serde_json::Value;

use super::{auth_collection, field, form, mfa_id, sign_in, AuthReply, ClientOrigin};
use crate::error::ApiError;
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/auth-with-otp` `{otpId, password[, mfaId]}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    body: Result<Body, ApiError>,
) -> AuthReply<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    otp::precheck(&c)?;
    let body = form(body)?;
    let full = otp::authenticate(
        &state.backend,
        &c,
        &field(&body, "otpId"),
        &field(&body, "password"),
    )
    .await?;
    let how = SignIn {
        method: "otp".into(),
        mfa_id: mfa_id(&ctx, &body),
        token: None,
        origin,
    };
    sign_in(&state, &c, full, how, ctx).await
}
