//! `threatpack login [--registry URL]`: stores a registry token in the user's configuration
//! directory (`credentials.toml`, mode 0600), keyed by registry URL.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Args;
use threatpack::workspace::write_atomically;

use super::registry::{RegistryArgs, credentials_path, read_credentials};

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: LoginArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let token = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("token for {registry}: "))
            .map_err(|error| format!("cannot read the token: {error}"))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|error| format!("cannot read the token from stdin: {error}"))?;
        text
    };
    let token = token.trim();
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "no token read: pass exactly one token (on stdin, or typed at the prompt)".to_string(),
        );
    }
    let mut credentials = read_credentials()?;
    let registries = credentials
        .entry("registries")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(registries) = registries.as_table_mut() else {
        return Err("`registries` in the credentials file is not a table".to_string());
    };
    let mut entry = toml::Table::new();
    entry.insert("token".to_string(), toml::Value::String(token.to_string()));
    registries.insert(registry.clone(), toml::Value::Table(entry));
    let text = toml::to_string(&credentials)
        .map_err(|error| format!("cannot write the credentials: {error}"))?;
    let path = credentials_path()?;
    write_atomically(&path, text.as_bytes(), 0o600)?;
    eprintln!("token for {registry} stored in `{}`", path.display());
    Ok(ExitCode::SUCCESS)
}
