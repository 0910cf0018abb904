use serde_json::{json, Value};

use crate::common::{with_query, Case, TestApp};

const BAD_REQUEST: &str = "Something went wrong while processing your request.";
const NOT_FOUND: &str = "The requested resource wasn't found.";

fn error(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message, "data": {}})
}

async fn app_with_posts() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.create_collection(json!({
        "name": "posts",
        "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]
    }))
    .await;
    let rec = app.create_record("posts", json!({"title": "x"})).await;
    let one = format!(
        "/api/collections/posts/records/{}",
        rec["id"].as_str().unwrap()
    );
    (app, one)
}

#[tokio::test]
async fn malformed_bodies() {
    let (app, one) = app_with_posts().await;
    let posts = "/api/collections/posts/records";
    let json_type = "application/json";
    app.run(&[
        Case::post("truncated JSON", posts, json!(null))
            .raw(json_type, "{\"title\":")
            .expect(400, error(400, BAD_REQUEST)),
        Case::post("a JSON array", posts, json!(null))
            .raw(json_type, "[1,2]")
            .expect(400, error(400, BAD_REQUEST)),
        Case::patch("truncated JSON on update", &one, json!(null))
            .raw(json_type, "{bad")
            .expect(400, error(400, BAD_REQUEST)),
        Case::post("plain text", posts, json!(null))
            .raw("text/plain", "hello")
            .expect(400, error(400, "Unsupported Content-Type.")),
        Case::post(
            "truncated JSON to a collection",
            "/api/collections",
            json!(null),
        )
        .superuser()
        .raw(json_type, "{bad")
        .expect(
            400,
            error(
                400,
                "Failed to load the collection type data due to invalid formatting.",
            ),
        ),
        Case::post(
            "truncated JSON to sign in",
            "/api/collections/users/auth-with-password",
            json!(null),
        )
        .raw(json_type, "{bad")
        .expect(
            400,
            error(400, "An error occurred while loading the submitted data."),
        ),
        Case::get("nothing was written", posts).expect(200, json!({"totalItems": 1})),
    ])
    .await;
}

#[tokio::test]
async fn unknown_collections_and_records() {
    let (app, _) = app_with_posts().await;
    let missing = "/api/collections/posts/records/nosuchrecord123";
    app.run(&[
        Case::get("list", "/api/collections/nosuch/records")
            .expect(404, error(404, "Missing collection context.")),
        Case::get("list as superuser", "/api/collections/nosuch/records")
            .superuser()
            .expect(404, error(404, "Missing collection context.")),
        Case::get("view", "/api/collections/nosuch/records/abc")
            .expect(404, error(404, "Missing collection context.")),
        Case::post("create", "/api/collections/nosuch/records", json!({}))
            .expect(404, error(404, "Missing or invalid collection context.")),
        Case::patch("update", "/api/collections/nosuch/records/abc", json!({}))
            .expect(404, error(404, "Missing or invalid collection context.")),
        Case::delete("delete", "/api/collections/nosuch/records/abc")
            .expect(404, error(404, "Missing collection context.")),
        Case::get("schema", "/api/collections/nosuch")
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::patch("schema update", "/api/collections/nosuch", json!({}))
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::get("unknown record", missing).expect(404, error(404, NOT_FOUND)),
        Case::get("unknown record as superuser", missing)
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::patch("update unknown record", missing, json!({"title": "y"}))
            .expect(404, error(404, NOT_FOUND)),
        Case::delete("delete unknown record", missing).expect(404, error(404, NOT_FOUND)),
    ])
    .await;
}

#[tokio::test]
async fn bad_queries_are_400() {
    let (app, _) = app_with_posts().await;
    let list = |params: &[(&str, &str)]| with_query("/api/collections/posts/records", params);
    let bad = error(400, BAD_REQUEST);
    app.run(&[
        Case::get("bad filter", list(&[("filter", "title = ")])).expect(400, bad.clone()),
        Case::get("unknown field", list(&[("filter", "nosuch = 1")])).expect(400, bad.clone()),
        Case::get("bad sort", list(&[("sort", "nosuch")])).expect(400, bad.clone()),
        Case::get("bad page", list(&[("page", "abc")])).expect(400, bad.clone()),
        Case::get("bad perPage", list(&[("perPage", "1.5")])).expect(400, bad),
    ])
    .await;
}

/// Odd input of every kind: whatever the answer, it is never a 500.
#[tokio::test]
async fn odd_input_is_never_a_500() {
    let (app, one) = app_with_posts().await;
    let posts = "/api/collections/posts/records";
    let list = |key: &str, value: &str| with_query(posts, &[(key, value)]);
    let mut paths: Vec<String> = [
        ("filter", "((("),
        ("filter", ")))"),
        ("filter", "'"),
        ("filter", "\""),
        ("filter", "title ~"),
        ("filter", "title = 'a' && ("),
        ("filter", "@now > 0"),
        ("filter", "@request.query.x = 1"),
        ("filter", "title:length > 1"),
        ("filter", "n.deep.path = 1"),
        ("filter", "title = 'ünïcödé ✓'"),
        ("filter", "title = '%' || title = '_'"),
        ("filter", "title = 'x'; DROP TABLE posts; --"),
        ("filter", "title = \"x\\\" OR 1=1 --\""),
        ("filter", &"(".repeat(500)),
        ("filter", &"title = 'x' || ".repeat(200)),
        ("sort", "-"),
        ("sort", ",,,"),
        ("sort", "@random"),
        ("sort", "title;drop"),
        ("sort", "-n,+title,-id"),
        ("expand", "nosuch"),
        ("expand", "a.b.c.d.e.f.g.h"),
        ("expand", "..."),
        ("fields", ",,,"),
        ("fields", "*:excerpt(abc)"),
        ("fields", "title:excerpt(-1)"),
        ("page", "999999999999999999999"),
        ("perPage", "-1"),
        ("skipTotal", "yes"),
    ]
    .iter()
    .map(|(k, v)| list(k, v))
    .collect();
    paths.push(format!("{one}?expand=nosuch&fields=nosuch"));
    paths.push("/api/collections/posts/records/..%2F..%2Fetc".to_string());
    paths.push("/api/collections/posts%00/records".to_string());
    paths.push(format!("/api/collections/{}/records", "x".repeat(300)));

    let su = app.superuser_token().await;
    let mut failures = Vec::new();
    for path in &paths {
        for token in [None, Some(su.as_str())] {
            let (status, body) = app.get(path, token).await;
            if status >= 500 || body.get("status").and_then(Value::as_u64).unwrap_or(0) >= 500 {
                failures.push(format!(
                    "GET {path} (superuser: {}): {status} {body}",
                    token.is_some()
                ));
            }
        }
    }
    for body in [
        "",
        "{",
        "null",
        "\"text\"",
        "123",
        "{\"n\": \"not a number\"}",
        "{\"title\": {\"nested\": true}}",
        "{\"n\": 1e999}",
    ] {
        let (status, resp) = app
            .request_raw(reqwest::Method::POST, posts, None, "application/json", body)
            .await;
        if status >= 500 {
            failures.push(format!("POST {posts} {body:?}: {status} {resp}"));
        }
    }
    assert!(failures.is_empty(), "500s:\n{}", failures.join("\n"));
}
