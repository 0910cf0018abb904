//! The outcomes of the auth flows that are not plain domain errors. The api crate maps each
//! variant onto an HTTP answer explicitly.

use thiserror::Error;

use crate::error::{CoreError, ErrorData, FieldError, FieldErrors};

#[derive(Debug, Error)]
pub enum AuthError {
    /// 400 with a message only ("Invalid or expired OTP", "Failed to authenticate.").
    #[error("{0}")]
    BadRequest(String),
    /// 400 "An error occurred while validating the submitted data." with per-field errors.
    #[error("invalid submitted data")]
    Invalid(FieldErrors),
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 (a disabled method, a failed authRule).
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 429.
    #[error("{0}")]
    TooManyRequests(String),
    /// 401 with `{mfaId}`: the first factor passed, a second one is required.
    #[error("a second factor is required")]
    MfaRequired { mfa_id: String },
    #[error(transparent)]
    Core(#[from] CoreError),
}

pub type AuthResult<T> = Result<T, AuthError>;

/// Collects field errors the way PocketBase's form validation reports them.
#[derive(Debug, Default)]
pub struct FormErrors(pub FieldErrors);

impl FormErrors {
    pub fn add(&mut self, field: &str, code: &str, message: &str) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| ErrorData::Field(FieldError::new(code, message)));
    }
    pub fn add_error(&mut self, field: &str, e: FieldError) {
        self.0
            .entry(field.to_string())
            .or_insert(ErrorData::Field(e));
    }
    pub fn required(&mut self, field: &str) {
        self.add_error(field, FieldError::required());
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
    /// `Err(Invalid)` when anything was reported.
    pub fn finish(self) -> AuthResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AuthError::Invalid(self.0))
        }
    }
}

/// PocketBase's check of an email form field: required, at most 255 characters, an address.
pub fn check_email(errors: &mut FormErrors, field: &str, value: &str) {
    if value.is_empty() {
        errors.required(field);
    } else if value.chars().count() > 255 {
        errors.add_error(
            field,
            FieldError::new(
                "validation_length_out_of_range",
                "The length must be between 1 and 255.",
            )
            .with_params(serde_json::json!({"min": 1, "max": 255})),
        );
    } else if !is_email(value) {
        errors.add(
            field,
            "validation_is_email",
            "Must be a valid email address.",
        );
    }
}

/// A loose address check: one `@`, something on both sides, a dot in the domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}
