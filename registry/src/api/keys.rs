//! The publisher keys of a namespace: registered and removed with `manage-keys`, listed to
//! anyone.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use threatpack::signing::parse_public_keys;
use threatpack::wire::{ErrorEnvelope, KeyAdded, Keys, NewKey};

use super::check_namespace;

use super::auth::{actor, authenticate, authorize};
use super::errors::ApiError;
use super::namespaces::existing_namespace;
use super::{ApiResult, AppState, blocking};
use crate::tokens::Scope;

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
        (status = 409, description = "The namespace has another key with this key id", body = ErrorEnvelope),
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
    let index_cache = state.index_cache.clone();
    let added = blocking(&state, move |store| {
        existing_namespace(store, &namespace)?;
        let added = store.add_key(&namespace, &stored_id, &line, &actor);
        // A restored key unmarks the versions it signed (index_cache.rs).
        index_cache.invalidate_namespace(&namespace);
        added
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

/// The versions the key signed stay downloadable (lockfiles pin them) and the index marks them
/// `signer_key_removed`; no new version may be signed by it. Answers the keys left.
#[utoipa::path(delete, path = "/api/v1/namespaces/{namespace}/keys/{key_id}", tag = "keys",
    security(("token" = ["manage-keys"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("key_id" = String, Path, description = "The minisign key id, 16 hex digits"),
    ),
    responses(
        (status = 200, description = "Removed; the keys left", body = Keys),
        (status = 400, description = "Not a namespace name or a key id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not manage the namespace's keys", body = ErrorEnvelope),
        (status = 404, description = "No such namespace, or not one of its keys", body = ErrorEnvelope),
    ))]
pub(crate) async fn remove_key(
    State(state): State<AppState>,
    Path((namespace, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check_namespace(&namespace)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::ManageKeys, &format!("{namespace}/*"))?;
    if key_id.len() != 16 || !key_id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`{}` is not a key id (16 hex digits, as `threatpack key list` shows)",
                key_id.escape_debug()
            ),
        ));
    }
    let actor = actor(&token);
    let index_cache = state.index_cache.clone();
    let keys = blocking(&state, move |store| {
        existing_namespace(store, &namespace)?;
        let removed = store.remove_key(&namespace, &key_id.to_ascii_uppercase(), &actor);
        // The versions the key signed are marked from now on (index_cache.rs).
        index_cache.invalidate_namespace(&namespace);
        removed?;
        store.keys(&namespace)
    })
    .await?;
    Ok(Json(Keys { keys }).into_response())
}
