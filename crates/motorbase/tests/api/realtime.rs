//! Realtime over SSE (PocketBase's protocol) and WebSocket (Motorbase's extension): events
//! arrive in order, only to subscribers allowed to see them, and a slow client holds nobody up.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::TestApp;

/// How long a test waits for an event that must come.
const ARRIVES: Duration = Duration::from_secs(10);
/// How long a test waits to be sure an event does not come.
const QUIET: Duration = Duration::from_millis(700);

/// One SSE connection read frame by frame.
struct Sse {
    resp: reqwest::Response,
    buf: String,
    client_id: String,
    /// The PB_CONNECT frame exactly as received.
    first_frame: String,
}

impl Sse {
    async fn connect(app: &TestApp) -> Sse {
        let resp = reqwest::Client::new()
            .get(app.url("/api/realtime"))
            .send()
            .await
            .expect("GET /api/realtime");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut sse = Sse {
            resp,
            buf: String::new(),
            client_id: String::new(),
            first_frame: String::new(),
        };
        let frame = sse.next_frame(ARRIVES).await.expect("a PB_CONNECT frame");
        let (event, data) = parse(&frame);
        assert_eq!(event, "PB_CONNECT");
        sse.client_id = data["clientId"].as_str().expect("clientId").to_string();
        sse.first_frame = frame;
        sse
    }

    /// The next complete frame (comments included), or None on timeout or end of stream.
    async fn next_frame(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame = self.buf[..end + 2].to_string();
                self.buf.drain(..end + 2);
                return Some(frame);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next event (keep-alive comments skipped): its name and data.
    async fn next_event(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let frame = self.next_frame(left).await?;
            if frame.starts_with(':') {
                continue;
            }
            return Some(parse(&frame));
        }
    }

    async fn subscribe(&self, app: &TestApp, topics: &[&str], token: Option<&str>) -> u16 {
        let (status, _) = app
            .post(
                "/api/realtime",
                token,
                json!({"clientId": self.client_id, "subscriptions": topics}),
            )
            .await;
        status
    }
}

fn parse(frame: &str) -> (String, Value) {
    let mut event = String::new();
    let mut data = Value::Null;
    for line in frame.lines() {
        if let Some(e) = line.strip_prefix("event:") {
            event = e.to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            data = serde_json::from_str(d).expect("JSON data");
        }
    }
    (event, data)
}

async fn posts(app: &TestApp) {
    app.create_collection(json!({
        "name": "posts",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "createRule": "",
        "updateRule": "",
        "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "body", "type": "editor"},
            {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
        ]
    }))
    .await;
}

async fn notes(app: &TestApp) {
    app.create_collection(json!({
        "name": "notes",
        "type": "base",
        "listRule": "owner = @request.auth.id",
        "viewRule": "owner = @request.auth.id",
        "createRule": "owner = @request.auth.id",
        "fields": [
            {"name": "text", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
        ]
    }))
    .await;
}

#[tokio::test]
async fn create_update_delete_arrive_in_order_in_pocketbase_wire_format() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    let mut sse = Sse::connect(&app).await;
    assert_eq!(
        sse.first_frame,
        format!(
            "id:{0}\nevent:PB_CONNECT\ndata:{{\"clientId\":\"{0}\"}}\n\n",
            sse.client_id
        )
    );
    assert_eq!(sse.subscribe(&app, &["posts/*"], None).await, 204);

    let rec = app.create_record("posts", json!({"title": "one"})).await;
    let id = rec["id"].as_str().unwrap().to_string();
    let path = format!("/api/collections/posts/records/{id}");
    app.patch(&path, None, json!({"title": "two"})).await;
    app.delete(&path, None).await;

    let mut seen = vec![];
    for _ in 0..3 {
        let (event, data) = sse.next_event(ARRIVES).await.expect("an event");
        assert_eq!(event, "posts/*");
        seen.push((
            data["action"].as_str().unwrap().to_string(),
            data["record"]["title"].as_str().unwrap().to_string(),
            data["record"]["id"].as_str().unwrap().to_string(),
        ));
    }
    let want = [("create", "one"), ("update", "two"), ("delete", "two")];
    for ((action, title, rid), (want_action, want_title)) in seen.iter().zip(want) {
        assert_eq!(
            (action.as_str(), title.as_str(), rid.as_str()),
            (want_action, want_title, id.as_str())
        );
    }
    let frame_check = sse.next_event(QUIET).await;
    assert!(frame_check.is_none(), "no more events: {frame_check:?}");
}

#[tokio::test]
async fn a_record_topic_sees_only_its_record_and_options_shape_the_event() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    let a = app.create_record("posts", json!({"title": "a"})).await;
    let b = app.create_record("posts", json!({"title": "b"})).await;
    let a_id = a["id"].as_str().unwrap();
    let mut sse = Sse::connect(&app).await;
    let options = r#"{"query":{"fields":"id,title"}}"#;
    let topic = format!(
        "posts/{a_id}?options={}",
        options
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    );
    assert_eq!(sse.subscribe(&app, &[&topic], None).await, 204);
    app.patch(
        &format!(
            "/api/collections/posts/records/{}",
            b["id"].as_str().unwrap()
        ),
        None,
        json!({"title": "b2"}),
    )
    .await;
    app.patch(
        &format!("/api/collections/posts/records/{a_id}"),
        None,
        json!({"title": "a2"}),
    )
    .await;
    let (event, data) = sse.next_event(ARRIVES).await.expect("the record's event");
    assert_eq!(event, topic, "events are named by the exact subscription");
    assert_eq!(
        data,
        json!({"action": "update", "record": {"id": a_id, "title": "a2"}})
    );
    assert!(sse.next_event(QUIET).await.is_none());
}

#[tokio::test]
async fn private_records_reach_only_those_the_rules_allow() {
    let app = TestApp::spawn().await;
    notes(&app).await;
    posts(&app).await;
    let (alice_id, alice) = app.create_user("alice@example.com", "Password123").await;
    let (bob_id, bob) = app.create_user("bob@example.com", "Password123").await;

    let mut alice_sse = Sse::connect(&app).await;
    let mut bob_sse = Sse::connect(&app).await;
    let expand = "%7B%22query%22%3A%7B%22expand%22%3A%22author%22%7D%7D";
    let posts_topic = format!("posts/*?options={expand}");
    for (sse, token) in [(&alice_sse, &alice), (&bob_sse, &bob)] {
        assert_eq!(
            sse.subscribe(&app, &["notes/*", &posts_topic], Some(token.as_str()))
                .await,
            204
        );
    }

    let (status, _) = app
        .post(
            "/api/collections/notes/records",
            Some(&alice),
            json!({"text": "alice's secret", "owner": alice_id}),
        )
        .await;
    assert_eq!(status, 200);
    let (event, data) = alice_sse.next_event(ARRIVES).await.expect("alice's note");
    assert_eq!(event, "notes/*");
    assert_eq!(data["record"]["text"], "alice's secret");

    // A post by alice: everyone sees it, but only alice may see her user record in the expand.
    app.create_record("posts", json!({"title": "hello", "author": alice_id}))
        .await;
    let (_, alice_post) = alice_sse
        .next_event(ARRIVES)
        .await
        .expect("alice's post event");
    assert_eq!(
        alice_post["record"]["expand"]["author"]["id"],
        alice_id.as_str()
    );

    // Bob's first event is the post, without alice's user record: her note never reached him.
    let (event, bob_post) = bob_sse.next_event(ARRIVES).await.expect("bob's post event");
    assert_eq!(event, posts_topic);
    assert_eq!(bob_post["record"]["title"], "hello");
    assert!(
        bob_post["record"]["expand"].get("author").is_none(),
        "alice's user record leaked through expand: {bob_post}"
    );
    let (status, _) = app
        .post(
            "/api/collections/notes/records",
            Some(&bob),
            json!({"text": "bob's", "owner": bob_id}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, bob_note) = bob_sse.next_event(ARRIVES).await.expect("bob's own note");
    assert_eq!(bob_note["record"]["text"], "bob's");
    assert!(
        alice_sse.next_event(QUIET).await.is_none(),
        "bob's note reached alice"
    );
}

#[tokio::test]
async fn a_new_authorization_is_used_from_the_next_event_on() {
    let app = TestApp::spawn().await;
    notes(&app).await;
    let (alice_id, alice) = app.create_user("alice@example.com", "Password123").await;
    let mut sse = Sse::connect(&app).await;
    assert_eq!(sse.subscribe(&app, &["notes/*"], None).await, 204);
    let note = |text: &str| json!({"text": text, "owner": alice_id});
    app.post(
        "/api/collections/notes/records",
        Some(&alice),
        note("first"),
    )
    .await;
    assert!(
        sse.next_event(QUIET).await.is_none(),
        "a guest saw a private note"
    );

    assert_eq!(sse.subscribe(&app, &["notes/*"], Some(&alice)).await, 204);
    app.post(
        "/api/collections/notes/records",
        Some(&alice),
        note("second"),
    )
    .await;
    let (_, data) = sse
        .next_event(ARRIVES)
        .await
        .expect("the note, now signed in");
    assert_eq!(data["record"]["text"], "second");

    assert_eq!(sse.subscribe(&app, &["notes/*"], None).await, 204);
    app.post(
        "/api/collections/notes/records",
        Some(&alice),
        note("third"),
    )
    .await;
    assert!(
        sse.next_event(QUIET).await.is_none(),
        "signed out, still delivered"
    );
}

#[tokio::test]
async fn unsubscribing_stops_delivery_and_reconnecting_works() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    let mut sse = Sse::connect(&app).await;
    assert_eq!(sse.subscribe(&app, &["posts/*"], None).await, 204);
    assert_eq!(sse.subscribe(&app, &[], None).await, 204);
    app.create_record("posts", json!({"title": "unheard"}))
        .await;
    assert!(sse.next_event(QUIET).await.is_none());

    let old_id = sse.client_id.clone();
    drop(sse);
    // The server forgets a closed connection.
    let mut gone = 0;
    for _ in 0..50 {
        let (status, _) = app
            .post(
                "/api/realtime",
                None,
                json!({"clientId": old_id, "subscriptions": ["posts/*"]}),
            )
            .await;
        gone = status;
        if status == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gone, 404, "a closed client must be forgotten");

    let mut again = Sse::connect(&app).await;
    assert_ne!(again.client_id, old_id);
    assert_eq!(again.subscribe(&app, &["posts/*"], None).await, 204);
    app.create_record("posts", json!({"title": "heard"})).await;
    let (_, data) = again
        .next_event(ARRIVES)
        .await
        .expect("event after reconnect");
    assert_eq!(data["record"]["title"], "heard");
}

#[tokio::test]
async fn bad_subscription_requests_get_pocketbase_errors() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/realtime", None, json!({"subscriptions": ["posts/*"]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["data"]["clientId"]["code"], "validation_required");
    let (status, body) = app
        .post(
            "/api/realtime",
            None,
            json!({"clientId": "nosuchclient", "subscriptions": ["posts/*"]}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Missing or invalid client id."))
    );
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    let slow = Sse::connect(&app).await;
    assert_eq!(slow.subscribe(&app, &["posts/*"], None).await, 204);
    let mut fast = Sse::connect(&app).await;
    assert_eq!(fast.subscribe(&app, &["posts/*"], None).await, 204);

    // Enough data to fill the slow client's queue and socket buffers several times over.
    const N: usize = 1000;
    let big = "x".repeat(50_000);
    let writer = {
        let client = reqwest::Client::new();
        let url = app.url("/api/collections/posts/records");
        tokio::spawn(async move {
            for i in 0..N {
                let resp = client
                    .post(&url)
                    .json(&json!({"title": i.to_string(), "body": big}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(resp.status().as_u16(), 200);
            }
        })
    };
    let mut got = 0;
    while got < N {
        let (_, data) = fast
            .next_event(ARRIVES)
            .await
            .unwrap_or_else(|| panic!("the fast client stalled after {got} events"));
        assert_eq!(
            data["record"]["title"],
            got.to_string(),
            "event {got} out of order"
        );
        got += 1;
    }
    writer.await.expect("all writes acknowledged");
    // The slow client fell behind and was dropped; it may reconnect.
    assert_eq!(slow.subscribe(&app, &["posts/*"], None).await, 404);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_recv(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(t)))) => {
                return Some(serde_json::from_str(t.as_str()).expect("JSON frame"))
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

async fn ws_send(ws: &mut Ws, frame: Value) {
    ws.send(WsMessage::Text(frame.to_string().into()))
        .await
        .expect("send a frame");
}

#[tokio::test]
async fn websocket_subscribes_authenticates_and_receives_events_in_band() {
    let app = TestApp::spawn().await;
    notes(&app).await;
    let (alice_id, alice) = app.create_user("alice@example.com", "Password123").await;
    let url = app.url("/api/realtime/ws").replacen("http://", "ws://", 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");

    let hello = ws_recv(&mut ws, ARRIVES).await.expect("connect frame");
    assert_eq!(hello["type"], "connect");
    assert!(hello["clientId"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(hello["auth"], Value::Null);

    ws_send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(
        ws_recv(&mut ws, ARRIVES).await,
        Some(json!({"type": "pong"}))
    );

    ws_send(&mut ws, json!({"type": "subscribe", "topics": ["notes/*"]})).await;
    assert_eq!(
        ws_recv(&mut ws, ARRIVES).await,
        Some(json!({"type": "subscribed", "topics": ["notes/*"]}))
    );
    let note = |text: &str| json!({"text": text, "owner": alice_id});
    app.post(
        "/api/collections/notes/records",
        Some(&alice),
        note("hidden"),
    )
    .await;
    assert!(
        ws_recv(&mut ws, QUIET).await.is_none(),
        "a guest saw a private note"
    );

    ws_send(&mut ws, json!({"type": "auth", "token": "not-a-token"})).await;
    let refused = ws_recv(&mut ws, ARRIVES).await.expect("error frame");
    assert_eq!(
        (refused["type"].as_str(), refused["status"].as_u64()),
        (Some("error"), Some(401))
    );

    ws_send(&mut ws, json!({"type": "auth", "token": alice})).await;
    let authed = ws_recv(&mut ws, ARRIVES).await.expect("auth frame");
    assert_eq!(authed["record"]["id"], alice_id.as_str());
    app.post(
        "/api/collections/notes/records",
        Some(&alice),
        note("visible"),
    )
    .await;
    let event = ws_recv(&mut ws, ARRIVES).await.expect("event frame");
    assert_eq!(event["type"], "event");
    assert_eq!(event["topic"], "notes/*");
    assert_eq!(event["data"]["action"], "create");
    assert_eq!(event["data"]["record"]["text"], "visible");

    ws_send(
        &mut ws,
        json!({"type": "unsubscribe", "topics": ["notes/*"]}),
    )
    .await;
    assert_eq!(
        ws_recv(&mut ws, ARRIVES).await,
        Some(json!({"type": "unsubscribed", "topics": ["notes/*"]}))
    );
    app.post(
        "/api/collections/notes/records",
        Some(&alice),
        note("after"),
    )
    .await;
    assert!(ws_recv(&mut ws, QUIET).await.is_none());

    ws_send(
        &mut ws,
        json!({"type": "subscribe", "topics": ["bad topic"]}),
    )
    .await;
    let bad = ws_recv(&mut ws, ARRIVES).await.expect("error frame");
    assert_eq!(
        (bad["type"].as_str(), bad["status"].as_u64()),
        (Some("error"), Some(400))
    );
}
