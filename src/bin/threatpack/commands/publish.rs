//! `threatpack publish BUNDLE [--registry URL]`: uploads a bundle and its `BUNDLE.minisig`.
//! The signature is checked here first, against the publisher keys the registry lists for the
//! namespace, so a bundle the registry would refuse is never uploaded.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ct_codecs::{Base64, Encoder};
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::signing::{parse_public_keys, verify_bundle};
use threatpack::workspace::read_capped;

use super::registry::{RegistryArgs, Request, common_error, send, split_pack, token};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The bundle (`threatpack build`), signed with `threatpack sign` (BUNDLE.minisig)
    bundle: PathBuf,
    /// Publish even though the version is bumped less than its changes require (the registry
    /// refuses it otherwise); the reason is recorded in the registry's audit log
    #[arg(long, value_name = "REASON")]
    allow_semver_violation: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

pub fn run(args: PublishArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let shown = args.bundle.display().to_string();
    let limits = ReadLimits::default();
    let bytes = read_capped(&args.bundle, limits.max_bundle_bytes)?;
    let signature_path = super::sign::signature_path(&args.bundle);
    if !signature_path.exists() {
        return Err(format!(
            "`{}` not found: the registry only accepts signed bundles; sign it first with `threatpack sign {shown} --key SECRET_KEY`",
            signature_path.display()
        ));
    }
    let signature_bytes = read_capped(&signature_path, MAX_SIGNATURE_BYTES)?;
    let signature = String::from_utf8(signature_bytes).map_err(|_| {
        format!(
            "`{}` is not a signature (not UTF-8)",
            signature_path.display()
        )
    })?;
    let manifest = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{shown}` is not a valid bundle: {error}"))?
        .manifest;
    let name = manifest.pack.clone();
    let version = manifest.version.clone();
    let (namespace, _) = split_pack(&name)?;

    // The namespace's publisher keys are public: check the signature before uploading.
    let keys_path = format!("/namespaces/{namespace}/keys");
    let response = send(&registry, &Request::new("GET", &keys_path))?;
    match response.status {
        200 => {}
        404 => {
            return Err(format!(
                "the namespace `{namespace}` does not exist on {registry}: ask the registry's administrator to create it and register your public key"
            ));
        }
        _ => return Err(common_error(&registry, &response, "read access")),
    }
    let listed = response.json()?;
    let public_keys: Vec<String> = listed["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|key| key["public_key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if public_keys.is_empty() {
        return Err(format!(
            "the namespace `{namespace}` has no publisher keys on {registry}: register your public key first (POST /api/v1/namespaces/{namespace}/keys)"
        ));
    }
    let trusted = parse_public_keys(&public_keys.join("\n"))
        .map_err(|error| format!("the registry lists a key that cannot be read: {error}"))?;
    if let Err(error) = verify_bundle(&bytes, Some(&manifest), &signature, &trusted) {
        return Err(format!(
            "`{}` does not verify against the publisher keys of `{namespace}`: {error}; nothing was uploaded",
            signature_path.display()
        ));
    }

    let token = token(&registry)?;
    let encoded = Base64::encode_to_string(signature.as_bytes())
        .map_err(|error| format!("cannot encode the signature: {error}"))?;
    let path = format!("/packs/{name}/{version}");
    let mut request = Request::new("PUT", &path);
    request.token = Some(&token);
    request.headers.push(("X-Threatpack-Signature", encoded));
    if let Some(reason) = &args.allow_semver_violation {
        if reason.trim().is_empty() || !reason.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return Err(
                "--allow-semver-violation needs a reason in printable ASCII on one line"
                    .to_string(),
            );
        }
        request
            .headers
            .push(("X-Threatpack-Allow-Semver-Violation", reason.clone()));
    }
    request.body = Some(("application/gzip", &bytes));
    let response = send(&registry, &request)?;
    match response.status {
        200 | 201 => {
            let body = response.json()?;
            let digest = body["digest"].as_str().unwrap_or("?");
            if response.status == 201 {
                println!("published {name}@{version}: {digest}");
                let semver = &body["semver"];
                if let (Some(baseline), Some(required)) =
                    (semver["baseline"].as_str(), semver["required"].as_str())
                {
                    println!(
                        "  against {baseline}: the changes need a {required} bump; declared {}",
                        semver["declared"].as_str().unwrap_or("none")
                    );
                }
                if let Some(reason) = semver["allowed-violation"].as_str() {
                    println!("  semver violation accepted (recorded in the audit log): {reason}");
                }
            } else {
                println!("{name}@{version} was already published with these bytes: {digest}");
            }
            Ok(ExitCode::SUCCESS)
        }
        404 => Err(format!(
            "{} on {registry}: ask the registry's administrator to create the namespace `{namespace}` and register your public key",
            response.detail()
        )),
        409 => Err(format!(
            "version {version} of {name} already exists with other bytes (versions are immutable); bump the version in pack.toml, rebuild and sign"
        )),
        413 => Err(format!(
            "the bundle is over the registry's size limit ({}): make the pack smaller, or ask the administrator to raise `--max-bundle-bytes`",
            response.detail()
        )),
        422 => Err(format!(
            "the registry refused the bundle: {}; fix it, rebuild and sign again",
            response.detail()
        )),
        _ => Err(common_error(
            &registry,
            &response,
            &format!("the `publish` scope covering `{name}`"),
        )),
    }
}
