//! The registry key: one Ed25519 key per registry, separate from publisher keys, that signs
//! C2SP signed notes (c2sp.org/signed-note, the format of Go's checksum database).
//!
//! Its private form is Go's note signer key `PRIVATE+KEY+<origin>+<key id>+<base64(0x01 ||
//! seed)>`, its public form the note verifier key `<origin>+<key id>+<base64(0x01 || public
//! key)>` (a "vkey"); the key id is the first 4 bytes of sha256(origin || "\n" || 0x01 ||
//! public key). The origin names the registry in every note it signs.

use ct_codecs::{Base64, Decoder, Encoder};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

/// Ed25519, the only note signature algorithm.
const ALGORITHM_ED25519: u8 = 1;

/// The longest origin accepted: it is repeated in every signature line.
pub const MAX_ORIGIN_CHARS: usize = 100;

/// The largest signed note accepted before parsing: an index envelope or a rotation statement
/// is a few hundred bytes.
pub const MAX_NOTE_BYTES: usize = 16 * 1024;

/// The first line of a key rotation statement.
pub const ROTATION_HEADER: &str = "threatpack registry key rotation v1";

/// A registry's signing key, parsed and ready to sign.
#[derive(Clone)]
pub struct RegistryKey {
    origin: String,
    private_text: String,
    vkey: String,
    signer: StandardSigner,
}

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "`{0}` is not a registry origin: 1 to {MAX_ORIGIN_CHARS} printable ASCII characters without spaces or `+`, e.g. `registry.example.com`"
    )]
    Origin(String),
    #[error(
        "not a registry private key: expected one line `PRIVATE+KEY+<origin>+<key id>+<base64>` (Go's note signer key)"
    )]
    Format,
    #[error("no random source: {0}")]
    Random(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// Why a signed note was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("`{0}` is not a registry key (expected `<origin>+<key id>+<base64>`)")]
    Vkey(String),
    #[error("not a signed note: {0}")]
    Malformed(String),
    #[error("a signature by `{key}` does not verify: the note was altered or forged")]
    BadSignature { key: String },
    #[error("not signed by the registry key `{expected}`; signed by {found}")]
    WrongKey { expected: String, found: String },
}

impl std::fmt::Debug for RegistryKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key: a `{:?}` may end up in a log.
        formatter
            .debug_struct("RegistryKey")
            .field("vkey", &self.vkey)
            .finish_non_exhaustive()
    }
}

impl RegistryKey {
    /// A new key for `origin`, from the operating system's random source.
    pub fn generate(origin: &str) -> Result<RegistryKey, KeyError> {
        check_origin(origin).map_err(|_| KeyError::Origin(origin.to_string()))?;
        let mut seed = [0u8; ed25519_dalek::SECRET_KEY_LENGTH];
        getrandom::fill(&mut seed).map_err(|error| KeyError::Random(error.to_string()))?;
        RegistryKey::from_seed(origin, &seed)
    }

    /// The key for `origin` whose Ed25519 seed is `seed`.
    pub fn from_seed(
        origin: &str,
        seed: &[u8; ed25519_dalek::SECRET_KEY_LENGTH],
    ) -> Result<RegistryKey, KeyError> {
        check_origin(origin).map_err(|_| KeyError::Origin(origin.to_string()))?;
        let signing_key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = public_key_bytes(&signing_key.verifying_key());
        let mut private = vec![ALGORITHM_ED25519];
        private.extend_from_slice(seed);
        let private_text = format!(
            "PRIVATE+KEY+{origin}+{:08x}+{}",
            signed_note::key_id(origin, &public),
            base64(&private)
        );
        RegistryKey::parse(&private_text)
    }

    /// Reads a key from its private form (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<RegistryKey, KeyError> {
        let text = text.trim();
        let signer = StandardSigner::new(text).map_err(|_| KeyError::Format)?;
        let mut parts = text.splitn(5, '+');
        let (Some(_), Some(_), Some(origin), Some(_), Some(encoded)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(KeyError::Format);
        };
        check_origin(origin).map_err(|_| KeyError::Origin(origin.to_string()))?;
        let private = Base64::decode_to_vec(encoded, None).map_err(|_| KeyError::Format)?;
        let seed: &[u8; ed25519_dalek::SECRET_KEY_LENGTH] = private
            .get(1..)
            .and_then(|seed| seed.try_into().ok())
            .ok_or(KeyError::Format)?;
        let verifying_key = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key();
        Ok(RegistryKey {
            origin: origin.to_string(),
            private_text: text.to_string(),
            vkey: signed_note::new_ed25519_verifier_key(origin, &verifying_key),
            signer,
        })
    }

    /// The private form, to store (a secret: mode 0600).
    pub fn private_text(&self) -> &str {
        &self.private_text
    }

    /// The registry's origin, the name in the key and in every note it signs.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The public form clients pin: `<origin>+<key id>+<base64>`.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// `text` (lines each ending in `\n`) as a signed note: the text, a blank line and one
    /// signature line by this key.
    pub fn sign_note(&self, text: &str) -> Result<Vec<u8>, KeyError> {
        self.sign_note_with_others(text, &[])
    }

    /// `text` as a note signed by this key and `others`, in that order.
    pub fn sign_note_with_others(
        &self,
        text: &str,
        others: &[&RegistryKey],
    ) -> Result<Vec<u8>, KeyError> {
        let mut note =
            Note::new(text.as_bytes(), &[]).map_err(|error| KeyError::Sign(error.to_string()))?;
        let mut signers: Vec<&dyn signed_note::Signer> = vec![&self.signer];
        signers.extend(
            others
                .iter()
                .map(|other| &other.signer as &dyn signed_note::Signer),
        );
        note.add_sigs(&signers)
            .map_err(|error| KeyError::Sign(error.to_string()))?;
        Ok(note.to_bytes())
    }

    /// `note` (a signed note, its signatures kept) with this key's signature added: how a
    /// witness cosigns a checkpoint it has verified (`threatpack log verify --cosign`).
    pub fn cosign_note(&self, note: &[u8]) -> Result<Vec<u8>, KeyError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(KeyError::Sign("the note is too large".to_string()));
        }
        let mut parsed =
            Note::from_bytes(note).map_err(|error| KeyError::Sign(error.to_string()))?;
        parsed
            .add_sigs(&[&self.signer as &dyn signed_note::Signer])
            .map_err(|error| KeyError::Sign(error.to_string()))?;
        Ok(parsed.to_bytes())
    }

    /// The statement introducing `new` as this key's successor, signed by this (old) key and by
    /// the new one: the old key vouches for the new, the new proves it is held.
    pub fn sign_rotation(&self, new: &RegistryKey) -> Result<Vec<u8>, KeyError> {
        self.sign_note_with_others(&rotation_text(self.vkey(), new.vkey()), &[new])
    }
}

/// Checks a registry origin: 1 to `MAX_ORIGIN_CHARS` printable ASCII characters without spaces
/// or `+` (a note key name must have neither).
pub fn check_origin(origin: &str) -> Result<(), KeyError> {
    let valid = !origin.is_empty()
        && origin.len() <= MAX_ORIGIN_CHARS
        && origin
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'+');
    if valid {
        Ok(())
    } else {
        Err(KeyError::Origin(origin.escape_debug().to_string()))
    }
}

/// A fresh default origin: `threatpack-registry/<16 random hex digits>`.
pub fn random_origin() -> Result<String, KeyError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| KeyError::Random(error.to_string()))?;
    Ok(format!("threatpack-registry/{}", hex(&bytes)))
}

/// Checks that `vkey` is an Ed25519 note verifier key `<origin>+<key id>+<base64>`.
pub fn check_vkey(vkey: &str) -> Result<(), NoteError> {
    StandardVerifier::new(vkey)
        .map(|_| ())
        .map_err(|_| NoteError::Vkey(vkey.escape_debug().to_string()))
}

/// The origin a vkey names (the text before its first `+`).
pub fn vkey_origin(vkey: &str) -> &str {
    vkey.split('+').next().unwrap_or_default()
}

/// The short name of a vkey for messages: `<origin>+<key id>`.
pub fn vkey_id(vkey: &str) -> &str {
    match vkey.rmatch_indices('+').next() {
        Some((end, _)) => &vkey[..end],
        None => vkey,
    }
}

/// Verifies that `note` (at most `MAX_NOTE_BYTES`) carries a valid signature by `vkey` and
/// returns its text. Signatures by other keys are ignored, but an invalid signature by `vkey`
/// is an error.
pub fn verify_note(note: &[u8], vkey: &str) -> Result<String, NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::Malformed(format!(
            "{} bytes, more than the {MAX_NOTE_BYTES} a note may have",
            note.len()
        )));
    }
    let verifier = StandardVerifier::new(vkey).map_err(|_| NoteError::Vkey(vkey.to_string()))?;
    let parsed = Note::from_bytes(note).map_err(|error| NoteError::Malformed(error.to_string()))?;
    let verifiers = VerifierList::new(vec![Box::new(verifier)]);
    match parsed.verify(&verifiers) {
        Ok(_) => Ok(String::from_utf8_lossy(parsed.text()).into_owned()),
        Err(signed_note::NoteError::UnverifiedNote) => {
            let unverified = signers_of(note);
            Err(NoteError::WrongKey {
                expected: vkey_id(vkey).to_string(),
                found: if unverified.is_empty() {
                    "no key".to_string()
                } else {
                    unverified.join(", ")
                },
            })
        }
        Err(signed_note::NoteError::InvalidSignature { .. }) => Err(NoteError::BadSignature {
            key: vkey_id(vkey).to_string(),
        }),
        Err(error) => Err(NoteError::Malformed(error.to_string())),
    }
}

/// The text of a rotation statement from `old` to `new` (both vkeys).
pub fn rotation_text(old: &str, new: &str) -> String {
    format!("{ROTATION_HEADER}\nold {old}\nnew {new}\n")
}

/// Follows `rotations` (statements, oldest first) from the `pinned` vkey: each statement whose
/// `old` is the current key must be signed by it and by its `new` key, which becomes current.
/// Returns the newest key reached (`pinned` itself when no statement starts from it).
pub fn follow_rotations(pinned: &str, rotations: &[String]) -> Result<String, NoteError> {
    let mut current = pinned.to_string();
    for (position, statement) in rotations.iter().enumerate() {
        // A statement not starting from the current key belongs to an earlier part of the
        // chain; only a signature can move the pin.
        let Some((old, new)) = rotation_keys(statement) else {
            return Err(NoteError::Malformed(format!(
                "key rotation statement {} is not a `{ROTATION_HEADER}` note",
                position + 1
            )));
        };
        if old != current {
            continue;
        }
        let text = verify_note(statement.as_bytes(), &current)?;
        verify_note(statement.as_bytes(), &new)?;
        if text != rotation_text(&old, &new) || vkey_origin(&new) != vkey_origin(&old) {
            return Err(NoteError::Malformed(format!(
                "key rotation statement {} does not introduce a key of the same origin",
                position + 1
            )));
        }
        current = new;
    }
    Ok(current)
}

/// The `old` and `new` keys a rotation statement names, unverified.
fn rotation_keys(statement: &str) -> Option<(String, String)> {
    let (text, _) = statement.split_once("\n\n")?;
    let mut lines = text.lines();
    if lines.next()? != ROTATION_HEADER {
        return None;
    }
    let old = lines.next()?.strip_prefix("old ")?;
    let new = lines.next()?.strip_prefix("new ")?;
    Some((old.to_string(), new.to_string()))
}

/// The `<name>+<key id>` of every signature line of `note`, for messages.
fn signers_of(note: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(note);
    let Some((_, signatures)) = text.rsplit_once("\n\n") else {
        return Vec::new();
    };
    signatures
        .lines()
        .filter_map(|line| {
            let (name, encoded) = line.strip_prefix("— ")?.split_once(' ')?;
            let bytes = Base64::decode_to_vec(encoded, None).ok()?;
            let id: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
            Some(format!("`{name}+{:08x}`", u32::from_be_bytes(id)))
        })
        .collect()
}

fn public_key_bytes(key: &ed25519_dalek::VerifyingKey) -> Vec<u8> {
    let mut public = vec![ALGORITHM_ED25519];
    public.extend_from_slice(key.as_bytes());
    public
}

fn base64(bytes: &[u8]) -> String {
    Base64::encode_to_string(bytes).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's known-answer vector (golang.org/x/mod/sumdb/note, note_test.go `TestSign`),
    /// repeated in signed_note's own tests.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn key(origin: &str, seed: u8) -> RegistryKey {
        RegistryKey::from_seed(origin, &[seed; 32]).expect("a valid key")
    }

    #[test]
    fn go_known_answer_key_signature_and_verification() {
        let key = RegistryKey::parse(GO_SKEY).expect("Go's signer key");
        assert_eq!(key.vkey(), GO_VKEY);
        assert_eq!(key.origin(), "PeterNeumann");
        assert_eq!(
            key.sign_note(GO_TEXT).expect("signs"),
            GO_NOTE.as_bytes(),
            "Ed25519 is deterministic: the same bytes as Go's"
        );
        assert_eq!(verify_note(GO_NOTE.as_bytes(), GO_VKEY), Ok(GO_TEXT.into()));
        // The private form survives a round trip through `from_seed`.
        let seed = Base64::decode_to_vec("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", None)
            .expect("base64");
        let seed: [u8; 32] = seed[1..].try_into().expect("32 bytes");
        assert_eq!(
            RegistryKey::from_seed("PeterNeumann", &seed)
                .expect("key")
                .private_text(),
            GO_SKEY
        );
    }

    #[test]
    fn generated_keys_parse_back_and_sign_what_their_vkey_verifies() {
        let generated = RegistryKey::generate("registry.example.com").expect("a key");
        let parsed = RegistryKey::parse(&format!("{}\n", generated.private_text())).expect("parse");
        assert_eq!(parsed.vkey(), generated.vkey());
        assert!(generated.vkey().starts_with("registry.example.com+"));
        let note = parsed.sign_note("hello\n").expect("signs");
        assert_eq!(
            verify_note(&note, generated.vkey()),
            Ok("hello\n".to_string())
        );
        let other = RegistryKey::generate("registry.example.com").expect("a key");
        assert_ne!(other.vkey(), generated.vkey());
        assert!(!format!("{generated:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_keys_and_origins_are_refused() {
        for text in [
            "",
            "PRIVATE+KEY+a+00000000+AAAA",
            GO_VKEY,
            &GO_SKEY.replace("c74f20a3", "c74f20a4"),
        ] {
            assert!(RegistryKey::parse(text).is_err(), "{text}");
        }
        for origin in ["", "a b", "a+b", "tab\t", &"x".repeat(101), "é"] {
            assert!(check_origin(origin).is_err(), "{origin:?}");
            assert!(RegistryKey::generate(origin).is_err(), "{origin:?}");
        }
        assert!(
            random_origin()
                .expect("origin")
                .starts_with("threatpack-registry/")
        );
        check_origin(&random_origin().expect("origin")).expect("a valid origin");
    }

    #[test]
    fn verification_refuses_other_keys_altered_text_and_garbage() {
        let registry = key("registry.example.com", 1);
        let attacker = key("registry.example.com", 2);
        let note = attacker.sign_note("sequence 9\n").expect("signs");
        let error = verify_note(&note, registry.vkey()).expect_err("wrong key");
        assert!(
            matches!(&error, NoteError::WrongKey { found, .. } if found.contains(vkey_id(attacker.vkey()))),
            "{error}"
        );

        let mut altered = registry.sign_note("sequence 1\n").expect("signs");
        altered[9] = b'9';
        assert_eq!(
            verify_note(&altered, registry.vkey()),
            Err(NoteError::BadSignature {
                key: vkey_id(registry.vkey()).to_string()
            })
        );
        for garbage in [&b""[..], b"no signature\n", &vec![b'a'; MAX_NOTE_BYTES + 1]] {
            assert!(matches!(
                verify_note(garbage, registry.vkey()),
                Err(NoteError::Malformed(_))
            ));
        }
        assert!(matches!(
            verify_note(&note, "not a key"),
            Err(NoteError::Vkey(_))
        ));
    }

    #[test]
    fn rotations_are_followed_only_when_both_keys_signed() {
        let first = key("registry.example.com", 1);
        let second = key("registry.example.com", 2);
        let third = key("registry.example.com", 3);
        let chain = [
            String::from_utf8(first.sign_rotation(&second).expect("signs")).expect("UTF-8"),
            String::from_utf8(second.sign_rotation(&third).expect("signs")).expect("UTF-8"),
        ];
        assert_eq!(
            follow_rotations(first.vkey(), &chain),
            Ok(third.vkey().to_string())
        );
        assert_eq!(
            follow_rotations(second.vkey(), &chain),
            Ok(third.vkey().to_string())
        );
        assert_eq!(
            follow_rotations(third.vkey(), &chain),
            Ok(third.vkey().to_string())
        );

        // A statement signed only by the new key (an attacker's) moves nothing.
        let attacker = key("registry.example.com", 4);
        let forged = String::from_utf8(
            attacker
                .sign_note(&rotation_text(first.vkey(), attacker.vkey()))
                .expect("signs"),
        )
        .expect("UTF-8");
        assert!(matches!(
            follow_rotations(first.vkey(), &[forged]),
            Err(NoteError::WrongKey { .. })
        ));
        // Nor one the new key never signed.
        let unproven = String::from_utf8(
            first
                .sign_note(&rotation_text(first.vkey(), attacker.vkey()))
                .expect("signs"),
        )
        .expect("UTF-8");
        assert!(matches!(
            follow_rotations(first.vkey(), &[unproven]),
            Err(NoteError::WrongKey { .. })
        ));
    }
}
