//! Request logs: every request leaves an entry (errors at PocketBase's error level), readable
//! and filterable by superusers only, and `logs.maxDays = 0` turns logging off.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{with_query, TestApp};

/// Logs are written in batches; give the writer time to flush.
async fn flushed() {
    tokio::time::sleep(Duration::from_millis(600)).await;
}

async fn logs(app: &TestApp, filter: &str) -> Value {
    let token = app.superuser_token().await;
    let (status, body) = app
        .get(
            &with_query(
                "/api/logs",
                &[("filter", filter), ("sort", "-created"), ("perPage", "50")],
            ),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn requests_are_logged_and_readable_by_superusers_only() {
    let app = TestApp::spawn().await;
    let token = app.superuser_token().await;
    app.get("/api/health?probe=1", None).await;
    app.get("/api/collections/nosuch/records", None).await;
    app.get("/api/collections", Some(&token)).await;
    flushed().await;

    let ok = logs(&app, "data.url = '/api/health?probe=1'").await;
    assert_eq!(ok["totalItems"], 1, "{ok}");
    let entry = &ok["items"][0];
    assert_eq!(entry["level"], 0);
    assert_eq!(entry["message"], "GET /api/health?probe=1");
    assert_eq!(entry["data"]["status"], 200);
    assert_eq!(entry["data"]["method"], "GET");
    assert_eq!(entry["data"]["type"], "request");
    assert_eq!(entry["data"]["remoteIP"], "127.0.0.1");
    assert!(entry["data"]["execTime"].as_f64().is_some());

    let failed = logs(&app, "data.status >= 400").await;
    let missing = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["url"] == "/api/collections/nosuch/records")
        .expect("the 404 is logged");
    assert_eq!(missing["level"], 8);
    assert_eq!(missing["data"]["error"], "Missing collection context.");

    let su = logs(&app, "data.url = '/api/collections'").await;
    assert_eq!(su["items"][0]["data"]["auth"], "_superusers");

    let id = entry["id"].as_str().unwrap();
    let (status, one) = app.get(&format!("/api/logs/{id}"), Some(&token)).await;
    assert_eq!(
        (status, &one["message"]),
        (200, &json!("GET /api/health?probe=1"))
    );
    let (status, stats) = app.get("/api/logs/stats", Some(&token)).await;
    assert_eq!(status, 200);
    assert!(stats[0]["total"].as_u64().unwrap() >= 3, "{stats}");

    let (_, user) = app.create_user("ann@example.com", "Password123").await;
    assert_eq!(app.get("/api/logs", None).await.0, 401);
    assert_eq!(app.get("/api/logs", Some(&user)).await.0, 403);
    assert_eq!(app.get("/api/logs/stats", Some(&user)).await.0, 403);
}

/// A burst of requests lands in few writes of many rows each: every request is still there,
/// with its headers' text as sent (quotes and backslashes included).
#[tokio::test]
async fn a_burst_of_requests_is_logged_in_full() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let agent = r#"Tester/1.0 (say "hi") C:\path"#;
    let referer = "http://app.example/page?a=1&b=%22";
    let sends = (0..100).map(|i| {
        let req = client
            .get(app.url(&format!("/api/health?burst={i}")))
            .header("User-Agent", agent)
            .header("Referer", referer);
        tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
    });
    for sent in futures_util::future::join_all(sends).await {
        assert_eq!(sent.expect("task").expect("request"), 200);
    }
    flushed().await;

    let logged = logs(&app, "data.url ~ '/api/health?burst='").await;
    assert_eq!(logged["totalItems"], 100, "{logged}");
    for entry in logged["items"].as_array().unwrap() {
        assert_eq!(entry["data"]["userAgent"], agent, "{entry}");
        assert_eq!(entry["data"]["referer"], referer, "{entry}");
        assert_eq!(entry["data"]["status"], 200, "{entry}");
    }
}

#[tokio::test]
async fn zero_max_days_turns_logging_off() {
    let app = TestApp::spawn().await;
    let token = app.superuser_token().await;
    let (status, _) = app
        .patch(
            "/api/settings",
            Some(&token),
            json!({"logs": {"maxDays": 0}}),
        )
        .await;
    assert_eq!(status, 200);
    app.get("/api/health?quiet=1", None).await;
    flushed().await;
    assert_eq!(
        logs(&app, "data.url = '/api/health?quiet=1'").await["totalItems"],
        0
    );
}
