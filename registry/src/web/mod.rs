//! The registry's web face for people (docs/web.md): server-rendered HTML with maud, beside the
//! JSON API, built from the same store calls and the same hostile-input bundle reader.
//!
//! `layout` is the frame of every page and its security headers, `assets` the stylesheet,
//! `packs` the pages of packs (home, search, pack, version, items, changelog, diff) and
//! `condition` the syntax highlighting of CEL conditions. Every string from a pack or a user
//! goes through maud's escaping; nothing here uses `PreEscaped`.

mod assets;
mod chart;
mod condition;
pub mod layout;
mod packs;
mod portfolio;
pub(crate) mod session;

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use threatpack::bundle::{BundleManifest, ReadLimits, read_bundle};
use threatpack::compile::KnowledgeBase;

use crate::api::{ApiError, AppState, blocking};
use crate::store::StoreError;

pub use condition::highlight as highlight_condition;
pub use packs::{item_url_segment, linkable_url};

/// The routes of the web face, merged into `api::router` (under its layers).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(packs::home))
        .route("/search", get(packs::search))
        .route("/static/{digest}/site.css", get(assets::stylesheet))
        .route("/favicon.ico", get(assets::no_icon))
        .route("/packs/{namespace}/{name}", get(packs::pack))
        .route("/packs/{namespace}/{name}/diff", get(packs::diff_form))
        .route("/packs/{namespace}/{name}/diff/{range}", get(packs::diff))
        .route("/packs/{namespace}/{name}/{version}", get(packs::version))
        .route(
            "/packs/{namespace}/{name}/{version}/changelog",
            get(packs::changelog),
        )
        .route(
            "/packs/{namespace}/{name}/{version}/knowledge.json",
            get(packs::knowledge_json),
        )
        .route(
            "/packs/{namespace}/{name}/{version}/entities/{id}",
            get(packs::entity),
        )
        .route(
            "/packs/{namespace}/{name}/{version}/attack-patterns/{id}",
            get(packs::attack_pattern),
        )
        .route(
            "/packs/{namespace}/{name}/{version}/mitigations/{id}",
            get(packs::mitigation),
        )
        .merge(portfolio::router())
        .layer(axum::middleware::map_response(errors_as_pages))
}

/// The longest rejection text shown on an error page.
const MAX_DETAIL_BYTES: usize = 1024;

/// axum's own rejections (a malformed query or path, a method not allowed) as HTML pages like
/// the handlers' errors, not as the API's JSON envelope.
async fn errors_as_pages(response: Response) -> Response {
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_html {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, MAX_DETAIL_BYTES)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty() && !text.starts_with('{'));
    let mut page = layout::error_page(
        status,
        status.canonical_reason().unwrap_or("Error"),
        detail.as_deref(),
    );
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

/// Why a page cannot be shown; answered as an HTML page with its status.
#[derive(Debug)]
pub(crate) enum WebError {
    NotFound(String),
    BadRequest(String),
    /// Status and a sentence (from the API's errors: a failure of the registry is logged there
    /// and described without its detail).
    Other(StatusCode, String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::NotFound(what) => layout::not_found(&what),
            WebError::BadRequest(detail) => {
                layout::error_page(StatusCode::BAD_REQUEST, "Bad request", Some(&detail))
            }
            WebError::Other(status, detail) => layout::error_page(
                status,
                status.canonical_reason().unwrap_or("Error"),
                Some(&detail),
            ),
        }
    }
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> WebError {
        let (status, detail) = error.parts();
        if status == StatusCode::NOT_FOUND {
            WebError::NotFound(detail.to_string())
        } else {
            WebError::Other(status, detail.to_string())
        }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> WebError {
        WebError::from(ApiError::from(error))
    }
}

type WebResult = Result<Response, WebError>;

/// What a page of a version reads from its bundle: the manifest and the knowledge base.
pub(crate) struct Knowledge {
    pub manifest: BundleManifest,
    pub kb: KnowledgeBase,
}

/// How many read bundles stay in memory: a few, so that browsing one version (its page, then
/// its items) reads and decompresses the bundle once, while memory stays bounded.
const CACHED_BUNDLES: usize = 4;

/// Bundles read at once (`knowledge`).
const CONCURRENT_BUNDLE_READS: usize = 2;

static BUNDLE_READS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(CONCURRENT_BUNDLE_READS);

/// Read bundles by sha256. Content-addressed, so one cache serves every registry in the
/// process.
static KNOWLEDGE: LazyLock<Recent<Knowledge>> = LazyLock::new(|| Recent::new(CACHED_BUNDLES));

/// The last few values computed, by key: a bounded, content-addressed cache (the key names all
/// a value is computed from, so an entry never goes stale).
struct Recent<T> {
    capacity: usize,
    /// The most recently added last.
    entries: Mutex<VecDeque<(String, Arc<T>)>>,
}

impl<T> Recent<T> {
    fn new(capacity: usize) -> Recent<T> {
        Recent {
            capacity,
            entries: Mutex::default(),
        }
    }

    fn get(&self, key: &str) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|(known, _)| known == key)
            .map(|(_, value)| value.clone())
    }

    fn insert(&self, key: String, value: Arc<T>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.iter().any(|(known, _)| *known == key) {
            return;
        }
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((key, value));
    }
}

/// The knowledge of the bundle with `sha256`, read with the same hostile-input reader (and
/// limits) as a publish, on a blocking thread.
pub(crate) async fn knowledge(state: &AppState, sha256: &str) -> Result<Arc<Knowledge>, WebError> {
    if let Some(found) = KNOWLEDGE.get(sha256) {
        return Ok(found);
    }
    // Reads wait their turn: each holds a bundle and its parsed knowledge in memory, so pages
    // of many versions asked at once cost at most this many reads' memory.
    let _permit = BUNDLE_READS
        .acquire()
        .await
        .map_err(|error| WebError::from(ApiError::internal(error)))?;
    if let Some(found) = KNOWLEDGE.get(sha256) {
        return Ok(found);
    }
    let max_bundle_bytes = state.options.max_bundle_bytes;
    let digest = sha256.to_string();
    let read = blocking(state, move |store| {
        let Some(bytes) = store.blob(&digest)? else {
            return Err(StoreError::NotFound(format!(
                "the bundle sha256:{digest} is not stored"
            )));
        };
        let limits = ReadLimits {
            max_bundle_bytes: u64::try_from(max_bundle_bytes).unwrap_or(u64::MAX),
            ..ReadLimits::default()
        };
        read_bundle(&bytes, &limits)
            .map(|bundle| Knowledge {
                manifest: bundle.manifest,
                kb: bundle.kb,
            })
            .map_err(|error| {
                StoreError::Internal(format!("the stored bundle sha256:{digest}: {error}"))
            })
    })
    .await?;
    let read = Arc::new(read);
    KNOWLEDGE.insert(sha256.to_string(), read.clone());
    Ok(read)
}

/// How many computed texts (diffs, changelogs) stay in memory.
const CACHED_TEXTS: usize = 16;

/// Diffs and changelogs by the digests they compare: immutable, and costly enough on a large
/// pack (every item compared) to compute once.
static TEXTS: LazyLock<Recent<String>> = LazyLock::new(|| Recent::new(CACHED_TEXTS));

/// The text under `key` (which must name everything it is computed from), computed on a
/// blocking thread the first time.
pub(crate) async fn computed_text(
    key: String,
    compute: impl FnOnce() -> String + Send + 'static,
) -> Result<Arc<String>, WebError> {
    if let Some(found) = TEXTS.get(&key) {
        return Ok(found);
    }
    let text = tokio::task::spawn_blocking(compute)
        .await
        .map_err(|error| {
            WebError::from(ApiError::internal(format!("the registry failed: {error}")))
        })?;
    let text = Arc::new(text);
    TEXTS.insert(key, text.clone());
    Ok(text)
}

/// Characters escaped in a path segment: everything but letters, digits and `-._~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one URL path segment.
pub(crate) fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// `text` as a query-string value.
pub(crate) fn query_value(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// An immutable page: `public, max-age=3600` and a strong ETag made of `parts` (the bundle's
/// sha256 and whatever else the page shows: the query, the stylesheet, this build); 304 when
/// the request's `If-None-Match` holds it.
pub(crate) fn immutable(
    request: &HeaderMap,
    parts: &[&str],
    page: impl FnOnce() -> Response,
) -> Response {
    let mut material = parts.join("\n");
    material.push('\n');
    material.push_str(env!("CARGO_PKG_VERSION"));
    material.push('\n');
    material.push_str(assets::stylesheet_digest());
    let etag = format!(
        "\"{}\"",
        threatpack::digest::sha256_hex(material.as_bytes())
    );
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii)
        .any(|candidate| candidate == etag.as_bytes() || candidate == b"*");
    let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let cache_control = HeaderValue::from_static("public, max-age=3600");
    if matches {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ETAG, etag);
        headers.insert(header::CACHE_CONTROL, cache_control);
        layout::security_headers(headers);
        return response;
    }
    let mut response = page();
    if response.status() == StatusCode::OK {
        let headers = response.headers_mut();
        headers.insert(header::ETAG, etag);
        headers.insert(header::CACHE_CONTROL, cache_control);
    }
    response
}
