use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::oauth2::{self, Form};
use motorbase_core::auth::respond::SignIn;
use serde_json::Value;

use super::{auth_collection, field, form, mfa_id, sign_in_with_meta, AuthReply, ClientOrigin};
use crate::error::ApiError;
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/auth-with-oauth2`
/// `{provider, code, codeVerifier, redirectURL, createData?, mfaId?}`: `{token, record, meta}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(mut ctx): Ctx,
    Path(collection): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    body: Result<Body, ApiError>,
) -> AuthReply<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    oauth2::precheck(&c)?;
    let body = form(body)?;
    let mut redirect_url = field(&body, "redirectURL");
    if redirect_url.is_empty() {
        // The name older SDKs send.
        redirect_url = field(&body, "redirectUrl");
    }
    let form = Form {
        provider: field(&body, "provider"),
        code: field(&body, "code"),
        code_verifier: field(&body, "codeVerifier"),
        redirect_url,
        create_data: body
            .get("createData")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    ctx.context = "oauth2".into();
    let outcome = oauth2::authenticate(&state.backend, &c, form, &ctx).await?;
    let how = SignIn {
        method: "oauth2".into(),
        mfa_id: mfa_id(&ctx, &body),
        token: None,
        origin,
    };
    sign_in_with_meta(&state, &c, outcome.record, how, ctx, Some(outcome.meta)).await
}
