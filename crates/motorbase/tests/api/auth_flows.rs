//! The mail-based auth flows end to end: the server sends real SMTP to a sink started here, and
//! the tests read the tokens and codes out of the delivered mail.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::smtp::SmtpSink;
use crate::common::{assert_fragment, Case, TestApp};

const VALIDATION: &str = "An error occurred while validating the submitted data.";

/// Points the server's mail at `sink`.
async fn use_sink(app: &TestApp, sink: &SmtpSink) {
    let token = app.superuser_token().await;
    let (status, body) = app
        .patch(
            "/api/settings",
            Some(&token),
            json!({
                "meta": {"appName": "Acme Test", "appURL": "https://acme.test",
                         "senderName": "Acme", "senderAddress": "noreply@acme.test"},
                "smtp": {"enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": false}
            }),
        )
        .await;
    assert_eq!(status, 200, "configure smtp: {body}");
}

async fn patch_users(app: &TestApp, options: Value) {
    let token = app.superuser_token().await;
    let (status, body) = app
        .patch("/api/collections/users", Some(&token), options)
        .await;
    assert_eq!(status, 200, "update users: {body}");
}

async fn user_record(app: &TestApp, id: &str) -> Value {
    let token = app.superuser_token().await;
    let (status, body) = app
        .get(
            &format!("/api/collections/users/records/{id}"),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "view user: {body}");
    body
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    app.post(
        "/api/collections/users/auth-with-password",
        None,
        json!({"identity": email, "password": password}),
    )
    .await
}

fn invalid(field: &str, code: &str) -> Value {
    json!({"status": 400, "message": VALIDATION, "data": {field: {"code": code}}})
}

#[tokio::test]
async fn verification_by_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    let (id, _) = app.create_user("ann@example.com", "Password123").await;
    let path = "/api/collections/users/request-verification";

    app.run(&[
        Case::post(
            "unknown address answers the same",
            path,
            json!({"email": "nobody@example.com"}),
        )
        .status(204),
        Case::post("missing email", path, json!({}))
            .expect(400, invalid("email", "validation_required")),
        Case::post("not an email", path, json!({"email": "nope"}))
            .expect(400, invalid("email", "validation_is_email")),
        Case::post(
            "superusers",
            "/api/collections/_superusers/request-verification",
            json!({"email": "a@example.com"}),
        )
        .expect(
            400,
            json!({"message": "All superusers are verified by default."}),
        ),
        Case::post("malformed body", path, json!({}))
            .raw("application/json", "{")
            .expect(
                400,
                json!({"message": "An error occurred while loading the submitted data."}),
            ),
        Case::post("known address", path, json!({"email": "ann@example.com"})).status(204),
    ])
    .await;

    let mail = sink.wait_for("ann@example.com", 1).await;
    assert!(
        mail.subject().contains("Acme Test"),
        "{{APP_NAME}} filled: {}",
        mail.subject()
    );
    assert_eq!(mail.from, "noreply@acme.test");
    assert!(mail
        .decoded
        .contains("https://acme.test/_/#/auth/confirm-verification/"));
    let token = mail
        .after("/confirm-verification/")
        .expect("a token in the mail");
    // Asking again within two minutes sends nothing more.
    let (status, _) = app
        .post(path, None, json!({"email": "ann@example.com"}))
        .await;
    assert_eq!(status, 204);
    sink.assert_quiet("nobody@example.com", 0, Duration::from_millis(300))
        .await;
    sink.assert_quiet("ann@example.com", 1, Duration::from_millis(0))
        .await;

    let confirm = "/api/collections/users/confirm-verification";
    app.run(&[
        Case::post("no token", confirm, json!({}))
            .expect(400, invalid("token", "validation_required")),
        Case::post("not a token", confirm, json!({"token": "abc"}))
            .expect(400, invalid("token", "validation_invalid_token_claims")),
        // A well-formed token signed with another key.
        Case::post("forged", confirm, json!({"token": forged(&token)}))
            .expect(400, invalid("token", "validation_invalid_token")),
        Case::post("confirmed", confirm, json!({"token": token})).status(204),
    ])
    .await;
    assert_eq!(user_record(&app, &id).await["verified"], json!(true));
    // A verified account gets no more verification mail.
    let (status, _) = app
        .post(path, None, json!({"email": "ann@example.com"}))
        .await;
    assert_eq!(status, 204);
    sink.assert_quiet("ann@example.com", 1, Duration::from_millis(300))
        .await;
}

/// The token with its signature replaced.
fn forged(token: &str) -> String {
    let (head, _) = token.rsplit_once('.').expect("a JWT");
    format!("{head}.c2lnbmF0dXJlLXRoYXQtZG9lcy1ub3QtbWF0Y2g")
}

#[tokio::test]
async fn a_token_only_works_for_its_own_collection() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    app.create_collection(json!({"name": "members", "type": "auth", "fields": []}))
        .await;
    app.create_user("bob@example.com", "Password123").await;
    let (status, _) = app
        .post(
            "/api/collections/users/request-verification",
            None,
            json!({"email": "bob@example.com"}),
        )
        .await;
    assert_eq!(status, 204);
    let token = sink
        .wait_for("bob@example.com", 1)
        .await
        .after("/confirm-verification/")
        .expect("a token");
    app.run(&[Case::post(
        "users' token at members",
        "/api/collections/members/confirm-verification",
        json!({"token": token}),
    )
    .expect(
        400,
        invalid("token", "validation_token_collection_mismatch"),
    )])
    .await;
    // Nor is a verification token an auth token.
    let (status, _) = app
        .post(
            "/api/collections/users/auth-refresh",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn password_reset_by_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    let (id, session) = app.create_user("cat@example.com", "Password123").await;
    let path = "/api/collections/users/request-password-reset";
    app.run(&[
        Case::post(
            "unknown address",
            path,
            json!({"email": "nobody@example.com"}),
        )
        .status(204),
        Case::post("missing email", path, json!({}))
            .expect(400, invalid("email", "validation_required")),
        Case::post("known address", path, json!({"email": "cat@example.com"})).status(204),
    ])
    .await;
    let mail = sink.wait_for("cat@example.com", 1).await;
    assert!(
        mail.subject().contains("Acme Test"),
        "{{APP_NAME}} filled: {}",
        mail.subject()
    );
    let token = mail.after("/confirm-password-reset/").expect("a token");

    let confirm = "/api/collections/users/confirm-password-reset";
    app.run(&[
        Case::post("nothing", confirm, json!({})).expect(
            400,
            json!({"message": VALIDATION, "data": {
                "token": {"code": "validation_required"},
                "password": {"code": "validation_required"},
                "passwordConfirm": {"code": "validation_required"}}}),
        ),
        Case::post("short and different", confirm,
            json!({"token": token, "password": "short", "passwordConfirm": "other"}))
        .expect(400, json!({"message": VALIDATION, "data": {
            "password": {"code": "validation_length_out_of_range",
                         "message": "The length must be between 8 and 255."},
            "passwordConfirm": {"code": "validation_values_mismatch"}}})),
        Case::post("an auth token is not a reset token", confirm,
            json!({"token": session, "password": "NewPassword1", "passwordConfirm": "NewPassword1"}))
        .expect(400, invalid("token", "validation_invalid_token")),
        Case::post("reset", confirm,
            json!({"token": token, "password": "NewPassword1", "passwordConfirm": "NewPassword1"}))
        .status(204),
        // The new password rotated the token key: the reset token is spent...
        Case::post("reused", confirm,
            json!({"token": token, "password": "NewPassword2", "passwordConfirm": "NewPassword2"}))
        .expect(400, invalid("token", "validation_invalid_token")),
        // ...and every session has ended.
        Case::post("old session", "/api/collections/users/auth-refresh", json!({}))
            .token(&session)
            .status(401),
    ])
    .await;
    assert_eq!(sign_in(&app, "cat@example.com", "Password123").await.0, 400);
    let (status, body) = sign_in(&app, "cat@example.com", "NewPassword1").await;
    assert_eq!(status, 200, "{body}");
    // The mail reached the account's address, so it counts as verified.
    assert_eq!(user_record(&app, &id).await["verified"], json!(true));
}

#[tokio::test]
async fn password_reset_needs_password_auth() {
    let app = TestApp::spawn().await;
    patch_users(&app, json!({"passwordAuth": {"enabled": false}})).await;
    app.run(&[Case::post(
        "disabled",
        "/api/collections/users/request-password-reset",
        json!({"email": "a@example.com"}),
    )
    .expect(
        400,
        json!({"message": "The collection is not configured to allow password authentication."}),
    )])
    .await;
}

#[tokio::test]
async fn email_change_by_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    let (id, session) = app.create_user("dan@example.com", "Password123").await;
    app.create_user("taken@example.com", "Password123").await;
    let path = "/api/collections/users/request-email-change";
    app.run(&[
        Case::post("guest", path, json!({"newEmail": "new@example.com"})).expect(
            401,
            json!({"message": "The request requires valid record authorization token."}),
        ),
        Case::post(
            "superuser",
            "/api/collections/_superusers/request-email-change",
            json!({"newEmail": "x@example.com"}),
        )
        .superuser()
        .expect(
            400,
            json!({"message": "All superusers can change their emails directly."}),
        ),
        Case::post(
            "a superuser's token at users",
            path,
            json!({"newEmail": "x@example.com"}),
        )
        .superuser()
        .expect(
            403,
            json!({"message": "The request requires auth record from _superusers collection."}),
        ),
        Case::post("missing", path, json!({}))
            .token(&session)
            .expect(400, invalid("newEmail", "validation_required")),
        Case::post(
            "the same address",
            path,
            json!({"newEmail": "dan@example.com"}),
        )
        .token(&session)
        .expect(400, invalid("newEmail", "validation_not_in_invalid")),
        Case::post("taken", path, json!({"newEmail": "taken@example.com"}))
            .token(&session)
            .expect(400, invalid("newEmail", "validation_invalid_new_email")),
        Case::post(
            "requested",
            path,
            json!({"newEmail": "dan.new@example.com"}),
        )
        .token(&session)
        .status(204),
    ])
    .await;
    let mail = sink.wait_for("dan.new@example.com", 1).await;
    assert!(
        mail.subject().contains("Acme Test"),
        "{{APP_NAME}} filled: {}",
        mail.subject()
    );
    let token = mail.after("/confirm-email-change/").expect("a token");
    let confirm = "/api/collections/users/confirm-email-change";
    app.run(&[
        Case::post("nothing", confirm, json!({})).expect(400, json!({"data": {
            "token": {"code": "validation_required"}, "password": {"code": "validation_required"}}})),
        Case::post("wrong password", confirm, json!({"token": token, "password": "wrong-one"}))
            .expect(400, invalid("password", "validation_invalid_password")),
        Case::post("confirmed", confirm, json!({"token": token, "password": "Password123"}))
            .status(204),
    ])
    .await;
    let record = user_record(&app, &id).await;
    assert_fragment(
        &record,
        &json!({"email": "dan.new@example.com", "verified": true}),
    );
    assert_eq!(sign_in(&app, "dan@example.com", "Password123").await.0, 400);
    assert_eq!(
        sign_in(&app, "dan.new@example.com", "Password123").await.0,
        200
    );
}

#[tokio::test]
async fn sign_in_with_a_mailed_code() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    let request = "/api/collections/users/request-otp";
    let with_otp = "/api/collections/users/auth-with-otp";
    app.run(&[
        Case::post("disabled", request, json!({"email": "eve@example.com"})).expect(
            403,
            json!({"message": "The collection is not configured to allow OTP authentication."}),
        ),
        Case::post(
            "disabled too",
            with_otp,
            json!({"otpId": "x", "password": "1"}),
        )
        .status(403),
    ])
    .await;
    patch_users(&app, json!({"otp": {"enabled": true}})).await;
    let (id, _) = app.create_user("eve@example.com", "Password123").await;

    // An unknown address gets an id too, and no mail.
    let (status, body) = app
        .post(request, None, json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["otpId"].as_str().map(str::len), Some(15), "{body}");
    let (status, body) = app
        .post(request, None, json!({"email": "eve@example.com"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let otp_id = body["otpId"].as_str().expect("an otpId").to_string();
    let mail = sink.wait_for("eve@example.com", 1).await;
    assert!(
        mail.subject().contains("Acme Test"),
        "{{APP_NAME}} filled: {}",
        mail.subject()
    );
    let code = mail.code().expect("a code in the mail");
    assert_eq!(code.len(), 8);
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };

    app.run(&[
        Case::post("nothing", with_otp, json!({})).expect(400, json!({"data": {
            "otpId": {"code": "validation_required"}, "password": {"code": "validation_required"}}})),
        Case::post("unknown id", with_otp, json!({"otpId": "abcdefghijklmno", "password": code}))
            .expect(400, json!({"message": "Invalid or expired OTP.", "data": {}})),
        Case::post("wrong code", with_otp, json!({"otpId": otp_id, "password": wrong}))
            .expect(400, json!({"message": "Invalid or expired OTP."})),
        Case::post("right code", with_otp, json!({"otpId": otp_id, "password": code}))
            .expect(200, json!({"record": {"id": id, "email": "eve@example.com", "verified": true}}))
            .absent(&["password", "tokenKey"]),
        Case::post("spent", with_otp, json!({"otpId": otp_id, "password": code}))
            .expect(400, json!({"message": "Invalid or expired OTP."})),
    ])
    .await;
    sink.assert_quiet("nobody@example.com", 0, Duration::from_millis(100))
        .await;
}

#[tokio::test]
async fn otp_guesses_are_limited() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    patch_users(&app, json!({"otp": {"enabled": true}})).await;
    app.create_user("fay@example.com", "Password123").await;
    let (_, body) = app
        .post(
            "/api/collections/users/request-otp",
            None,
            json!({"email": "fay@example.com"}),
        )
        .await;
    let otp_id = body["otpId"].as_str().expect("otpId").to_string();
    let code = sink
        .wait_for("fay@example.com", 1)
        .await
        .code()
        .expect("code");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let path = "/api/collections/users/auth-with-otp";
    for _ in 0..5 {
        let (status, _) = app
            .post(path, None, json!({"otpId": otp_id, "password": wrong}))
            .await;
        assert_eq!(status, 400);
    }
    // Even the right code is refused once the guesses are used up.
    app.run(&[Case::post(
        "sixth try",
        path,
        json!({"otpId": otp_id, "password": code}),
    )
    .expect(
        429,
        json!({"message": "Too many attempts, please try again later with a new OTP."}),
    )])
    .await;
}

#[tokio::test]
async fn a_second_factor_when_mfa_is_on() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    patch_users(
        &app,
        json!({"otp": {"enabled": true}, "mfa": {"enabled": true}}),
    )
    .await;
    let user = app
        .create_record(
            "users",
            json!({"email": "gil@example.com", "password": "Password123", "passwordConfirm": "Password123"}),
        )
        .await;
    let id = user["id"].as_str().expect("id").to_string();
    // The first factor answers an MFA session instead of a token.
    let (status, body) = sign_in(&app, "gil@example.com", "Password123").await;
    assert_eq!(status, 401, "{body}");
    let mfa_id = body["mfaId"].as_str().expect("an mfaId").to_string();
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");

    let with_password = "/api/collections/users/auth-with-password";
    let creds =
        |mfa: &str| json!({"identity": "gil@example.com", "password": "Password123", "mfaId": mfa});
    app.run(&[
        Case::post("unknown session", with_password, creds("abcdefghijklmno"))
            .expect(400, json!({"message": "Invalid or expired MFA session."})),
        Case::post("the same method twice", with_password, creds(&mfa_id)).expect(
            400,
            json!({"message": "A different authentication method is required."}),
        ),
    ])
    .await;

    let (_, body) = app
        .post(
            "/api/collections/users/request-otp",
            None,
            json!({"email": "gil@example.com"}),
        )
        .await;
    let otp_id = body["otpId"].as_str().expect("otpId").to_string();
    let code = sink
        .wait_for("gil@example.com", 1)
        .await
        .code()
        .expect("code");
    app.run(&[
        Case::post(
            "second factor",
            "/api/collections/users/auth-with-otp",
            json!({"otpId": otp_id, "password": code, "mfaId": mfa_id}),
        )
        .expect(200, json!({"record": {"id": id}})),
        // The session is spent.
        Case::post("spent session", with_password, creds(&mfa_id))
            .expect(400, json!({"message": "Invalid or expired MFA session."})),
    ])
    .await;
}

/// The `exp` and `refreshable` claims of a token.
fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut out = Vec::new();
    for c in part.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => continue,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&out).expect("JSON claims")
}

#[tokio::test]
async fn superusers_impersonate() {
    let app = TestApp::spawn().await;
    let (id, session) = app.create_user("hal@example.com", "Password123").await;
    let path = format!("/api/collections/users/impersonate/{id}");
    app.run(&[
        Case::post("guest", &path, json!({}))
            .expect(401, json!({"message": "The request requires valid record authorization token."})),
        Case::post("a user", &path, json!({})).token(&session).expect(
            403,
            json!({"message": "The authorized record is not allowed to perform this action."}),
        ),
        Case::post("missing record", "/api/collections/users/impersonate/nope", json!({}))
            .superuser()
            .status(404),
        Case::post("negative duration", &path, json!({"duration": -1}))
            .superuser()
            .expect(400, json!({"data": {"duration": {"code": "validation_min_greater_equal_than_required"}}})),
        Case::post("impersonated", &path, json!({"duration": 100}))
            .superuser()
            .expect(200, json!({"record": {"id": id, "email": "hal@example.com"}}))
            .absent(&["password", "tokenKey"]),
    ])
    .await;
    let su = app.superuser_token().await;
    let (_, body) = app.post(&path, Some(&su), json!({"duration": 100})).await;
    let token = body["token"].as_str().expect("token").to_string();
    let c = claims(&token);
    assert_eq!(c["refreshable"], json!(false), "{c}");
    let now = chrono::Utc::now().timestamp();
    let exp = c["exp"].as_i64().expect("exp");
    assert!(
        (now + 95..=now + 105).contains(&exp),
        "exp {exp}, now {now}"
    );
    // The token works, and a refresh hands it back unchanged.
    let (status, body) = app
        .post(
            "/api/collections/users/auth-refresh",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token"], json!(token));
}

/// Signs in with a given user agent (a device, as the alerts tell them apart).
async fn sign_in_from(app: &TestApp, email: &str, agent: &str) -> u16 {
    reqwest::Client::new()
        .post(app.url("/api/collections/users/auth-with-password"))
        .header("User-Agent", agent)
        .json(&json!({"identity": email, "password": "Password123"}))
        .send()
        .await
        .expect("sign in")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_reported() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn().await;
    use_sink(&app, &sink).await;
    app.create_record(
        "users",
        json!({"email": "ray@example.com", "password": "Password123", "passwordConfirm": "Password123"}),
    )
    .await;
    // The first sign-in ever is not news.
    assert_eq!(
        sign_in_from(&app, "ray@example.com", "device-one").await,
        200
    );
    sink.assert_quiet("ray@example.com", 0, Duration::from_millis(500))
        .await;
    assert_eq!(
        sign_in_from(&app, "ray@example.com", "device-two").await,
        200
    );
    let mail = sink.wait_for("ray@example.com", 1).await;
    assert!(mail.decoded.contains("device-two"), "{}", mail.decoded);
    // A known device again: nothing more.
    assert_eq!(
        sign_in_from(&app, "ray@example.com", "device-two").await,
        200
    );
    assert_eq!(
        sign_in_from(&app, "ray@example.com", "device-one").await,
        200
    );
    sink.assert_quiet("ray@example.com", 1, Duration::from_millis(500))
        .await;
}

#[tokio::test]
async fn a_superuser_sends_a_test_mail_of_any_template() {
    let app = TestApp::spawn().await;
    let sink = SmtpSink::start().await;
    use_sink(&app, &sink).await;
    let token = app.superuser_token().await;
    let path = "/api/settings/test/email";
    let failed = "Failed to send the test email.";
    let (status, body) = app.post(path, Some(&token), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], failed);
    assert_eq!(body["data"]["email"]["code"], "validation_required");
    assert_eq!(body["data"]["template"]["code"], "validation_required");
    let (status, body) = app
        .post(
            path,
            Some(&token),
            json!({"email": "bad", "template": "nope", "collection": "nosuch"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["data"]["email"]["code"], "validation_is_email");
    assert_eq!(body["data"]["template"]["code"], "validation_in_invalid");
    assert_eq!(
        body["data"]["collection"]["code"],
        "validation_invalid_auth_collection"
    );
    assert_eq!(
        app.post(path, None, json!({"email": "a@b.co", "template": "otp"}))
            .await
            .0,
        401
    );

    let (status, body) = app
        .post(path, Some(&token), json!({"email": "ops@example.com", "template": "password-reset", "collection": "users"}))
        .await;
    assert_eq!(status, 204, "{body}");
    let mail = sink.wait_for("ops@example.com", 1).await;
    assert!(
        mail.subject().contains("Acme Test"),
        "subject: {}",
        mail.subject()
    );
    assert!(
        mail.decoded.contains("a-sample-token"),
        "the sample token is in the mail"
    );
}
