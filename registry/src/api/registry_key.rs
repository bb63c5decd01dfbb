//! The registry's own key, for clients to pin, with the statements that rotated it.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use threatpack::wire::{ErrorEnvelope, RegistryKeyInfo};

use super::{ApiResult, AppState, blocking};

/// Public: a client pins the key on first use (or from its trust configuration) and follows
/// the rotations from a key it pinned before.
#[utoipa::path(get, path = "/api/v1/registry/key", tag = "registry",
    responses(
        (status = 200, description = "The key index envelopes are signed with, and every rotation, oldest first", body = RegistryKeyInfo),
        (status = 500, description = "The store failed", body = ErrorEnvelope),
    ))]
pub(crate) async fn registry_key(State(state): State<AppState>) -> ApiResult {
    let rotations = blocking(&state, |store| store.registry_key_rotations()).await?;
    let key = &state.options.registry_key;
    Ok(Json(RegistryKeyInfo {
        key: key.vkey().to_string(),
        origin: key.origin().to_string(),
        rotations,
    })
    .into_response())
}
