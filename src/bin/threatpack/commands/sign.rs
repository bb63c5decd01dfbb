//! `threatpack sign BUNDLE --key KEY`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use threatpack::ops::{self, SignOptions};
use threatpack::signing::SigningKey;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The bundle to sign
    bundle: PathBuf,
    /// The minisign secret key (password from THREATPACK_KEY_PASSWORD or the terminal)
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Where to write the signature (default: BUNDLE.minisig)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// A secret key file decrypted, its password from the environment or the terminal.
pub fn load_key(path: &Path) -> Result<SigningKey, String> {
    ops::read_secret_key(path, &password_for(path)).map_err(|error| error.to_string())
}

/// Asks for the password of the secret key at `path` (see [`super::key_password`]).
fn password_for(path: &Path) -> impl Fn() -> Result<String, String> + '_ {
    move || super::key_password(&format!("Password for `{}`: ", path.display()))
}

pub fn run(args: SignArgs) -> Result<ExitCode, String> {
    let options = SignOptions {
        bundle: args.bundle,
        key: args.key,
        out: args.out,
    };
    let signed =
        ops::sign(&options, &password_for(&options.key)).map_err(|error| error.to_string())?;
    crate::output::say!(
        "signed `{}` {} with key {}: {}",
        signed.pack,
        signed.version,
        signed.key_id,
        signed.signature.display()
    );
    Ok(ExitCode::SUCCESS)
}
