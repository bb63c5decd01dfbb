//! The tokens of a registry: listed (every token for an admin token, the token itself for any
//! other) and revoked by id (any token may revoke itself; another needs an admin token).

use super::{Connection, Hints, RegistryError, RegistryOptions};
use crate::client::http::Request;
use crate::wire::{TokenAnswer, Tokens};

#[derive(Debug, Clone)]
pub struct ListTokensOptions {
    pub registry: RegistryOptions,
}

#[derive(Debug, Clone)]
pub struct RevokeTokenOptions {
    pub registry: RegistryOptions,
    /// The token's id, as [`list_tokens`] shows it.
    pub id: i64,
}

/// The tokens the caller's token may see; never a secret.
pub fn list_tokens(options: &ListTokensOptions) -> Result<Tokens, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let mut request = Request::new("GET", "/tokens");
    request.token = Some(connection.token()?);
    let (_, tokens) = connection.call(&request, Hints::needs("a valid token"))?;
    Ok(tokens)
}

/// Revokes a token: the registry refuses it from the next request on.
pub fn revoke_token(options: &RevokeTokenOptions) -> Result<TokenAnswer, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let path = format!("/tokens/{}", options.id);
    let mut request = Request::new("DELETE", &path);
    request.token = Some(connection.token()?);
    let hints = Hints::needs("an admin token (a token may revoke only itself otherwise)")
        .not_found("see the tokens with `threatpack token list`");
    let (_, answer) = connection.call(&request, hints)?;
    Ok(answer)
}
