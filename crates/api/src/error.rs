//! PocketBase's error shape, and the one place where domain errors become HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use motorbase_core::error::FieldErrors;
use motorbase_core::CoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub data: FieldErrors,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            data: FieldErrors::new(),
        }
    }
    pub fn bad_request() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Something went wrong while processing your request.",
        )
    }
    /// A failure of ours, worded as PocketBase words it (the cause goes to the log, not out).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong while processing your request.",
        )
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource wasn't found.",
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The request requires valid record authorization token.",
        )
    }
    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    /// PocketBase words a malformed body differently per endpoint: swaps the message of a 400.
    pub fn reword_bad_request(mut self, message: &str) -> Self {
        if self.status == StatusCode::BAD_REQUEST {
            self.message = message.to_string();
        }
        self
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Validation { message, data } => ApiError {
                status: StatusCode::BAD_REQUEST,
                message,
                data,
            },
            CoreError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            CoreError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            CoreError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            CoreError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            CoreError::Store(err) => {
                tracing::error!(error = %err, "storage error");
                ApiError::bad_request()
            }
            CoreError::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let logged = crate::request_log::ErrorMessage(self.message.clone());
        let body =
            json!({"status": self.status.as_u16(), "message": self.message, "data": self.data});
        let mut resp = (self.status, Json(body)).into_response();
        resp.extensions_mut().insert(logged);
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
