use std::sync::Arc;

use axum::extract::{Path, State};
use motorbase_core::records::create_with_files;
use serde_json::Value;

use super::write_options;
use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap, RecordBody};
use crate::json::{JsonOut, RECORD_BYTES};
use crate::AppState;

/// `POST /api/collections/{c}/records` (JSON or multipart form) under the createRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    QueryMap(q): QueryMap,
    RecordBody { fields, files }: RecordBody,
) -> ApiResult<JsonOut<Value>> {
    Ok(JsonOut(
        create_with_files(
            &state.backend,
            &collection,
            fields,
            files,
            write_options(&q),
            ctx,
        )
        .await?,
        RECORD_BYTES,
    ))
}
