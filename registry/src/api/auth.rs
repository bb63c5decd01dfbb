//! Who is asking (a valid, unexpired token) and what the token may do.

use axum::http::{HeaderMap, StatusCode, header};

use super::errors::ApiError;
use super::{AppState, blocking};
use crate::store::TokenRecord;
use crate::tokens::{Scope, hash_token, pattern_matches};

/// Who is asking: a valid, unexpired token. Missing, unknown or expired is 401.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<TokenRecord, ApiError> {
    let unauthorized = |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, detail);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("this needs a token: `Authorization: Bearer TOKEN`"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(bearer_token)
        .ok_or_else(|| unauthorized("the `Authorization` header is not `Bearer TOKEN`"))?;
    token_by_hash(state, hash_token(token)).await
}

/// The valid, unexpired token whose hash (`hash_token`) is `hash`: how a request's token and a
/// web session's (web/session.rs) are checked. Unknown, revoked or expired is 401.
pub(crate) async fn token_by_hash(state: &AppState, hash: String) -> Result<TokenRecord, ApiError> {
    let unauthorized = |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, detail);
    let record = blocking(state, move |store| store.token_by_hash(&hash))
        .await?
        .ok_or_else(|| unauthorized("the token is not valid"))?;
    if record.revoked_at.is_some() {
        return Err(unauthorized(
            "the token was revoked: ask the registry's administrator for a new one",
        ));
    }
    if record
        .expires_at
        .is_some_and(|expires_at| expires_at <= threatpack::time::now())
    {
        return Err(unauthorized(
            "the token has expired: create a new one with `threatpack-registry token create`",
        ));
    }
    super::request_log::note_token(record.id);
    Ok(record)
}

/// The token of `Bearer TOKEN`; the scheme's case does not matter (RFC 9110, 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The token may use `scope` on `target` (a pack `ns/name`, or `ns/*` for the namespace
/// itself); `admin` may do anything anywhere. Otherwise 403.
pub(crate) fn authorize(token: &TokenRecord, scope: Scope, target: &str) -> Result<(), ApiError> {
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

pub(super) fn actor(token: &TokenRecord) -> String {
    format!("token:{}", token.id)
}
