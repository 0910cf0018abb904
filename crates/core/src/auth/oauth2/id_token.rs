//! Reading an OpenID Connect `id_token` the way PocketBase 0.40.6 does: the claims are taken
//! from the token as received over TLS from the token endpoint, their times, audience and
//! issuer are checked with a leeway, and the signature is checked only when the provider
//! publishes its keys (always for Apple, for a generic OIDC provider when `extra.jwksURL` is
//! set).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value as Json};

/// PocketBase's default tolerance for clock skew on an id_token's times.
const DEFAULT_LEEWAY_SECS: i64 = 5 * 60;

/// The leeway in seconds: `PB_ID_TOKEN_LEEWAY` if set to a whole number (as PocketBase reads
/// it, so a deployment moved over keeps its setting), otherwise five minutes.
pub fn leeway() -> i64 {
    static LEEWAY: OnceLock<i64> = OnceLock::new();
    *LEEWAY.get_or_init(|| {
        std::env::var("PB_ID_TOKEN_LEEWAY")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_LEEWAY_SECS)
    })
}

/// What a token's claims must satisfy.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// The `aud` claim must name it (string or list); `None` skips the check.
    pub audience: Option<String>,
    /// When not empty, `iss` must be one of them.
    pub issuers: Vec<String>,
    /// Refuse a token without `exp` (Apple's rule; OIDC checks `exp` only when present).
    pub require_exp: bool,
    /// Seconds of clock skew forgiven on `exp`, `nbf` and `iat`.
    pub leeway: i64,
}

/// The claims of a compact JWT, unverified.
pub fn unverified_claims(token: &str) -> Result<Map<String, Json>, String> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not a compact JWT".into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("the token payload is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the token payload is not an object: {e}"))
}

/// A NumericDate claim in seconds; `None` when absent (or 0, which the JWT library PocketBase
/// uses treats as absent), an error when it is not a number.
fn numeric_date(claims: &Map<String, Json>, key: &str) -> Result<Option<f64>, String> {
    match claims.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => Ok(n.as_f64().filter(|v| *v != 0.0)),
        Some(other) => Err(format!("{key} is not a number: {other}")),
    }
}

/// Checks the registered claims against `checks` at `now` (Unix seconds).
pub fn check_claims(claims: &Map<String, Json>, checks: &Checks, now: f64) -> Result<(), String> {
    let leeway = checks.leeway as f64;
    match numeric_date(claims, "exp")? {
        Some(exp) if now >= exp + leeway => return Err("the token has expired".into()),
        None if checks.require_exp => return Err("the token has no exp".into()),
        _ => {}
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if now < iat - leeway {
            return Err("the token was issued in the future".into());
        }
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if now < nbf - leeway {
            return Err("the token is not valid yet".into());
        }
    }
    if let Some(audience) = &checks.audience {
        let listed: Vec<&str> = match claims.get("aud") {
            Some(Json::String(s)) => vec![s.as_str()],
            Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        if !listed.iter().any(|a| constant_time_eq(a, audience)) {
            return Err(format!("the token's aud does not name {audience}"));
        }
    }
    if !checks.issuers.is_empty() {
        let iss = claims.get("iss").and_then(Json::as_str).unwrap_or("");
        if !checks.issuers.iter().any(|i| constant_time_eq(i, iss)) {
            return Err(format!(
                "iss must be one of {:?}, got {iss:?}",
                checks.issuers
            ));
        }
    }
    Ok(())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The `issuers` extra option: a list of strings, or one string of space-separated issuers.
pub fn issuers_option(value: Option<&Json>) -> Vec<String> {
    match value {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Json::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Checks the token's signature with the key its `kid` names in the key set `jwks` (the
/// document served at a JWKS URL). The key must declare its `alg`, and the token must use that
/// algorithm. As in PocketBase, this check also refuses a token past its `exp` or before its
/// `nbf`, without leeway.
pub fn check_signature(token: &str, jwks: &Json) -> Result<(), String> {
    let header = decode_header(token).map_err(|e| format!("the token header: {e}"))?;
    let kid = header.kid.unwrap_or_default();
    if kid.is_empty() {
        return Err("the token header has no kid".into());
    }
    let key = jwks
        .get("keys")
        .and_then(Json::as_array)
        .and_then(|keys| {
            keys.iter().find(|k| {
                k.get("kid").and_then(Json::as_str) == Some(kid.as_str())
                    && !k.get("alg").and_then(Json::as_str).unwrap_or("").is_empty()
            })
        })
        .ok_or_else(|| format!("no key with kid {kid:?} and an alg"))?;
    let part = |k: &str| {
        key.get(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .trim_end_matches('=')
            .to_string()
    };
    let alg: Algorithm = part("alg")
        .parse()
        .map_err(|_| format!("unsupported key alg {:?}", part("alg")))?;
    let decoding = match part("kty").as_str() {
        "RSA" => DecodingKey::from_rsa_components(&part("n"), &part("e")),
        "OKP" if part("crv") == "Ed25519" => DecodingKey::from_ed_components(&part("x")),
        other => return Err(format!("unsupported key type {other:?}")),
    }
    .map_err(|e| format!("the key: {e}"))?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    validation.validate_nbf = true;
    validation.leeway = 0;
    decode::<Map<String, Json>>(token, &decoding, &validation)
        .map(|_| ())
        .map_err(|e| format!("id_token validation failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_700_000_000.0;

    fn claims(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap()
    }

    fn oidc() -> Checks {
        Checks {
            audience: Some("client".into()),
            leeway: 300,
            ..Checks::default()
        }
    }

    #[test]
    fn times_with_leeway() {
        let ok = |v: Json, c: &Checks| check_claims(&claims(v), c, NOW).is_ok();
        assert!(ok(json!({"aud": "client", "exp": NOW - 299.0}), &oidc()));
        assert!(!ok(json!({"aud": "client", "exp": NOW - 300.0}), &oidc()));
        assert!(!ok(json!({"aud": "client", "iat": NOW + 301.0}), &oidc()));
        assert!(!ok(json!({"aud": "client", "nbf": NOW + 301.0}), &oidc()));
        assert!(!ok(json!({"aud": "client", "exp": "soon"}), &oidc()));
        // OIDC checks exp only when present; Apple requires it.
        assert!(ok(json!({"aud": "client"}), &oidc()));
        let apple = Checks {
            require_exp: true,
            ..oidc()
        };
        assert!(!ok(json!({"aud": "client"}), &apple));
    }

    #[test]
    fn audience_and_issuers() {
        let ok = |v: Json, c: &Checks| check_claims(&claims(v), c, NOW).is_ok();
        assert!(ok(json!({"aud": ["other", "client"]}), &oidc()));
        assert!(!ok(json!({"aud": "other"}), &oidc()));
        assert!(!ok(json!({}), &oidc()));
        let with_iss = Checks {
            issuers: issuers_option(Some(&json!(["https://a", "https://b"]))),
            ..oidc()
        };
        assert!(ok(json!({"aud": "client", "iss": "https://b"}), &with_iss));
        assert!(!ok(json!({"aud": "client", "iss": "https://c"}), &with_iss));
        assert!(!ok(json!({"aud": "client"}), &with_iss));
        assert_eq!(
            issuers_option(Some(&json!("https://a https://b"))),
            vec!["https://a", "https://b"]
        );
    }

    #[test]
    fn unverified_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"1"}"#);
        let token = format!("e30.{payload}.sig");
        assert_eq!(unverified_claims(&token).unwrap()["sub"], "1");
        assert!(unverified_claims("a.b").is_err());
        assert!(unverified_claims("a.!!.c").is_err());
    }

    #[test]
    fn signature_needs_a_kid_and_a_published_alg() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let token = format!("{header}.e30.c2ln");
        let jwks =
            json!({"keys": [{"kty": "RSA", "kid": "k", "alg": "RS256", "n": "AQAB", "e": "AQAB"}]});
        assert!(check_signature(&token, &jwks)
            .unwrap_err()
            .contains("no kid"));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let token = format!("{header}.e30.c2ln");
        let no_alg = json!({"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}]});
        assert!(check_signature(&token, &no_alg)
            .unwrap_err()
            .contains("no key"));
        assert!(check_signature(&token, &jwks).is_err());
    }
}
