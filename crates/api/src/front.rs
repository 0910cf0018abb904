//! The one middleware in front of every route: CORS and the security headers as PocketBase
//! sends them, the access guards, and the request log. Written as one function rather than a
//! stack of layers (tower-http's CORS layer, two `from_fn` layers): the stack cost ~8k
//! instructions a request, a sixth of a health check, in clones and boxes per layer.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::request_log::Started;
use crate::{access, AppState};

/// The methods a preflight allows, PocketBase's list.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE");

/// Sent with every response but preflights' (PocketBase's security headers).
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    ),
    (
        header::X_XSS_PROTECTION,
        HeaderValue::from_static("1; mode=block"),
    ),
];

pub async fn middleware(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Started::note(&mut req);
    let resp = if req.method() == Method::OPTIONS {
        preflight(req.headers())
    } else {
        let from_origin = req.headers().contains_key(header::ORIGIN);
        let mut resp = if state.backend.request_settings().guarded() {
            let (parts, body) = req.into_parts();
            match access::check(&state, &parts).await {
                Some(refused) => refused,
                None => next.run(Request::from_parts(parts, body)).await,
            }
        } else {
            next.run(req).await
        };
        let headers = resp.headers_mut();
        // Room for what follows at once: grown one header at a time, the map was reallocated
        // and rehashed twice a response (~900 instructions).
        headers.reserve(2 + SECURITY_HEADERS.len());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if from_origin {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        for (name, value) in SECURITY_HEADERS {
            headers.entry(name).or_insert(value);
        }
        resp
    };
    started.finish(&state, &resp);
    resp
}

/// Any `OPTIONS` request is answered as a CORS preflight, on every path, as PocketBase does:
/// 204, any origin, its method list and the requested headers echoed (browsers do not let `*`
/// cover `Authorization`).
fn preflight(req: &HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let headers = resp.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if !req.contains_key(header::ORIGIN) {
        return resp;
    }
    for vary in [
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    ] {
        headers.append(header::VARY, HeaderValue::from_static(vary));
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    if let Some(asked) = req.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    resp
}
