//! The OAuth2 providers a collection can enable: where each one's endpoints are, which scopes it
//! asks for, and how its user document maps onto an account. Any of the URLs can be overridden
//! per collection (self-hosted GitLab, a tenant-specific Microsoft endpoint, tests).

use serde_json::{Map, Value as Json};

/// How a provider's user document is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    Oidc,
    Google,
    GitHub,
    GitLab,
    Microsoft,
    Discord,
    /// No user endpoint: the user comes from the signed `id_token`.
    Apple,
}

/// A provider as built in.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub display_name: &'static str,
    pub auth_url: &'static str,
    pub token_url: &'static str,
    pub user_info_url: &'static str,
    pub scopes: &'static [&'static str],
    pub pkce: bool,
    pub mapping: Mapping,
    /// Listing order of the dashboard.
    pub order: u32,
}

const OIDC_SCOPES: &[&str] = &["openid", "email", "profile"];

pub const SPECS: &[Spec] = &[
    Spec {
        name: "apple",
        display_name: "Apple",
        auth_url: "https://appleid.apple.com/auth/authorize",
        token_url: "https://appleid.apple.com/auth/token",
        user_info_url: "",
        scopes: &["name", "email"],
        pkce: true,
        mapping: Mapping::Apple,
        order: 1,
    },
    Spec {
        name: "google",
        display_name: "Google",
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        user_info_url: "https://www.googleapis.com/oauth2/v3/userinfo",
        scopes: &[
            "https://www.googleapis.com/auth/userinfo.profile",
            "https://www.googleapis.com/auth/userinfo.email",
        ],
        pkce: true,
        mapping: Mapping::Google,
        order: 2,
    },
    Spec {
        name: "microsoft",
        display_name: "Microsoft",
        auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        user_info_url: "https://graph.microsoft.com/v1.0/me",
        scopes: &["User.Read"],
        pkce: true,
        mapping: Mapping::Microsoft,
        order: 3,
    },
    Spec {
        name: "github",
        display_name: "GitHub",
        auth_url: "https://github.com/login/oauth/authorize",
        token_url: "https://github.com/login/oauth/access_token",
        user_info_url: "https://api.github.com/user",
        scopes: &["read:user", "user:email"],
        pkce: true,
        mapping: Mapping::GitHub,
        order: 7,
    },
    Spec {
        name: "gitlab",
        display_name: "GitLab",
        auth_url: "https://gitlab.com/oauth/authorize",
        token_url: "https://gitlab.com/oauth/token",
        user_info_url: "https://gitlab.com/api/v4/user",
        scopes: &["read_user"],
        pkce: true,
        mapping: Mapping::GitLab,
        order: 8,
    },
    Spec {
        name: "discord",
        display_name: "Discord",
        auth_url: "https://discord.com/api/oauth2/authorize",
        token_url: "https://discord.com/api/oauth2/token",
        user_info_url: "https://discord.com/api/users/@me",
        scopes: &["identify", "email"],
        pkce: true,
        mapping: Mapping::Discord,
        order: 12,
    },
    Spec {
        name: "oidc",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        mapping: Mapping::Oidc,
        order: 99,
    },
    Spec {
        name: "oidc2",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        mapping: Mapping::Oidc,
        order: 100,
    },
    Spec {
        name: "oidc3",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        mapping: Mapping::Oidc,
        order: 101,
    },
];

/// Where Apple publishes the keys its id tokens are signed with, and who signs them.
pub const APPLE_JWKS_URL: &str = "https://appleid.apple.com/auth/keys";
pub const APPLE_ISSUER: &str = "https://appleid.apple.com";

pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// An external account as the flows use it (PocketBase's `AuthUser`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
    pub username: String,
    /// Only an address the provider has verified; empty otherwise.
    pub email: String,
    pub avatar_url: String,
    pub raw: Map<String, Json>,
    pub access_token: String,
    pub refresh_token: String,
    /// `YYYY-MM-DD HH:MM:SS.sssZ` or empty.
    pub expiry: String,
}

impl AuthUser {
    /// The `meta` of an OAuth2 sign-in answer.
    pub fn meta(&self, is_new: bool) -> Json {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "email": self.email,
            "avatarURL": self.avatar_url,
            "avatarUrl": self.avatar_url,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiry": self.expiry,
            "rawUser": self.raw,
            "isNew": is_new,
        })
    }
}

fn s(raw: &Map<String, Json>, key: &str) -> String {
    match raw.get(key) {
        Some(Json::String(v)) => v.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A flag as PocketBase reads one (Go's `cast.ToBool`): a boolean, a non-zero number, or one
/// of Go's true spellings; providers disagree on how to say it (Apple sends `"true"`).
fn truthy(v: Option<&Json>) -> bool {
    match v {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => matches!(s.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// The Microsoft provider's `extra` key that picks where the email comes from.
pub const MICROSOFT_EMAIL_CLAIM: &str = "idTokenEmailClaim";

/// Microsoft's email under the collection's `extra.idTokenEmailClaim` rule (PocketBase's
/// options): by default Graph's `mail` field, otherwise claims of the id_token,
/// which Microsoft fills only with addresses it considers verified.
pub fn microsoft_email(rule: &str, mail: &str, claims: &Map<String, Json>) -> String {
    let claim = |k: &str| {
        claims
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let primary = || claim("verified_primary_email");
    // `xms_edov`: the email's domain owner is verified.
    let edov = || {
        if truthy(claims.get("xms_edov")) {
            claim("email")
        } else {
            String::new()
        }
    };
    match rule {
        "any_verified" => {
            let p = primary();
            if p.is_empty() {
                edov()
            } else {
                p
            }
        }
        "verified_primary_email" => primary(),
        "email_and_xms_edov" => edov(),
        "email" => claim("email"),
        _ => mail.to_string(),
    }
}

/// Reads a provider's user document. GitHub's email comes separately (see `client`).
pub fn map_user(mapping: Mapping, raw: Map<String, Json>) -> AuthUser {
    let mut u = AuthUser::default();
    match mapping {
        // Apple's id_token has no username or picture; its name comes from the redirect.
        Mapping::Apple => {
            u.id = s(&raw, "sub");
            u.name = s(&raw, "name");
            if truthy(raw.get("email_verified")) {
                u.email = s(&raw, "email");
            }
        }
        Mapping::Oidc | Mapping::Google => {
            u.id = s(&raw, "sub");
            u.name = s(&raw, "name");
            u.username = s(&raw, "preferred_username");
            u.avatar_url = s(&raw, "picture");
            if truthy(raw.get("email_verified")) {
                u.email = s(&raw, "email");
            }
            if mapping == Mapping::Google {
                u.username.clear();
            }
        }
        Mapping::GitHub => {
            u.id = s(&raw, "id");
            u.name = s(&raw, "name");
            u.username = s(&raw, "login");
            u.avatar_url = s(&raw, "avatar_url");
        }
        Mapping::GitLab => {
            u.id = s(&raw, "id");
            u.name = s(&raw, "name");
            u.username = s(&raw, "username");
            u.avatar_url = s(&raw, "avatar_url");
            // GitLab marks a confirmed address with the time it was confirmed.
            let confirmed = s(&raw, "confirmed_at");
            if chrono::DateTime::parse_from_rfc3339(&confirmed).is_ok() {
                u.email = s(&raw, "email");
            }
        }
        // Graph's `/me`; the email may be replaced by id_token claims (`microsoft_email`).
        Mapping::Microsoft => {
            u.id = s(&raw, "id");
            u.name = s(&raw, "displayName");
            u.email = s(&raw, "mail");
        }
        Mapping::Discord => {
            u.id = s(&raw, "id");
            u.username = s(&raw, "username");
            u.name = s(&raw, "global_name");
            if u.name.is_empty() {
                u.name = u.username.clone();
                let d = s(&raw, "discriminator");
                if !d.is_empty() && d != "0" {
                    u.name = format!("{}#{d}", u.name);
                }
            }
            let avatar = s(&raw, "avatar");
            if !avatar.is_empty() {
                u.avatar_url = format!("https://cdn.discordapp.com/avatars/{}/{avatar}.png", u.id);
            }
            if truthy(raw.get("verified")) {
                u.email = s(&raw, "email");
            }
        }
    }
    u.raw = raw;
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn oidc_and_google_keep_only_verified_emails() {
        let u = map_user(
            Mapping::Oidc,
            raw(
                json!({"sub": "1", "name": "Ann", "preferred_username": "ann",
                        "picture": "https://x/a.png", "email": "a@x.test", "email_verified": "true"}),
            ),
        );
        assert_eq!(
            (u.id.as_str(), u.username.as_str(), u.email.as_str()),
            ("1", "ann", "a@x.test")
        );
        let u = map_user(
            Mapping::Google,
            raw(json!({"sub": "2", "email": "b@x.test", "email_verified": false})),
        );
        assert_eq!(u.email, "");
    }

    #[test]
    fn named_providers() {
        let gh = map_user(
            Mapping::GitHub,
            raw(json!({"id": 42, "login": "octo", "name": "Octo", "avatar_url": "u"})),
        );
        assert_eq!(
            (gh.id.as_str(), gh.username.as_str(), gh.avatar_url.as_str()),
            ("42", "octo", "u")
        );
        let gl = map_user(
            Mapping::GitLab,
            raw(json!({"id": 7, "username": "gl", "email": "g@x.test",
            "confirmed_at": "2024-01-02T03:04:05Z"})),
        );
        assert_eq!((gl.id.as_str(), gl.email.as_str()), ("7", "g@x.test"));
        let gl = map_user(
            Mapping::GitLab,
            raw(json!({"id": 7, "email": "g@x.test", "confirmed_at": null})),
        );
        assert_eq!(gl.email, "");
        let ms = map_user(
            Mapping::Microsoft,
            raw(json!({"id": "m", "displayName": "Mo", "mail": "m@x.test"})),
        );
        assert_eq!((ms.name.as_str(), ms.email.as_str()), ("Mo", "m@x.test"));
        let dc = map_user(
            Mapping::Discord,
            raw(json!({"id": "9", "username": "dd", "discriminator": "1234",
            "avatar": "abc", "email": "d@x.test", "verified": true})),
        );
        assert_eq!(dc.name, "dd#1234");
        assert_eq!(
            dc.avatar_url,
            "https://cdn.discordapp.com/avatars/9/abc.png"
        );
        assert_eq!(dc.email, "d@x.test");
    }

    #[test]
    fn apple_reads_only_the_id_token_claims_it_sends() {
        let u = map_user(
            Mapping::Apple,
            raw(
                json!({"sub": "001.apple", "email": "a@privaterelay.appleid.com",
                       "email_verified": "true", "is_private_email": "true",
                       "preferred_username": "x", "picture": "https://x/p.png"}),
            ),
        );
        assert_eq!(
            (u.id.as_str(), u.email.as_str(), u.name.as_str()),
            ("001.apple", "a@privaterelay.appleid.com", "")
        );
        assert_eq!((u.username.as_str(), u.avatar_url.as_str()), ("", ""));
        let u = map_user(
            Mapping::Apple,
            raw(json!({"sub": "2", "email": "b@x.test", "email_verified": "false"})),
        );
        assert_eq!(u.email, "");
    }

    #[test]
    fn microsoft_email_follows_the_configured_claim() {
        let ms = map_user(
            Mapping::Microsoft,
            raw(
                json!({"id": "m", "displayName": "Mo", "mail": "graph@x.test",
                       "userPrincipalName": "upn@x.test"}),
            ),
        );
        assert_eq!(
            (ms.id.as_str(), ms.name.as_str(), ms.email.as_str()),
            ("m", "Mo", "graph@x.test")
        );
        let claims = raw(json!({"email": "claim@x.test", "xms_edov": true,
                                "verified_primary_email": "primary@x.test"}));
        let email = |rule: &str, c: &Map<String, Json>| microsoft_email(rule, &ms.email, c);
        assert_eq!(email("", &claims), "graph@x.test");
        assert_eq!(email("unknown", &claims), "graph@x.test");
        assert_eq!(email("email", &claims), "claim@x.test");
        assert_eq!(email("email_and_xms_edov", &claims), "claim@x.test");
        assert_eq!(email("verified_primary_email", &claims), "primary@x.test");
        assert_eq!(email("any_verified", &claims), "primary@x.test");
        let unverified_domain = raw(json!({"email": "claim@x.test", "xms_edov": false}));
        assert_eq!(email("email_and_xms_edov", &unverified_domain), "");
        assert_eq!(email("any_verified", &unverified_domain), "");
        assert_eq!(email("email", &unverified_domain), "claim@x.test");
        let edov_only = raw(json!({"email": "claim@x.test", "xms_edov": "1"}));
        assert_eq!(email("any_verified", &edov_only), "claim@x.test");
        // No usable id_token: no email rather than the Graph one.
        assert_eq!(email("email", &Map::new()), "");
    }
}
