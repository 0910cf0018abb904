//! File tokens: short-lived JWTs (`{collectionId, exp, id, type: "file"}`, as PocketBase's) that
//! let a URL carry the caller's identity to a protected file. Signed with the record's token key
//! and the collection's `fileToken` secret, so a password change or a new secret revokes them.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::collections::Collection;
use crate::error::{CoreError, Result};
use crate::rules::AuthInfo;
use crate::Backend;

const KIND: &str = "file";
/// PocketBase's default lifetime of a file token, in seconds.
const DEFAULT_DURATION: i64 = 180;

#[derive(Debug, Serialize, Deserialize)]
struct FileClaims {
    #[serde(rename = "collectionId")]
    collection_id: String,
    exp: i64,
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

fn signing_key(collection: &Collection, token_key: &str) -> String {
    let secret = collection
        .options
        .get("fileToken")
        .and_then(|t| t.get("secret"))
        .and_then(Json::as_str)
        .unwrap_or("");
    format!("{token_key}{secret}")
}

/// A file token for the authenticated caller.
pub fn issue(auth: &AuthInfo) -> Result<String> {
    let c = &auth.collection;
    let claims = FileClaims {
        collection_id: c.id.clone(),
        exp: chrono::Utc::now().timestamp() + c.token_duration("fileToken", DEFAULT_DURATION),
        id: auth.id().to_string(),
        kind: KIND.into(),
    };
    let token_key = auth
        .record
        .get("tokenKey")
        .and_then(Json::as_str)
        .unwrap_or("");
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(signing_key(c, token_key).as_bytes()),
    )
    .map_err(|e| CoreError::Internal(e.to_string()))
}

/// The caller a file token stands for; `None` for anything but a valid, unexpired file token.
pub async fn authenticate(backend: &Backend, token: &str) -> Option<AuthInfo> {
    if token.is_empty() {
        return None;
    }
    let mut peek = Validation::new(Algorithm::HS256);
    peek.insecure_disable_signature_validation();
    peek.validate_exp = false;
    peek.required_spec_claims.clear();
    let claims = decode::<FileClaims>(token, &DecodingKey::from_secret(b""), &peek)
        .ok()?
        .claims;
    let collection = backend.schema().get(&claims.collection_id)?;
    if !collection.is_auth() || collection.id != claims.collection_id || claims.kind != KIND {
        return None;
    }
    let record = crate::auth::load_full(backend, &collection, &claims.id)
        .await
        .ok()??;
    let token_key = record.get("tokenKey").and_then(Json::as_str).unwrap_or("");
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp".to_string()].into_iter().collect();
    decode::<FileClaims>(
        token,
        &DecodingKey::from_secret(signing_key(&collection, token_key).as_bytes()),
        &v,
    )
    .ok()
    .filter(|d| d.claims.kind == KIND)?;
    Some(AuthInfo { collection, record })
}
