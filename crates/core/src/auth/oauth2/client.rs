//! The server's side of the authorization code flow: trade the code (and PKCE verifier) for
//! tokens at the provider, then read who the user is.

use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::id_token;
use super::providers::{
    map_user, microsoft_email, AuthUser, Mapping, APPLE_ISSUER, APPLE_JWKS_URL,
    MICROSOFT_EMAIL_CLAIM,
};
use super::Provider;

/// How long one call to a provider may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong talking to a provider (logged; the client only learns which step failed).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the token exchange failed: {0}")]
    Token(String),
    #[error("reading the user failed: {0}")]
    User(String),
}

fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent("motorbase")
        .build()
        .map_err(|e| e.to_string())
}

/// The provider's token answer.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub id_token: String,
    pub expires_in: Option<i64>,
}

/// Exchanges an authorization code.
pub async fn exchange(
    p: &Provider,
    code: &str,
    code_verifier: &str,
    redirect_url: &str,
) -> Result<Tokens, ProviderError> {
    let fail = ProviderError::Token;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_url),
        ("client_id", p.client_id.as_str()),
        ("client_secret", p.client_secret.as_str()),
    ];
    if p.pkce && !code_verifier.is_empty() {
        form.push(("code_verifier", code_verifier));
    }
    let resp = http()
        .map_err(fail)?
        .post(&p.token_url)
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| fail(e.to_string()))?;
    // JSON, or a form-encoded body from providers that ignore `Accept`.
    let body: Map<String, Json> = serde_json::from_str(&text).unwrap_or_else(|_| {
        text.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), Json::String(v.to_string())))
            .collect()
    });
    let field = |k: &str| body.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    if !status.is_success() || field("access_token").is_empty() {
        return Err(fail(format!(
            "status {status}, error {:?}",
            body.get("error").cloned().unwrap_or(Json::Null)
        )));
    }
    Ok(Tokens {
        access_token: field("access_token"),
        refresh_token: field("refresh_token"),
        id_token: field("id_token"),
        expires_in: body.get("expires_in").and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        }),
    })
}

async fn get_json(url: &str, access_token: &str) -> Result<Json, ProviderError> {
    let fail = ProviderError::User;
    let mut req = http().map_err(fail)?.get(url);
    // A key set is public: no token goes to it.
    if !access_token.is_empty() {
        req = req.bearer_auth(access_token);
    }
    let resp = req
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("status {}", resp.status())));
    }
    resp.json::<Json>().await.map_err(|e| fail(e.to_string()))
}

/// Who the tokens belong to.
pub async fn fetch_user(p: &Provider, tokens: &Tokens) -> Result<AuthUser, ProviderError> {
    let raw: Map<String, Json> = if p.mapping == Mapping::Apple
        || (p.mapping == Mapping::Oidc && p.user_info_url.is_empty())
    {
        id_token_claims(p, &tokens.id_token).await?
    } else {
        match get_json(&p.user_info_url, &tokens.access_token).await? {
            Json::Object(o) => o,
            _ => {
                return Err(ProviderError::User(
                    "the user document is not an object".into(),
                ))
            }
        }
    };
    let mut user = map_user(p.mapping, raw);
    if p.mapping == Mapping::GitHub {
        user.email = github_primary_email(p, &tokens.access_token).await;
    }
    if p.mapping == Mapping::Microsoft {
        if let Some(rule) = p.extra.get(MICROSOFT_EMAIL_CLAIM).and_then(Json::as_str) {
            let claims = trusted_id_token_claims(&tokens.id_token);
            user.email = microsoft_email(rule, &user.email, &claims);
        }
    }
    if user.id.is_empty() {
        return Err(ProviderError::User("no user id".into()));
    }
    user.access_token = tokens.access_token.clone();
    user.refresh_token = tokens.refresh_token.clone();
    if let Some(secs) = tokens.expires_in.filter(|s| *s > 0) {
        user.expiry =
            crate::util::format_time(chrono::Utc::now() + chrono::Duration::seconds(secs));
    }
    Ok(user)
}

fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// The claims of an id_token that came straight from the token endpoint, checked only for its
/// times (how PocketBase reads Microsoft's optional email claims); empty when it has none or
/// they fail.
fn trusted_id_token_claims(id_token: &str) -> Map<String, Json> {
    let checks = id_token::Checks {
        leeway: id_token::leeway(),
        ..Default::default()
    };
    id_token::unverified_claims(id_token)
        .and_then(|c| id_token::check_claims(&c, &checks, now_secs()).map(|_| c))
        .unwrap_or_default()
}

/// GitHub's verified primary address, from its separate emails endpoint; empty if none.
async fn github_primary_email(p: &Provider, access_token: &str) -> String {
    let url = format!("{}/emails", p.user_info_url.trim_end_matches('/'));
    let Ok(Json::Array(list)) = get_json(&url, access_token).await else {
        return String::new();
    };
    list.iter()
        .find(|e| {
            e.get("primary").and_then(Json::as_bool) == Some(true)
                && e.get("verified").and_then(Json::as_bool) == Some(true)
        })
        .and_then(|e| e.get("email").and_then(Json::as_str))
        .unwrap_or("")
        .to_string()
}

/// The claims of an `id_token`, for providers whose user is only in it: its times and
/// audience checked (and Apple's issuer, or an OIDC provider's `extra.issuers`), its signature
/// against the provider's published keys (Apple's, or an OIDC provider's `extra.jwksURL`).
/// Without keys the token is trusted as a direct answer of the token endpoint over TLS, as
/// OpenID Connect allows and PocketBase does.
async fn id_token_claims(p: &Provider, token: &str) -> Result<Map<String, Json>, ProviderError> {
    let fail = ProviderError::User;
    if token.is_empty() {
        return Err(fail("empty id_token".into()));
    }
    let apple = p.mapping == Mapping::Apple;
    let claims = id_token::unverified_claims(token).map_err(fail)?;
    let checks = id_token::Checks {
        audience: Some(p.client_id.clone()),
        issuers: if apple {
            vec![APPLE_ISSUER.to_string()]
        } else {
            id_token::issuers_option(p.extra.get("issuers"))
        },
        require_exp: apple,
        leeway: id_token::leeway(),
    };
    id_token::check_claims(&claims, &checks, now_secs()).map_err(fail)?;
    let jwks_url = if apple {
        APPLE_JWKS_URL.to_string()
    } else {
        p.extra_str("jwksURL")
    };
    if !jwks_url.is_empty() {
        let jwks = get_json(&jwks_url, "").await?;
        id_token::check_signature(token, &jwks).map_err(fail)?;
    }
    Ok(claims)
}
