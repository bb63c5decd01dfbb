//! The HTTP API under `/api/v1` (registry/API.md). Handlers authenticate, check the request,
//! then call one `Store` method on a blocking thread. Every error is the envelope
//! `{"errors":[{"detail":"…"}]}` with a precise status (`errors`); `auth` says who asks and what
//! they may do; one module per resource holds its handlers (`namespaces`, `owners`, `keys`,
//! `publish`, `index`, `yank`, `deprecate`, `search`, `blobs`, `tokens`, `log`: the transparency log). Each handler's `#[utoipa::path]`
//! describes it in registry/openapi.json (`crate::openapi`).
//!
//! Around the routes (`router`): `request_log` (a log line and metrics per request), a panic
//! catcher, `envelope` (every error in the envelope), `guard` (URI length, write rate limit)
//! and the request-body timeout. The web face (`crate::web`) is merged in, under the same
//! layers; its errors are HTML pages, which `envelope` leaves alone.

pub(crate) mod auth;
pub(crate) mod blobs;
pub(crate) mod deprecate;
mod envelope;
mod errors;
mod guard;
pub(crate) mod index;
pub(crate) mod keys;
pub(crate) mod log;
pub(crate) mod namespaces;
pub(crate) mod owners;
pub(crate) mod portfolio;
pub(crate) mod publish;
pub(crate) mod registry_key;
pub mod reports;
mod request_log;
pub(crate) mod search;
pub(crate) mod tokens;
pub(crate) mod yank;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use threatpack::transparency::RegistryKey;
use threatpack::wire::{ErrorEnvelope, Health};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

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

/// Publishes checked at once: each holds its bundle and its unpacked files in memory while
/// it is checked (at most `max-bundle-bytes` and 512 MiB unpacked), so this bounds the memory
/// publishes may take; more wait their turn before their body is read.
pub const MAX_CONCURRENT_PUBLISHES: usize = 4;

#[derive(Clone)]
pub struct ApiOptions {
    pub max_bundle_bytes: usize,
    /// Where publish bodies are spooled (anonymous files, gone when closed): the data
    /// directory's `uploads/` when served by `threatpack-registry`.
    pub upload_dir: PathBuf,
    /// The longest a request body may go without sending anything.
    pub body_timeout: Duration,
    /// Writes a minute per token (or per address for requests without one).
    pub write_rate_per_minute: u32,
    /// The key index envelopes are signed with: the data directory's (`server::Opened`).
    pub registry_key: Arc<RegistryKey>,
    /// How long an index envelope is valid; it is re-signed when half of that has passed.
    pub index_expiry_seconds: i64,
    /// The largest report push, after decompression (`max-report-size`).
    pub max_report_bytes: usize,
    /// Reports older than this many days are removed, each project's latest kept
    /// (`report-retention`).
    pub report_retention_days: u32,
}

impl Default for ApiOptions {
    fn default() -> ApiOptions {
        ApiOptions {
            max_bundle_bytes: DEFAULT_MAX_BUNDLE_BYTES,
            upload_dir: std::env::temp_dir(),
            body_timeout: Duration::from_secs(crate::config::DEFAULT_BODY_TIMEOUT_SECONDS),
            write_rate_per_minute: crate::config::DEFAULT_WRITE_RATE_PER_MINUTE,
            // A key of its own, for a registry embedded without a data directory's key; one
            // served from a data directory passes `Opened::registry_key`.
            index_expiry_seconds: crate::config::DEFAULT_INDEX_EXPIRY_SECONDS,
            max_report_bytes: reports::DEFAULT_MAX_REPORT_BYTES,
            report_retention_days: reports::DEFAULT_REPORT_RETENTION_DAYS,
            registry_key: Arc::new(
                threatpack::transparency::key::random_origin()
                    .and_then(|origin| RegistryKey::generate(&origin))
                    .expect("the operating system's random source works"),
            ),
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) options: ApiOptions,
    /// Every handler that changes a pack's versions does it through `changing_versions`.
    index_cache: Arc<IndexCache>,
    write_limiter: Arc<guard::WriteLimiter>,
    publish_permits: Arc<tokio::sync::Semaphore>,
    checkpoint_cache: Arc<log::CheckpointCache>,
    /// The web pages' sign-in sessions (web/session.rs).
    pub(crate) sessions: Arc<crate::web::session::Sessions>,
    /// The last portfolios computed, until the store changes (portfolio.rs).
    pub(crate) portfolio_cache: Arc<portfolio::PortfolioCache>,
}

type ApiResult = Result<Response, ApiError>;

/// A bundle's bytes, as the OpenAPI description names them: a binary string.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct BundleBytes(
    #[expect(dead_code, reason = "only its OpenAPI schema is used")] Vec<u8>,
);

/// Runs a store call on a blocking thread.
pub(crate) async fn blocking<T, F>(state: &AppState, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || call(store.as_ref()))
        .await
        .map_err(|error| ApiError::internal(format!("the registry failed: {error}")))?
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
    let body_timeout = options.body_timeout;
    let state = AppState {
        store,
        write_limiter: Arc::new(guard::WriteLimiter::new(options.write_rate_per_minute)),
        options,
        index_cache: Arc::default(),
        publish_permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_PUBLISHES)),
        checkpoint_cache: Arc::default(),
        sessions: Arc::default(),
        portfolio_cache: Arc::default(),
    };
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/health", get(health))
        .route("/api/v1/ready", get(ready))
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
        .route("/api/v1/registry/key", get(registry_key::registry_key))
        .route("/api/v1/tokens", get(tokens::list_tokens))
        .route("/api/v1/tokens/{id}", delete(tokens::revoke_token))
        .route("/api/v1/packs", get(search::search))
        .route("/api/v1/packs/{namespace}/{name}", get(index::index))
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}",
            // The handler streams the body itself, under `max_bundle_bytes` (publish.rs).
            put(publish::publish),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/yank",
            put(yank::yank),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/unyank",
            put(yank::unyank),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/deprecate",
            put(deprecate::deprecate),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/undeprecate",
            put(deprecate::undeprecate),
        )
        .route(
            "/api/v1/packs/{namespace}/{name}/dependents",
            get(portfolio::dependents),
        )
        .route("/api/v1/portfolio", get(portfolio::portfolio))
        .route(
            "/api/v1/projects/{namespace}/{name}",
            get(portfolio::project),
        )
        .route(
            "/api/v1/projects/{namespace}/{name}/reports",
            // The handler reads the body itself, under `max_report_bytes` (reports.rs).
            post(reports::push),
        )
        .route(
            "/api/v1/projects/{namespace}/{name}/trend",
            get(portfolio::project_trend),
        )
        .route(
            "/api/v1/projects/{namespace}/{name}/model",
            get(portfolio::model),
        )
        .route("/api/v1/log/checkpoint", get(log::checkpoint))
        .route("/api/v1/log/entries", get(log::entries))
        .route("/api/v1/log/proof/inclusion", get(log::inclusion))
        .route("/api/v1/log/proof/consistency", get(log::consistency))
        .route("/api/v1/blobs/sha256/{digest}", get(blobs::download))
        .route(
            "/api/v1/blobs/sha256/{digest}/signature",
            get(blobs::signature),
        )
        // The web face (registry/src/web, docs/web.md): HTML beside `/api/v1`.
        .merge(crate::web::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        // Innermost first: the last layer sees every request first and every answer last.
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(from_fn_with_state(state.clone(), guard::guard))
        .layer(from_fn(envelope::errors_in_envelope))
        .layer(CatchPanicLayer::custom(envelope::panicked))
        .layer(from_fn(request_log::log_request))
        .with_state(state)
}

/// An unknown path: the envelope under `/api/` and for `/metrics`, an HTML page elsewhere
/// (a person's browser asked for it).
async fn not_found(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/api" || path == "/metrics" {
        ApiError::new(StatusCode::NOT_FOUND, "no such endpoint").into_response()
    } else {
        crate::web::layout::not_found("page")
    }
}

/// Alive: the process answers. Touches neither the database nor the disk, so a busy store
/// does not get the process restarted.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, description = "The registry is up", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
    })
}

/// Ready to serve: the database answers and the blob directory takes a file.
#[utoipa::path(get, path = "/api/v1/ready", tag = "health",
    responses(
        (status = 200, description = "The database answers and the blob directory is writable", body = Health),
        (status = 503, description = "Not ready; the detail says which part failed, the log why", body = ErrorEnvelope),
    ))]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult {
    let store = state.store.clone();
    let checked = tokio::task::spawn_blocking(move || store.check_ready()).await;
    match checked {
        Ok(Ok(())) => Ok(Json(Health {
            status: "ok".to_string(),
        })
        .into_response()),
        Ok(Err(error)) => {
            tracing::error!(detail = %error, "not ready");
            crate::metrics::METRICS.store_errors.inc();
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {}", error.part()),
            ))
        }
        Err(error) => Err(ApiError::internal(error)),
    }
}

/// The Prometheus metrics (`crate::metrics`), in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus metrics", content_type = "application/openmetrics-text", body = String)))]
pub(crate) async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::render(),
    )
        .into_response()
}

// ------------------------------------------------------------------------------------------
// Names

/// Checks `namespace` (and `name`) as they appear in pack names; returns `namespace/name`.
pub(crate) fn pack_name(namespace: &str, name: &str) -> Result<String, ApiError> {
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
