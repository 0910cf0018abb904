use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::extract::Body;
use crate::AppState;

/// The realtime topic an SDK waiting for the provider's redirect subscribes to.
const TOPIC: &str = "@oauth2";
const SUCCESS: &str = "../_/#/auth/oauth2-redirect-success";
const FAILURE: &str = "../_/#/auth/oauth2-redirect-failure";

/// `GET|POST /api/oauth2-redirect`: where a provider sends the browser back. The `state` names
/// the realtime client that started the sign-in; it receives `{state, code, error}` on
/// `@oauth2` and finishes with `auth-with-oauth2`. The browser lands on the dashboard's
/// success or failure page. (POST is Apple's `form_post`, whose `user` field holds the name
/// Apple gives only once: it is kept for the sign-in with this code, never sent on.)
pub async fn handler(
    State(state): State<Arc<AppState>>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    body: Result<Body, ApiError>,
) -> Response {
    // Apple's form post also carries `user` (the name, sent only on the first sign-in).
    let (client, code, error, apple_user) = if method == Method::POST {
        match body {
            Ok(Body(b)) => {
                let get = |k: &str| b.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                (get("state"), get("code"), get("error"), get("user"))
            }
            Err(_) => Default::default(),
        }
    } else {
        let get = |k: &str| query.get(k).cloned().unwrap_or_default();
        (get("state"), get("code"), get("error"), String::new())
    };
    let mut data = json!({"state": client, "code": code});
    if !error.is_empty() {
        data["error"] = json!(error);
    }
    let names = &state.backend.auth.redirect_names;
    // Kept before the client hears of the code, so its sign-in finds the name.
    let keep_name =
        !client.is_empty() && !apple_user.is_empty() && error.is_empty() && !code.is_empty();
    if keep_name {
        if let Err(e) = names.remember(&code, &apple_user) {
            tracing::debug!(error = %e, "Failed to parse the Apple redirect's user name");
        }
    }
    let delivered = !client.is_empty()
        && state
            .backend
            .broker
            .deliver_once(&client, TOPIC, data.to_string());
    if keep_name && !delivered {
        names.forget(&code);
    }
    let ok = delivered && error.is_empty() && !code.is_empty();
    let status = if method == Method::GET {
        StatusCode::TEMPORARY_REDIRECT
    } else {
        StatusCode::SEE_OTHER
    };
    (
        status,
        [(header::LOCATION, if ok { SUCCESS } else { FAILURE })],
    )
        .into_response()
}
