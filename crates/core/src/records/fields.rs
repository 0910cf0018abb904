//! The `fields` query parameter: which keys of each record the response keeps.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

/// A tree of wanted keys; `*` keeps everything at its level.
#[derive(Debug, Default, Clone)]
pub struct FieldsPicker {
    all: bool,
    children: BTreeMap<String, FieldsPicker>,
}

impl FieldsPicker {
    /// `None` when the parameter is absent or empty: keep everything.
    pub fn parse(spec: &str) -> Option<Self> {
        let mut root = FieldsPicker::default();
        let mut any = false;
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // Modifiers such as `:excerpt(...)` belong to the query-depth issue; the key is kept.
            let item = item.split(':').next().unwrap_or(item);
            let mut node = &mut root;
            for seg in item.split('.') {
                if seg == "*" {
                    node.all = true;
                    break;
                }
                node = node.children.entry(seg.to_string()).or_default();
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
