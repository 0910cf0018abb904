//! `GET /api/collections/meta/scaffolds`: a blank definition of each collection type, as a new
//! collection starts out.

use serde_json::{Map, Value as Json};

use super::defaults::{auth_options, auth_system_fields, default_indexes, id_field};
use super::model::{Collection, CollectionType};
use super::save::public_json;

fn blank(kind: CollectionType) -> Collection {
    Collection {
        id: String::new(),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: String::new(),
        kind,
        fields: vec![],
        indexes: vec![],
        created: String::new(),
        updated: String::new(),
        system: false,
        options: Map::new(),
    }
}

/// The three blank definitions keyed by type (`base`, `auth`, `view`).
pub fn scaffolds() -> Json {
    let mut base = blank(CollectionType::Base);
    base.fields = vec![id_field()];

    let mut auth = blank(CollectionType::Auth);
    auth.fields = vec![id_field()];
    auth.fields.extend(auth_system_fields());
    // A random part keeps the default index names apart once the collection is named.
    auth.indexes = default_indexes(&crate::util::random_lower(10), "");
    auth.options = auth_options();

    let mut view = blank(CollectionType::View);
    view.options
        .insert("viewQuery".into(), Json::String(String::new()));

    let mut out = Map::new();
    out.insert("base".into(), public_json(&base));
    out.insert("auth".into(), public_json(&auth));
    out.insert("view".into(), public_json(&view));
    Json::Object(out)
}
