//! The HTTP API under `/api/v1` (registry/API.md). Handlers authenticate, check the request,
//! then call one `Store` method on a blocking thread. Every error is the envelope
//! `{"errors":[{"detail":"…"}]}` with a precise status (`errors`); `auth` says who asks and what
//! they may do; one module per resource holds its handlers (`namespaces`, `owners`, `keys`,
//! `publish`, `index`, `yank`, `search`, `blobs`, `tokens`). Each handler's `#[utoipa::path]`
//! describes it in registry/openapi.json (`crate::openapi`).

mod auth;
pub(crate) mod blobs;
mod errors;
pub(crate) mod index;
pub(crate) mod keys;
pub(crate) mod namespaces;
pub(crate) mod owners;
pub(crate) mod publish;
pub(crate) mod search;
pub(crate) mod tokens;
pub(crate) mod yank;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use threatpack::wire::Health;

use crate::index_cache::IndexCache;
use crate::store::{Store, StoreError};

pub use errors::ApiError;
pub use threatpack::wire::SIGNATURE_HEADER;

/// The largest bundle a publish accepts, unless configured otherwise.
pub const DEFAULT_MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;

/// The largest JSON body of any other request.
const MAX_JSON_BYTES: usize = 64 * 1024;

const MAX_PER_PAGE: u64 = 100;

/// The longest owner name (a user name or an e-mail address).
const MAX_OWNER_CHARS: usize = 100;

#[derive(Clone)]
pub struct ApiOptions {
    pub max_bundle_bytes: usize,
}

impl Default for ApiOptions {
    fn default() -> ApiOptions {
        ApiOptions {
            max_bundle_bytes: DEFAULT_MAX_BUNDLE_BYTES,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<dyn Store>,
    options: ApiOptions,
    /// Every handler that changes a pack's versions does it through `changing_versions`.
    index_cache: Arc<IndexCache>,
}

type ApiResult = Result<Response, ApiError>;

/// A bundle's bytes, as the OpenAPI description names them: a binary string.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct BundleBytes(
    #[expect(dead_code, reason = "only its OpenAPI schema is used")] Vec<u8>,
);

/// Runs a store call on a blocking thread.
async fn blocking<T, F>(state: &AppState, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || call(store.as_ref()))
        .await
        .map_err(|error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the registry failed: {error}"),
            )
        })?
        .map_err(ApiError::from)
}

/// Runs a store call that changes `pack`'s versions, then drops the pack's cached index, both
/// on the blocking thread: it runs to the end even when the client goes away and the handler is
/// dropped, so no committed change can leave a stale index in the cache (index_cache.rs).
async fn changing_versions<T, F>(state: &AppState, pack: &str, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let index_cache = state.index_cache.clone();
    let pack = pack.to_string();
    blocking(state, move |store| {
        let result = call(store);
        index_cache.invalidate(&pack);
        result
    })
    .await
}

/// The router of the whole API.
pub fn router(store: Arc<dyn Store>, options: ApiOptions) -> Router {
    let max_bundle_bytes = options.max_bundle_bytes;
    let state = AppState {
        store,
        options,
        index_cache: Arc::default(),
    };
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/namespaces", post(namespaces::create_namespace))
        .route(
            "/api/v1/namespaces/{namespace}",
            get(namespaces::show_namespace),
        )
        .route(
            "/api/v1/namespaces/{namespace}/owners",
            get(owners::list_owners).post(owners::add_owner),
        )
        .route(
            "/api/v1/namespaces/{namespace}/owners/{owner}",
            delete(owners::remove_owner),
        )
        .route(
            "/api/v1/namespaces/{namespace}/keys",
            get(keys::list_keys).post(keys::add_key),
        )
        .route(
            "/api/v1/namespaces/{namespace}/keys/{key_id}",
            delete(keys::remove_key),
        )
        .route("/api/v1/tokens", get(tokens::list_tokens))
        .route("/api/v1/tokens/{id}", delete(tokens::revoke_token))
        .route("/api/v1/packs", get(search::search))
        .route("/api/v1/packs/{namespace}/{name}", get(index::index))
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}",
            // The limit is enforced while the body streams in (and from Content-Length
            // before), never after reading it whole.
            put(publish::publish).layer(DefaultBodyLimit::max(max_bundle_bytes)),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/yank",
            put(yank::yank),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/unyank",
            put(yank::unyank),
        )
        .route("/api/v1/blobs/sha256/{digest}", get(blobs::download))
        .route(
            "/api/v1/blobs/sha256/{digest}/signature",
            get(blobs::signature),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, description = "The registry is up", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
    })
}

// ------------------------------------------------------------------------------------------
// Names

/// Checks `namespace` (and `name`) as they appear in pack names; returns `namespace/name`.
fn pack_name(namespace: &str, name: &str) -> Result<String, ApiError> {
    let pack = format!("{namespace}/{name}");
    threatpack::names::check_pack_name(&pack).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{pack}` is not a pack name: {error}"),
        )
    })?;
    Ok(pack)
}

fn check_namespace(namespace: &str) -> Result<(), ApiError> {
    pack_name(namespace, "x").map(|_| ()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{namespace}` is not a namespace name (lower-case letters, digits and `-`)"),
        )
    })
}

/// An owner is a user name or an e-mail address: 1 to 100 ASCII letters, digits and `.` `_` `-`
/// `+` `@`, so that it needs no escaping in a URL, a log line or a terminal.
fn check_owner(owner: &str) -> Result<(), ApiError> {
    let valid = !owner.is_empty()
        && owner.chars().count() <= MAX_OWNER_CHARS
        && owner
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || ".-_+@".contains(character));
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "`{}` is not an owner: a user name or an e-mail address, 1 to {MAX_OWNER_CHARS} ASCII letters, digits and `.` `_` `-` `+` `@`",
                owner.escape_debug()
            ),
        ))
    }
}

fn check_version(version: &str) -> Result<(), ApiError> {
    threatpack::names::parse_version(version)
        .map(|_| ())
        .map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{version}` is not a version: {error}"),
            )
        })
}
