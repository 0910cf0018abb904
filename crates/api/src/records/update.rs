use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::records::update_with_files;
use serde_json::Value;

use super::write_options;
use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap, RecordBody};
use crate::AppState;

/// `PATCH /api/collections/{c}/records/{id}` under the updateRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    QueryMap(q): QueryMap,
    RecordBody { fields, files }: RecordBody,
) -> ApiResult<Json<Value>> {
    Ok(Json(
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
    ))
}
