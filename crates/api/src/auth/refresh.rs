use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use motorbase_core::auth::respond::SignIn;
use motorbase_core::auth::token;
use motorbase_core::hooks::{AuthEvent, AuthEventKind};
use serde_json::Value;

use super::{auth_collection, sign_in, AuthReply, ClientOrigin};
use crate::error::ApiError;
use crate::extract::Ctx;
use crate::AppState;

/// `POST /api/collections/{c}/auth-refresh`: a new token for the caller, who must belong to `c`.
/// A non-refreshable token (an impersonation) comes back unchanged.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
) -> AuthReply<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    let Some(auth) = ctx.auth.clone() else {
        return Err(ApiError::unauthorized().into());
    };
    if auth.collection.id != c.id {
        // PocketBase's wording, which names the collection the token belongs to.
        return Err(ApiError::forbidden(&format!(
            "The request requires auth record from {} collection.",
            auth.collection.name
        ))
        .into());
    }
    state
        .backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::AuthRefresh, &c).record(&auth.record))?;
    let sent = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let sent = sent.strip_prefix("Bearer ").unwrap_or(sent).trim();
    let keep = token::peek(sent)
        .filter(|claims| !claims.refreshable)
        .map(|_| sent.to_string());
    let how = SignIn {
        token: keep,
        origin,
        ..Default::default()
    };
    sign_in(&state, &c, auth.record, how, ctx).await
}
