//! The registry operations: one function per thing a user does with a registry (publish, yank,
//! deprecate, owners, keys, namespaces, tokens, search, info, login, and `log verify`: the monitor of the
//! transparency log). Each takes an options struct with the registry ([`RegistryOptions`]: URL
//! and token) and what to do, makes its requests with the client (`client::http`), and returns
//! the API's answer as its wire type (`crate::wire`) or a [`RegistryError`] a caller can match.
//! The `threatpack` command prints what they return.
//!
//! Each call is one or two requests, so only `publish` (which reads, verifies and uploads a
//! bundle) takes a [`Progress`](crate::ops::Progress) reporter.

mod credentials;
mod deprecate;
mod info;
mod keys;
mod log;
mod namespaces;
mod owners;
mod publish;
mod reports;
mod search;
mod tokens;
mod yank;

pub use credentials::{
    CONFIG_DIR_ENV, LoginOptions, config_dir_from_environment, credentials_path, login,
    stored_token,
};
pub use deprecate::{DeprecateOptions, set_deprecated};
pub use info::{InfoOptions, info};
pub use keys::{
    AddKeyOptions, KeyAddition, ListKeysOptions, RemoveKeyOptions, add_key, list_keys, remove_key,
};
pub use log::{LogReport, LogVerifyOptions, verify_log};
pub use namespaces::{
    CreateNamespaceOptions, ShowNamespaceOptions, create_namespace, show_namespace,
};
pub use owners::{
    AddOwnerOptions, ListOwnersOptions, OwnerChange, RemoveOwnerOptions, add_owner, list_owners,
    remove_owner,
};
pub use publish::{PublishOptions, publish};
pub use reports::{
    MAX_REPORT_FILE_BYTES, ModelReader, PushReportOptions, dependents, portfolio, project_model,
    project_status, project_trend, push_report,
};
pub use search::{SearchOptions, search};
pub use tokens::{ListTokensOptions, RevokeTokenOptions, list_tokens, revoke_token};
pub use yank::{YankOptions, set_yanked};

use serde::de::DeserializeOwned;

use crate::client::http::{Client, Request, Response};

/// The environment variable whose token the CLI uses instead of the stored one (CI).
pub const TOKEN_ENV: &str = "THREATPACK_TOKEN";

/// Which registry, and with which token.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `http[s]://HOST[:PORT][/PREFIX]`, with or without `/api/v1`.
    pub url: String,
    /// The API token; calls that change something need one.
    pub token: Option<String>,
}

/// Why a registry operation failed. Every variant's message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Something the caller gave is unusable (a bundle, a signature, a key file, a name);
    /// nothing was sent.
    #[error("{0}")]
    Invalid(String),
    /// The call needs a token and the options have none.
    #[error(
        "no token for {registry}: run `threatpack login --registry {registry}`, or set {TOKEN_ENV}"
    )]
    NoToken { registry: String },
    /// 401: no token, an unknown one or an expired one.
    #[error(
        "the registry refused the token ({detail}): run `threatpack login --registry {registry}` with a valid token, or set {TOKEN_ENV}"
    )]
    Unauthorized { registry: String, detail: String },
    /// 403: the token lacks the scope, or does not cover the pack or namespace.
    #[error(
        "the token may not do this ({detail}): ask the registry's administrator for a token with {needs}"
    )]
    Forbidden { detail: String, needs: String },
    /// 404: no such namespace, owner, pack or version.
    #[error("{detail} on {registry}{}", help_line(help))]
    NotFound {
        registry: String,
        detail: String,
        help: Option<String>,
    },
    /// 409: a version published with other bytes, a namespace that exists, the last owner.
    #[error("{detail}{}", help_line(help))]
    Conflict {
        detail: String,
        help: Option<String>,
    },
    /// 400, 413 or 422: the registry refused the request, for these reasons.
    #[error("the registry refused: {}{}", reasons.join("; "), help_line(help))]
    Refused {
        status: u16,
        reasons: Vec<String>,
        help: Option<String>,
    },
    /// The registry could not be reached, or its answer could not be read.
    #[error("{0}")]
    Transport(String),
    /// Any other status (the registry's own failures, 5xx), or an answer the API does not
    /// describe.
    #[error("the registry answered {status}: {detail}")]
    Unexpected { status: u16, detail: String },
    /// The credentials file cannot be read or written.
    #[error("{0}")]
    Credentials(String),
}

fn help_line(help: &Option<String>) -> String {
    help.as_ref()
        .map(|help| format!("\nhelp: {help}"))
        .unwrap_or_default()
}

/// What an operation adds to the registry's error answers: the scope a 403 means is missing,
/// and what to do about a 404, a 409 or a refusal.
#[derive(Debug, Default)]
struct Hints {
    /// E.g. "the `publish` scope covering `acme/web`".
    needs: String,
    not_found: Option<String>,
    conflict: Option<String>,
    refused: Option<String>,
}

impl Hints {
    fn needs(needs: impl Into<String>) -> Hints {
        Hints {
            needs: needs.into(),
            ..Hints::default()
        }
    }

    fn not_found(mut self, help: impl Into<String>) -> Hints {
        self.not_found = Some(help.into());
        self
    }

    fn conflict(mut self, help: impl Into<String>) -> Hints {
        self.conflict = Some(help.into());
        self
    }

    fn refused(mut self, help: impl Into<String>) -> Hints {
        self.refused = Some(help.into());
        self
    }
}

/// A connected registry: its normalized URL and the client.
struct Connection<'a> {
    options: &'a RegistryOptions,
    url: String,
    client: Client,
}

impl<'a> Connection<'a> {
    fn open(options: &'a RegistryOptions) -> Result<Connection<'a>, RegistryError> {
        let client = Client::new(&options.url).map_err(RegistryError::Invalid)?;
        Ok(Connection {
            options,
            url: client.registry().to_string(),
            client,
        })
    }

    /// The token, or `NoToken`.
    fn token(&self) -> Result<&'a str, RegistryError> {
        self.options
            .token
            .as_deref()
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| RegistryError::NoToken {
                registry: self.url.clone(),
            })
    }

    /// Sends `request`; a 2xx answer is read as `T` with its status, any other is the error
    /// its status means.
    fn call<T: DeserializeOwned>(
        &self,
        request: &Request,
        hints: Hints,
    ) -> Result<(u16, T), RegistryError> {
        let response = self
            .client
            .send(request)
            .map_err(RegistryError::Transport)?;
        if (200..300).contains(&response.status) {
            let answer = response
                .json()
                .map_err(|detail| RegistryError::Unexpected {
                    status: response.status,
                    detail,
                })?;
            return Ok((response.status, answer));
        }
        Err(self.error(&response, hints))
    }

    fn error(&self, response: &Response, hints: Hints) -> RegistryError {
        let detail = response.detail();
        match response.status {
            401 => RegistryError::Unauthorized {
                registry: self.url.clone(),
                detail,
            },
            403 => RegistryError::Forbidden {
                detail,
                needs: hints.needs,
            },
            404 => RegistryError::NotFound {
                registry: self.url.clone(),
                detail,
                help: hints.not_found,
            },
            409 => RegistryError::Conflict {
                detail,
                help: hints.conflict,
            },
            400 | 413 | 422 => RegistryError::Refused {
                status: response.status,
                reasons: response.details(),
                help: hints.refused,
            },
            status => RegistryError::Unexpected { status, detail },
        }
    }
}

/// A JSON request body.
fn json_body(value: &impl serde::Serialize) -> Result<Vec<u8>, RegistryError> {
    serde_json::to_vec(value)
        .map_err(|error| RegistryError::Invalid(format!("cannot write the request: {error}")))
}

/// `namespace/name`, checked enough to build a URL from it.
pub fn split_pack(name: &str) -> Result<(&str, &str), RegistryError> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    match name.split_once('/') {
        Some((namespace, pack)) if valid(namespace) && valid(pack) => Ok((namespace, pack)),
        _ => Err(RegistryError::Invalid(format!(
            "`{name}` is not a pack name: expected `namespace/name`, e.g. `acme/web`"
        ))),
    }
}
