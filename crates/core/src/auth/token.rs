//! JWTs shaped as PocketBase's (`{collectionId, exp, id, refreshable, type}`), signed with the
//! record's token key joined to the collection's secret, so changing either revokes them.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::collections::Collection;
use crate::error::{CoreError, Result};

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
}

fn secret(collection: &Collection, token_kind: &str) -> String {
    collection
        .options
        .get(token_kind)
        .and_then(|t| t.get("secret"))
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string()
}

/// Signs an auth token for the record with `token_key` in `collection`.
pub fn issue_auth(collection: &Collection, record_id: &str, token_key: &str) -> Result<String> {
    let duration = collection.token_duration("authToken", 604800);
    let claims = Claims {
        collection_id: collection.id.clone(),
        exp: chrono::Utc::now().timestamp() + duration,
        id: record_id.to_string(),
        refreshable: true,
        kind: "auth".into(),
    };
    let key = format!("{token_key}{}", secret(collection, "authToken"));
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .map_err(|e| CoreError::Internal(e.to_string()))
}

/// Reads the claims without checking the signature: only to find which key checks it.
pub fn peek(token: &str) -> Option<Claims> {
    let mut v = Validation::new(Algorithm::HS256);
    v.insecure_disable_signature_validation();
    v.validate_exp = false;
    v.required_spec_claims.clear();
    decode::<Claims>(token, &DecodingKey::from_secret(b""), &v)
        .ok()
        .map(|d| d.claims)
}

/// Verifies signature and expiry of an auth token against its record's key.
pub fn verify_auth(token: &str, collection: &Collection, token_key: &str) -> Option<Claims> {
    let key = format!("{token_key}{}", secret(collection, "authToken"));
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp".to_string()].into_iter().collect();
    let claims = decode::<Claims>(token, &DecodingKey::from_secret(key.as_bytes()), &v)
        .ok()?
        .claims;
    (claims.kind == "auth" && claims.collection_id == collection.id).then_some(claims)
}
