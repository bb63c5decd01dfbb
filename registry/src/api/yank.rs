//! Yanking a version and undoing it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use threatpack::wire::{ErrorEnvelope, YankAnswer, YankRequest};

use super::auth::{actor, authenticate, authorize};
use super::errors::ApiError;
use super::{ApiResult, AppState, changing_versions, check_version, pack_name};
use crate::tokens::Scope;

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
    if let Some(reason) = &reason {
        check_line("reason", reason)?;
    }
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

/// The longest reason (or deprecation message) kept, in characters: a sentence or two and an
/// advisory's id.
const MAX_REASON: usize = 500;

/// A yank's reason and a deprecation's message are shown to every consumer and kept for good:
/// one line of printable text, so that they cannot rewrite a terminal or forge lines in what
/// shows them. `field` names the field in the error.
pub(super) fn check_line(field: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > MAX_REASON {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "`{field}` is longer than {MAX_REASON} characters: link to an advisory instead"
            ),
        ));
    }
    if let Some(bad) = text.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "`{field}` holds the control character U+{:04X}: give one line of printable text",
                u32::from(bad)
            ),
        ));
    }
    Ok(())
}

/// Characters that reorder the text around them (Trojan Source, CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
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
        (status = 422, description = "No reason given, or one longer than 500 characters or with control characters", body = ErrorEnvelope),
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
