//! Bundles and their signatures by digest: immutable, cached for a year, each bundle checked
//! against its digest before it is served (the store's `blob`).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use threatpack::wire::ErrorEnvelope;

use super::errors::ApiError;
use super::{ApiResult, AppState, BundleBytes, blocking};

fn check_digest(digest: &str) -> Result<(), ApiError> {
    if crate::store::is_sha256_hex(digest) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{digest}` is not a sha256 in lower-case hex"),
        ))
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[utoipa::path(get, path = "/api/v1/blobs/sha256/{digest}", tag = "blobs",
    params(("digest" = String, Path, description = "The bundle's sha256 in lower-case hex")),
    responses(
        (status = 200, description = "The bundle; immutable", content_type = "application/gzip", body = BundleBytes),
        (status = 400, description = "Not a sha256", body = ErrorEnvelope),
        (status = 404, description = "No such blob", body = ErrorEnvelope),
        (status = 500, description = "The blob is missing or damaged on the registry (never served altered); republishing the identical bytes repairs it", body = ErrorEnvelope),
    ))]
pub(crate) async fn download(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> ApiResult {
    check_digest(&digest)?;
    let lookup = digest.clone();
    let bytes = blocking(&state, move |store| store.blob(&lookup))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no blob sha256:{digest}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (header::CACHE_CONTROL, IMMUTABLE.to_string()),
            (header::ETAG, format!("\"{digest}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/blobs/sha256/{digest}/signature", tag = "blobs",
    params(("digest" = String, Path, description = "The bundle's sha256 in lower-case hex")),
    responses(
        (status = 200, description = "The `.minisig` text published with the bundle", content_type = "text/plain", body = String),
        (status = 400, description = "Not a sha256", body = ErrorEnvelope),
        (status = 404, description = "No such blob", body = ErrorEnvelope),
    ))]
pub(crate) async fn signature(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> ApiResult {
    check_digest(&digest)?;
    let lookup = digest.clone();
    let text = blocking(&state, move |store| store.signature(&lookup))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no blob sha256:{digest}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        text,
    )
        .into_response())
}
