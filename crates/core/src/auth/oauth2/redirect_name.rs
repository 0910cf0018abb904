//! Apple tells the user's name only once, in the `user` field it posts to `/api/oauth2-redirect`
//! with the code, and never in the id_token. As PocketBase does, the name waits here, keyed by
//! that code, for a minute: the `auth-with-oauth2` call that brings the same code to the Apple
//! provider takes it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How long a posted name waits for its sign-in.
const KEEP_FOR: Duration = Duration::from_secs(60);
/// Longer codes are not remembered (PocketBase's limit on the key it stores them under).
const MAX_CODE: usize = 985;
/// Names are cut to this many bytes (at a character boundary) before being trimmed.
const MAX_NAME: usize = 150;

#[derive(Debug, Default)]
pub struct RedirectNames {
    by_code: Mutex<HashMap<String, (String, Instant)>>,
}

impl RedirectNames {
    /// Remembers the full name in Apple's `user` form field
    /// (`{"name": {"firstName", "lastName"}, "email"}`) for the sign-in with `code`.
    /// Nothing is remembered for an empty name; an error for a field that is not that JSON.
    pub fn remember(&self, code: &str, user_field: &str) -> Result<(), String> {
        if user_field.is_empty() {
            return Ok(());
        }
        if code.len() > MAX_CODE {
            return Err("the code is too long".into());
        }
        let user: Json = serde_json::from_str(user_field).map_err(|e| e.to_string())?;
        let part = |k: &str| -> Result<String, String> {
            match user.get("name").and_then(|n| n.get(k)) {
                None | Some(Json::Null) => Ok(String::new()),
                Some(Json::String(s)) => Ok(s.clone()),
                Some(other) => Err(format!("name.{k} is not a string: {other}")),
            }
        };
        let mut full = format!("{} {}", part("firstName")?, part("lastName")?);
        if full.len() > MAX_NAME {
            let mut cut = MAX_NAME;
            while !full.is_char_boundary(cut) {
                cut -= 1;
            }
            full.truncate(cut);
        }
        let full = full.trim();
        if full.is_empty() {
            return Ok(());
        }
        if let Ok(mut names) = self.by_code.lock() {
            let now = Instant::now();
            names.retain(|_, (_, at)| now.duration_since(*at) < KEEP_FOR);
            names.insert(code.to_string(), (full.to_string(), now));
        }
        Ok(())
    }

    /// The name posted with `code`, once, if it arrived within the last minute.
    pub fn take(&self, code: &str) -> Option<String> {
        let (name, at) = self.by_code.lock().ok()?.remove(code)?;
        (at.elapsed() < KEEP_FOR).then_some(name)
    }

    /// Drops the name posted with `code` (its redirect reached nobody).
    pub fn forget(&self, code: &str) {
        if let Ok(mut names) = self.by_code.lock() {
            names.remove(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_name_is_taken_once() {
        let names = RedirectNames::default();
        names
            .remember(
                "c1",
                r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"a@x.test"}"#,
            )
            .unwrap();
        assert_eq!(names.take("c1").as_deref(), Some("Ada Lovelace"));
        assert_eq!(names.take("c1"), None);
        assert_eq!(names.take("other"), None);
    }

    #[test]
    fn partial_empty_long_and_malformed_names() {
        let names = RedirectNames::default();
        names
            .remember("c", r#"{"name":{"lastName":"Byron"}}"#)
            .unwrap();
        assert_eq!(names.take("c").as_deref(), Some("Byron"));
        names
            .remember("c", r#"{"name":{"firstName":" "}}"#)
            .unwrap();
        names.remember("c", r#"{"email":"a@x.test"}"#).unwrap();
        names.remember("c", "").unwrap();
        assert_eq!(names.take("c"), None);
        let long = "é".repeat(100);
        names
            .remember("c", &format!(r#"{{"name":{{"firstName":"{long}"}}}}"#))
            .unwrap();
        let taken = names.take("c").unwrap();
        assert_eq!(taken.len(), 150);
        assert!(names.remember("c", "not json").is_err());
        assert!(names.remember("c", r#"{"name":{"firstName":1}}"#).is_err());
        assert!(names
            .remember(&"x".repeat(986), r#"{"name":{"firstName":"A"}}"#)
            .is_err());
        names
            .remember("c", r#"{"name":{"firstName":"A"}}"#)
            .unwrap();
        names.forget("c");
        assert_eq!(names.take("c"), None);
    }
}
