//! `threatpack log verify`: a monitor of a registry's transparency log. It reads the signed
//! checkpoint (checked against the registry key and the last checkpoint this machine saw of
//! that log), downloads every entry in ranges, recomputes the tree, replays the entries (a
//! version published twice with other bytes, a version signed by a key its namespace did not
//! hold), and checks every version of every index against the log.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Connection, Hints, RegistryError, RegistryOptions};
use crate::client::cache::Cache;
use crate::client::http::Request;
use crate::client::log::LogChecker;
use crate::render::visible;
use crate::transparency::RegistryKey;
use crate::transparency::log::{Entry, Event, MemoryHashes, encode_hash};
use crate::wire::{Index, LOG_ENTRIES_PER_PAGE, LogEntries, SearchAnswer};

#[derive(Debug, Clone)]
pub struct LogVerifyOptions {
    pub registry: RegistryOptions,
    /// The registry key (a note verifier key) to check the checkpoint with; else the one the
    /// cache pinned for the registry (`client::registry_key`), else the key the registry names.
    pub key: Option<String>,
    /// Where the last checkpoint seen of each log is kept.
    pub cache: Cache,
    /// Witness mode: when the log verifies with no problem, its checkpoint is cosigned with
    /// this key (`LogReport::cosigned_checkpoint`).
    pub witness: Option<RegistryKey>,
}

/// What the monitor found. `problems` empty: the log is consistent with what it saw before,
/// its checkpoint is signed and matches its entries, and every index agrees with it.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    pub registry: String,
    pub origin: String,
    pub size: u64,
    /// Base64 root hash of the checkpoint.
    pub root: String,
    /// Entries by kind (`publish`, `yank`, ...).
    pub entries: BTreeMap<String, u64>,
    pub packs_checked: u64,
    pub versions_checked: u64,
    /// Versions logged after the checkpoint was read (checked on the next run).
    pub versions_newer_than_checkpoint: u64,
    pub problems: Vec<String>,
    /// Witness mode: the checkpoint, signed by the registry and by the witness key, when no
    /// problem was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cosigned_checkpoint: Option<String>,
}

/// A publish as the log records it.
struct Published {
    index: u64,
    sha256: String,
    signer: String,
}

/// Runs the monitor. Operational failures (unreachable registry, unreadable answers, a
/// checkpoint that is not signed or not consistent with the last one seen) are errors; what
/// the log and indexes disagree on is in the report's `problems`.
pub fn verify_log(options: &LogVerifyOptions) -> Result<LogReport, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let registry = connection.url.clone();
    let checker = LogChecker::new(options.cache.clone());
    // `--key`, else the key this machine pinned for the registry, else the registry's own.
    let key = options
        .key
        .clone()
        .or_else(|| options.cache.read_registry_key(&registry));
    let (checkpoint, note) = checker
        .fetch_signed_checkpoint(&connection.client, key.as_deref())
        .map_err(RegistryError::Invalid)?
        .ok_or_else(|| {
            RegistryError::Invalid(format!(
                "{registry} keeps no transparency log (no checkpoint)"
            ))
        })?;
    let mut report = LogReport {
        registry: registry.clone(),
        origin: checkpoint.origin.clone(),
        size: checkpoint.size,
        root: encode_hash(&checkpoint.root),
        entries: BTreeMap::new(),
        packs_checked: 0,
        versions_checked: 0,
        versions_newer_than_checkpoint: 0,
        problems: Vec::new(),
        cosigned_checkpoint: None,
    };
    let mut tree = MemoryHashes::new();
    let mut published: BTreeMap<(String, String), Published> = BTreeMap::new();
    // Keys each namespace holds, as the log replays.
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    let mut start = 0;
    while start < checkpoint.size {
        let count = LOG_ENTRIES_PER_PAGE.min(checkpoint.size - start);
        let path = format!("/log/entries?start={start}&count={count}");
        let (_, page) = connection
            .call::<LogEntries>(&Request::new("GET", &path), Hints::needs("read access"))?;
        if page.start != start || page.entries.is_empty() || page.entries.len() as u64 > count {
            return Err(RegistryError::Unexpected {
                status: 200,
                detail: format!(
                    "asked for log entries {start}..{}, got {} from {}",
                    start + count,
                    page.entries.len(),
                    page.start
                ),
            });
        }
        for text in &page.entries {
            let index = tree.size();
            tree.append(text.as_bytes())
                .map_err(RegistryError::Invalid)?;
            match Entry::parse(text.as_bytes()) {
                Ok(entry) => replay(index, &entry, &mut published, &mut keys, &mut report),
                Err(problem) => report.problems.push(format!(
                    "log entry {index} cannot be read: {}",
                    visible(&problem)
                )),
            }
        }
        start += page.entries.len() as u64;
    }
    let root = tree.root().map_err(RegistryError::Invalid)?;
    if root != checkpoint.root {
        report.problems.push(format!(
            "the {} entries served do not hash to the signed checkpoint's root: the registry serves entries other than the ones it signed",
            checkpoint.size
        ));
    }
    check_indexes(&connection, &published, checkpoint.size, &mut report)?;
    if let Some(witness) = &options.witness
        && report.problems.is_empty()
    {
        let cosigned = witness.cosign_note(&note).map_err(|error| {
            RegistryError::Invalid(format!("cannot cosign the checkpoint: {error}"))
        })?;
        report.cosigned_checkpoint = Some(String::from_utf8_lossy(&cosigned).into_owned());
    }
    Ok(report)
}

/// Applies one entry to the replayed state, noting what no honest registry logs.
fn replay(
    index: u64,
    entry: &Entry,
    published: &mut BTreeMap<(String, String), Published>,
    keys: &mut BTreeSet<(String, String)>,
    report: &mut LogReport,
) {
    let kind = match &entry.event {
        Event::Publish {
            pack,
            version,
            sha256,
            signer,
        } => {
            let namespace = entry.event.namespace().to_string();
            if !keys.contains(&(namespace.clone(), signer.clone())) {
                report.problems.push(format!(
                    "log entry {index}: `{pack}` {version} is signed by key {signer}, which `{namespace}` did not hold at that point of the log"
                ));
            }
            let key = (pack.clone(), version.clone());
            match published.get(&key) {
                Some(first) if first.sha256 != *sha256 => report.problems.push(format!(
                    "`{pack}` {version} was replaced: log entry {} published sha256:{}, log entry {index} sha256:{sha256}",
                    first.index, first.sha256
                )),
                Some(first) => report.problems.push(format!(
                    "`{pack}` {version} is published twice (log entries {} and {index}), with the same bytes",
                    first.index
                )),
                None => {
                    published.insert(
                        key,
                        Published {
                            index,
                            sha256: sha256.clone(),
                            signer: signer.clone(),
                        },
                    );
                }
            }
            "publish"
        }
        Event::Yank { .. } => "yank",
        Event::Unyank { .. } => "unyank",
        Event::KeyAdd { namespace, key_id } => {
            keys.insert((namespace.clone(), key_id.clone()));
            "key-add"
        }
        Event::KeyRemove { namespace, key_id } => {
            keys.remove(&(namespace.clone(), key_id.clone()));
            "key-remove"
        }
        Event::OwnerAdd { .. } => "owner-add",
        Event::OwnerRemove { .. } => "owner-remove",
    };
    *report.entries.entry(kind.to_string()).or_default() += 1;
}

/// Every version of every pack (the registry's list and the log's) against the log.
fn check_indexes(
    connection: &Connection<'_>,
    published: &BTreeMap<(String, String), Published>,
    size: u64,
    report: &mut LogReport,
) -> Result<(), RegistryError> {
    let mut packs: BTreeSet<String> = published.keys().map(|(pack, _)| pack.clone()).collect();
    let mut page = 1;
    loop {
        let path = format!("/packs?q=&page={page}&per_page=100");
        let (_, answer) = connection
            .call::<SearchAnswer>(&Request::new("GET", &path), Hints::needs("read access"))?;
        let listed = answer.packs.len();
        packs.extend(answer.packs.into_iter().map(|hit| hit.name));
        if listed < 100 {
            break;
        }
        page += 1;
    }
    let mut indexed: BTreeSet<(String, String)> = BTreeSet::new();
    for pack in &packs {
        let path = format!("/packs/{pack}");
        let (_, index) =
            connection.call::<Index>(&Request::new("GET", &path), Hints::needs("read access"))?;
        report.packs_checked += 1;
        for version in &index.versions {
            let label = format!("`{pack}` {}", visible(&version.version));
            indexed.insert((pack.clone(), version.version.clone()));
            if version.log_index.is_some_and(|index| index >= size) {
                report.versions_newer_than_checkpoint += 1;
                continue;
            }
            report.versions_checked += 1;
            let Some(logged) = published.get(&(pack.clone(), version.version.clone())) else {
                report.problems.push(format!(
                    "{label} is in the index but not in the log: clients that check the log refuse it, and monitors never saw it"
                ));
                continue;
            };
            if version.digest.strip_prefix("sha256:") != Some(logged.sha256.as_str()) {
                report.problems.push(format!(
                    "{label} was replaced: the index serves {}, the log (entry {}) recorded sha256:{}",
                    visible(&version.digest),
                    logged.index,
                    logged.sha256
                ));
            }
            if !version.signer_key_id.eq_ignore_ascii_case(&logged.signer) {
                report.problems.push(format!(
                    "{label}: the index names signer {}, the log (entry {}) {}",
                    visible(&version.signer_key_id),
                    logged.index,
                    logged.signer
                ));
            }
            if version.log_index != Some(logged.index) {
                report.problems.push(format!(
                    "{label}: the index names log entry {:?}, the log published it at entry {}",
                    version.log_index, logged.index
                ));
            }
        }
    }
    for ((pack, version), logged) in published {
        if !indexed.contains(&(pack.clone(), version.clone())) {
            report.problems.push(format!(
                "`{pack}` {version} is in the log (entry {}) but no longer in the index: versions are never deleted",
                logged.index
            ));
        }
    }
    Ok(())
}
