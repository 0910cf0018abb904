//! OAuth2 sign-in end to end against the loopback OIDC provider: the authorization URL from
//! `auth-methods`, the provider's redirect with a code, and `auth-with-oauth2` trading it
//! (with the PKCE verifier) for an account.

use serde_json::{json, Value};

use crate::common::oidc::{IdTokenPlan, OidcProvider, CLIENT_ID, CLIENT_SECRET};
use crate::common::{assert_fragment, Case, TestApp};

/// Where the provider sends the browser back; never visited, only echoed.
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn provider_config(idp: &OidcProvider, name: &str) -> Value {
    json!({
        "name": name,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "authURL": idp.url("/authorize"),
        "tokenURL": idp.url("/token"),
        "userInfoURL": idp.url("/userinfo"),
    })
}

async fn enable(app: &TestApp, providers: Value) {
    let token = app.superuser_token().await;
    let (status, body) = app
        .patch(
            "/api/collections/users",
            Some(&token),
            json!({"oauth2": {"enabled": true, "providers": providers}}),
        )
        .await;
    assert_eq!(status, 200, "enable oauth2: {body}");
}

/// What a browser does between `auth-methods` and `auth-with-oauth2`: follow the provider's
/// authorization URL and read the code off its redirect. Returns (code, codeVerifier).
async fn authorize(app: &TestApp, provider: &str) -> (String, String) {
    let (status, methods) = app.get("/api/collections/users/auth-methods", None).await;
    assert_eq!(status, 200, "{methods}");
    let info = methods["oauth2"]["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|p| p["name"] == provider)
        .unwrap_or_else(|| panic!("{provider} listed: {methods}"))
        .clone();
    assert_eq!(info["codeChallengeMethod"], "S256", "{info}");
    let url = format!(
        "{}{}",
        info["authURL"].as_str().expect("authURL"),
        encode(REDIRECT)
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client.get(&url).send().await.expect("authorize");
    assert_eq!(resp.status().as_u16(), 302, "authorize {url}");
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let query = location.split_once('?').expect("a query").1;
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(param("state"), info["state"].as_str().expect("state"));
    (
        param("code"),
        info["codeVerifier"].as_str().expect("verifier").to_string(),
    )
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn exchange(provider: &str, code: &str, verifier: &str) -> Value {
    json!({"provider": provider, "code": code, "codeVerifier": verifier, "redirectURL": REDIRECT})
}

const WITH_OAUTH2: &str = "/api/collections/users/auth-with-oauth2";

/// The whole browser round trip and the code exchange: `auth-with-oauth2`'s answer.
async fn sign_in(app: &TestApp, provider: &str) -> (u16, Value) {
    let (code, verifier) = authorize(app, provider).await;
    app.post(WITH_OAUTH2, None, exchange(provider, &code, &verifier))
        .await
}

/// An OIDC provider without a user info endpoint: the user is read from the id_token.
fn id_token_config(idp: &OidcProvider, extra: Value) -> Value {
    let mut conf = provider_config(idp, "oidc");
    conf["userInfoURL"] = json!("");
    conf["extra"] = extra;
    conf
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn an_oidc_provider_without_user_info_signs_in_from_the_id_token() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    enable(
        &app,
        json!([id_token_config(&idp, json!({"jwksURL": idp.url("/jwks")}))]),
    )
    .await;
    idp.sign_in_as(
        json!({"sub": "tok-1", "email": "ida@example.com", "email_verified": true,
                          "name": "Ida", "picture": "https://pics.example/ida.png"}),
    );
    let (status, body) = sign_in(&app, "oidc").await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"email": "ida@example.com", "verified": true, "name": "Ida"},
                "meta": {"id": "tok-1", "email": "ida@example.com", "name": "Ida",
                         "avatarURL": "https://pics.example/ida.png", "isNew": true,
                         "rawUser": {"sub": "tok-1", "aud": CLIENT_ID, "iss": idp.base}}}),
    );
    assert_eq!(idp.userinfo_calls(), 0, "the user came from the id_token");

    // Tokens the provider's keys and our client id do not vouch for.
    let refused = |why: &str, plan: IdTokenPlan| (why.to_string(), plan);
    for (why, plan) in [
        refused(
            "signed by a key the provider does not publish",
            IdTokenPlan {
                other_key: true,
                ..Default::default()
            },
        ),
        refused(
            "issued to another client",
            IdTokenPlan {
                claims: json!({"aud": "someone-else"}),
                ..Default::default()
            },
        ),
        refused(
            "without an audience",
            IdTokenPlan {
                claims: json!({"aud": null}),
                ..Default::default()
            },
        ),
        refused(
            "expired beyond the leeway",
            IdTokenPlan {
                claims: json!({"exp": unix_now() - 3600, "iat": unix_now() - 7200}),
                ..Default::default()
            },
        ),
        refused(
            "issued in the future",
            IdTokenPlan {
                claims: json!({"iat": unix_now() + 3600}),
                ..Default::default()
            },
        ),
        refused(
            "without a kid to find its key by",
            IdTokenPlan {
                no_kid: true,
                ..Default::default()
            },
        ),
    ] {
        idp.id_token(plan);
        let (status, body) = sign_in(&app, "oidc").await;
        assert_eq!(status, 400, "{why}: {body}");
        assert_fragment(
            &body,
            &json!({"message": "Failed to fetch OAuth2 user.", "data": {}}),
        );
    }
}

#[tokio::test]
async fn id_token_issuers_and_keys_are_checked_only_when_configured() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    idp.sign_in_as(json!({"sub": "tok-2", "email": "ivo@example.com", "email_verified": true}));
    // No key set: the token is trusted as the token endpoint's direct answer, any issuer goes.
    enable(&app, json!([id_token_config(&idp, json!({}))])).await;
    idp.id_token(IdTokenPlan {
        other_key: true,
        claims: json!({"iss": "https://elsewhere.example"}),
        ..Default::default()
    });
    let (status, body) = sign_in(&app, "oidc").await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(&body, &json!({"meta": {"id": "tok-2"}}));
    // The audience and times are checked all the same, times with five minutes' leeway.
    for (why, claims, expected) in [
        ("another client's", json!({"aud": "someone-else"}), 400),
        (
            "expired an hour ago",
            json!({"exp": unix_now() - 3600}),
            400,
        ),
        ("expired a minute ago", json!({"exp": unix_now() - 60}), 200),
    ] {
        idp.id_token(IdTokenPlan {
            claims,
            ..Default::default()
        });
        let (status, body) = sign_in(&app, "oidc").await;
        assert_eq!(status, expected, "{why}: {body}");
    }

    // With `issuers`, `iss` must be one of them.
    enable(
        &app,
        json!([id_token_config(
            &idp,
            json!({"jwksURL": idp.url("/jwks"), "issuers": ["https://other.example", idp.base]})
        )]),
    )
    .await;
    idp.id_token(IdTokenPlan::default());
    let (status, body) = sign_in(&app, "oidc").await;
    assert_eq!(status, 200, "the provider's own issuer: {body}");
    for iss in [json!("https://elsewhere.example"), Value::Null] {
        idp.id_token(IdTokenPlan {
            claims: json!({"iss": iss}),
            ..Default::default()
        });
        let (status, body) = sign_in(&app, "oidc").await;
        assert_eq!(status, 400, "iss {iss}: {body}");
        assert_fragment(&body, &json!({"message": "Failed to fetch OAuth2 user."}));
    }
}

#[tokio::test]
async fn sign_up_and_sign_in_with_an_oidc_provider() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    app.run(&[
        Case::post("disabled", WITH_OAUTH2, exchange("oidc", "x", "y")).expect(
            403,
            json!({"message": "The collection is not configured to allow OAuth2 authentication."}),
        ),
    ])
    .await;
    enable(&app, json!([provider_config(&idp, "oidc")])).await;
    idp.sign_in_as(
        json!({"sub": "ext-1", "email": "nia@example.com", "email_verified": true,
                          "name": "Nia", "preferred_username": "nia"}),
    );

    let (code, verifier) = authorize(&app, "oidc").await;
    let (status, first) = app
        .post(WITH_OAUTH2, None, exchange("oidc", &code, &verifier))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_fragment(
        &first,
        &json!({"record": {"email": "nia@example.com", "verified": true, "name": "Nia"},
                "meta": {"id": "ext-1", "email": "nia@example.com", "name": "Nia",
                         "username": "nia", "isNew": true, "accessToken": "access-2"}}),
    );
    assert!(first["token"].as_str().is_some_and(|t| t.len() > 20));
    let id = first["record"]["id"].clone();

    // The same external account signs in to the same record.
    let (code, verifier) = authorize(&app, "oidc").await;
    let (status, again) = app
        .post(WITH_OAUTH2, None, exchange("oidc", &code, &verifier))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_fragment(
        &again,
        &json!({"record": {"id": id}, "meta": {"isNew": false}}),
    );

    // Refusals.
    let (code, _) = authorize(&app, "oidc").await;
    app.run(&[
        Case::post(
            "wrong verifier",
            WITH_OAUTH2,
            exchange("oidc", &code, "not-the-verifier"),
        )
        .expect(
            400,
            json!({"message": "Failed to fetch OAuth2 token.", "data": {}}),
        ),
        // The provider spent the code on the failed attempt.
        Case::post("reused code", WITH_OAUTH2, exchange("oidc", &code, "x"))
            .expect(400, json!({"message": "Failed to fetch OAuth2 token."})),
        Case::post(
            "unknown provider",
            WITH_OAUTH2,
            exchange("google", "c", "v"),
        )
        .expect(
            400,
            json!({"data": {"provider": {"code": "validation_invalid_provider"}}}),
        ),
        Case::post("no code", WITH_OAUTH2, json!({"provider": "oidc"})).expect(
            400,
            json!({"data": {"code": {"code": "validation_required"}}}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn an_existing_account_is_linked_by_its_verified_email() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    enable(&app, json!([provider_config(&idp, "oidc")])).await;
    // Someone registered the address first, with a password of their choosing.
    let (id, _) = app.create_user("oli@example.com", "Password123").await;
    idp.sign_in_as(json!({"sub": "ext-2", "email": "oli@example.com", "email_verified": true}));
    let (code, verifier) = authorize(&app, "oidc").await;
    let (status, body) = app
        .post(WITH_OAUTH2, None, exchange("oidc", &code, &verifier))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"id": id, "verified": true}, "meta": {"isNew": false}}),
    );
    // The unverified account's password did not survive the provider's proof of the address.
    let (status, _) = app
        .post(
            "/api/collections/users/auth-with-password",
            None,
            json!({"identity": "oli@example.com", "password": "Password123"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_unverified_provider_email_is_not_trusted() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    enable(&app, json!([provider_config(&idp, "oidc")])).await;
    let (id, _) = app.create_user("pat@example.com", "Password123").await;
    idp.sign_in_as(json!({"sub": "ext-3", "email": "pat@example.com", "email_verified": false}));
    let (code, verifier) = authorize(&app, "oidc").await;
    let (status, body) = app
        .post(
            WITH_OAUTH2,
            None,
            json!({"provider": "oidc", "code": code, "codeVerifier": verifier,
                   "redirectURL": REDIRECT, "createData": {"email": "pat.other@example.com"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A new account, not Pat's.
    assert_ne!(body["record"]["id"], json!(id));
    assert_fragment(
        &body,
        &json!({"record": {"email": "pat.other@example.com", "verified": false},
                                   "meta": {"email": "", "isNew": true}}),
    );
}

#[tokio::test]
async fn a_named_provider_with_its_own_user_shape() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    // GitHub's endpoints pointed at the loopback provider, which answers in GitHub's shape.
    enable(&app, json!([provider_config(&idp, "github")])).await;
    idp.sign_in_as(json!({"id": 4242, "login": "octo", "name": "Octo Cat",
                          "avatar_url": "https://avatars.example/octo.png"}));
    idp.set_emails(json!([
        {"email": "old@example.com", "primary": false, "verified": true},
        {"email": "octo@example.com", "primary": true, "verified": true}
    ]));
    let (code, verifier) = authorize(&app, "github").await;
    let (status, body) = app
        .post(WITH_OAUTH2, None, exchange("github", &code, &verifier))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"email": "octo@example.com", "name": "Octo Cat", "verified": true},
                "meta": {"id": "4242", "username": "octo", "email": "octo@example.com",
                         "avatarURL": "https://avatars.example/octo.png"}}),
    );
}

#[tokio::test]
async fn providers_listing_and_redirect() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    let (status, list) = app
        .get("/api/collections/meta/oauth2-providers", Some(&su))
        .await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "apple",
        "google",
        "microsoft",
        "github",
        "gitlab",
        "discord",
        "oidc",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    app.run(&[Case::get("guests may not", "/api/collections/meta/oauth2-providers").status(401)])
        .await;
    // A redirect nobody is waiting for lands on the failure page.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client
        .get(app.url("/api/oauth2-redirect?state=nobody&code=x"))
        .send()
        .await
        .expect("redirect");
    assert_eq!(resp.status().as_u16(), 307);
    assert_eq!(
        resp.headers()["location"],
        "../_/#/auth/oauth2-redirect-failure"
    );
}

#[tokio::test]
async fn client_secrets_are_kept_and_never_shown() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    enable(&app, json!([provider_config(&idp, "oidc")])).await;
    let su = app.superuser_token().await;
    let (status, users) = app.get("/api/collections/users", Some(&su)).await;
    assert_eq!(status, 200);
    assert_fragment(
        &users,
        &json!({"oauth2": {"enabled": true, "providers": [{"name": "oidc", "clientId": CLIENT_ID,
            "pkce": null, "displayName": "", "extra": {}}]}}),
    );
    assert!(!users.to_string().contains(CLIENT_SECRET), "{users}");
    // What a dashboard sends back after showing the provider: everything but the secret.
    let mut resent = provider_config(&idp, "oidc");
    resent
        .as_object_mut()
        .expect("object")
        .remove("clientSecret");
    enable(&app, json!([resent])).await;
    idp.sign_in_as(json!({"sub": "ext-9", "email": "quin@example.com", "email_verified": true}));
    let (code, verifier) = authorize(&app, "oidc").await;
    let (status, body) = app
        .post(WITH_OAUTH2, None, exchange("oidc", &code, &verifier))
        .await;
    assert_eq!(status, 200, "the stored secret still works: {body}");

    app.run(&[
        Case::patch("unknown provider", "/api/collections/users",
            json!({"oauth2": {"providers": [{"name": "nope", "clientId": "x", "clientSecret": "y"}]}}))
        .superuser()
        .expect(400, json!({"message": "Failed to update collection.", "data": {"oauth2": {"providers": {"0": {
            "name": {"code": "validation_missing_provider"}}}}}})),
        Case::patch("no credentials", "/api/collections/users",
            json!({"oauth2": {"providers": [{"name": "gitlab", "clientId": "", "clientSecret": ""}]}}))
        .superuser()
        .expect(400, json!({"data": {"oauth2": {"providers": {"0": {
            "clientId": {"code": "validation_required"},
            "clientSecret": {"code": "validation_required"}}}}}})),
    ])
    .await;
}

/// Reads SSE frames until one carries `event:{name}`; its data. None after `wait`.
async fn sse_event(
    resp: &mut reqwest::Response,
    buf: &mut String,
    name: &str,
    wait: std::time::Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let field = |key: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap_or("")
                    .to_string()
            };
            if field("event:") == name {
                return serde_json::from_str(&field("data:")).ok();
            }
        }
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            _ => return None,
        }
    }
}

/// What the SDK does before sending the browser to the provider: opens the realtime stream and
/// subscribes to `@oauth2`. Returns the stream, what was read of it, and the client id.
async fn waiting_client(
    app: &TestApp,
    wait: std::time::Duration,
) -> (reqwest::Response, String, String) {
    let mut stream = reqwest::Client::new()
        .get(app.url("/api/realtime"))
        .send()
        .await
        .expect("connect");
    let mut buf = String::new();
    let connect = sse_event(&mut stream, &mut buf, "PB_CONNECT", wait)
        .await
        .expect("PB_CONNECT");
    let client_id = connect["clientId"].as_str().expect("clientId").to_string();
    let (status, body) = app
        .post(
            "/api/realtime",
            None,
            json!({"clientId": client_id, "subscriptions": ["@oauth2"]}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    (stream, buf, client_id)
}

/// The SDK's all-in-one flow: it waits on the realtime topic `@oauth2` while the browser goes
/// to the provider, and the provider's redirect to `/api/oauth2-redirect` hands it the code.
#[tokio::test]
async fn the_redirect_reaches_the_waiting_client() {
    let app = TestApp::spawn().await;
    let wait = std::time::Duration::from_secs(5);
    let (mut stream, mut buf, client_id) = waiting_client(&app, wait).await;

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = |code: &str| {
        browser
            .get(app.url(&format!(
                "/api/oauth2-redirect?state={client_id}&code={code}"
            )))
            .send()
    };
    let resp = redirect("the-code").await.expect("redirect");
    assert_eq!(resp.status().as_u16(), 307);
    assert_eq!(
        resp.headers()["location"],
        "../_/#/auth/oauth2-redirect-success"
    );
    let message = sse_event(&mut stream, &mut buf, "@oauth2", wait)
        .await
        .expect("an @oauth2 message");
    assert_fragment(&message, &json!({"state": client_id, "code": "the-code"}));
    // The subscription served its one purpose.
    let again = redirect("another").await.expect("redirect");
    assert_eq!(
        again.headers()["location"],
        "../_/#/auth/oauth2-redirect-failure"
    );
}

/// Apple posts its answer (`response_mode=form_post`) with a `user` field holding the name it
/// gives only once. The redirect still reaches the waiting client with `{state, code}` and a
/// 303 (a POST's redirect), and the name is not passed on to the client; it is kept for the
/// sign-in with that code (`redirect_name`'s unit tests; Apple's fixed key URL keeps its
/// sign-in off loopback).
#[tokio::test]
async fn apple_form_post_reaches_the_waiting_client() {
    let app = TestApp::spawn().await;
    let wait = std::time::Duration::from_secs(5);
    let (mut stream, mut buf, client_id) = waiting_client(&app, wait).await;

    let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.com"}"#;
    let form = format!(
        "state={}&code=apple-code&user={}",
        encode(&client_id),
        encode(user)
    );
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(app.url("/api/oauth2-redirect"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("redirect");
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        "../_/#/auth/oauth2-redirect-success"
    );
    let message = sse_event(&mut stream, &mut buf, "@oauth2", wait)
        .await
        .expect("an @oauth2 message");
    assert_eq!(
        message,
        json!({"state": client_id, "code": "apple-code"}),
        "the name stays on the server"
    );
}

/// Microsoft's user comes from Graph's `/me`; its email from `mail`, or, when
/// `extra.idTokenEmailClaim` says so, from the id_token (which `openid` then asks for).
#[tokio::test]
async fn microsoft_email_from_graph_or_the_id_token() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    enable(&app, json!([provider_config(&idp, "microsoft")])).await;
    idp.sign_in_as(json!({"id": "ms-1", "displayName": "Mo Soft", "mail": "mo@example.com"}));
    idp.id_token(IdTokenPlan {
        claims: json!({"email": "mo.claim@example.com"}),
        ..Default::default()
    });
    let (status, body) = sign_in(&app, "microsoft").await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"email": "mo@example.com", "name": "Mo Soft"},
                "meta": {"id": "ms-1", "email": "mo@example.com"}}),
    );

    let mut conf = provider_config(&idp, "microsoft");
    conf["extra"] = json!({"idTokenEmailClaim": "email_and_xms_edov"});
    enable(&app, json!([conf])).await;
    let (_, methods) = app.get("/api/collections/users/auth-methods", None).await;
    let url = methods["oauth2"]["providers"][0]["authURL"]
        .as_str()
        .expect("authURL");
    assert!(url.contains("scope=User.Read+openid"), "{url}");
    // The domain owner is not verified: no email is trusted (not Graph's either), and an
    // account cannot be made without one (the records API's refusal, as in PocketBase).
    idp.sign_in_as(json!({"id": "ms-2", "displayName": "Ms Two", "mail": "two@example.com"}));
    idp.id_token(IdTokenPlan {
        claims: json!({"email": "two@example.com", "xms_edov": false}),
        ..Default::default()
    });
    let (status, body) = sign_in(&app, "microsoft").await;
    assert_eq!(status, 400, "{body}");
    assert_fragment(
        &body,
        &json!({"message": "Failed to create record.",
                "data": {"email": {"code": "validation_required"}}}),
    );
    idp.sign_in_as(json!({"id": "ms-3", "displayName": "Ms Three", "mail": "graph3@example.com"}));
    idp.id_token(IdTokenPlan {
        claims: json!({"email": "three@example.com", "xms_edov": true}),
        ..Default::default()
    });
    let (status, body) = sign_in(&app, "microsoft").await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"email": "three@example.com", "verified": true},
                "meta": {"email": "three@example.com"}}),
    );
}

/// A 2x2 PNG.
fn small_png() -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(2, 2, image::Rgba([200, 30, 60, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode a PNG");
    out.into_inner()
}

/// The default users collection maps `avatarURL` to its `avatar` file field: the picture is
/// downloaded and stored like an upload. A download that fails leaves the field empty and
/// the sign-up goes on.
#[tokio::test]
async fn the_avatar_is_downloaded_into_the_file_field() {
    let idp = OidcProvider::start().await;
    // The test provider is on loopback, which avatar downloads refuse unless allowed.
    let app = TestApp::spawn_with_args(&["--oauth2-avatar-private-hosts"]).await;
    enable(&app, json!([provider_config(&idp, "oidc")])).await;

    // Nothing served yet: a 404.
    idp.sign_in_as(
        json!({"sub": "av-1", "email": "no.pic@example.com", "email_verified": true,
                          "picture": idp.url("/avatar.png")}),
    );
    let (status, body) = sign_in(&app, "oidc").await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"avatar": ""}, "meta": {"avatarURL": idp.url("/avatar.png")}}),
    );

    let png = small_png();
    idp.serve_avatar(png.clone());
    idp.sign_in_as(
        json!({"sub": "av-2", "email": "pic@example.com", "email_verified": true,
                          "name": "Pic", "picture": idp.url("/avatar.png")}),
    );
    let (status, body) = sign_in(&app, "oidc").await;
    assert_eq!(status, 200, "{body}");
    let name = body["record"]["avatar"].as_str().expect("a file name");
    assert!(
        name.starts_with("avatar_") && name.ends_with(".png") && name.len() > "avatar_.png".len(),
        "a stored name: {name}"
    );
    let path = format!(
        "/api/files/{}/{}/{name}",
        body["record"]["collectionId"]
            .as_str()
            .expect("collectionId"),
        body["record"]["id"].as_str().expect("id")
    );
    let resp = reqwest::get(app.url(&path)).await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.expect("bytes").to_vec(), png);
    // A thumbnail is made from it like from any upload.
    let resp = reqwest::get(app.url(&format!("{path}?thumb=100x100")))
        .await
        .expect("thumb");
    assert_eq!(resp.status().as_u16(), 200);
    let thumb = image::load_from_memory(&resp.bytes().await.expect("bytes")).expect("an image");
    assert_eq!((thumb.width(), thumb.height()), (100, 100));
}

/// As in PocketBase, an avatar on a loopback or private address is not fetched (a provider
/// must not make the server probe its own network); the account is created without it.
#[tokio::test]
async fn an_avatar_on_a_private_address_is_not_fetched() {
    let idp = OidcProvider::start().await;
    let app = TestApp::spawn().await;
    enable(&app, json!([provider_config(&idp, "oidc")])).await;
    idp.serve_avatar(small_png());
    idp.sign_in_as(
        json!({"sub": "av-3", "email": "local@example.com", "email_verified": true,
                          "picture": idp.url("/avatar.png")}),
    );
    let (status, body) = sign_in(&app, "oidc").await;
    assert_eq!(status, 200, "{body}");
    assert_fragment(
        &body,
        &json!({"record": {"email": "local@example.com", "avatar": ""},
                "meta": {"avatarURL": idp.url("/avatar.png"), "isNew": true}}),
    );
}
