//! A collection as PocketBase's API shows it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::field::{Field, FieldType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionType {
    Base,
    Auth,
    View,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    pub id: String,
    pub list_rule: Option<String>,
    pub view_rule: Option<String>,
    pub create_rule: Option<String>,
    pub update_rule: Option<String>,
    pub delete_rule: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub fields: Vec<Field>,
    pub indexes: Vec<String>,
    pub created: String,
    pub updated: String,
    pub system: bool,
    /// Auth collection options (`authRule`, `manageRule`, `passwordAuth`, token durations...).
    #[serde(flatten)]
    pub options: Map<String, Json>,
}

/// Which of a collection's rules applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    List,
    View,
    Create,
    Update,
    Delete,
    Manage,
    Auth,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_auth(&self) -> bool {
        self.kind == CollectionType::Auth
    }

    pub fn is_superusers(&self) -> bool {
        self.name == super::SUPERUSERS
    }

    pub fn rule(&self, kind: RuleKind) -> Option<&str> {
        match kind {
            RuleKind::List => self.list_rule.as_deref(),
            RuleKind::View => self.view_rule.as_deref(),
            RuleKind::Create => self.create_rule.as_deref(),
            RuleKind::Update => self.update_rule.as_deref(),
            RuleKind::Delete => self.delete_rule.as_deref(),
            RuleKind::Manage => self.options.get("manageRule").and_then(Json::as_str),
            RuleKind::Auth => self.options.get("authRule").and_then(Json::as_str),
        }
    }

    /// The identity fields a password sign-in may use (`passwordAuth.identityFields`).
    pub fn identity_fields(&self) -> Vec<String> {
        self.options
            .get("passwordAuth")
            .and_then(|p| p.get("identityFields"))
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| vec!["email".to_string()])
    }

    pub fn password_auth_enabled(&self) -> bool {
        self.options
            .get("passwordAuth")
            .and_then(|p| p.get("enabled"))
            .and_then(Json::as_bool)
            .unwrap_or(true)
    }

    /// Token lifetime in seconds for `authToken`, `fileToken`, ...
    pub fn token_duration(&self, key: &str, default: i64) -> i64 {
        self.options
            .get(key)
            .and_then(|t| t.get("duration"))
            .and_then(Json::as_i64)
            .unwrap_or(default)
    }

    /// Fields whose values are stored as columns, in order.
    pub fn columns(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.name != "id")
    }

    /// Relation fields of this collection that point at `target_id`.
    pub fn relations_to<'a>(&'a self, target_id: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| {
            f.kind == FieldType::Relation && f.opt_str("collectionId") == target_id
        })
    }
}
