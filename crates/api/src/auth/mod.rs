//! `/api/collections/{c}/auth-*`.

pub mod methods;
pub mod refresh;
pub mod with_password;

use axum::Json;
use motorbase_core::collections::Collection;
use motorbase_core::rules::{AuthInfo, RequestCtx};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};

/// The auth collection named in the URL, with PocketBase's 404s for a missing or non-auth one.
pub fn auth_collection(
    state: &crate::AppState,
    name: &str,
) -> ApiResult<std::sync::Arc<Collection>> {
    let not_found = |m: &str| ApiError::new(axum::http::StatusCode::NOT_FOUND, m);
    let c = state
        .backend
        .schema()
        .get(name)
        .ok_or_else(|| not_found("Missing or invalid collection context."))?;
    if !c.is_auth() {
        return Err(not_found("Missing or invalid auth collection context."));
    }
    Ok(c)
}

/// `{token, record}` for a freshly authenticated record, shown as its owner sees it.
pub fn auth_response(
    c: &std::sync::Arc<Collection>,
    full: Map<String, Value>,
    mut ctx: RequestCtx,
) -> ApiResult<Json<Value>> {
    let id = full
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let key = full
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let token = motorbase_core::auth::token::issue_auth(c, &id, &key).map_err(ApiError::from)?;
    ctx.auth = Some(AuthInfo {
        collection: c.clone(),
        record: full.clone(),
    });
    let record = motorbase_core::records::to_public(c, full, &ctx);
    Ok(Json(json!({"token": token, "record": record})))
}
