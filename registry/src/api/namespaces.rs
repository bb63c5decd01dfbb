//! Namespaces: created by admins, shown to anyone.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use threatpack::wire::{ErrorEnvelope, NamespaceAnswer, NewNamespace};

use super::auth::{actor, authenticate, authorize};
use super::errors::ApiError;
use super::{ApiResult, AppState, blocking, check_namespace, check_owner};
use crate::store::{Namespace, Store, StoreError};
use crate::tokens::Scope;

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
pub(super) fn existing_namespace(store: &dyn Store, name: &str) -> Result<Namespace, StoreError> {
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
