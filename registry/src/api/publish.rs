//! Publishing a version: every check of the bundle and its signature, the semantic-versioning
//! gate, then one store call.
//!
//! The order is the defence: the token, the name, the version, the declared size, the
//! namespace and the signer's key id are all checked before a byte of the body is read; the
//! body then streams into an anonymous temporary file under a hard cap; the signature is
//! verified over those raw bytes before anything is decompressed; and only then does the
//! hostile-input reader, with its size and ratio caps, unpack it.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use ct_codecs::{Base64, Decoder};
use http_body_util::BodyExt;
use serde::Deserialize;
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::signing::{VerifyError, parse_public_keys, signature_key_id, verify_bundle};
use threatpack::wire::{ErrorEnvelope, IndexDependency, PublishAnswer};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::auth::{actor, authenticate, authorize};
use super::errors::{ApiError, unprocessable};
use super::{
    ApiResult, AppState, BundleBytes, SIGNATURE_HEADER, blocking, changing_versions, check_version,
    pack_name,
};
use crate::metrics::METRICS;
use crate::store::{NewVersion, PublishOutcome};
use crate::tokens::Scope;

/// How many times a publish runs the semver gate while other versions of its pack land.
const MAX_GATE_ATTEMPTS: u32 = 16;

/// The tags of `source/pack.toml`, if the bundle has one that says.
pub(crate) fn tags(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Vec<String> {
    #[derive(Deserialize)]
    struct Manifest {
        pack: Pack,
    }
    #[derive(Deserialize)]
    struct Pack {
        #[serde(default)]
        tags: Vec<String>,
    }
    files
        .get("source/pack.toml")
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| toml::from_str::<Manifest>(text).ok())
        .map(|manifest| manifest.pack.tags)
        .unwrap_or_default()
}

#[utoipa::path(put, path = "/api/v1/packs/{namespace}/{name}/{version}", tag = "packs",
    security(("token" = ["publish"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `web`"),
        ("version" = String, Path, description = "e.g. `1.0.0`"),
        ("x-threatpack-signature" = String, Header, description = "The `.minisig` text, base64-encoded"),
        ("x-threatpack-allow-semver-violation" = Option<String>, Header, description = "Publish an under-bumped version anyway, for this reason (printable ASCII)"),
    ),
    request_body(content = BundleBytes, content_type = "application/gzip", description = "The bundle"),
    responses(
        (status = 201, description = "Published", body = PublishAnswer),
        (status = 200, description = "The identical bytes were already published", body = PublishAnswer),
        (status = 400, description = "A malformed name, version or signature header, or a body that could not be read", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not publish this pack", body = ErrorEnvelope),
        (status = 404, description = "No such namespace", body = ErrorEnvelope),
        (status = 408, description = "The body stopped arriving for longer than the body timeout", body = ErrorEnvelope),
        (status = 409, description = "The version exists with other bytes (or other versions of the pack kept landing while it was compared with its baseline)", body = ErrorEnvelope),
        (status = 413, description = "The bundle is over the size limit (said by `Content-Length` or found while reading)", body = ErrorEnvelope),
        (status = 422, description = "The bundle, its signature, its version bump or its new tier is refused", body = ErrorEnvelope),
    ))]
pub(crate) async fn publish(
    State(state): State<AppState>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let pack = pack_name(&namespace, &name)?;
    check_version(&version)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Publish, &pack)?;
    let max_bundle_bytes = state.options.max_bundle_bytes;
    if let Some(declared) = content_length(&headers)?
        && declared > max_bundle_bytes as u64
    {
        return Err(too_large(max_bundle_bytes));
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the signature is missing: send the `.minisig` text base64-encoded in `{SIGNATURE_HEADER}`"),
            )
        })?
        .to_str()
        .ok()
        .and_then(|encoded| Base64::decode_to_vec(encoded.trim(), None).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{SIGNATURE_HEADER}` is not base64 of UTF-8 text"),
            )
        })?;
    let lookup = namespace.clone();
    let (known, keys) = blocking(&state, move |store| {
        Ok((store.namespace(&lookup)?.is_some(), store.keys(&lookup)?))
    })
    .await?;
    if !known {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no namespace `{namespace}`: an admin creates it first"),
        ));
    }
    if keys.is_empty() {
        return Err(unprocessable(format!(
            "namespace `{namespace}` has no publisher key: register one with `POST /api/v1/namespaces/{namespace}/keys`"
        )));
    }
    // A signature by a key the namespace does not have is refused before its body is read.
    let signer = signature_key_id(&signature).ok_or_else(|| {
        unprocessable("the signature is rejected: it is not a minisign signature".to_string())
    })?;
    if !keys.iter().any(|key| key.key_id == signer) {
        return Err(unprocessable(format!(
            "the bundle is signed by key {signer}, which is not a publisher key of `{namespace}`"
        )));
    }
    // Bounds the memory of the checks below: each holds a bundle and its unpacked files.
    let _permit = state.publish_permits.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the registry is shutting down: try again",
        )
    })?;
    let bundle = receive(body, max_bundle_bytes, &state.options.upload_dir).await?;
    // Reading and verifying cost CPU: off the async threads.
    let checked = tokio::task::spawn_blocking(move || {
        check_bundle(
            &bundle,
            &signature,
            &keys,
            &pack,
            &namespace,
            &version,
            max_bundle_bytes,
        )
        .map(|new_version| (new_version, bundle))
    })
    .await
    .map_err(|error| ApiError::internal(format!("the registry failed: {error}")))?;
    let ((mut new_version, kb), bundle) = checked?;
    let allow = headers
        .get(crate::semver::ALLOW_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let kb = std::sync::Arc::new(kb);
    let actor = actor(&token);
    let size = bundle.len() as u64;
    // The gate reads its baseline, then the store commits only if no other version of the
    // pack landed in between (`NewVersion::versions_seen`); if one did, the gate runs again
    // against the new baseline.
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        check_semver(&state, &mut new_version, kb.clone(), allow.clone()).await?;
        let (record, bundle, actor) = (new_version.clone(), bundle.clone(), actor.clone());
        let outcome = changing_versions(&state, &new_version.pack, move |store| {
            store.publish(&record, &bundle, &actor)
        })
        .await?;
        if outcome != PublishOutcome::BaselineChanged {
            break outcome;
        }
        if attempts == MAX_GATE_ATTEMPTS {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "`{}` changed {MAX_GATE_ATTEMPTS} times while {} was being compared with its baseline: publish it again",
                    new_version.pack, new_version.version
                ),
            ));
        }
    };
    let status = match outcome {
        PublishOutcome::Created => {
            METRICS.publishes.inc();
            METRICS.stored_bytes.inc_by(size);
            StatusCode::CREATED
        }
        PublishOutcome::AlreadyPublished | PublishOutcome::BaselineChanged => StatusCode::OK,
    };
    let log = super::log::publish_log(
        &state,
        new_version.pack.clone(),
        new_version.version.clone(),
    )
    .await?;
    Ok((
        status,
        Json(PublishAnswer {
            created: outcome == PublishOutcome::Created,
            digest: format!("sha256:{}", new_version.sha256),
            log,
            name: new_version.pack,
            semver: new_version.semver,
            signer_key_id: new_version.signer_key_id,
            version: new_version.version,
        }),
    )
        .into_response())
}

/// Every check a bundle passes before anything is stored: the hostile-input reader (caps,
/// entries, every file against the manifest), the pack and version against the URL, and the
/// signature against the namespace's publisher keys.
fn check_bundle(
    bundle: &[u8],
    signature: &str,
    keys: &[crate::store::PublisherKey],
    pack: &str,
    namespace: &str,
    version: &str,
    max_bundle_bytes: usize,
) -> Result<(NewVersion, threatpack::compile::KnowledgeBase), ApiError> {
    let keyring: String = keys
        .iter()
        .map(|key| format!("{}\n", key.public_key))
        .collect();
    let trusted = parse_public_keys(&keyring).map_err(|error| {
        ApiError::internal(format!(
            "the registry failed: a stored key of `{namespace}`: {error}"
        ))
    })?;
    // Over the raw bytes, before anything is decompressed: a bomb signed by no publisher of
    // the namespace costs one hash, not half a gigabyte.
    let verified = verify_bundle(bundle, None, signature, &trusted).map_err(|error| match error {
        VerifyError::UntrustedKey { key_id, .. } => unprocessable(format!(
            "the bundle is signed by key {key_id}, which is not a publisher key of `{namespace}`"
        )),
        other => unprocessable(format!("the signature is rejected: {other}")),
    })?;
    let limits = ReadLimits {
        max_bundle_bytes: u64::try_from(max_bundle_bytes).unwrap_or(u64::MAX),
        ..ReadLimits::default()
    };
    let read = read_bundle(bundle, &limits)
        .map_err(|error| unprocessable(format!("not a valid bundle: {error}")))?;
    let manifest = &read.manifest;
    if manifest.pack != pack || manifest.version != version {
        return Err(unprocessable(format!(
            "the bundle is `{}` {}, not `{pack}` {version} as the URL says",
            manifest.pack, manifest.version
        )));
    }
    let binding = &verified.binding;
    let tier = manifest.tier.as_deref().unwrap_or("all");
    if (
        binding.pack.as_str(),
        binding.version.as_str(),
        binding.tier.as_str(),
    ) != (manifest.pack.as_str(), manifest.version.as_str(), tier)
    {
        return Err(unprocessable(format!(
            "the signature is rejected: it is for `{}` {} (tier {}), not for this bundle, `{}` {} (tier {tier}): a signature was swapped or the bundle is not the one signed",
            binding.pack, binding.version, binding.tier, manifest.pack, manifest.version
        )));
    }
    let dependencies = manifest
        .dependencies
        .iter()
        .map(IndexDependency::from)
        .collect();
    let sha256 = read
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&read.digest)
        .to_string();
    let new_version = NewVersion {
        namespace: namespace.to_string(),
        pack: pack.to_string(),
        version: version.to_string(),
        sha256,
        description: manifest.description.clone(),
        tags: tags(&read.files),
        dependencies,
        tier: manifest.tier.clone(),
        signer_key_id: verified.key_id,
        signature: signature.to_string(),
        semver: None,
        versions_seen: None,
    };
    Ok((new_version, read.kb))
}

/// The semantic-versioning gate (`semver::gate`) against the highest published version below
/// this one built for the same tier. A tier no published version has is refused unless the
/// publisher allows it (recorded like a semver violation): a consumer must never find another
/// tier under a requirement that used to give it this one. A version already published skips
/// the gate: the store answers a republish (identical bytes 200, other bytes 409).
async fn check_semver(
    state: &AppState,
    new_version: &mut NewVersion,
    kb: std::sync::Arc<threatpack::compile::KnowledgeBase>,
    allow: Option<String>,
) -> Result<(), ApiError> {
    let lookup = new_version.pack.clone();
    let published = blocking(state, move |store| store.index(&lookup))
        .await?
        .unwrap_or_default()
        .versions;
    new_version.versions_seen = Some(published.len() as u64);
    new_version.semver = None;
    if published
        .iter()
        .any(|record| record.version == new_version.version)
    {
        return Ok(());
    }
    let declared = semver::Version::parse(&new_version.version)
        .map_err(|error| unprocessable(format!("`{}`: {error}", new_version.version)))?;
    let versions_of = |tier: Option<&Option<String>>| -> Vec<semver::Version> {
        published
            .iter()
            .filter(|record| tier.is_none_or(|tier| record.tier == *tier))
            .filter_map(|record| semver::Version::parse(&record.version).ok())
            .collect()
    };
    let same_tier = versions_of(Some(&new_version.tier));
    if same_tier.is_empty() && !published.is_empty() {
        let decision = crate::semver::new_tier(
            &new_version.pack,
            &declared,
            new_version.tier.as_deref(),
            &published,
            // The nearest version below, else the lowest: what the new tier sits next to.
            threatpack::versioning::baseline_version(&versions_of(None), &declared)
                .or_else(|| versions_of(None).into_iter().min()),
            allow.as_deref(),
        )
        .map_err(unprocessable)?;
        new_version.semver = Some(decision);
        return Ok(());
    }
    let Some(baseline_version) = threatpack::versioning::baseline_version(&same_tier, &declared)
    else {
        return Ok(());
    };
    let Some(record) = published
        .iter()
        .find(|record| record.version == baseline_version.to_string())
    else {
        return Ok(());
    };
    let sha256 = record.digest.trim_start_matches("sha256:").to_string();
    let bytes = blocking(state, move |store| store.blob(&sha256))
        .await?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "the registry failed: the blob of {baseline_version} is missing"
            ))
        })?;
    let pack = new_version.pack.clone();
    let decided = tokio::task::spawn_blocking(move || {
        let baseline = read_bundle(&bytes, &ReadLimits::default()).map_err(|error| {
            ApiError::internal(format!("the registry failed: the stored bundle of {baseline_version} cannot be read: {error}"))
        })?;
        crate::semver::gate(
            &pack,
            kb.as_ref(),
            &declared,
            &crate::semver::Baseline {
                version: baseline_version,
                kb: baseline.kb,
            },
            allow.as_deref(),
        )
        .map_err(unprocessable)
    })
    .await
    .map_err(|error| {
        ApiError::internal(format!("the registry failed: {error}"))
    })??;
    new_version.semver = Some(decided);
    Ok(())
}

/// The body's declared size, if it declares one; a malformed `Content-Length` is a 400.
pub(super) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "`Content-Length` is not a number of bytes",
            )
        })
}

fn too_large(max_bundle_bytes: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is too large: a bundle may have at most {max_bundle_bytes} bytes (the server's `max-bundle-bytes`)"
        ),
    )
}

/// Streams the body into an anonymous temporary file in `upload_dir` (gone when dropped, even
/// after a crash), refusing it once past `max_bundle_bytes`; then reads it back. Only a caller
/// that passed every check before the body gets here, one per publish permit.
async fn receive(
    body: Body,
    max_bundle_bytes: usize,
    upload_dir: &std::path::Path,
) -> Result<Vec<u8>, ApiError> {
    let spool = tempfile::tempfile_in(upload_dir)
        .map_err(|error| ApiError::storage(format!("cannot create an upload file: {error}")))?;
    let mut spool = tokio::fs::File::from_std(spool);
    let written =
        |error: std::io::Error| ApiError::storage(format!("cannot spool an upload: {error}"));
    let mut body = body;
    let mut received: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            received = received.saturating_add(data.len());
            if received > max_bundle_bytes {
                return Err(too_large(max_bundle_bytes));
            }
            spool.write_all(&data).await.map_err(written)?;
        }
    }
    spool.flush().await.map_err(written)?;
    spool.rewind().await.map_err(written)?;
    let mut bundle = Vec::with_capacity(received);
    spool.read_to_end(&mut bundle).await.map_err(written)?;
    Ok(bundle)
}

/// A body that failed while arriving: too slow (the body timeout, 408) or cut off (400).
pub(super) fn body_error(error: axum::Error) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if cause.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the body stopped arriving for longer than the server's `body-timeout`",
            );
        }
        source = cause.source();
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("the body could not be read: {error}"),
    )
}
