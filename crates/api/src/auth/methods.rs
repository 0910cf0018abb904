use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::auth_collection;
use crate::error::ApiResult;
use crate::AppState;

/// `GET /api/collections/{c}/auth-methods`: which sign-in methods the collection offers.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path(collection): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    let option = |key: &str, field: &str| c.options.get(key).and_then(|o| o.get(field)).cloned();
    let enabled = |key: &str| {
        option(key, "enabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    // A disabled method reports no duration, as PocketBase's answer does.
    let duration = |key: &str| {
        if enabled(key) {
            option(key, "duration").unwrap_or(json!(0))
        } else {
            json!(0)
        }
    };
    let password = c.password_auth_enabled();
    let identity = c.identity_fields();
    Ok(Json(json!({
        "password": {"enabled": password, "identityFields": identity},
        "oauth2": {"enabled": enabled("oauth2"), "providers": []},
        "mfa": {"enabled": enabled("mfa"), "duration": duration("mfa")},
        "otp": {"enabled": enabled("otp"), "duration": duration("otp")},
        // Fields older SDKs read.
        "authProviders": [],
        "usernamePassword": password && identity.iter().any(|f| f == "username"),
        "emailPassword": password && identity.iter().any(|f| f == "email"),
    })))
}
