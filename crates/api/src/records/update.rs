use std::sync::Arc;

use axum::extract::{Path, State};
use motorbase_core::records::update_with_files;
use serde_json::Value;

use super::write_options;
use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap, RecordBody};
use crate::json::{JsonOut, RECORD_BYTES};
use crate::AppState;

/// `PATCH /api/collections/{c}/records/{id}` under the updateRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    QueryMap(q): QueryMap,
    RecordBody { fields, files }: RecordBody,
) -> ApiResult<JsonOut<Value>> {
    Ok(JsonOut(
        update_with_files(
            &state.backend,
            &collection,
            &id,
            fields,
            files,
            write_options(&q),
            ctx,
        )
        .await?,
        RECORD_BYTES,
    ))
}
