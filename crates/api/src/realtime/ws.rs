//! `GET /api/realtime/ws`: Motorbase's WebSocket transport for the same topics and events as
//! the SSE API, with subscribe/unsubscribe/auth in-band (no second HTTP request) and ping/pong.
//!
//! Client frames (JSON text): `{"type":"subscribe","topics":[...]}`,
//! `{"type":"unsubscribe","topics":[...]}` (no topics: all), `{"type":"auth","token":"..."}`
//! (empty token: sign out), `{"type":"ping"}`. Server frames: `{"type":"connect","clientId"}`,
//! `{"type":"subscribed"|"unsubscribed","topics"}`, `{"type":"auth","record":{id,collectionName}|null}`,
//! `{"type":"pong"}`, `{"type":"event","topic","data":{action,record}}`,
//! `{"type":"error","status","message"}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use motorbase_core::realtime::Subscription;
use motorbase_core::rules::AuthInfo;
use serde_json::{json, Value};

use crate::extract::Ctx;
use crate::AppState;

const PING_EVERY: Duration = Duration::from_secs(25);

pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| session(state, ctx.auth, socket))
}

fn text(v: Value) -> WsMessage {
    WsMessage::Text(v.to_string().into())
}

fn error(status: u16, message: &str) -> WsMessage {
    text(json!({"type": "error", "status": status, "message": message}))
}

fn topics(frame: &Value) -> Vec<String> {
    frame
        .get("topics")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn who(auth: &Option<AuthInfo>) -> Value {
    match auth {
        Some(a) => json!({"id": a.id(), "collectionName": a.collection.name}),
        None => Value::Null,
    }
}

async fn session(state: Arc<AppState>, mut auth: Option<AuthInfo>, mut socket: WebSocket) {
    let broker = &state.backend.broker;
    let (client_id, mut rx) = broker.connect();
    broker.set_subscriptions(&client_id, vec![], auth.clone());
    let hello = json!({"type": "connect", "clientId": client_id, "auth": who(&auth)});
    if socket.send(text(hello)).await.is_err() {
        broker.disconnect(&client_id);
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let reply = tokio::select! {
            event = rx.recv() => match event {
                Some(m) => WsMessage::Text(format!(
                    "{{\"type\":\"event\",\"topic\":{},\"data\":{}}}",
                    Value::String(m.event.to_string()),
                    m.data
                ).into()),
                // Dropped by the broker for falling behind.
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(t))) => handle(&state, &client_id, &mut auth, t.as_str()).await,
                Some(Ok(WsMessage::Ping(p))) => WsMessage::Pong(p),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            _ = ping.tick() => WsMessage::Ping(Vec::new().into()),
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
    broker.disconnect(&client_id);
}

async fn handle(
    state: &AppState,
    client_id: &str,
    auth: &mut Option<AuthInfo>,
    raw: &str,
) -> WsMessage {
    let broker = &state.backend.broker;
    let Ok(frame) = serde_json::from_str::<Value>(raw) else {
        return error(400, "Invalid JSON frame.");
    };
    match frame.get("type").and_then(Value::as_str).unwrap_or("") {
        "ping" => text(json!({"type": "pong"})),
        "subscribe" => {
            let wanted = topics(&frame);
            let subs: Result<Vec<_>, _> = wanted.iter().map(|t| Subscription::parse(t)).collect();
            match subs {
                Ok(subs) => {
                    broker.change_subscriptions(client_id, subs, &[], None);
                    text(json!({"type": "subscribed", "topics": wanted}))
                }
                Err(e) => error(400, &e.to_string()),
            }
        }
        "unsubscribe" => {
            let mut gone = topics(&frame);
            if gone.is_empty() {
                broker.set_subscriptions(client_id, vec![], auth.clone());
            } else {
                broker.change_subscriptions(client_id, vec![], &gone, None);
            }
            gone.sort();
            text(json!({"type": "unsubscribed", "topics": gone}))
        }
        "auth" => {
            let token = frame.get("token").and_then(Value::as_str).unwrap_or("");
            let next = if token.is_empty() {
                None
            } else {
                match motorbase_core::auth::authenticate(&state.backend, token).await {
                    Some(a) => Some(a),
                    None => {
                        return error(
                            401,
                            "The request requires valid record authorization token.",
                        )
                    }
                }
            };
            *auth = next;
            broker.change_subscriptions(client_id, vec![], &[], Some(auth.clone()));
            text(json!({"type": "auth", "record": who(auth)}))
        }
        _ => error(400, "Unknown frame type."),
    }
}
