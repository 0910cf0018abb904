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

/// Plain text of an HTML fragment, whitespace folded, cut to `max` characters.
fn excerpt(html: &str, max: usize, ellipsis: bool) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        return folded;
    }
    let mut cut: String = folded
        .chars()
        .take(max)
        .collect::<String>()
        .trim_end()
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
