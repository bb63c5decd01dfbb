//! Deprecating a version (still chosen, with a warning and a version to use instead) and
//! undoing it: the publisher's word, with the `publish` scope on the pack.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use threatpack::wire::{DeprecateAnswer, DeprecateRequest, ErrorEnvelope, VersionDeprecation};

use super::auth::{actor, authenticate, authorize};
use super::errors::ApiError;
use super::yank::check_line;
use super::{ApiResult, AppState, changing_versions, check_version, pack_name};
use crate::tokens::Scope;

async fn set_deprecated(
    state: AppState,
    (namespace, name, version): (String, String, String),
    headers: HeaderMap,
    deprecation: Option<Result<Json<DeprecateRequest>, JsonRejection>>,
) -> ApiResult {
    let pack = pack_name(&namespace, &name)?;
    check_version(&version)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Publish, &pack)?;
    let deprecation = match deprecation {
        Some(body) => {
            let Json(request) = body?;
            Some(checked(request, &version)?)
        }
        None => None,
    };
    let actor = actor(&token);
    let (target, stored_version, stored) = (pack.clone(), version.clone(), deprecation.clone());
    changing_versions(&state, &pack, move |store| {
        store.set_deprecated(&target, &stored_version, stored.as_ref(), &actor)
    })
    .await?;
    Ok(Json(DeprecateAnswer {
        deprecated: deprecation,
        name: pack,
        version,
    })
    .into_response())
}

/// A message of one printable line, and a replacement that is a version other than this one.
fn checked(request: DeprecateRequest, version: &str) -> Result<VersionDeprecation, ApiError> {
    let message = request.message.trim().to_string();
    if message.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a deprecation needs a `message`: consumers see it",
        ));
    }
    check_line("message", &message)?;
    let replacement = request
        .replacement
        .map(|replacement| replacement.trim().to_string())
        .filter(|replacement| !replacement.is_empty());
    if let Some(replacement) = &replacement {
        check_version(replacement)?;
        if replacement == version {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the `replacement` is the version deprecated: name another one",
            ));
        }
    }
    Ok(VersionDeprecation {
        message,
        replacement,
    })
}

#[utoipa::path(put, path = "/api/v1/packs/{namespace}/{name}/{version}/deprecate", tag = "packs",
    security(("token" = ["publish"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("version" = String, Path, description = "e.g. `1.0.0`"),
    ),
    request_body = DeprecateRequest,
    responses(
        (status = 200, description = "Deprecated (again, with this message, if it already was)", body = DeprecateAnswer),
        (status = 400, description = "Not a pack name, or not a version (the replacement included)", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token lacks the `publish` scope on this pack", body = ErrorEnvelope),
        (status = 404, description = "No such version, or no such replacement version", body = ErrorEnvelope),
        (status = 422, description = "No message, one longer than 500 characters or with control characters, or the version as its own replacement", body = ErrorEnvelope),
    ))]
pub(crate) async fn deprecate(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Result<Json<DeprecateRequest>, JsonRejection>,
) -> ApiResult {
    set_deprecated(state, path, headers, Some(body)).await
}

#[utoipa::path(put, path = "/api/v1/packs/{namespace}/{name}/{version}/undeprecate", tag = "packs",
    security(("token" = ["publish"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("version" = String, Path, description = "e.g. `1.0.0`"),
    ),
    responses(
        (status = 200, description = "No longer deprecated", body = DeprecateAnswer),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token lacks the `publish` scope on this pack", body = ErrorEnvelope),
        (status = 404, description = "No such version", body = ErrorEnvelope),
    ))]
pub(crate) async fn undeprecate(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    set_deprecated(state, path, headers, None).await
}
