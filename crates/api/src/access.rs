//! The request guards the settings drive, checked before every route (by `front`): the
//! superuser IP whitelist (`superuserIPs`: a superuser's request from elsewhere is refused) and
//! the rate limits (`rateLimits`, with PocketBase's labels: the route's `METHOD /path` and
//! `/path`, and for collection routes `name:tag` and `*:tag` such as `users:authWithPassword`,
//! `*:auth`, `*:create`; 429 when a rule's window is used up).

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use motorbase_core::auth::rate_limit::{allow, ip_in_list, superuser_ips, Request as Limited};
use serde_json::Value;

use crate::error::ApiError;
use crate::AppState;

/// PocketBase's tags for a collection route: `(method, what follows /api/collections/{c}/)`.
fn tags(method: &str, rest: &str) -> &'static [&'static str] {
    let mut parts = rest.splitn(2, '/');
    let first = parts.next().unwrap_or("");
    let has_id = parts.next().is_some_and(|s| !s.is_empty());
    match (method, first, has_id) {
        ("GET", "records", false) => &["list"],
        ("GET", "records", true) => &["view"],
        ("POST", "records", false) => &["create"],
        ("PATCH", "records", true) => &["update"],
        ("DELETE", "records", true) => &["delete"],
        ("GET", "auth-methods", _) => &["listAuthMethods"],
        ("POST", "auth-refresh", _) => &["authRefresh"],
        ("POST", "auth-with-password", _) => &["authWithPassword", "auth"],
        ("POST", "auth-with-oauth2", _) => &["authWithOAuth2", "auth"],
        ("POST", "auth-with-otp", _) => &["authWithOTP", "auth"],
        ("POST", "request-otp", _) => &["requestOTP"],
        ("POST", "request-password-reset", _) => &["requestPasswordReset"],
        ("POST", "confirm-password-reset", _) => &["confirmPasswordReset"],
        ("POST", "request-verification", _) => &["requestVerification"],
        ("POST", "confirm-verification", _) => &["confirmVerification"],
        ("POST", "request-email-change", _) => &["requestEmailChange"],
        ("POST", "confirm-email-change", _) => &["confirmEmailChange"],
        _ => &[],
    }
}

/// The client's address: the connection's, or the configured proxy header's.
pub(crate) fn client_ip(settings: &Value, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let proxy = settings.get("trustedProxy");
    let names: Vec<&str> = proxy
        .and_then(|p| p.get("headers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let leftmost = proxy
        .and_then(|p| p.get("useLeftmostIP"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for name in names {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let mut ips = v.split(',').map(str::trim).filter(|s| !s.is_empty());
            let ip = if leftmost {
                ips.next()
            } else {
                ips.next_back()
            };
            if let Some(ip) = ip {
                return ip.to_string();
            }
        }
    }
    peer.map(|p| p.ip().to_string()).unwrap_or_default()
}

/// The refusal of a request the guards stop, or `None` to let it through.
pub async fn check(state: &AppState, req: &Parts) -> Option<Response> {
    let backend = &state.backend;
    let limits_on = backend.request_settings().rate_limits;
    let settings = backend.settings();
    let allowed_ips = superuser_ips(&settings);
    if !limits_on && allowed_ips.is_empty() {
        return None;
    }
    let peer = req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = client_ip(&settings, &req.headers, peer);
    let caller = match req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(h) if !h.trim().is_empty() => motorbase_core::auth::authenticate(backend, h).await,
        _ => None,
    };
    let superuser = caller
        .as_ref()
        .is_some_and(|a| a.collection.is_superusers());
    if superuser && !allowed_ips.is_empty() && !ip_in_list(&allowed_ips, &ip) {
        return Some(
            ApiError::forbidden("You are not allowed to perform this request.").into_response(),
        );
    }
    if !limits_on {
        return None;
    }
    let method = req.method.as_str().to_string();
    let path = req.uri.path().to_string();
    let collection = path
        .strip_prefix("/api/collections/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(name, rest)| backend.schema().get(name).map(|c| (c, tags(&method, rest))));
    let limited = Limited {
        method: &method,
        path: &path,
        collection: collection
            .as_ref()
            .map(|(c, t)| (c.id.as_str(), c.name.as_str(), *t)),
        signed_in: caller.is_some(),
        superuser,
        ip: &ip,
    };
    if !allow(backend, &limited) {
        return Some(
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests.").into_response(),
        );
    }
    None
}
