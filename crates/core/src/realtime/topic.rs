//! Subscription strings: `collection/*` or `collection/RECORD_ID`, optionally followed by
//! `?options=` and URL-encoded JSON `{"query": {...}, "headers": {...}}`.

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum TopicError {
    #[error("invalid subscription {0:?}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    raw: Arc<str>,
    pub collection: String,
    /// `None` for `*`.
    pub record: Option<String>,
    /// `expand`, `fields`, `filter` (strings, as in a list request).
    pub query: Map<String, Json>,
    /// Extra request headers the rules may read through `@request.headers`.
    pub headers: Map<String, Json>,
    /// Everything in the options that changes what an event looks like or who may see it,
    /// as one string (subscribers with equal keys and callers share one evaluation).
    options_key: Arc<str>,
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Subscription {
    pub fn parse(raw: &str) -> Result<Self, TopicError> {
        let invalid = || TopicError::Invalid(raw.to_string());
        let (path, options) = match raw.split_once("?options=") {
            Some((p, o)) => (p, Some(o)),
            None => (raw, None),
        };
        let (collection, record) = match path.split_once('/') {
            Some(parts) => parts,
            // Server topics (`@oauth2`, where the OAuth2 redirect answers) name no collection,
            // so no record event ever matches them.
            None if path.len() > 1 && path.starts_with('@') => (path, "*"),
            None => return Err(invalid()),
        };
        if collection.is_empty() || record.is_empty() || record.contains('/') {
            return Err(invalid());
        }
        let mut sub = Subscription {
            raw: Arc::from(raw),
            collection: collection.to_string(),
            record: (record != "*").then(|| record.to_string()),
            query: Map::new(),
            headers: Map::new(),
            options_key: Arc::from(""),
        };
        if let Some(o) = options {
            let text = percent_decode(o).ok_or_else(invalid)?;
            let v: Json = serde_json::from_str(&text).map_err(|_| invalid())?;
            let take = |k: &str| -> Map<String, Json> {
                v.get(k)
                    .and_then(Json::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    Json::String(
                                        v.as_str()
                                            .map(str::to_string)
                                            .unwrap_or_else(|| v.to_string()),
                                    ),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            sub.query = take("query");
            sub.headers = take("headers")
                .into_iter()
                .map(|(k, v)| (k.to_lowercase().replace('-', "_"), v))
                .collect();
        }
        sub.options_key = Arc::from(format!(
            "{}|{}|{}|{}|{}",
            sub.record.is_some(),
            sub.query_param("filter"),
            sub.query_param("expand"),
            sub.query_param("fields"),
            Json::Object(sub.headers.clone())
        ));
        Ok(sub)
    }

    /// Shared, so grouping thousands of subscribers per event copies no strings.
    pub fn options_key(&self) -> &Arc<str> {
        &self.options_key
    }

    /// The subscription exactly as the client sent it: the name its events carry.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The subscription string shared, not copied, into every event sent for it.
    pub fn raw_arc(&self) -> Arc<str> {
        self.raw.clone()
    }

    pub fn query_param(&self, key: &str) -> &str {
        self.query.get(key).and_then(Json::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_topics() {
        let s = Subscription::parse("posts/*").unwrap();
        assert_eq!(
            (s.collection.as_str(), s.record.as_deref()),
            ("posts", None)
        );
        let s = Subscription::parse("posts/abc").unwrap();
        assert_eq!(s.record.as_deref(), Some("abc"));
        let s = Subscription::parse("posts/*?options=%7B%22query%22%3A%7B%22expand%22%3A%22author%22%7D%2C%22headers%22%3A%7B%22X-A%22%3A%221%22%7D%7D").unwrap();
        assert_eq!(s.query_param("expand"), "author");
        assert_eq!(s.headers.get("x_a"), Some(&Json::String("1".into())));
        for bad in ["posts", "/x", "posts/", "a/b/c", "posts/*?options=%7B"] {
            assert!(Subscription::parse(bad).is_err(), "{bad}");
        }
    }
}
