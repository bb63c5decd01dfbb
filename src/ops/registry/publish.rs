//! Publishing a signed bundle. The signature is checked here first, against the publisher keys
//! the registry lists for the namespace, so a bundle the registry would refuse is never
//! uploaded.

use std::path::PathBuf;

use ct_codecs::{Base64, Encoder};

use super::{Connection, Hints, RegistryError, RegistryOptions, split_pack};
use crate::bundle::{ReadLimits, read_bundle};
use crate::client::http::Request;
use crate::ops::Progress;
use crate::signing::{parse_public_keys, verify_bundle};
use crate::wire::{ALLOW_SEMVER_VIOLATION_HEADER, Keys, PublishAnswer, SIGNATURE_HEADER};
use crate::workspace::read_capped;

/// A signature file is a few lines; anything larger is not one.
const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub registry: RegistryOptions,
    /// The bundle (`threatpack build`).
    pub bundle: PathBuf,
    /// Its detached signature; `None` for BUNDLE.minisig (`threatpack sign` writes it).
    pub signature: Option<PathBuf>,
    /// Publish even though the version is bumped less than its changes require, for this
    /// reason (recorded in the registry's audit log and index).
    pub allow_semver_violation: Option<String>,
}

/// Reads the bundle and its signature, verifies the signature against the namespace's
/// publisher keys, then uploads both (the `publish` scope). In the answer, `created` is false
/// when the identical bytes were already published under this version.
pub fn publish(
    options: &PublishOptions,
    progress: &dyn Progress,
) -> Result<PublishAnswer, RegistryError> {
    let shown = options.bundle.display().to_string();
    let limits = ReadLimits::default();
    let bytes =
        read_capped(&options.bundle, limits.max_bundle_bytes).map_err(RegistryError::Invalid)?;
    let signature_path = options.signature.clone().unwrap_or_else(|| {
        let mut name = options.bundle.as_os_str().to_owned();
        name.push(".minisig");
        PathBuf::from(name)
    });
    if !signature_path.exists() {
        return Err(RegistryError::Invalid(format!(
            "`{}` not found: the registry only accepts signed bundles; sign it first with `threatpack sign {shown} --key SECRET_KEY`",
            signature_path.display()
        )));
    }
    let signature = read_capped(&signature_path, MAX_SIGNATURE_BYTES)
        .map_err(RegistryError::Invalid)
        .and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| {
                RegistryError::Invalid(format!(
                    "`{}` is not a signature (not UTF-8)",
                    signature_path.display()
                ))
            })
        })?;
    if let Some(reason) = &options.allow_semver_violation
        && (reason.trim().is_empty() || !reason.chars().all(|c| c == ' ' || c.is_ascii_graphic()))
    {
        return Err(RegistryError::Invalid(
            "--allow-semver-violation needs a reason in printable ASCII on one line".to_string(),
        ));
    }
    let manifest = read_bundle(&bytes, &limits)
        .map_err(|error| {
            RegistryError::Invalid(format!("`{shown}` is not a valid bundle: {error}"))
        })?
        .manifest;
    let name = manifest.pack.clone();
    let version = manifest.version.clone();
    let (namespace, _) = split_pack(&name)?;

    // The namespace's publisher keys are public: check the signature before uploading.
    progress.start("verifying", 1);
    let connection = Connection::open(&options.registry)?;
    let keys_path = format!("/namespaces/{namespace}/keys");
    let hints = Hints::needs("read access").not_found(format!(
        "ask the registry's administrator to create the namespace `{namespace}` (`threatpack namespace create`), then register your public key (`threatpack key add {namespace} PUBFILE`)"
    ));
    let (_, listed) = connection.call::<Keys>(&Request::new("GET", &keys_path), hints)?;
    if listed.keys.is_empty() {
        return Err(RegistryError::Invalid(format!(
            "the namespace `{namespace}` has no publisher keys on {}: register your public key first with `threatpack key add {namespace} PUBFILE`",
            connection.url
        )));
    }
    let public_keys: Vec<&str> = listed
        .keys
        .iter()
        .map(|key| key.public_key.as_str())
        .collect();
    let trusted =
        parse_public_keys(&public_keys.join("\n")).map_err(|error| RegistryError::Unexpected {
            status: 200,
            detail: format!("the registry lists a key that cannot be read: {error}"),
        })?;
    if let Err(error) = verify_bundle(&bytes, Some(&manifest), &signature, &trusted) {
        return Err(RegistryError::Invalid(format!(
            "`{}` does not verify against the publisher keys of `{namespace}`: {error}; nothing was uploaded",
            signature_path.display()
        )));
    }
    progress.advance(&name);
    progress.finish();

    let token = connection.token()?;
    let encoded = Base64::encode_to_string(signature.as_bytes())
        .map_err(|error| RegistryError::Invalid(format!("cannot encode the signature: {error}")))?;
    let path = format!("/packs/{name}/{version}");
    let mut request = Request::new("PUT", &path);
    request.token = Some(token);
    request.headers.push((SIGNATURE_HEADER, encoded));
    if let Some(reason) = &options.allow_semver_violation {
        request
            .headers
            .push((ALLOW_SEMVER_VIOLATION_HEADER, reason.clone()));
    }
    request.body = Some(("application/gzip", &bytes));
    progress.start("uploading", 1);
    let hints = Hints::needs(format!("the `publish` scope covering `{name}`"))
        .not_found(format!(
            "ask the registry's administrator to create the namespace `{namespace}` (`threatpack namespace create`), then register your public key (`threatpack key add {namespace} PUBFILE`)"
        ))
        .conflict(format!(
            "version {version} of {name} already exists with other bytes (versions are immutable); bump the version in pack.toml, rebuild and sign"
        ))
        .refused(
            "fix the bundle, rebuild and sign again; a bundle over the size limit needs a smaller pack or a higher `--max-bundle-bytes` on the registry",
        );
    let result = connection.call::<PublishAnswer>(&request, hints);
    progress.finish();
    let answer = result?.1;
    // The receipt: the registry logged this version, in a log its key signed.
    if let Some(log) = &answer.log {
        crate::client::log::check_publish_log(
            &connection.client,
            None,
            log,
            &crate::client::log::LoggedVersion {
                name: &name,
                version: &version,
                digest: &answer.digest,
                signer: &answer.signer_key_id,
                log_index: Some(log.index),
                signer_key_removed_log_index: None,
            },
        )
        .map_err(|detail| RegistryError::Unexpected {
            status: 200,
            detail,
        })?;
    }
    Ok(answer)
}
