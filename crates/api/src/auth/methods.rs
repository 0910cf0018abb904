use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::oauth2;
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
    // Each listing gets a fresh state and PKCE pair per provider.
    let providers: Vec<Value> = if oauth2::enabled(&c) {
        oauth2::providers(&c)
            .iter()
            .map(oauth2::provider_info)
            .collect()
    } else {
        vec![]
    };
    // Older SDKs read the same list without logos.
    let legacy: Vec<Value> = providers
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p["logo"] = json!("");
            p
        })
        .collect();
    Ok(Json(json!({
        "password": {"enabled": password, "identityFields": identity},
        "oauth2": {"enabled": enabled("oauth2"), "providers": providers},
        "mfa": {"enabled": enabled("mfa"), "duration": duration("mfa")},
        "otp": {"enabled": enabled("otp"), "duration": duration("otp")},
        // Fields older SDKs read.
        "authProviders": legacy,
        "usernamePassword": password && identity.iter().any(|f| f == "username"),
        "emailPassword": password && identity.iter().any(|f| f == "email"),
    })))
}
