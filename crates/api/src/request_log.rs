//! The request log's side of the front middleware: what to note about a request before it
//! runs, and the entry handed to the core logs (written in batches off the request path) once
//! it has, as PocketBase logs every request by default.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::header;
use axum::response::Response;
use motorbase_core::logs::RequestLog;

use crate::AppState;

/// Filled by the `Ctx` extractor once the caller's token is verified: (collection, record id).
#[derive(Clone, Default)]
pub struct AuthSlot(pub Arc<Mutex<Option<(String, String)>>>);

/// The message of an error response, for the log.
#[derive(Clone)]
pub struct ErrorMessage(pub String);

/// What the log needs from a request, taken before the request is handed on.
pub struct Started {
    at: Instant,
    slot: AuthSlot,
    method: String,
    url: String,
    user_agent: String,
    referer: String,
    remote_ip: Option<IpAddr>,
}

impl Started {
    /// Notes the request and gives it the slot the `Ctx` extractor reports the caller in.
    pub fn note(req: &mut Request) -> Started {
        let at = Instant::now();
        let slot = AuthSlot::default();
        req.extensions_mut().insert(slot.clone());
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        Started {
            at,
            method: req.method().as_str().to_string(),
            // The path and query as sent (no formatting machinery for the usual origin form).
            url: match req.uri().path_and_query() {
                Some(p) if req.uri().authority().is_none() => p.as_str().to_string(),
                _ => req.uri().to_string(),
            },
            user_agent: header(header::USER_AGENT),
            referer: header(header::REFERER),
            remote_ip: req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            slot,
        }
    }

    /// Queues the log entry of the finished request.
    pub fn finish(self, state: &AppState, resp: &Response) {
        let backend = &state.backend;
        let settings = backend.request_settings().logs;
        let (auth, auth_id) = self
            .slot
            .0
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .unwrap_or_default();
        let error = resp
            .extensions()
            .get::<ErrorMessage>()
            .map(|e| e.0.clone())
            .unwrap_or_default();
        backend.logs.record(
            &settings,
            RequestLog {
                method: self.method,
                url: self.url,
                status: resp.status().as_u16(),
                exec_ms: self.at.elapsed().as_secs_f64() * 1000.0,
                remote_ip: self.remote_ip,
                user_agent: self.user_agent,
                referer: self.referer,
                auth,
                auth_id,
                error,
            },
        );
    }
}
