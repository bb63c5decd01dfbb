//! `threatpack sign BUNDLE --key KEY`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::signing::{SigningKey, load_secret_key, sign_bundle};
use threatpack::workspace::{read_capped, write_atomically};

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

/// The largest secret key file read (a minisign key is ~200 bytes).
const MAX_KEY_BYTES: u64 = 64 * 1024;

pub fn load_key(path: &Path) -> Result<SigningKey, String> {
    let bytes = read_capped(path, MAX_KEY_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("`{}` is not a minisign secret key", path.display()))?;
    load_secret_key(&text, || {
        super::key_password(&format!("Password for `{}`: ", path.display()))
    })
    .map_err(|error| format!("`{}`: {error}", path.display()))
}

/// `BUNDLE.minisig`, minisign's own convention.
pub fn signature_path(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

pub fn run(args: SignArgs) -> Result<ExitCode, String> {
    let limits = ReadLimits::default();
    let bytes = read_capped(&args.bundle, limits.max_bundle_bytes)?;
    // Only a valid bundle is signed: the signature binds what its manifest says.
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{}`: {error}", args.bundle.display()))?;
    let key = load_key(&args.key)?;
    let signature = sign_bundle(&bytes, &bundle.manifest, &key)?;
    let out = args.out.unwrap_or_else(|| signature_path(&args.bundle));
    write_atomically(&out, signature.as_bytes(), 0o644)?;
    eprintln!(
        "signed `{}` {} with key {}: {}",
        bundle.manifest.pack,
        bundle.manifest.version,
        key.key_id,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
