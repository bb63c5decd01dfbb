//! The signed envelope of an index answer (TUF's timestamp and snapshot roles, kept simple):
//! a signed note, carried base64-encoded in the `Threatpack-Index-Note` header of every index
//! answer (200 and 304), whose text is
//!
//! ```text
//! threatpack index v1
//! origin <origin>
//! pack <namespace/name>
//! sequence <n>
//! expires <RFC 3339 UTC, seconds>
//! body sha256:<hex of the exact index body bytes>
//! ```
//!
//! The registry signs it (`IndexEnvelope::sign`); the client checks it (`check_index`), a pure
//! function of the answer, the pinned key, what the client saw before and the time, which
//! returns what to refuse and why.

use ct_codecs::{Base64, Decoder, Encoder};

use super::key::{KeyError, MAX_NOTE_BYTES, NoteError, RegistryKey, verify_note, vkey_id};
use crate::time::{format_rfc3339, parse_rfc3339};

/// The first line of an index envelope.
pub const ENVELOPE_HEADER: &str = "threatpack index v1";

/// What an index envelope states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEnvelope {
    pub origin: String,
    /// `namespace/name`.
    pub pack: String,
    /// Grows with every change to what the pack's index shows.
    pub sequence: u64,
    /// Unix seconds after which the envelope must not be trusted.
    pub expires: i64,
    /// The sha256 of the index body, in hex.
    pub body_sha256: String,
}

impl IndexEnvelope {
    /// The note's text.
    pub fn text(&self) -> String {
        format!(
            "{ENVELOPE_HEADER}\norigin {}\npack {}\nsequence {}\nexpires {}\nbody sha256:{}\n",
            self.origin,
            self.pack,
            self.sequence,
            format_rfc3339(self.expires),
            self.body_sha256
        )
    }

    /// The text signed by `key`, base64-encoded for the header.
    pub fn sign(&self, key: &RegistryKey) -> Result<String, KeyError> {
        let note = key.sign_note(&self.text())?;
        Base64::encode_to_string(note).map_err(|error| KeyError::Sign(error.to_string()))
    }

    /// Reads a note's text (already verified); `None` unless it is exactly the form above.
    pub fn parse(text: &str) -> Option<IndexEnvelope> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != ENVELOPE_HEADER {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .map(str::to_string)
        };
        let origin = field("origin")?;
        let pack = field("pack")?;
        let sequence = field("sequence")?;
        let expires = field("expires")?;
        let body = field("body")?;
        if lines.next().is_some() {
            return None;
        }
        let body_sha256 = body.strip_prefix("sha256:")?.to_string();
        let is_hex = body_sha256.len() == 64
            && body_sha256
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        // Canonical numbers only: the text is compared as signed, so `07` must not pass for 7.
        let sequence_number: u64 = sequence.parse().ok()?;
        if !is_hex || sequence_number.to_string() != sequence {
            return None;
        }
        Some(IndexEnvelope {
            origin,
            pack,
            sequence: sequence_number,
            expires: parse_rfc3339(&expires)?,
            body_sha256,
        })
    }
}

/// What a client expects of an index answer.
#[derive(Debug, Clone, Copy)]
pub struct IndexExpectation<'a> {
    /// The registry's URL, for messages.
    pub registry: &'a str,
    /// The pinned registry key (vkey).
    pub vkey: &'a str,
    /// `namespace/name` asked for.
    pub pack: &'a str,
    /// The highest sequence seen before for the pack (lockfile, cache), if any.
    pub seen_sequence: Option<u64>,
    /// Unix seconds now.
    pub now: i64,
    /// Accept an expired envelope (an offline mirror); the caller warns.
    pub allow_expired: bool,
}

/// Why an index answer was refused. Each message says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexRefusal {
    #[error(
        "the index of `{pack}` from {registry} carries no signed envelope, but the registry's key `{key}` is pinned: something between you and the registry removed it, or this is not the registry you pinned\n  help: check the registry URL and your network path (a proxy?); if the registry really stopped signing, its operator must fix it"
    )]
    Missing {
        pack: String,
        registry: String,
        key: String,
    },
    #[error(
        "the index envelope of `{pack}` from {registry} is not a valid signed note ({reason}): the answer was altered in transit or the registry is broken\n  help: retry; if it persists, report it to the registry's operator"
    )]
    Malformed {
        pack: String,
        registry: String,
        reason: String,
    },
    #[error(
        "the index of `{pack}` from {registry} is {problem}, not by the registry key you pinned (`{pinned}`): someone other than the registry answered, or the registry's key was replaced without a signed rotation\n  help: do not trust this answer; if the registry's operator confirms a new key, pin it with `[trust.registries]` in threatpack.toml (docs/security.md) and run again"
    )]
    WrongKey {
        pack: String,
        registry: String,
        problem: String,
        pinned: String,
    },
    #[error(
        "the registry {registry} answered the index of `{asked}` with an envelope for {answered} (mix-and-match): the answer was swapped in transit or by a proxy\n  help: do not trust this answer; retry, and report it to the registry's operator if it persists"
    )]
    OtherPack {
        asked: String,
        answered: String,
        registry: String,
    },
    #[error(
        "the index body of `{pack}` from {registry} does not match its signed envelope (sha256:{actual}, signed sha256:{signed}): the index was altered in transit\n  help: do not trust this answer; retry, and report it to the registry's operator if it persists"
    )]
    BodyMismatch {
        pack: String,
        registry: String,
        actual: String,
        signed: String,
    },
    #[error(
        "the index of `{pack}` from {registry} has sequence {answered}, older than sequence {seen} you already saw (rollback): an old index is being replayed, hiding newer versions or yanks\n  help: do not trust this answer; retry later or from another network; if the registry's operator restored an old backup, they must publish again (or raise the sequences) before clients accept it"
    )]
    Rollback {
        pack: String,
        registry: String,
        answered: u64,
        seen: u64,
    },
    #[error(
        "the index of `{pack}` from {registry} expired at {expires} (freeze): a stale answer is being replayed, or you reach a mirror that stopped updating, or your clock is wrong\n  help: retry later or from another network and check your clock; to use an offline mirror knowingly, pass `--allow-expired-index`"
    )]
    Expired {
        pack: String,
        registry: String,
        expires: String,
    },
}

/// A checked index envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedIndex {
    pub envelope: IndexEnvelope,
    /// Expired but accepted (`allow_expired`): the caller must warn.
    pub expired: bool,
}

/// Checks an index answer: `note_header` (the header's value, if any) must be a note signed by
/// the pinned key for this origin and pack, whose body hash is `body`'s, whose sequence is not
/// below the one seen, and which has not expired.
pub fn check_index(
    note_header: Option<&[u8]>,
    body: &[u8],
    expected: &IndexExpectation<'_>,
) -> Result<CheckedIndex, IndexRefusal> {
    let pack = expected.pack.to_string();
    let registry = expected.registry.to_string();
    let malformed = |reason: String| IndexRefusal::Malformed {
        pack: pack.clone(),
        registry: registry.clone(),
        reason,
    };
    let Some(header) = note_header else {
        return Err(IndexRefusal::Missing {
            pack,
            registry,
            key: vkey_id(expected.vkey).to_string(),
        });
    };
    // Base64 is 4/3 of the note: cap before decoding.
    if header.len() > MAX_NOTE_BYTES * 4 / 3 + 4 {
        return Err(malformed(format!("{} bytes of header", header.len())));
    }
    let note = Base64::decode_to_vec(header, None)
        .map_err(|_| malformed("the header is not base64".to_string()))?;
    let text = match verify_note(&note, expected.vkey) {
        Ok(text) => text,
        Err(NoteError::WrongKey { found, .. }) => {
            return Err(IndexRefusal::WrongKey {
                pack,
                registry,
                problem: format!("signed by {found}"),
                pinned: vkey_id(expected.vkey).to_string(),
            });
        }
        Err(NoteError::BadSignature { .. }) => {
            return Err(IndexRefusal::WrongKey {
                pack,
                registry,
                problem: "signed with a signature that does not verify".to_string(),
                pinned: vkey_id(expected.vkey).to_string(),
            });
        }
        Err(error) => return Err(malformed(error.to_string())),
    };
    let envelope = IndexEnvelope::parse(&text)
        .ok_or_else(|| malformed("not a `threatpack index v1` envelope".to_string()))?;
    let origin = super::key::vkey_origin(expected.vkey);
    if envelope.pack != expected.pack || envelope.origin != origin {
        return Err(IndexRefusal::OtherPack {
            asked: pack,
            answered: if envelope.origin == origin {
                format!("`{}`", envelope.pack)
            } else {
                format!("`{}` of origin `{}`", envelope.pack, envelope.origin)
            },
            registry,
        });
    }
    let actual = crate::digest::sha256_hex(body);
    if actual != envelope.body_sha256 {
        return Err(IndexRefusal::BodyMismatch {
            pack,
            registry,
            actual,
            signed: envelope.body_sha256,
        });
    }
    if let Some(seen) = expected.seen_sequence
        && envelope.sequence < seen
    {
        return Err(IndexRefusal::Rollback {
            pack,
            registry,
            answered: envelope.sequence,
            seen,
        });
    }
    let expired = envelope.expires <= expected.now;
    if expired && !expected.allow_expired {
        return Err(IndexRefusal::Expired {
            pack,
            registry,
            expires: format_rfc3339(envelope.expires),
        });
    }
    Ok(CheckedIndex { envelope, expired })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_662_800; // 2026-12-07T17:00:00Z

    fn key(seed: u8) -> RegistryKey {
        RegistryKey::from_seed("registry.example.com", &[seed; 32]).expect("a key")
    }

    fn envelope(body: &[u8], sequence: u64) -> IndexEnvelope {
        IndexEnvelope {
            origin: "registry.example.com".to_string(),
            pack: "acme/web".to_string(),
            sequence,
            expires: NOW + 86_400,
            body_sha256: crate::digest::sha256_hex(body),
        }
    }

    fn expect<'a>(vkey: &'a str, seen: Option<u64>) -> IndexExpectation<'a> {
        IndexExpectation {
            registry: "http://registry",
            vkey,
            pack: "acme/web",
            seen_sequence: seen,
            now: NOW,
            allow_expired: false,
        }
    }

    fn check(
        header: &str,
        body: &[u8],
        expected: &IndexExpectation<'_>,
    ) -> Result<CheckedIndex, IndexRefusal> {
        check_index(Some(header.as_bytes()), body, expected)
    }

    #[test]
    fn the_text_is_the_documented_form_and_parses_back() {
        let envelope = envelope(b"{}", 7);
        assert_eq!(
            envelope.text(),
            format!(
                "threatpack index v1\norigin registry.example.com\npack acme/web\nsequence 7\nexpires 2026-12-08T17:00:00Z\nbody sha256:{}\n",
                crate::digest::sha256_hex(b"{}")
            )
        );
        assert_eq!(
            IndexEnvelope::parse(&envelope.text()),
            Some(envelope.clone())
        );
        for bad in [
            envelope.text().replace("sequence 7", "sequence 07"),
            envelope.text().replace("sequence 7", "sequence -7"),
            envelope.text().replace("index v1", "index v2"),
            envelope.text() + "extra\n",
            envelope.text().replace("sha256:", "sha512:"),
            envelope.text().replace("17:00:00Z", "17:00:00+01:00"),
            envelope.text().trim_end().to_string(),
        ] {
            assert_eq!(IndexEnvelope::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_valid_answer_passes_and_each_attack_is_refused_by_name() {
        let registry = key(1);
        let vkey = registry.vkey();
        let body = b"{\"name\":\"acme/web\",\"versions\":[]}";
        let header = envelope(body, 5).sign(&registry).expect("signs");
        let checked = check(&header, body, &expect(vkey, Some(5))).expect("valid");
        assert_eq!((checked.envelope.sequence, checked.expired), (5, false));

        // Missing.
        let refusal = check_index(None, body, &expect(vkey, None)).expect_err("missing");
        assert!(matches!(refusal, IndexRefusal::Missing { .. }));
        // Garbage.
        let refusal = check("!!!", body, &expect(vkey, None)).expect_err("garbage");
        assert!(matches!(refusal, IndexRefusal::Malformed { .. }));
        // Arbitrary body.
        let refusal = check(&header, b"{}", &expect(vkey, None)).expect_err("swapped body");
        assert!(matches!(refusal, IndexRefusal::BodyMismatch { .. }));
        // Rollback.
        let refusal = check(&header, body, &expect(vkey, Some(6))).expect_err("rollback");
        assert!(
            refusal
                .to_string()
                .contains("sequence 5, older than sequence 6")
        );
        // Wrong key.
        let forged = envelope(body, 9).sign(&key(2)).expect("signs");
        let refusal = check(&forged, body, &expect(vkey, None)).expect_err("wrong key");
        assert!(
            matches!(refusal, IndexRefusal::WrongKey { .. }),
            "{refusal}"
        );
        // Mix-and-match: another pack's envelope, and another origin's.
        let mut other = envelope(body, 5);
        other.pack = "acme/api".to_string();
        let refusal = check(
            &other.sign(&registry).expect("signs"),
            body,
            &expect(vkey, None),
        )
        .expect_err("other pack");
        assert!(
            refusal
                .to_string()
                .contains("with an envelope for `acme/api`")
        );
        // Freeze, and the offline-mirror escape.
        let mut stale = envelope(body, 5);
        stale.expires = NOW - 1;
        let stale = stale.sign(&registry).expect("signs");
        let refusal = check(&stale, body, &expect(vkey, None)).expect_err("expired");
        assert!(
            refusal
                .to_string()
                .contains("expired at 2026-12-07T16:59:59Z (freeze)")
        );
        let allowed = IndexExpectation {
            allow_expired: true,
            ..expect(vkey, None)
        };
        assert!(check(&stale, body, &allowed).expect("allowed").expired);
        // Endless data in the header.
        let huge = "A".repeat(MAX_NOTE_BYTES * 2);
        assert!(matches!(
            check(&huge, body, &expect(vkey, None)),
            Err(IndexRefusal::Malformed { .. })
        ));
    }
}
