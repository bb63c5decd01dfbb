//! What the registry commands share: the registry URL and token from flags, environment and
//! stored credentials (`RegistryArgs`), pack names, `--format`, and printing answers as JSON.
//! The requests themselves are the library's (`threatpack::ops::registry`).

use clap::Args;
use threatpack::ops::registry::{
    RegistryError, RegistryOptions, TOKEN_ENV, config_dir_from_environment, stored_token,
};

use threatpack::wire::{DEFAULT_REGISTRY, REGISTRY_ENV};

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// The registry [env: THREATPACK_REGISTRY] [default: http://127.0.0.1:8080]
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
}

impl RegistryArgs {
    /// The registry URL, without a trailing `/` or `/api/v1`.
    pub fn url(&self) -> Result<String, String> {
        let url = match &self.registry {
            Some(url) => url.clone(),
            None => std::env::var(REGISTRY_ENV).unwrap_or_else(|_| DEFAULT_REGISTRY.to_string()),
        };
        threatpack::client::http::normalize_registry(&url)
    }

    /// The registry without a token, for the calls anyone may make.
    pub fn public(&self) -> Result<RegistryOptions, String> {
        Ok(RegistryOptions {
            url: self.url()?,
            token: None,
        })
    }

    /// The registry with the token: `THREATPACK_TOKEN`, else the one `threatpack login`
    /// stored (none is an error only when a call needs it).
    pub fn authenticated(&self) -> Result<RegistryOptions, String> {
        let url = self.url()?;
        let token = match std::env::var(TOKEN_ENV) {
            Ok(token) if !token.trim().is_empty() => Some(token.trim().to_string()),
            _ => {
                let config_dir = config_dir_from_environment().map_err(message)?;
                stored_token(&config_dir, &url).map_err(message)?
            }
        };
        Ok(RegistryOptions { url, token })
    }
}

/// A registry error as the CLI prints it.
pub fn message(error: RegistryError) -> String {
    error.to_string()
}

/// Prints one answer as a JSON document on stdout, with what the registry said made visible
/// (`render::visible_json`: still the same JSON).
pub fn print_json(answer: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(answer)
        .map_err(|error| format!("cannot write the answer as JSON: {error}"))?;
    println!("{}", threatpack::render::visible_json(&text));
    Ok(())
}

/// `namespace/name`, checked enough to build a URL from it.
pub fn split_pack(name: &str) -> Result<(&str, &str), String> {
    threatpack::ops::registry::split_pack(name).map_err(message)
}

/// `namespace/name@version`.
pub fn split_pack_version(text: &str) -> Result<(&str, &str), String> {
    threatpack::ops::split_pack_version(text).map_err(|error| error.to_string())
}
