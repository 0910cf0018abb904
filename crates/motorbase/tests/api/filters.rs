use serde_json::{json, Value};

use crate::common::{with_query, Case, TestApp};

const BAD_REQUEST: &str = "Something went wrong while processing your request.";

/// people: ann, bob, cid, dee, with teams and clubs, listed by anyone.
async fn people() -> TestApp {
    let app = TestApp::spawn().await;
    let open = |name: &str, fields: Value| json!({"name": name, "type": "base", "listRule": "", "viewRule": "", "fields": fields});
    let teams = app
        .create_collection(open("teams", json!([{"name": "name", "type": "text"}])))
        .await;
    let clubs = app
        .create_collection(open("clubs", json!([{"name": "name", "type": "text"}])))
        .await;
    app.create_collection(open(
        "people",
        json!([
            {"name": "name", "type": "text"},
            {"name": "nickname", "type": "text"},
            {"name": "age", "type": "number"},
            {"name": "active", "type": "bool"},
            {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
            {"name": "meta", "type": "json"},
            {"name": "born", "type": "date"},
            {"name": "team", "type": "relation", "collectionId": teams["id"], "maxSelect": 1},
            {"name": "clubs", "type": "relation", "collectionId": clubs["id"], "maxSelect": 5}
        ]),
    ))
    .await;
    let red = app.create_record("teams", json!({"name": "red"})).await;
    let chess = app.create_record("clubs", json!({"name": "chess"})).await;
    let go = app.create_record("clubs", json!({"name": "go"})).await;
    let blue = app.create_record("teams", json!({"name": "blue"})).await;
    for person in [
        json!({"id": "ann000000000001", "name": "ann", "nickname": "annie", "age": 30,
               "active": true, "tags": ["a", "b"], "meta": {"kind": "admin", "level": 3},
               "born": "1994-02-03 10:00:00.000Z", "team": red["id"],
               "clubs": [chess["id"], go["id"]]}),
        json!({"id": "bob000000000002", "name": "bob", "nickname": "", "age": 25,
               "active": false, "tags": ["b"], "meta": {"kind": "user", "level": 1},
               "born": "1999-12-31 23:59:59.000Z", "team": red["id"],
               "clubs": [chess["id"]]}),
        json!({"id": "cid000000000003", "name": "cid", "nickname": "cid", "age": 40,
               "active": true, "tags": [], "meta": null, "born": "", "team": ""}),
        json!({"id": "dee000000000004", "name": "dee", "nickname": "Dee Dee", "age": 25,
               "active": false, "tags": ["c", "a", "b"], "meta": {"kind": "user"},
               "born": "2001-06-07 08:09:10.000Z", "team": blue["id"],
               "clubs": [go["id"]]}),
    ] {
        app.create_record("people", person).await;
    }
    app
}

/// A filter and the names it must select, listed by name.
fn selects(filter: &'static str, names: &[&str]) -> Case {
    let items: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    Case::get(
        filter,
        with_query(
            "/api/collections/people/records",
            &[("filter", filter), ("sort", "name"), ("fields", "name")],
        ),
    )
    .expect(200, json!({"totalItems": names.len(), "items": items}))
}

fn refused(filter: &'static str) -> Case {
    Case::get(
        filter,
        with_query("/api/collections/people/records", &[("filter", filter)]),
    )
    .expect(
        400,
        json!({"status": 400, "message": BAD_REQUEST, "data": {}}),
    )
}

#[tokio::test]
async fn comparison_operators() {
    let app = people().await;
    app.run(&[
        selects("", &["ann", "bob", "cid", "dee"]),
        selects("age = 25", &["bob", "dee"]),
        selects("age != 25", &["ann", "cid"]),
        selects("age > 25", &["ann", "cid"]),
        selects("age >= 30", &["ann", "cid"]),
        selects("age < 30", &["bob", "dee"]),
        selects("age <= 30", &["ann", "bob", "dee"]),
        selects("age = 25.0", &["bob", "dee"]),
        selects("name = 'ann'", &["ann"]),
        selects("name = \"ann\"", &["ann"]),
        selects("'ann' = name", &["ann"]),
        selects("name = 'ANN'", &[]),
        selects("id = 'cid000000000003'", &["cid"]),
        // ~ is a case-insensitive "contains"; % and _ wildcards are honoured when given.
        selects("nickname ~ 'ie'", &["ann"]),
        selects("nickname ~ 'DEE'", &["dee"]),
        selects("nickname ~ 'd%e'", &["dee"]),
        selects("nickname !~ 'a'", &["bob", "cid", "dee"]),
        selects("born > '2000-01-01 00:00:00.000Z'", &["dee"]),
        selects("born < @now && born != ''", &["ann", "bob", "dee"]),
    ])
    .await;
}

#[tokio::test]
async fn literals() {
    let app = people().await;
    app.run(&[
        selects("nickname = ''", &["bob"]),
        selects("nickname != ''", &["ann", "cid", "dee"]),
        selects("nickname = null", &["bob"]),
        selects("nickname != null", &["ann", "cid", "dee"]),
        selects("active = true", &["ann", "cid"]),
        selects("active = false", &["bob", "dee"]),
        selects("active != true", &["bob", "dee"]),
        selects("born = ''", &["cid"]),
        selects("born = null", &["cid"]),
        selects("team = ''", &["cid"]),
        selects("1 = 1", &["ann", "bob", "cid", "dee"]),
        selects("1 = 2", &[]),
    ])
    .await;
}

#[tokio::test]
async fn logic_and_grouping() {
    let app = people().await;
    app.run(&[
        selects("age = 25 && active = false", &["bob", "dee"]),
        selects("age = 25 || age = 40", &["bob", "cid", "dee"]),
        selects("(age = 25 || age = 40) && nickname != ''", &["cid", "dee"]),
        selects(
            "age = 25 || (age = 40 && nickname != '')",
            &["bob", "cid", "dee"],
        ),
        selects("age = 30 || age = 40 && active = false", &["ann"]),
        selects("((name = 'ann'))", &["ann"]),
        selects(
            "name = 'ann' || name = 'bob' || name = 'cid'",
            &["ann", "bob", "cid"],
        ),
        selects("age > 20 && age < 35 && active = true", &["ann"]),
        selects("  age   =   25  ", &["bob", "dee"]),
        selects("age = 25 &&\n active = false", &["bob", "dee"]),
    ])
    .await;
}

#[tokio::test]
async fn multi_valued_fields() {
    let app = people().await;
    app.run(&[
        // A bare multi-valued field stands for its stored JSON text (`["a","b"]`), so `=` and
        // `?=` compare with that text and `~` searches it.
        selects("tags ?= 'a'", &[]),
        selects("tags = 'b'", &[]),
        selects("tags = '[\"b\"]'", &["bob"]),
        selects("tags = '[]'", &["cid"]),
        selects("tags = ''", &[]),
        selects("tags != 'b'", &["ann", "bob", "cid", "dee"]),
        selects("tags ?!= 'b'", &["ann", "bob", "cid", "dee"]),
        selects("tags ~ 'a'", &["ann", "dee"]),
        selects("tags ~ '\"b\"'", &["ann", "bob", "dee"]),
        selects("tags ?~ 'c'", &["dee"]),
        selects("tags ?!~ 'b'", &["cid"]),
        // :each compares every value: without `?` all must match, with `?` at least one.
        selects("tags:each = 'b'", &["bob"]),
        selects("tags:each ?= 'a'", &["ann", "dee"]),
        selects("tags:each ?= 'b'", &["ann", "bob", "dee"]),
        selects("tags:each != 'b'", &["cid"]),
        selects("tags:each != 'c'", &["ann", "bob", "cid"]),
        selects("tags:each ?!= 'b'", &["ann", "cid", "dee"]),
        selects("tags:each ~ 'b'", &["bob"]),
        selects("tags:length > 1", &["ann", "dee"]),
        selects("tags:length = 0", &["cid"]),
        selects("tags:length = 3", &["dee"]),
        // Through a multiple relation: without `?` every related record must match.
        selects("clubs.name ?= 'chess'", &["ann", "bob"]),
        selects("clubs.name = 'chess'", &["bob"]),
        // No related record counts as one whose name is not 'chess'.
        selects("clubs.name ?!= 'chess'", &["ann", "cid", "dee"]),
        selects("clubs.name != 'chess'", &["cid", "dee"]),
        selects("clubs.name ?~ 'o'", &["ann", "dee"]),
        selects("clubs:length = 2", &["ann"]),
        // `?` on a single value is an ordinary comparison.
        selects("age ?> 29", &["ann", "cid"]),
        selects("name ?= 'bob'", &["bob"]),
        selects("nickname:lower = 'dee dee'", &["dee"]),
    ])
    .await;
}

#[tokio::test]
async fn json_and_relation_paths() {
    let app = people().await;
    app.run(&[
        selects("meta.kind = 'user'", &["bob", "dee"]),
        selects("meta.kind != 'user'", &["ann", "cid"]),
        selects("meta.level > 1", &["ann"]),
        selects("meta.level = null", &["cid", "dee"]),
        selects("meta.nosuch.deeper = null", &["ann", "bob", "cid", "dee"]),
        selects("team.name = 'red'", &["ann", "bob"]),
        selects("team.name != 'red'", &["cid", "dee"]),
        selects("team.name ~ 'lu'", &["dee"]),
        selects("team.name = 'red' && age > 26", &["ann"]),
    ])
    .await;
}

#[tokio::test]
async fn malformed_filters_are_400() {
    let app = people().await;
    app.run(&[
        refused("age ="),
        refused("age = 25 &&"),
        refused("(age = 25"),
        refused("age = 25)"),
        refused("age == 25"),
        refused("age <> 25"),
        refused("name = 'unterminated"),
        refused("nosuch = 1"),
        refused("team.nosuch = 1"),
        refused("age:nosuch = 1"),
        refused("&&"),
    ])
    .await;
}
