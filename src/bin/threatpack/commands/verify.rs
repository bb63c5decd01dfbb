//! `threatpack verify BUNDLE (--key PUB | --trusted-keys FILE) [--signature SIG] [--expect NAME@VERSION]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::signing::{TrustedKey, parse_public_keys, verify_bundle};
use threatpack::workspace::read_capped;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle to verify
    bundle: PathBuf,
    /// A trusted minisign public key file (repeatable)
    #[arg(long, value_name = "PUB")]
    key: Vec<PathBuf>,
    /// A file of trusted public keys, one per line (minisign base64; `#` comments)
    #[arg(long, value_name = "FILE")]
    trusted_keys: Option<PathBuf>,
    /// The signature (default: BUNDLE.minisig)
    #[arg(long, value_name = "SIG")]
    signature: Option<PathBuf>,
    /// Also require the bundle to be this pack and version, e.g. `acme/web@1.2.0`
    #[arg(long, value_name = "NAME@VERSION")]
    expect: Option<String>,
    /// `human`, or `json`: one document on stdout (pack, version, tier, sha256, key id and the
    /// trusted comment) when the bundle verifies
    #[arg(long, value_enum, default_value_t = super::Format::Human)]
    format: super::Format,
}

const MAX_TEXT_BYTES: u64 = 1024 * 1024;

/// Reads every trusted key given on the command line.
pub fn trusted_keys(
    keys: &[PathBuf],
    trusted_keys: Option<&PathBuf>,
) -> Result<Vec<TrustedKey>, String> {
    let mut trusted = Vec::new();
    for path in keys.iter().chain(trusted_keys) {
        let bytes = read_capped(path, MAX_TEXT_BYTES)?;
        let text = String::from_utf8_lossy(&bytes);
        trusted.extend(
            parse_public_keys(&text).map_err(|error| format!("`{}`: {error}", path.display()))?,
        );
    }
    Ok(trusted)
}

pub fn run(args: VerifyArgs) -> Result<ExitCode, String> {
    let trusted = trusted_keys(&args.key, args.trusted_keys.as_ref())?;
    if trusted.is_empty() {
        return Err(
            "no trusted key: pass `--key PUB` or `--trusted-keys FILE` (verifying against a key that comes with the bundle proves nothing)"
                .to_string(),
        );
    }
    let limits = ReadLimits::default();
    let bytes = read_capped(&args.bundle, limits.max_bundle_bytes)?;
    let signature_path = args
        .signature
        .unwrap_or_else(|| super::sign::signature_path(&args.bundle));
    let signature_bytes = read_capped(&signature_path, MAX_TEXT_BYTES)?;
    let signature = String::from_utf8_lossy(&signature_bytes);
    let bundle = read_bundle(&bytes, &limits);
    let shown = args.bundle.display();
    let verified = match verify_bundle(
        &bytes,
        bundle.as_ref().ok().map(|bundle| &bundle.manifest),
        &signature,
        &trusted,
    ) {
        Ok(verified) => verified,
        Err(error) => {
            eprintln!("error: `{shown}` is NOT verified: {error}");
            return Ok(ExitCode::from(1));
        }
    };
    let bundle = match bundle {
        Ok(bundle) => bundle,
        Err(error) => {
            eprintln!("error: `{shown}` is signed but not a valid bundle: {error}");
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(expected) = &args.expect {
        let actual = format!("{}@{}", bundle.manifest.pack, bundle.manifest.version);
        if *expected != actual {
            eprintln!(
                "error: `{shown}` is NOT the expected bundle: it is `{actual}`, expected `{expected}`"
            );
            return Ok(ExitCode::from(1));
        }
    }
    if args.format == super::Format::Json {
        let binding = &verified.binding;
        println!(
            "{}",
            serde_json::json!({
                "verified": true,
                "pack": binding.pack,
                "version": binding.version,
                "tier": binding.tier,
                "sha256": binding.sha256,
                "key-id": verified.key_id,
                "trusted-comment": threatpack::signing::trusted_comment(&bundle.manifest, &binding.sha256),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "verified: `{}` {} (tier {}), signed by key {}, sha256 {}",
        verified.binding.pack,
        verified.binding.version,
        verified.binding.tier,
        verified.key_id,
        verified.binding.sha256
    );
    Ok(ExitCode::SUCCESS)
}
