//! `threatpack login [--registry URL]`: stores a registry token in the user's configuration
//! directory (`credentials.toml`, mode 0600), keyed by registry URL.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{LoginOptions, config_dir_from_environment, login};

use super::registry::{RegistryArgs, message};

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
    let options = LoginOptions {
        registry: registry.clone(),
        token,
        config_dir: config_dir_from_environment().map_err(message)?,
    };
    let path = login(&options).map_err(message)?;
    crate::output::say!("token for {registry} stored in `{}`", path.display());
    Ok(ExitCode::SUCCESS)
}
