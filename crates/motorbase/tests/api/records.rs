use serde_json::{json, Value};

use crate::common::{assert_fragment, item_values, with_query, Case, TestApp};

const NOT_FOUND: &str = "The requested resource wasn't found.";
const CREATE_FAILED: &str = "Failed to create record.";
const UPDATE_FAILED: &str = "Failed to update record.";

/// Open rules for every action: these tests are about records, not rules.
fn open(name: &str, fields: Value) -> Value {
    json!({
        "name": name,
        "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": fields
    })
}

fn field_error(message: &str, field: &str, code: &str) -> Value {
    json!({"status": 400, "message": message, "data": {field: {"code": code}}})
}

fn is_record_id(id: &str) -> bool {
    id.len() == 15
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `2024-05-06 07:08:09.123Z`
fn is_pb_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

async fn tags_collection(app: &TestApp) -> String {
    let tags = app
        .create_collection(open("tags", json!([{"name": "label", "type": "text"}])))
        .await;
    tags["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_field_type_starts_at_its_zero_value() {
    let app = TestApp::spawn().await;
    let tags = tags_collection(&app).await;
    app.create_collection(open(
        "everything",
        json!([
            {"name": "text", "type": "text"},
            {"name": "number", "type": "number"},
            {"name": "bool", "type": "bool"},
            {"name": "email", "type": "email"},
            {"name": "url", "type": "url"},
            {"name": "editor", "type": "editor"},
            {"name": "date", "type": "date"},
            {"name": "select", "type": "select", "values": ["a", "b"], "maxSelect": 1},
            {"name": "selects", "type": "select", "values": ["a", "b"], "maxSelect": 2},
            {"name": "json", "type": "json"},
            {"name": "relation", "type": "relation", "collectionId": tags, "maxSelect": 1},
            {"name": "relations", "type": "relation", "collectionId": tags, "maxSelect": 5},
            {"name": "file", "type": "file", "maxSelect": 1},
            {"name": "files", "type": "file", "maxSelect": 3},
            {"name": "point", "type": "geoPoint"},
            {"name": "stamp", "type": "autodate", "onCreate": true, "onUpdate": false}
        ]),
    ))
    .await;
    let zero = json!({
        "collectionName": "everything",
        "text": "", "number": 0, "bool": false, "email": "", "url": "", "editor": "",
        "date": "", "select": "", "selects": [], "json": null,
        "relation": "", "relations": [], "file": "", "files": [],
        "point": {"lon": 0, "lat": 0}
    });
    let (status, created) = app
        .post("/api/collections/everything/records", None, json!({}))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_fragment(&created, &zero);
    let id = created["id"].as_str().expect("id");
    assert!(is_record_id(id), "record id {id:?}");
    assert!(
        is_pb_date(created["stamp"].as_str().unwrap_or_default()),
        "autodate {}",
        created["stamp"]
    );
    // A collection created over the API has only the fields it was given: no created/updated.
    for key in ["created", "updated"] {
        assert!(created.get(key).is_none(), "{key} in {created}");
    }
    app.run(&[
        Case::get("view", format!("/api/collections/everything/records/{id}"))
            .expect(200, zero.clone()),
        Case::get("list", "/api/collections/everything/records")
            .expect(200, json!({"totalItems": 1, "items": [zero]})),
    ])
    .await;
}

#[tokio::test]
async fn values_are_normalised() {
    let app = TestApp::spawn().await;
    app.create_collection(open(
        "values",
        json!([
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "flag", "type": "bool"},
            {"name": "when", "type": "date"},
            {"name": "choice", "type": "select", "values": ["a", "b"], "maxSelect": 1},
            {"name": "choices", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
            {"name": "meta", "type": "json"},
            {"name": "point", "type": "geoPoint"}
        ]),
    ))
    .await;
    let path = "/api/collections/values/records";
    app.run(&[
        Case::post(
            "typed values",
            path,
            json!({
                "title": "hi", "n": 1.5, "flag": true, "when": "2024-05-06 07:08:09.123Z",
                "choice": "a", "choices": ["c", "a"], "meta": {"kind": "x", "list": [1, 2]},
                "point": {"lon": 12.5, "lat": -3.25}
            }),
        )
        .expect(
            200,
            json!({
                "title": "hi", "n": 1.5, "flag": true, "when": "2024-05-06 07:08:09.123Z",
                "choice": "a", "choices": ["c", "a"], "meta": {"kind": "x", "list": [1, 2]},
                "point": {"lon": 12.5, "lat": -3.25}
            }),
        ),
        Case::post(
            "dates in other layouts",
            path,
            json!({"when": "2024-05-06T07:08:09Z"}),
        )
        .expect(200, json!({"when": "2024-05-06 07:08:09.000Z"})),
        Case::post("a bare date", path, json!({"when": "2024-05-06"}))
            .expect(200, json!({"when": "2024-05-06 00:00:00.000Z"})),
        Case::post(
            "strings cast to numbers and bools",
            path,
            json!({"n": "7", "flag": "true", "title": 12345}),
        )
        .expect(200, json!({"n": 7, "flag": true, "title": "12345"})),
        Case::post(
            "a single value for a multi select, an array for a single one",
            path,
            json!({"choices": "b", "choice": ["a"]}),
        )
        .expect(200, json!({"choices": ["b"], "choice": "a"})),
        Case::post("json scalars", path, json!({"meta": "plain text"}))
            .expect(200, json!({"meta": "plain text"})),
        Case::post(
            "unknown keys are ignored",
            path,
            json!({"title": "x", "nosuch": 1}),
        )
        .expect(200, json!({"title": "x"}))
        .absent(&["nosuch"]),
    ])
    .await;
}

/// A create or update answers the record as it is stored: reading it back right after gives
/// the same JSON, also for values the database converts on the way in (integral decimals,
/// numbers past 2^53, JSON scalars), for guests and superusers alike.
#[tokio::test]
async fn a_write_answers_what_a_read_then_gives() {
    let app = TestApp::spawn().await;
    app.create_collection(open(
        "stored",
        json!([
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "flag", "type": "bool"},
            {"name": "when", "type": "date"},
            {"name": "meta", "type": "json"},
            {"name": "secret", "type": "text", "hidden": true},
            {"name": "choices", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
            {"name": "point", "type": "geoPoint"},
            {"name": "mail", "type": "email"},
            {"name": "created", "type": "autodate", "onCreate": true},
            {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
        ]),
    ))
    .await;
    let path = "/api/collections/stored/records";
    let admin = app.superuser_token().await;
    let bodies = [
        json!({"title": "plain", "n": 3, "flag": true, "meta": {"a": [1, "x", null]}}),
        json!({"title": "2.0", "n": 2.0, "meta": 2.0, "secret": "s"}),
        json!({"n": 1e16, "meta": 12345678901234567u64}),
        json!({"n": -0.5, "meta": [1.5, 2.0, -0.0]}),
        json!({"n": "7", "flag": "true", "meta": "text", "when": "2024-05-06T07:08:09Z"}),
        json!({"meta": null, "title": "tab\there \"quoted\" é"}),
        json!({"n": 0.30000000000000004, "meta": 1e300, "choices": ["c", "a"]}),
        json!({"n": -9007199254740993i64, "meta": -5, "point": {"lon": 1.5, "lat": -2.0}}),
        json!({"n": 1e-7, "meta": "007", "mail": "a@b.co", "title": "42"}),
        json!({"n": 123456789.125, "meta": true, "flag": 0}),
        json!({"meta": " 12", "title": "0.5"}),
        json!({}),
    ];
    for (i, body) in bodies.iter().enumerate() {
        for token in [None, Some(admin.as_str())] {
            let (status, created) = app.post(path, token, body.clone()).await;
            assert_eq!(status, 200, "create {i}: {created}");
            let one = format!("{path}/{}", created["id"].as_str().unwrap());
            let (_, read) = app.get(&one, token).await;
            assert_eq!(created, read, "create {i} as {token:?}");
            // The same body again, as an update of another record.
            let (_, other) = app.post(path, token, json!({"title": "before"})).await;
            let other = format!("{path}/{}", other["id"].as_str().unwrap());
            let (status, updated) = app.patch(&other, token, body.clone()).await;
            assert_eq!(status, 200, "update {i}: {updated}");
            let (_, read) = app.get(&other, token).await;
            assert_eq!(updated, read, "update {i} as {token:?}");
        }
    }
}

#[tokio::test]
async fn validation_errors() {
    let app = TestApp::spawn().await;
    app.create_collection(json!({
        "name": "checked",
        "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
        "fields": [
            {"name": "title", "type": "text", "required": true, "min": 3, "max": 10},
            {"name": "code", "type": "text", "pattern": "^[a-z]+$"},
            {"name": "n", "type": "number", "onlyInt": true, "min": 1, "max": 100},
            {"name": "email", "type": "email"},
            {"name": "site", "type": "url"},
            {"name": "choice", "type": "select", "values": ["a", "b"], "maxSelect": 1},
            {"name": "choices", "type": "select", "values": ["a", "b", "c"], "maxSelect": 2},
            {"name": "slug", "type": "text"},
            {"name": "done", "type": "bool", "required": true}
        ],
        "indexes": ["CREATE UNIQUE INDEX idx_checked_slug ON checked (slug)"]
    }))
    .await;
    let path = "/api/collections/checked/records";
    let ok = |extra: Value| {
        let mut body = json!({"title": "valid", "done": true});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let first = app
        .create_record("checked", ok(json!({"slug": "taken"})))
        .await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let second = app
        .create_record("checked", ok(json!({"slug": "free"})))
        .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    app.run(&[
        Case::post("required fields", path, json!({})).expect(
            400,
            json!({"status": 400, "message": CREATE_FAILED, "data": {
                "title": {"code": "validation_required", "message": "Cannot be blank."},
                "done": {"code": "validation_required", "message": "Cannot be blank."}
            }}),
        ),
        Case::post(
            "a required bool must be true",
            path,
            json!({"title": "valid", "done": false}),
        )
        .expect(
            400,
            field_error(CREATE_FAILED, "done", "validation_required"),
        ),
        Case::post("text too short", path, ok(json!({"title": "ab"}))).expect(
            400,
            json!({"data": {"title": {
                "code": "validation_min_text_constraint",
                "message": "Must be at least 3 character(s).",
                "params": {"min": 3}}}}),
        ),
        Case::post("text too long", path, ok(json!({"title": "abcdefghijk"}))).expect(
            400,
            json!({"data": {"title": {
                "code": "validation_max_text_constraint",
                "message": "Must be no more than 10 character(s).",
                "params": {"max": 10}}}}),
        ),
        Case::post("pattern", path, ok(json!({"code": "ABC"}))).expect(
            400,
            json!({"data": {"code": {
                "code": "validation_invalid_format", "message": "Invalid value format."}}}),
        ),
        Case::post("only integers", path, ok(json!({"n": 1.5}))).expect(
            400,
            json!({"data": {"n": {
                "code": "validation_only_int_constraint",
                "message": "Decimal numbers are not allowed."}}}),
        ),
        Case::post("number above max", path, ok(json!({"n": 101}))).expect(
            400,
            json!({"data": {"n": {
                "code": "validation_max_number_constraint",
                "message": "Must be less or equal than 100.", "params": {"max": 100}}}}),
        ),
        Case::post("number below min", path, ok(json!({"n": -5}))).expect(
            400,
            json!({"data": {"n": {
                "code": "validation_min_number_constraint",
                "message": "Must be greater or equal than 1.", "params": {"min": 1}}}}),
        ),
        Case::post(
            "zero is not checked against min when not required",
            path,
            ok(json!({"n": 0})),
        )
        .expect(200, json!({"n": 0})),
        Case::post("email", path, ok(json!({"email": "nope"}))).expect(
            400,
            json!({"data": {"email": {
                "code": "validation_is_email", "message": "Must be a valid email address."}}}),
        ),
        Case::post("url", path, ok(json!({"site": "nope"}))).expect(
            400,
            json!({"data": {"site": {
                "code": "validation_invalid_url", "message": "Must be a valid url."}}}),
        ),
        Case::post("select value not allowed", path, ok(json!({"choice": "z"}))).expect(
            400,
            json!({"data": {"choice": {
                "code": "validation_invalid_value", "message": "Invalid value z.",
                "params": {"value": "z"}}}}),
        ),
        Case::post(
            "too many selected",
            path,
            ok(json!({"choices": ["a", "b", "c"]})),
        )
        .expect(
            400,
            json!({"data": {"choices": {
                "code": "validation_too_many_values", "message": "Select no more than 2.",
                "params": {"maxSelect": 2}}}}),
        ),
        Case::post("unique index", path, ok(json!({"slug": "taken"}))).expect(
            400,
            json!({"status": 400, "message": CREATE_FAILED, "data": {"slug": {
                "code": "validation_not_unique", "message": "Value must be unique."}}}),
        ),
        Case::patch(
            "update validation",
            format!("{path}/{first_id}"),
            json!({"title": "ab"}),
        )
        .expect(
            400,
            field_error(UPDATE_FAILED, "title", "validation_min_text_constraint"),
        ),
        Case::patch(
            "a record keeps its own unique value",
            format!("{path}/{first_id}"),
            json!({"slug": "taken", "title": "renamed"}),
        )
        .expect(200, json!({"slug": "taken", "title": "renamed"})),
        Case::patch(
            "update into a unique clash",
            format!("{path}/{second_id}"),
            json!({"slug": "taken"}),
        )
        .expect(
            400,
            json!({"status": 400, "message": UPDATE_FAILED, "data": {"slug": {
                "code": "validation_not_unique", "message": "Value must be unique."}}}),
        ),
        Case::get(
            "failed writes changed nothing",
            with_query(path, &[("filter", "slug != 'taken'")]),
        )
        .expect(200, json!({"totalItems": 2})),
    ])
    .await;
}

#[tokio::test]
async fn record_ids() {
    let app = TestApp::spawn().await;
    app.create_collection(open("notes", json!([{"name": "body", "type": "text"}])))
        .await;
    let path = "/api/collections/notes/records";
    app.run(&[
        Case::post(
            "client-chosen id",
            path,
            json!({"id": "abcdefghij12345", "body": "x"}),
        )
        .expect(200, json!({"id": "abcdefghij12345", "body": "x"})),
        Case::get("found by it", format!("{path}/abcdefghij12345"))
            .expect(200, json!({"id": "abcdefghij12345"})),
        Case::post("taken id", path, json!({"id": "abcdefghij12345"})).expect(
            400,
            json!({"status": 400, "message": CREATE_FAILED, "data": {"id": {
                "code": "validation_not_unique", "message": "Value must be unique."}}}),
        ),
        Case::post("too short", path, json!({"id": "short"})).expect(
            400,
            json!({"data": {"id": {
                "code": "validation_min_text_constraint",
                "message": "Must be at least 15 character(s).", "params": {"min": 15}}}}),
        ),
        Case::post("too long", path, json!({"id": "abcdefghij123456"})).expect(
            400,
            json!({"data": {"id": {
                "code": "validation_max_text_constraint", "params": {"max": 15}}}}),
        ),
        Case::post("upper case", path, json!({"id": "ABCDEFGHIJ12345"})).expect(
            400,
            field_error(CREATE_FAILED, "id", "validation_invalid_format"),
        ),
        Case::post("punctuation", path, json!({"id": "abc-efghij12345"})).expect(
            400,
            field_error(CREATE_FAILED, "id", "validation_invalid_format"),
        ),
    ])
    .await;
    let (status, body) = app.post(path, None, json!({"id": ""})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        is_record_id(body["id"].as_str().unwrap_or_default()),
        "an empty id is generated: {body}"
    );
}

#[tokio::test]
async fn crud() {
    let app = TestApp::spawn().await;
    app.create_collection(open(
        "notes",
        json!([{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]),
    ))
    .await;
    let path = "/api/collections/notes/records";
    let created = app
        .create_record("notes", json!({"title": "first", "n": 1}))
        .await;
    let id = created["id"].as_str().unwrap();
    let one = format!("{path}/{id}");
    app.run(&[
        Case::get("view", &one).expect(
            200,
            json!({"id": id, "collectionId": created["collectionId"], "collectionName": "notes",
                   "title": "first", "n": 1}),
        ),
        // Collection names in URLs match whatever their case; ids match exactly.
        Case::get(
            "by a name in capitals",
            format!("/api/collections/NoTeS/records/{id}"),
        )
        .expect(200, json!({"id": id, "collectionName": "notes"})),
        Case::get(
            "by the collection id",
            format!(
                "/api/collections/{}/records/{id}",
                created["collectionId"].as_str().unwrap()
            ),
        )
        .expect(200, json!({"id": id, "collectionName": "notes"})),
        Case::patch(
            "partial update keeps the other fields",
            &one,
            json!({"n": 2}),
        )
        .expect(200, json!({"id": id, "title": "first", "n": 2})),
        Case::patch(
            "the id cannot change",
            &one,
            json!({"id": "abcdefghij12345", "n": 3}),
        )
        .status(400),
        Case::get("after the updates", &one)
            .expect(200, json!({"id": id, "title": "first", "n": 2})),
        Case::delete("delete", &one).status(204),
        Case::get("gone", &one).expect(
            404,
            json!({"status": 404, "message": NOT_FOUND, "data": {}}),
        ),
        Case::delete("delete again", &one).expect(
            404,
            json!({"status": 404, "message": NOT_FOUND, "data": {}}),
        ),
        Case::patch("update the deleted", &one, json!({"n": 5})).expect(
            404,
            json!({"status": 404, "message": NOT_FOUND, "data": {}}),
        ),
        Case::get("list is empty", path).expect(200, json!({"totalItems": 0, "items": []})),
    ])
    .await;
}

#[tokio::test]
async fn modifiers() {
    let app = TestApp::spawn().await;
    let tags = tags_collection(&app).await;
    let t1 = app.create_record("tags", json!({"label": "one"})).await;
    let t2 = app.create_record("tags", json!({"label": "two"})).await;
    let (t1, t2) = (t1["id"].as_str().unwrap(), t2["id"].as_str().unwrap());
    app.create_collection(open(
        "posts",
        json!([
            {"name": "views", "type": "number"},
            {"name": "tags", "type": "select", "values": ["a", "b", "c", "d"], "maxSelect": 4},
            {"name": "refs", "type": "relation", "collectionId": tags, "maxSelect": 5}
        ]),
    ))
    .await;
    let post = app
        .create_record("posts", json!({"views": 5, "tags": ["b"]}))
        .await;
    let one = format!(
        "/api/collections/posts/records/{}",
        post["id"].as_str().unwrap()
    );
    app.run(&[
        Case::patch("views+", &one, json!({"views+": 3})).expect(200, json!({"views": 8})),
        Case::patch("views- may go negative", &one, json!({"views-": 10}))
            .expect(200, json!({"views": -2})),
        Case::patch("tags+ a single value appends", &one, json!({"tags+": "c"}))
            .expect(200, json!({"tags": ["b", "c"]})),
        Case::patch("+tags prepends", &one, json!({"+tags": ["a"]}))
            .expect(200, json!({"tags": ["a", "b", "c"]})),
        Case::patch("tags- removes", &one, json!({"tags-": ["b", "c"]}))
            .expect(200, json!({"tags": ["a"]})),
        Case::patch(
            "tags+ an existing value keeps it once",
            &one,
            json!({"tags+": ["a"]}),
        )
        .expect(200, json!({"tags": ["a"]})),
        Case::patch("relations: refs+", &one, json!({"refs+": [t1, t2]}))
            .expect(200, json!({"refs": [t1, t2]})),
        Case::patch("relations: refs-", &one, json!({"refs-": t1}))
            .expect(200, json!({"refs": [t2]})),
        Case::patch(
            "relations: refs+ a missing record",
            &one,
            json!({"refs+": "nosuchrecord123"}),
        )
        .expect(
            400,
            json!({"status": 400, "message": UPDATE_FAILED, "data": {"refs": {
                "code": "validation_missing_rel_records",
                "message": "Failed to find all relation records with the provided ids."}}}),
        ),
        Case::post(
            "modifiers on create",
            "/api/collections/posts/records",
            json!({"views+": 3, "tags+": "a"}),
        )
        .expect(200, json!({"views": 3, "tags": ["a"]})),
    ])
    .await;
}

#[tokio::test]
async fn deleting_a_referenced_record() {
    let app = TestApp::spawn().await;
    let tags = tags_collection(&app).await;
    let authors = app
        .create_collection(open("authors", json!([{"name": "name", "type": "text"}])))
        .await;
    let authors = authors["id"].as_str().unwrap();
    app.create_collection(open(
        "posts",
        json!([
            {"name": "title", "type": "text"},
            {"name": "author", "type": "relation", "collectionId": authors, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "tags", "type": "relation", "collectionId": tags, "maxSelect": 5}
        ]),
    ))
    .await;
    app.create_collection(open(
        "notes",
        json!([{"name": "author", "type": "relation", "collectionId": authors, "maxSelect": 1,
                "required": true}]),
    ))
    .await;
    let ann = app.create_record("authors", json!({"name": "Ann"})).await;
    let bob = app.create_record("authors", json!({"name": "Bob"})).await;
    let (ann, bob) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let t1 = app.create_record("tags", json!({"label": "one"})).await;
    let t2 = app.create_record("tags", json!({"label": "two"})).await;
    let (t1, t2) = (t1["id"].as_str().unwrap(), t2["id"].as_str().unwrap());
    let by_ann = app
        .create_record("posts", json!({"title": "p1", "author": ann}))
        .await;
    let tagged = app
        .create_record("posts", json!({"title": "p2", "tags": [t1, t2]}))
        .await;
    let note = app.create_record("notes", json!({"author": bob})).await;
    let posts = "/api/collections/posts/records";
    app.run(&[
        Case::post("a relation to a missing record", posts,
            json!({"title": "bad", "author": "nosuchrecord123"}))
            .expect(400, json!({"status": 400, "message": CREATE_FAILED, "data": {"author": {
                "code": "validation_missing_rel_records"}}})),
        Case::delete("cascade: delete Ann", format!("/api/collections/authors/records/{ann}"))
            .status(204),
        Case::get("her post went with her", format!("{posts}/{}", by_ann["id"].as_str().unwrap()))
            .expect(404, json!({"message": NOT_FOUND})),
        Case::delete("a required reference blocks the delete",
            format!("/api/collections/authors/records/{bob}"))
            .expect(400, json!({"status": 400, "data": {}, "message":
                "Failed to delete record. Make sure that the record is not part of a required relation reference."})),
        Case::get("Bob's note stays", format!("/api/collections/notes/records/{}",
            note["id"].as_str().unwrap()))
            .expect(200, json!({"author": bob})),
        Case::delete("an optional reference is cleared",
            format!("/api/collections/tags/records/{t1}"))
            .status(204),
        Case::get("the tag is gone from the post", format!("{posts}/{}",
            tagged["id"].as_str().unwrap()))
            .expect(200, json!({"tags": [t2]})),
    ])
    .await;
}

#[tokio::test]
async fn paging() {
    let app = TestApp::spawn().await;
    app.create_collection(open("items", json!([{"name": "n", "type": "number"}])))
        .await;
    for n in 1..=5 {
        app.create_record("items", json!({"n": n})).await;
    }
    let list = |params: &[(&str, &str)]| {
        let mut all = vec![("sort", "n")];
        all.extend_from_slice(params);
        with_query("/api/collections/items/records", &all)
    };
    app.run(&[
        Case::get("defaults", list(&[])).expect(
            200,
            json!({"page": 1, "perPage": 30, "totalItems": 5, "totalPages": 1}),
        ),
        Case::get("page 1 of 3", list(&[("perPage", "2")])).expect(
            200,
            json!({"page": 1, "perPage": 2, "totalItems": 5, "totalPages": 3,
                                "items": [{"n": 1}, {"n": 2}]}),
        ),
        Case::get("page 3 of 3", list(&[("perPage", "2"), ("page", "3")])).expect(
            200,
            json!({"page": 3, "perPage": 2, "totalItems": 5, "totalPages": 3,
                                "items": [{"n": 5}]}),
        ),
        Case::get("past the end", list(&[("perPage", "2"), ("page", "9")])).expect(
            200,
            json!({"page": 9, "perPage": 2, "totalItems": 5, "totalPages": 3,
                                "items": []}),
        ),
        Case::get("perPage is capped at 1000", list(&[("perPage", "5000")]))
            .expect(200, json!({"perPage": 1000, "totalItems": 5})),
        Case::get(
            "perPage=0 and page=0 fall back to the defaults",
            list(&[("perPage", "0"), ("page", "0")]),
        )
        .expect(200, json!({"page": 1, "perPage": 30, "totalItems": 5})),
        Case::get(
            "negative values too",
            list(&[("perPage", "-5"), ("page", "-1")]),
        )
        .expect(200, json!({"page": 1, "perPage": 30})),
        Case::get("skipTotal", list(&[("skipTotal", "1"), ("perPage", "2")])).expect(
            200,
            json!({"page": 1, "perPage": 2, "totalItems": -1, "totalPages": -1,
                                "items": [{"n": 1}, {"n": 2}]}),
        ),
        Case::get(
            "skipTotal=true past the end",
            list(&[("skipTotal", "true"), ("page", "5")]),
        )
        .expect(
            200,
            json!({"page": 5, "totalItems": -1, "totalPages": -1, "items": []}),
        ),
        Case::get("page that is not a number", list(&[("page", "abc")])).expect(
            400,
            json!({"status": 400,
                "message": "Something went wrong while processing your request."}),
        ),
        Case::get("perPage that is not a number", list(&[("perPage", "abc")])).status(400),
    ])
    .await;
}

/// Totals are remembered between requests until the next commit: every kind of write must show
/// in the very next listing's total.
#[tokio::test]
async fn totals_follow_every_write() {
    let app = TestApp::spawn().await;
    app.create_collection(open("items", json!([{"name": "n", "type": "number"}])))
        .await;
    let token = app.superuser_token().await;
    let total = |filter: &'static str| {
        let app = &app;
        async move {
            let url = with_query("/api/collections/items/records", &[("filter", filter)]);
            let (status, body) = app.get(&url, None).await;
            assert_eq!(status, 200, "{body}");
            body["totalItems"].as_i64().expect("totalItems")
        }
    };
    assert_eq!((total("").await, total("n > 5").await), (0, 0));
    let a = app.create_record("items", json!({"n": 1})).await;
    assert_eq!((total("").await, total("n > 5").await), (1, 0));
    let id = a["id"].as_str().expect("id");
    let (status, _) = app
        .patch(
            &format!("/api/collections/items/records/{id}"),
            Some(&token),
            json!({"n": 9}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!((total("").await, total("n > 5").await), (1, 1));
    app.enable_batch(json!({"enabled": true})).await;
    let (status, _) = app
        .post(
            "/api/batch",
            Some(&token),
            json!({"requests": [
                {"method": "POST", "url": "/api/collections/items/records", "body": {"n": 7}},
                {"method": "POST", "url": "/api/collections/items/records", "body": {"n": 2}}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!((total("").await, total("n > 5").await), (3, 2));
    app.delete_record("items", id).await;
    assert_eq!((total("").await, total("n > 5").await), (2, 1));
}

/// Deep pages in the default order start from remembered positions (every 256th row): every
/// page must hold exactly the rows that plain counting would give, in both directions, under a
/// filter, and again after rows are deleted.
#[tokio::test]
async fn deep_pages_in_default_order() {
    let app = TestApp::spawn().await;
    app.create_collection(open("items", json!([{"name": "n", "type": "number"}])))
        .await;
    let token = app.superuser_token().await;
    app.enable_batch(json!({"enabled": true, "maxRequests": 1000}))
        .await;
    let mut ids = vec![];
    for chunk in (1..=700).collect::<Vec<i64>>().chunks(350) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|n| json!({"method": "POST", "url": "/api/collections/items/records", "body": {"n": n}}))
            .collect();
        let (status, body) = app
            .post("/api/batch", Some(&token), json!({ "requests": requests }))
            .await;
        assert_eq!(status, 200, "{body}");
        for r in body.as_array().expect("batch results") {
            ids.push(r["body"]["id"].as_str().expect("id").to_string());
        }
    }
    let page = |query: String| {
        let app = &app;
        async move {
            let (status, body) = app
                .get(&format!("/api/collections/items/records?{query}"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|r| r["n"].as_i64().expect("n"))
                .collect::<Vec<_>>()
        }
    };
    // Ascending: page 27 of 25 per page starts at position 650.
    assert_eq!(
        page("perPage=25&page=27".into()).await,
        (651..=675).collect::<Vec<_>>()
    );
    // Across an anchor boundary (positions 250..=269).
    assert_eq!(
        page("perPage=10&page=26&skipTotal=1".into()).await,
        (251..=260).collect::<Vec<_>>()
    );
    assert_eq!(
        page("perPage=10&page=27&skipTotal=1".into()).await,
        (261..=270).collect::<Vec<_>>()
    );
    // Descending, and under a filter (positions count matching rows only).
    assert_eq!(
        page("perPage=5&page=61&sort=-@rowid".into()).await,
        (396..=400).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        page("perPage=10&page=27&filter=n%3E300".into()).await,
        (561..=570).collect::<Vec<_>>()
    );
    // Past the end.
    assert!(page("perPage=100&page=8".into()).await.is_empty());
    // Deleting the first 100 rows moves every later page.
    for id in &ids[..100] {
        app.delete_record("items", id).await;
    }
    assert_eq!(
        page("perPage=25&page=21".into()).await,
        (601..=625).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn sorting() {
    let app = TestApp::spawn().await;
    app.create_collection(open(
        "items",
        json!([{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]),
    ))
    .await;
    for (title, n) in [("b", 2), ("a", 2), ("c", 1), ("d", 3)] {
        app.create_record("items", json!({"title": title, "n": n}))
            .await;
    }
    let su = app.superuser_token().await;
    let order = |sort: &'static str| {
        let app = &app;
        let su = su.clone();
        async move {
            let path = with_query("/api/collections/items/records", &[("sort", sort)]);
            let (status, body) = app.get(&path, Some(&su)).await;
            assert_eq!(status, 200, "sort={sort}: {body}");
            item_values(&body, "title")
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(order("title").await, ["a", "b", "c", "d"]);
    assert_eq!(order("+title").await, ["a", "b", "c", "d"]);
    assert_eq!(order("-title").await, ["d", "c", "b", "a"]);
    assert_eq!(order("n,title").await, ["c", "a", "b", "d"]);
    assert_eq!(order("-n,-title").await, ["d", "b", "a", "c"]);
    assert_eq!(order("-n, title").await, ["d", "a", "b", "c"]);
    app.run(&[Case::get(
        "an unknown sort field",
        with_query("/api/collections/items/records", &[("sort", "nosuch")]),
    )
    .expect(
        400,
        json!({"status": 400,
        "message": "Something went wrong while processing your request.", "data": {}}),
    )])
    .await;
}

#[tokio::test]
async fn expand_and_fields() {
    let app = TestApp::spawn().await;
    let countries = app
        .create_collection(open("countries", json!([{"name": "name", "type": "text"}])))
        .await;
    let authors = app
        .create_collection(open(
            "authors",
            json!([
                {"name": "name", "type": "text"},
                {"name": "country", "type": "relation",
                 "collectionId": countries["id"], "maxSelect": 1}
            ]),
        ))
        .await;
    let tags = tags_collection(&app).await;
    app.create_collection(open(
        "posts",
        json!([
            {"name": "title", "type": "text"},
            {"name": "body", "type": "text"},
            {"name": "author", "type": "relation", "collectionId": authors["id"], "maxSelect": 1},
            {"name": "tags", "type": "relation", "collectionId": tags, "maxSelect": 5}
        ]),
    ))
    .await;
    let nl = app.create_record("countries", json!({"name": "NL"})).await;
    let ann = app
        .create_record("authors", json!({"name": "Ann", "country": nl["id"]}))
        .await;
    let t1 = app.create_record("tags", json!({"label": "one"})).await;
    let t2 = app.create_record("tags", json!({"label": "two"})).await;
    let post = app
        .create_record(
            "posts",
            json!({"title": "hello", "body": "long body", "author": ann["id"],
                   "tags": [t2["id"], t1["id"]]}),
        )
        .await;
    let bare = app.create_record("posts", json!({"title": "bare"})).await;
    let one = format!(
        "/api/collections/posts/records/{}",
        post["id"].as_str().unwrap()
    );
    let bare_one = format!(
        "/api/collections/posts/records/{}",
        bare["id"].as_str().unwrap()
    );
    app.run(&[
        Case::get("no expand by default", &one)
            .expect(200, json!({"author": ann["id"]}))
            .absent(&["expand"]),
        Case::get("single", with_query(&one, &[("expand", "author")])).expect(
            200,
            json!({"author": ann["id"], "expand": {"author": {
                "id": ann["id"], "name": "Ann", "collectionName": "authors"}}}),
        ),
        Case::get(
            "multi keeps the stored order",
            with_query(&one, &[("expand", "tags")]),
        )
        .expect(
            200,
            json!({"expand": {"tags": [{"label": "two"}, {"label": "one"}]}}),
        ),
        Case::get("nested", with_query(&one, &[("expand", "author.country")])).expect(
            200,
            json!({"expand": {"author": {"name": "Ann",
                "expand": {"country": {"name": "NL"}}}}}),
        ),
        Case::get("several", with_query(&one, &[("expand", "author,tags")])).expect(
            200,
            json!({"expand": {"author": {"name": "Ann"},
                "tags": [{"label": "two"}, {"label": "one"}]}}),
        ),
        Case::get(
            "an empty relation expands to an empty object",
            with_query(&bare_one, &[("expand", "author,tags")]),
        )
        .expect(200, json!({"title": "bare", "expand": {}})),
        Case::get(
            "an unknown relation is ignored",
            with_query(&one, &[("expand", "nosuch")]),
        )
        .expect(200, json!({"title": "hello"}))
        .absent(&["expand"]),
        Case::get(
            "expand in a list",
            with_query(
                "/api/collections/posts/records",
                &[("expand", "author"), ("filter", "title = 'hello'")],
            ),
        )
        .expect(
            200,
            json!({"items": [{"expand": {"author": {"name": "Ann"}}}]}),
        ),
        Case::get("fields", with_query(&one, &[("fields", "id,title")]))
            .expect(200, json!({"id": post["id"], "title": "hello"}))
            .absent(&["body", "author", "collectionName", "collectionId"]),
        Case::get(
            "fields in a list",
            with_query(
                "/api/collections/posts/records",
                &[("fields", "title"), ("sort", "title")],
            ),
        )
        .expect(
            200,
            json!({"page": 1, "totalItems": 2,
                "items": [{"title": "bare"}, {"title": "hello"}]}),
        )
        .absent(&["id", "body"]),
        Case::get(
            "fields with expand",
            with_query(
                &one,
                &[("expand", "author"), ("fields", "title,expand.author.name")],
            ),
        )
        .expect(
            200,
            json!({"title": "hello", "expand": {"author": {"name": "Ann"}}}),
        )
        .absent(&["body", "id"]),
        Case::get(
            "fields with a wildcard",
            with_query(&one, &[("fields", "*")]),
        )
        .expect(
            200,
            json!({"id": post["id"], "title": "hello", "body": "long body"}),
        ),
        Case::get(
            "excerpt",
            with_query(&one, &[("fields", "body:excerpt(4)")]),
        )
        .expect(200, json!({"body": "long"}))
        .absent(&["title"]),
    ])
    .await;
}

/// Records acknowledged under concurrent load are all there after the server is killed with
/// SIGKILL, and the write-ahead log did not grow with the data: it keeps starting over (its file
/// is never bigger than the longest stretch between two restarts, well under the 24 MB written).
/// Batches keep the writer busy, one transaction after another.
#[tokio::test]
async fn acknowledged_writes_survive_a_crash_and_the_wal_stays_small() {
    const WRITERS: usize = 8;
    const BATCHES: usize = 15;
    const EACH: usize = 50;
    let mut app = TestApp::spawn().await;
    app.create_collection(open(
        "notes",
        json!([{"name": "n", "type": "number"}, {"name": "body", "type": "text"}]),
    ))
    .await;
    app.enable_batch(json!({"enabled": true, "maxRequests": EACH}))
        .await;
    let token = app.superuser_token().await;
    let body = "x".repeat(4000);
    let (app_ref, token) = (&app, token.as_str());
    let writers = (0..WRITERS).map(|w| {
        let body = body.clone();
        async move {
            let mut ids = Vec::new();
            for b in 0..BATCHES {
                let first = (w * BATCHES + b) * EACH;
                let requests: Vec<Value> = (first..first + EACH)
                    .map(|n| {
                        json!({"method": "POST", "url": "/api/collections/notes/records",
                                    "body": {"n": n, "body": body}})
                    })
                    .collect();
                let (status, answers) = app_ref
                    .post("/api/batch", Some(token), json!({ "requests": requests }))
                    .await;
                assert_eq!(status, 200, "{answers}");
                for (n, answer) in (first..).zip(answers.as_array().expect("answers")) {
                    assert_eq!(answer["status"], json!(200), "{answer}");
                    let id = answer["body"]["id"].as_str().expect("id");
                    ids.push((id.to_string(), n));
                }
            }
            ids
        }
    });
    let acked: Vec<(String, usize)> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(acked.len(), WRITERS * BATCHES * EACH);
    let wal = std::fs::metadata(app.data_dir().join("data.db-wal")).map_or(0, |m| m.len());
    assert!(wal < 16 << 20, "data.db-wal is {wal} bytes");

    app.kill_and_restart().await;
    let (status, list) = app
        .get("/api/collections/notes/records?perPage=1", None)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalItems"], json!(acked.len()));
    for (id, n) in acked.iter().step_by(97) {
        let (status, rec) = app
            .get(&format!("/api/collections/notes/records/{id}"), None)
            .await;
        assert_eq!(status, 200, "{rec}");
        assert_eq!(rec["n"], json!(n));
        assert_eq!(rec["body"].as_str().map(str::len), Some(4000));
    }
}
