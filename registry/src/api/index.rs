//! A pack's index, served from the in-memory cache (`crate::index_cache`) with a strong ETag.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use threatpack::wire::ErrorEnvelope;

use super::errors::ApiError;
use super::{ApiResult, AppState, blocking, pack_name};
use crate::index_cache::IndexBody;
use crate::store::StoreError;

/// Answered from the in-memory cache when it holds the pack; otherwise the store is read, and the
/// body serialized and hashed, on a blocking thread.
#[utoipa::path(get, path = "/api/v1/packs/{namespace}/{name}", tag = "packs",
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("if-none-match" = Option<String>, Header, description = "An ETag of an earlier answer"),
    ),
    responses(
        (status = 200, description = "Every version, oldest first; a strong `ETag`", body = threatpack::wire::Index),
        (status = 304, description = "Not modified since the ETag given"),
        (status = 400, description = "Not a pack name", body = ErrorEnvelope),
        (status = 404, description = "No such pack", body = ErrorEnvelope),
    ))]
pub(crate) async fn index(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let pack = pack_name(&namespace, &name)?;
    let served = match state.index_cache.get(&pack) {
        Some(served) => served,
        None => {
            let generation = state.index_cache.generation();
            let lookup = pack.clone();
            let served = blocking(&state, move |store| {
                store
                    .index(&lookup)?
                    .map(|versions| index_body(&lookup, versions))
                    .transpose()
            })
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no pack `{pack}`")))?;
            let served = Arc::new(served);
            state.index_cache.insert(&pack, generation, served.clone());
            served
        }
    };
    let etag = served.etag.as_bytes();
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii)
        .any(|candidate| candidate == etag || candidate == b"*");
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, served.etag.clone())],
        )
            .into_response());
    }
    Ok((
        [
            (header::ETAG, served.etag.clone()),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        served.body.clone(),
    )
        .into_response())
}

/// The index's JSON body and its strong ETag: the digest of the exact bytes served.
fn index_body(
    pack: &str,
    versions: Vec<crate::store::IndexVersion>,
) -> Result<IndexBody, StoreError> {
    let internal = |error: &dyn std::fmt::Display| StoreError::Internal(error.to_string());
    let body = serde_json::to_vec(&threatpack::wire::Index {
        name: pack.to_string(),
        versions,
    })
    .map_err(|error| internal(&error))?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", threatpack::digest::sha256_hex(&body)))
        .map_err(|error| internal(&error))?;
    Ok(IndexBody {
        body: Bytes::from(body),
        etag,
    })
}
