//! Signing in with an external account (authorization code flow with PKCE): `auth-methods`
//! hands out each enabled provider's authorization URL with a fresh state and code challenge;
//! `auth-with-oauth2` trades the returned code for the external user, then finds, links or
//! creates the account.

pub mod avatar;
pub mod client;
pub mod config;
pub mod id_token;
pub mod providers;
pub mod redirect_name;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value as Json};

use super::bookkeeping::{self, EXTERNAL_AUTHS};
use super::error::{AuthError, AuthResult, FormErrors};
use super::load_full;
use super::lookup::{find_by_email, is_verified, save_changes, text};
use crate::collections::Collection;
use crate::error::FieldError;
use crate::hooks::{AuthEvent, AuthEventKind};
use crate::rules::RequestCtx;
use crate::util::random_alnum;
use crate::Backend;
use providers::{spec, AuthUser, Mapping};

/// One provider as a collection enables it: the built-in spec with the collection's settings.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub user_info_url: String,
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub mapping: Mapping,
    pub extra: Map<String, Json>,
}

impl Provider {
    pub fn extra_str(&self, key: &str) -> String {
        self.extra
            .get(key)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    }
}

pub fn enabled(c: &Collection) -> bool {
    c.options
        .get("oauth2")
        .and_then(|o| o.get("enabled"))
        .and_then(Json::as_bool)
        .unwrap_or(false)
}

/// The collection's configured providers that name a known provider, in their order.
pub fn providers(c: &Collection) -> Vec<Provider> {
    let list = c
        .options
        .get("oauth2")
        .and_then(|o| o.get("providers"))
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter_map(|conf| {
            let get = |k: &str| conf.get(k).and_then(Json::as_str).unwrap_or("").to_string();
            let name = get("name");
            let spec = spec(&name)?;
            let or = |k: &str, default: &str| {
                let v = get(k);
                if v.is_empty() {
                    default.to_string()
                } else {
                    v
                }
            };
            let extra = conf
                .get("extra")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            let mut scopes: Vec<String> = spec.scopes.iter().map(|s| s.to_string()).collect();
            // Microsoft's email claims come in the id_token, which only `openid` asks for.
            if spec.mapping == Mapping::Microsoft
                && extra
                    .get(providers::MICROSOFT_EMAIL_CLAIM)
                    .is_some_and(|v| !matches!(v, Json::Null) && v != "")
                && !scopes.iter().any(|s| s == "openid")
            {
                scopes.push("openid".into());
            }
            Some(Provider {
                display_name: or("displayName", spec.display_name),
                client_id: get("clientId"),
                client_secret: get("clientSecret"),
                auth_url: or("authURL", spec.auth_url),
                token_url: or("tokenURL", spec.token_url),
                user_info_url: or("userInfoURL", spec.user_info_url),
                scopes,
                pkce: conf
                    .get("pkce")
                    .and_then(Json::as_bool)
                    .unwrap_or(spec.pkce),
                mapping: spec.mapping,
                extra,
                name,
            })
        })
        .collect()
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `BASE64URL(SHA-256(verifier))`, the S256 code challenge.
pub fn s256_challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// What `auth-methods` lists for one provider: a fresh state and PKCE pair, and the
/// authorization URL ending in `redirect_uri=` for the client to complete.
pub fn provider_info(p: &Provider) -> Json {
    let state = random_alnum(30);
    let (verifier, challenge, method) = if p.pkce {
        let v = random_alnum(43);
        let c = s256_challenge(&v);
        (v, c, "S256")
    } else {
        (String::new(), String::new(), "")
    };
    let mut params: Vec<(&str, String)> = vec![("client_id", p.client_id.clone())];
    if p.pkce {
        params.push(("code_challenge", challenge.clone()));
        params.push(("code_challenge_method", method.to_string()));
    }
    if p.mapping == Mapping::Apple {
        // Apple posts the result back when it is asked for name or email.
        params.push(("response_mode", "form_post".into()));
    }
    params.push(("response_type", "code".into()));
    params.push(("scope", p.scopes.join(" ")));
    params.push(("state", state.clone()));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect();
    let sep = if p.auth_url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}{}&redirect_uri=", p.auth_url, query.join("&"));
    json!({
        "name": p.name,
        "displayName": p.display_name,
        "logo": "",
        "state": state,
        "authURL": url,
        "authUrl": url,
        "codeVerifier": verifier,
        "codeChallenge": challenge,
        "codeChallengeMethod": method,
    })
}

/// The refusal that comes before the body is read: OAuth2 sign-in must be on.
pub fn precheck(c: &Collection) -> AuthResult<()> {
    if !enabled(c) {
        return Err(AuthError::Forbidden(
            "The collection is not configured to allow OAuth2 authentication.".into(),
        ));
    }
    Ok(())
}

/// The `auth-with-oauth2` form.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub provider: String,
    pub code: String,
    pub code_verifier: String,
    pub redirect_url: String,
    pub create_data: Map<String, Json>,
}

/// The outcome: the account and the sign-in's `meta`.
#[derive(Debug)]
pub struct Outcome {
    pub record: Map<String, Json>,
    pub meta: Json,
}

/// Trades the code for the external user and finds, links or creates the account. `ctx` is
/// the request's (a signed-in caller of this collection links the external account to
/// themselves; a new account is created under the collection's create rule).
pub async fn authenticate(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    form: Form,
    ctx: &RequestCtx,
) -> AuthResult<Outcome> {
    precheck(c)?;
    let configured = providers(c);
    let mut errors = FormErrors::default();
    let provider = configured.iter().find(|p| p.name == form.provider);
    if form.provider.is_empty() {
        errors.required("provider");
    } else if provider.is_none() {
        errors.add_error(
            "provider",
            FieldError::new(
                "validation_invalid_provider",
                format!(
                    "Provider with name {} is missing or is not enabled.",
                    form.provider
                ),
            )
            .with_params(json!({"name": form.provider})),
        );
    }
    if form.code.is_empty() {
        errors.required("code");
    }
    errors.finish().map_err(|e| match e {
        AuthError::Invalid(data) => AuthError::Core(crate::CoreError::validation(
            "An error occurred while loading the submitted data.",
            data,
        )),
        other => other,
    })?;
    let Some(provider) = provider else {
        return Err(AuthError::BadRequest(
            "Missing or invalid provider config.".into(),
        ));
    };
    let tokens = client::exchange(
        provider,
        &form.code,
        &form.code_verifier,
        &form.redirect_url,
    )
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, provider = %provider.name, "OAuth2 code exchange failed");
        AuthError::BadRequest("Failed to fetch OAuth2 token.".into())
    })?;
    let mut user = client::fetch_user(provider, &tokens).await.map_err(|e| {
        tracing::warn!(error = %e, provider = %provider.name, "OAuth2 user fetch failed");
        AuthError::BadRequest("Failed to fetch OAuth2 user.".into())
    })?;
    // Apple's id_token has no name: it came once, posted with this code to the redirect.
    if provider.mapping == Mapping::Apple && user.name.is_empty() {
        if let Some(name) = backend.auth.redirect_names.take(&form.code) {
            user.name = name;
        }
    }
    link_or_create(backend, c, provider, user, form.create_data, ctx).await
}

async fn link_or_create(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    provider: &Provider,
    user: AuthUser,
    create_data: Map<String, Json>,
    ctx: &RequestCtx,
) -> AuthResult<Outcome> {
    let links = bookkeeping::find(
        backend,
        EXTERNAL_AUTHS,
        &[
            ("collectionRef", &c.id),
            ("provider", &provider.name),
            ("providerId", &user.id),
        ],
    )
    .await?;
    let mut link = links.into_iter().next();
    let caller = ctx
        .auth
        .as_ref()
        .filter(|a| a.collection.id == c.id)
        .map(|a| a.record.clone());
    let existing = match &link {
        Some(l) => Some(
            load_full(backend, c, text(l, "recordRef"))
                .await?
                .ok_or_else(|| AuthError::BadRequest("Failed to authenticate.".into()))?,
        ),
        None if caller.is_some() => caller.clone(),
        None if !user.email.is_empty() => find_by_email(backend, c, &user.email).await?,
        None => None,
    };
    let mut event = AuthEvent::new(AuthEventKind::AuthWithOAuth2, c).method("oauth2");
    event.record = existing.clone();
    backend.hooks.trigger_auth(&event)?;
    let is_new = existing.is_none();
    let record = match existing {
        None => {
            if c.is_superusers() {
                return Err(AuthError::BadRequest("Failed to authenticate.".into()));
            }
            create_account(backend, c, &user, create_data, ctx).await?
        }
        Some(record) => {
            let id = text(&record, "id").to_string();
            let signed_in_as_it = caller.as_ref().is_some_and(|r| text(r, "id") == id);
            let mut changes = Map::new();
            if !is_verified(&record) {
                // An unverified account may have been pre-created by someone else: their
                // password and other provider links must not survive this sign-in.
                if !signed_in_as_it {
                    let pw = random_alnum(30);
                    changes.insert("password".into(), Json::String(pw.clone()));
                    changes.insert("passwordConfirm".into(), Json::String(pw));
                }
                for other in bookkeeping::find(
                    backend,
                    EXTERNAL_AUTHS,
                    &[("collectionRef", &c.id), ("recordRef", &id)],
                )
                .await?
                {
                    bookkeeping::delete(backend, EXTERNAL_AUTHS, text(&other, "id")).await?;
                }
                link = None;
            }
            let email = text(&record, "email").to_string();
            if email.is_empty() && !user.email.is_empty() {
                changes.insert("email".into(), Json::String(user.email.clone()));
            }
            if !is_verified(&record) && (email.is_empty() || email == user.email) {
                changes.insert("verified".into(), Json::Bool(true));
            }
            if changes.is_empty() {
                record
            } else {
                save_changes(backend, c, &id, changes)
                    .await
                    .map_err(failed_to_authenticate)?
            }
        }
    };
    if link.is_none() {
        bookkeeping::insert(
            backend,
            EXTERNAL_AUTHS,
            &[
                ("collectionRef", &c.id),
                ("recordRef", text(&record, "id")),
                ("provider", &provider.name),
                ("providerId", &user.id),
            ],
        )
        .await?;
    }
    Ok(Outcome {
        meta: user.meta(is_new),
        record,
    })
}

/// A failed save of the account: its field errors under PocketBase's sign-in message.
fn failed_to_authenticate(e: crate::CoreError) -> AuthError {
    match e {
        crate::CoreError::Validation { data, .. } => AuthError::Core(crate::CoreError::validation(
            "Failed to authenticate.",
            data,
        )),
        other => AuthError::Core(other),
    }
}

/// A new account from the external user (the client's `createData` wins over the mapped
/// fields), created through the records API under the collection's create rule. That API's
/// refusal is the answer as it stands ("Failed to create record.", as PocketBase's internal
/// create request answers).
async fn create_account(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    user: &AuthUser,
    mut data: Map<String, Json>,
    ctx: &RequestCtx,
) -> AuthResult<Map<String, Json>> {
    if data
        .get("email")
        .and_then(Json::as_str)
        .unwrap_or("")
        .is_empty()
    {
        data.insert("email".into(), Json::String(user.email.clone()));
    }
    let mapped = c
        .options
        .get("oauth2")
        .and_then(|o| o.get("mappedFields"))
        .cloned()
        .unwrap_or(Json::Null);
    let target = |k: &str| {
        mapped
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    for (key, value) in [
        ("id", &user.id),
        ("name", &user.name),
        ("username", &user.username),
    ] {
        let field = target(key);
        if !field.is_empty() && !data.contains_key(&field) && c.field(&field).is_some() {
            data.insert(field, Json::String(value.clone()));
        }
    }
    let avatar = target("avatarURL");
    let mut uploads = Vec::new();
    if let Some(f) = c.field(&avatar) {
        if !data.contains_key(&avatar) && !user.avatar_url.is_empty() {
            if f.kind == crate::collections::FieldType::File {
                // The image itself, stored like an upload; without it the account is still
                // created (PocketBase only logs the failure).
                let allow_private = backend.auth.oauth2_avatar_private_hosts();
                match avatar::download(&user.avatar_url, allow_private).await {
                    Ok((filename, bytes)) => uploads.push(crate::files::Upload {
                        key: avatar,
                        filename,
                        bytes,
                    }),
                    Err(e) => tracing::warn!(error = %e, "Failed to retrieve OAuth2 avatar"),
                }
            } else {
                data.insert(avatar, Json::String(user.avatar_url.clone()));
            }
        }
    }
    if !data.contains_key("password") {
        let pw = random_alnum(30);
        data.insert("password".into(), Json::String(pw.clone()));
        data.insert("passwordConfirm".into(), Json::String(pw));
    }
    let mut create_ctx = ctx.clone();
    create_ctx.context = "oauth2".into();
    let created = crate::records::create_with_files(
        backend,
        &c.name,
        data,
        uploads,
        Default::default(),
        create_ctx,
    )
    .await
    .map_err(AuthError::Core)?;
    let id = created
        .get("id")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let mut record = load_full(backend, c, &id)
        .await?
        .ok_or_else(crate::CoreError::not_found)?;
    if !is_verified(&record) && text(&record, "email") == user.email {
        let mut changes = Map::new();
        changes.insert("verified".into(), Json::Bool(true));
        record = save_changes(backend, c, &id, changes)
            .await
            .map_err(failed_to_authenticate)?;
    }
    Ok(record)
}
