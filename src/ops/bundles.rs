//! Operations on built bundles and signing keys: generate a key pair, sign a bundle, verify a
//! bundle against trusted keys, and inspect a bundle (manifest, counts, signature, where each
//! field of an item came from). Bundles are read as hostile input. Nothing here prints or asks
//! for a password: the caller passes a function that returns one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value as Json;

use crate::bundle::{Bundle, ReadLimits, read_bundle};
use crate::compile::{CompiledLink, KnowledgeBase, Provenance};
use crate::signing::{
    SigningKey, TrustedKey, Verified, generate_key, load_secret_key, parse_public_keys,
    sign_bundle, signature_key_id, trusted_comment, verify_bundle,
};
use crate::workspace::{read_capped, write_atomically, write_new_file};

/// The largest secret key file read (a minisign key is ~200 bytes).
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// The largest signature or public-key file read.
const MAX_TEXT_BYTES: u64 = 1024 * 1024;

/// A function that returns the password of a secret key (from the environment, a terminal, a
/// vault), or why there is none.
pub type PasswordSource<'a> = &'a dyn Fn() -> Result<String, String>;

/// Why a bundle or key operation failed. The CLI exits 1 for [`BundleError::NotVerified`],
/// [`BundleError::SignedButInvalid`] and [`BundleError::NotExpected`] (the bundle is refused),
/// 2 for the others.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// No trusted key was given to verify against.
    #[error(
        "no trusted key: pass `--key PUB` or `--trusted-keys FILE` (verifying against a key that comes with the bundle proves nothing)"
    )]
    NoTrustedKey,
    /// The signature does not verify against any trusted key.
    #[error("`{}` is NOT verified: {reason}", bundle.display())]
    NotVerified {
        /// The bundle.
        bundle: PathBuf,
        /// Why the signature was rejected.
        reason: String,
    },
    /// The signature verifies, but the file is not a valid bundle.
    #[error("`{}` is signed but not a valid bundle: {reason}", bundle.display())]
    SignedButInvalid {
        /// The bundle.
        bundle: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The bundle verifies, but is another pack or version than the one expected.
    #[error(
        "`{}` is NOT the expected bundle: it is `{actual}`, expected `{expected}`",
        bundle.display()
    )]
    NotExpected {
        /// The bundle.
        bundle: PathBuf,
        /// `name@version` of the bundle.
        actual: String,
        /// `name@version` expected.
        expected: String,
    },
    /// A key file exists and `force` was not given.
    #[error("`{}` exists; pass `--force` to replace it", path.display())]
    KeyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// An encrypted key was asked for with an empty password.
    #[error(
        "an empty password: give one, or pass `--unencrypted` to store the key without one ({} was empty or unset)",
        crate::signing::PASSWORD_ENV
    )]
    EmptyPassword,
    /// `--provenance ID` names no item, or several.
    #[error("{0}")]
    NoSuchItem(String),
    /// Anything else: a file that cannot be read or written, a malformed bundle or key. The
    /// message names the file.
    #[error("{0}")]
    Other(String),
}

impl From<String> for BundleError {
    fn from(message: String) -> BundleError {
        BundleError::Other(message)
    }
}

/// Where a bundle's signature is: `BUNDLE.minisig`, minisign's own convention.
pub fn signature_path(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// Every public key in the given minisign `.pub` files (or files of keys, one per line).
pub fn read_public_keys(paths: &[PathBuf]) -> Result<Vec<TrustedKey>, BundleError> {
    let mut trusted = Vec::new();
    for path in paths {
        let bytes = read_capped(path, MAX_TEXT_BYTES)?;
        let text = String::from_utf8_lossy(&bytes);
        trusted.extend(
            parse_public_keys(&text).map_err(|error| format!("`{}`: {error}", path.display()))?,
        );
    }
    Ok(trusted)
}

/// A minisign secret key file decoded; `password` is called only if the key is encrypted.
pub fn read_secret_key(path: &Path, password: PasswordSource) -> Result<SigningKey, BundleError> {
    let bytes = read_capped(path, MAX_KEY_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("`{}` is not a minisign secret key", path.display()))?;
    Ok(load_secret_key(&text, password)
        .map_err(|error| format!("`{}`: {error}", path.display()))?)
}

/// Options of [`generate_key_files`].
#[derive(Debug, Clone)]
pub struct GenerateKeyOptions {
    /// The key files' path without extension: `PREFIX.key` and `PREFIX.pub` are written.
    pub prefix: PathBuf,
    /// Encrypt the secret key with a password (asked for after the files are found free).
    pub encrypted: bool,
    /// Replace existing key files.
    pub force: bool,
}

/// A key pair written by [`generate_key_files`].
#[derive(Debug, Clone)]
pub struct GeneratedKeyFiles {
    /// The key id (minisign's, hexadecimal).
    pub key_id: String,
    /// The secret key file (mode 0600).
    pub secret: PathBuf,
    /// The public key file.
    pub public: PathBuf,
}

/// Generates a minisign key pair and writes it; [`BundleError::KeyExists`] without `force`
/// when a file is there, [`BundleError::EmptyPassword`] when `password` returns "".
pub fn generate_key_files(
    options: &GenerateKeyOptions,
    password: PasswordSource,
) -> Result<GeneratedKeyFiles, BundleError> {
    let secret_path = with_extension(&options.prefix, "key");
    let public_path = with_extension(&options.prefix, "pub");
    if !options.force {
        for path in [&secret_path, &public_path] {
            if path.exists() {
                return Err(BundleError::KeyExists { path: path.clone() });
            }
        }
    }
    let password = if options.encrypted {
        let password = password()?;
        if password.is_empty() {
            return Err(BundleError::EmptyPassword);
        }
        Some(password)
    } else {
        None
    };
    let key = generate_key(password)?;
    write_new_file(&secret_path, key.secret.as_bytes(), 0o600, options.force)?;
    write_new_file(&public_path, key.public.as_bytes(), 0o644, options.force)?;
    Ok(GeneratedKeyFiles {
        key_id: key.key_id,
        secret: secret_path,
        public: public_path,
    })
}

fn with_extension(prefix: &Path, extension: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// Options of [`sign`].
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The bundle to sign.
    pub bundle: PathBuf,
    /// The minisign secret key file.
    pub key: PathBuf,
    /// Where to write the signature; `None`: [`signature_path`] of the bundle.
    pub out: Option<PathBuf>,
}

/// A signature written by [`sign`].
#[derive(Debug, Clone)]
pub struct Signed {
    /// The pack signed.
    pub pack: String,
    /// Its version.
    pub version: String,
    /// The signing key's id.
    pub key_id: String,
    /// The signature file.
    pub signature: PathBuf,
}

/// Signs a bundle: only a valid bundle is signed (the signature binds what its manifest says),
/// and the key is decrypted after the bundle is read.
pub fn sign(options: &SignOptions, password: PasswordSource) -> Result<Signed, BundleError> {
    let limits = ReadLimits::default();
    let bytes = read_capped(&options.bundle, limits.max_bundle_bytes)?;
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{}`: {error}", options.bundle.display()))?;
    let key = read_secret_key(&options.key, password)?;
    let signature = sign_bundle(&bytes, &bundle.manifest, &key)?;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| signature_path(&options.bundle));
    write_atomically(&out, signature.as_bytes(), 0o644)?;
    Ok(Signed {
        pack: bundle.manifest.pack,
        version: bundle.manifest.version,
        key_id: key.key_id,
        signature: out,
    })
}

/// Options of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The bundle.
    pub bundle: PathBuf,
    /// Trusted public key files, or files of keys one per line; at least one key.
    pub keys: Vec<PathBuf>,
    /// The signature; `None`: [`signature_path`] of the bundle.
    pub signature: Option<PathBuf>,
    /// Also require the bundle to be this `name@version`.
    pub expect: Option<String>,
}

/// A bundle whose signature verified.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// Who signed, and what the signature binds.
    pub verified: Verified,
    /// The trusted comment that binds this bundle.
    pub trusted_comment: String,
}

/// Verifies a bundle's signature against trusted keys, then that it is a valid bundle (and
/// the expected one).
pub fn verify(options: &VerifyOptions) -> Result<VerifiedBundle, BundleError> {
    let trusted = read_public_keys(&options.keys)?;
    if trusted.is_empty() {
        return Err(BundleError::NoTrustedKey);
    }
    let limits = ReadLimits::default();
    let bytes = read_capped(&options.bundle, limits.max_bundle_bytes)?;
    let signature_path = options
        .signature
        .clone()
        .unwrap_or_else(|| signature_path(&options.bundle));
    let signature_bytes = read_capped(&signature_path, MAX_TEXT_BYTES)?;
    let signature = String::from_utf8_lossy(&signature_bytes);
    let bundle = read_bundle(&bytes, &limits);
    let verified = verify_bundle(
        &bytes,
        bundle.as_ref().ok().map(|bundle| &bundle.manifest),
        &signature,
        &trusted,
    )
    .map_err(|error| BundleError::NotVerified {
        bundle: options.bundle.clone(),
        reason: error.to_string(),
    })?;
    let bundle = bundle.map_err(|error| BundleError::SignedButInvalid {
        bundle: options.bundle.clone(),
        reason: error.to_string(),
    })?;
    if let Some(expected) = &options.expect {
        let actual = format!("{}@{}", bundle.manifest.pack, bundle.manifest.version);
        if *expected != actual {
            return Err(BundleError::NotExpected {
                bundle: options.bundle.clone(),
                actual,
                expected: expected.clone(),
            });
        }
    }
    let trusted_comment = trusted_comment(&bundle.manifest, &verified.binding.sha256);
    Ok(VerifiedBundle {
        verified,
        trusted_comment,
    })
}

/// A bundle file read and checked: its bytes and what they hold.
fn read_bundle_file(path: &Path) -> Result<(Vec<u8>, Bundle), BundleError> {
    let limits = ReadLimits::default();
    let bytes = read_capped(path, limits.max_bundle_bytes)?;
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{}` is not a valid bundle: {error}", path.display()))?;
    Ok((bytes, bundle))
}

/// The trusted comment that binds the bundle at `path` (for `minisign -S -t`).
pub fn bundle_trusted_comment(path: &Path) -> Result<String, BundleError> {
    let (bytes, bundle) = read_bundle_file(path)?;
    Ok(trusted_comment(
        &bundle.manifest,
        &crate::digest::sha256_hex(&bytes),
    ))
}

/// Options of [`inspect`].
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// The bundle.
    pub bundle: PathBuf,
    /// Trusted public key files to check `BUNDLE.minisig` against; none: not checked.
    pub keys: Vec<PathBuf>,
}

/// A bundle inspected.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The bundle read back.
    pub bundle: Bundle,
    /// Whether a signature sits beside it, and whether it verifies.
    pub signature: SignatureStatus,
    /// What it holds, counted.
    pub counts: Counts,
}

/// Whether a signature sits beside a bundle (`BUNDLE.minisig`), and whether it verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// No signature file.
    Unsigned,
    /// A signature, no key given to check it.
    #[serde(rename_all = "kebab-case")]
    NotChecked {
        /// The signature file.
        file: String,
        /// The key id it names, if readable.
        key_id: Option<String>,
    },
    /// The signature verifies against a given key.
    #[serde(rename_all = "kebab-case")]
    Verified {
        /// The signature file.
        file: String,
        /// The key that signed.
        key_id: String,
    },
    /// The signature does not verify against the given keys.
    #[serde(rename_all = "kebab-case")]
    Invalid {
        /// The signature file.
        file: String,
        /// The key id it names, if readable.
        key_id: Option<String>,
        /// Why it was rejected.
        error: String,
    },
}

/// What a knowledge base holds, counted (`inspect`'s `counts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Counts {
    /// Entities.
    pub entities: usize,
    /// Attack patterns.
    pub attack_patterns: usize,
    /// Mitigations.
    pub mitigations: usize,
    /// Links.
    pub links: usize,
    /// Overrides applied.
    pub overrides: usize,
    /// Entities per kind (kebab-case name).
    pub entities_by_kind: BTreeMap<String, usize>,
    /// Attack patterns per STRIDE category.
    pub attack_patterns_by_category: BTreeMap<String, usize>,
    /// Attack patterns per severity.
    pub attack_patterns_by_severity: BTreeMap<String, usize>,
    /// Items per tier, in the knowledge base's tier order.
    pub by_tier: Vec<TierCounts>,
}

/// The items of one tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TierCounts {
    /// The tier.
    pub tier: String,
    /// Attack patterns of this tier.
    pub attack_patterns: usize,
    /// Mitigations of this tier.
    pub mitigations: usize,
    /// Links of this tier.
    pub links: usize,
}

/// Reads a bundle, counts what it holds, and checks the signature beside it against `keys`
/// (when given).
pub fn inspect(options: &InspectOptions) -> Result<Inspection, BundleError> {
    let (bytes, bundle) = read_bundle_file(&options.bundle)?;
    let signature = signature_status(&options.bundle, &options.keys, &bytes, &bundle)?;
    let counts = counts(&bundle.kb);
    Ok(Inspection {
        bundle,
        signature,
        counts,
    })
}

fn signature_status(
    path: &Path,
    keys: &[PathBuf],
    bytes: &[u8],
    bundle: &Bundle,
) -> Result<SignatureStatus, BundleError> {
    let path = signature_path(path);
    let Ok(signature_bytes) = read_capped(&path, MAX_TEXT_BYTES) else {
        return Ok(SignatureStatus::Unsigned);
    };
    let signature = String::from_utf8_lossy(&signature_bytes);
    let signer = signature_key_id(&signature);
    let file = path.display().to_string();
    if keys.is_empty() {
        return Ok(SignatureStatus::NotChecked {
            file,
            key_id: signer,
        });
    }
    let trusted = read_public_keys(keys)?;
    Ok(
        match verify_bundle(bytes, Some(&bundle.manifest), &signature, &trusted) {
            Ok(verified) => SignatureStatus::Verified {
                file,
                key_id: verified.key_id,
            },
            Err(error) => SignatureStatus::Invalid {
                file,
                key_id: signer,
                error: error.to_string(),
            },
        },
    )
}

/// Counts per entity kind, STRIDE category, tier and severity.
pub fn counts(kb: &KnowledgeBase) -> Counts {
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for entity in &kb.entities {
        *kinds.entry(name_of(&entity.kind)).or_default() += 1;
    }
    let mut categories: BTreeMap<String, usize> = BTreeMap::new();
    let mut severities: BTreeMap<String, usize> = BTreeMap::new();
    let mut tiers: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for attack_pattern in &kb.attack_patterns {
        for category in &attack_pattern.categories {
            *categories.entry(category.to_string()).or_default() += 1;
        }
        *severities
            .entry(name_of(&attack_pattern.severity))
            .or_default() += 1;
        tiers.entry(&attack_pattern.tier).or_default()[0] += 1;
    }
    for mitigation in &kb.mitigations {
        tiers.entry(&mitigation.tier).or_default()[1] += 1;
    }
    for link in &kb.links {
        tiers.entry(&link.tier).or_default()[2] += 1;
    }
    let by_tier = kb
        .tiers
        .iter()
        .map(|tier| {
            let [attack_patterns, mitigations, links] =
                tiers.get(tier.as_str()).copied().unwrap_or_default();
            TierCounts {
                tier: tier.clone(),
                attack_patterns,
                mitigations,
                links,
            }
        })
        .collect();
    Counts {
        entities: kb.entities.len(),
        attack_patterns: kb.attack_patterns.len(),
        mitigations: kb.mitigations.len(),
        links: kb.links.len(),
        overrides: kb.overrides.len(),
        entities_by_kind: kinds,
        attack_patterns_by_category: categories,
        attack_patterns_by_severity: severities,
        by_tier,
    }
}

/// The kebab-case name of a serialized enum value.
pub fn name_of(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Json::String(name)) => name,
        _ => "?".to_string(),
    }
}

/// One item of a bundle, each field with where it came from (`inspect --provenance`).
#[derive(Debug, Clone)]
pub struct ItemProvenance {
    /// The item's full id (`namespace/pack:kind/id`).
    pub id: String,
    /// The item as JSON (its fields as the bundle holds them).
    pub item: Json,
    /// Where each field came from.
    pub provenance: Provenance,
    /// The links to or from the item.
    pub links: Vec<CompiledLink>,
}

/// The item `id` of the bundle at `path` (its full id, or an id unique in the bundle), with
/// the source of each field and its links; [`BundleError::NoSuchItem`] when none or several
/// match.
pub fn provenance(path: &Path, id: &str) -> Result<ItemProvenance, BundleError> {
    let (_, bundle) = read_bundle_file(path)?;
    let kb = &bundle.kb;
    let mut candidates: Vec<(Json, &Provenance, &str)> = Vec::new();
    let matches = |item_id: &str| item_id == id || item_id.rsplit('/').next() == Some(id);
    for entity in &kb.entities {
        if matches(&entity.id) {
            candidates.push((to_json(entity), &entity.provenance, &entity.id));
        }
    }
    for attack_pattern in &kb.attack_patterns {
        if matches(&attack_pattern.id) {
            candidates.push((
                to_json(attack_pattern),
                &attack_pattern.provenance,
                &attack_pattern.id,
            ));
        }
    }
    for mitigation in &kb.mitigations {
        if matches(&mitigation.id) {
            candidates.push((to_json(mitigation), &mitigation.provenance, &mitigation.id));
        }
    }
    let (item, item_provenance, item_id) = match candidates.len() {
        0 => {
            return Err(BundleError::NoSuchItem(format!(
                "no item `{id}` in this bundle"
            )));
        }
        1 => candidates.remove(0),
        _ => {
            let ids: Vec<&str> = candidates.iter().map(|(_, _, id)| *id).collect();
            return Err(BundleError::NoSuchItem(format!(
                "`{id}` is ambiguous: {}",
                ids.join(", ")
            )));
        }
    };
    let links = kb
        .links
        .iter()
        .filter(|link| link.mitigation == item_id || link.attack_pattern == item_id)
        .cloned()
        .collect();
    Ok(ItemProvenance {
        id: item_id.to_string(),
        item,
        provenance: item_provenance.clone(),
        links,
    })
}

fn to_json(value: &impl Serialize) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}
