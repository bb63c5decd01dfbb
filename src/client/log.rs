//! The client's side of the transparency log: every version it locks or fetches must be in the
//! registry's log (an inclusion proof against a checkpoint signed by the registry key), and
//! every checkpoint it sees must extend the last one this machine saw of that registry (a
//! consistency proof; the last one is kept in the cache), so a registry that rewrites or forks
//! its history, or shows this client something it did not log, is refused.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::cache::Cache;
use super::http::{Client, Request};
use crate::render::visible;
use crate::transparency::log::{
    Checkpoint, Entry, Event, decode_proof, verify_consistency, verify_inclusion,
};
use crate::wire::{LogConsistency, LogInclusion, PublishLog};

/// The largest checkpoint note read (a checkpoint is about 100 bytes, its signatures as many).
const MAX_NOTE_BYTES: usize = 16 * 1024;

/// What a version claims, to be checked against its log entry.
#[derive(Debug, Clone)]
pub struct LoggedVersion<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// `sha256:HEX`.
    pub digest: &'a str,
    pub signer: &'a str,
    /// The index of its publish entry, as the index or the lockfile names it.
    pub log_index: Option<u64>,
    /// The index of the entry that removed its signer's key, when the index says it was.
    pub signer_key_removed_log_index: Option<u64>,
}

/// Checks versions against registries' logs; one checkpoint per registry per run (shared by
/// the threads of a fetch).
pub struct LogChecker {
    cache: Cache,
    checkpoints: Mutex<HashMap<String, Option<Checkpoint>>>,
}

impl LogChecker {
    pub fn new(cache: Cache) -> LogChecker {
        LogChecker {
            cache,
            checkpoints: Mutex::default(),
        }
    }

    /// Checks that `version` is logged by the registry `client` talks to, as published with
    /// its digest and signer, and not signed by a key after its removal. Returns its log
    /// index; `None` for a registry that keeps no log (one that serves no checkpoint and has
    /// no pinned key).
    ///
    /// `key`: the registry key pinned for it (`client::registry_key`); `None`: the key the
    /// registry names.
    pub fn check(
        &self,
        client: &Client,
        key: Option<&str>,
        version: &LoggedVersion<'_>,
    ) -> Result<Option<u64>, String> {
        let registry = client.registry();
        let label = format!("`{}` {}", version.name, visible(version.version));
        let Some(checkpoint) = self.checkpoint(client, key)? else {
            // A registry without a log names no entries; one that names them and serves no
            // checkpoint is hiding its log (or something between is).
            return match version.log_index {
                None => Ok(None),
                Some(index) => Err(format!(
                    "{registry} names log entry {index} for {label} but serves no checkpoint of its transparency log: refusing it"
                )),
            };
        };
        let Some(index) = version.log_index else {
            return Err(format!(
                "{registry} keeps a transparency log but names no log entry for {label}: it may be hiding the version from monitors; refusing it\n  help: report this to the registry's operators, or lock another version"
            ));
        };
        if index >= checkpoint.size {
            return Err(format!(
                "{registry} names log entry {index} for {label}, but its signed checkpoint has {} entries: refusing it",
                checkpoint.size
            ));
        }
        let path = format!(
            "/log/proof/inclusion?index={index}&size={}",
            checkpoint.size
        );
        let proof: LogInclusion = get_json(client, &path, "the inclusion proof")?;
        if proof.index != index || proof.size != checkpoint.size {
            return Err(format!(
                "{registry} answered an inclusion proof for another entry or size than {label}'s"
            ));
        }
        let hashes = decode_proof(&proof.hashes).map_err(|problem| {
            format!("the inclusion proof of {label} from {registry}: {problem}")
        })?;
        verify_inclusion(&hashes, checkpoint.size, checkpoint.root, index, proof.entry.as_bytes())
            .map_err(|problem| {
                format!("{label} is not in {registry}'s signed log: {problem}; refusing it\n  help: the registry shows you something it did not log; report it, and run `threatpack log verify --registry {registry}`")
            })?;
        let entry = Entry::parse(proof.entry.as_bytes())
            .map_err(|problem| format!("log entry {index} of {registry}: {problem}"))?;
        check_entry(&entry, version).map_err(|problem| {
            format!("{registry}'s log entry {index} does not record {label} as the index shows it: {problem}; refusing it\n  help: the version was replaced or the index altered; run `threatpack log verify --registry {registry}`")
        })?;
        if let Some(removal) = version.signer_key_removed_log_index
            && index > removal
        {
            return Err(format!(
                "{label} is signed by key {}, and was published (log entry {index}) after that key was removed (log entry {removal}): refusing it\n  help: a removed key may be in other hands; ask the publisher for a version signed by a current key",
                visible(version.signer)
            ));
        }
        Ok(Some(index))
    }

    /// The registry's checkpoint now, verified, and consistent with the last one seen; kept
    /// in the cache. `None` when the registry keeps no log.
    pub fn checkpoint(
        &self,
        client: &Client,
        key: Option<&str>,
    ) -> Result<Option<Checkpoint>, String> {
        let registry = client.registry().to_string();
        if let Ok(seen) = self.checkpoints.lock()
            && let Some(checkpoint) = seen.get(&registry)
        {
            return Ok(checkpoint.clone());
        }
        let checkpoint = self.fetch_checkpoint(client, key)?;
        if let Ok(mut seen) = self.checkpoints.lock() {
            seen.insert(registry, checkpoint.clone());
        }
        Ok(checkpoint)
    }

    /// Reads the registry's checkpoint, verifies it with `key` (else the pinned key, else the
    /// key the registry names), checks it extends the last one seen of that log, and keeps it.
    pub fn fetch_checkpoint(
        &self,
        client: &Client,
        key: Option<&str>,
    ) -> Result<Option<Checkpoint>, String> {
        Ok(self
            .fetch_signed_checkpoint(client, key)?
            .map(|(checkpoint, _)| checkpoint))
    }

    /// `fetch_checkpoint`, with the signed note as served.
    pub fn fetch_signed_checkpoint(
        &self,
        client: &Client,
        key: Option<&str>,
    ) -> Result<Option<(Checkpoint, Vec<u8>)>, String> {
        let registry = client.registry();
        let pinned = key.map(str::to_string);
        let response = client.send(&Request::new("GET", "/log/checkpoint"))?;
        if response.status == 404 && pinned.is_none() {
            return Ok(None);
        }
        if response.status != 200 {
            return Err(format!(
                "cannot read the transparency log's checkpoint from {registry} ({}): {}",
                response.status,
                response.detail()
            ));
        }
        if response.body.len() > MAX_NOTE_BYTES {
            return Err(format!(
                "{registry}'s checkpoint is {} bytes, more than the {MAX_NOTE_BYTES} a checkpoint may have",
                response.body.len()
            ));
        }
        let key = match pinned {
            Some(key) => key,
            None => first_use_key(client)?,
        };
        let checkpoint = open_checkpoint(&response.body, &key).map_err(|problem| {
            format!("the checkpoint of {registry}'s transparency log: {problem}; refusing it")
        })?;
        let path = self.checkpoint_path(&checkpoint.origin);
        // The last checkpoint seen was verified when it was kept; it is read back unverified
        // when the key no longer verifies it (a key changed since), so that a new key cannot
        // erase what was seen.
        let previous = crate::workspace::read_capped(&path, MAX_NOTE_BYTES as u64)
            .ok()
            .and_then(|note| {
                open_checkpoint(&note, &key)
                    .ok()
                    .or_else(|| note_text(&note).and_then(|text| Checkpoint::parse(text).ok()))
            });
        if let Some(previous) = &previous {
            check_extends(client, previous, &checkpoint)?;
        }
        if previous
            .as_ref()
            .is_none_or(|previous| previous.size < checkpoint.size)
        {
            crate::workspace::write_atomically(&path, &response.body, 0o644)?;
        }
        Ok(Some((checkpoint, response.body)))
    }

    /// Where the latest checkpoint seen of the log `origin` is kept: the signed note itself,
    /// verified again when read. By origin, not URL: two addresses serving one log (mirrors,
    /// or a registry showing different clients different views) must show one history.
    pub fn checkpoint_path(&self, origin: &str) -> PathBuf {
        let name: String = origin
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        // The hash keeps origins that differ only in punctuation apart.
        let hash = crate::digest::sha256_hex(origin.as_bytes());
        self.cache
            .root()
            .join("log")
            .join(format!("{name}-{}.checkpoint", &hash[..16]))
    }
}

/// Checks where a publish answer says the version was logged: its checkpoint signed by the
/// registry key, its entry recording the version, its inclusion proof leading to the
/// checkpoint's root.
pub fn check_publish_log(
    client: &Client,
    key: Option<&str>,
    log: &PublishLog,
    version: &LoggedVersion<'_>,
) -> Result<(), String> {
    let registry = client.registry();
    let key = match key {
        Some(key) => key.to_string(),
        None => first_use_key(client)?,
    };
    let problem = |problem: String| {
        format!(
            "{registry} published `{}` {}, but its log receipt is wrong: {problem}\n  help: report it; run `threatpack log verify --registry {registry}`",
            version.name,
            visible(version.version)
        )
    };
    let checkpoint = open_checkpoint(log.checkpoint.as_bytes(), &key)
        .map_err(|error| problem(format!("the checkpoint: {error}")))?;
    if checkpoint.size != log.tree_size {
        return Err(problem("the checkpoint is for another size".to_string()));
    }
    let hashes = decode_proof(&log.inclusion_proof).map_err(problem)?;
    verify_inclusion(
        &hashes,
        checkpoint.size,
        checkpoint.root,
        log.index,
        log.entry.as_bytes(),
    )
    .map_err(problem)?;
    let entry = Entry::parse(log.entry.as_bytes()).map_err(problem)?;
    check_entry(&entry, version).map_err(problem)
}

/// Verifies a checkpoint note with the registry key `key` and parses it; its origin must be
/// the key's.
pub fn open_checkpoint(note: &[u8], key: &str) -> Result<Checkpoint, String> {
    let text = crate::transparency::verify_note(note, key).map_err(|error| error.to_string())?;
    let checkpoint = Checkpoint::parse(text.as_bytes())?;
    let origin = crate::transparency::key::vkey_origin(key);
    if checkpoint.origin != origin {
        return Err(format!(
            "it is for the log `{}`, not `{origin}`",
            visible(&checkpoint.origin)
        ));
    }
    Ok(checkpoint)
}

/// The text of a signed note, unverified: everything before the blank line.
fn note_text(note: &[u8]) -> Option<&[u8]> {
    note.windows(2)
        .position(|window| window == b"\n\n")
        .map(|at| &note[..=at])
}

/// Checks that `newer` extends `older` (equal sizes need equal roots; a smaller one is a
/// rollback).
pub fn check_extends(
    client: &Client,
    older: &Checkpoint,
    newer: &Checkpoint,
) -> Result<(), String> {
    let registry = client.registry();
    let forked = |problem: String| {
        format!(
            "{registry}'s transparency log is not the one seen before: {problem}; refusing it\n  help: the registry (or something between it and you) shows different histories to different clients; report it with both checkpoints (the old one is in the cache's `log/` directory), and run `threatpack log verify --registry {registry}`"
        )
    };
    if newer.size < older.size {
        return Err(forked(format!(
            "it has {} entries, fewer than the {} seen before",
            newer.size, older.size
        )));
    }
    if newer.size == older.size {
        return if newer.root == older.root {
            Ok(())
        } else {
            Err(forked(format!(
                "two different roots for the same {} entries",
                newer.size
            )))
        };
    }
    if older.size == 0 {
        return Ok(());
    }
    let path = format!(
        "/log/proof/consistency?from={}&to={}",
        older.size, newer.size
    );
    let proof: LogConsistency = get_json(client, &path, "the consistency proof")?;
    if proof.from != older.size || proof.to != newer.size {
        return Err(forked(
            "the consistency proof is for other sizes".to_string(),
        ));
    }
    let hashes = decode_proof(&proof.hashes).map_err(forked)?;
    verify_consistency(&hashes, older.size, older.root, newer.size, newer.root).map_err(forked)
}

/// How an entry must record `version`.
fn check_entry(entry: &Entry, version: &LoggedVersion<'_>) -> Result<(), String> {
    let Event::Publish {
        pack,
        version: logged_version,
        sha256,
        signer,
    } = &entry.event
    else {
        return Err("it is not a publish entry".to_string());
    };
    if pack != version.name || logged_version != version.version {
        return Err(format!("it records `{pack}` {logged_version}"));
    }
    if version.digest.strip_prefix("sha256:") != Some(sha256.as_str()) {
        return Err(format!("it records the digest sha256:{sha256}"));
    }
    if !signer.eq_ignore_ascii_case(version.signer) {
        return Err(format!("it records the signer {signer}"));
    }
    Ok(())
}

fn get_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    path: &str,
    what: &str,
) -> Result<T, String> {
    let response = client.send(&Request::new("GET", path))?;
    if response.status != 200 {
        return Err(format!(
            "cannot read {what} from {} ({}): {}",
            client.registry(),
            response.status,
            response.detail()
        ));
    }
    response.json()
}

/// The key the registry says it has (`GET /api/v1/registry/key`), for a registry whose key is
/// not pinned.
fn first_use_key(client: &Client) -> Result<String, String> {
    let info: crate::wire::RegistryKeyInfo = get_json(client, "/registry/key", "the registry key")?;
    Ok(info.key)
}
