//! The `fields` query parameter: which keys of each record the response keeps.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

/// A tree of wanted keys; `*` keeps everything at its level.
#[derive(Debug, Default, Clone)]
pub struct FieldsPicker {
    all: bool,
    children: BTreeMap<String, FieldsPicker>,
    /// `:excerpt(max, ellipsis)` on this key.
    excerpt: Option<(usize, bool)>,
}

/// Splits on commas outside parentheses (`a,b:excerpt(10,true)` is two items).
fn split_top_level(spec: &str) -> Vec<&str> {
    let mut out = vec![];
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

/// `excerpt(200, true)` -> (200, true).
fn parse_excerpt(modifier: &str) -> Option<(usize, bool)> {
    let args = modifier.strip_prefix("excerpt(")?.strip_suffix(')')?;
    let mut parts = args.split(',').map(str::trim);
    let max = parts.next()?.parse().ok()?;
    let ellipsis = matches!(parts.next(), Some("true" | "1" | "t"));
    Some((max, ellipsis))
}

/// Elements whose content is never text (scripts, media, forms...).
const EXCLUDED_TAGS: &[&str] = &[
    "head", "style", "script", "iframe", "embed", "applet", "object", "svg", "img", "picture",
    "dialog", "template", "button", "form", "textarea", "input", "select", "option",
];

/// Elements that do not break the text flow; every other element separates words.
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "acronym", "b", "bdo", "big", "br", "button", "cite", "code", "em", "i", "label",
    "q", "small", "span", "strong", "strike", "sub", "sup", "time",
];

/// Elements without content.
const VOID_TAGS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// `&amp;`, `&#39;`, `&#x27;`... as text (unknown entities stay as written).
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The plain text of an HTML fragment as PocketBase's excerpts read it: text runs with their
/// whitespace folded, block elements separating words, scripts, media and forms left out.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut prev_space = false;
    // The excluded element being skipped, with how deep it nests.
    let mut skipping: Option<(String, usize)> = None;
    let mut rest = html;
    let push_text = |text: &str, out: &mut String, prev_space: &mut bool| {
        let mut folded = String::with_capacity(text.len());
        let mut in_space = false;
        for c in text.chars() {
            if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
                if !in_space {
                    folded.push(' ');
                }
                in_space = true;
            } else {
                folded.push(c);
                in_space = false;
            }
        }
        let folded = if *prev_space {
            folded.trim_start_matches(' ').to_string()
        } else {
            folded
        };
        if !folded.is_empty() {
            *prev_space = folded.ends_with(' ');
            out.push_str(&folded);
        }
    };
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            if skipping.is_none() {
                push_text(&decode_entities(rest), &mut out, &mut prev_space);
            }
            break;
        };
        if skipping.is_none() && open > 0 {
            push_text(&decode_entities(&rest[..open]), &mut out, &mut prev_space);
        }
        rest = &rest[open..];
        if let Some(body) = rest.strip_prefix("<!--") {
            rest = body.find("-->").map_or("", |end| &body[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            if skipping.is_none() {
                push_text(&decode_entities(rest), &mut out, &mut prev_space);
            }
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        let void = VOID_TAGS.contains(&name.as_str()) || tag.ends_with('/');
        if let Some((skipped, depth)) = skipping.as_mut() {
            if *skipped == name && !void {
                if closing {
                    *depth -= 1;
                    if *depth == 0 {
                        skipping = None;
                    }
                } else {
                    *depth += 1;
                }
            }
            continue;
        }
        if EXCLUDED_TAGS.contains(&name.as_str()) {
            if !closing && !void {
                skipping = Some((name, 1));
            }
            continue;
        }
        if !INLINE_TAGS.contains(&name.as_str()) && !prev_space {
            out.push(' ');
            prev_space = true;
        }
    }
    out.trim().to_string()
}

/// The first `max` characters of the plain text of an HTML fragment (`...` after a cut, when
/// asked).
fn excerpt(html: &str, max: usize, ellipsis: bool) -> String {
    let text = plain_text(html);
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text
        .chars()
        .take(max)
        .collect::<String>()
        .trim()
        .to_string();
    if ellipsis {
        cut.push_str("...");
    }
    cut
}

impl FieldsPicker {
    /// `None` when the parameter is absent or empty: keep everything.
    pub fn parse(spec: &str) -> Option<Self> {
        let mut root = FieldsPicker::default();
        let mut any = false;
        for item in split_top_level(spec)
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (item, modifier) = item.split_once(':').unwrap_or((item, ""));
            let mut node = &mut root;
            for seg in item.split('.') {
                if seg == "*" {
                    node.all = true;
                    break;
                }
                node = node.children.entry(seg.to_string()).or_default();
            }
            if let Some(e) = parse_excerpt(modifier) {
                node.excerpt = Some(e);
            }
            any = true;
        }
        any.then_some(root)
    }

    pub fn apply(&self, obj: &mut Map<String, Json>) {
        if self.all && self.children.is_empty() {
            return;
        }
        let keys: Vec<String> = obj.keys().cloned().collect();
        for k in keys {
            match self.children.get(&k) {
                Some(child) => {
                    if let (Some((max, ellipsis)), Some(Json::String(v))) =
                        (child.excerpt, obj.get(&k))
                    {
                        let cut = excerpt(v, max, ellipsis);
                        obj.insert(k.clone(), Json::String(cut));
                    }
                    if !child.children.is_empty() || child.all {
                        match obj.get_mut(&k) {
                            Some(Json::Object(o)) => child.apply_nested(o),
                            Some(Json::Array(a)) => a.iter_mut().for_each(|v| {
                                if let Json::Object(o) = v {
                                    child.apply(o)
                                }
                            }),
                            _ => {}
                        }
                    }
                }
                None if self.all => {}
                None => {
                    obj.remove(&k);
                }
            }
        }
    }

    /// Inside `expand`, each key names a relation whose value is a record or a list of them.
    fn apply_nested(&self, o: &mut Map<String, Json>) {
        // `expand.author.name`: `o` is the expand object; its children are relation names.
        // `author.name`: `o` is a record. Either way the same picking rule applies per level.
        self.apply(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_keys_and_nested_expand() {
        let p = FieldsPicker::parse("id,title,expand.author.name").unwrap();
        let mut rec = json!({"id": "1", "title": "t", "body": "b", "expand": {"author": {"id": "u", "name": "N"}}});
        p.apply(rec.as_object_mut().unwrap());
        assert_eq!(
            rec,
            json!({"id": "1", "title": "t", "expand": {"author": {"name": "N"}}})
        );
    }

    #[test]
    fn excerpts_read_text_as_pocketbase() {
        assert_eq!(
            excerpt("<p>Welcome to <b>Rome</b>, a lovely   city.</p>", 16, true),
            "Welcome to Rome,..."
        );
        assert_eq!(
            excerpt(
                "<h1>Title</h1><p>a&amp;b <script>x()</script>c</p>",
                100,
                false
            ),
            "Title a&b c"
        );
    }

    #[test]
    fn excerpts_strip_html_and_cut() {
        let p = FieldsPicker::parse("body:excerpt(12,true),title:excerpt(2)").unwrap();
        let mut rec = json!({"body": "<p>Hello <b>big</b>\n world</p>", "title": "t1", "x": 1});
        p.apply(rec.as_object_mut().unwrap());
        assert_eq!(rec, json!({"body": "Hello big wo...", "title": "t1"}));
    }

    #[test]
    fn star_keeps_all() {
        let p = FieldsPicker::parse("*,expand.author.id").unwrap();
        let mut rec =
            json!({"id": "1", "body": "b", "expand": {"author": {"id": "u", "name": "N"}}});
        p.apply(rec.as_object_mut().unwrap());
        assert_eq!(
            rec,
            json!({"id": "1", "body": "b", "expand": {"author": {"id": "u"}}})
        );
        assert!(FieldsPicker::parse(" ").is_none());
    }
}
