//! Field definitions as PocketBase stores them: a few common keys plus type-specific options.

use motorbase_store::{ColumnKind, Value};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldType {
    Text,
    Number,
    Bool,
    Email,
    Url,
    Editor,
    Date,
    Autodate,
    Select,
    File,
    Relation,
    Json,
    GeoPoint,
    Password,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Bool => "bool",
            FieldType::Email => "email",
            FieldType::Url => "url",
            FieldType::Editor => "editor",
            FieldType::Date => "date",
            FieldType::Autodate => "autodate",
            FieldType::Select => "select",
            FieldType::File => "file",
            FieldType::Relation => "relation",
            FieldType::Json => "json",
            FieldType::GeoPoint => "geoPoint",
            FieldType::Password => "password",
        }
    }

    /// The type-specific options a field of this type always shows, with their defaults.
    fn default_options(self) -> Json {
        match self {
            FieldType::Text => {
                json!({"autogeneratePattern": "", "max": 0, "min": 0, "pattern": "", "primaryKey": false})
            }
            FieldType::Number => json!({"max": null, "min": null, "onlyInt": false}),
            FieldType::Email | FieldType::Url => json!({"exceptDomains": [], "onlyDomains": []}),
            FieldType::Editor => json!({"convertURLs": false, "maxSize": 0}),
            FieldType::Date => json!({"max": "", "min": ""}),
            FieldType::Select => json!({"maxSelect": 0, "values": []}),
            FieldType::File => {
                json!({"maxSelect": 0, "maxSize": 0, "mimeTypes": [], "protected": false, "thumbs": []})
            }
            FieldType::Relation => {
                json!({"cascadeDelete": false, "collectionId": "", "maxSelect": 0, "minSelect": 0})
            }
            FieldType::Json => json!({"maxSize": 0}),
            FieldType::Autodate => json!({"onCreate": false, "onUpdate": false}),
            FieldType::Password => json!({"cost": 0, "max": 0, "min": 0, "pattern": ""}),
            FieldType::Bool | FieldType::GeoPoint => json!({}),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub presentable: bool,
    /// Everything else (`required`, `min`, `values`, `collectionId`...), kept as given.
    #[serde(flatten)]
    pub options: Map<String, Json>,
}

impl Field {
    /// A field of `kind` with `options` merged over the type's defaults.
    pub fn new(name: &str, kind: FieldType, options: Json) -> Self {
        let mut f = Field {
            id: String::new(),
            name: name.to_string(),
            kind,
            system: false,
            hidden: false,
            presentable: false,
            options: options.as_object().cloned().unwrap_or_default(),
        };
        f.fill_defaults();
        f
    }

    /// Adds the type's missing options (and `help`, `required`) so the stored shape is complete.
    pub fn fill_defaults(&mut self) {
        if let Json::Object(defaults) = self.kind.default_options() {
            for (k, v) in defaults {
                self.options.entry(k).or_insert(v);
            }
        }
        if self.kind != FieldType::Autodate {
            self.options.entry("help").or_insert(json!(""));
            self.options.entry("required").or_insert(json!(false));
        }
    }

    /// An option by name, found by comparing names in turn: a field has a handful of options,
    /// and hashing the name (SipHash, in serde_json's map) cost more than the comparisons.
    /// Validation reads ~20 options per record written.
    fn opt(&self, key: &str) -> Option<&Json> {
        self.options
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
    pub fn opt_bool(&self, key: &str) -> bool {
        self.opt(key).and_then(Json::as_bool).unwrap_or(false)
    }
    pub fn opt_f64(&self, key: &str) -> Option<f64> {
        self.opt(key).and_then(Json::as_f64)
    }
    pub fn opt_str(&self, key: &str) -> &str {
        self.opt(key).and_then(Json::as_str).unwrap_or("")
    }
    pub fn opt_strs(&self, key: &str) -> Vec<String> {
        self.opt(key)
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn required(&self) -> bool {
        self.opt_bool("required")
    }
    pub fn max_select(&self) -> usize {
        self.opt_f64("maxSelect").unwrap_or(0.0).max(0.0) as usize
    }

    /// Select, relation and file fields hold a list when `maxSelect` is above one.
    pub fn is_multi(&self) -> bool {
        matches!(
            self.kind,
            FieldType::Select | FieldType::Relation | FieldType::File
        ) && self.max_select() > 1
    }

    pub fn column_kind(&self) -> ColumnKind {
        match self.kind {
            FieldType::Number => ColumnKind::Number,
            FieldType::Bool => ColumnKind::Bool,
            FieldType::Json | FieldType::GeoPoint => ColumnKind::Json,
            _ if self.is_multi() => ColumnKind::Json,
            _ => ColumnKind::Text,
        }
    }

    /// The value a record has for this field when nothing was set, as stored.
    pub fn zero_column(&self) -> Value {
        match self.kind {
            FieldType::Number => Value::Int(0),
            FieldType::Bool => Value::Bool(false),
            FieldType::Json => Value::Null,
            FieldType::GeoPoint => Value::Text(r#"{"lon":0,"lat":0}"#.into()),
            _ if self.is_multi() => Value::Text("[]".into()),
            _ => Value::Text(String::new()),
        }
    }

    /// The same zero value as the API shows it.
    pub fn zero_json(&self) -> Json {
        match self.kind {
            FieldType::Number => json!(0),
            FieldType::Bool => json!(false),
            FieldType::Json => Json::Null,
            FieldType::GeoPoint => json!({"lon": 0, "lat": 0}),
            _ if self.is_multi() => json!([]),
            _ => json!(""),
        }
    }
}

/// PocketBase's stable field id: the type name followed by the CRC-32 of the field name.
pub fn field_id(kind: FieldType, name: &str) -> String {
    format!("{}{}", kind.as_str(), crc32fast::hash(name.as_bytes()))
}
