//! Schema tools: importing many collections at once, the blank scaffolds, and renames that
//! carry into rules and indexes. Import and scaffolds answer as PocketBase 0.40.6 does; the
//! rule and index rewriting on renames goes beyond it (PocketBase refuses such a rename with
//! a 400 on the rule that still names the old field), so that test runs on Motorbase only.

use serde_json::{json, Value};

use crate::common::{assert_fragment, Case, TestApp};

const IMPORT: &str = "/api/collections/import";
const IMPORT_FAILED: &str = "Failed to import collections.";

fn put(name: &'static str, path: &str, body: Value) -> Case {
    let mut case = Case::post(name, path, body);
    case.method = reqwest::Method::PUT;
    case
}

fn against_peer() -> bool {
    std::env::var_os("MOTORBASE_TEST_BIN").is_some()
}

fn field_names(collection: &Value) -> Vec<String> {
    collection["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields: {collection}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Articles point at authors, which come later in the list; a view over authors comes first.
fn import_body() -> Value {
    json!({"collections": [
        {"id": "pbc_imp_stats", "name": "author_names", "type": "view", "listRule": "",
         "viewQuery": "SELECT id, name FROM authors"},
        {"id": "pbc_imp_articles", "name": "articles", "type": "base", "listRule": "",
         "fields": [
            {"name": "title", "type": "text"},
            {"name": "author", "type": "relation", "collectionId": "pbc_imp_authors", "maxSelect": 1}
         ]},
        {"id": "pbc_imp_authors", "name": "authors", "type": "base", "listRule": "",
         "fields": [{"name": "name", "type": "text"}]}
    ]})
}

#[tokio::test]
async fn import_saves_everything_or_nothing() {
    let app = TestApp::spawn().await;
    let token = app.superuser_token().await;
    app.run(&[
        put("nothing to import", IMPORT, json!({"collections": []}))
            .superuser()
            .expect(
                400,
                json!({"message": "An error occurred while validating the submitted data.",
                       "data": {"collections": {"code": "validation_required"}}}),
            ),
        put("not a list", IMPORT, json!({"collections": "x"}))
            .superuser()
            .expect(
                400,
                json!({"message": "An error occurred while loading the submitted data."}),
            ),
        put("superusers only", IMPORT, import_body()).status(401),
        put("forward references and views", IMPORT, import_body())
            .superuser()
            .status(204),
        Case::get(
            "the view reads the imported table",
            "/api/collections/author_names",
        )
        .superuser()
        .expect(
            200,
            json!({"type": "view", "fields": [{"name": "id"}, {"name": "name", "type": "text"}]}),
        ),
    ])
    .await;

    // Merging: fields the import leaves out stay, unless deleteMissing.
    let (status, body) = app
        .request(
            reqwest::Method::PUT,
            IMPORT,
            Some(&token),
            Some(&json!({"collections": [
                {"id": "pbc_imp_authors", "name": "authors", "fields": [{"name": "bio", "type": "text"}]}
            ]})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, authors) = app.get("/api/collections/authors", Some(&token)).await;
    let mut names = field_names(&authors);
    names.sort();
    assert_eq!(names, ["bio", "id", "name"]);

    // A failing import changes nothing, the collections before the failing one included.
    let failing = json!({"collections": [
        {"name": "brand_new", "type": "base", "fields": [{"name": "x", "type": "text"}]},
        {"id": "pbc_imp_authors", "name": "authors", "fields": [{"name": "bad name", "type": "text"}]}
    ]});
    app.run(&[
        put("a bad field name", IMPORT, failing)
            .superuser()
            .expect(
                400,
                json!({"message": IMPORT_FAILED,
                       "data": {"collections": {"code": "validation_collections_import_failure"}}}),
            ),
        Case::get("the first collection was not kept", "/api/collections/brand_new")
            .superuser()
            .status(404),
        put(
            "a relation to nowhere",
            IMPORT,
            json!({"collections": [{"name": "dangling", "type": "base",
                "fields": [{"name": "r", "type": "relation", "collectionId": "nope", "maxSelect": 1}]}]}),
        )
        .superuser()
        .expect(400, json!({"message": IMPORT_FAILED})),
    ])
    .await;

    // deleteMissing drops the fields and (non-system) collections the import leaves out.
    let (status, body) = app
        .request(
            reqwest::Method::PUT,
            IMPORT,
            Some(&token),
            Some(&json!({"deleteMissing": true, "collections": [
                {"id": "pbc_imp_authors", "name": "authors", "type": "base",
                 "fields": [{"name": "name", "type": "text"}]}
            ]})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, authors) = app.get("/api/collections/authors", Some(&token)).await;
    let mut names = field_names(&authors);
    names.sort();
    assert_eq!(names, ["id", "name"]);
    let (_, list) = app
        .get("/api/collections?perPage=100&fields=name", Some(&token))
        .await;
    let mut all: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    all.sort();
    assert!(
        !all.contains(&"articles") && !all.contains(&"users") && all.contains(&"_superusers"),
        "{all:?}"
    );
}

#[tokio::test]
async fn scaffolds_are_blank_definitions() {
    let app = TestApp::spawn().await;
    let token = app.superuser_token().await;
    let (status, body) = app
        .get("/api/collections/meta/scaffolds", Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    let blank = json!({"id": "", "name": "", "listRule": null, "viewRule": null,
                       "createRule": null, "updateRule": null, "deleteRule": null,
                       "created": "", "updated": "", "system": false});
    for kind in ["base", "auth", "view"] {
        assert_fragment(&body[kind], &blank);
        assert_eq!(body[kind]["type"], kind);
    }
    assert_eq!(field_names(&body["base"]), ["id"]);
    assert_eq!(
        field_names(&body["auth"]),
        [
            "id",
            "password",
            "tokenKey",
            "email",
            "emailVisibility",
            "verified"
        ]
    );
    assert_eq!(body["view"]["fields"], json!([]));
    assert_eq!(body["view"]["viewQuery"], "");
    let indexes = body["auth"]["indexes"].as_array().unwrap();
    assert!(
        indexes[0]
            .as_str()
            .is_some_and(|ix| ix.starts_with("CREATE UNIQUE INDEX `idx_tokenKey_")
                && ix.ends_with("ON `` (`tokenKey`)")),
        "{indexes:?}"
    );
    let secret = body["auth"]["authToken"]
        .as_object()
        .map(|t| t.contains_key("secret"));
    assert_eq!(secret, Some(false));
    let (status, _) = app.get("/api/collections/meta/scaffolds", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn renames_carry_into_rules_and_indexes() {
    if against_peer() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = app.superuser_token().await;
    let writers = app
        .create_collection(json!({
            "name": "writers", "type": "base", "listRule": "",
            "fields": [{"name": "name", "type": "text"}]
        }))
        .await;
    let notes = app
        .create_collection(json!({
            "name": "notes", "type": "base",
            "listRule": "title != '' && writer.name != 'x' && @collection.writers.name ?= 'y'",
            "viewRule": "@request.body.title:isset = false || title ~ 'a'",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "writer", "type": "relation", "collectionId": writers["id"], "maxSelect": 1}
            ],
            "indexes": ["CREATE INDEX idx_notes_title ON notes (title)"]
        }))
        .await;
    let mut writers_rule = writers.clone();
    writers_rule["viewRule"] = json!("notes_via_writer.title ?= 'hello'");
    let (status, body) = app
        .patch(
            "/api/collections/writers",
            Some(&token),
            json!({"viewRule": writers_rule["viewRule"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Rename a field of notes and the collection itself in one save.
    let mut fields = notes["fields"].clone();
    for f in fields.as_array_mut().unwrap() {
        if f["name"] == "title" {
            f["name"] = json!("headline");
        }
    }
    let (status, renamed) = app
        .patch(
            "/api/collections/notes",
            Some(&token),
            json!({"name": "memos", "fields": fields}),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        renamed["listRule"],
        "headline != '' && writer.name != 'x' && @collection.writers.name ?= 'y'"
    );
    assert_eq!(
        renamed["viewRule"],
        "@request.body.headline:isset = false || headline ~ 'a'"
    );
    assert_eq!(
        renamed["indexes"],
        json!(["CREATE INDEX `idx_notes_title` ON `memos` (`headline`)"])
    );
    // Another collection's rule through a back-relation follows too.
    let (_, writers) = app.get("/api/collections/writers", Some(&token)).await;
    assert_eq!(writers["viewRule"], "memos_via_writer.headline ?= 'hello'");

    // Renaming the related field and collection rewrites the paths that reach them.
    let mut fields = writers["fields"].clone();
    for f in fields.as_array_mut().unwrap() {
        if f["name"] == "name" {
            f["name"] = json!("fullName");
        }
    }
    let (status, body) = app
        .patch(
            "/api/collections/writers",
            Some(&token),
            json!({"name": "authors", "fields": fields}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, memos) = app.get("/api/collections/memos", Some(&token)).await;
    assert_eq!(
        memos["listRule"],
        "headline != '' && writer.fullName != 'x' && @collection.authors.fullName ?= 'y'"
    );
    // The records still answer under the rewritten rules.
    let (status, body) = app.get("/api/collections/memos/records", None).await;
    assert_eq!(status, 200, "{body}");
}
