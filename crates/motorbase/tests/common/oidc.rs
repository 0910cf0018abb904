//! A small OpenID Connect provider on loopback for the OAuth2 tests: an authorization endpoint
//! that approves at once (redirecting with a code), a token endpoint that checks the client
//! secret, redirect URI and PKCE verifier and also answers with an RS256-signed `id_token`,
//! its key set at `/jwks`, a user info endpoint (plus GitHub's `/emails`), and an avatar image.
//! The signing keys are test-only fixtures (`tests/fixtures/oidc/`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";
/// The `kid` of the published key (`fixtures/oidc/jwk.json`).
pub const KEY_ID: &str = "motorbase-test-1";

const SIGNING_KEY: &str = include_str!("../fixtures/oidc/key.pem");
const OTHER_KEY: &str = include_str!("../fixtures/oidc/other_key.pem");
const JWK: &str = include_str!("../fixtures/oidc/jwk.json");

/// How the next id_token is made.
#[derive(Clone)]
pub struct IdTokenPlan {
    /// Sign with the unpublished key instead (the signature cannot verify).
    pub other_key: bool,
    /// Claims set over the defaults (`iss`, `aud`, `iat`, `exp` and the user's); `null`
    /// removes one.
    pub claims: Value,
    /// Leave `kid` out of the header.
    pub no_kid: bool,
}

impl Default for IdTokenPlan {
    fn default() -> Self {
        IdTokenPlan {
            other_key: false,
            claims: json!({}),
            no_kid: false,
        }
    }
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    user: Value,
    id_token: IdTokenPlan,
}

#[derive(Default)]
struct Provider {
    /// Who the next authorization signs in.
    next_user: Value,
    /// GitHub-style `/emails` answer.
    emails: Value,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Value>,
    counter: u64,
    /// How the id_token of the next authorization is made.
    next_id_token: IdTokenPlan,
    /// The issuer its id tokens name by default (the provider's base URL).
    issuer: String,
    /// What `/avatar.png` serves.
    avatar: Vec<u8>,
    /// Requests to `/userinfo`, to tell which way a sign-in read the user.
    userinfo_calls: u64,
}

type Shared = Arc<Mutex<Provider>>;

pub struct OidcProvider {
    pub base: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OidcProvider {
    pub async fn start() -> OidcProvider {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .route("/userinfo/emails", get(emails))
            .route("/jwks", get(jwks))
            .route("/avatar.png", get(avatar))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the OIDC provider");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        state.lock().expect("provider lock").issuer = base.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OidcProvider { base, state, task }
    }

    /// How the id_token of the next sign-in is made.
    pub fn id_token(&self, plan: IdTokenPlan) {
        self.state.lock().expect("provider lock").next_id_token = plan;
    }

    /// The bytes `/avatar.png` serves.
    pub fn serve_avatar(&self, png: Vec<u8>) {
        self.state.lock().expect("provider lock").avatar = png;
    }

    pub fn userinfo_calls(&self) -> u64 {
        self.state.lock().expect("provider lock").userinfo_calls
    }

    /// The user the next sign-in brings back (an OIDC claims document, or a provider's own).
    pub fn sign_in_as(&self, user: Value) {
        self.state.lock().expect("provider lock").next_user = user;
    }

    /// What `/userinfo/emails` answers (GitHub's shape).
    pub fn set_emails(&self, emails: Value) {
        self.state.lock().expect("provider lock").emails = emails;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn form_decode(body: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn authorize(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" || get("client_id") != CLIENT_ID {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let mut p = state.lock().expect("provider lock");
    p.counter += 1;
    let code = format!("code-{}", p.counter);
    let grant = Grant {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        challenge: get("code_challenge"),
        user: p.next_user.clone(),
        id_token: p.next_id_token.clone(),
    };
    p.codes.insert(code.clone(), grant);
    let sep = if get("redirect_uri").contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{sep}code={code}&state={}",
        get("redirect_uri"),
        get("state")
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut f = form_decode(&body);
    // Client credentials may come as HTTP Basic instead (RFC 6749 2.3.1).
    if let Some((id, secret)) = basic_credentials(&headers) {
        f.insert("client_id".into(), id);
        f.insert("client_secret".into(), secret);
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    let mut p = state.lock().expect("provider lock");
    // A code is good once.
    let Some(grant) = p.codes.remove(&get("code")) else {
        return refuse("unknown code");
    };
    if get("grant_type") != "authorization_code"
        || get("client_id") != grant.client_id
        || get("client_secret") != CLIENT_SECRET
    {
        return refuse("bad client");
    }
    if get("redirect_uri") != grant.redirect_uri {
        return refuse("redirect_uri mismatch");
    }
    if grant.challenge.is_empty() || s256(&get("code_verifier")) != grant.challenge {
        return refuse("PKCE verification failed");
    }
    p.counter += 1;
    let access = format!("access-{}", p.counter);
    let id_token = sign_id_token(&p.issuer, &grant.user, &grant.id_token);
    p.tokens.insert(access.clone(), grant.user);
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": format!("refresh-{}", p.counter),
        "id_token": id_token,
    }))
    .into_response()
}

/// The DER body of a PEM file (the fixtures carry a comment line before it).
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("a PEM fixture")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// An id_token for `user`, made as `plan` says.
fn sign_id_token(issuer: &str, user: &Value, plan: &IdTokenPlan) -> String {
    let now = now_secs();
    let mut claims = json!({"iss": issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 600});
    let target = claims.as_object_mut().expect("an object");
    for source in [user, &plan.claims] {
        for (k, v) in source.as_object().into_iter().flatten() {
            if v.is_null() {
                target.remove(k);
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    if !plan.no_kid {
        header.kid = Some(KEY_ID.to_string());
    }
    let pem = if plan.other_key {
        OTHER_KEY
    } else {
        SIGNING_KEY
    };
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&pem_der(pem));
    jsonwebtoken::encode(&header, &claims, &key).expect("sign the id_token")
}

async fn jwks() -> Response {
    let key: Value = serde_json::from_str(JWK).expect("the JWK fixture");
    Json(json!({"keys": [key]})).into_response()
}

async fn avatar(State(state): State<Shared>) -> Response {
    let png = state.lock().map(|p| p.avatar.clone()).unwrap_or_default();
    if png.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "image/png")], png).into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let (id, secret) = (
        form_decode(&format!("v={id}")),
        form_decode(&format!("v={secret}")),
    );
    Some((id.get("v")?.clone(), secret.get("v")?.clone()))
}

fn bearer_user(state: &Shared, headers: &HeaderMap) -> Option<Value> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_string();
    state.lock().ok()?.tokens.get(&token).cloned()
}

async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Ok(mut p) = state.lock() {
        p.userinfo_calls += 1;
    }
    match bearer_user(&state, &headers) {
        Some(user) => Json(user).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn emails(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if bearer_user(&state, &headers).is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let emails = state
        .lock()
        .map(|p| p.emails.clone())
        .unwrap_or(Value::Null);
    Json(emails).into_response()
}
