//! The HTTP API under `/api/v1` (registry/API.md). Handlers authenticate, check the request,
//! then call one `Store` method on a blocking thread. Every error is the envelope
//! `{"errors":[{"detail":"…"}]}` with a precise status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use ct_codecs::{Base64, Decoder};
use serde::Deserialize;
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::signing::{VerifyError, parse_public_keys, verify_bundle};
use threatpack::wire::{
    ErrorEnvelope, Health, IndexDependency, KeyAdded, Keys, NamespaceAnswer, NewKey, NewNamespace,
    NewOwner, Owners, PublishAnswer, SearchAnswer, SearchMeta, YankAnswer, YankRequest,
};

use crate::index_cache::{IndexBody, IndexCache};
use crate::store::{Namespace, NewVersion, PublishOutcome, Store, StoreError, TokenRecord};
use crate::tokens::{Scope, hash_token, pattern_matches};

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

/// An error response: a status and one detail.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorEnvelope::new(self.detail))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(detail) => ApiError::new(StatusCode::NOT_FOUND, detail),
            StoreError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, detail),
            StoreError::Internal(detail) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the registry failed: {detail}"),
            ),
        }
    }
}

fn rejected(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, format!("the request body is too large: {text}"));
    }
    ApiError::new(status, text)
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        rejected(rejection.status(), rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        rejected(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        rejected(rejection.status(), rejection.body_text())
    }
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
        .route("/api/v1/namespaces", post(create_namespace))
        .route("/api/v1/namespaces/{namespace}", get(show_namespace))
        .route(
            "/api/v1/namespaces/{namespace}/owners",
            get(list_owners).post(add_owner),
        )
        .route(
            "/api/v1/namespaces/{namespace}/owners/{owner}",
            delete(remove_owner),
        )
        .route(
            "/api/v1/namespaces/{namespace}/keys",
            get(list_keys).post(add_key),
        )
        .route("/api/v1/packs", get(search))
        .route("/api/v1/packs/{namespace}/{name}", get(index))
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}",
            // The limit is enforced while the body streams in (and from Content-Length
            // before), never after reading it whole.
            put(publish).layer(DefaultBodyLimit::max(max_bundle_bytes)),
        )
        .route("/api/v1/packs/{namespace}/{name}/{version}/yank", put(yank))
        .route(
            "/api/v1/packs/{namespace}/{name}/{version}/unyank",
            put(unyank),
        )
        .route("/api/v1/blobs/sha256/{digest}", get(download))
        .route("/api/v1/blobs/sha256/{digest}/signature", get(signature))
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
// Authentication

/// Who is asking: a valid, unexpired token. Missing, unknown or expired is 401.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<TokenRecord, ApiError> {
    let unauthorized = |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, detail);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("this needs a token: `Authorization: Bearer TOKEN`"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("the `Authorization` header is not `Bearer TOKEN`"))?;
    let hash = hash_token(token);
    let record = blocking(state, move |store| store.token_by_hash(&hash))
        .await?
        .ok_or_else(|| unauthorized("the token is not valid"))?;
    if record
        .expires_at
        .is_some_and(|expires_at| expires_at <= crate::time::now())
    {
        return Err(unauthorized(
            "the token has expired: create a new one with `threatpack-registry token create`",
        ));
    }
    Ok(record)
}

/// The token may use `scope` on `target` (a pack `ns/name`, or `ns/*` for the namespace
/// itself); `admin` may do anything anywhere. Otherwise 403.
fn authorize(token: &TokenRecord, scope: Scope, target: &str) -> Result<(), ApiError> {
    if token.scopes.contains(&Scope::Admin) {
        return Ok(());
    }
    if !token.scopes.contains(&scope) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the token lacks the `{}` scope", scope.as_str()),
        ));
    }
    if !token
        .namespaces
        .iter()
        .any(|pattern| pattern_matches(pattern, target))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the token may not touch `{target}` (it covers: {})",
                token.namespaces.join(", ")
            ),
        ));
    }
    Ok(())
}

fn actor(token: &TokenRecord) -> String {
    format!("token:{}", token.id)
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

// ------------------------------------------------------------------------------------------
// Namespaces and keys

#[utoipa::path(post, path = "/api/v1/namespaces", tag = "namespaces",
    security(("token" = ["admin"])),
    request_body = NewNamespace,
    responses(
        (status = 201, description = "Created", body = NamespaceAnswer),
        (status = 400, description = "Not a namespace name", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin token", body = ErrorEnvelope),
        (status = 409, description = "The namespace exists", body = ErrorEnvelope),
        (status = 422, description = "Not an owner name", body = ErrorEnvelope),
    ))]
pub(crate) async fn create_namespace(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewNamespace>, JsonRejection>,
) -> ApiResult {
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Admin, "*")?;
    let Json(request) = body?;
    check_namespace(&request.name)?;
    for owner in &request.owners {
        check_owner(owner)?;
    }
    let actor = actor(&token);
    let name = request.name.clone();
    blocking(&state, move |store| {
        store.create_namespace(&request.name, &request.owners, &actor)?;
        store.namespace(&request.name)
    })
    .await
    .and_then(|namespace| {
        namespace.ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the registry failed: the namespace it created is not there",
            )
        })
    })
    .map(|namespace| (StatusCode::CREATED, Json(NamespaceAnswer { namespace })).into_response())
    .map_err(|error| {
        if error.status == StatusCode::CONFLICT {
            ApiError::new(
                StatusCode::CONFLICT,
                format!("namespace `{name}` already exists"),
            )
        } else {
            error
        }
    })
}

/// The namespace, or `NotFound`.
fn existing_namespace(store: &dyn Store, name: &str) -> Result<Namespace, StoreError> {
    store
        .namespace(name)?
        .ok_or_else(|| StoreError::NotFound(format!("no namespace `{name}`")))
}

#[utoipa::path(get, path = "/api/v1/namespaces/{namespace}", tag = "namespaces",
    params(("namespace" = String, Path, description = "e.g. `acme`")),
    responses(
        (status = 200, description = "The namespace", body = NamespaceAnswer),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
    ))]
pub(crate) async fn show_namespace(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> ApiResult {
    let namespace = blocking(&state, move |store| existing_namespace(store, &namespace)).await?;
    Ok(Json(NamespaceAnswer { namespace }).into_response())
}

/// `{"namespace":…,"owners":[…]}` with `status`.
fn owners_response(status: StatusCode, namespace: &Namespace) -> Response {
    (
        status,
        Json(Owners {
            namespace: namespace.name.clone(),
            owners: namespace.owners.clone(),
        }),
    )
        .into_response()
}

/// Owners are public, as the namespace itself is.
#[utoipa::path(get, path = "/api/v1/namespaces/{namespace}/owners", tag = "owners",
    params(("namespace" = String, Path, description = "e.g. `acme`")),
    responses(
        (status = 200, description = "The owners", body = Owners),
        (status = 400, description = "Not a namespace name", body = ErrorEnvelope),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
    ))]
pub(crate) async fn list_owners(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> ApiResult {
    check_namespace(&namespace)?;
    let found = blocking(&state, move |store| existing_namespace(store, &namespace)).await?;
    Ok(owners_response(StatusCode::OK, &found))
}

/// Owners are set by admins, as when the namespace is created. 201 added, 200 already one.
#[utoipa::path(post, path = "/api/v1/namespaces/{namespace}/owners", tag = "owners",
    security(("token" = ["admin"])),
    params(("namespace" = String, Path, description = "e.g. `acme`")),
    request_body = NewOwner,
    responses(
        (status = 201, description = "Added; the owners now", body = Owners),
        (status = 200, description = "Already an owner; the owners", body = Owners),
        (status = 400, description = "Not a namespace name", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin token", body = ErrorEnvelope),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
        (status = 422, description = "Not an owner name", body = ErrorEnvelope),
    ))]
pub(crate) async fn add_owner(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    headers: HeaderMap,
    body: Result<Json<NewOwner>, JsonRejection>,
) -> ApiResult {
    check_namespace(&namespace)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Admin, "*")?;
    let Json(request) = body?;
    check_owner(&request.owner)?;
    let actor = actor(&token);
    let (added, found) = blocking(&state, move |store| {
        let added = store.add_owner(&namespace, &request.owner, &actor)?;
        Ok((added, existing_namespace(store, &namespace)?))
    })
    .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(owners_response(status, &found))
}

/// 404 for an owner the namespace does not have; 409 for its last owner.
#[utoipa::path(delete, path = "/api/v1/namespaces/{namespace}/owners/{owner}", tag = "owners",
    security(("token" = ["admin"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("owner" = String, Path, description = "e.g. `alice@acme.example`"),
    ),
    responses(
        (status = 200, description = "Removed; the owners left", body = Owners),
        (status = 400, description = "Not a namespace name", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin token", body = ErrorEnvelope),
        (status = 404, description = "No such namespace, or not one of its owners", body = ErrorEnvelope),
        (status = 409, description = "The last owner", body = ErrorEnvelope),
        (status = 422, description = "Not an owner name", body = ErrorEnvelope),
    ))]
pub(crate) async fn remove_owner(
    State(state): State<AppState>,
    Path((namespace, owner)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check_namespace(&namespace)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Admin, "*")?;
    check_owner(&owner)?;
    let actor = actor(&token);
    let found = blocking(&state, move |store| {
        store.remove_owner(&namespace, &owner, &actor)?;
        existing_namespace(store, &namespace)
    })
    .await?;
    Ok(owners_response(StatusCode::OK, &found))
}

#[utoipa::path(post, path = "/api/v1/namespaces/{namespace}/keys", tag = "keys",
    security(("token" = ["manage-keys"])),
    params(("namespace" = String, Path, description = "e.g. `acme`")),
    request_body = NewKey,
    responses(
        (status = 201, description = "Registered", body = KeyAdded),
        (status = 200, description = "Already registered", body = KeyAdded),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not manage the namespace's keys", body = ErrorEnvelope),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
        (status = 422, description = "Not exactly one minisign public key", body = ErrorEnvelope),
    ))]
pub(crate) async fn add_key(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    headers: HeaderMap,
    body: Result<Json<NewKey>, JsonRejection>,
) -> ApiResult {
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::ManageKeys, &format!("{namespace}/*"))?;
    let Json(request) = body?;
    let keys = parse_public_keys(&request.public_key).map_err(|error| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`public_key`: {error}"),
        )
    })?;
    let [key] = &keys[..] else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`public_key` must hold exactly one key",
        ));
    };
    let key_id = key.key_id.clone();
    // Stored as the bare base64 line, which is all `parse_public_keys` needs back.
    let line = request
        .public_key
        .lines()
        .map(str::trim)
        .find(|line| {
            !line.is_empty() && !line.starts_with('#') && !line.starts_with("untrusted comment:")
        })
        .unwrap_or_default()
        .to_string();
    let actor = actor(&token);
    let stored_id = key_id.clone();
    let added = blocking(&state, move |store| {
        existing_namespace(store, &namespace)?;
        store.add_key(&namespace, &stored_id, &line, &actor)
    })
    .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(KeyAdded { key_id })).into_response())
}

/// Public keys are public: consumers read them to decide whom to trust.
#[utoipa::path(get, path = "/api/v1/namespaces/{namespace}/keys", tag = "keys",
    params(("namespace" = String, Path, description = "e.g. `acme`")),
    responses(
        (status = 200, description = "The publisher keys", body = Keys),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
    ))]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> ApiResult {
    let keys = blocking(&state, move |store| {
        existing_namespace(store, &namespace)?;
        store.keys(&namespace)
    })
    .await?;
    Ok(Json(Keys { keys }).into_response())
}

// ------------------------------------------------------------------------------------------
// Publish

fn unprocessable(detail: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
}

/// The tags of `source/pack.toml`, if the bundle has one that says.
fn tags(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Vec<String> {
    #[derive(Deserialize)]
    struct Manifest {
        pack: Pack,
    }
    #[derive(Deserialize)]
    struct Pack {
        #[serde(default)]
        tags: Vec<String>,
    }
    files
        .get("source/pack.toml")
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| toml::from_str::<Manifest>(text).ok())
        .map(|manifest| manifest.pack.tags)
        .unwrap_or_default()
}

#[utoipa::path(put, path = "/api/v1/packs/{namespace}/{name}/{version}", tag = "packs",
    security(("token" = ["publish"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("version" = String, Path, description = "e.g. `1.0.0`"),
        ("x-threatpack-signature" = String, Header, description = "The `.minisig` text, base64-encoded"),
        ("x-threatpack-allow-semver-violation" = Option<String>, Header, description = "Publish an under-bumped version anyway, for this reason (printable ASCII)"),
    ),
    request_body(content = BundleBytes, content_type = "application/gzip", description = "The bundle"),
    responses(
        (status = 201, description = "Published", body = PublishAnswer),
        (status = 200, description = "The identical bytes were already published", body = PublishAnswer),
        (status = 400, description = "A malformed name, version or signature header", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not publish this pack", body = ErrorEnvelope),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
        (status = 409, description = "The version exists with other bytes", body = ErrorEnvelope),
        (status = 413, description = "The bundle is over the size limit", body = ErrorEnvelope),
        (status = 422, description = "The bundle, its signature or its version bump is refused", body = ErrorEnvelope),
    ))]
pub(crate) async fn publish(
    State(state): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let pack = pack_name(&namespace, &name)?;
    check_version(&version)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Publish, &pack)?;
    let bundle = body?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the signature is missing: send the `.minisig` text base64-encoded in `{SIGNATURE_HEADER}`"),
            )
        })?
        .to_str()
        .ok()
        .and_then(|encoded| Base64::decode_to_vec(encoded.trim(), None).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{SIGNATURE_HEADER}` is not base64 of UTF-8 text"),
            )
        })?;
    let lookup = namespace.clone();
    let (known, keys) = blocking(&state, move |store| {
        Ok((store.namespace(&lookup)?.is_some(), store.keys(&lookup)?))
    })
    .await?;
    if !known {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no namespace `{namespace}`: an admin creates it first"),
        ));
    }
    if keys.is_empty() {
        return Err(unprocessable(format!(
            "namespace `{namespace}` has no publisher key: register one with `POST /api/v1/namespaces/{namespace}/keys`"
        )));
    }
    let max_bundle_bytes = state.options.max_bundle_bytes;
    // Reading and verifying cost CPU: off the async threads.
    let checked = tokio::task::spawn_blocking(move || {
        check_bundle(
            &bundle,
            &signature,
            &keys,
            &pack,
            &namespace,
            &version,
            max_bundle_bytes,
        )
        .map(|new_version| (new_version, bundle))
    })
    .await
    .map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the registry failed: {error}"),
        )
    })?;
    let ((mut new_version, kb), bundle) = checked?;
    let allow = headers
        .get(crate::semver::ALLOW_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    check_semver(&state, &mut new_version, kb, allow).await?;
    let actor = actor(&token);
    let record = new_version.clone();
    let outcome = changing_versions(&state, &new_version.pack, move |store| {
        store.publish(&record, &bundle, &actor)
    })
    .await?;
    let status = match outcome {
        PublishOutcome::Created => StatusCode::CREATED,
        PublishOutcome::AlreadyPublished => StatusCode::OK,
    };
    Ok((
        status,
        Json(PublishAnswer {
            created: outcome == PublishOutcome::Created,
            digest: format!("sha256:{}", new_version.sha256),
            name: new_version.pack,
            semver: new_version.semver,
            signer_key_id: new_version.signer_key_id,
            version: new_version.version,
        }),
    )
        .into_response())
}

/// Every check a bundle passes before anything is stored: the hostile-input reader (caps,
/// entries, every file against the manifest), the pack and version against the URL, and the
/// signature against the namespace's publisher keys.
fn check_bundle(
    bundle: &[u8],
    signature: &str,
    keys: &[crate::store::PublisherKey],
    pack: &str,
    namespace: &str,
    version: &str,
    max_bundle_bytes: usize,
) -> Result<(NewVersion, threatpack::compile::KnowledgeBase), ApiError> {
    let limits = ReadLimits {
        max_bundle_bytes: u64::try_from(max_bundle_bytes).unwrap_or(u64::MAX),
        ..ReadLimits::default()
    };
    let read = read_bundle(bundle, &limits)
        .map_err(|error| unprocessable(format!("not a valid bundle: {error}")))?;
    let manifest = &read.manifest;
    if manifest.pack != pack || manifest.version != version {
        return Err(unprocessable(format!(
            "the bundle is `{}` {}, not `{pack}` {version} as the URL says",
            manifest.pack, manifest.version
        )));
    }
    let keyring: String = keys
        .iter()
        .map(|key| format!("{}\n", key.public_key))
        .collect();
    let trusted = parse_public_keys(&keyring).map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the registry failed: a stored key of `{namespace}`: {error}"),
        )
    })?;
    let verified =
        verify_bundle(bundle, Some(manifest), signature, &trusted).map_err(|error| match error {
            VerifyError::UntrustedKey { key_id, .. } => unprocessable(format!(
                "the bundle is signed by key {key_id}, which is not a publisher key of `{namespace}`"
            )),
            other => unprocessable(format!("the signature is rejected: {other}")),
        })?;
    let dependencies = manifest
        .dependencies
        .iter()
        .map(IndexDependency::from)
        .collect();
    let sha256 = read
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&read.digest)
        .to_string();
    let new_version = NewVersion {
        namespace: namespace.to_string(),
        pack: pack.to_string(),
        version: version.to_string(),
        sha256,
        description: manifest.description.clone(),
        tags: tags(&read.files),
        dependencies,
        tier: manifest.tier.clone(),
        signer_key_id: verified.key_id,
        signature: signature.to_string(),
        semver: None,
    };
    Ok((new_version, read.kb))
}

/// The semantic-versioning gate (`semver::gate`) against the highest published version below
/// this one. A version already published skips it: the store answers a republish (identical
/// bytes 200, other bytes 409).
async fn check_semver(
    state: &AppState,
    new_version: &mut NewVersion,
    kb: threatpack::compile::KnowledgeBase,
    allow: Option<String>,
) -> Result<(), ApiError> {
    let lookup = new_version.pack.clone();
    let published = blocking(state, move |store| store.index(&lookup))
        .await?
        .unwrap_or_default();
    if published
        .iter()
        .any(|record| record.version == new_version.version)
    {
        return Ok(());
    }
    let declared = semver::Version::parse(&new_version.version)
        .map_err(|error| unprocessable(format!("`{}`: {error}", new_version.version)))?;
    let versions: Vec<semver::Version> = published
        .iter()
        .filter_map(|record| semver::Version::parse(&record.version).ok())
        .collect();
    let Some(baseline_version) = threatpack::versioning::baseline_version(&versions, &declared)
    else {
        return Ok(());
    };
    let Some(record) = published
        .iter()
        .find(|record| record.version == baseline_version.to_string())
    else {
        return Ok(());
    };
    let sha256 = record.digest.trim_start_matches("sha256:").to_string();
    let bytes = blocking(state, move |store| store.blob(&sha256))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the registry failed: the blob of {baseline_version} is missing"),
            )
        })?;
    let pack = new_version.pack.clone();
    let decided = tokio::task::spawn_blocking(move || {
        let baseline = read_bundle(&bytes, &ReadLimits::default()).map_err(|error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the registry failed: the stored bundle of {baseline_version} cannot be read: {error}"),
            )
        })?;
        crate::semver::gate(
            &pack,
            &kb,
            &declared,
            &crate::semver::Baseline {
                version: baseline_version,
                kb: baseline.kb,
            },
            allow.as_deref(),
        )
        .map_err(unprocessable)
    })
    .await
    .map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the registry failed: {error}"),
        )
    })??;
    new_version.semver = Some(decided);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Index, downloads, yanking, search

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

async fn set_yanked(
    state: AppState,
    (namespace, name, version): (String, String, String),
    headers: HeaderMap,
    body: Result<Json<YankRequest>, JsonRejection>,
    yanked: bool,
) -> ApiResult {
    let pack = pack_name(&namespace, &name)?;
    check_version(&version)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Yank, &pack)?;
    let Json(request) = body?;
    let reason = request.reason.filter(|reason| !reason.trim().is_empty());
    if yanked && reason.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a yank needs a `reason`: consumers see it",
        ));
    }
    let actor = actor(&token);
    let target = pack.clone();
    let stored_version = version.clone();
    let stored_reason = reason.clone();
    changing_versions(&state, &pack, move |store| {
        store.set_yanked(
            &target,
            &stored_version,
            yanked,
            stored_reason.as_deref(),
            &actor,
        )
    })
    .await?;
    Ok(Json(YankAnswer {
        name: pack,
        reason,
        version,
        yanked,
    })
    .into_response())
}

#[utoipa::path(put, path = "/api/v1/packs/{namespace}/{name}/{version}/yank", tag = "packs",
    security(("token" = ["yank"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("version" = String, Path, description = "e.g. `1.0.0`"),
    ),
    request_body = YankRequest,
    responses(
        (status = 200, description = "Yanked", body = YankAnswer),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not yank this pack", body = ErrorEnvelope),
        (status = 404, description = "No such version", body = ErrorEnvelope),
        (status = 422, description = "No reason given", body = ErrorEnvelope),
    ))]
pub(crate) async fn yank(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Result<Json<YankRequest>, JsonRejection>,
) -> ApiResult {
    set_yanked(state, path, headers, body, true).await
}

#[utoipa::path(put, path = "/api/v1/packs/{namespace}/{name}/{version}/unyank", tag = "packs",
    security(("token" = ["yank"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("version" = String, Path, description = "e.g. `1.0.0`"),
    ),
    request_body = YankRequest,
    responses(
        (status = 200, description = "No longer yanked", body = YankAnswer),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not yank this pack", body = ErrorEnvelope),
        (status = 404, description = "No such version", body = ErrorEnvelope),
    ))]
pub(crate) async fn unyank(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Result<Json<YankRequest>, JsonRejection>,
) -> ApiResult {
    set_yanked(state, path, headers, body, false).await
}

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
        (status = 400, description = "A malformed query", body = ErrorEnvelope),
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
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
