//! The transparency log over HTTP: the signed checkpoint, entries in ranges (full aligned ranges
//! served as immutable, like Go's checksum database tiles), inclusion and consistency proofs.

use std::sync::Mutex;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use threatpack::transparency::log::{Checkpoint, Hash, encode_proof};
use threatpack::wire::{
    ErrorEnvelope, LOG_ENTRIES_PER_PAGE, LogConsistency, LogEntries, LogInclusion, PublishLog,
};

use super::errors::ApiError;
use super::{ApiResult, AppState, blocking};

/// The last checkpoint signed, by tree size: signing once per size, not once per request.
#[derive(Default)]
pub(crate) struct CheckpointCache(Mutex<Option<(u64, Bytes)>>);

/// The signed checkpoint of the log as it is now.
#[utoipa::path(get, path = "/api/v1/log/checkpoint", tag = "log",
    responses(
        (status = 200, description = "A C2SP checkpoint (`<origin>\\n<size>\\n<base64 root>\\n`) as a signed note by the registry key", content_type = "text/plain", body = String),
    ))]
pub(crate) async fn checkpoint(State(state): State<AppState>) -> ApiResult {
    let head = blocking(&state, |store| store.log_head()).await?;
    let note = signed_checkpoint(&state, head)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        note,
    )
        .into_response())
}

/// The checkpoint of a log of `size` entries with root `root`, signed (or from the cache).
fn signed_checkpoint(state: &AppState, (size, root): (u64, Hash)) -> Result<Bytes, ApiError> {
    let cache = &state.checkpoint_cache.0;
    if let Ok(cached) = cache.lock()
        && let Some((cached_size, note)) = cached.as_ref()
        && *cached_size == size
    {
        return Ok(note.clone());
    }
    let key = &state.options.registry_key;
    let text = Checkpoint {
        origin: key.origin().to_string(),
        size,
        root,
    }
    .text();
    let note = Bytes::from(
        key.sign_note(&text)
            .map_err(|error| ApiError::internal(format!("cannot sign the checkpoint: {error}")))?,
    );
    if let Ok(mut cached) = cache.lock()
        && cached
            .as_ref()
            .is_none_or(|(cached_size, _)| *cached_size < size)
    {
        *cached = Some((size, note.clone()));
    }
    Ok(note)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntriesQuery {
    /// The first entry's index.
    start: u64,
    /// How many entries, 1 to 1000 (default 1000).
    count: Option<u64>,
}

/// Entries `start..start + count`; fewer at the end of the log, none past it.
#[utoipa::path(get, path = "/api/v1/log/entries", tag = "log",
    params(EntriesQuery),
    responses(
        (status = 200, description = "The entries; a full range of 1000 starting at a multiple of 1000 is served `immutable`", body = LogEntries),
        (status = 400, description = "A count outside 1 to 1000", body = ErrorEnvelope),
    ))]
pub(crate) async fn entries(
    State(state): State<AppState>,
    Query(query): Query<EntriesQuery>,
) -> ApiResult {
    let count = query.count.unwrap_or(LOG_ENTRIES_PER_PAGE);
    if !(1..=LOG_ENTRIES_PER_PAGE).contains(&count) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`count` is {count}: ask for 1 to {LOG_ENTRIES_PER_PAGE} entries"),
        ));
    }
    let start = query.start;
    let entries = blocking(&state, move |store| store.log_entries(start, count)).await?;
    let immutable = start % LOG_ENTRIES_PER_PAGE == 0
        && count == LOG_ENTRIES_PER_PAGE
        && entries.len() as u64 == count;
    let entries = entries
        .into_iter()
        .map(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| ApiError::internal("a stored log entry is not UTF-8"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        )],
        Json(LogEntries { entries, start }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    /// The entry's index.
    index: u64,
    /// The size of the log the proof is for (a checkpoint's).
    size: u64,
}

/// Entry `index` and the proof that it is in the log's first `size` entries.
#[utoipa::path(get, path = "/api/v1/log/proof/inclusion", tag = "log",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The entry and its audit path", body = LogInclusion),
        (status = 404, description = "The log has no such entry or size", body = ErrorEnvelope),
    ))]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    Query(InclusionQuery { index, size }): Query<InclusionQuery>,
) -> ApiResult {
    let answer = blocking(&state, move |store| inclusion_answer(store, index, size)).await??;
    Ok(Json(answer).into_response())
}

fn inclusion_answer(
    store: &dyn crate::store::Store,
    index: u64,
    size: u64,
) -> Result<Result<LogInclusion, ApiError>, crate::store::StoreError> {
    let hashes = store.log_inclusion(index, size)?;
    let Some(entry) = store.log_entries(index, 1)?.pop() else {
        return Ok(Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("the log has no entry {index}"),
        )));
    };
    Ok(String::from_utf8(entry)
        .map_err(|_| ApiError::internal("a stored log entry is not UTF-8"))
        .map(|entry| LogInclusion {
            entry,
            hashes: encode_proof(&hashes),
            index,
            size,
        }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    /// The size of the older log (at least 1).
    from: u64,
    /// The size of the newer log.
    to: u64,
}

/// The proof that the log's first `from` entries are a prefix of its first `to`.
#[utoipa::path(get, path = "/api/v1/log/proof/consistency", tag = "log",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof", body = LogConsistency),
        (status = 404, description = "The log is shorter than `to`, or `from` is 0 or above `to`", body = ErrorEnvelope),
    ))]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    Query(ConsistencyQuery { from, to }): Query<ConsistencyQuery>,
) -> ApiResult {
    let hashes = blocking(&state, move |store| store.log_consistency(from, to)).await?;
    Ok(Json(LogConsistency {
        from,
        hashes: encode_proof(&hashes),
        to,
    })
    .into_response())
}

/// Where `pack` `version` was logged, with its inclusion proof in the log as it is now and that
/// log's signed checkpoint: what a publish answers. `None` when it has no publish entry.
pub(crate) async fn publish_log(
    state: &AppState,
    pack: String,
    version: String,
) -> Result<Option<PublishLog>, ApiError> {
    let found = blocking(state, move |store| {
        let Some(index) = store.log_publish_index(&pack, &version)? else {
            return Ok(None);
        };
        let head = store.log_head()?;
        let proof = inclusion_answer(store, index, head.0)?;
        Ok(Some((index, head, proof)))
    })
    .await?;
    let Some((index, head, proof)) = found else {
        return Ok(None);
    };
    let proof = proof?;
    let checkpoint = signed_checkpoint(state, head)?;
    Ok(Some(PublishLog {
        checkpoint: String::from_utf8_lossy(&checkpoint).into_owned(),
        entry: proof.entry,
        inclusion_proof: proof.hashes,
        index,
        tree_size: head.0,
    }))
}
