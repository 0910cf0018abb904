//! The request-log middleware: times each request and hands one entry to the core logs
//! (written in batches off the request path), as PocketBase logs every request by default.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use motorbase_core::logs::RequestLog;

use crate::AppState;

/// Filled by the `Ctx` extractor once the caller's token is verified: (collection, record id).
#[derive(Clone, Default)]
pub struct AuthSlot(pub Arc<Mutex<Option<(String, String)>>>);

/// The message of an error response, for the log.
#[derive(Clone)]
pub struct ErrorMessage(pub String);

pub async fn middleware(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let slot = AuthSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().to_string();
    let url = req.uri().to_string();
    let (user_agent, referer) = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        (header("user-agent"), header("referer"))
    };
    let remote_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let resp = next.run(req).await;
    let (auth, auth_id) = slot
        .0
        .lock()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_default();
    let error = resp
        .extensions()
        .get::<ErrorMessage>()
        .map(|e| e.0.clone())
        .unwrap_or_default();
    let backend = &state.backend;
    backend.logs.record(
        &backend.settings(),
        RequestLog {
            method,
            url,
            status: resp.status().as_u16(),
            exec_ms: start.elapsed().as_secs_f64() * 1000.0,
            remote_ip,
            user_agent,
            referer,
            auth,
            auth_id,
            error,
        },
    );
    resp
}
