//! Email templates as PocketBase stores them (`{subject, body}` in the collection's options),
//! filled with its placeholders: `{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`, `{OTP_ID}`,
//! `{ALERT_INFO}` and `{RECORD:field}` for every visible field of the record.

use serde_json::{Map, Value as Json};

use crate::collections::{Collection, FieldType};

/// A rendered message: subject and full HTML document.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn as_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Array(a) if a.is_empty() => String::new(),
        other => other.to_string(),
    }
}

/// Fills `template` (`{subject, body}`) for `record`; `extra` placeholders (`{TOKEN}`...) win
/// over the defaults. Record values are HTML-escaped, except rich-text (editor) fields.
pub fn render(
    template: Option<&Json>,
    settings: &Json,
    collection: &Collection,
    record: &Map<String, Json>,
    extra: &[(&str, &str)],
) -> Rendered {
    let get = |k: &str| {
        template
            .and_then(|t| t.get(k))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let meta = |k: &str| {
        settings
            .get("meta")
            .and_then(|m| m.get(k))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut pairs: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.push(("{APP_NAME}".into(), meta("appName")));
    pairs.push(("{APP_URL}".into(), meta("appURL")));
    for f in &collection.fields {
        if f.hidden || f.kind == FieldType::Password {
            continue;
        }
        let raw = record.get(&f.name).map(as_text).unwrap_or_default();
        let value = if f.kind == FieldType::Editor {
            raw
        } else {
            escape_html(&raw)
        };
        pairs.push((format!("{{RECORD:{}}}", f.name), value));
    }
    let fill = |mut s: String| {
        // One pass per placeholder; earlier entries (the caller's) take precedence.
        let mut seen = std::collections::HashSet::new();
        for (k, v) in &pairs {
            if seen.insert(k.clone()) {
                s = s.replace(k.as_str(), v);
            }
        }
        s
    };
    let subject = fill(get("subject"));
    let body = fill(get("body"));
    Rendered {
        subject,
        html: layout(&body),
    }
}

/// Our own minimal document around a template's body.
fn layout(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>\nbody {{ font-family: sans-serif; font-size: 15px; line-height: 1.5; color: #1a1a1a; }}\n.btn {{ display: inline-block; padding: 8px 16px; border-radius: 4px; background: #1a1a1a; color: #fff !important; text-decoration: none; }}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
}

/// A plain-text reading of an HTML message: tags dropped, links shown with their target, the
/// common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let body = html
        .split_once("<body>")
        .map(|(_, b)| b.split("</body>").next().unwrap_or(b))
        .unwrap_or(html);
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut pending_href: Option<String> = None;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[start + 1..start + end];
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("a ") {
            pending_href = tag
                .split("href=\"")
                .nth(1)
                .and_then(|h| h.split('"').next())
                .map(str::to_string);
        } else if lower == "/a" {
            if let Some(h) = pending_href.take() {
                out.push_str(&format!(" ({h})"));
            }
        } else if lower == "/p" || lower.starts_with("br") {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = decoded.lines().map(str::trim).collect();
    let mut text = lines.join("\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_and_escaping() {
        let c = crate::collections::defaults::users();
        let settings = json!({"meta": {"appName": "Shop", "appURL": "https://shop.test"}});
        let mut record = Map::new();
        record.insert("name".into(), json!("<b>Ann</b>"));
        record.insert("email".into(), json!("ann@example.com"));
        let t = json!({"subject": "Hi {RECORD:name} from {APP_NAME}",
            "body": "<p><a href=\"{APP_URL}/x/{TOKEN}\">go</a> {RECORD:email}</p>"});
        let r = render(Some(&t), &settings, &c, &record, &[("{TOKEN}", "abc")]);
        assert_eq!(r.subject, "Hi &lt;b&gt;Ann&lt;/b&gt; from Shop");
        assert!(r.html.contains("https://shop.test/x/abc"));
        assert!(r.html.contains("ann@example.com"));
        assert_eq!(
            html_to_text(&r.html),
            "go (https://shop.test/x/abc) ann@example.com"
        );
    }
}
