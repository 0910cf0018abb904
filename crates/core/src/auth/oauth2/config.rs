//! The `oauth2.providers` option as PocketBase stores it: every provider with the same keys,
//! client secrets kept across updates that do not resend them, never shown, and checked.

use serde_json::{json, Map, Value as Json};

use super::providers::spec;
use crate::error::{ErrorData, FieldError, FieldErrors};

/// The keys every stored provider has, with their defaults.
fn defaults() -> Map<String, Json> {
    json!({"pkce": null, "name": "", "clientId": "", "clientSecret": "", "authURL": "",
           "tokenURL": "", "userInfoURL": "", "displayName": "", "extra": {}})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// Prepares an `oauth2` update: providers get every key, and one sent without a client secret
/// keeps the secret stored for the provider of the same name (clients never see it to resend).
pub fn prepare_update(current: Option<&Json>, update: &mut Json) {
    let old: Vec<Json> = current
        .and_then(|o| o.get("providers"))
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(list) = update.get_mut("providers").and_then(Json::as_array_mut) else {
        return;
    };
    for p in list.iter_mut() {
        let Some(obj) = p.as_object_mut() else {
            continue;
        };
        let name = obj
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        let secret_missing = obj
            .get("clientSecret")
            .and_then(Json::as_str)
            .is_none_or(str::is_empty);
        if secret_missing {
            if let Some(prev) = old
                .iter()
                .find(|o| o.get("name").and_then(Json::as_str) == Some(name.as_str()))
            {
                if let Some(s) = prev.get("clientSecret") {
                    obj.insert("clientSecret".into(), s.clone());
                }
            }
        }
        for (k, v) in defaults() {
            obj.entry(k).or_insert(v);
        }
    }
}

/// Field errors of the stored providers (`oauth2.providers.N.field`).
pub fn check(options: &Map<String, Json>, errors: &mut FieldErrors) {
    let Some(list) = options
        .get("oauth2")
        .and_then(|o| o.get("providers"))
        .and_then(Json::as_array)
    else {
        return;
    };
    let mut by_index = std::collections::BTreeMap::new();
    for (i, p) in list.iter().enumerate() {
        let get = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or("");
        let mut fields = std::collections::BTreeMap::new();
        let name = get("name");
        if spec(name).is_none() {
            fields.insert(
                "name".to_string(),
                ErrorData::Field(
                    FieldError::new(
                        "validation_missing_provider",
                        format!("Invalid or missing provider with name {name}."),
                    )
                    .with_params(json!({"name": name})),
                ),
            );
        } else {
            for k in ["clientId", "clientSecret"] {
                if get(k).is_empty() {
                    fields.insert(k.to_string(), ErrorData::Field(FieldError::required()));
                }
            }
        }
        if !fields.is_empty() {
            by_index.insert(i.to_string(), ErrorData::Nested(fields));
        }
    }
    if !by_index.is_empty() {
        let mut providers = std::collections::BTreeMap::new();
        providers.insert("providers".to_string(), ErrorData::Nested(by_index));
        errors.insert("oauth2".into(), ErrorData::Nested(providers));
    }
}

/// Removes client secrets from a collection's JSON before it leaves the server.
pub fn hide_secrets(collection_json: &mut Json) {
    if let Some(list) = collection_json
        .get_mut("oauth2")
        .and_then(|o| o.get_mut("providers"))
        .and_then(Json::as_array_mut)
    {
        for p in list {
            if let Some(obj) = p.as_object_mut() {
                obj.remove("clientSecret");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_survive_updates_and_never_show() {
        let current =
            json!({"providers": [{"name": "github", "clientId": "a", "clientSecret": "s"}]});
        let mut update =
            json!({"enabled": true, "providers": [{"name": "github", "clientId": "b"}]});
        prepare_update(Some(&current), &mut update);
        assert_eq!(update["providers"][0]["clientSecret"], "s");
        assert_eq!(update["providers"][0]["pkce"], Json::Null);
        let mut shown = json!({"oauth2": update});
        hide_secrets(&mut shown);
        assert!(shown["oauth2"]["providers"][0]
            .get("clientSecret")
            .is_none());
    }

    #[test]
    fn unknown_providers_and_missing_credentials() {
        let options = json!({"oauth2": {"providers": [
            {"name": "nope", "clientId": "x", "clientSecret": "y"},
            {"name": "oidc", "clientId": "", "clientSecret": ""}
        ]}});
        let mut errors = FieldErrors::new();
        check(options.as_object().unwrap(), &mut errors);
        let v = serde_json::to_value(&errors).unwrap();
        assert_eq!(
            v["oauth2"]["providers"]["0"]["name"]["code"],
            "validation_missing_provider"
        );
        assert_eq!(
            v["oauth2"]["providers"]["1"]["clientSecret"]["code"],
            "validation_required"
        );
    }
}
