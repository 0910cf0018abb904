use serde_json::{json, Value};

use crate::common::{
    assert_fragment, with_query, Case, TestApp, SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};

const SECRETS: &[&str] = &["password", "passwordConfirm", "tokenKey", "oldPassword"];
const NEEDS_AUTH: &str = "The request requires valid record authorization token.";
const AUTH_FAILED: &str = "Failed to authenticate.";
const BAD_REQUEST: &str = "Something went wrong while processing your request.";
const USERS: &str = "/api/collections/users/records";
const SIGN_IN: &str = "/api/collections/users/auth-with-password";
const REFRESH: &str = "/api/collections/users/auth-refresh";

fn error(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message, "data": {}})
}

fn signup_body(email: &str, password: &str, confirm: &str) -> Value {
    json!({"email": email, "password": password, "passwordConfirm": confirm})
}

/// The payload of a JWT, decoded.
fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&base64url_decode(part)).expect("a JSON payload")
}

fn base64url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => panic!("not base64url: {text}"),
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn signup() {
    let app = TestApp::spawn().await;
    app.create_user("taken@example.com", "Password123").await;
    const FAILED: &str = "Failed to create record.";
    app.run(&[
        Case::post(
            "signup",
            USERS,
            signup_body("new@example.com", "Password123", "Password123"),
        )
        .expect(
            200,
            json!({"collectionName": "users", "collectionId": "_pb_users_auth_",
                                "verified": false, "emailVisibility": false, "name": "",
                                "avatar": ""}),
        )
        // The email is hidden from others (a guest) unless emailVisibility is on.
        .absent(SECRETS)
        .absent(&["email"]),
        Case::post(
            "signup with a visible email",
            USERS,
            json!({
            "email": "open@example.com", "emailVisibility": true,
            "password": "Password123", "passwordConfirm": "Password123"}),
        )
        .expect(
            200,
            json!({"email": "open@example.com", "emailVisibility": true}),
        )
        .absent(SECRETS),
        Case::post(
            "passwords differ",
            USERS,
            signup_body("new2@example.com", "Password123", "Password124"),
        )
        .expect(
            400,
            json!({"status": 400, "message": FAILED, "data": {"passwordConfirm": {
                "code": "validation_values_mismatch", "message": "Values don't match."}}}),
        ),
        Case::post(
            "no passwordConfirm",
            USERS,
            json!({"email": "new2@example.com", "password": "Password123"}),
        )
        .expect(
            400,
            json!({"data": {"passwordConfirm": {"code": "validation_required"}}}),
        ),
        Case::post(
            "short password",
            USERS,
            signup_body("new2@example.com", "short", "short"),
        )
        .expect(
            400,
            json!({"data": {"password": {
                "code": "validation_min_text_constraint",
                "message": "Must be at least 8 character(s)."}}}),
        ),
        Case::post("no password", USERS, json!({"email": "new2@example.com"})).expect(
            400,
            json!({"data": {"password": {"code": "validation_required"},
                            "passwordConfirm": {"code": "validation_required"}}}),
        ),
        // A guest may not mark a new account verified.
        Case::post(
            "a guest sets verified",
            USERS,
            json!({
            "email": "new2@example.com", "verified": true,
            "password": "Password123", "passwordConfirm": "Password123"}),
        )
        .expect(
            400,
            json!({"status": 400, "message": FAILED, "data": {"verified": {
            "code": "validation_values_mismatch", "message": "Values don't match."}}}),
        ),
        Case::post(
            "a superuser may",
            USERS,
            json!({
            "email": "verified@example.com", "verified": true,
            "password": "Password123", "passwordConfirm": "Password123"}),
        )
        .superuser()
        .expect(
            200,
            json!({"email": "verified@example.com", "verified": true}),
        )
        .absent(SECRETS),
        Case::post(
            "taken email",
            USERS,
            signup_body("taken@example.com", "Password123", "Password123"),
        )
        .expect(
            400,
            json!({"data": {"email": {
                "code": "validation_not_unique", "message": "Value must be unique."}}}),
        ),
        Case::post(
            "invalid email",
            USERS,
            signup_body("nope", "Password123", "Password123"),
        )
        .expect(
            400,
            json!({"data": {"email": {
                "code": "validation_is_email", "message": "Must be a valid email address."}}}),
        ),
        Case::post(
            "no email",
            USERS,
            json!({"password": "Password123",
                                             "passwordConfirm": "Password123"}),
        )
        .expect(
            400,
            json!({"data": {"email": {"code": "validation_required"}}}),
        ),
        Case::post(
            "the new user can sign in",
            SIGN_IN,
            json!({"identity": "new@example.com", "password": "Password123"}),
        )
        .expect(200, json!({"record": {"email": "new@example.com"}}))
        .absent(SECRETS),
    ])
    .await;
}

#[tokio::test]
async fn auth_with_password() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_user("ann@example.com", "Password123").await;
    app.create_collection(json!({"name": "notes", "type": "base"}))
        .await;
    let (status, body) = app
        .post(
            SIGN_IN,
            None,
            json!({"identity": "ann@example.com", "password": "Password123"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The owner sees her own email.
    assert_fragment(
        &body,
        &json!({"record": {"id": id, "email": "ann@example.com", "collectionName": "users",
                           "collectionId": "_pb_users_auth_", "verified": false}}),
    );
    let token = body["token"].as_str().expect("token");
    let payload = jwt_payload(token);
    assert_fragment(
        &payload,
        &json!({"collectionId": "_pb_users_auth_", "id": id, "refreshable": true, "type": "auth"}),
    );
    assert!(payload["exp"].as_i64().is_some(), "exp in {payload}");

    app.run(&[
        Case::post(
            "wrong password",
            SIGN_IN,
            json!({"identity": "ann@example.com", "password": "wrong-password"}),
        )
        .expect(400, error(400, AUTH_FAILED)),
        Case::post(
            "unknown identity",
            SIGN_IN,
            json!({"identity": "nobody@example.com", "password": "Password123"}),
        )
        .expect(400, error(400, AUTH_FAILED)),
        Case::post("blank", SIGN_IN, json!({"identity": "", "password": ""})).expect(
            400,
            json!({"status": 400,
                "message": "An error occurred while validating the submitted data.",
                "data": {"identity": {"code": "validation_required"},
                         "password": {"code": "validation_required"}}}),
        ),
        Case::post(
            "superuser credentials on users",
            SIGN_IN,
            json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}),
        )
        .expect(400, error(400, AUTH_FAILED)),
        Case::post(
            "superuser sign-in",
            "/api/collections/_superusers/auth-with-password",
            json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}),
        )
        .expect(
            200,
            json!({"record": {"email": SUPERUSER_EMAIL,
                                           "collectionName": "_superusers"}}),
        )
        .absent(SECRETS),
        Case::post(
            "an unknown collection",
            "/api/collections/nosuch/auth-with-password",
            json!({"identity": "a", "password": "b"}),
        )
        .expect(404, error(404, "Missing or invalid collection context.")),
        Case::post(
            "a base collection",
            "/api/collections/notes/auth-with-password",
            json!({"identity": "a", "password": "b"}),
        )
        .expect(
            404,
            error(404, "Missing or invalid auth collection context."),
        ),
        Case::get(
            "a base collection has no auth methods",
            "/api/collections/notes/auth-methods",
        )
        .expect(
            404,
            error(404, "Missing or invalid auth collection context."),
        ),
        Case::get("auth methods", "/api/collections/users/auth-methods").expect(
            200,
            json!({"password": {"enabled": true, "identityFields": ["email"]},
                                "oauth2": {"enabled": false, "providers": []},
                                "mfa": {"enabled": false}, "otp": {"enabled": false}}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn auth_refresh() {
    let app = TestApp::spawn().await;
    let (id, token) = app.create_user("ann@example.com", "Password123").await;
    let superuser = app.superuser_token().await;
    let refreshed = json!({"record": {"id": id, "email": "ann@example.com"}});
    app.run(&[
        Case::post("with the token", REFRESH, json!({}))
            .token(&token)
            .expect(200, refreshed.clone())
            .absent(SECRETS),
        Case::post("with a Bearer prefix", REFRESH, json!({}))
            .token(&format!("Bearer {token}"))
            .expect(200, refreshed)
            .absent(SECRETS),
        Case::post("without a token", REFRESH, json!({})).expect(401, error(401, NEEDS_AUTH)),
        Case::post("with garbage", REFRESH, json!({}))
            .token("garbage")
            .expect(401, error(401, NEEDS_AUTH)),
        Case::post("with a tampered token", REFRESH, json!({}))
            .token(&format!("{token}x"))
            .expect(401, error(401, NEEDS_AUTH)),
        // PocketBase names the token's collection in this message.
        Case::post("a superuser token is not a users token", REFRESH, json!({}))
            .token(&superuser)
            .expect(
                403,
                error(
                    403,
                    "The request requires auth record from _superusers collection.",
                ),
            ),
        Case::post(
            "a users token is not a superuser token",
            "/api/collections/_superusers/auth-refresh",
            json!({}),
        )
        .token(&token)
        .expect(
            403,
            error(
                403,
                "The request requires auth record from users collection.",
            ),
        ),
        Case::get("the token authorizes requests", format!("{USERS}/{id}"))
            .token(&token)
            .expect(200, json!({"id": id})),
        Case::get("a Bearer token too", format!("{USERS}/{id}"))
            .token(&format!("Bearer {token}"))
            .expect(200, json!({"id": id})),
    ])
    .await;
    let (status, body) = app.post(REFRESH, Some(&token), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["token"].as_str().expect("token");
    assert_fragment(
        &jwt_payload(fresh),
        &json!({"collectionId": "_pb_users_auth_", "id": id, "type": "auth", "refreshable": true}),
    );
}

#[tokio::test]
async fn changing_the_password_revokes_tokens() {
    let app = TestApp::spawn().await;
    let (id, token) = app.create_user("ann@example.com", "Password123").await;
    let one = format!("{USERS}/{id}");
    app.run(&[
        Case::patch(
            "the old password is required",
            &one,
            json!({"password": "NewPassword123", "passwordConfirm": "NewPassword123"}),
        )
        .token(&token)
        .expect(
            400,
            json!({"status": 400, "message": "Failed to update record.",
                "data": {"oldPassword": {"code": "validation_required"}}}),
        ),
        Case::patch(
            "confirmation must match",
            &one,
            json!({"password": "NewPassword123", "passwordConfirm": "Other123456",
                   "oldPassword": "Password123"}),
        )
        .token(&token)
        .expect(
            400,
            json!({"data": {"passwordConfirm": {"code": "validation_values_mismatch"}}}),
        ),
        Case::patch(
            "change it",
            &one,
            json!({"password": "NewPassword123", "passwordConfirm": "NewPassword123",
                   "oldPassword": "Password123"}),
        )
        .token(&token)
        .expect(200, json!({"id": id, "email": "ann@example.com"}))
        .absent(SECRETS),
        Case::post("the old token cannot refresh", REFRESH, json!({}))
            .token(&token)
            .expect(401, error(401, NEEDS_AUTH)),
        Case::get("the old token is a guest now", &one)
            .token(&token)
            .expect(404, error(404, "The requested resource wasn't found.")),
        Case::post(
            "the old password fails",
            SIGN_IN,
            json!({"identity": "ann@example.com", "password": "Password123"}),
        )
        .expect(400, error(400, AUTH_FAILED)),
        Case::post(
            "the new one works",
            SIGN_IN,
            json!({"identity": "ann@example.com", "password": "NewPassword123"}),
        )
        .expect(200, json!({"record": {"id": id}})),
        Case::patch(
            "a superuser needs no old password",
            &one,
            json!({"password": "Third123456", "passwordConfirm": "Third123456"}),
        )
        .superuser()
        .expect(200, json!({"id": id}))
        .absent(SECRETS),
        Case::post(
            "which then works",
            SIGN_IN,
            json!({"identity": "ann@example.com", "password": "Third123456"}),
        )
        .expect(200, json!({"record": {"id": id}})),
    ])
    .await;
}

/// What lists and views show of auth records, plain (written straight from the row) or shaped
/// by `fields`: never the password hash or token key, hidden fields only to superusers, the email
/// only when visible, to its owner or to superusers.
#[tokio::test]
async fn lists_and_views_show_each_caller_what_it_may_see() {
    let app = TestApp::spawn().await;
    app.create_collection(json!({
        "name": "members", "type": "auth", "listRule": "", "viewRule": "",
        "fields": [{"name": "note", "type": "text", "hidden": true}]
    }))
    .await;
    let member = |email: &str, visible: bool| {
        json!({"email": email, "emailVisibility": visible, "note": "private",
               "password": "Password123", "passwordConfirm": "Password123"})
    };
    let ann = app
        .create_record("members", member("ann@example.com", false))
        .await;
    let bob = app
        .create_record("members", member("bob@example.com", true))
        .await;
    let ann_token = app
        .auth_with_password("members", "ann@example.com", "Password123")
        .await;
    let su = app.superuser_token().await;
    // (caller, token, keys shown of ann, of bob); every other key of the schema must be absent.
    type Caller<'a> = (&'a str, Option<&'a str>, &'a [&'a str], &'a [&'a str]);
    let callers: [Caller; 3] = [
        ("a guest", None, &[], &["email"]),
        ("ann herself", Some(&ann_token), &["email"], &["email"]),
        (
            "a superuser",
            Some(&su),
            &["email", "note"],
            &["email", "note"],
        ),
    ];
    let always = [
        "collectionId",
        "collectionName",
        "id",
        "emailVisibility",
        "verified",
    ];
    let never = ["password", "tokenKey"];
    for (who, token, ann_shows, bob_shows) in callers {
        for query in ["", "?fields=*"] {
            let check = |record: &Value, shows: &[&str], what: &str| {
                for key in always.iter().chain(shows) {
                    assert!(
                        record.get(*key).is_some(),
                        "{who}{query}, {what}: {key} missing in {record}"
                    );
                }
                for key in ["email", "note"]
                    .iter()
                    .filter(|k| !shows.contains(*k))
                    .chain(&never)
                {
                    assert!(
                        record.get(*key).is_none(),
                        "{who}{query}, {what}: {key} shown in {record}"
                    );
                }
            };
            let (status, list) = app
                .get(&format!("/api/collections/members/records{query}"), token)
                .await;
            assert_eq!(status, 200, "{who}{query}: {list}");
            let items = list["items"].as_array().expect("items");
            assert_eq!(items.len(), 2, "{who}{query}: {list}");
            for (record, shows) in [(&ann, ann_shows), (&bob, bob_shows)] {
                let id = &record["id"];
                let item = items.iter().find(|i| &i["id"] == id).expect("listed");
                check(item, shows, "list");
                let path = format!(
                    "/api/collections/members/records/{}{query}",
                    id.as_str().unwrap_or("")
                );
                let (status, view) = app.get(&path, token).await;
                assert_eq!(status, 200, "{who}{query}: {view}");
                check(&view, shows, "view");
            }
        }
    }
}

#[tokio::test]
async fn secrets_never_leak() {
    let app = TestApp::spawn().await;
    let (id, token) = app.create_user("ann@example.com", "Password123").await;
    let (_, other) = app.create_user("bob@example.com", "Password123").await;
    let one = format!("{USERS}/{id}");
    app.run(&[
        Case::get("superuser list", USERS)
            .superuser()
            .expect(200, json!({"totalItems": 2}))
            .absent(SECRETS),
        Case::get("superuser view", &one)
            .superuser()
            .expect(200, json!({"email": "ann@example.com"}))
            .absent(SECRETS),
        Case::get("superuser fields=*", with_query(&one, &[("fields", "*")]))
            .superuser()
            .status(200)
            .absent(SECRETS),
        Case::get(
            "superuser asks for the hash",
            with_query(&one, &[("fields", "id,password,tokenKey")]),
        )
        .superuser()
        .expect(200, json!({"id": id}))
        .absent(SECRETS),
        Case::get("owner view", &one)
            .token(&token)
            .expect(200, json!({"email": "ann@example.com"}))
            .absent(SECRETS),
        Case::get("others see nothing", &one)
            .token(&other)
            .expect(404, error(404, "The requested resource wasn't found.")),
        Case::patch("owner update", &one, json!({"name": "Ann"}))
            .token(&token)
            .expect(200, json!({"name": "Ann"}))
            .absent(SECRETS),
        // Hidden fields: superusers may filter by them, others may not.
        Case::get(
            "a user filtering by password",
            with_query(USERS, &[("filter", "password != ''")]),
        )
        .token(&token)
        .expect(400, error(400, BAD_REQUEST)),
        Case::get(
            "a user sorting by tokenKey",
            with_query(USERS, &[("sort", "tokenKey")]),
        )
        .token(&token)
        .expect(400, error(400, BAD_REQUEST)),
        Case::get(
            "a superuser filtering by tokenKey",
            with_query(USERS, &[("filter", "tokenKey != '' && password != ''")]),
        )
        .superuser()
        .expect(200, json!({"totalItems": 2}))
        .absent(SECRETS),
        // A hidden email (emailVisibility off) does not match a non-superuser's filter,
        // not even the owner's.
        Case::get(
            "a user filtering by a hidden email",
            with_query(USERS, &[("filter", "email = 'ann@example.com'")]),
        )
        .token(&token)
        .expect(200, json!({"totalItems": 0, "items": []})),
        Case::get("superusers list", "/api/collections/_superusers/records")
            .superuser()
            .expect(
                200,
                json!({"totalItems": 1, "items": [{"email": SUPERUSER_EMAIL}]}),
            )
            .absent(SECRETS),
    ])
    .await;
    let su = app.superuser_token().await;
    let (status, body) = app.delete(&one, Some(&su)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(body, Value::Null, "a delete answers with no body");
}
