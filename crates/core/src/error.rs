//! Domain errors. The api crate maps each variant onto PocketBase's error shape explicitly.

use std::collections::BTreeMap;

use motorbase_store::StoreError;
use thiserror::Error;

/// One field's validation failure: PocketBase's `{code, message}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    pub code: String,
    pub message: String,
    /// The values the message mentions (`{"min": 3}`), as PocketBase sends them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
}

impl FieldError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        FieldError {
            code: code.to_string(),
            message: message.into(),
            params: None,
        }
    }
    pub fn with_params(mut self, params: serde_json::Value) -> Self {
        self.params = Some(params);
        self
    }
    pub fn required() -> Self {
        Self::new("validation_required", "Cannot be blank.")
    }
}

/// Field errors keyed by field name; may nest (`data.fields.0.name`) through [`ErrorData::Nested`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ErrorData {
    Field(FieldError),
    Nested(BTreeMap<String, ErrorData>),
}

pub type FieldErrors = BTreeMap<String, ErrorData>;

#[derive(Debug, Error)]
pub enum CoreError {
    /// 400 with per-field errors.
    #[error("{message}")]
    Validation { message: String, data: FieldErrors },
    /// 400 without field detail.
    #[error("{0}")]
    BadRequest(String),
    /// 401: a token was required or is invalid.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated (or not) but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    pub fn not_found() -> Self {
        CoreError::NotFound("The requested resource wasn't found.".into())
    }
    pub fn superusers_only() -> Self {
        CoreError::Forbidden("Only superusers can perform this action.".into())
    }
    pub fn generic_bad_request() -> Self {
        CoreError::BadRequest("Something went wrong while processing your request.".into())
    }
    pub fn validation(message: &str, data: FieldErrors) -> Self {
        CoreError::Validation {
            message: message.to_string(),
            data,
        }
    }
    pub fn field(message: &str, field: &str, err: FieldError) -> Self {
        let mut data = FieldErrors::new();
        data.insert(field.to_string(), ErrorData::Field(err));
        Self::validation(message, data)
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
