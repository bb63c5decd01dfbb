//! What the registry commands share: the registry URL, the stored tokens, the HTTP client
//! (the library's, `threatpack::client::http`) and the API's error envelope.

use std::path::PathBuf;

use clap::Args;

/// The registry used when neither `--registry` nor `THREATPACK_REGISTRY` says otherwise.
pub const DEFAULT_REGISTRY: &str = "http://127.0.0.1:8080";
pub const REGISTRY_ENV: &str = "THREATPACK_REGISTRY";
pub const TOKEN_ENV: &str = "THREATPACK_TOKEN";
pub const CONFIG_DIR_ENV: &str = "THREATPACK_CONFIG_DIR";

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// The registry (default: `THREATPACK_REGISTRY`, else http://127.0.0.1:8080)
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
}

/// The configuration directory: `THREATPACK_CONFIG_DIR`, else `$XDG_CONFIG_HOME/threatpack`,
/// else `~/.config/threatpack`.
pub fn config_dir() -> Result<PathBuf, String> {
    if let Some(directory) = std::env::var_os(CONFIG_DIR_ENV).filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(directory));
    }
    if let Some(directory) = std::env::var_os("XDG_CONFIG_HOME").filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(directory).join("threatpack"));
    }
    match std::env::var_os("HOME").filter(|value| !value.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config/threatpack")),
        None => Err(format!(
            "cannot find the configuration directory: set {CONFIG_DIR_ENV}, XDG_CONFIG_HOME or HOME"
        )),
    }
}

pub fn credentials_path() -> Result<PathBuf, String> {
    Ok(config_dir()?.join("credentials.toml"))
}

/// The stored credentials: `[registries."URL"] token = "..."`.
pub fn read_credentials() -> Result<toml::Table, String> {
    let path = credentials_path()?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(toml::Table::new());
        }
        Err(error) => return Err(format!("cannot read `{}`: {error}", path.display())),
    };
    let text =
        String::from_utf8(bytes).map_err(|_| format!("`{}` is not UTF-8", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|error| format!("`{}` is not valid TOML: {error}", path.display()))
}

/// The token for `registry`: `THREATPACK_TOKEN`, else the one `threatpack login` stored.
pub fn token(registry: &str) -> Result<String, String> {
    if let Ok(token) = std::env::var(TOKEN_ENV)
        && !token.trim().is_empty()
    {
        return Ok(token.trim().to_string());
    }
    let credentials = read_credentials()?;
    credentials
        .get("registries")
        .and_then(|registries| registries.get(registry))
        .and_then(|entry| entry.get("token"))
        .and_then(|token| token.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "no token for {registry}: run `threatpack login --registry {registry}`, or set {TOKEN_ENV}"
            )
        })
}

pub use threatpack::client::http::{Request, Response, encode};

/// Sends one request to `registry` (retrying transient failures).
pub fn send(registry: &str, request: &Request) -> Result<Response, String> {
    threatpack::client::http::Client::new(registry)?.send(request)
}

/// `namespace/name`, checked enough to build a URL from it.
pub fn split_pack(name: &str) -> Result<(&str, &str), String> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    match name.split_once('/') {
        Some((namespace, pack)) if valid(namespace) && valid(pack) => Ok((namespace, pack)),
        _ => Err(format!(
            "`{name}` is not a pack name: expected `namespace/name`, e.g. `acme/web`"
        )),
    }
}

/// `namespace/name@version`.
pub fn split_pack_version(text: &str) -> Result<(&str, &str), String> {
    let Some((name, version)) = text.rsplit_once('@') else {
        return Err(format!(
            "`{text}`: expected `namespace/name@version`, e.g. `acme/web@1.2.0`"
        ));
    };
    split_pack(name)?;
    semver::Version::parse(version)
        .map_err(|error| format!("`{version}` is not a version: {error}"))?;
    Ok((name, version))
}

/// The message for an error status that means the same for every command.
pub fn common_error(registry: &str, response: &Response, needs: &str) -> String {
    let detail = response.detail();
    match response.status {
        401 => format!(
            "the registry refused the token ({detail}): run `threatpack login --registry {registry}` with a valid token, or set {TOKEN_ENV}"
        ),
        403 => format!(
            "the token may not do this ({detail}): ask the registry's administrator for a token with {needs}"
        ),
        status => format!("the registry answered {status}: {detail}"),
    }
}
