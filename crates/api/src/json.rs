//! JSON responses written into a buffer sized for them up front: axum's `Json` starts at 128
//! bytes and doubles as it goes, so a record was copied twice on the way out and a page of
//! twenty six times.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// Room for one record as most collections' records come out.
pub const RECORD_BYTES: usize = 512;

/// `value` as JSON, in a buffer of `capacity` bytes to start with.
pub struct JsonOut<T>(pub T, pub usize);

impl<T: Serialize> IntoResponse for JsonOut<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.1);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "response not serializable");
                ApiError::internal().into_response()
            }
        }
    }
}
