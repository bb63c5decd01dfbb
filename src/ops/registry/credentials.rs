//! Registry tokens kept for the user: `credentials.toml` (mode 0600) in the configuration
//! directory, `[registries."URL"] token = "…"`, keyed by the registry's normalized URL.

use std::path::{Path, PathBuf};

use super::RegistryError;
use crate::client::http::normalize_registry;
use crate::workspace::write_atomically;

/// The environment variable that names the configuration directory.
pub const CONFIG_DIR_ENV: &str = "THREATPACK_CONFIG_DIR";

/// A token file is one line; anything larger is not one.
const MAX_CREDENTIALS_BYTES: u64 = 1024 * 1024;

/// The configuration directory: `THREATPACK_CONFIG_DIR`, else `$XDG_CONFIG_HOME/threatpack`,
/// else `~/.config/threatpack`.
pub fn config_dir_from_environment() -> Result<PathBuf, RegistryError> {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(directory) = set(CONFIG_DIR_ENV) {
        return Ok(PathBuf::from(directory));
    }
    if let Some(directory) = set("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(directory).join("threatpack"));
    }
    match set("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".config/threatpack")),
        None => Err(RegistryError::Credentials(format!(
            "cannot find the configuration directory: set {CONFIG_DIR_ENV}, XDG_CONFIG_HOME or HOME"
        ))),
    }
}

/// `credentials.toml` in `config_dir`.
pub fn credentials_path(config_dir: &Path) -> PathBuf {
    config_dir.join("credentials.toml")
}

/// The token `login` stored for `registry` in `config_dir`, if any.
pub fn stored_token(config_dir: &Path, registry: &str) -> Result<Option<String>, RegistryError> {
    let registry = normalize_registry(registry).map_err(RegistryError::Invalid)?;
    let credentials = read_credentials(config_dir)?;
    Ok(credentials
        .get("registries")
        .and_then(|registries| registries.get(&registry))
        .and_then(|entry| entry.get("token"))
        .and_then(|token| token.as_str())
        .map(str::to_string))
}

/// What `login` stores.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The registry's URL (normalized before it is stored).
    pub registry: String,
    pub token: String,
    /// Where `credentials.toml` is ([`config_dir_from_environment`] for the user's).
    pub config_dir: PathBuf,
}

/// Stores `token` for `registry`, replacing any token stored for it; returns the file written.
pub fn login(options: &LoginOptions) -> Result<PathBuf, RegistryError> {
    let registry = normalize_registry(&options.registry).map_err(RegistryError::Invalid)?;
    let token = options.token.trim();
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RegistryError::Invalid(
            "no token read: pass exactly one token (on stdin, or typed at the prompt)".to_string(),
        ));
    }
    let mut credentials = read_credentials(&options.config_dir)?;
    let path = credentials_path(&options.config_dir);
    let registries = credentials
        .entry("registries")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(registries) = registries.as_table_mut() else {
        return Err(RegistryError::Credentials(format!(
            "`registries` in `{}` is not a table: fix or remove the file",
            path.display()
        )));
    };
    let mut entry = toml::Table::new();
    entry.insert("token".to_string(), toml::Value::String(token.to_string()));
    registries.insert(registry, toml::Value::Table(entry));
    let text = toml::to_string(&credentials).map_err(|error| {
        RegistryError::Credentials(format!("cannot write the credentials: {error}"))
    })?;
    write_atomically(&path, text.as_bytes(), 0o600).map_err(RegistryError::Credentials)?;
    Ok(path)
}

/// The credentials file as a table; empty when there is none.
fn read_credentials(config_dir: &Path) -> Result<toml::Table, RegistryError> {
    let path = credentials_path(config_dir);
    if !path.exists() {
        return Ok(toml::Table::new());
    }
    let bytes = crate::workspace::read_capped(&path, MAX_CREDENTIALS_BYTES)
        .map_err(RegistryError::Credentials)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| RegistryError::Credentials(format!("`{}` is not UTF-8", path.display())))?;
    text.parse::<toml::Table>().map_err(|error| {
        RegistryError::Credentials(format!(
            "`{}` is not valid TOML: {error}\nhelp: fix it, or remove it and log in again",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_token_is_found_under_the_normalized_url_and_replaced_by_the_next_login() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let login_with = |token: &str| {
            login(&LoginOptions {
                registry: "http://127.0.0.1:8080/api/v1/".to_string(),
                token: format!("{token}\n"),
                config_dir: directory.path().to_path_buf(),
            })
        };
        login_with("tpr_one").expect("stored");
        login_with("tpr_two").expect("replaced");
        let found = stored_token(directory.path(), "http://127.0.0.1:8080").expect("readable");
        assert_eq!(found.as_deref(), Some("tpr_two"));
        let other = stored_token(directory.path(), "http://127.0.0.1:9090").expect("readable");
        assert_eq!(other, None);
        assert!(matches!(
            login_with("two words"),
            Err(RegistryError::Invalid(_))
        ));
    }
}
