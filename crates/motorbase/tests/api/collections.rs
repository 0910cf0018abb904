use serde_json::{json, Value};

use crate::common::{assert_fragment, with_query, Case, TestApp};

const NEEDS_AUTH: &str = "The request requires valid record authorization token.";
const NOT_ALLOWED: &str = "The authorized record is not allowed to perform this action.";
const NOT_FOUND: &str = "The requested resource wasn't found.";

fn posts_schema() -> Value {
    json!({
        "name": "posts",
        "type": "base",
        "fields": [
            {"name": "title", "type": "text", "required": true},
            {"name": "views", "type": "number"}
        ]
    })
}

fn error(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message, "data": {}})
}

fn field_error(message: &str, field: &str, code: &str) -> Value {
    json!({"status": 400, "message": message, "data": {field: {"code": code}}})
}

#[tokio::test]
async fn only_superusers_manage_collections() {
    let app = TestApp::spawn().await;
    let (_, user) = app.create_user("reader@example.com", "Password123").await;
    let new = json!({"name": "sneaky", "type": "base"});
    app.run(&[
        Case::get("guest list", "/api/collections").expect(401, error(401, NEEDS_AUTH)),
        Case::get("user list", "/api/collections")
            .token(&user)
            .expect(403, error(403, NOT_ALLOWED)),
        Case::get("guest view", "/api/collections/users").expect(401, error(401, NEEDS_AUTH)),
        Case::get("user view", "/api/collections/users")
            .token(&user)
            .expect(403, error(403, NOT_ALLOWED)),
        Case::post("guest create", "/api/collections", new.clone())
            .expect(401, error(401, NEEDS_AUTH)),
        Case::post("user create", "/api/collections", new)
            .token(&user)
            .expect(403, error(403, NOT_ALLOWED)),
        Case::patch(
            "user update",
            "/api/collections/users",
            json!({"listRule": ""}),
        )
        .token(&user)
        .expect(403, error(403, NOT_ALLOWED)),
        Case::delete("guest delete", "/api/collections/users").expect(401, error(401, NEEDS_AUTH)),
        Case::delete("user delete", "/api/collections/users")
            .token(&user)
            .expect(403, error(403, NOT_ALLOWED)),
        Case::delete("user truncate", "/api/collections/users/truncate")
            .token(&user)
            .expect(403, error(403, NOT_ALLOWED)),
        // Nothing above changed anything.
        Case::get("sneaky was not created", "/api/collections/sneaky")
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::get("users rules unchanged", "/api/collections/users")
            .superuser()
            .expect(200, json!({"listRule": "id = @request.auth.id"})),
    ])
    .await;
}

#[tokio::test]
async fn default_collections() {
    let app = TestApp::spawn().await;
    let users = json!({
        "id": "_pb_users_auth_",
        "name": "users",
        "type": "auth",
        "system": false,
        "listRule": "id = @request.auth.id",
        "viewRule": "id = @request.auth.id",
        "createRule": "",
        "updateRule": "id = @request.auth.id",
        "deleteRule": "id = @request.auth.id",
        "authRule": "",
        "manageRule": null,
        "passwordAuth": {"enabled": true, "identityFields": ["email"]},
        "fields": [
            {"name": "id", "type": "text", "system": true, "primaryKey": true,
             "min": 15, "max": 15, "pattern": "^[a-z0-9]+$", "autogeneratePattern": "[a-z0-9]{15}"},
            {"name": "password", "type": "password", "system": true, "hidden": true, "min": 8},
            {"name": "tokenKey", "type": "text", "system": true, "hidden": true},
            {"name": "email", "type": "email", "system": true, "required": true},
            {"name": "emailVisibility", "type": "bool", "system": true},
            {"name": "verified", "type": "bool", "system": true},
            {"name": "name", "type": "text", "system": false, "max": 255},
            {"name": "avatar", "type": "file", "system": false, "maxSelect": 1},
            {"name": "created", "type": "autodate", "onCreate": true, "onUpdate": false},
            {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
        ]
    });
    app.run(&[
        Case::get("users by name", "/api/collections/users")
            .superuser()
            .expect(200, users.clone()),
        Case::get("users by id", "/api/collections/_pb_users_auth_")
            .superuser()
            .expect(200, users),
        Case::get("superusers", "/api/collections/_superusers")
            .superuser()
            .expect(
                200,
                json!({"name": "_superusers", "type": "auth", "system": true}),
            ),
        Case::get(
            "list filtered by name",
            with_query("/api/collections", &[("filter", "name = 'users'")]),
        )
        .superuser()
        .expect(
            200,
            json!({"page": 1, "perPage": 30, "totalItems": 1, "totalPages": 1,
                   "items": [{"id": "_pb_users_auth_", "name": "users", "type": "auth"}]}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn create_and_view_a_collection() {
    let app = TestApp::spawn().await;
    let created = app.create_collection(posts_schema()).await;
    let id = created["id"].as_str().expect("collection id");
    assert!(id.starts_with("pbc_"), "collection id {id}");
    assert_fragment(
        &created,
        &json!({
            "name": "posts",
            "type": "base",
            "system": false,
            "listRule": null, "viewRule": null, "createRule": null,
            "updateRule": null, "deleteRule": null,
            "indexes": [],
            "fields": [
                {"name": "id", "type": "text", "system": true, "primaryKey": true, "required": true,
                 "min": 15, "max": 15, "pattern": "^[a-z0-9]+$",
                 "autogeneratePattern": "[a-z0-9]{15}", "hidden": false},
                {"name": "title", "type": "text", "required": true, "system": false,
                 "min": 0, "max": 0, "pattern": "", "hidden": false, "presentable": false},
                {"name": "views", "type": "number", "required": false, "onlyInt": false,
                 "min": null, "max": null}
            ]
        }),
    );
    // Every field has a stable id.
    for field in created["fields"].as_array().expect("fields") {
        assert!(
            field["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{field}"
        );
    }
    let view = json!({"id": id, "name": "posts"});
    app.run(&[
        Case::get("by name", "/api/collections/posts")
            .superuser()
            .expect(200, view.clone()),
        Case::get("by id", format!("/api/collections/{id}"))
            .superuser()
            .expect(200, view),
        Case::get(
            "listed",
            with_query("/api/collections", &[("filter", "name = 'posts'")]),
        )
        .superuser()
        .expect(
            200,
            json!({"totalItems": 1, "items": [{"id": id, "name": "posts"}]}),
        ),
        Case::get(
            "a new collection is empty",
            "/api/collections/posts/records",
        )
        .superuser()
        .expect(
            200,
            json!({"page": 1, "perPage": 30, "totalItems": 0, "totalPages": 0, "items": []}),
        ),
        Case::post(
            "type defaults to base",
            "/api/collections",
            json!({"name": "plain"}),
        )
        .superuser()
        .expect(
            200,
            json!({"name": "plain", "type": "base", "fields": [{"name": "id"}]}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn invalid_collections_are_refused() {
    let app = TestApp::spawn().await;
    app.create_collection(posts_schema()).await;
    const FAILED: &str = "Failed to create collection.";
    app.run(&[
        Case::post("duplicate name", "/api/collections", posts_schema())
            .superuser()
            .expect(
                400,
                json!({"status": 400, "message": FAILED, "data": {"name": {
                "code": "validation_collection_name_exists",
                "message": "Collection name must be unique (case insensitive)."}}}),
            ),
        Case::post(
            "duplicate name, other case",
            "/api/collections",
            json!({"name": "POSTS", "type": "base"}),
        )
        .superuser()
        .expect(
            400,
            field_error(FAILED, "name", "validation_collection_name_exists"),
        ),
        Case::post(
            "name with a space",
            "/api/collections",
            json!({"name": "bad name!", "type": "base"}),
        )
        .superuser()
        .expect(400, field_error(FAILED, "name", "validation_match_invalid")),
        Case::post(
            "empty name",
            "/api/collections",
            json!({"name": "", "type": "base"}),
        )
        .superuser()
        .expect(400, field_error(FAILED, "name", "validation_required")),
        Case::post(
            "unknown type",
            "/api/collections",
            json!({"name": "things", "type": "nope"}),
        )
        .superuser()
        .expect(400, field_error(FAILED, "type", "validation_in_invalid")),
        Case::post(
            "invalid field name",
            "/api/collections",
            json!({"name": "things", "type": "base",
                   "fields": [{"name": "bad name", "type": "text"}]}),
        )
        .superuser()
        // Index 1: the system `id` field is field 0.
        .expect(
            400,
            json!({"status": 400, "message": FAILED, "data": {"fields": {"1": {
            "name": {"code": "validation_match_invalid"}}}}}),
        ),
        Case::post(
            "unknown field type",
            "/api/collections",
            json!({"name": "things", "type": "base", "fields": [{"name": "x", "type": "wat"}]}),
        )
        .superuser()
        .expect(
            400,
            error(
                400,
                "Failed to load the submitted data due to invalid formatting.",
            ),
        ),
        Case::post(
            "rule naming an unknown field",
            "/api/collections",
            json!({"name": "things", "type": "base", "listRule": "nosuch = 1"}),
        )
        .superuser()
        .expect(
            400,
            field_error(FAILED, "listRule", "validation_invalid_rule"),
        ),
        Case::get("nothing was created", "/api/collections/things")
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::patch(
            "rename onto an existing name",
            "/api/collections/posts",
            json!({"name": "users"}),
        )
        .superuser()
        .expect(
            400,
            field_error(
                "Failed to update collection.",
                "name",
                "validation_collection_name_exists",
            ),
        ),
    ])
    .await;
}

/// The id of the field called `name` in a collection response.
fn field_id(collection: &Value, name: &str) -> String {
    collection["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == name)
        .and_then(|f| f["id"].as_str())
        .unwrap_or_else(|| panic!("no field {name} in {collection}"))
        .to_string()
}

#[tokio::test]
async fn renaming_a_field_keeps_its_data() {
    let app = TestApp::spawn().await;
    let posts = app.create_collection(posts_schema()).await;
    let record = app
        .create_record("posts", json!({"title": "hello", "views": 3}))
        .await;
    let id = record["id"].as_str().unwrap();
    let title_id = field_id(&posts, "title");
    let views_id = field_id(&posts, "views");
    let su = app.superuser_token().await;

    // The same field id under a new name; the `id` system field may be left out (it stays).
    let (status, updated) = app
        .patch(
            "/api/collections/posts",
            Some(&su),
            json!({"fields": [
                {"id": title_id, "name": "headline", "type": "text", "required": true},
                {"id": views_id, "name": "views", "type": "number"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_fragment(
        &updated,
        &json!({"fields": [
            {"name": "id"},
            {"id": title_id, "name": "headline"},
            {"id": views_id, "name": "views"}
        ]}),
    );
    app.run(&[
        Case::get(
            "data follows the field id",
            format!("/api/collections/posts/records/{id}"),
        )
        .superuser()
        .expect(200, json!({"id": id, "headline": "hello", "views": 3}))
        .absent(&["title"]),
        Case::get(
            "the new name filters",
            with_query(
                "/api/collections/posts/records",
                &[("filter", "headline = 'hello'")],
            ),
        )
        .superuser()
        .expect(200, json!({"totalItems": 1})),
        Case::get(
            "the old name does not",
            with_query(
                "/api/collections/posts/records",
                &[("filter", "title = 'hello'")],
            ),
        )
        .superuser()
        .expect(
            400,
            error(400, "Something went wrong while processing your request."),
        ),
    ])
    .await;
}

#[tokio::test]
async fn adding_and_removing_fields() {
    let app = TestApp::spawn().await;
    let posts = app.create_collection(posts_schema()).await;
    let record = app
        .create_record("posts", json!({"title": "hello", "views": 3}))
        .await;
    let id = record["id"].as_str().unwrap();
    let title_id = field_id(&posts, "title");
    let su = app.superuser_token().await;

    // Drop `views`, add `published` and `summary`.
    let (status, updated) = app
        .patch(
            "/api/collections/posts",
            Some(&su),
            json!({"fields": [
                {"id": title_id, "name": "title", "type": "text", "required": true},
                {"name": "published", "type": "bool"},
                {"name": "summary", "type": "text"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_fragment(
        &updated,
        &json!({"fields": [{"name": "id"}, {"name": "title"}, {"name": "published"}, {"name": "summary"}]}),
    );
    app.run(&[
        Case::get(
            "old record: new fields at zero, removed field gone",
            format!("/api/collections/posts/records/{id}"),
        )
        .superuser()
        .expect(
            200,
            json!({"id": id, "title": "hello", "published": false, "summary": ""}),
        )
        .absent(&["views"]),
        Case::post(
            "new record uses the new fields",
            "/api/collections/posts/records",
            json!({"title": "second", "published": true, "summary": "s", "views": 9}),
        )
        .superuser()
        .expect(
            200,
            json!({"title": "second", "published": true, "summary": "s"}),
        )
        .absent(&["views"]),
    ])
    .await;

    // Adding the removed field back starts it from zero.
    let (status, body) = app
        .patch(
            "/api/collections/posts",
            Some(&su),
            json!({"fields": [
                {"id": title_id, "name": "title", "type": "text", "required": true},
                {"name": "published", "type": "bool"},
                {"name": "summary", "type": "text"},
                {"name": "views", "type": "number"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .get(&format!("/api/collections/posts/records/{id}"), Some(&su))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(&body, &json!({"title": "hello", "views": 0}));
}

#[tokio::test]
async fn renaming_a_collection_moves_its_records() {
    let app = TestApp::spawn().await;
    app.create_collection(posts_schema()).await;
    app.create_record("posts", json!({"title": "hello"})).await;
    app.run(&[
        Case::patch(
            "rename",
            "/api/collections/posts",
            json!({"name": "articles"}),
        )
        .superuser()
        .expect(200, json!({"name": "articles"})),
        Case::get("old name is gone", "/api/collections/posts/records")
            .superuser()
            .expect(404, error(404, "Missing collection context.")),
        Case::get(
            "records under the new name",
            "/api/collections/articles/records",
        )
        .superuser()
        .expect(
            200,
            json!({"totalItems": 1, "items": [{"title": "hello", "collectionName": "articles"}]}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn updating_rules() {
    let app = TestApp::spawn().await;
    app.create_collection(posts_schema()).await;
    app.create_record("posts", json!({"title": "hello"})).await;
    app.run(&[
        Case::get("locked by default", "/api/collections/posts/records")
            .expect(403, error(403, "Only superusers can perform this action.")),
        Case::patch(
            "open the list",
            "/api/collections/posts",
            json!({"listRule": ""}),
        )
        .superuser()
        .expect(200, json!({"listRule": "", "viewRule": null})),
        Case::get("now open", "/api/collections/posts/records")
            .expect(200, json!({"totalItems": 1})),
        Case::patch(
            "invalid rule",
            "/api/collections/posts",
            json!({"viewRule": "nosuch = 1"}),
        )
        .superuser()
        .expect(
            400,
            field_error(
                "Failed to update collection.",
                "viewRule",
                "validation_invalid_rule",
            ),
        ),
    ])
    .await;
}

#[tokio::test]
async fn truncate_and_delete() {
    let app = TestApp::spawn().await;
    let posts = app.create_collection(posts_schema()).await;
    let posts_id = posts["id"].as_str().unwrap();
    app.create_collection(json!({
        "name": "comments",
        "type": "base",
        "fields": [{"name": "post", "type": "relation", "collectionId": posts_id, "maxSelect": 1}]
    }))
    .await;
    for title in ["a", "b", "c"] {
        app.create_record("posts", json!({"title": title})).await;
    }
    app.run(&[
        Case::delete("truncate", "/api/collections/posts/truncate")
            .superuser()
            .status(204),
        Case::get("truncated", "/api/collections/posts/records")
            .superuser()
            .expect(200, json!({"totalItems": 0, "items": []})),
        Case::get("the schema stays", "/api/collections/posts")
            .superuser()
            .expect(200, json!({"name": "posts"})),
        Case::delete("referenced by comments", "/api/collections/posts")
            .superuser()
            .expect(400, json!({"status": 400, "data": {}})),
        Case::delete("a system collection", "/api/collections/_superusers")
            .superuser()
            .expect(400, error(400, "Failed to delete collection.")),
        Case::delete("comments", "/api/collections/comments")
            .superuser()
            .status(204),
        Case::delete(
            "posts, now unreferenced",
            format!("/api/collections/{posts_id}"),
        )
        .superuser()
        .status(204),
        Case::get("posts is gone", "/api/collections/posts")
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::get("its records too", "/api/collections/posts/records")
            .superuser()
            .expect(404, error(404, "Missing collection context.")),
        Case::delete("unknown collection", "/api/collections/nosuch")
            .superuser()
            .expect(404, error(404, NOT_FOUND)),
        Case::post("the name is free again", "/api/collections", posts_schema())
            .superuser()
            .expect(200, json!({"name": "posts"})),
    ])
    .await;
}
