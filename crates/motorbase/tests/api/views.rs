//! View collections: fields inferred from the query, list/view rules, read-only records, and
//! the errors a bad query gets (checked against PocketBase 0.40.6, apart from the wording of
//! the refused writes, see below).

use serde_json::{json, Value};

use crate::common::{assert_fragment, item_values, Case, TestApp};

const VALIDATE_FAILED: &str = "An error occurred while validating the submitted data.";

fn open(name: &str, fields: Value) -> Value {
    json!({
        "name": name, "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": fields
    })
}

/// `posts` (3 records, two by one author) and `comments` (3 on the first post).
async fn blog(app: &TestApp) {
    let posts = app
        .create_collection(open(
            "posts",
            json!([
                {"name": "title", "type": "text"},
                {"name": "views", "type": "number"},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2}
            ]),
        ))
        .await;
    app.create_collection(open(
        "comments",
        json!([
            {"name": "text", "type": "text"},
            {"name": "post", "type": "relation", "collectionId": posts["id"], "maxSelect": 1}
        ]),
    ))
    .await;
    app.create_record(
        "users",
        json!({"id": "author000000001", "email": "author@example.com", "password": "Password123",
               "passwordConfirm": "Password123", "name": "Ann"}),
    )
    .await;
    for (id, title, views, author) in [
        ("post00000000001", "first", 10, "author000000001"),
        ("post00000000002", "second", 20, "author000000001"),
        ("post00000000003", "third", 30, ""),
    ] {
        app.create_record(
            "posts",
            json!({"id": id, "title": title, "views": views, "author": author, "tags": ["a"]}),
        )
        .await;
    }
    for text in ["c1", "c2", "c3"] {
        app.create_record("comments", json!({"text": text, "post": "post00000000001"}))
            .await;
    }
}

const STATS: &str = "SELECT p.id, p.title, count(c.id) AS comments, p.author, p.tags, \
                     (p.views * 2) AS doubled, 'x' AS constant FROM posts p \
                     LEFT JOIN comments c ON c.post = p.id GROUP BY p.id";

#[tokio::test]
async fn fields_are_inferred_from_the_query() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let view = app
        .create_collection(json!({
            "name": "post_stats", "type": "view", "listRule": "", "viewRule": "",
            "viewQuery": STATS,
            // Fields given with a view are ignored: the query decides.
            "fields": [{"name": "ignored", "type": "text"}]
        }))
        .await;
    let posts_id = {
        let token = app.superuser_token().await;
        app.get("/api/collections/posts", Some(&token)).await.1["id"].clone()
    };
    assert_fragment(
        &view,
        &json!({
            "type": "view", "viewQuery": STATS, "indexes": [],
            "createRule": null, "updateRule": null, "deleteRule": null,
            "fields": [
                {"name": "id", "type": "text", "id": "text3208210256", "primaryKey": true,
                 "required": true, "system": true, "pattern": "^[a-z0-9]+$", "max": 0,
                 "autogeneratePattern": ""},
                {"name": "title", "type": "text"},
                {"name": "comments", "type": "number", "onlyInt": true},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_",
                 "maxSelect": 1},
                {"name": "tags", "type": "select", "maxSelect": 2, "values": ["a", "b"]},
                {"name": "doubled", "type": "json", "maxSize": 1},
                {"name": "constant", "type": "json"}
            ]
        }),
    );
    assert!(view["fields"][1]["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("_clone_")));

    let token = app.superuser_token().await;
    let dry = app
        .post(
            "/api/collections/meta/dry-run-view",
            Some(&token),
            json!({"query": "select p.id as pid, (ROW_NUMBER() OVER()) as id, cast(p.views as real) as r, total(p.views) t, cast(p.title as text) s, cast(p.views > 15 as boolean) big from posts p group by p.id"}),
        )
        .await;
    assert_eq!(dry.0, 200, "{}", dry.1);
    assert_fragment(
        &dry.1,
        &json!({
            "fields": [
                {"name": "pid", "type": "relation", "collectionId": posts_id, "maxSelect": 1},
                {"name": "id", "type": "text"},
                {"name": "r", "type": "number", "onlyInt": false},
                {"name": "t", "type": "number", "onlyInt": false},
                {"name": "s", "type": "text"},
                {"name": "big", "type": "bool"}
            ],
            "sample": [
                {"id": "1", "pid": "post00000000001", "r": 10, "t": 10, "s": "first", "big": false},
                {"id": "2", "pid": "post00000000002", "r": 20, "t": 20, "s": "second", "big": true},
                {"id": "3", "pid": "post00000000003", "r": 30, "t": 30, "s": "third", "big": true}
            ]
        }),
    );
}

#[tokio::test]
async fn view_records_are_listed_filtered_expanded_and_never_written() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    app.create_collection(json!({
        "name": "post_stats", "type": "view",
        "listRule": "comments > 0 || doubled > 50", "viewRule": "",
        "viewQuery": STATS
    }))
    .await;
    let list = "/api/collections/post_stats/records";
    let one = format!("{list}/post00000000001");
    let unsupported = json!({"status": 400, "message": "Unsupported collection type."});
    app.run(&[
        Case::get("superuser sees every row, in the query's order", list)
            .superuser()
            .expect(200, json!({"totalItems": 3, "items": [
                {"id": "post00000000001", "title": "first", "comments": 3, "doubled": 20,
                 "constant": "x", "tags": ["a"], "author": "author000000001",
                 "collectionName": "post_stats"},
                {"id": "post00000000002", "comments": 0, "doubled": 40},
                {"id": "post00000000003", "comments": 0, "doubled": 60, "author": ""}
            ]})),
        Case::get("the list rule applies to guests", list)
            .expect(200, json!({"totalItems": 2, "items": [
                {"id": "post00000000001"}, {"id": "post00000000003"}
            ]})),
        Case::get(
            "filter, sort and expand",
            format!("{list}?filter=author.name%3D'Ann'&sort=-doubled&expand=author&fields=id,expand.author.name"),
        )
        .superuser()
        .expect(200, json!({"items": [
            {"id": "post00000000002", "expand": {"author": {"name": "Ann"}}},
            {"id": "post00000000001", "expand": {"author": {"name": "Ann"}}}
        ]})),
        Case::get("view one", &one)
            .expect(200, json!({"id": "post00000000001", "comments": 3})),
        Case::get("sorting by @rowid is refused", format!("{list}?sort=@rowid"))
            .superuser()
            .status(400),
        Case::post("create is refused", list, json!({"title": "x"}))
            .superuser()
            .expect(400, unsupported.clone()),
        Case::patch("update is refused", &one, json!({"title": "x"}))
            .superuser()
            .expect(400, unsupported.clone()),
        Case::delete("delete is refused", &one)
            .superuser()
            .expect(400, unsupported),
        Case::delete("truncate is refused", "/api/collections/post_stats/truncate")
            .superuser()
            .expect(400, json!({"message": "View collections cannot be truncated since they don't store their own records."})),
    ])
    .await;
}

fn bad_view(name: &'static str, query: &str, reason: &str) -> Case {
    // Without an id the other columns still make fields, which then lack their primary key.
    let fields_code = if reason.starts_with("missing required id") {
        "validation_missing_primary_key"
    } else {
        "validation_required"
    };
    Case::post(
        name,
        "/api/collections",
        json!({"name": "bad_view", "type": "view", "viewQuery": query}),
    )
    .superuser()
    .expect(
        400,
        json!({"message": "Failed to create collection.", "data": {
            "fields": {"code": fields_code},
            "viewQuery": {"code": "validation_invalid_view_query",
                          "message": format!("Invalid query - {reason}.")}
        }}),
    )
}

fn bad_dry_run(name: &'static str, query: &str, reason: &str) -> Case {
    Case::post(
        name,
        "/api/collections/meta/dry-run-view",
        json!({"query": query}),
    )
    .superuser()
    .expect(
        400,
        json!({"status": 400, "data": {},
               "message": format!("Invalid view query. Raw error: \n{reason}.")}),
    )
}

#[tokio::test]
async fn bad_queries_are_refused_with_the_reason_and_nothing_runs() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let multiple = "multiple statements are not supported";
    let missing_id = "missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one)";
    app.run(&[
        bad_view(
            "a write",
            "DELETE FROM posts",
            "SQL logic error: near \"DELETE\": syntax error (1)",
        ),
        bad_view("two statements", "SELECT id FROM posts; DELETE FROM posts", multiple),
        bad_view(
            "attach",
            "ATTACH DATABASE 'other.db' AS other",
            "SQL logic error: near \"'other.db'\": syntax error (1)",
        ),
        bad_view(
            "pragma",
            "PRAGMA table_info(posts)",
            "SQL logic error: near \"(\": syntax error (1)",
        ),
        bad_view(
            "unknown column",
            "SELECT id, nosuch FROM posts",
            "SQL logic error: no such column: nosuch (1)",
        ),
        bad_view("no id", "SELECT title FROM posts", missing_id),
        bad_view(
            "wildcard",
            "SELECT * FROM posts",
            "wildcard columns (*) are not supported - manually type the collection field names you want the view query to have",
        ),
        bad_dry_run("dry run: two statements", "SELECT id FROM posts; DROP TABLE posts", multiple),
        bad_dry_run("dry run: no id", "SELECT title FROM posts", missing_id),
        bad_dry_run(
            "dry run: duplicated ids",
            "SELECT 1 AS id FROM posts",
            "the query could return records with non-unique ids",
        ),
        Case::post("dry run: no query", "/api/collections/meta/dry-run-view", json!({}))
            .superuser()
            .expect(400, json!({"message": VALIDATE_FAILED, "data": {"query": {"code": "validation_required"}}})),
        Case::post(
            "dry run is for superusers",
            "/api/collections/meta/dry-run-view",
            json!({"query": "SELECT id FROM posts"}),
        )
        .status(401),
        Case::post(
            "views have no write rules and no indexes",
            "/api/collections",
            json!({"name": "bad_view", "type": "view", "viewQuery": "SELECT id FROM posts",
                   "createRule": "", "indexes": ["CREATE INDEX idx_x ON bad_view (id)"]}),
        )
        .superuser()
        .expect(400, json!({"data": {
            "createRule": {"code": "validation_nil", "message": "Must be blank."},
            "indexes": {"code": "validation_indexes_not_supported",
                        "message": "View collections don't support indexes."}
        }})),
        Case::post(
            "a view needs a query",
            "/api/collections",
            json!({"name": "bad_view", "type": "view"}),
        )
        .superuser()
        .expect(400, json!({"data": {
            "fields": {"code": "validation_required"},
            "viewQuery": {"code": "validation_required"}
        }})),
        // Nothing above ran: every post and comment is still there.
        Case::get("posts are intact", "/api/collections/posts/records")
            .superuser()
            .expect(200, json!({"totalItems": 3})),
        Case::get("no view was made", "/api/collections/bad_view")
            .superuser()
            .status(404),
    ])
    .await;
}

#[tokio::test]
async fn a_view_changes_query_and_name_and_goes_away() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let token = app.superuser_token().await;
    app.create_collection(json!({
        "name": "titles", "type": "view", "listRule": "", "viewQuery": "SELECT id, title FROM posts"
    }))
    .await;
    let (status, changed) = app
        .patch(
            "/api/collections/titles",
            Some(&token),
            json!({"viewQuery": "SELECT id, views FROM posts WHERE views > 15", "name": "popular"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_fragment(
        &changed,
        &json!({"name": "popular", "fields": [{"name": "id"}, {"name": "views", "type": "number"}]}),
    );
    let (_, list) = app
        .get("/api/collections/popular/records", Some(&token))
        .await;
    assert_eq!(
        item_values(&list, "views"),
        vec![&json!(20), &json!(30)],
        "{list}"
    );
    let (status, _) = app.get("/api/collections/titles", Some(&token)).await;
    assert_eq!(status, 404);
    let (status, _) = app.delete("/api/collections/popular", Some(&token)).await;
    assert_eq!(status, 204);
    let (status, _) = app
        .get("/api/collections/popular/records", Some(&token))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_view_follows_changes_to_the_fields_it_reads() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let token = app.superuser_token().await;
    app.create_collection(json!({
        "name": "tagged", "type": "view", "listRule": "", "viewQuery": "SELECT id, tags FROM posts"
    }))
    .await;
    let (_, posts) = app.get("/api/collections/posts", Some(&token)).await;
    let mut fields = posts["fields"].clone();
    for f in fields.as_array_mut().unwrap() {
        if f["name"] == "tags" {
            f["values"] = json!(["a", "b", "c"]);
        }
    }
    let (status, body) = app
        .patch(
            "/api/collections/posts",
            Some(&token),
            json!({"fields": fields}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, view) = app.get("/api/collections/tagged", Some(&token)).await;
    assert_fragment(
        &view,
        &json!({"fields": [{"name": "id"}, {"name": "tags", "values": ["a", "b", "c"]}]}),
    );
}
