//! Signing in and proving who a request comes from.

pub mod alert;
pub mod bookkeeping;
pub mod email_change;
pub mod error;
pub mod lookup;
pub mod mails;
pub mod mfa;
pub mod oauth2;
pub mod otp;
pub mod password;
pub mod password_reset;
pub mod rate_limit;
pub mod respond;
pub mod throttle;
pub mod token;
pub mod verification;

pub use error::{AuthError, AuthResult};

/// What the auth flows remember between requests (in memory, per process).
#[derive(Debug, Default)]
pub struct AuthState {
    /// "A mail was just sent to this account": resend throttles.
    pub cooldowns: throttle::Cooldowns,
    /// Request counts of the settings' rate limit rules and of the OTP guess limit.
    pub windows: throttle::Windows,
    /// Apple's one-time user names, from the redirect to the sign-in.
    pub redirect_names: oauth2::redirect_name::RedirectNames,
    /// Set by `serve --oauth2-avatar-private-hosts`: avatar downloads may reach loopback and
    /// private addresses.
    oauth2_avatar_private_hosts: AtomicBool,
}

impl AuthState {
    pub fn oauth2_avatar_private_hosts(&self) -> bool {
        self.oauth2_avatar_private_hosts.load(Ordering::Relaxed)
    }

    pub fn allow_oauth2_avatar_private_hosts(&self, allow: bool) {
        self.oauth2_avatar_private_hosts
            .store(allow, Ordering::Relaxed);
    }
}

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use motorbase_store::{Cond, Select, StoreError};
use serde_json::{Map, Value as Json};

use crate::collections::{Collection, FieldType};
use crate::error::{CoreError, FieldError, Result};
use crate::records::{record_columns, row_to_map};
use crate::rules::AuthInfo;
use crate::Backend;

/// Loads a full stored record (hidden fields included) by id.
pub async fn load_full(
    backend: &Backend,
    collection: &Arc<Collection>,
    id: &str,
) -> Result<Option<Map<String, Json>>> {
    crate::records::first_match(backend, collection, Cond::IdIn(vec![id.to_string()])).await
}

/// Resolves an `Authorization` header value (with or without `Bearer `) into the caller.
/// `None` for a missing, malformed, expired or revoked token.
pub async fn authenticate(backend: &Backend, header: &str) -> Option<AuthInfo> {
    let token = header.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return None;
    }
    let claims = token::peek(token)?;
    let collection = backend.schema().get(&claims.collection_id)?;
    if !collection.is_auth() || collection.id != claims.collection_id {
        return None;
    }
    let record = load_full(backend, &collection, &claims.id).await.ok()??;
    let key = record.get("tokenKey").and_then(Json::as_str).unwrap_or("");
    token::verify_auth(token, &collection, key)?;
    Some(AuthInfo { collection, record })
}

/// Checks an identity and password against an auth collection; the record on success.
pub async fn auth_with_password(
    backend: &Backend,
    collection: &Arc<Collection>,
    identity: &str,
    password: &str,
    identity_field: Option<&str>,
) -> Result<Map<String, Json>> {
    let fail = || CoreError::BadRequest("Failed to authenticate.".into());
    if !collection.password_auth_enabled() {
        return Err(CoreError::BadRequest(
            "The collection is not configured to allow password authentication.".into(),
        ));
    }
    let fields: Vec<String> = match identity_field {
        Some(f) if collection.identity_fields().iter().any(|x| x == f) => vec![f.to_string()],
        Some(_) => return Err(fail()),
        None => collection.identity_fields(),
    };
    let mut found = None;
    for f in fields {
        if collection.field(&f).is_none() {
            continue;
        }
        let nocase = collection
            .field(&f)
            .is_some_and(|fd| fd.kind == FieldType::Email);
        let q = Select {
            table: collection.name.clone(),
            columns: record_columns(collection),
            filter: Cond::Cmp {
                left: if nocase {
                    motorbase_store::Operand::Lower(Box::new(motorbase_store::Operand::Path(
                        motorbase_store::Path::column(&f),
                    )))
                } else {
                    motorbase_store::Operand::Path(motorbase_store::Path::column(&f))
                },
                op: motorbase_store::CmpOp::Eq,
                right: motorbase_store::Operand::Value(motorbase_store::Value::Text(if nocase {
                    identity.to_lowercase()
                } else {
                    identity.to_string()
                })),
                any: false,
            },
            sort: vec![],
            limit: Some(1),
            offset: 0,
        };
        let c = collection.clone();
        let rec = backend
            .store
            .read(move |r| -> std::result::Result<_, StoreError> {
                Ok(r.select(&q)?
                    .into_iter()
                    .next()
                    .map(|row| row_to_map(&c, row)))
            })
            .await?;
        if rec.is_some() {
            found = rec;
            break;
        }
    }
    // Hash even when no record matched, so timing does not tell which identities exist.
    let stored = found
        .as_ref()
        .and_then(|r| r.get("password").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_else(|| "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into());
    let ok = password::verify_blocking(password.to_string(), stored).await;
    match found {
        Some(rec) if ok && !password.is_empty() => {
            upgrade_legacy_hash(backend, collection, &rec, password).await;
            Ok(rec)
        }
        _ => Err(fail()),
    }
}

/// Replaces a bcrypt hash (from PocketBase) with an argon2id one once the password is known.
/// The token key stays, so the account's sessions survive; a failure only logs.
async fn upgrade_legacy_hash(
    backend: &Backend,
    collection: &Arc<Collection>,
    record: &Map<String, Json>,
    password: &str,
) {
    let stored = record.get("password").and_then(Json::as_str).unwrap_or("");
    if !password::is_legacy(stored) {
        return;
    }
    let hash = match password::hash_blocking(password.to_string()).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "failed to rehash a legacy password");
            return;
        }
    };
    let table = collection.name.clone();
    let id = lookup::text(record, "id").to_string();
    let row = vec![("password".to_string(), motorbase_store::Value::Text(hash))];
    let result = backend
        .store
        .write(move |tx| -> std::result::Result<bool, StoreError> { tx.update(&table, &id, &row) })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "failed to store a rehashed password");
    }
}

/// The validation error for missing (or, for `identityField`, unknown) sign-in fields.
pub fn missing(fields: &[&str]) -> CoreError {
    let mut data = crate::error::FieldErrors::new();
    for f in fields {
        let e = if *f == "identityField" {
            FieldError::new("validation_in_invalid", "Must be a valid value.")
        } else {
            FieldError::required()
        };
        data.insert(f.to_string(), crate::error::ErrorData::Field(e));
    }
    CoreError::validation(
        "An error occurred while validating the submitted data.",
        data,
    )
}
