//! JWTs shaped as PocketBase's. Each kind of token is signed with the record's token key joined
//! to that kind's secret in the collection options (`authToken.secret`, `verificationToken.secret`
//! ...), so changing the key (a new password, logout everywhere) or the secret revokes them, and a
//! token of one kind can never pass for another.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::collections::Collection;
use crate::error::{CoreError, Result};

/// The kinds of record tokens (the `type` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Auth,
    File,
    Verification,
    PasswordReset,
    EmailChange,
}

impl TokenKind {
    /// The `type` claim.
    pub fn claim(self) -> &'static str {
        match self {
            TokenKind::Auth => "auth",
            TokenKind::File => "file",
            TokenKind::Verification => "verification",
            TokenKind::PasswordReset => "passwordReset",
            TokenKind::EmailChange => "emailChange",
        }
    }

    /// The collection option holding this kind's duration and secret.
    fn option(self) -> &'static str {
        match self {
            TokenKind::Auth => "authToken",
            TokenKind::File => "fileToken",
            TokenKind::Verification => "verificationToken",
            TokenKind::PasswordReset => "passwordResetToken",
            TokenKind::EmailChange => "emailChangeToken",
        }
    }

    fn default_duration(self) -> i64 {
        match self {
            TokenKind::Auth => 432000,
            TokenKind::File => 180,
            TokenKind::Verification => 86400,
            TokenKind::PasswordReset | TokenKind::EmailChange => 1800,
        }
    }
}

/// The claims every record token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "collectionId")]
    pub collection_id: String,
    pub exp: i64,
    pub id: String,
    #[serde(default)]
    pub refreshable: bool,
    #[serde(rename = "type")]
    pub kind: String,
    /// `email` of verification, password reset and email change tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `newEmail` of email change tokens.
    #[serde(rename = "newEmail", default, skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
}

fn secret(collection: &Collection, kind: TokenKind) -> String {
    collection
        .options
        .get(kind.option())
        .and_then(|t| t.get("secret"))
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string()
}

fn signing_key(collection: &Collection, kind: TokenKind, token_key: &str) -> Result<String> {
    let key = format!("{token_key}{}", secret(collection, kind));
    if key.is_empty() {
        return Err(CoreError::Internal("missing token signing key".into()));
    }
    Ok(key)
}

/// What a new token says beyond the common claims.
#[derive(Debug, Default, Clone)]
pub struct Extra {
    /// Seconds of validity; `None` for the collection's duration for the kind.
    pub duration: Option<i64>,
    pub refreshable: bool,
    pub email: Option<String>,
    pub new_email: Option<String>,
}

/// Signs a token of `kind` for `record` (a full stored record of `collection`).
pub fn issue(
    collection: &Collection,
    record: &Map<String, Json>,
    kind: TokenKind,
    extra: Extra,
) -> Result<String> {
    let field = |k: &str| record.get(k).and_then(Json::as_str).unwrap_or("");
    let duration = extra
        .duration
        .filter(|d| *d > 0)
        .unwrap_or_else(|| collection.token_duration(kind.option(), kind.default_duration()));
    // Only auth tokens carry `refreshable`, as PocketBase's do.
    let mut claims = Map::new();
    claims.insert("collectionId".into(), Json::String(collection.id.clone()));
    if let Some(e) = extra.email {
        claims.insert("email".into(), Json::String(e));
    }
    claims.insert(
        "exp".into(),
        Json::from(chrono::Utc::now().timestamp() + duration),
    );
    claims.insert("id".into(), Json::String(field("id").to_string()));
    if let Some(e) = extra.new_email {
        claims.insert("newEmail".into(), Json::String(e));
    }
    if kind == TokenKind::Auth {
        claims.insert("refreshable".into(), Json::Bool(extra.refreshable));
    }
    claims.insert("type".into(), Json::String(kind.claim().into()));
    let key = signing_key(collection, kind, field("tokenKey"))?;
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .map_err(|e| CoreError::Internal(e.to_string()))
}

/// Signs a refreshable auth token for the record with `token_key` in `collection`.
pub fn issue_auth(collection: &Collection, record_id: &str, token_key: &str) -> Result<String> {
    let mut record = Map::new();
    record.insert("id".into(), Json::String(record_id.to_string()));
    record.insert("tokenKey".into(), Json::String(token_key.to_string()));
    issue(
        collection,
        &record,
        TokenKind::Auth,
        Extra {
            refreshable: true,
            ..Default::default()
        },
    )
}

/// Reads the claims without checking the signature: only to find which key checks it, or to read
/// a claim of a token that is verified next.
pub fn peek(token: &str) -> Option<Claims> {
    let mut v = Validation::new(Algorithm::HS256);
    v.insecure_disable_signature_validation();
    v.validate_exp = false;
    v.required_spec_claims.clear();
    decode::<Claims>(token, &DecodingKey::from_secret(b""), &v)
        .ok()
        .map(|d| d.claims)
}

/// Verifies signature, expiry and kind of a token against its record's key.
pub fn verify(
    token: &str,
    collection: &Collection,
    token_key: &str,
    kind: TokenKind,
) -> Option<Claims> {
    let key = signing_key(collection, kind, token_key).ok()?;
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp".to_string()].into_iter().collect();
    let claims = decode::<Claims>(token, &DecodingKey::from_secret(key.as_bytes()), &v)
        .ok()?
        .claims;
    (claims.kind == kind.claim() && claims.collection_id == collection.id).then_some(claims)
}

/// Verifies an auth token against its record's key.
pub fn verify_auth(token: &str, collection: &Collection, token_key: &str) -> Option<Claims> {
    verify(token, collection, token_key, TokenKind::Auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_do_not_mix() {
        let c = crate::collections::defaults::users();
        let mut rec = Map::new();
        rec.insert("id".into(), Json::String("abc".into()));
        rec.insert("tokenKey".into(), Json::String("k".repeat(50)));
        let t = issue(
            &c,
            &rec,
            TokenKind::Verification,
            Extra {
                email: Some("a@example.com".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let claims = verify(&t, &c, &"k".repeat(50), TokenKind::Verification).unwrap();
        assert_eq!(claims.email.as_deref(), Some("a@example.com"));
        assert!(verify(&t, &c, &"k".repeat(50), TokenKind::Auth).is_none());
        assert!(verify(&t, &c, &"x".repeat(50), TokenKind::Verification).is_none());
    }
}
