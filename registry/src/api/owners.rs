//! The owners of a namespace: listed to anyone, changed by admins.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use threatpack::wire::{ErrorEnvelope, NewOwner, Owners};

use super::auth::{actor, authenticate, authorize};
use super::namespaces::existing_namespace;
use super::{ApiResult, AppState, blocking, check_namespace, check_owner};
use crate::store::Namespace;
use crate::tokens::Scope;

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
