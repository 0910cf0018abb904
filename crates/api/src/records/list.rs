use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::records::{list, ListParams, ListResult};

use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::AppState;

/// `GET /api/collections/{c}/records`: paged, filtered, sorted, expanded under the listRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    QueryMap(q): QueryMap,
) -> ApiResult<Json<ListResult>> {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let params = ListParams {
        page: q.get("page").cloned(),
        per_page: q.get("perPage").cloned(),
        sort: get("sort"),
        filter: get("filter"),
        expand: get("expand"),
        fields: get("fields"),
        skip_total: matches!(get("skipTotal").as_str(), "1" | "true" | "True" | "t"),
    };
    Ok(Json(list(&state.backend, &collection, params, ctx).await?))
}
