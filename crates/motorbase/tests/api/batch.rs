//! `POST /api/batch`: several writes in one transaction.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::common::{assert_fragment, Case, TestApp};

async fn enable(app: &TestApp, max_requests: u32, max_body: u64) {
    app.enable_batch(json!({"enabled": true, "maxRequests": max_requests, "timeout": 3, "maxBodySize": max_body}))
        .await;
}

/// `posts`: anyone may read and create; only the author updates or deletes.
async fn posts(app: &TestApp) {
    app.create_collection(json!({
        "name": "posts",
        "type": "base",
        "listRule": "", "viewRule": "",
        "createRule": "",
        "updateRule": "author = @request.auth.id",
        "deleteRule": "author = @request.auth.id",
        "fields": [
            {"name": "title", "type": "text", "required": true},
            {"name": "author", "type": "text"},
            {"name": "cover", "type": "file", "maxSelect": 1}
        ]
    }))
    .await;
}

async fn count(app: &TestApp) -> u64 {
    let (_, list) = app.get("/api/collections/posts/records", None).await;
    list["totalItems"].as_u64().expect("a list")
}

fn failed(index: usize, status: u16, message: &str) -> Value {
    json!({
        "status": 400,
        "message": "Batch transaction failed.",
        "data": {"requests": {index.to_string(): {
            "code": "batch_request_failed",
            "message": "Batch request failed.",
            "response": {"status": status, "message": message}
        }}}
    })
}

fn create(title: &str) -> Value {
    json!({"method": "POST", "url": "/api/collections/posts/records", "body": {"title": title}})
}

#[tokio::test]
async fn batch_settings_and_request_checks() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    app.run(&[Case::post(
        "disabled by default",
        "/api/batch",
        json!({"requests": [create("x")]}),
    )
    .expect(
        403,
        json!({"status": 403, "message": "Batch requests are not allowed."}),
    )])
    .await;
    enable(&app, 2, 0).await;
    let invalid = "Invalid batch request data.";
    app.run(&[
        Case::post("no requests", "/api/batch", json!({"requests": []})).expect(
            400,
            json!({"message": invalid, "data": {"requests": {"code": "validation_required"}}}),
        ),
        Case::post("too many", "/api/batch", json!({"requests": [create("1"), create("2"), create("3")]})).expect(
            400,
            json!({"message": invalid, "data": {"requests": {
                "code": "validation_length_too_long",
                "message": "The length must be no more than 2.",
                "params": {"max": 2, "min": 0}}}}),
        ),
        Case::post("unknown method, no url", "/api/batch", json!({"requests": [{"method": "FOO", "url": "/api/collections/posts/records"}, {"method": "", "url": ""}]})).expect(
            400,
            json!({"message": invalid, "data": {"requests": {
                "0": {"method": {"code": "validation_in_invalid"}},
                "1": {"method": {"code": "validation_required"}, "url": {"code": "validation_required"}}}}}),
        ),
        Case::post("a body that is not an object", "/api/batch", json!({"requests": [{"method": "POST", "url": "/api/collections/posts/records", "body": "x"}]}))
            .expect(400, json!({"message": "Failed to read the submitted batch data."})),
        Case::post("a route that is not batchable", "/api/batch", json!({"requests": [{"method": "GET", "url": "/api/collections/posts/records"}]}))
            .expect(400, failed(0, 400, "Something went wrong while processing your request.")),
        Case::post("upsert with an id in the url", "/api/batch", json!({"requests": [{"method": "PUT", "url": "/api/collections/posts/records/abc", "body": {}}]}))
            .expect(400, failed(0, 400, "Something went wrong while processing your request.")),
        Case::post("a missing collection", "/api/batch", json!({"requests": [{"method": "POST", "url": "/api/collections/nope/records", "body": {}}]}))
            .expect(400, failed(0, 404, "Missing collection context.")),
        Case::post("a missing record", "/api/batch", json!({"requests": [{"method": "DELETE", "url": "/api/collections/posts/records/nope"}]}))
            .expect(400, failed(0, 404, "The requested resource wasn't found.")),
    ])
    .await;
    assert_eq!(count(&app).await, 0);

    enable(&app, 5, 20).await;
    let (status, body) = app
        .post(
            "/api/batch",
            None,
            json!({"requests": [create("long enough to pass 20 bytes")]}),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_fragment(&body, &json!({"message": "Request entity too large."}));
}

#[tokio::test]
async fn a_batch_commits_all_or_nothing() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    enable(&app, 50, 0).await;
    let (alice_id, alice) = app.create_user("alice@example.com", "Passw0rd!!").await;
    let (_, bob) = app.create_user("bob@example.com", "Passw0rd!!").await;

    let (status, body) = app
        .post(
            "/api/batch",
            Some(&alice),
            json!({"requests": [
                {"method": "POST", "url": "/api/collections/posts/records?fields=id,title", "body": {"title": "one"}},
                {"method": "POST", "url": "/api/collections/posts/records", "body": {"id": "batchpost000001", "title": "two", "author": alice_id}},
                {"method": "PUT", "url": "/api/collections/posts/records", "body": {"id": "batchpost000001", "title": "two, upserted"}},
                {"method": "PUT", "url": "/api/collections/posts/records", "body": {"id": "batchpost000002", "title": "three", "author": alice_id}},
                {"method": "PATCH", "url": "/api/collections/posts/records/batchpost000002", "body": {"title": "three, patched"}},
                {"method": "DELETE", "url": "/api/collections/posts/records/batchpost000001"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!([
            {"status": 200, "body": {"title": "one"}},
            {"status": 200, "body": {"id": "batchpost000001", "title": "two"}},
            {"status": 200, "body": {"id": "batchpost000001", "title": "two, upserted"}},
            {"status": 200, "body": {"id": "batchpost000002", "title": "three"}},
            {"status": 200, "body": {"id": "batchpost000002", "title": "three, patched"}},
            {"status": 204, "body": null}
        ]),
    );
    assert_eq!(
        body[0]["body"].as_object().unwrap().len(),
        2,
        "fields= applies: {}",
        body[0]
    );
    assert_eq!(count(&app).await, 2);

    // The second request fails validation: the first is rolled back with it.
    let (status, body) = app
        .post(
            "/api/batch",
            None,
            json!({"requests": [create("rolled back"), {"method": "POST", "url": "/api/collections/posts/records", "body": {"author": "x"}}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_fragment(
        &body,
        &json!({"data": {"requests": {"1": {"code": "batch_request_failed", "response": {
            "status": 400, "message": "Failed to create record.",
            "data": {"title": {"code": "validation_required"}}}}}}}),
    );
    assert_eq!(count(&app).await, 2);

    // Each request's rules are its own, with the batch caller's identity: Bob may not touch
    // Alice's post, and the header of a sub-request does not change who is asking.
    let patch = json!({"method": "PATCH", "url": "/api/collections/posts/records/batchpost000002", "body": {"title": "bob was here"}});
    let (status, body) = app
        .post(
            "/api/batch",
            Some(&bob),
            json!({"requests": [create("bob's"), patch.clone()]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_fragment(
        &body,
        &failed(1, 404, "The requested resource wasn't found."),
    );
    let mut with_header = patch.clone();
    with_header["headers"] = json!({"Authorization": alice});
    let (status, body) = app
        .post("/api/batch", Some(&bob), json!({"requests": [with_header]}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(count(&app).await, 2);
    let (status, body) = app
        .post("/api/batch", Some(&alice), json!({"requests": [patch]}))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_multipart_batch_uploads_files() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    enable(&app, 50, 0).await;
    let payload = json!({"requests": [
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "with cover"}},
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "no cover"}}
    ]});
    let form = Form::new().text("@jsonPayload", payload.to_string()).part(
        "requests.0.cover",
        Part::bytes(b"cover bytes".to_vec()).file_name("cover.txt"),
    );
    let resp = reqwest::Client::new()
        .post(app.url("/api/batch"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let rec = &body[0]["body"];
    let cover = rec["cover"].as_str().unwrap();
    assert!(
        cover.starts_with("cover_") && cover.ends_with(".txt"),
        "{body}"
    );
    assert_eq!(body[1]["body"]["cover"], json!(""));
    let url = format!(
        "/api/files/{}/{}/{cover}",
        rec["collectionId"].as_str().unwrap(),
        rec["id"].as_str().unwrap()
    );
    let got = reqwest::get(app.url(&url)).await.unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"cover bytes");

    // A failing batch leaves none of its files behind.
    let payload = json!({"requests": [
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "fine"}},
        {"method": "POST", "url": "/api/collections/posts/records", "body": {}}
    ]});
    let form = Form::new().text("@jsonPayload", payload.to_string()).part(
        "requests.0.cover",
        Part::bytes(b"orphan".to_vec()).file_name("orphan.txt"),
    );
    let resp = reqwest::Client::new()
        .post(app.url("/api/batch"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let storage = app
        .data_dir()
        .join("storage")
        .join(rec["collectionId"].as_str().unwrap());
    let dirs: Vec<_> = std::fs::read_dir(&storage)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "only the first batch's record has files: {dirs:?}"
    );
}

/// A minimal realtime subscriber: the SSE stream and what has been read of it.
struct Subscriber {
    resp: reqwest::Response,
    buf: String,
}

impl Subscriber {
    async fn subscribe(app: &TestApp, topic: &str) -> Subscriber {
        let resp = reqwest::get(app.url("/api/realtime"))
            .await
            .expect("connect");
        let mut sub = Subscriber {
            resp,
            buf: String::new(),
        };
        let connect = sub
            .next(std::time::Duration::from_secs(10))
            .await
            .expect("PB_CONNECT");
        let client_id = connect["clientId"].as_str().expect("clientId").to_string();
        let (status, body) = app
            .post(
                "/api/realtime",
                None,
                json!({"clientId": client_id, "subscriptions": [topic]}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        sub
    }

    /// The next event's data, or `None` if nothing arrives within `wait`.
    async fn next(&mut self, wait: std::time::Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let data = frame.lines().find_map(|l| l.strip_prefix("data:"))?;
                return serde_json::from_str(data).ok();
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk.ok()??));
        }
    }
}

#[tokio::test]
async fn realtime_hears_a_batch_only_once_it_has_committed() {
    let app = TestApp::spawn().await;
    posts(&app).await;
    enable(&app, 50, 0).await;
    let mut sub = Subscriber::subscribe(&app, "posts/*").await;
    let quiet = std::time::Duration::from_millis(700);

    let (status, _) = app
        .post("/api/batch", None, json!({"requests": [create("never"), {"method": "POST", "url": "/api/collections/posts/records", "body": {}}]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        sub.next(quiet).await,
        None,
        "a rolled back batch sends nothing"
    );

    let (status, body) = app
        .post(
            "/api/batch",
            None,
            json!({"requests": [create("first"), create("second")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for title in ["first", "second"] {
        let event = sub
            .next(std::time::Duration::from_secs(10))
            .await
            .expect("an event");
        assert_fragment(
            &event,
            &json!({"action": "create", "record": {"title": title}}),
        );
    }
}
