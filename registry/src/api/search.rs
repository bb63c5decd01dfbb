//! Searching packs by name, description and tags.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use threatpack::wire::{ErrorEnvelope, SearchAnswer, SearchMeta};

use super::errors::ApiError;
use super::{ApiResult, AppState, MAX_PER_PAGE, blocking};

/// The longest search text: longer than any pack name, description phrase or tag, short
/// enough that a query costs the store little.
pub(crate) const MAX_QUERY_CHARS: usize = 200;

/// The query of `GET /packs`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// Text to find in pack names, descriptions and tags
    #[serde(default)]
    q: String,
    /// The page, from 1 (default 1)
    page: Option<u64>,
    /// Results per page, 1 to 100 (default 20)
    per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/packs", tag = "packs",
    params(SearchQuery),
    responses(
        (status = 200, description = "The matching packs, by name", body = SearchAnswer),
        (status = 400, description = "A malformed query, or a search text over 200 characters", body = ErrorEnvelope),
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let chars = query.q.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!(
                "the search text has {chars} characters; at most {MAX_QUERY_CHARS} are searched"
            ),
        ));
    }
    let page = query.page.unwrap_or(1).max(1);
    let per_page = query.per_page.unwrap_or(20).clamp(1, MAX_PER_PAGE);
    let offset = (page - 1).saturating_mul(per_page);
    let text = query.q.clone();
    let (total, packs) =
        blocking(&state, move |store| store.search(&text, offset, per_page)).await?;
    Ok(Json(SearchAnswer {
        meta: SearchMeta {
            page,
            per_page,
            total,
        },
        packs,
    })
    .into_response())
}
