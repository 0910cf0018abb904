use serde_json::{json, Value};

use crate::common::{with_query, Case, TestApp};

const SUPERUSERS_ONLY: &str = "Only superusers can perform this action.";
const NOT_FOUND: &str = "The requested resource wasn't found.";

fn error(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message, "data": {}})
}

fn with_rules(name: &str, rule: Value) -> Value {
    json!({
        "name": name,
        "type": "base",
        "listRule": rule, "viewRule": rule, "createRule": rule,
        "updateRule": rule, "deleteRule": rule,
        "fields": [{"name": "title", "type": "text"}]
    })
}

#[tokio::test]
async fn null_rules_are_for_superusers_only() {
    let app = TestApp::spawn().await;
    app.create_collection(with_rules("locked", Value::Null))
        .await;
    let (_, user) = app.create_user("user@example.com", "Password123").await;
    let rec = app.create_record("locked", json!({"title": "x"})).await;
    let one = format!(
        "/api/collections/locked/records/{}",
        rec["id"].as_str().unwrap()
    );
    let path = "/api/collections/locked/records";
    let body = json!({"title": "y"});
    let mut cases = Vec::new();
    for (who, token) in [("guest", None), ("user", Some(user.as_str()))] {
        let with = |case: Case| match token {
            Some(token) => case.token(token),
            None => case,
        };
        let forbidden = error(403, SUPERUSERS_ONLY);
        cases.extend([
            with(Case::get(who, path)).expect(403, forbidden.clone()),
            with(Case::get(who, &one)).expect(403, forbidden.clone()),
            with(Case::get(who, format!("{path}/nosuchrecord123"))).expect(403, forbidden.clone()),
            with(Case::post(who, path, body.clone())).expect(403, forbidden.clone()),
            with(Case::patch(who, &one, body.clone())).expect(403, forbidden.clone()),
            with(Case::delete(who, &one)).expect(403, forbidden.clone()),
        ]);
    }
    cases.extend([
        Case::get("superuser list", path)
            .superuser()
            .expect(200, json!({"totalItems": 1})),
        Case::get("superuser view", &one)
            .superuser()
            .expect(200, json!({"title": "x"})),
        Case::post("superuser create", path, body.clone())
            .superuser()
            .expect(200, json!({"title": "y"})),
        Case::patch("superuser update", &one, json!({"title": "z"}))
            .superuser()
            .expect(200, json!({"title": "z"})),
        Case::delete("superuser delete", &one)
            .superuser()
            .status(204),
    ]);
    app.run(&cases).await;
}

#[tokio::test]
async fn empty_rules_are_open_to_everyone() {
    let app = TestApp::spawn().await;
    app.create_collection(with_rules("open", json!(""))).await;
    let path = "/api/collections/open/records";
    let (status, rec) = app.post(path, None, json!({"title": "x"})).await;
    assert_eq!(status, 200, "{rec}");
    let one = format!("{path}/{}", rec["id"].as_str().unwrap());
    app.run(&[
        Case::get("list", path).expect(200, json!({"totalItems": 1, "items": [{"title": "x"}]})),
        Case::get("view", &one).expect(200, json!({"title": "x"})),
        Case::patch("update", &one, json!({"title": "y"})).expect(200, json!({"title": "y"})),
        Case::delete("delete", &one).status(204),
        Case::get("missing record", &one).expect(404, error(404, NOT_FOUND)),
    ])
    .await;
}

#[tokio::test]
async fn failing_rules() {
    let app = TestApp::spawn().await;
    app.create_collection(with_rules("members", json!("@request.auth.id != \"\"")))
        .await;
    let (_, user) = app.create_user("member@example.com", "Password123").await;
    let rec = app.create_record("members", json!({"title": "x"})).await;
    let path = "/api/collections/members/records";
    let one = format!("{path}/{}", rec["id"].as_str().unwrap());
    app.run(&[
        Case::get("list: an empty page", path).expect(
            200,
            json!({"page": 1, "perPage": 30, "totalItems": 0, "totalPages": 0, "items": []}),
        ),
        Case::get("view: not found", &one).expect(404, error(404, NOT_FOUND)),
        Case::post("create: 400", path, json!({"title": "y"}))
            .expect(400, error(400, "Failed to create record.")),
        Case::patch("update: not found", &one, json!({"title": "y"}))
            .expect(404, error(404, NOT_FOUND)),
        Case::delete("delete: not found", &one).expect(404, error(404, NOT_FOUND)),
        Case::get("nothing changed", &one)
            .superuser()
            .expect(200, json!({"title": "x"})),
        Case::get("member list", path)
            .token(&user)
            .expect(200, json!({"totalItems": 1})),
        Case::get("member view", &one)
            .token(&user)
            .expect(200, json!({"title": "x"})),
        Case::post("member create", path, json!({"title": "y"}))
            .token(&user)
            .expect(200, json!({"title": "y"})),
        Case::patch("member update", &one, json!({"title": "z"}))
            .token(&user)
            .expect(200, json!({"title": "z"})),
        Case::delete("member delete", &one).token(&user).status(204),
    ])
    .await;
}

#[tokio::test]
async fn owner_rules() {
    let app = TestApp::spawn().await;
    let owner = "owner = @request.auth.id";
    app.create_collection(json!({
        "name": "notes",
        "type": "base",
        "listRule": owner, "viewRule": owner, "updateRule": owner, "deleteRule": owner,
        "createRule": "@request.auth.id != '' && @request.body.owner = @request.auth.id",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_",
             "maxSelect": 1}
        ]
    }))
    .await;
    let (alice_id, alice) = app.create_user("alice@example.com", "Password123").await;
    let (bob_id, bob) = app.create_user("bob@example.com", "Password123").await;
    let path = "/api/collections/notes/records";
    let (status, note) = app
        .post(
            path,
            Some(&alice),
            json!({"title": "mine", "owner": alice_id}),
        )
        .await;
    assert_eq!(status, 200, "{note}");
    app.create_record("notes", json!({"title": "bobs", "owner": bob_id}))
        .await;
    let one = format!("{path}/{}", note["id"].as_str().unwrap());
    app.run(&[
        Case::get("alice lists hers", path)
            .token(&alice)
            .expect(200, json!({"totalItems": 1, "items": [{"title": "mine"}]})),
        Case::get("bob lists his", path)
            .token(&bob)
            .expect(200, json!({"totalItems": 1, "items": [{"title": "bobs"}]})),
        Case::get(
            "a filter cannot widen the rule",
            with_query(path, &[("filter", "title = 'mine'")]),
        )
        .token(&bob)
        .expect(200, json!({"totalItems": 0, "items": []})),
        Case::get("bob cannot view alice's", &one)
            .token(&bob)
            .expect(404, error(404, NOT_FOUND)),
        Case::patch("bob cannot update it", &one, json!({"title": "stolen"}))
            .token(&bob)
            .expect(404, error(404, NOT_FOUND)),
        // The rule is checked before the body: a refused caller learns nothing from validation.
        Case::patch(
            "bob's invalid update is refused as not found",
            &one,
            json!({"owner": "nosuchrecord000"}),
        )
        .token(&bob)
        .expect(404, error(404, NOT_FOUND)),
        Case::delete("bob cannot delete it", &one)
            .token(&bob)
            .expect(404, error(404, NOT_FOUND)),
        Case::post(
            "bob cannot create one for alice",
            path,
            json!({"title": "forged", "owner": alice_id}),
        )
        .token(&bob)
        .expect(400, error(400, "Failed to create record.")),
        Case::get("alice's note is intact", &one)
            .token(&alice)
            .expect(200, json!({"title": "mine"})),
        Case::patch(
            "the same body from alice is a validation error",
            &one,
            json!({"owner": "nosuchrecord000"}),
        )
        .token(&alice)
        .expect(
            400,
            json!({"message": "Failed to update record.",
                   "data": {"owner": {"code": "validation_missing_rel_records"}}}),
        ),
        Case::patch("alice updates it", &one, json!({"title": "still mine"}))
            .token(&alice)
            .expect(200, json!({"title": "still mine"})),
        Case::get("superuser sees both", path)
            .superuser()
            .expect(200, json!({"totalItems": 2})),
    ])
    .await;
}

#[tokio::test]
async fn request_macros_in_client_filters_are_for_superusers() {
    let app = TestApp::spawn().await;
    app.create_collection(with_rules("open", json!(""))).await;
    let (_, user) = app.create_user("user@example.com", "Password123").await;
    let path = "/api/collections/open/records";
    let filter = |f: &str| with_query(path, &[("filter", f)]);
    app.run(&[
        Case::get("guest @request filter", filter("@request.auth.id = ''"))
            .expect(403, error(403, "Only superusers can filter by @request.")),
        Case::get("user @request filter", filter("@request.auth.id != ''"))
            .token(&user)
            .expect(403, error(403, "Only superusers can filter by @request.")),
        Case::get(
            "user @request sort",
            with_query(path, &[("sort", "@request.auth.id")]),
        )
        .token(&user)
        .expect(403, error(403, "Only superusers can filter by @request.")),
        Case::get(
            "guest @collection filter",
            filter("@collection.open.title = 'x'"),
        )
        .expect(
            403,
            error(403, "Only superusers can filter by @collection."),
        ),
        Case::get(
            "superuser @request filter",
            filter("@request.auth.id != ''"),
        )
        .superuser()
        .expect(200, json!({"totalItems": 0})),
    ])
    .await;
}

#[tokio::test]
async fn expand_honours_the_related_view_rule() {
    let app = TestApp::spawn().await;
    let hidden = app
        .create_collection(json!({
            "name": "hidden",
            "type": "base",
            "fields": [{"name": "name", "type": "text"}]
        }))
        .await;
    let shown = app
        .create_collection(json!({
            "name": "shown",
            "type": "base",
            "listRule": "", "viewRule": "",
            "fields": [{"name": "name", "type": "text"}]
        }))
        .await;
    app.create_collection(json!({
        "name": "posts",
        "type": "base",
        "listRule": "", "viewRule": "",
        "fields": [
            {"name": "secret", "type": "relation", "collectionId": hidden["id"], "maxSelect": 1},
            {"name": "public", "type": "relation", "collectionId": shown["id"], "maxSelect": 1}
        ]
    }))
    .await;
    let h = app.create_record("hidden", json!({"name": "h"})).await;
    let s = app.create_record("shown", json!({"name": "s"})).await;
    let post = app
        .create_record("posts", json!({"secret": h["id"], "public": s["id"]}))
        .await;
    let one = with_query(
        &format!(
            "/api/collections/posts/records/{}",
            post["id"].as_str().unwrap()
        ),
        &[("expand", "secret,public")],
    );
    app.run(&[
        Case::get("guest: only the viewable relation expands", &one)
            .expect(
                200,
                json!({"secret": h["id"], "public": s["id"],
                                "expand": {"public": {"name": "s"}}}),
            )
            .absent(&["expand.secret"]),
        Case::get("superuser: both", &one).superuser().expect(
            200,
            json!({"expand": {"public": {"name": "s"}, "secret": {"name": "h"}}}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn request_body_modifiers_in_rules() {
    let app = TestApp::spawn().await;
    app.create_collection(json!({
        "name": "posts",
        "type": "base",
        "listRule": "", "viewRule": "",
        "createRule": "@request.body.role:isset = false && @request.body.title != 'forbidden'",
        "updateRule": "@request.body.title:changed = false",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "role", "type": "text"},
            {"name": "n", "type": "number"}
        ]
    }))
    .await;
    let path = "/api/collections/posts/records";
    let rec = app
        .create_record("posts", json!({"title": "fixed", "n": 1}))
        .await;
    let one = format!("{path}/{}", rec["id"].as_str().unwrap());
    app.run(&[
        Case::post("without the guarded field", path, json!({"title": "ok"}))
            .expect(200, json!({"title": "ok"})),
        Case::post("with it", path, json!({"title": "ok", "role": "admin"}))
            .expect(400, error(400, "Failed to create record.")),
        Case::post("a forbidden value", path, json!({"title": "forbidden"}))
            .expect(400, error(400, "Failed to create record.")),
        Case::patch("leaving the title alone", &one, json!({"n": 2}))
            .expect(200, json!({"title": "fixed", "n": 2})),
        Case::patch(
            "sending the same title",
            &one,
            json!({"title": "fixed", "n": 3}),
        )
        .expect(200, json!({"title": "fixed", "n": 3})),
        Case::patch("changing the title", &one, json!({"title": "other"}))
            .expect(404, error(404, NOT_FOUND)),
        Case::get("unchanged", &one).expect(200, json!({"title": "fixed", "n": 3})),
    ])
    .await;
}

#[tokio::test]
async fn collection_joins_headers_and_dates_in_rules() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.create_user("alice@example.com", "Password123").await;
    let (_, bob) = app.create_user("bob@example.com", "Password123").await;
    app.create_collection(json!({
        "name": "members",
        "type": "base",
        "fields": [{"name": "user", "type": "relation", "collectionId": "_pb_users_auth_",
                    "maxSelect": 1}]
    }))
    .await;
    app.create_record("members", json!({"user": alice_id}))
        .await;
    app.create_collection(json!({
        "name": "club",
        "type": "base",
        "listRule": "@collection.members.user ?= @request.auth.id",
        "viewRule": "@request.headers.x_api_key = 'k1'",
        "fields": [{"name": "title", "type": "text"}]
    }))
    .await;
    app.create_collection(json!({
        "name": "news",
        "type": "base",
        "listRule": "published <= @now && published >= @yesterday",
        "fields": [{"name": "title", "type": "text"}, {"name": "published", "type": "date"}]
    }))
    .await;
    let rec = app.create_record("club", json!({"title": "secret"})).await;
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.3fZ")
        .to_string();
    app.create_record("news", json!({"title": "today", "published": now}))
        .await;
    app.create_record(
        "news",
        json!({"title": "old", "published": "2001-01-01 00:00:00.000Z"}),
    )
    .await;
    app.create_record(
        "news",
        json!({"title": "future", "published": "2999-01-01 00:00:00.000Z"}),
    )
    .await;
    let one = format!(
        "/api/collections/club/records/{}",
        rec["id"].as_str().unwrap()
    );

    app.run(&[
        Case::get("a member lists", "/api/collections/club/records")
            .token(&alice)
            .expect(
                200,
                json!({"totalItems": 1, "items": [{"title": "secret"}]}),
            ),
        Case::get("a non-member gets nothing", "/api/collections/club/records")
            .token(&bob)
            .expect(200, json!({"totalItems": 0, "items": []})),
        Case::get("no header", &one).expect(404, error(404, NOT_FOUND)),
        Case::get(
            "@now and @yesterday",
            with_query("/api/collections/news/records", &[("fields", "title")]),
        )
        .expect(200, json!({"totalItems": 1, "items": [{"title": "today"}]})),
    ])
    .await;
    let resp = reqwest::Client::new()
        .get(app.url(&one))
        .header("X-Api-Key", "k1")
        .send()
        .await
        .expect("GET with a header");
    assert_eq!(resp.status().as_u16(), 200, "@request.headers.x_api_key");
}

/// A superuser's filter may read the request's headers even when no collection rule does
/// (requests carry their headers into the rule context only in those two cases).
#[tokio::test]
async fn superuser_filters_read_request_headers() {
    let app = TestApp::spawn().await;
    app.create_collection(json!({
        "name": "notes",
        "type": "base",
        "listRule": "",
        "fields": [{"name": "title", "type": "text"}]
    }))
    .await;
    app.create_record("notes", json!({"title": "a"})).await;
    let token = app.superuser_token().await;
    let url = app.url(&with_query(
        "/api/collections/notes/records",
        &[("filter", "@request.headers.x_probe = 'yes'")],
    ));
    for (probe, expected) in [("yes", 1), ("no", 0)] {
        let resp = reqwest::Client::new()
            .get(&url)
            .header("Authorization", &token)
            .header("X-Probe", probe)
            .send()
            .await
            .expect("list");
        assert_eq!(resp.status().as_u16(), 200, "X-Probe: {probe}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["totalItems"], expected, "X-Probe: {probe}: {body}");
    }
}
