use serde_json::{json, Value};

use crate::common::{assert_fragment, Case, TestApp};

fn error(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message, "data": {}})
}

#[tokio::test]
async fn only_superusers_see_and_change_settings() {
    let app = TestApp::spawn().await;
    let (_, user) = app.create_user("user@example.com", "Password123").await;
    let needs_auth = error(
        401,
        "The request requires valid record authorization token.",
    );
    let not_allowed = error(
        403,
        "The authorized record is not allowed to perform this action.",
    );
    let rename = json!({"meta": {"appName": "Hijacked"}});
    app.run(&[
        Case::get("guest", "/api/settings").expect(401, needs_auth.clone()),
        Case::get("user", "/api/settings")
            .token(&user)
            .expect(403, not_allowed.clone()),
        Case::patch("guest patch", "/api/settings", rename.clone()).expect(401, needs_auth),
        Case::patch("user patch", "/api/settings", rename)
            .token(&user)
            .expect(403, not_allowed),
        Case::get("defaults", "/api/settings").superuser().expect(
            200,
            json!({
                "meta": {"appName": "Acme", "appURL": "http://localhost:8090",
                         "senderName": "Support", "senderAddress": "support@example.com",
                         "hideControls": false},
                "smtp": {"enabled": false},
                "batch": {"enabled": false},
                "rateLimits": {"enabled": false}
            }),
        ),
        Case::patch(
            "blank app name",
            "/api/settings",
            json!({"meta": {"appName": ""}}),
        )
        .superuser()
        .expect(
            400,
            json!({"status": 400,
                "message": "An error occurred while saving the new settings.",
                "data": {"meta": {"appName": {"code": "validation_required"}}}}),
        ),
        Case::get("unchanged by the failures", "/api/settings")
            .superuser()
            .expect(200, json!({"meta": {"appName": "Acme"}})),
    ])
    .await;
}

#[tokio::test]
async fn settings_persist_across_a_restart() {
    let mut app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    app.run(&[
        Case::patch(
            "rename the app",
            "/api/settings",
            json!({"meta": {"appName": "Motorbase Test"}}),
        )
        .superuser()
        .expect(
            200,
            json!({"meta": {"appName": "Motorbase Test", "senderName": "Support"}}),
        ),
        // The SMTP password is write-only.
        Case::patch(
            "smtp",
            "/api/settings",
            json!({"smtp": {
            "enabled": true, "host": "smtp.example.com", "port": 2525,
            "username": "mailer", "password": "smtp-secret"}}),
        )
        .superuser()
        .expect(
            200,
            json!({"smtp": {"enabled": true, "host": "smtp.example.com",
                                         "port": 2525, "username": "mailer"}}),
        )
        .absent(&["smtp.password"]),
    ])
    .await;

    app.restart().await;

    // The token issued before the restart still works.
    let (status, body) = app.get("/api/settings", Some(&su)).await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"meta": {"appName": "Motorbase Test"},
                "smtp": {"enabled": true, "host": "smtp.example.com", "port": 2525,
                         "username": "mailer"}}),
    );
    assert!(body["smtp"].get("password").is_none(), "{body}");
}
