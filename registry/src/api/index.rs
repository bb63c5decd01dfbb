//! A pack's index, served from the in-memory cache (`crate::index_cache`) with a strong ETag and
//! its signed envelope (`threatpack::transparency::envelope`) on every answer, 200 and 304.

use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use threatpack::transparency::{IndexEnvelope, RegistryKey};
use threatpack::wire::{ErrorEnvelope, INDEX_NOTE_HEADER};

use super::errors::ApiError;
use super::{ApiResult, AppState, blocking, pack_name};
use crate::index_cache::{IndexBody, SignedNote};
use crate::store::{PackIndex, StoreError};

/// Answered from the in-memory cache when it holds the pack; otherwise the store is read, and the
/// body serialized and hashed, on a blocking thread.
#[utoipa::path(get, path = "/api/v1/packs/{namespace}/{name}", tag = "packs",
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("if-none-match" = Option<String>, Header, description = "An ETag of an earlier answer"),
    ),
    responses(
        (status = 200, description = "Every version, oldest first; a strong `ETag`; the signed envelope in `Threatpack-Index-Note`", body = threatpack::wire::Index,
            headers(("Threatpack-Index-Note" = String, description = "base64 of a signed note: `threatpack index v1`, origin, pack, sequence, expires, body sha256 (docs/security.md)"))),
        (status = 304, description = "Not modified since the ETag given; the signed envelope in `Threatpack-Index-Note`",
            headers(("Threatpack-Index-Note" = String, description = "As for 200"))),
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
            let key = state.options.registry_key.clone();
            let expiry = state.options.index_expiry_seconds;
            let served = blocking(&state, move |store| {
                store
                    .index(&lookup)?
                    .map(|index| index_body(&lookup, index, &key, expiry))
                    .transpose()
            })
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no pack `{pack}`")))?;
            let served = Arc::new(served);
            state.index_cache.insert(&pack, generation, served.clone());
            served
        }
    };
    let note = current_note(
        &served,
        &pack,
        &state.options.registry_key,
        state.options.index_expiry_seconds,
    )?;
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
            [
                (header::ETAG, served.etag.clone()),
                (HeaderName::from_static(INDEX_NOTE_HEADER), note),
            ],
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
            (HeaderName::from_static(INDEX_NOTE_HEADER), note),
        ],
        served.body.clone(),
    )
        .into_response())
}

/// The index's JSON body, its strong ETag (the digest of the exact bytes served) and its
/// signed envelope.
fn index_body(
    pack: &str,
    index: PackIndex,
    key: &RegistryKey,
    expiry_seconds: i64,
) -> Result<IndexBody, StoreError> {
    let internal = |error: &dyn std::fmt::Display| StoreError::Internal(error.to_string());
    let body = serde_json::to_vec(&threatpack::wire::Index {
        name: pack.to_string(),
        versions: index.versions,
    })
    .map_err(|error| internal(&error))?;
    let sha256 = threatpack::digest::sha256_hex(&body);
    let etag = HeaderValue::from_str(&format!("\"{sha256}\"")).map_err(|error| internal(&error))?;
    let note = sign_note(pack, index.sequence, &sha256, key, expiry_seconds)?;
    Ok(IndexBody {
        body: Bytes::from(body),
        etag,
        sequence: index.sequence,
        note: RwLock::new(note),
    })
}

/// The envelope to serve with `served`: the cached one, or a new one once half the cached one's
/// lifetime has passed (signing takes microseconds; most requests only read the lock).
fn current_note(
    served: &IndexBody,
    pack: &str,
    key: &RegistryKey,
    expiry_seconds: i64,
) -> Result<HeaderValue, ApiError> {
    let now = threatpack::time::now();
    {
        let note = served.note.read().unwrap_or_else(PoisonError::into_inner);
        if now < note.refresh_at {
            return Ok(note.header.clone());
        }
    }
    let sha256 = served
        .etag
        .to_str()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let fresh =
        sign_note(pack, served.sequence, &sha256, key, expiry_seconds).map_err(ApiError::from)?;
    let header = fresh.header.clone();
    *served.note.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    Ok(header)
}

fn sign_note(
    pack: &str,
    sequence: u64,
    body_sha256: &str,
    key: &RegistryKey,
    expiry_seconds: i64,
) -> Result<SignedNote, StoreError> {
    let now = threatpack::time::now();
    let envelope = IndexEnvelope {
        origin: key.origin().to_string(),
        pack: pack.to_string(),
        sequence,
        expires: now.saturating_add(expiry_seconds),
        body_sha256: body_sha256.to_string(),
    };
    let signed = envelope.sign(key).map_err(|error| {
        StoreError::Internal(format!("cannot sign the index envelope: {error}"))
    })?;
    let header =
        HeaderValue::from_str(&signed).map_err(|error| StoreError::Internal(error.to_string()))?;
    Ok(SignedNote {
        header,
        refresh_at: now.saturating_add(expiry_seconds / 2),
    })
}
