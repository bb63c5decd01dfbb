//! API tokens: listed and revoked by id. An admin token sees and revokes every token; any other
//! token sees and revokes itself (a leaked token is revoked by whoever holds it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use threatpack::wire::{ErrorEnvelope, TokenAnswer, Tokens};

use super::auth::{actor, authenticate};
use super::errors::ApiError;
use super::{ApiResult, AppState, blocking};
use crate::tokens::Scope;

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every token (admin), else the token itself; never a secret", body = Tokens),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    ))]
pub(crate) async fn list_tokens(State(state): State<AppState>, headers: HeaderMap) -> ApiResult {
    let token = authenticate(&state, &headers).await?;
    let admin = token.scopes.contains(&Scope::Admin);
    let mut tokens = blocking(&state, |store| store.tokens()).await?;
    if !admin {
        tokens.retain(|listed| listed.id == token.id);
    }
    Ok(Json(Tokens { tokens }).into_response())
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The token's id, as `GET /tokens` lists it")),
    responses(
        (status = 200, description = "Revoked (or already revoked); the token", body = TokenAnswer),
        (status = 400, description = "Not a token id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Another token, and not an admin token", body = ErrorEnvelope),
        (status = 404, description = "No such token", body = ErrorEnvelope),
    ))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let token = authenticate(&state, &headers).await?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{}` is not a token id (a number)", id.escape_debug()),
        )
    })?;
    if id != token.id && !token.scopes.contains(&Scope::Admin) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a token may revoke itself; revoking another needs an admin token",
        ));
    }
    let actor = actor(&token);
    let revoked = blocking(&state, move |store| store.revoke_token(id, &actor)).await?;
    Ok(Json(TokenAnswer { token: revoked }).into_response())
}
