use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;
use futures_util::StreamExt;
use motorbase_core::realtime::Message;
use tokio::sync::mpsc;

use crate::serve::Peer;
use crate::AppState;

/// A comment line every so often keeps proxies from closing a quiet stream.
const KEEPALIVE: Duration = Duration::from_secs(25);
/// With no event for this many keep-alive periods (5 minutes, PocketBase's idle timeout) the
/// stream ends and the SDK reconnects.
const IDLE_TICKS: u32 = 12;

/// Unregisters the client when its stream is dropped (the connection closed).
struct Registration {
    state: Arc<AppState>,
    client_id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.state.backend.broker.disconnect(&self.client_id);
    }
}

/// How much a backlog is coalesced into one write.
const COALESCE_BYTES: usize = 64 * 1024;

/// One SSE frame, byte for byte as PocketBase writes it.
pub fn frame(client_id: &str, event: &str, data: &str) -> Bytes {
    let mut out = Vec::with_capacity(client_id.len() + event.len() + data.len() + 20);
    append_frame(&mut out, client_id, event, data);
    Bytes::from(out)
}

fn append_frame(out: &mut Vec<u8>, client_id: &str, event: &str, data: &str) {
    for part in ["id:", client_id, "\nevent:", event, "\ndata:", data, "\n\n"] {
        out.extend_from_slice(part.as_bytes());
    }
}

struct Stream {
    rx: mpsc::Receiver<Arc<Message>>,
    reg: Registration,
    /// Keep-alive ticks since the last event (the idle timeout counts them: no clock read per
    /// event).
    quiet_ticks: u32,
    /// One timer per stream, not one per message: arming a timer for every event costs more
    /// than the event itself when thousands of streams each get several events a second.
    keepalive: tokio::time::Interval,
    /// Resolves when the client hangs up. Made once and kept, so that waiting on it between
    /// events does not register and unregister interest in the socket for every event.
    hang_up: Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// `GET /api/realtime`: opens the event stream; the first event, `PB_CONNECT`, names the client.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<Peer>>,
) -> Response {
    let (client_id, rx) = state.backend.broker.connect();
    let hello = frame(
        &client_id,
        "PB_CONNECT",
        &serde_json::json!({"clientId": client_id}).to_string(),
    );
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = Stream {
        rx,
        reg: Registration { state, client_id },
        quiet_ticks: 0,
        keepalive,
        hang_up: Box::pin(async move {
            match peer {
                Some(Extension(p)) => p.closed().await,
                None => std::future::pending().await,
            }
        }),
    };
    let events = futures_util::stream::unfold(stream, |mut s| async move {
        let next = tokio::select! {
            biased;
            msg = s.rx.recv() => Some(msg),
            _ = s.keepalive.tick() => None,
            // The client went away: end the stream, which unregisters it.
            _ = &mut s.hang_up => Some(None),
        };
        match next {
            Some(Some(msg)) => {
                s.quiet_ticks = 0;
                // Events already waiting go out in the same write: a backlog drains in fewer
                // syscalls instead of growing.
                let mut out = Vec::with_capacity(1024);
                append_frame(&mut out, &s.reg.client_id, &msg.event, &msg.data);
                while out.len() < COALESCE_BYTES {
                    match s.rx.try_recv() {
                        Ok(m) => append_frame(&mut out, &s.reg.client_id, &m.event, &m.data),
                        Err(_) => break,
                    }
                }
                Some((Ok::<_, std::io::Error>(Bytes::from(out)), s))
            }
            // Dropped by the broker (too slow) or shutting down.
            Some(None) => None,
            None => {
                s.quiet_ticks += 1;
                if s.quiet_ticks >= IDLE_TICKS {
                    return None;
                }
                Some((Ok(Bytes::from_static(b":\n\n")), s))
            }
        }
    });
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(hello)]).chain(events);
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}
