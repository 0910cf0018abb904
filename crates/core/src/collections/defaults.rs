//! The collections every new data folder has, and the system fields and options of auth
//! collections.

use serde_json::{json, Map, Value as Json};

use super::field::{field_id, Field, FieldType};
use super::model::{Collection, CollectionType};
use crate::util::{now, random_alnum};

fn system(mut f: Field) -> Field {
    f.system = true;
    f.id = field_id(f.kind, &f.name);
    f
}

pub fn id_field() -> Field {
    let mut f = system(Field::new(
        "id",
        FieldType::Text,
        json!({"autogeneratePattern": "[a-z0-9]{15}", "max": 15, "min": 15, "pattern": "^[a-z0-9]+$", "primaryKey": true, "required": true}),
    ));
    f.system = true;
    f
}

/// The fields an auth collection always has, in PocketBase's order.
pub fn auth_system_fields() -> Vec<Field> {
    let mut password = system(Field::new(
        "password",
        FieldType::Password,
        json!({"min": 8, "required": true}),
    ));
    password.hidden = true;
    let mut token_key = system(Field::new(
        "tokenKey",
        FieldType::Text,
        json!({"autogeneratePattern": "[a-zA-Z0-9]{50}", "max": 60, "min": 30, "required": true}),
    ));
    token_key.hidden = true;
    vec![
        password,
        token_key,
        system(Field::new(
            "email",
            FieldType::Email,
            json!({"required": true}),
        )),
        system(Field::new("emailVisibility", FieldType::Bool, json!({}))),
        system(Field::new("verified", FieldType::Bool, json!({}))),
    ]
}

fn template(subject: &str, body: &str) -> Json {
    json!({"subject": subject, "body": body})
}

/// Auth options with their defaults; fresh token secrets for each collection.
pub fn auth_options() -> Map<String, Json> {
    let secret = || random_alnum(50);
    let opts = json!({
        "authRule": "",
        "manageRule": null,
        "authAlert": {"enabled": true, "emailTemplate": template(
            "New sign-in to your {APP_NAME} account",
            "<p>Hi,</p>\n<p>Your {APP_NAME} account was just used to sign in from a new location:</p>\n<p><em>{ALERT_INFO}</em></p>\n<p>If that was not you, change your password now; that signs out every other session.</p>\n<p>- {APP_NAME}</p>")},
        "oauth2": {"providers": [], "mappedFields": {"id": "", "name": "", "username": "", "avatarURL": ""}, "enabled": false},
        "passwordAuth": {"enabled": true, "identityFields": ["email"]},
        "mfa": {"enabled": false, "duration": 600, "rule": ""},
        "otp": {"enabled": false, "duration": 180, "length": 8, "emailTemplate": template(
            "Your {APP_NAME} sign-in code",
            "<p>Hi,</p>\n<p>Your one-time sign-in code is <strong>{OTP}</strong>.</p>\n<p>If you did not ask for it, ignore this message.</p>\n<p>- {APP_NAME}</p>")},
        "authToken": {"duration": 432000, "secret": secret()},
        "passwordResetToken": {"duration": 1800, "secret": secret()},
        "emailChangeToken": {"duration": 1800, "secret": secret()},
        "verificationToken": {"duration": 86400, "secret": secret()},
        "fileToken": {"duration": 180, "secret": secret()},
        "verificationTemplate": template(
            "Confirm your {APP_NAME} email address",
            "<p>Hi,</p>\n<p>Welcome to {APP_NAME}. Confirm your email address with the link below.</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm email</a></p>\n<p>- {APP_NAME}</p>"),
        "resetPasswordTemplate": template(
            "Reset your {APP_NAME} password",
            "<p>Hi,</p>\n<p>Choose a new password with the link below.</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Choose a new password</a></p>\n<p>If you did not ask for this, ignore this message.</p>\n<p>- {APP_NAME}</p>"),
        "confirmEmailChangeTemplate": template(
            "Confirm your new {APP_NAME} email address",
            "<p>Hi,</p>\n<p>Confirm your new email address with the link below.</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm new email</a></p>\n<p>- {APP_NAME}</p>"),
    });
    opts.as_object().cloned().unwrap_or_default()
}

fn autodate(name: &str, on_update: bool) -> Field {
    let mut f = Field::new(
        name,
        FieldType::Autodate,
        json!({"onCreate": true, "onUpdate": on_update}),
    );
    f.id = field_id(f.kind, name);
    f
}

fn auth_collection(id: &str, name: &str, extra: Vec<Field>, indexes: Vec<String>) -> Collection {
    let mut fields = vec![id_field()];
    fields.extend(auth_system_fields());
    fields.extend(extra);
    fields.push(autodate("created", false));
    fields.push(autodate("updated", true));
    let t = now();
    Collection {
        id: id.to_string(),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: name.to_string(),
        kind: CollectionType::Auth,
        fields,
        indexes,
        created: t.clone(),
        updated: t,
        system: false,
        options: auth_options(),
    }
}

pub fn default_indexes(id: &str, name: &str) -> Vec<String> {
    vec![
        format!("CREATE UNIQUE INDEX `idx_tokenKey_{id}` ON `{name}` (`tokenKey`)"),
        format!("CREATE UNIQUE INDEX `idx_email_{id}` ON `{name}` (`email`) WHERE `email` != ''"),
    ]
}

pub fn superusers() -> Collection {
    let id = "pbc_3142635823";
    let mut c = auth_collection(
        id,
        super::SUPERUSERS,
        vec![],
        default_indexes(id, super::SUPERUSERS),
    );
    c.system = true;
    // Superuser sessions are shorter than other accounts' (PocketBase's defaults).
    if let Some(t) = c.options.get_mut("authToken") {
        t["duration"] = json!(86400);
    }
    c
}

pub fn users() -> Collection {
    let id = "_pb_users_auth_";
    let name = Field::new("name", FieldType::Text, json!({"max": 255}));
    let avatar = Field::new(
        "avatar",
        FieldType::File,
        json!({"maxSelect": 1, "mimeTypes": ["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"]}),
    );
    let extra = [name, avatar]
        .into_iter()
        .map(|mut f| {
            f.id = field_id(f.kind, &f.name);
            f
        })
        .collect();
    let mut c = auth_collection(id, "users", extra, default_indexes(id, "users"));
    let own = Some("id = @request.auth.id".to_string());
    c.list_rule = own.clone();
    c.view_rule = own.clone();
    c.create_rule = Some(String::new());
    c.update_rule = own.clone();
    c.delete_rule = own;
    if let Some(m) = c
        .options
        .get_mut("oauth2")
        .and_then(|o| o.get_mut("mappedFields"))
    {
        *m = json!({"id": "", "name": "name", "username": "", "avatarURL": "avatar"});
    }
    c
}

/// The rule PocketBase gives its auth bookkeeping collections: an account sees its own rows.
const OWN_ROWS: &str =
    "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

/// A system base collection of the auth flows (`_otps`, `_mfas`, ...): `collectionRef` and
/// `recordRef` name the account, then the collection's own fields.
fn auth_bookkeeping(
    id: &str,
    name: &str,
    extra: Vec<Field>,
    indexes: Vec<String>,
    deletable: bool,
) -> Collection {
    let text = |n: &str, hidden: bool| {
        let mut f = system(Field::new(n, FieldType::Text, json!({"required": true})));
        f.hidden = hidden;
        f
    };
    let mut fields = vec![
        id_field(),
        text("collectionRef", false),
        text("recordRef", false),
    ];
    fields.extend(extra);
    for (n, on_update) in [("created", false), ("updated", true)] {
        let mut f = autodate(n, on_update);
        f.system = true;
        fields.push(f);
    }
    let t = now();
    let own = Some(OWN_ROWS.to_string());
    Collection {
        id: id.to_string(),
        list_rule: own.clone(),
        view_rule: own.clone(),
        create_rule: None,
        update_rule: None,
        delete_rule: if deletable { own } else { None },
        name: name.to_string(),
        kind: CollectionType::Base,
        fields,
        indexes,
        created: t.clone(),
        updated: t,
        system: true,
        options: Map::new(),
    }
}

/// `_mfas`: first factors that passed and wait for a second one.
pub fn mfas() -> Collection {
    let method = system(Field::new(
        "method",
        FieldType::Text,
        json!({"required": true}),
    ));
    auth_bookkeeping(
        "pbc_2279338944",
        "_mfas",
        vec![method],
        vec![
            "CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)"
                .into(),
        ],
        false,
    )
}

/// `_otps`: one-time codes sent by mail, stored hashed.
pub fn otps() -> Collection {
    let mut password = system(Field::new(
        "password",
        FieldType::Password,
        json!({"required": true, "cost": 8}),
    ));
    password.hidden = true;
    let mut sent_to = system(Field::new("sentTo", FieldType::Text, json!({})));
    sent_to.hidden = true;
    auth_bookkeeping(
        "pbc_1638494021",
        "_otps",
        vec![password, sent_to],
        vec![
            "CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)"
                .into(),
        ],
        false,
    )
}

/// `_externalAuths`: which OAuth2 account is linked to which record.
pub fn external_auths() -> Collection {
    let provider = system(Field::new(
        "provider",
        FieldType::Text,
        json!({"required": true}),
    ));
    let provider_id = system(Field::new(
        "providerId",
        FieldType::Text,
        json!({"required": true}),
    ));
    auth_bookkeeping(
        "pbc_2281828961",
        "_externalAuths",
        vec![provider, provider_id],
        vec![
            "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, provider)".into(),
            "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (collectionRef, provider, providerId)".into(),
        ],
        true,
    )
}

/// `_authOrigins`: the devices an account signed in from (for new-location alerts).
pub fn auth_origins() -> Collection {
    let fingerprint = system(Field::new(
        "fingerprint",
        FieldType::Text,
        json!({"required": true}),
    ));
    auth_bookkeeping(
        "pbc_4275539003",
        "_authOrigins",
        vec![fingerprint],
        vec!["CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, fingerprint)".into()],
        true,
    )
}

/// The auth bookkeeping collections, in PocketBase's order.
pub fn auth_system_collections() -> Vec<Collection> {
    vec![mfas(), otps(), external_auths(), auth_origins()]
}
