//! Rate limits from the settings, PocketBase password hashes, and the boundaries between
//! collections' tokens.

use serde_json::{json, Value};

use crate::common::{Case, TestApp};

const TOO_MANY: &str = "Too Many Requests.";

async fn set_rate_limits(app: &TestApp, rules: Value) {
    let token = app.superuser_token().await;
    let (status, body) = app
        .patch(
            "/api/settings",
            Some(&token),
            json!({"rateLimits": {"enabled": true, "rules": rules}}),
        )
        .await;
    assert_eq!(status, 200, "set rate limits: {body}");
}

#[tokio::test]
async fn changed_rate_limits_start_with_fresh_counts() {
    let app = TestApp::spawn().await;
    let health =
        |d: u64| json!([{"label": "/api/health", "audience": "", "duration": d, "maxRequests": 1}]);
    set_rate_limits(&app, health(60)).await;
    assert_eq!(app.get("/api/health", None).await.0, 200);
    assert_eq!(app.get("/api/health", None).await.0, 429);
    set_rate_limits(&app, health(61)).await;
    assert_eq!(
        app.get("/api/health", None).await.0,
        200,
        "counts survived a rule change"
    );
    assert_eq!(app.get("/api/health", None).await.0, 429);
}

#[tokio::test]
async fn rate_limits_from_the_settings() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    let (_, user) = app.create_user("ivy@example.com", "Password123").await;
    set_rate_limits(
        &app,
        json!([
            {"label": "*:auth", "audience": "", "duration": 60, "maxRequests": 2},
            {"label": "users:create", "audience": "@guest", "duration": 60, "maxRequests": 1},
            {"label": "/api/health", "audience": "@guest", "duration": 60, "maxRequests": 1}
        ]),
    )
    .await;
    let sign_in = "/api/collections/users/auth-with-password";
    let wrong = json!({"identity": "ivy@example.com", "password": "wrong-password"});
    let signup = |email: &str| json!({"email": email, "password": "Password123", "passwordConfirm": "Password123"});
    let limited = json!({"status": 429, "message": TOO_MANY, "data": {}});
    app.run(&[
        Case::post("first try", sign_in, wrong.clone()).status(400),
        Case::post("second try", sign_in, wrong.clone()).status(400),
        Case::post("third try", sign_in, wrong.clone()).expect(429, limited.clone()),
        Case::post(
            "even with the right password",
            sign_in,
            json!({"identity": "ivy@example.com", "password": "Password123"}),
        )
        .expect(429, limited.clone()),
        Case::post(
            "a guest signs up",
            "/api/collections/users/records",
            signup("j1@example.com"),
        )
        .status(200),
        Case::post(
            "and again",
            "/api/collections/users/records",
            signup("j2@example.com"),
        )
        .expect(429, limited.clone()),
        // The rule is for guests only.
        Case::post(
            "a signed-in caller",
            "/api/collections/users/records",
            signup("j3@example.com"),
        )
        .token(&user)
        .status(200),
        Case::get("health", "/api/health").status(200),
        Case::get("health again", "/api/health").expect(429, limited),
        // Superusers are never limited.
        Case::get("health as a superuser", "/api/health")
            .token(&su)
            .status(200),
        Case::post(
            "superuser signs users up",
            "/api/collections/users/records",
            signup("j4@example.com"),
        )
        .superuser()
        .status(200),
    ])
    .await;
}

#[tokio::test]
async fn rate_limits_off_by_default() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let (status, _) = app
            .post(
                "/api/collections/users/auth-with-password",
                None,
                json!({"identity": "nobody@example.com", "password": "wrong-password"}),
            )
            .await;
        assert_eq!(status, 400);
    }
}

/// Whether the suite runs against another server (PocketBase), which keeps bcrypt hashes.
fn against_peer() -> bool {
    std::env::var_os("MOTORBASE_TEST_BIN").is_some()
}

#[tokio::test]
async fn pocketbase_password_hashes_keep_working() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_user("kim@example.com", "Password123").await;
    // What an import from PocketBase leaves: a bcrypt hash of another password.
    let hash = bcrypt::hash("Imported-Pass-1", 10).expect("bcrypt");
    let db = rusqlite::Connection::open(app.data_dir().join("data.db")).expect("open data.db");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let changed = db
        .execute(
            "UPDATE users SET password = ?1 WHERE id = ?2",
            rusqlite::params![hash, id],
        )
        .expect("plant the hash");
    assert_eq!(changed, 1);
    let stored = |db: &rusqlite::Connection| -> String {
        db.query_row("SELECT password FROM users WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .expect("read the hash")
    };

    let sign_in = "/api/collections/users/auth-with-password";
    app.run(&[
        Case::post(
            "the old password is gone",
            sign_in,
            json!({"identity": "kim@example.com", "password": "Password123"}),
        )
        .status(400),
        Case::post(
            "the imported one works",
            sign_in,
            json!({"identity": "kim@example.com", "password": "Imported-Pass-1"}),
        )
        .expect(200, json!({"record": {"id": id}})),
    ])
    .await;
    if !against_peer() {
        // Signing in replaced the bcrypt hash with an argon2id one.
        let now = stored(&db);
        assert!(now.starts_with("$argon2id$"), "{now}");
    }
    app.run(&[Case::post(
        "and keeps working",
        sign_in,
        json!({"identity": "kim@example.com", "password": "Imported-Pass-1"}),
    )
    .status(200)])
        .await;
}

#[tokio::test]
async fn tokens_stay_in_their_collection() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    let (_, user) = app.create_user("lee@example.com", "Password123").await;
    app.run(&[
        Case::post(
            "a user's token as a superuser",
            "/api/collections/_superusers/auth-refresh",
            json!({}),
        )
        .token(&user)
        .expect(
            403,
            json!({"message": "The request requires auth record from users collection."}),
        ),
        Case::post(
            "a superuser's token as a user",
            "/api/collections/users/auth-refresh",
            json!({}),
        )
        .token(&su)
        .expect(
            403,
            json!({"message": "The request requires auth record from _superusers collection."}),
        ),
        Case::get("a user's token on the collections API", "/api/collections")
            .token(&user)
            .status(403),
        // Superusers keep full access to every records API.
        Case::get("superuser lists users", "/api/collections/users/records")
            .token(&su)
            .status(200),
    ])
    .await;
}

#[tokio::test]
async fn the_auth_rule_and_the_mfa_rule() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    for (email, verified) in [("sam@example.com", true), ("tia@example.com", false)] {
        app.create_record(
            "users",
            json!({"email": email, "password": "Password123", "passwordConfirm": "Password123",
                   "verified": verified}),
        )
        .await;
    }
    let (status, body) = app
        .patch(
            "/api/collections/users",
            Some(&su),
            json!({"authRule": "verified = true",
                   "otp": {"enabled": true},
                   "mfa": {"enabled": true, "rule": "email = 'sam@example.com'"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sign_in = "/api/collections/users/auth-with-password";
    let creds = |email: &str| json!({"identity": email, "password": "Password123"});
    app.run(&[
        // The MFA rule picks Sam: a second factor is due.
        Case::post("mfa for sam", sign_in, creds("sam@example.com")).status(401),
        // Tia passes no MFA rule but fails the auth rule.
        Case::post("auth rule refuses tia", sign_in, creds("tia@example.com")).expect(
            403,
            json!({"message": "The request doesn't satisfy the collection requirements to authenticate."}),
        ),
    ])
    .await;
    let (status, _) = app
        .patch("/api/collections/users", Some(&su), json!({"authRule": ""}))
        .await;
    assert_eq!(status, 200);
    app.run(&[Case::post("no rules in the way", sign_in, creds("tia@example.com")).status(200)])
        .await;
}

#[tokio::test]
async fn auth_options_default_as_pocketbase_does() {
    let app = TestApp::spawn().await;
    let durations = |token: u64| {
        json!({"authToken": {"duration": token}, "verificationToken": {"duration": 86400},
               "passwordResetToken": {"duration": 1800}, "emailChangeToken": {"duration": 1800},
               "fileToken": {"duration": 180}, "mfa": {"enabled": false, "duration": 600, "rule": ""},
               "otp": {"enabled": false, "duration": 180, "length": 8},
               "authAlert": {"enabled": true}, "passwordAuth": {"enabled": true, "identityFields": ["email"]}})
    };
    app.run(&[
        Case::get("users", "/api/collections/users")
            .superuser()
            .expect(200, durations(432000)),
        Case::get("superusers", "/api/collections/_superusers")
            .superuser()
            .expect(200, durations(86400))
            .absent(&["secret"]),
        Case::get("bookkeeping collections exist", "/api/collections/_otps")
            .superuser()
            .expect(
                200,
                json!({"name": "_otps", "system": true, "type": "base"}),
            ),
    ])
    .await;
}

#[tokio::test]
async fn superusers_only_from_their_addresses() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    let (_, user) = app.create_user("uma@example.com", "Password123").await;
    let sign_in = "/api/collections/_superusers/auth-with-password";
    let creds = json!({"identity": crate::common::SUPERUSER_EMAIL,
                       "password": crate::common::SUPERUSER_PASSWORD});
    let (status, body) = app
        .patch(
            "/api/settings",
            Some(&su),
            json!({"superuserIPs": ["10.0.0.0/8", "127.0.0.1"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.run(&[
        Case::get("listed address", "/api/collections")
            .token(&su)
            .status(200),
        Case::post("sign in from a listed address", sign_in, creds.clone()).status(200),
    ])
    .await;
    let (status, _) = app
        .patch(
            "/api/settings",
            Some(&su),
            json!({"superuserIPs": ["10.0.0.1"]}),
        )
        .await;
    assert_eq!(status, 200);
    let refused = json!({"status": 403, "message": "You are not allowed to perform this request.", "data": {}});
    app.run(&[
        Case::get("elsewhere", "/api/collections")
            .token(&su)
            .expect(403, refused.clone()),
        Case::post("sign in from elsewhere", sign_in, creds).expect(403, refused),
        // Other accounts are not concerned.
        Case::post("a user", "/api/collections/users/auth-refresh", json!({}))
            .token(&user)
            .status(200),
        Case::get("a guest", "/api/health").status(200),
    ])
    .await;
}

#[tokio::test]
async fn sign_in_answers_with_expand_and_fields() {
    let app = TestApp::spawn().await;
    let teams = app
        .create_collection(
            json!({"name": "teams", "type": "base", "listRule": "", "viewRule": "",
                                  "fields": [{"name": "title", "type": "text"}]}),
        )
        .await;
    app.create_collection(json!({
        "name": "members", "type": "auth",
        "fields": [{"name": "team", "type": "relation", "collectionId": teams["id"], "maxSelect": 1}]
    }))
    .await;
    let team = app.create_record("teams", json!({"title": "Blue"})).await;
    app.create_record(
        "members",
        json!({"email": "val@example.com", "password": "Password123",
               "passwordConfirm": "Password123", "team": team["id"]}),
    )
    .await;
    let creds = json!({"identity": "val@example.com", "password": "Password123"});
    app.run(&[
        Case::post(
            "expand",
            "/api/collections/members/auth-with-password?expand=team",
            creds.clone(),
        )
        .expect(
            200,
            json!({"record": {"email": "val@example.com",
                                           "expand": {"team": {"title": "Blue"}}}}),
        )
        .absent(&["password", "tokenKey"]),
        Case::post(
            "fields pick from the whole answer",
            "/api/collections/members/auth-with-password?fields=id,email",
            creds.clone(),
        )
        .expect(200, json!({})),
        Case::post(
            "nested fields",
            "/api/collections/members/auth-with-password?fields=token,record.email",
            creds,
        )
        .expect(200, json!({"record": {"email": "val@example.com"}}))
        .absent(&["verified", "team", "id"]),
    ])
    .await;
}

#[tokio::test]
async fn a_new_password_or_secret_ends_every_session() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    let (id, first) = app.create_user("wes@example.com", "Password123").await;
    let second = app
        .auth_with_password("users", "wes@example.com", "Password123")
        .await;
    let refresh = "/api/collections/users/auth-refresh";
    app.run(&[Case::post("a session works", refresh, json!({}))
        .token(&second)
        .status(200)])
        .await;
    // The owner changes the password from one session...
    let (status, body) = app
        .patch(
            &format!("/api/collections/users/records/{id}"),
            Some(&first),
            json!({"oldPassword": "Password123", "password": "Password456",
                   "passwordConfirm": "Password456"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // ...and every session, that one included, has ended.
    app.run(&[
        Case::post("first session", refresh, json!({}))
            .token(&first)
            .status(401),
        Case::post("second session", refresh, json!({}))
            .token(&second)
            .status(401),
    ])
    .await;
    // A new auth token secret for the collection ends everyone's sessions.
    let third = app
        .auth_with_password("users", "wes@example.com", "Password456")
        .await;
    let (status, body) = app
        .patch(
            "/api/collections/users",
            Some(&su),
            json!({"authToken": {"secret": "a-brand-new-secret-of-at-least-thirty-chars"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.run(&[
        Case::post("after the new secret", refresh, json!({}))
            .token(&third)
            .status(401),
        // Other collections' sessions are untouched.
        Case::get("superuser", "/api/collections")
            .token(&su)
            .status(200),
    ])
    .await;
}
