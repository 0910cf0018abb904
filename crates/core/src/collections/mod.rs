//! Collections: their definitions, the schema cache, and the changes that turn a definition into
//! tables, columns and indexes.

pub mod defaults;
pub mod field;
mod import;
pub mod index;
mod list;
pub mod model;
pub mod rename;
mod save;
mod scaffolds;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

pub use field::{field_id, Field, FieldType};
pub use import::import_collections;
pub use list::list_collections;
pub use model::{Collection, CollectionType, RuleKind};
pub(crate) use save::definition_row;
pub use save::{
    create_collection, delete_collection, public_json, truncate_collection, update_collection,
};
pub use scaffolds::scaffolds;

pub const SUPERUSERS: &str = "_superusers";

/// An immutable snapshot of every collection, swapped whole after each schema change.
#[derive(Debug, Default)]
pub struct Schema {
    by_id: HashMap<String, Arc<Collection>>,
    /// Keyed by lower-case name.
    by_name: HashMap<String, Arc<Collection>>,
    order: Vec<String>,
    reads_request_headers: bool,
}

/// Every rule a collection has.
const RULE_KINDS: [RuleKind; 7] = [
    RuleKind::List,
    RuleKind::View,
    RuleKind::Create,
    RuleKind::Update,
    RuleKind::Delete,
    RuleKind::Manage,
    RuleKind::Auth,
];

impl Schema {
    pub fn new(collections: Vec<Collection>) -> Self {
        let mut s = Schema::default();
        for c in collections {
            s.order.push(c.id.clone());
            s.reads_request_headers |= RULE_KINDS
                .iter()
                .any(|k| c.rule(*k).is_some_and(|r| r.contains("@request.headers")));
            let c = Arc::new(c);
            s.by_name.insert(c.name.to_lowercase(), c.clone());
            s.by_id.insert(c.id.clone(), c);
        }
        s
    }

    /// Whether any collection's rule reads `@request.headers`. Only then (or for a superuser,
    /// whose filters may read it too) does a request's context carry its headers: building that
    /// map hashed and copied every header of every request.
    pub fn reads_request_headers(&self) -> bool {
        self.reads_request_headers
    }

    /// Finds a collection by id or (case-insensitive) name, as PocketBase's URLs allow.
    pub fn get(&self, id_or_name: &str) -> Option<Arc<Collection>> {
        if let Some(c) = self.by_id.get(id_or_name) {
            return Some(c.clone());
        }
        // URLs mostly spell names in lower case already: then no lower-case copy is made.
        let lower = |b: u8| b.is_ascii() && !b.is_ascii_uppercase();
        if id_or_name.bytes().all(lower) {
            self.by_name.get(id_or_name).cloned()
        } else {
            self.by_name.get(&id_or_name.to_lowercase()).cloned()
        }
    }

    /// All collections, in creation order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Collection>> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }
}
