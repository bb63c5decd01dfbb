//! The transparency log: its entries (canonical text, parsed strictly), the RFC 6962 Merkle tree
//! over them (`tlog_tiles`, Go's sumdb/tlog ported), checkpoints, and proof checking.
//!
//! The registry appends an entry for every publish, yank, unyank, publisher key change and owner
//! change; clients check inclusion and consistency proofs against signed checkpoints; the
//! monitor (`threatpack log verify`) recomputes the whole tree. All of them use this module.

use ct_codecs::{Base64, Decoder, Encoder};
use tlog_tiles::tlog;

/// What a `HashReader` returns when it cannot read a hash.
pub use tlog_tiles::tlog::Error as TreeError;
pub use tlog_tiles::{Hash, HashReader};

/// The first line of every entry.
pub const ENTRY_HEADER: &str = "threatpack log v1";
/// The longest entry the parser reads; the registry never writes one near it.
pub const MAX_ENTRY_BYTES: usize = 2048;
/// A proof of a tree of up to 2^64 entries has at most 64 hashes (more is refused unread).
pub const MAX_PROOF_HASHES: usize = 64;
/// The longest owner (an email address) an entry holds.
const MAX_OWNER_BYTES: usize = 254;

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `pack` is `namespace/name`; `sha256` the bundle's lower-case hex digest; `signer` the
    /// minisign key id (16 upper-case hex digits).
    Publish {
        pack: String,
        version: String,
        sha256: String,
        signer: String,
    },
    /// `reason_sha256`: the sha256 (hex) of the yank reason as the index shows it.
    Yank {
        pack: String,
        version: String,
        reason_sha256: String,
    },
    Unyank {
        pack: String,
        version: String,
    },
    KeyAdd {
        namespace: String,
        key_id: String,
    },
    KeyRemove {
        namespace: String,
        key_id: String,
    },
    OwnerAdd {
        namespace: String,
        owner: String,
    },
    OwnerRemove {
        namespace: String,
        owner: String,
    },
}

/// One entry of the log: an event and when the registry recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub event: Event,
    /// RFC 3339, UTC, whole seconds: `2026-12-07T17:00:00Z`.
    pub time: String,
}

impl Entry {
    /// The canonical bytes: what the tree hashes. `parse(encode(e)) == e`, and `parse` accepts
    /// nothing `encode` would not write.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = format!("{ENTRY_HEADER}\n");
        match &self.event {
            Event::Publish {
                pack,
                version,
                sha256,
                signer,
            } => text.push_str(&format!(
                "publish {pack} {version}\ndigest sha256:{sha256}\nsigner {signer}\n"
            )),
            Event::Yank {
                pack,
                version,
                reason_sha256,
            } => text.push_str(&format!(
                "yank {pack} {version}\nreason-sha256 {reason_sha256}\n"
            )),
            Event::Unyank { pack, version } => {
                text.push_str(&format!("unyank {pack} {version}\n"));
            }
            Event::KeyAdd { namespace, key_id } => {
                text.push_str(&format!("key-add {namespace} {key_id}\n"));
            }
            Event::KeyRemove { namespace, key_id } => {
                text.push_str(&format!("key-remove {namespace} {key_id}\n"));
            }
            Event::OwnerAdd { namespace, owner } => {
                text.push_str(&format!("owner-add {namespace} {owner}\n"));
            }
            Event::OwnerRemove { namespace, owner } => {
                text.push_str(&format!("owner-remove {namespace} {owner}\n"));
            }
        }
        text.push_str(&format!("time {}\n", self.time));
        text.into_bytes()
    }

    /// Parses an entry strictly: the exact lines `encode` writes, valid names, versions,
    /// digests, key ids and time, nothing more. The error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Entry, String> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(format!(
                "the entry is {} bytes, more than the {MAX_ENTRY_BYTES} an entry may have",
                bytes.len()
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "the entry is not UTF-8".to_string())?;
        let Some(body) = text.strip_suffix('\n') else {
            return Err("the entry does not end in a newline".to_string());
        };
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.first() != Some(&ENTRY_HEADER) {
            return Err(format!("the entry does not start with `{ENTRY_HEADER}`"));
        }
        let Some(event_line) = lines.get(1) else {
            return Err("the entry has no event line".to_string());
        };
        let (kind, arguments) = event_line.split_once(' ').ok_or_else(|| {
            format!(
                "the event line `{}` has no arguments",
                event_line.escape_debug()
            )
        })?;
        let (subject, object) = arguments.split_once(' ').ok_or_else(|| {
            format!(
                "the event line `{}` needs two arguments",
                event_line.escape_debug()
            )
        })?;
        let (event, extra_lines) = match kind {
            "publish" => {
                let (pack, version) = pack_version(subject, object)?;
                let sha256 = field(&lines, 2, "digest")?
                    .strip_prefix("sha256:")
                    .ok_or("the digest is not `sha256:HEX`")?;
                check_hex64(sha256, "digest")?;
                let signer = field(&lines, 3, "signer")?;
                check_key_id(signer)?;
                (
                    Event::Publish {
                        pack,
                        version,
                        sha256: sha256.to_string(),
                        signer: signer.to_string(),
                    },
                    2,
                )
            }
            "yank" => {
                let (pack, version) = pack_version(subject, object)?;
                let reason_sha256 = field(&lines, 2, "reason-sha256")?;
                check_hex64(reason_sha256, "reason-sha256")?;
                (
                    Event::Yank {
                        pack,
                        version,
                        reason_sha256: reason_sha256.to_string(),
                    },
                    1,
                )
            }
            "unyank" => {
                let (pack, version) = pack_version(subject, object)?;
                (Event::Unyank { pack, version }, 0)
            }
            "key-add" | "key-remove" => {
                check_namespace(subject)?;
                check_key_id(object)?;
                let (namespace, key_id) = (subject.to_string(), object.to_string());
                let event = if kind == "key-add" {
                    Event::KeyAdd { namespace, key_id }
                } else {
                    Event::KeyRemove { namespace, key_id }
                };
                (event, 0)
            }
            "owner-add" | "owner-remove" => {
                check_namespace(subject)?;
                check_owner(object)?;
                let (namespace, owner) = (subject.to_string(), object.to_string());
                let event = if kind == "owner-add" {
                    Event::OwnerAdd { namespace, owner }
                } else {
                    Event::OwnerRemove { namespace, owner }
                };
                (event, 0)
            }
            other => return Err(format!("unknown event `{}`", other.escape_debug())),
        };
        let time_line = 2 + extra_lines;
        let time = field(&lines, time_line, "time")?;
        check_time(time)?;
        if lines.len() != time_line + 1 {
            return Err("the entry has lines after `time`".to_string());
        }
        Ok(Entry {
            event,
            time: time.to_string(),
        })
    }
}

impl Event {
    /// `namespace/name` for pack events, the namespace for the others.
    pub fn namespace(&self) -> &str {
        match self {
            Event::Publish { pack, .. } | Event::Yank { pack, .. } | Event::Unyank { pack, .. } => {
                pack.split_once('/')
                    .map_or(pack.as_str(), |(namespace, _)| namespace)
            }
            Event::KeyAdd { namespace, .. }
            | Event::KeyRemove { namespace, .. }
            | Event::OwnerAdd { namespace, .. }
            | Event::OwnerRemove { namespace, .. } => namespace,
        }
    }
}

/// Line `index` of an entry, which must be `NAME VALUE`; returns the value.
fn field<'a>(lines: &[&'a str], index: usize, name: &str) -> Result<&'a str, String> {
    let line = lines
        .get(index)
        .ok_or_else(|| format!("the entry has no `{name}` line"))?;
    line.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(' '))
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            format!(
                "line {} is `{}`, expected `{name} ...`",
                index + 1,
                line.escape_debug()
            )
        })
}

fn pack_version(pack: &str, version: &str) -> Result<(String, String), String> {
    crate::names::check_pack_name(pack).map_err(|problem| format!("pack `{pack}`: {problem}"))?;
    let parsed = crate::names::parse_version(version)
        .map_err(|problem| format!("version `{}`: {problem}", version.escape_debug()))?;
    if parsed.to_string() != version {
        return Err(format!("version `{version}` is not in canonical form"));
    }
    Ok((pack.to_string(), version.to_string()))
}

fn check_namespace(namespace: &str) -> Result<(), String> {
    // A namespace is valid when `namespace/x` is a valid pack name.
    crate::names::check_pack_name(&format!("{namespace}/x"))
        .map_err(|problem| format!("namespace `{}`: {problem}", namespace.escape_debug()))
}

fn check_hex64(text: &str, what: &str) -> Result<(), String> {
    if text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    {
        Ok(())
    } else {
        Err(format!("{what} is not 64 lower-case hex digits"))
    }
}

fn check_key_id(key_id: &str) -> Result<(), String> {
    if key_id.len() == 16
        && key_id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte))
    {
        Ok(())
    } else {
        Err(format!(
            "key id `{}` is not 16 upper-case hex digits",
            key_id.escape_debug()
        ))
    }
}

fn check_owner(owner: &str) -> Result<(), String> {
    if owner.is_empty()
        || owner.len() > MAX_OWNER_BYTES
        || owner
            .chars()
            .any(|character| character.is_whitespace() || character.is_control())
    {
        return Err(format!("owner `{}` is not valid", owner.escape_debug()));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, with plausible ranges (not a calendar check).
fn check_time(time: &str) -> Result<(), String> {
    let bytes = time.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    let shaped = bytes.len() == shape.len()
        && bytes
            .iter()
            .zip(shape)
            .all(|(byte, expected)| match expected {
                b'd' => byte.is_ascii_digit(),
                other => byte == other,
            });
    let number = |range: std::ops::Range<usize>| -> u32 {
        time.get(range)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(99)
    };
    if shaped
        && (1..=12).contains(&number(5..7))
        && (1..=31).contains(&number(8..10))
        && number(11..13) < 24
        && number(14..16) < 60
        && number(17..19) < 61
    {
        Ok(())
    } else {
        Err(format!(
            "time `{}` is not RFC 3339 UTC (`2026-12-07T17:00:00Z`)",
            time.escape_debug()
        ))
    }
}

/// The leaf hash of an entry's bytes: SHA-256(0x00 || bytes).
pub fn record_hash(entry: &[u8]) -> Hash {
    tlog::record_hash(entry)
}

/// The hashes to store when appending entry number `index` (0-based), given the hashes stored
/// for the entries before it. They go at `stored_hash_count(index)` onwards.
pub fn stored_hashes(
    index: u64,
    entry: &[u8],
    reader: &impl HashReader,
) -> Result<Vec<Hash>, String> {
    tlog::stored_hashes(index, entry, reader).map_err(|error| error.to_string())
}

/// How many hashes are stored for a log of `size` entries.
pub fn stored_hash_count(size: u64) -> u64 {
    tlog::stored_hash_count(size)
}

/// The root hash of the first `size` entries.
pub fn tree_hash(size: u64, reader: &impl HashReader) -> Result<Hash, String> {
    tlog::tree_hash(size, reader).map_err(|error| error.to_string())
}

/// The proof that entry `index` is in the tree of `size` entries (RFC 6962 audit path).
pub fn prove_inclusion(
    size: u64,
    index: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, String> {
    if index >= size {
        return Err(format!("entry {index} is not in a log of {size} entries"));
    }
    tlog::prove_record(size, index, reader).map_err(|error| error.to_string())
}

/// The proof that the tree of `from` entries is a prefix of the tree of `to` entries.
pub fn prove_consistency(
    from: u64,
    to: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, String> {
    if from == 0 || from > to {
        return Err(format!(
            "a consistency proof goes from 1 <= from <= to (asked {from} to {to})"
        ));
    }
    tlog::prove_tree(to, from, reader).map_err(|error| error.to_string())
}

/// Checks that `entry` is entry `index` of the tree of `size` entries whose root is `root`.
pub fn verify_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    entry: &[u8],
) -> Result<(), String> {
    if index >= size {
        return Err(format!(
            "entry {index} cannot be in a log of {size} entries"
        ));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(format!("the inclusion proof has {} hashes", proof.len()));
    }
    tlog::check_record(&proof.to_vec(), size, root, index, record_hash(entry)).map_err(|_| {
        format!("the inclusion proof of entry {index} does not lead to the root of the log of {size} entries")
    })
}

/// Checks that the tree of `from` entries (root `from_root`) is a prefix of the tree of `to`
/// entries (root `to_root`). Equal sizes need equal roots; an empty tree is a prefix of all.
pub fn verify_consistency(
    proof: &[Hash],
    from: u64,
    from_root: Hash,
    to: u64,
    to_root: Hash,
) -> Result<(), String> {
    if from > to {
        return Err(format!(
            "the log shrank from {from} to {to} entries: it was rewritten"
        ));
    }
    if from == 0 {
        return Ok(());
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(format!("the consistency proof has {} hashes", proof.len()));
    }
    tlog::check_tree(&proof.to_vec(), to, to_root, from, from_root).map_err(|_| {
        format!(
            "the log of {to} entries does not extend the log of {from} entries seen before: its history was rewritten or forked"
        )
    })
}

/// A hash as the API and checkpoints write it: standard base64.
pub fn encode_hash(hash: &Hash) -> String {
    Base64::encode_to_string(hash.0).unwrap_or_default()
}

pub fn decode_hash(text: &str) -> Result<Hash, String> {
    let bytes = Base64::decode_to_vec(text, None)
        .map_err(|_| format!("`{}` is not base64", text.escape_debug()))?;
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| format!("`{}` is not a 32-byte hash", text.escape_debug()))
}

/// Decodes a proof (at most `MAX_PROOF_HASHES` hashes).
pub fn decode_proof(hashes: &[String]) -> Result<Vec<Hash>, String> {
    if hashes.len() > MAX_PROOF_HASHES {
        return Err(format!("a proof of {} hashes is too long", hashes.len()));
    }
    hashes.iter().map(|hash| decode_hash(hash)).collect()
}

pub fn encode_proof(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(encode_hash).collect()
}

/// A tree head, as a C2SP tlog-checkpoint's text (the body of the signed note).
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// `<origin>\n<size>\n<base64 root>\n`.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_hash(&self.root)
        )
    }

    /// Parses a checkpoint's text: exactly three lines (extension lines are refused: the
    /// registry writes none, and a client should not accept what it does not understand).
    pub fn parse(text: &[u8]) -> Result<Checkpoint, String> {
        let malformed = |why: &str| format!("malformed checkpoint: {why}");
        if text.len() > 1024 {
            return Err(malformed("longer than 1024 bytes"));
        }
        let text = std::str::from_utf8(text).map_err(|_| malformed("not UTF-8"))?;
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("no final newline"))?
            .split('\n')
            .collect();
        let [origin, size, root] = lines.as_slice() else {
            return Err(malformed("not three lines (origin, size, root hash)"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        let size_value: u64 = size
            .parse()
            .map_err(|_| malformed("the size is not a number"))?;
        if size_value.to_string() != *size {
            return Err(malformed("the size is not in canonical form"));
        }
        let root = decode_hash(root).map_err(|problem| malformed(&problem))?;
        // Round trip through the crate's own parser too: what we accept, it accepts.
        tlog_tiles::Checkpoint::from_bytes(text.as_bytes())
            .map_err(|_| malformed("refused by the C2SP checkpoint parser"))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size: size_value,
            root,
        })
    }
}

/// Stored hashes in memory: what the monitor recomputes, and what tests build.
#[derive(Debug, Default, Clone)]
pub struct MemoryHashes {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryHashes {
    pub fn new() -> MemoryHashes {
        MemoryHashes::default()
    }

    /// Appends an entry; returns its index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, String> {
        let index = self.size;
        let new = stored_hashes(index, entry, self)?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(index)
    }

    /// How many entries were appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Result<Hash, String> {
        tree_hash(self.size, self)
    }

    /// Every stored hash, in tlog_tiles' numbering: what a store keeps.
    pub fn stored(&self) -> &[Hash] {
        &self.hashes
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TreeError> {
        indexes
            .iter()
            .map(|&index| {
                usize::try_from(index)
                    .ok()
                    .and_then(|index| self.hashes.get(index))
                    .copied()
                    .ok_or(TreeError::IndexesNotInTree)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use sha2::Sha256;

    fn publish() -> Entry {
        Entry {
            event: Event::Publish {
                pack: "acme/payments".to_string(),
                version: "1.2.0".to_string(),
                sha256: "ab".repeat(32),
                signer: "0123456789ABCDEF".to_string(),
            },
            time: "2026-12-07T17:00:00Z".to_string(),
        }
    }

    #[test]
    fn every_event_round_trips_through_its_canonical_text() {
        let events = [
            publish().event,
            Event::Yank {
                pack: "acme/payments".to_string(),
                version: "1.0.0-rc.1".to_string(),
                reason_sha256: "cd".repeat(32),
            },
            Event::Unyank {
                pack: "acme/payments".to_string(),
                version: "1.0.0".to_string(),
            },
            Event::KeyAdd {
                namespace: "acme".to_string(),
                key_id: "FEDCBA9876543210".to_string(),
            },
            Event::KeyRemove {
                namespace: "acme".to_string(),
                key_id: "FEDCBA9876543210".to_string(),
            },
            Event::OwnerAdd {
                namespace: "acme".to_string(),
                owner: "ana@example.com".to_string(),
            },
            Event::OwnerRemove {
                namespace: "acme".to_string(),
                owner: "bo@example.com".to_string(),
            },
        ];
        for event in events {
            let entry = Entry {
                event,
                time: "2026-01-31T23:59:59Z".to_string(),
            };
            let bytes = entry.encode();
            assert_eq!(Entry::parse(&bytes), Ok(entry));
        }
        assert_eq!(
            String::from_utf8(publish().encode()).ok(),
            Some(format!(
                "threatpack log v1\npublish acme/payments 1.2.0\ndigest sha256:{}\nsigner 0123456789ABCDEF\ntime 2026-12-07T17:00:00Z\n",
                "ab".repeat(32)
            ))
        );
    }

    /// Each mutation of a valid entry, and the start of the error it must give.
    #[test]
    fn the_parser_refuses_anything_encode_would_not_write() {
        let good = String::from_utf8(publish().encode()).unwrap_or_default();
        let cases: Vec<(String, &str)> = vec![
            (
                good.trim_end().to_string(),
                "the entry does not end in a newline",
            ),
            (good.replace("v1", "v2"), "the entry does not start with"),
            (good.replace("publish ", "publish  "), "pack ``"),
            (good.replace("publish", "destroy"), "unknown event"),
            (good.replace("acme/", "Acme/"), "pack `Acme/payments`"),
            (good.replace("1.2.0", "01.2.0"), "version `01.2.0`"),
            (
                good.replace("1.2.0", "1.2.0+build"),
                "version `1.2.0+build`",
            ),
            (good.replace("sha256:ab", "sha256:AB"), "digest is not 64"),
            (good.replace("sha256:", "sha512:"), "the digest is not"),
            (
                good.replace("0123456789ABCDEF", "0123456789abcdef"),
                "key id",
            ),
            (good.replace("17:00:00Z", "17:00:00+01:00"), "time `"),
            (good.replace("2026-12-07", "2026-13-07"), "time `"),
            (
                good.replace("\ntime", "\nextra x\ntime"),
                "line 5 is `extra x`",
            ),
            (
                format!("{good}trailer\n"),
                "the entry has lines after `time`",
            ),
            (good.replace('\n', "\r\n"), "the entry does not start with"),
            (
                format!("{good}{}", "x".repeat(MAX_ENTRY_BYTES)),
                "the entry is",
            ),
            (
                "threatpack log v1\nowner-add acme a b\ntime 2026-12-07T17:00:00Z\n".to_string(),
                "owner `a b`",
            ),
            (
                "threatpack log v1\nunyank acme/x 1.0.0\n".to_string(),
                "the entry has no `time` line",
            ),
        ];
        for (text, expected) in cases {
            match Entry::parse(text.as_bytes()) {
                Ok(entry) => panic!("accepted {text:?} as {entry:?}"),
                Err(error) => assert!(
                    error.starts_with(expected),
                    "{text:?}: {error:?} does not start with {expected:?}"
                ),
            }
        }
        assert!(Entry::parse(b"\xff\n").is_err());
    }

    fn entries(count: u64) -> Vec<Vec<u8>> {
        (0..count)
            .map(|index| {
                Entry {
                    event: Event::Unyank {
                        pack: "acme/x".to_string(),
                        version: format!("1.0.{index}"),
                    },
                    time: "2026-12-07T17:00:00Z".to_string(),
                }
                .encode()
            })
            .collect()
    }

    /// Roots and proofs agree, byte for byte, with ct-merkle (an independent RFC 6962 tree),
    /// for every size, index and pair of sizes up to 40 entries.
    #[test]
    fn tree_and_proofs_agree_with_an_independent_rfc_6962_implementation() -> Result<(), String> {
        let all = entries(40);
        let mut ours = MemoryHashes::new();
        let mut roots = vec![ours.root()?];
        for entry in &all {
            ours.append(entry)?;
            roots.push(ours.root()?);
        }
        assert_eq!(roots[0].0, tlog_tiles::tlog::EMPTY_HASH.0);
        for size in 1..=all.len() as u64 {
            let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
            for entry in &all[..size as usize] {
                theirs.push(entry.clone());
            }
            let root = roots[size as usize];
            assert_eq!(theirs.root().as_bytes().as_slice(), &root.0[..]);
            for index in 0..size {
                let proof = prove_inclusion(size, index, &ours)?;
                let flat: Vec<u8> = proof.iter().flat_map(|hash| hash.0).collect();
                assert_eq!(theirs.prove_inclusion(index as usize).as_bytes(), &flat[..]);
                verify_inclusion(&proof, size, root, index, &all[index as usize])?;
                // Another entry, or another index: refused. (The size is bound to the root by the
                // signed checkpoint, not by the path.)
                let other = &all[((index + 1) % size) as usize];
                if size > 1 {
                    assert!(verify_inclusion(&proof, size, root, index, other).is_err());
                }
                if index + 1 < size {
                    let next = &all[index as usize];
                    assert!(verify_inclusion(&proof, size, root, index + 1, next).is_err());
                }
            }
            for from in 1..=size {
                let proof = prove_consistency(from, size, &ours)?;
                let flat: Vec<u8> = proof.iter().flat_map(|hash| hash.0).collect();
                assert_eq!(
                    theirs.prove_consistency((size - from) as usize).as_bytes(),
                    &flat[..]
                );
                verify_consistency(&proof, from, roots[from as usize], size, root)?;
                if from > 1 {
                    assert!(
                        verify_consistency(&proof, from, roots[from as usize - 1], size, root)
                            .is_err()
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn a_forked_log_is_not_consistent_with_the_original() -> Result<(), String> {
        let all = entries(10);
        let (mut original, mut fork) = (MemoryHashes::new(), MemoryHashes::new());
        for entry in &all[..6] {
            original.append(entry)?;
            fork.append(entry)?;
        }
        let seen = (original.size(), original.root()?);
        for entry in &all[6..] {
            original.append(entry)?;
        }
        // The fork replaces entry 3's successors with something else.
        let mut other = MemoryHashes::new();
        for (index, entry) in all.iter().enumerate() {
            if index == 4 {
                other.append(&publish().encode())?;
            } else {
                other.append(entry)?;
            }
        }
        let proof = prove_consistency(seen.0, 10, &original)?;
        verify_consistency(&proof, seen.0, seen.1, 10, original.root()?)?;
        let forged = prove_consistency(seen.0, 10, &other)?;
        let error = verify_consistency(&forged, seen.0, seen.1, 10, other.root()?)
            .err()
            .unwrap_or_default();
        assert!(error.contains("rewritten or forked"), "{error}");
        assert!(verify_consistency(&[], 10, seen.1, 6, seen.1).is_err());
        Ok(())
    }

    #[test]
    fn hostile_proofs_are_refused_without_panicking() -> Result<(), String> {
        let mut log = MemoryHashes::new();
        for entry in entries(5) {
            log.append(&entry)?;
        }
        let root = log.root()?;
        let long = vec![root; MAX_PROOF_HASHES + 1];
        assert!(verify_inclusion(&long, 5, root, 1, b"x").is_err());
        assert!(verify_inclusion(&[], 5, root, 7, b"x").is_err());
        assert!(verify_inclusion(&[root; 9], 5, root, 1, b"x").is_err());
        assert!(verify_consistency(&long, 3, root, 5, root).is_err());
        assert!(verify_consistency(&[root; 9], u64::MAX - 1, root, u64::MAX, root).is_err());
        assert!(decode_proof(&vec!["AA==".to_string(); 65]).is_err());
        assert!(decode_hash("AA==").is_err());
        Ok(())
    }

    #[test]
    fn checkpoints_are_c2sp_text_parsed_strictly() -> Result<(), String> {
        let mut log = MemoryHashes::new();
        log.append(&publish().encode())?;
        let checkpoint = Checkpoint {
            origin: "registry.example/abc".to_string(),
            size: 1,
            root: log.root()?,
        };
        let text = checkpoint.text();
        assert_eq!(Checkpoint::parse(text.as_bytes())?, checkpoint);
        let parsed = tlog_tiles::Checkpoint::from_bytes(text.as_bytes())
            .map_err(|error| error.to_string())?;
        assert_eq!(
            (parsed.origin(), parsed.size()),
            ("registry.example/abc", 1)
        );
        for bad in [
            text.replace("\n1\n", "\n01\n"),
            text.replace("\n1\n", "\n-1\n"),
            format!("{text}extension\n"),
            text.trim_end().to_string(),
            text.replacen("registry.example/abc", "", 1),
        ] {
            assert!(Checkpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
