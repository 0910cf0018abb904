//! Relations in depth: back-relations in filters and expand, nested expand levels, stored
//! order, `@collection` joins with aliases and sorting through relations (checked against
//! PocketBase 0.40.6).

use serde_json::{json, Value};

use crate::common::{item_values, with_query, Case, TestApp};

fn open(name: &str, fields: Value) -> Value {
    json!({
        "name": name, "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": fields
    })
}

/// users Ann and bob; posts p1 (Ann; tags t3, t1), p2 (bob; t2), p3 (no author, no tags);
/// comments c1..c3 on p1 and z on p2; one note per post at most (unique index).
async fn blog(app: &TestApp) {
    for (id, name) in [("user00000000ann", "Ann"), ("user00000000bob", "bob")] {
        app.create_record(
            "users",
            json!({"id": id, "email": format!("{id}@example.com"), "password": "Password123",
                   "passwordConfirm": "Password123", "name": name}),
        )
        .await;
    }
    let tags = app
        .create_collection(open("tags", json!([{"name": "label", "type": "text"}])))
        .await;
    let posts = app
        .create_collection(open(
            "posts",
            json!([
                {"name": "title", "type": "text"},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "tags", "type": "relation", "collectionId": tags["id"], "maxSelect": 5}
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
    let mut notes = open(
        "notes",
        json!([
            {"name": "note", "type": "text"},
            {"name": "post", "type": "relation", "collectionId": posts["id"], "maxSelect": 1}
        ]),
    );
    notes["indexes"] = json!(["CREATE UNIQUE INDEX idx_notes_post ON notes (post)"]);
    app.create_collection(notes).await;
    for (id, label) in [
        ("tag000000000001", "one"),
        ("tag000000000002", "two"),
        ("tag000000000003", "three"),
    ] {
        app.create_record("tags", json!({"id": id, "label": label}))
            .await;
    }
    for (id, title, author, tags) in [
        (
            "post00000000001",
            "first",
            "user00000000ann",
            json!(["tag000000000003", "tag000000000001"]),
        ),
        (
            "post00000000002",
            "second",
            "user00000000bob",
            json!(["tag000000000002"]),
        ),
        ("post00000000003", "third", "", json!([])),
    ] {
        app.create_record(
            "posts",
            json!({"id": id, "title": title, "author": author, "tags": tags}),
        )
        .await;
    }
    for (id, text, post) in [
        ("comment00000001", "c1", "post00000000001"),
        ("comment00000002", "c2", "post00000000001"),
        ("comment00000003", "c3", "post00000000001"),
        ("comment00000004", "z", "post00000000002"),
    ] {
        app.create_record("comments", json!({"id": id, "text": text, "post": post}))
            .await;
    }
    app.create_record(
        "notes",
        json!({"id": "note00000000001", "note": "hello", "post": "post00000000002"}),
    )
    .await;
}

fn ids(values: &[&str]) -> Value {
    Value::Array(values.iter().map(|id| json!({"id": id})).collect())
}

fn filtered(name: &'static str, filter: &str, expected: &[&str]) -> Case {
    Case::get(
        name,
        with_query(
            "/api/collections/posts/records",
            &[("filter", filter), ("fields", "id"), ("sort", "id")],
        ),
    )
    .superuser()
    .expect(200, json!({"items": ids(expected)}))
}

#[tokio::test]
async fn back_relations_filter() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let (_, user) = app.create_user("reader@example.com", "Password123").await;
    let p1 = "post00000000001";
    let p2 = "post00000000002";
    let p3 = "post00000000003";
    app.run(&[
        filtered(
            "any comment matches",
            "comments_via_post.text ?~ 'c'",
            &[p1],
        ),
        filtered(
            "every comment matches (none is no match)",
            "comments_via_post.text ~ 'c'",
            &[p1],
        ),
        filtered("any comment is z", "comments_via_post.text ?= 'z'", &[p2]),
        filtered("no comment at all", "comments_via_post.id = ''", &[p3]),
        filtered("some comment", "comments_via_post.id != ''", &[p1, p2]),
        filtered("one-to-one note", "notes_via_post.note = 'hello'", &[p2]),
        filtered(
            "back then forward",
            "comments_via_post.post.author.name ?= 'Ann'",
            &[p1],
        ),
        filtered(
            "forward then back",
            "author.posts_via_author.title ?= 'second'",
            &[p2],
        ),
        filtered(
            "the same ?-join row for both comparisons",
            "comments_via_post.text ?= 'c1' && comments_via_post.text ?= 'c2'",
            &[],
        ),
        Case::get(
            "a back-relation is no field by itself",
            with_query(
                "/api/collections/posts/records",
                &[("filter", "comments_via_post = 'x'")],
            ),
        )
        .superuser()
        .status(400),
        Case::get(
            "a back-relation through a field of another collection",
            with_query(
                "/api/collections/posts/records",
                &[("filter", "comments_via_text.id != ''")],
            ),
        )
        .superuser()
        .status(400),
        Case::get(
            "users may filter through collections they may list",
            with_query(
                "/api/collections/posts/records",
                &[
                    ("filter", "comments_via_post.text ?= 'z'"),
                    ("fields", "id"),
                ],
            ),
        )
        .token(&user)
        .expect(200, json!({"items": ids(&[p2])})),
    ])
    .await;
    // A collection whose list rule is locked cannot be filtered through by others.
    let token = app.superuser_token().await;
    let (status, body) = app
        .patch(
            "/api/collections/comments",
            Some(&token),
            json!({"listRule": null}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.run(&[Case::get(
        "locked related list rule",
        with_query(
            "/api/collections/posts/records",
            &[("filter", "comments_via_post.text ?= 'z'")],
        ),
    )
    .token(&user)
    .status(400)])
        .await;
}

#[tokio::test]
async fn collection_joins_share_rows_by_alias() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let p1 = "post00000000001";
    let p2 = "post00000000002";
    let p3 = "post00000000003";
    app.run(&[
        filtered(
            "one alias: the same comment is on this post and says c2",
            "@collection.comments:c.post ?= id && @collection.comments:c.text ?= 'c2'",
            &[p1],
        ),
        filtered(
            "no alias: the same row too",
            "@collection.comments.post ?= id && @collection.comments.text ?= 'z'",
            &[p2],
        ),
        filtered(
            "two aliases: two independent rows",
            "@collection.comments:a.post ?= id && @collection.comments:b.text ?= 'z'",
            &[p1, p2],
        ),
        filtered(
            "every row must match without ?",
            "@collection.tags.label != 'four'",
            &[p1, p2, p3],
        ),
    ])
    .await;
}

#[tokio::test]
async fn expand_back_relations_levels_and_stored_order() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let token = app.superuser_token().await;
    let one = |expand: &str, fields: &str| {
        with_query(
            "/api/collections/posts/records/post00000000001",
            &[("expand", expand), ("fields", fields)],
        )
    };
    app.run(&[
        Case::get(
            "multi relation in stored order, back-relation in creation order",
            one(
                "tags,comments_via_post",
                "expand.tags.label,expand.comments_via_post.text",
            ),
        )
        .superuser()
        .expect(
            200,
            json!({"expand": {
                "tags": [{"label": "three"}, {"label": "one"}],
                "comments_via_post": [{"text": "c1"}, {"text": "c2"}, {"text": "c3"}]
            }}),
        ),
        Case::get(
            "a back-relation over a unique column is one record",
            with_query(
                "/api/collections/posts/records/post00000000002",
                &[
                    ("expand", "notes_via_post"),
                    ("fields", "expand.notes_via_post.note"),
                ],
            ),
        )
        .superuser()
        .expect(
            200,
            json!({"expand": {"notes_via_post": {"note": "hello"}}}),
        ),
        Case::get(
            "nested back and forward",
            with_query(
                "/api/collections/users/records/user00000000ann",
                &[
                    ("expand", "posts_via_author.comments_via_post.post"),
                    (
                        "fields",
                        "expand.posts_via_author.expand.comments_via_post.expand.post.title",
                    ),
                ],
            ),
        )
        .superuser()
        .expect(
            200,
            json!({"expand": {"posts_via_author": [{"expand": {"comments_via_post": [
                {"expand": {"post": {"title": "first"}}},
                {"expand": {"post": {"title": "first"}}},
                {"expand": {"post": {"title": "first"}}}
            ]}}]}}),
        ),
        Case::get(
            "nothing to expand still answers an empty expand",
            with_query(
                "/api/collections/posts/records/post00000000003",
                &[("expand", "comments_via_post"), ("fields", "id,expand")],
            ),
        )
        .superuser()
        .expect(200, json!({"id": "post00000000003", "expand": {}})),
        Case::get(
            "an unknown expand is left out",
            with_query(
                "/api/collections/posts/records/post00000000003",
                &[("expand", "nosuch_via_post"), ("fields", "id,expand")],
            ),
        )
        .superuser()
        .expect(200, json!({"id": "post00000000003"}))
        .absent(&["expand"]),
    ])
    .await;

    // A chain of 8 nodes, each the parent of the next: expand stops after 6 levels.
    let nodes = app
        .create_collection(open("nodes", json!([{"name": "name", "type": "text"}])))
        .await;
    let node_id = nodes["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch(
            "/api/collections/nodes",
            Some(&token),
            json!({"fields": [{"name": "name", "type": "text"},
                   {"name": "parent", "type": "relation", "collectionId": node_id, "maxSelect": 1}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for i in 0..8 {
        let parent = if i == 0 {
            String::new()
        } else {
            format!("node0000000000{}", i - 1)
        };
        app.create_record(
            "nodes",
            json!({"id": format!("node0000000000{i}"), "name": format!("n{i}"), "parent": parent}),
        )
        .await;
    }
    let deep = "parent.parent.parent.parent.parent.parent.parent";
    let (status, body) = app
        .get(
            &with_query(
                "/api/collections/nodes/records/node00000000007",
                &[("expand", deep)],
            ),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut level = &body;
    let mut depth = 0;
    while let Some(next) = level.get("expand").and_then(|e| e.get("parent")) {
        depth += 1;
        level = next;
    }
    assert_eq!(depth, 6, "{body}");
    assert_eq!(level["name"], "n1");
}

#[tokio::test]
async fn sorting_through_relations() {
    let app = TestApp::spawn().await;
    blog(&app).await;
    let token = app.superuser_token().await;
    for (sort, expected) in [
        (
            "author.name,id",
            ["post00000000003", "post00000000001", "post00000000002"],
        ),
        (
            "-author.name,id",
            ["post00000000002", "post00000000001", "post00000000003"],
        ),
        (
            "-notes_via_post.note,id",
            ["post00000000002", "post00000000001", "post00000000003"],
        ),
    ] {
        let (status, body) = app
            .get(
                &with_query(
                    "/api/collections/posts/records",
                    &[("sort", sort), ("fields", "id")],
                ),
                Some(&token),
            )
            .await;
        assert_eq!(status, 200, "{sort}: {body}");
        let got: Vec<&Value> = item_values(&body, "id");
        let want: Vec<Value> = expected.iter().map(|id| json!(id)).collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>(), "{sort}");
    }
}
