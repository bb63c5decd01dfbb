//! The transparency log's storage in SQLite: each entry's bytes (`log_entries`) and the tree's
//! stored hashes (`log_hashes`, tlog_tiles' numbering), appended in the transaction of the
//! change the entry records, so the log and the registry's state never disagree.

use rusqlite::{Connection, OptionalExtension, params};
use threatpack::transparency::log::{self, Entry, Event, Hash, HashReader, TreeError};

use super::StoreError;
use threatpack::time::format_rfc3339;

/// The schema (one migration): an entry's kind, subject (pack or namespace) and object
/// (version, key id or owner) are kept beside its bytes so that a version's publish entry, or
/// a key's removal, is found by an index lookup.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE log_entries (
    id INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    object TEXT NOT NULL
);
CREATE INDEX log_entries_by_subject ON log_entries (kind, subject, object);
CREATE TABLE log_hashes (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);
"#;

/// The most entries one read returns.
pub const MAX_ENTRIES_PER_READ: u64 = 1000;

fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("transparency log: {error}"))
}

/// Reads stored hashes from the database (inside a transaction too: `Transaction` derefs to
/// `Connection`).
struct SqliteHashes<'a>(&'a Connection);

impl HashReader for SqliteHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TreeError> {
        let mut statement = self
            .0
            .prepare_cached("SELECT hash FROM log_hashes WHERE id = ?1")
            .map_err(|_| TreeError::IndexesNotInTree)?;
        indexes
            .iter()
            .map(|&index| {
                let index = i64::try_from(index).map_err(|_| TreeError::IndexesNotInTree)?;
                let bytes: Vec<u8> = statement
                    .query_row([index], |row| row.get(0))
                    .map_err(|_| TreeError::IndexesNotInTree)?;
                <[u8; 32]>::try_from(bytes)
                    .map(Hash)
                    .map_err(|_| TreeError::MalformedHash)
            })
            .collect()
    }
}

/// The number of entries.
pub(super) fn size(connection: &Connection) -> Result<u64, StoreError> {
    let count: i64 = connection
        .query_row("SELECT COUNT(*) FROM log_entries", [], |row| row.get(0))
        .map_err(internal)?;
    u64::try_from(count).map_err(internal)
}

/// Appends an entry recorded at `at` (Unix seconds); returns its index. Call inside the
/// transaction of the change it records.
pub(super) fn append(connection: &Connection, event: Event, at: i64) -> Result<u64, StoreError> {
    let index = size(connection)?;
    let (kind, subject, object) = match &event {
        Event::Publish { pack, version, .. } => ("publish", pack, version),
        Event::Yank { pack, version, .. } => ("yank", pack, version),
        Event::Unyank { pack, version } => ("unyank", pack, version),
        Event::KeyAdd { namespace, key_id } => ("key-add", namespace, key_id),
        Event::KeyRemove { namespace, key_id } => ("key-remove", namespace, key_id),
        Event::OwnerAdd { namespace, owner } => ("owner-add", namespace, owner),
        Event::OwnerRemove { namespace, owner } => ("owner-remove", namespace, owner),
    };
    let bytes = Entry {
        event: event.clone(),
        time: format_rfc3339(at),
    }
    .encode();
    // What we write must be what every reader parses: never append an entry it would refuse.
    Entry::parse(&bytes).map_err(internal)?;
    let hashes = log::stored_hashes(index, &bytes, &SqliteHashes(connection)).map_err(internal)?;
    let first = log::stored_hash_count(index);
    let mut insert = connection
        .prepare_cached("INSERT INTO log_hashes (id, hash) VALUES (?1, ?2)")
        .map_err(internal)?;
    for (offset, hash) in hashes.iter().enumerate() {
        let id = i64::try_from(first + offset as u64).map_err(internal)?;
        insert.execute(params![id, &hash.0[..]]).map_err(internal)?;
    }
    connection
        .execute(
            "INSERT INTO log_entries (id, entry, kind, subject, object) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                i64::try_from(index).map_err(internal)?,
                bytes,
                kind,
                subject,
                object
            ],
        )
        .map_err(internal)?;
    Ok(index)
}

/// The size and root hash of the log now.
pub(super) fn head(connection: &Connection) -> Result<(u64, Hash), StoreError> {
    let size = size(connection)?;
    let root = log::tree_hash(size, &SqliteHashes(connection)).map_err(internal)?;
    Ok((size, root))
}

/// Entries `start..start + count` (fewer at the end of the log; at most
/// `MAX_ENTRIES_PER_READ`).
pub(super) fn entries(
    connection: &Connection,
    start: u64,
    count: u64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let count = count.min(MAX_ENTRIES_PER_READ);
    // Past any log SQLite can hold: nothing there.
    let Ok(start) = i64::try_from(start) else {
        return Ok(Vec::new());
    };
    let end = start.saturating_add(i64::try_from(count).map_err(internal)?);
    let mut statement = connection
        .prepare_cached("SELECT entry FROM log_entries WHERE id >= ?1 AND id < ?2 ORDER BY id")
        .map_err(internal)?;
    statement
        .query_map(params![start, end], |row| row.get(0))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)
}

/// The proof that entry `index` is in the log's first `size` entries.
pub(super) fn inclusion(
    connection: &Connection,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, StoreError> {
    check_size(connection, size)?;
    log::prove_inclusion(size, index, &SqliteHashes(connection)).map_err(StoreError::NotFound)
}

/// The proof that the first `from` entries are a prefix of the first `to`.
pub(super) fn consistency(
    connection: &Connection,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, StoreError> {
    check_size(connection, to)?;
    log::prove_consistency(from, to, &SqliteHashes(connection)).map_err(StoreError::NotFound)
}

fn check_size(connection: &Connection, size: u64) -> Result<(), StoreError> {
    let current = self::size(connection)?;
    if size > current {
        return Err(StoreError::NotFound(format!(
            "the log has {current} entries, fewer than {size}"
        )));
    }
    Ok(())
}

/// The index of the first `kind` entry about `subject` and `object` (`first`), or the last.
pub(super) fn find(
    connection: &Connection,
    kind: &str,
    subject: &str,
    object: &str,
    first: bool,
) -> Result<Option<u64>, StoreError> {
    let query = if first {
        "SELECT MIN(id) FROM log_entries WHERE kind = ?1 AND subject = ?2 AND object = ?3"
    } else {
        "SELECT MAX(id) FROM log_entries WHERE kind = ?1 AND subject = ?2 AND object = ?3"
    };
    let index: Option<i64> = connection
        .query_row(query, params![kind, subject, object], |row| row.get(0))
        .optional()
        .map_err(internal)?
        .flatten();
    index.map(u64::try_from).transpose().map_err(internal)
}

/// A version as `backfill` reads it.
struct StoredVersion {
    pack: String,
    version: String,
    sha256: String,
    signer: String,
    published_at: i64,
    yanked: bool,
    yank_reason: Option<String>,
}

/// Writes the log of a registry that kept none: one entry per event of its history, oldest
/// first (namespace owners and keys, then each version's publish and, for a yanked one, its
/// yank), each with the time the database recorded (the owner and the yank: the time of this
/// call). Only when the log is empty; returns how many entries were written.
pub(super) fn backfill(connection: &Connection, now: i64) -> Result<u64, StoreError> {
    if size(connection)? > 0 {
        return Ok(0);
    }
    // (time, order within the same second, event)
    let mut events: Vec<(i64, u8, Event)> = Vec::new();
    let mut statement = connection
        .prepare(
            "SELECT namespace_owners.namespace, owner, namespaces.created_at FROM namespace_owners
             JOIN namespaces ON namespaces.name = namespace_owners.namespace",
        )
        .map_err(internal)?;
    let owners: Vec<(String, String, i64)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for (namespace, owner, at) in owners {
        events.push((at, 0, Event::OwnerAdd { namespace, owner }));
    }
    // A key is logged as added no later than the first version it signed: a key restored
    // after a removal has its restore time as `added_at`, but it signed those versions.
    let mut statement = connection
        .prepare(
            "SELECT namespace, key_id,
                 MIN(added_at, COALESCE((SELECT MIN(versions.published_at) FROM versions
                     JOIN packs ON packs.name = versions.pack
                     WHERE packs.namespace = publisher_keys.namespace
                       AND versions.signer_key_id = publisher_keys.key_id), added_at)),
                 removed_at
             FROM publisher_keys",
        )
        .map_err(internal)?;
    let keys: Vec<(String, String, i64, Option<i64>)> = statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for (namespace, key_id, added_at, removed_at) in keys {
        events.push((
            added_at,
            1,
            Event::KeyAdd {
                namespace: namespace.clone(),
                key_id: key_id.clone(),
            },
        ));
        if let Some(removed_at) = removed_at {
            events.push((removed_at, 3, Event::KeyRemove { namespace, key_id }));
        }
    }
    let mut statement = connection
        .prepare(
            "SELECT pack, version, sha256, signer_key_id, published_at, yanked, yank_reason
             FROM versions",
        )
        .map_err(internal)?;
    let versions: Vec<StoredVersion> = statement
        .query_map([], |row| {
            Ok(StoredVersion {
                pack: row.get(0)?,
                version: row.get(1)?,
                sha256: row.get(2)?,
                signer: row.get(3)?,
                published_at: row.get(4)?,
                yanked: row.get(5)?,
                yank_reason: row.get(6)?,
            })
        })
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for stored in versions {
        events.push((
            stored.published_at,
            2,
            Event::Publish {
                pack: stored.pack.clone(),
                version: stored.version.clone(),
                sha256: stored.sha256,
                signer: stored.signer,
            },
        ));
        if stored.yanked {
            events.push((
                now,
                4,
                Event::Yank {
                    pack: stored.pack,
                    version: stored.version,
                    reason_sha256: threatpack::digest::sha256_hex(
                        stored.yank_reason.unwrap_or_default().as_bytes(),
                    ),
                },
            ));
        }
    }
    // Stable: same-second events keep the database's order, so the backfill is repeatable.
    events.sort_by_key(|(at, order, _)| (*at, *order));
    let mut written = 0;
    for (at, _, event) in events {
        // Rows the database holds but an entry refuses (written before names were checked as
        // they are now) are left out rather than stop the registry; `log verify` reports them.
        if Entry::parse(
            &Entry {
                event: event.clone(),
                time: format_rfc3339(at),
            }
            .encode(),
        )
        .is_err()
        {
            continue;
        }
        append(connection, event, at)?;
        written += 1;
    }
    Ok(written)
}
