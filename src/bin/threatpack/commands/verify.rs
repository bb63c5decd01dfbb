//! `threatpack verify BUNDLE (--key PUB | --trusted-keys FILE) [--signature SIG] [--expect NAME@VERSION]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::ops::{self, BundleError, VerifyOptions};

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

pub fn run(args: VerifyArgs) -> Result<ExitCode, String> {
    let options = VerifyOptions {
        bundle: args.bundle,
        keys: args.key.into_iter().chain(args.trusted_keys).collect(),
        signature: args.signature,
        expect: args.expect,
    };
    let verified = match ops::verify(&options) {
        Ok(verified) => verified,
        Err(
            error @ (BundleError::NotVerified { .. }
            | BundleError::SignedButInvalid { .. }
            | BundleError::NotExpected { .. }),
        ) => {
            eprintln!("error: {}", threatpack::render::visible(&error.to_string()));
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Err(error.to_string()),
    };
    let (key_id, binding) = (&verified.verified.key_id, &verified.verified.binding);
    if args.format == super::Format::Json {
        println!(
            "{}",
            serde_json::json!({
                "verified": true,
                "pack": binding.pack,
                "version": binding.version,
                "tier": binding.tier,
                "sha256": binding.sha256,
                "key-id": key_id,
                "trusted-comment": verified.trusted_comment,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    // The binding is the signature's trusted comment, text from the bundle's signer.
    crate::output::status(&threatpack::render::visible(&format!(
        "verified: `{}` {} (tier {}), signed by key {}, sha256 {}",
        binding.pack, binding.version, binding.tier, key_id, binding.sha256
    )));
    Ok(ExitCode::SUCCESS)
}
