//! Keys and detached signatures in minisign's format, so that the standard `minisign` tool
//! verifies our signatures and we verify its own (`minisign` signs, `minisign-verify` checks).
//!
//! The trusted comment (signed together with the signature) binds the pack name, version,
//! tier and bundle digest: a valid signature for `acme/web@1.2.0` cannot be passed off for
//! another version or another pack.

use ct_codecs::{Base64, Decoder};
use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

use crate::bundle::BundleManifest;

/// The environment variable a secret key's password is read from (for CI); otherwise the
/// terminal is asked.
pub const PASSWORD_ENV: &str = "THREATPACK_KEY_PASSWORD";

/// The first word of every trusted comment threatpack writes.
const TRUSTED_COMMENT_TAG: &str = "threatpack-bundle";

/// A new key pair, in minisign's text formats.
pub struct GeneratedKey {
    pub public: String,
    pub secret: String,
    pub key_id: String,
}

/// Generates a key pair; the secret key is encrypted with `password` unless it is `None`.
pub fn generate_key(password: Option<String>) -> Result<GeneratedKey, String> {
    let encrypted = password.is_some();
    let pair = match password {
        Some(password) => KeyPair::generate_encrypted_keypair(Some(password)),
        None => KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(|error| format!("cannot generate a key: {error}"))?;
    let key_id = key_id(pair.pk.keynum());
    let comment = if encrypted {
        format!("threatpack secret key {key_id} (encrypted)")
    } else {
        format!("threatpack secret key {key_id} (NOT encrypted)")
    };
    let public = pair
        .pk
        .to_box()
        .map_err(|error| format!("cannot encode the public key: {error}"))?
        .to_string();
    let secret = pair
        .sk
        .to_box(Some(&comment))
        .map_err(|error| format!("cannot encode the secret key: {error}"))?
        .to_string();
    Ok(GeneratedKey {
        public,
        secret,
        key_id,
    })
}

/// minisign's key id: the key number as a little-endian u64, in upper-case hex.
fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    for (target, source) in bytes.iter_mut().zip(keynum) {
        *target = *source;
    }
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// The id of the key that made a signature, if the text is a minisign signature.
pub fn signature_key_id(signature_text: &str) -> Option<String> {
    SignatureBox::from_string(signature_text)
        .ok()
        .map(|boxed| key_id(boxed.keynum()))
}

/// A secret key ready to sign, with its id.
pub struct SigningKey {
    key: SecretKey,
    public: PublicKey,
    pub key_id: String,
}

/// Decodes a secret key file; `password` is asked for only if the key is encrypted.
pub fn load_secret_key(
    text: &str,
    password: impl FnOnce() -> Result<String, String>,
) -> Result<SigningKey, String> {
    let invalid = |error: &dyn std::fmt::Display| format!("not a minisign secret key: {error}");
    let encoded = text
        .lines()
        .nth(1)
        .ok_or_else(|| invalid(&"no key line"))?
        .trim();
    let bytes = Base64::decode_to_vec(encoded, None).map_err(|error| invalid(&error))?;
    // Bytes 2..4 name the key derivation; zero means the key is stored unencrypted. The
    // `minisign` tool (`-G -W`) leaves the checksum of such keys empty, which the `minisign`
    // crate's box reader refuses, so unencrypted keys are read from their bytes; signing
    // below checks the key against its own public half instead.
    let key = if bytes.get(2..4) == Some(&[0, 0][..]) {
        SecretKey::from_bytes(&bytes).map_err(|error| invalid(&error))?
    } else {
        let password = password()?;
        SecretKeyBox::from_string(text)
            .and_then(|boxed| boxed.into_secret_key(Some(password)))
            .map_err(|error| format!("cannot decrypt the secret key: {error}"))?
    };
    let public = PublicKey::from_secret_key(&key).map_err(|error| invalid(&error))?;
    let key_id = key_id(key.keynum());
    Ok(SigningKey {
        key,
        public,
        key_id,
    })
}

/// The trusted comment binding a bundle: `threatpack-bundle pack=… version=… tier=… sha256=…`.
pub fn trusted_comment(manifest: &BundleManifest, bundle_sha256_hex: &str) -> String {
    format!(
        "{TRUSTED_COMMENT_TAG} pack={} version={} tier={} sha256={bundle_sha256_hex}",
        manifest.pack,
        manifest.version,
        manifest.tier.as_deref().unwrap_or("all")
    )
}

/// What a trusted comment binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub pack: String,
    pub version: String,
    pub tier: String,
    pub sha256: String,
}

impl Binding {
    fn parse(comment: &str) -> Option<Binding> {
        let mut words = comment.split_whitespace();
        if words.next()? != TRUSTED_COMMENT_TAG {
            return None;
        }
        let mut fields = std::collections::BTreeMap::new();
        for word in words {
            let (key, value) = word.split_once('=')?;
            fields.insert(key, value);
        }
        Some(Binding {
            pack: fields.get("pack")?.to_string(),
            version: fields.get("version")?.to_string(),
            tier: fields.get("tier")?.to_string(),
            sha256: fields.get("sha256")?.to_string(),
        })
    }

    fn describe(&self) -> String {
        format!("`{}` {} (tier {})", self.pack, self.version, self.tier)
    }
}

/// Signs a bundle; returns the `.minisig` text.
pub fn sign_bundle(
    bundle: &[u8],
    manifest: &BundleManifest,
    key: &SigningKey,
) -> Result<String, String> {
    let comment = trusted_comment(manifest, &crate::digest::sha256_hex(bundle));
    let untrusted = format!("signature from threatpack key {}", key.key_id);
    // Given the public half, `sign` also verifies what it made: a damaged key fails here.
    let signature = minisign::sign(
        Some(&key.public),
        &key.key,
        bundle,
        Some(&comment),
        Some(&untrusted),
    )
    .map_err(|error| format!("cannot sign: {error}"))?;
    Ok(signature.into_string())
}

/// A public key the caller trusts.
pub struct TrustedKey {
    pub key_id: String,
    key: minisign_verify::PublicKey,
}

/// Reads public keys: minisign `.pub` files (comment line + base64), or bare base64 lines, any
/// number of them in one text. `#` lines and `untrusted comment:` lines are skipped.
pub fn parse_public_keys(text: &str) -> Result<Vec<TrustedKey>, String> {
    let mut keys = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("untrusted comment:") {
            continue;
        }
        let key = minisign_verify::PublicKey::from_base64(line)
            .map_err(|error| format!("line {}: not a minisign public key: {error}", number + 1))?;
        let boxed = PublicKeyBox::from_string(&format!("untrusted comment: key\n{line}\n"))
            .and_then(PublicKeyBox::into_public_key)
            .map_err(|error| format!("line {}: not a minisign public key: {error}", number + 1))?;
        keys.push(TrustedKey {
            key_id: key_id(boxed.keynum()),
            key,
        });
    }
    if keys.is_empty() {
        return Err("no public key in it".to_string());
    }
    Ok(keys)
}

/// A signature that verified: who signed, and what it binds.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key_id: String,
    pub binding: Binding,
}

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Malformed(String),
    UntrustedKey {
        key_id: String,
        trusted: Vec<String>,
    },
    Legacy,
    /// The signature was made for other bytes: another bundle.
    SignedForOther {
        signed: String,
        bundle: String,
    },
    /// The signature names this bundle, but the bytes changed after signing.
    Tampered {
        signed: String,
        actual: String,
    },
    /// The signature does not verify at all (corrupted, or the comment was edited).
    Invalid,
    /// The trusted comment does not bind a bundle.
    Unbound(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Malformed(error) => write!(f, "not a minisign signature: {error}"),
            VerifyError::UntrustedKey { key_id, trusted } => write!(
                f,
                "signed by key {key_id}, which is not trusted (trusted: {})",
                trusted.join(", ")
            ),
            VerifyError::Legacy => write!(
                f,
                "a legacy (non-prehashed) minisign signature: sign again with `threatpack sign` or `minisign -S`"
            ),
            VerifyError::SignedForOther { signed, bundle } => write!(
                f,
                "the signature is for {signed}, not for this bundle, {bundle}: a signature was swapped or the bundle is not the one signed"
            ),
            VerifyError::Tampered { signed, actual } => write!(
                f,
                "the bundle was modified after it was signed: it signed sha256 {signed}, the file is sha256 {actual}"
            ),
            VerifyError::Invalid => write!(
                f,
                "the signature does not verify: it is corrupted, or its trusted comment was edited"
            ),
            VerifyError::Unbound(comment) => write!(
                f,
                "the signature's trusted comment `{comment}` does not bind a bundle; sign with `threatpack sign`, or pass `-t \"$(threatpack inspect BUNDLE --trusted-comment)\"` to `minisign -S`"
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies a detached signature over a bundle's bytes against the trusted keys, and checks
/// that what it binds is this bundle (`manifest` as read from it, when it could be read).
pub fn verify_bundle(
    bundle: &[u8],
    manifest: Option<&BundleManifest>,
    signature_text: &str,
    trusted: &[TrustedKey],
) -> Result<Verified, VerifyError> {
    let signature = minisign_verify::Signature::decode(signature_text)
        .map_err(|error| VerifyError::Malformed(error.to_string()))?;
    let signer = SignatureBox::from_string(signature_text)
        .map(|boxed| key_id(boxed.keynum()))
        .map_err(|error| VerifyError::Malformed(error.to_string()))?;
    let Some(key) = trusted.iter().find(|key| key.key_id == signer) else {
        return Err(VerifyError::UntrustedKey {
            key_id: signer,
            trusted: trusted.iter().map(|key| key.key_id.clone()).collect(),
        });
    };
    let actual = crate::digest::sha256_hex(bundle);
    let claimed = Binding::parse(signature.trusted_comment());
    let this_bundle = manifest.map(|manifest| Binding {
        pack: manifest.pack.clone(),
        version: manifest.version.clone(),
        tier: manifest.tier.clone().unwrap_or_else(|| "all".to_string()),
        sha256: actual.clone(),
    });
    if let Err(error) = key.key.verify(bundle, &signature, false) {
        if matches!(error, minisign_verify::Error::UnexpectedAlgorithm) {
            return Err(VerifyError::Legacy);
        }
        // Not verified: the comment only helps to say what went wrong.
        return Err(match (claimed, this_bundle) {
            (Some(claimed), Some(this)) if claimed.sha256 != actual => {
                if (&claimed.pack, &claimed.version, &claimed.tier)
                    != (&this.pack, &this.version, &this.tier)
                {
                    VerifyError::SignedForOther {
                        signed: claimed.describe(),
                        bundle: this.describe(),
                    }
                } else {
                    VerifyError::Tampered {
                        signed: claimed.sha256,
                        actual,
                    }
                }
            }
            (Some(claimed), None) if claimed.sha256 != actual => VerifyError::Tampered {
                signed: claimed.sha256,
                actual,
            },
            _ => VerifyError::Invalid,
        });
    }
    let Some(binding) = claimed else {
        return Err(VerifyError::Unbound(
            signature.trusted_comment().to_string(),
        ));
    };
    if binding.sha256 != actual {
        return Err(VerifyError::Tampered {
            signed: binding.sha256,
            actual,
        });
    }
    if let Some(this) = this_bundle
        && (&binding.pack, &binding.version, &binding.tier)
            != (&this.pack, &this.version, &this.tier)
    {
        return Err(VerifyError::SignedForOther {
            signed: binding.describe(),
            bundle: this.describe(),
        });
    }
    Ok(Verified {
        key_id: signer,
        binding,
    })
}
