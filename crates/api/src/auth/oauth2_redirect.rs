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
/// success or failure page. (POST is Apple's `form_post`.)
pub async fn handler(
    State(state): State<Arc<AppState>>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    body: Result<Body, ApiError>,
) -> Response {
    let (client, code, error) = if method == Method::POST {
        match body {
            Ok(Body(b)) => {
                let get = |k: &str| b.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                (get("state"), get("code"), get("error"))
            }
            Err(_) => Default::default(),
        }
    } else {
        let get = |k: &str| query.get(k).cloned().unwrap_or_default();
        (get("state"), get("code"), get("error"))
    };
    let mut data = json!({"state": client, "code": code});
    if !error.is_empty() {
        data["error"] = json!(error);
    }
    let delivered = !client.is_empty()
        && state
            .backend
            .broker
            .deliver_once(&client, TOPIC, data.to_string());
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
