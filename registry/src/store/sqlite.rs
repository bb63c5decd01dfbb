//! The embedded store: SQLite (compiled in) for metadata, a `BlobDir` for bundle bytes.
//!
//! One connection behind a mutex: SQLite takes one writer at a time anyway, and holding the
//! lock from "is this version taken?" to the commit makes concurrent publishes of one version
//! come out as exactly one winner, and its baseline check (`NewVersion::versions_seen`) exact.
//! Publish journals the blob (`pending_blobs`), writes it, then commits the metadata and clears
//! the journal in one transaction, so a crash leaves either the whole version or a journaled
//! blob, removed at start (`check_at_start`); nothing the journal does not name is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use threatpack::transparency::log::{Event, Hash};
use threatpack::wire::{BumpLevel, Dependent, SemverDecision, VersionDeprecation};

use super::blobs::{BlobRead, Sidecar};
use super::log;
use super::reports::{self, LatestReport, NewReport, ReportEntry, StoredModel};
use super::{
    AuditEntry, BlobDir, IndexVersion, Namespace, NewToken, NewVersion, NotReady, PackIndex,
    PublishOutcome, PublisherKey, Release, SearchHit, Store, StoreError, TokenInfo, TokenRecord,
    is_sha256_hex,
};
use crate::tokens::Scope;
use threatpack::time::{format_rfc3339, now};

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE namespaces (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE namespace_owners (
    namespace TEXT NOT NULL REFERENCES namespaces(name),
    owner TEXT NOT NULL,
    PRIMARY KEY (namespace, owner)
);
CREATE TABLE publisher_keys (
    namespace TEXT NOT NULL REFERENCES namespaces(name),
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key_id)
);
CREATE TABLE packs (
    name TEXT PRIMARY KEY,
    namespace TEXT NOT NULL REFERENCES namespaces(name),
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE versions (
    pack TEXT NOT NULL REFERENCES packs(name),
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    dependencies TEXT NOT NULL,
    tier TEXT,
    signer_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    yanked INTEGER NOT NULL DEFAULT 0,
    yank_reason TEXT,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (pack, version)
);
CREATE INDEX versions_by_sha256 ON versions (sha256);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    scopes TEXT NOT NULL,
    namespaces TEXT NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#,
    // 2: the semantic-versioning check of each version against its baseline (JSON; NULL for
    // versions published before it existed).
    r#"
ALTER TABLE versions ADD COLUMN semver TEXT;
"#,
    // 3: revocation. A revoked token and a removed key stay as rows, for the audit trail and
    // for marking the versions a removed key signed. Every token expires now: one made to live
    // forever lives 366 days from the upgrade (`tokens::MAX_EXPIRY_SECONDS`).
    r#"
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE publisher_keys ADD COLUMN removed_at INTEGER;
UPDATE tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 31622400
    WHERE expires_at IS NULL;
"#,
    // 4: the pending-publish journal. A blob is named here (committed) before it is written,
    // and the row goes in the transaction that commits its version: at start, a row left
    // behind names a blob an interrupted publish wrote, and only such blobs are ever removed.
    r#"
CREATE TABLE pending_blobs (
    sha256 TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL
);
"#,
    // 5: signed index metadata (issue 14). Each pack's index sequence, raised in the
    // transaction of every change to what its index shows (a pack existing before counts as
    // changed once); and the registry key's rotation statements, in order.
    r#"
ALTER TABLE packs ADD COLUMN index_sequence INTEGER NOT NULL DEFAULT 1;
CREATE TABLE registry_key_rotations (
    position INTEGER PRIMARY KEY,
    statement TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    // 6: the transparency log (`super::log`); a registry with history writes it at its first
    // start after this (`log::backfill`).
    super::log::MIGRATION,
    // 7: pushed reports, projects and their weekly residual risk (`super::reports`).
    super::reports::MIGRATION,
    // 8: the weeks index covers the risk (`super::reports::weeks`).
    super::reports::WEEKS_COVERING_INDEX,
    // 9: a publisher's deprecation of a version (issue 16): its message and the version to
    // use instead; both NULL for a version that is not deprecated, as every existing one.
    r#"
ALTER TABLE versions ADD COLUMN deprecation_message TEXT;
ALTER TABLE versions ADD COLUMN deprecation_replacement TEXT;
"#,
    // 10: each project counts its reports kept (`super::reports::REPORT_COUNT`).
    super::reports::REPORT_COUNT,
];

pub struct SqliteStore {
    connection: Mutex<Connection>,
    pub(super) blobs: BlobDir,
}

pub(super) fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(error.to_string())
}

pub(super) fn audit(
    transaction: &Transaction<'_>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), actor, action, target, detail],
        )
        .map_err(internal)?;
    Ok(())
}

/// Raises the index sequence of every pack of `namespace`: a publisher key was added, removed
/// or restored, which changes how the index marks the versions it signed.
fn raise_namespace_sequences(
    transaction: &Transaction<'_>,
    namespace: &str,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "UPDATE packs SET index_sequence = index_sequence + 1 WHERE namespace = ?1",
            [namespace],
        )
        .map_err(internal)?;
    Ok(())
}

/// The owners of `namespace`, sorted; `NotFound` if there is no such namespace.
fn owners_of(connection: &Connection, namespace: &str) -> Result<Vec<String>, StoreError> {
    let known: Option<i64> = connection
        .query_row(
            "SELECT 1 FROM namespaces WHERE name = ?1",
            [namespace],
            |row| row.get(0),
        )
        .optional()
        .map_err(internal)?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("no namespace `{namespace}`")));
    }
    let mut statement = connection
        .prepare("SELECT owner FROM namespace_owners WHERE namespace = ?1 ORDER BY owner")
        .map_err(internal)?;
    statement
        .query_map([namespace], |row| row.get(0))
        .map_err(internal)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(internal)
}

/// `%text%` for LIKE, with the wildcards of `text` itself escaped (by `\`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// A column that holds JSON the store wrote, read back as its wire type.
fn from_json_column<T: serde::de::DeserializeOwned>(
    column: usize,
    text: &str,
) -> Result<T, rusqlite::Error> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

/// The columns `token_info` reads.
const TOKEN_COLUMNS: &str =
    "id, description, scopes, namespaces, expires_at, created_at, revoked_at";

fn token_info(row: &rusqlite::Row<'_>) -> Result<TokenInfo, rusqlite::Error> {
    let split = |text: String| -> Vec<String> {
        text.split(',')
            .filter(|part| !part.is_empty())
            .map(str::to_string)
            .collect()
    };
    Ok(TokenInfo {
        id: row.get(0)?,
        description: row.get(1)?,
        scopes: split(row.get(2)?),
        namespaces: split(row.get(3)?),
        expires_at: row.get::<_, Option<i64>>(4)?.map(format_rfc3339),
        created_at: format_rfc3339(row.get(5)?),
        revoked_at: row.get::<_, Option<i64>>(6)?.map(format_rfc3339),
    })
}

fn sort_versions(records: &mut [IndexVersion]) {
    records.sort_by(|a, b| {
        match (
            semver::Version::parse(&a.version),
            semver::Version::parse(&b.version),
        ) {
            (Ok(left), Ok(right)) => left.cmp(&right),
            _ => a.version.cmp(&b.version),
        }
    });
}

impl SqliteStore {
    /// Raises every pack's index sequence to at least `floor` (and by one): after a backup is
    /// restored, clients may have seen higher sequences than the backup holds, and would refuse
    /// its indexes as a rollback. Unix seconds make a floor no count of changes reaches.
    pub fn raise_index_sequences_past(&self, floor: i64) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .execute(
                "UPDATE packs SET index_sequence = MAX(index_sequence + 1, ?1)",
                [floor],
            )
            .map_err(internal)?;
        Ok(())
    }

    /// Opens (or creates) the store in `data`: `registry.sqlite3` and `blobs/`, checks the
    /// database's integrity (`PRAGMA quick_check`: a damaged database is refused, never
    /// served), and migrates the schema.
    pub fn open(data: &Path) -> Result<SqliteStore, String> {
        std::fs::create_dir_all(data)
            .map_err(|error| format!("cannot create `{}`: {error}", data.display()))?;
        let database = data.join(DATABASE_FILE);
        let mut connection = Connection::open(&database)
            .map_err(|error| format!("cannot open `{}`: {error}", database.display()))?;
        let failed = |error: rusqlite::Error| damaged(&database, &error.to_string());
        // WAL lets `threatpack-registry token create` write while the server runs; the busy
        // timeout makes either wait for the other instead of failing.
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(failed)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(failed)?;
        // A page cache of up to 64 MiB (SQLite's default is 2 MiB): the portfolio reads every
        // project's row and weeks on each request, and with the default each read is a
        // system call that copies the page again (a fifth of the portfolio's time).
        connection
            .pragma_update(None, "cache_size", -65_536)
            .map_err(failed)?;
        quick_check(&connection).map_err(|problem| damaged(&database, &problem))?;
        migrate(&mut connection).map_err(failed)?;
        backfill_log(&mut connection).map_err(|error| {
            format!(
                "cannot write the transparency log of `{}`'s history: {error}",
                database.display()
            )
        })?;
        let blobs = BlobDir::open(&data.join("blobs"))?;
        Ok(SqliteStore {
            connection: Mutex::new(connection),
            blobs,
        })
    }

    /// What must hold before serving, run by the server at start (another process might be
    /// in the middle of a publish, so nothing else runs it): temporary files and the blobs of
    /// journaled publishes that never committed are removed; a blob no version names is never
    /// deleted (adopted with `adopt_blobs`, else kept and reported); an empty database beside
    /// blobs is refused; indexed blobs that are missing are reported (refused when `strict`).
    pub fn check_at_start(&self, options: &StartOptions) -> Result<StartReport, String> {
        let mut report = StartReport {
            temporary_removed: self.blobs.clear_temporary()?,
            ..StartReport::default()
        };
        let connection = self.lock().map_err(|error| error.to_string())?;
        let referenced: BTreeMap<String, String> = {
            let mut statement = connection
                .prepare("SELECT sha256, pack || '@' || version FROM versions")
                .map_err(|error| error.to_string())?;
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(|error| error.to_string())?
                .collect::<Result<_, _>>()
                .map_err(|error| error.to_string())?
        };
        let pending: Vec<String> = {
            let mut statement = connection
                .prepare("SELECT sha256 FROM pending_blobs")
                .map_err(|error| error.to_string())?;
            statement
                .query_map([], |row| row.get(0))
                .map_err(|error| error.to_string())?
                .collect::<Result<_, _>>()
                .map_err(|error| error.to_string())?
        };
        for sha256 in &pending {
            if !referenced.contains_key(sha256) && is_sha256_hex(sha256) {
                if self.blobs.exists(sha256) {
                    report.interrupted_removed += 1;
                }
                self.blobs.remove(sha256)?;
            }
            connection
                .execute("DELETE FROM pending_blobs WHERE sha256 = ?1", [sha256])
                .map_err(|error| error.to_string())?;
        }
        let present: BTreeSet<String> = self.blobs.list()?.into_iter().collect();
        report.sidecars_written = self.write_missing_sidecars(&connection, &present)?;
        let unknown: Vec<String> = present
            .iter()
            .filter(|sha256| !referenced.contains_key(*sha256))
            .cloned()
            .collect();
        drop(connection);
        if referenced.is_empty() && !unknown.is_empty() && !options.adopt_blobs {
            return Err(format!(
                "the database has no versions, but `blobs/sha256` holds {} bundle(s): it may be new, or a copy taken without its `-wal` file; nothing was deleted\n  help: restore a backup (`threatpack-registry restore FILE --data NEWDIR`), or start once with `--adopt-blobs` to index the bundles again from their own manifests and signatures (docs/registry-data.md)",
                unknown.len()
            ));
        }
        if options.adopt_blobs {
            for sha256 in &unknown {
                match self.adopt(sha256) {
                    Ok(adopted) => report.adopted.push(adopted),
                    Err(reason) => report
                        .not_adopted
                        .push(format!("sha256:{sha256}: {reason}")),
                }
            }
        } else {
            report.unindexed_kept = unknown.len();
        }
        report.missing = referenced
            .iter()
            .filter(|(sha256, _)| !present.contains(*sha256))
            .map(|(_, version)| version.clone())
            .collect();
        report.missing.sort();
        if options.strict && !report.missing.is_empty() {
            return Err(format!(
                "{} indexed bundle(s) are missing from `blobs/sha256` ({}), and `--strict` refuses to serve without them\n  help: restore the blobs from a backup, or have each publisher republish the identical bytes, or start without `--strict` to serve the rest",
                report.missing.len(),
                listed(&report.missing)
            ));
        }
        Ok(report)
    }

    /// Writes the signature sidecar of every stored blob that lacks one, from what the
    /// database recorded at its publish (blobs published before sidecars were kept), so that
    /// every blob can be adopted again should the database be lost.
    fn write_missing_sidecars(
        &self,
        connection: &Connection,
        present: &BTreeSet<String>,
    ) -> Result<usize, String> {
        let mut statement = connection
            .prepare(
                "SELECT versions.sha256, versions.signature, versions.published_at,
                     COALESCE(publisher_keys.public_key, '')
                 FROM versions
                 JOIN packs ON packs.name = versions.pack
                 LEFT JOIN publisher_keys ON publisher_keys.namespace = packs.namespace
                     AND publisher_keys.key_id = versions.signer_key_id",
            )
            .map_err(|error| error.to_string())?;
        let rows: Vec<(String, String, i64, String)> = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .map_err(|error| error.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|error| error.to_string())?;
        let mut written = 0;
        for (sha256, signature, published_at, public_key) in rows {
            if !present.contains(&sha256) || self.blobs.has_sidecar(&sha256) {
                continue;
            }
            self.blobs.write_sidecar(
                &sha256,
                &Sidecar {
                    format: 1,
                    signature,
                    public_key,
                    published_at,
                },
            )?;
            written += 1;
        }
        Ok(written)
    }

    /// The identical bytes published again: answered as already published, and a repair
    /// when the stored blob is missing or damaged (a damaged one is quarantined first).
    fn republish(
        &self,
        connection: &Connection,
        version: &NewVersion,
        bundle: &[u8],
        actor: &str,
    ) -> Result<PublishOutcome, StoreError> {
        let stored = self
            .blobs
            .read_verified(&version.sha256)
            .map_err(StoreError::Internal)?;
        if !self.blobs.has_sidecar(&version.sha256) {
            let published_at: i64 = connection
                .query_row(
                    "SELECT published_at FROM versions WHERE pack = ?1 AND version = ?2",
                    params![version.pack, version.version],
                    |row| row.get(0),
                )
                .map_err(internal)?;
            self.write_sidecar(connection, version, published_at)?;
        }
        let repaired = match stored {
            BlobRead::Found(_) => return Ok(PublishOutcome::AlreadyPublished),
            BlobRead::Missing => "missing",
            BlobRead::Damaged => "damaged (quarantined)",
        };
        // The version names this blob already: no journal needed, it can never be an orphan.
        self.blobs
            .write(&version.sha256, bundle)
            .map_err(StoreError::Internal)?;
        connection
            .execute(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    now(),
                    actor,
                    "version.repair",
                    format!("{}@{}", version.pack, version.version),
                    format!("sha256:{} was {repaired}; the identical bytes were written again", version.sha256)
                ],
            )
            .map_err(internal)?;
        Ok(PublishOutcome::AlreadyPublished)
    }

    /// Writes `signatures/HEX.json` beside the blob: the signature and the public key of its
    /// signer, as the namespace registers it.
    fn write_sidecar(
        &self,
        connection: &Connection,
        version: &NewVersion,
        published_at: i64,
    ) -> Result<(), StoreError> {
        let public_key: String = connection
            .query_row(
                "SELECT public_key FROM publisher_keys WHERE namespace = ?1 AND key_id = ?2",
                params![version.namespace, version.signer_key_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(internal)?
            .unwrap_or_default();
        self.blobs
            .write_sidecar(
                &version.sha256,
                &Sidecar {
                    format: 1,
                    signature: version.signature.clone(),
                    public_key,
                    published_at,
                },
            )
            .map_err(StoreError::Internal)
    }

    pub(super) fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection
            .lock()
            .map_err(|_| StoreError::Internal("the store's lock is poisoned".to_string()))
    }
}

/// The database's file name in the data directory.
pub const DATABASE_FILE: &str = "registry.sqlite3";

/// How the server opens its data directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Index the blobs no version names from their own manifests and signatures.
    pub adopt_blobs: bool,
    /// Refuse to start when an indexed blob is missing.
    pub strict: bool,
}

/// What the checks at start did and found.
#[derive(Debug, Clone, Default)]
pub struct StartReport {
    pub temporary_removed: usize,
    /// Signature sidecars written for blobs stored before registries kept them.
    pub sidecars_written: usize,
    /// Blobs written by publishes that never committed (the journal says so).
    pub interrupted_removed: usize,
    /// Blobs no version names, kept where they are (`--adopt-blobs` indexes them).
    pub unindexed_kept: usize,
    /// `pack@version` of each blob indexed again.
    pub adopted: Vec<String>,
    /// Why each blob that could not be adopted was kept as it is.
    pub not_adopted: Vec<String>,
    /// `pack@version` of each indexed version whose blob is missing.
    pub missing: Vec<String>,
}

/// `PRAGMA quick_check`: `Err` with what SQLite found when the database is damaged.
pub fn quick_check(connection: &Connection) -> Result<(), String> {
    let mut statement = connection
        .prepare("PRAGMA quick_check")
        .map_err(|error| error.to_string())?;
    let problems: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(|error| error.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|error| error.to_string())?;
    if problems.iter().all(|problem| problem == "ok") {
        Ok(())
    } else {
        Err(problems.into_iter().take(5).collect::<Vec<_>>().join("; "))
    }
}

/// Names for a message: the first 20, then how many more.
pub fn listed(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

fn damaged(database: &Path, problem: &str) -> String {
    format!(
        "the database `{}` is damaged ({problem}); the registry will not serve from it\n  help: stop, keep a copy of the whole data directory, and restore the latest backup (`threatpack-registry restore FILE --data NEWDIR`, docs/registry-data.md)",
        database.display()
    )
}

/// A registry that kept no log yet gets one entry per event of its history (`log::backfill`),
/// in one transaction that no other writer can interleave with.
fn backfill_log(connection: &mut Connection) -> Result<u64, StoreError> {
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(internal)?;
    let written = log::backfill(&transaction, now())?;
    transaction.commit().map_err(internal)?;
    Ok(written)
}

fn migrate(connection: &mut Connection) -> Result<(), rusqlite::Error> {
    // The version is read inside a write transaction: two processes opening the same data at
    // once (the server and `threatpack-registry token create`) take turns, and the second
    // sees what the first applied instead of applying it again.
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let applied: usize = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (number, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", number + 1)?;
    }
    transaction.commit()
}

impl Store for SqliteStore {
    fn create_namespace(
        &self,
        name: &str,
        owners: &[String],
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let inserted = transaction
            .execute(
                "INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?1, ?2)",
                params![name, now()],
            )
            .map_err(internal)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "namespace `{name}` already exists"
            )));
        }
        for owner in owners {
            let inserted = transaction
                .execute(
                    "INSERT OR IGNORE INTO namespace_owners (namespace, owner) VALUES (?1, ?2)",
                    params![name, owner],
                )
                .map_err(internal)?;
            if inserted > 0 {
                log::append(
                    &transaction,
                    Event::OwnerAdd {
                        namespace: name.to_string(),
                        owner: owner.clone(),
                    },
                    now(),
                )?;
            }
        }
        audit(
            &transaction,
            actor,
            "namespace.create",
            name,
            &format!("owners: {}", owners.join(", ")),
        )?;
        transaction.commit().map_err(internal)
    }

    fn namespace(&self, name: &str) -> Result<Option<Namespace>, StoreError> {
        let connection = self.lock()?;
        let created_at: Option<i64> = connection
            .query_row(
                "SELECT created_at FROM namespaces WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map_err(internal)?;
        let Some(created_at) = created_at else {
            return Ok(None);
        };
        let owners = owners_of(&connection, name)?;
        Ok(Some(Namespace {
            name: name.to_string(),
            owners,
            created_at: format_rfc3339(created_at),
        }))
    }

    fn add_owner(&self, namespace: &str, owner: &str, actor: &str) -> Result<bool, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        owners_of(&transaction, namespace)?;
        let inserted = transaction
            .execute(
                "INSERT OR IGNORE INTO namespace_owners (namespace, owner) VALUES (?1, ?2)",
                params![namespace, owner],
            )
            .map_err(internal)?;
        if inserted == 0 {
            return Ok(false);
        }
        audit(&transaction, actor, "owner.add", namespace, owner)?;
        log::append(
            &transaction,
            Event::OwnerAdd {
                namespace: namespace.to_string(),
                owner: owner.to_string(),
            },
            now(),
        )?;
        transaction.commit().map_err(internal)?;
        Ok(true)
    }

    fn remove_owner(&self, namespace: &str, owner: &str, actor: &str) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        // Counted and deleted in one transaction: two removals at once cannot both pass the
        // "not the last owner" check.
        let transaction = connection.transaction().map_err(internal)?;
        let owners = owners_of(&transaction, namespace)?;
        if !owners.iter().any(|known| known == owner) {
            return Err(StoreError::NotFound(format!(
                "`{owner}` is not an owner of namespace `{namespace}` (owners: {})",
                owners.join(", ")
            )));
        }
        if owners.len() == 1 {
            return Err(StoreError::Conflict(format!(
                "`{owner}` is the last owner of namespace `{namespace}`, and a namespace keeps at least one: add another owner first"
            )));
        }
        transaction
            .execute(
                "DELETE FROM namespace_owners WHERE namespace = ?1 AND owner = ?2",
                params![namespace, owner],
            )
            .map_err(internal)?;
        audit(&transaction, actor, "owner.remove", namespace, owner)?;
        log::append(
            &transaction,
            Event::OwnerRemove {
                namespace: namespace.to_string(),
                owner: owner.to_string(),
            },
            now(),
        )?;
        transaction.commit().map_err(internal)
    }

    fn add_key(
        &self,
        namespace: &str,
        key_id: &str,
        public_key: &str,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let known: Option<(String, Option<i64>)> = transaction
            .query_row(
                "SELECT public_key, removed_at FROM publisher_keys
                 WHERE namespace = ?1 AND key_id = ?2",
                params![namespace, key_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(internal)?;
        match known {
            Some((known_key, _)) if known_key != public_key => {
                return Err(StoreError::Conflict(format!(
                    "namespace `{namespace}` already has a key with id {key_id} and other bytes: a key id names one key; generate a new key pair"
                )));
            }
            Some((_, None)) => return Ok(false),
            Some((_, Some(_))) => {
                transaction
                    .execute(
                        "UPDATE publisher_keys SET removed_at = NULL, added_at = ?3
                         WHERE namespace = ?1 AND key_id = ?2",
                        params![namespace, key_id, now()],
                    )
                    .map_err(internal)?;
                audit(&transaction, actor, "key.restore", namespace, key_id)?;
            }
            None => {
                transaction
                    .execute(
                        "INSERT INTO publisher_keys (namespace, key_id, public_key, added_at)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![namespace, key_id, public_key, now()],
                    )
                    .map_err(internal)?;
                audit(&transaction, actor, "key.add", namespace, key_id)?;
            }
        }
        log::append(
            &transaction,
            Event::KeyAdd {
                namespace: namespace.to_string(),
                key_id: key_id.to_string(),
            },
            now(),
        )?;
        raise_namespace_sequences(&transaction, namespace)?;
        transaction.commit().map_err(internal)?;
        Ok(true)
    }

    fn remove_key(&self, namespace: &str, key_id: &str, actor: &str) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let changed = transaction
            .execute(
                "UPDATE publisher_keys SET removed_at = ?3
                 WHERE namespace = ?1 AND key_id = ?2 AND removed_at IS NULL",
                params![namespace, key_id, now()],
            )
            .map_err(internal)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "namespace `{namespace}` has no key {key_id}"
            )));
        }
        audit(&transaction, actor, "key.remove", namespace, key_id)?;
        log::append(
            &transaction,
            Event::KeyRemove {
                namespace: namespace.to_string(),
                key_id: key_id.to_string(),
            },
            now(),
        )?;
        raise_namespace_sequences(&transaction, namespace)?;
        transaction.commit().map_err(internal)
    }

    fn keys(&self, namespace: &str) -> Result<Vec<PublisherKey>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(
                "SELECT key_id, public_key, added_at FROM publisher_keys
                 WHERE namespace = ?1 AND removed_at IS NULL ORDER BY key_id",
            )
            .map_err(internal)?;
        statement
            .query_map([namespace], |row| {
                Ok(PublisherKey {
                    key_id: row.get(0)?,
                    public_key: row.get(1)?,
                    added_at: format_rfc3339(row.get(2)?),
                })
            })
            .map_err(internal)?
            .collect::<Result<_, _>>()
            .map_err(internal)
    }

    fn publish(
        &self,
        version: &NewVersion,
        bundle: &[u8],
        actor: &str,
    ) -> Result<PublishOutcome, StoreError> {
        let mut connection = self.lock()?;
        let existing: Option<String> = connection
            .query_row(
                "SELECT sha256 FROM versions WHERE pack = ?1 AND version = ?2",
                params![version.pack, version.version],
                |row| row.get(0),
            )
            .optional()
            .map_err(internal)?;
        if let Some(existing) = &existing {
            if *existing != version.sha256 {
                return Err(StoreError::Conflict(format!(
                    "`{}` {} is already published with other bytes (sha256:{existing}); versions are immutable: publish a new version",
                    version.pack, version.version
                )));
            }
            return self.republish(&connection, version, bundle, actor);
        }
        if let Some(seen) = version.versions_seen {
            // The semver gate read its baseline from `seen` versions: if another publish of
            // this pack committed since, the baseline may have changed, and the gate must run
            // again (the count can only grow: versions are never deleted).
            let count: i64 = connection
                .query_row(
                    "SELECT COUNT(*) FROM versions WHERE pack = ?1",
                    [&version.pack],
                    |row| row.get(0),
                )
                .map_err(internal)?;
            if u64::try_from(count).ok() != Some(seen) {
                return Ok(PublishOutcome::BaselineChanged);
            }
        }
        // Journaled (and committed) before the blob is written: a crash from here to the
        // commit below leaves a journal row, and the blob it names is removed at start. A blob
        // already there (kept at start, no version naming it) is not this publish's to remove.
        let journaled = !self.blobs.exists(&version.sha256);
        if journaled {
            connection
                .execute(
                    "INSERT OR REPLACE INTO pending_blobs (sha256, started_at) VALUES (?1, ?2)",
                    params![version.sha256, now()],
                )
                .map_err(internal)?;
        }
        let published_at = now();
        let written = self
            .write_sidecar(&connection, version, published_at)
            .and_then(|()| {
                self.blobs
                    .write(&version.sha256, bundle)
                    .map_err(StoreError::Internal)
            });
        if let Err(error) = written {
            if journaled {
                let _ = self.blobs.remove(&version.sha256);
                let _ = connection.execute(
                    "DELETE FROM pending_blobs WHERE sha256 = ?1",
                    [&version.sha256],
                );
            }
            return Err(error);
        }
        let transaction = connection.transaction().map_err(internal)?;
        let tags = serde_json::to_string(&version.tags).map_err(internal)?;
        transaction
            .execute(
                "INSERT INTO packs (name, namespace, description, tags, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET description = ?3, tags = ?4,
                     index_sequence = index_sequence + 1",
                params![
                    version.pack,
                    version.namespace,
                    version.description,
                    tags,
                    published_at
                ],
            )
            .map_err(internal)?;
        let size = i64::try_from(bundle.len()).map_err(internal)?;
        transaction
            .execute(
                "INSERT INTO versions (pack, version, sha256, size, dependencies, tier,
                     signer_key_id, signature, published_at, semver)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    version.pack,
                    version.version,
                    version.sha256,
                    size,
                    serde_json::to_string(&version.dependencies).map_err(internal)?,
                    version.tier,
                    version.signer_key_id,
                    version.signature,
                    published_at,
                    version
                        .semver
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(internal)?
                ],
            )
            .map_err(internal)?;
        transaction
            .execute(
                "DELETE FROM pending_blobs WHERE sha256 = ?1",
                [&version.sha256],
            )
            .map_err(internal)?;
        audit(
            &transaction,
            actor,
            "version.publish",
            &format!("{}@{}", version.pack, version.version),
            &match &version.semver {
                Some(SemverDecision {
                    allowed_violation: Some(reason),
                    note: Some(note),
                    ..
                }) => format!(
                    "sha256:{} signed by {}; semver violation allowed ({note}): {reason}",
                    version.sha256, version.signer_key_id,
                ),
                Some(SemverDecision {
                    allowed_violation: Some(reason),
                    required,
                    declared,
                    ..
                }) => format!(
                    "sha256:{} signed by {}; semver violation allowed (required {}, declared {}): {reason}",
                    version.sha256,
                    version.signer_key_id,
                    required.map_or("?", BumpLevel::as_str),
                    declared.map_or("?", BumpLevel::as_str),
                ),
                _ => format!(
                    "sha256:{} signed by {}",
                    version.sha256, version.signer_key_id
                ),
            },
        )?;
        log::append(
            &transaction,
            Event::Publish {
                pack: version.pack.clone(),
                version: version.version.clone(),
                sha256: version.sha256.clone(),
                signer: version.signer_key_id.clone(),
            },
            published_at,
        )?;
        transaction.commit().map_err(internal)?;
        Ok(PublishOutcome::Created)
    }

    fn index(&self, pack: &str) -> Result<Option<PackIndex>, StoreError> {
        let connection = self.lock()?;
        let sequence: Option<i64> = connection
            .query_row(
                "SELECT index_sequence FROM packs WHERE name = ?1",
                [pack],
                |row| row.get(0),
            )
            .optional()
            .map_err(internal)?;
        let Some(sequence) = sequence else {
            return Ok(None);
        };
        let mut statement = connection
            .prepare(
                "SELECT version, sha256, size, dependencies, tier, signer_key_id, yanked,
                     yank_reason, published_at, semver,
                     EXISTS (SELECT 1 FROM publisher_keys AS key
                             WHERE key.namespace = packs.namespace
                               AND key.key_id = versions.signer_key_id
                               AND key.removed_at IS NOT NULL),
                     (SELECT MIN(id) FROM log_entries
                      WHERE kind = 'publish' AND subject = versions.pack
                        AND object = versions.version),
                     (SELECT MAX(id) FROM log_entries
                      WHERE kind = 'key-remove' AND subject = packs.namespace
                        AND object = versions.signer_key_id),
                     deprecation_message, deprecation_replacement
                 FROM versions JOIN packs ON packs.name = versions.pack
                 WHERE versions.pack = ?1",
            )
            .map_err(internal)?;
        let mut records = statement
            .query_map([pack], |row| {
                let sha256: String = row.get(1)?;
                let size: i64 = row.get(2)?;
                let dependencies: String = row.get(3)?;
                let semver: Option<String> = row.get(9)?;
                let deprecation_message: Option<String> = row.get(13)?;
                Ok(IndexVersion {
                    deprecated: match deprecation_message {
                        Some(message) => Some(VersionDeprecation {
                            message,
                            replacement: row.get(14)?,
                        }),
                        None => None,
                    },
                    version: row.get(0)?,
                    digest: format!("sha256:{sha256}"),
                    size: u64::try_from(size).unwrap_or(0),
                    dependencies: from_json_column(3, &dependencies)?,
                    tier: row.get(4)?,
                    signer_key_id: row.get(5)?,
                    signer_key_removed: row.get(10)?,
                    log_index: row
                        .get::<_, Option<i64>>(11)?
                        .and_then(|index| u64::try_from(index).ok()),
                    signer_key_removed_log_index: if row.get(10)? {
                        row.get::<_, Option<i64>>(12)?
                            .and_then(|index| u64::try_from(index).ok())
                    } else {
                        None
                    },
                    yanked: row.get(6)?,
                    yank_reason: row.get(7)?,
                    published_at: format_rfc3339(row.get(8)?),
                    semver: semver.map(|text| from_json_column(9, &text)).transpose()?,
                })
            })
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        sort_versions(&mut records);
        Ok(Some(PackIndex {
            sequence: u64::try_from(sequence).unwrap_or(0),
            versions: records,
        }))
    }

    fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // Only blobs a committed version names are served, never an orphan.
        if self.signature(sha256)?.is_none() {
            return Ok(None);
        }
        // Checked against its digest on every read: a blob altered on disk is never served
        // under the name of the bytes that were published.
        match self
            .blobs
            .read_verified(sha256)
            .map_err(StoreError::Internal)?
        {
            BlobRead::Found(bytes) => Ok(Some(bytes)),
            BlobRead::Missing | BlobRead::Damaged => Err(StoreError::Damaged(format!(
                "the bundle sha256:{sha256} is missing or damaged on the registry (a damaged one is quarantined); its publisher can repair it by publishing the identical bytes again, or an operator by restoring a backup"
            ))),
        }
    }

    fn signature(&self, sha256: &str) -> Result<Option<String>, StoreError> {
        let connection = self.lock()?;
        connection
            .query_row(
                "SELECT signature FROM versions WHERE sha256 = ?1 LIMIT 1",
                [sha256],
                |row| row.get(0),
            )
            .optional()
            .map_err(internal)
    }

    fn set_yanked(
        &self,
        pack: &str,
        version: &str,
        yanked: bool,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let changed = transaction
            .execute(
                "UPDATE versions SET yanked = ?3, yank_reason = ?4 WHERE pack = ?1 AND version = ?2",
                params![pack, version, yanked, reason.filter(|_| yanked)],
            )
            .map_err(internal)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "`{pack}` has no version {version}"
            )));
        }
        transaction
            .execute(
                "UPDATE packs SET index_sequence = index_sequence + 1 WHERE name = ?1",
                [pack],
            )
            .map_err(internal)?;
        audit(
            &transaction,
            actor,
            if yanked {
                "version.yank"
            } else {
                "version.unyank"
            },
            &format!("{pack}@{version}"),
            reason.unwrap_or(""),
        )?;
        let (pack, version) = (pack.to_string(), version.to_string());
        let event = if yanked {
            Event::Yank {
                pack,
                version,
                reason_sha256: threatpack::digest::sha256_hex(reason.unwrap_or("").as_bytes()),
            }
        } else {
            Event::Unyank { pack, version }
        };
        log::append(&transaction, event, now())?;
        transaction.commit().map_err(internal)
    }

    fn set_deprecated(
        &self,
        pack: &str,
        version: &str,
        deprecation: Option<&VersionDeprecation>,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let published = |version: &str| -> Result<bool, StoreError> {
            transaction
                .query_row(
                    "SELECT 1 FROM versions WHERE pack = ?1 AND version = ?2",
                    params![pack, version],
                    |_| Ok(()),
                )
                .optional()
                .map(|found| found.is_some())
                .map_err(internal)
        };
        if !published(version)? {
            return Err(StoreError::NotFound(format!(
                "`{pack}` has no version {version}"
            )));
        }
        let replacement = deprecation.and_then(|deprecation| deprecation.replacement.as_deref());
        if let Some(replacement) = replacement
            && !published(replacement)?
        {
            return Err(StoreError::NotFound(format!(
                "`{pack}` has no version {replacement} to use instead: name a published one"
            )));
        }
        transaction
            .execute(
                "UPDATE versions SET deprecation_message = ?3, deprecation_replacement = ?4
                 WHERE pack = ?1 AND version = ?2",
                params![
                    pack,
                    version,
                    deprecation.map(|deprecation| deprecation.message.as_str()),
                    replacement
                ],
            )
            .map_err(internal)?;
        // The index shows it: its signed envelope's sequence rises with it.
        transaction
            .execute(
                "UPDATE packs SET index_sequence = index_sequence + 1 WHERE name = ?1",
                [pack],
            )
            .map_err(internal)?;
        let (action, detail) = match deprecation {
            Some(deprecation) => (
                "version.deprecate",
                match &deprecation.replacement {
                    Some(replacement) => format!("{} (use {replacement})", deprecation.message),
                    None => deprecation.message.clone(),
                },
            ),
            None => ("version.undeprecate", String::new()),
        };
        audit(
            &transaction,
            actor,
            action,
            &format!("{pack}@{version}"),
            &detail,
        )?;
        transaction.commit().map_err(internal)
    }

    fn recent_releases(&self, limit: u64) -> Result<Vec<Release>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(
                "SELECT versions.pack, versions.version, packs.description, versions.yanked,
                     versions.published_at
                 FROM versions JOIN packs ON packs.name = versions.pack
                 ORDER BY versions.published_at DESC, versions.rowid DESC LIMIT ?1",
            )
            .map_err(internal)?;
        statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok(Release {
                    pack: row.get(0)?,
                    version: row.get(1)?,
                    description: row.get(2)?,
                    yanked: row.get(3)?,
                    published_at: format_rfc3339(row.get(4)?),
                })
            })
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)
    }

    fn search(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<SearchHit>), StoreError> {
        let connection = self.lock()?;
        let pattern = like_pattern(query);
        const MATCHES: &str = "name LIKE ?1 ESCAPE '\\' OR description LIKE ?1 ESCAPE '\\'
             OR tags LIKE ?1 ESCAPE '\\'";
        let total: i64 = connection
            .query_row(
                &format!("SELECT COUNT(*) FROM packs WHERE {MATCHES}"),
                [&pattern],
                |row| row.get(0),
            )
            .map_err(internal)?;
        let mut statement = connection
            .prepare(&format!(
                "SELECT name, description, tags FROM packs WHERE {MATCHES}
                 ORDER BY name LIMIT ?2 OFFSET ?3"
            ))
            .map_err(internal)?;
        let rows = statement
            .query_map(
                params![
                    pattern,
                    i64::try_from(limit).unwrap_or(i64::MAX),
                    i64::try_from(offset).unwrap_or(i64::MAX)
                ],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let mut versions = connection
            .prepare("SELECT version FROM versions WHERE pack = ?1 AND yanked = 0")
            .map_err(internal)?;
        let mut hits = Vec::new();
        for (name, description, tags) in rows {
            let latest_version = versions
                .query_map([&name], |row| row.get::<_, String>(0))
                .map_err(internal)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(internal)?
                .into_iter()
                .filter_map(|version| semver::Version::parse(&version).ok())
                .max()
                .map(|version| version.to_string());
            hits.push(SearchHit {
                name,
                description,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                latest_version,
            });
        }
        Ok((u64::try_from(total).unwrap_or(0), hits))
    }

    fn create_token(&self, token: &NewToken, actor: &str) -> Result<i64, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let scopes: Vec<&str> = token.scopes.iter().map(|scope| scope.as_str()).collect();
        transaction
            .execute(
                "INSERT INTO tokens (hash, description, scopes, namespaces, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    token.hash,
                    token.description,
                    scopes.join(","),
                    token.namespaces.join(","),
                    token.expires_at,
                    now()
                ],
            )
            .map_err(internal)?;
        let id = transaction.last_insert_rowid();
        audit(
            &transaction,
            actor,
            "token.create",
            &format!("token:{id}"),
            &format!(
                "scopes {} on {}{}",
                scopes.join(","),
                token.namespaces.join(","),
                token
                    .expires_at
                    .map(|at| format!(", expires {}", format_rfc3339(at)))
                    .unwrap_or_default()
            ),
        )?;
        transaction.commit().map_err(internal)?;
        Ok(id)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let connection = self.lock()?;
        connection
            .query_row(
                "SELECT id, scopes, namespaces, expires_at, revoked_at FROM tokens WHERE hash = ?1",
                [hash],
                |row| {
                    let scopes: String = row.get(1)?;
                    let namespaces: String = row.get(2)?;
                    Ok(TokenRecord {
                        id: row.get(0)?,
                        // Only this store writes scopes; an unknown one grants nothing.
                        scopes: scopes
                            .split(',')
                            .filter_map(|scope| Scope::parse(scope).ok())
                            .collect(),
                        namespaces: namespaces
                            .split(',')
                            .filter(|pattern| !pattern.is_empty())
                            .map(str::to_string)
                            .collect(),
                        expires_at: row.get(3)?,
                        revoked_at: row.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(internal)
    }

    fn token_count(&self) -> Result<u64, StoreError> {
        let connection = self.lock()?;
        let count: i64 = connection
            .query_row("SELECT COUNT(*) FROM tokens", [], |row| row.get(0))
            .map_err(internal)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))
            .map_err(internal)?;
        statement
            .query_map([], token_info)
            .map_err(internal)?
            .collect::<Result<_, _>>()
            .map_err(internal)
    }

    fn revoke_token(&self, id: i64, actor: &str) -> Result<TokenInfo, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        let changed = transaction
            .execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now()],
            )
            .map_err(internal)?;
        let token = transaction
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                [id],
                token_info,
            )
            .optional()
            .map_err(internal)?
            .ok_or_else(|| StoreError::NotFound(format!("no token {id}")))?;
        if changed > 0 {
            audit(
                &transaction,
                actor,
                "token.revoke",
                &format!("token:{id}"),
                "",
            )?;
        }
        transaction.commit().map_err(internal)?;
        Ok(token)
    }

    fn check_ready(&self) -> Result<(), NotReady> {
        {
            let connection = self
                .lock()
                .map_err(|error| NotReady::Database(error.to_string()))?;
            connection
                .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| {
                    row.get::<_, i64>(0)
                })
                .map_err(|error| NotReady::Database(error.to_string()))?;
        }
        self.blobs.check_writable().map_err(NotReady::Blobs)
    }

    fn add_registry_key_rotation(&self, statement: &str, actor: &str) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction().map_err(internal)?;
        transaction
            .execute(
                "INSERT INTO registry_key_rotations (statement, created_at) VALUES (?1, ?2)",
                params![statement, now()],
            )
            .map_err(internal)?;
        let new_key = statement.lines().nth(2).unwrap_or_default();
        audit(
            &transaction,
            actor,
            "rotate-registry-key",
            "registry",
            new_key,
        )?;
        transaction.commit().map_err(internal)
    }

    fn registry_key_rotations(&self) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare("SELECT statement FROM registry_key_rotations ORDER BY position")
            .map_err(internal)?;
        statement
            .query_map([], |row| row.get(0))
            .map_err(internal)?
            .collect::<Result<_, _>>()
            .map_err(internal)
    }

    fn audit_log(&self, limit: u64) -> Result<Vec<AuditEntry>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
            )
            .map_err(internal)?;
        statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok(AuditEntry {
                    at: format_rfc3339(row.get(0)?),
                    actor: row.get(1)?,
                    action: row.get(2)?,
                    target: row.get(3)?,
                    detail: row.get(4)?,
                })
            })
            .map_err(internal)?
            .collect::<Result<_, _>>()
            .map_err(internal)
    }

    fn log_head(&self) -> Result<(u64, Hash), StoreError> {
        log::head(&*self.lock()?)
    }

    fn log_entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        log::entries(&*self.lock()?, start, count)
    }

    fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        log::inclusion(&*self.lock()?, index, size)
    }

    fn log_consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        log::consistency(&*self.lock()?, from, to)
    }

    fn store_report(&self, report: &NewReport, actor: &str) -> Result<i64, StoreError> {
        reports::store(&mut *self.lock()?, report, actor)
    }

    fn latest_reports(&self) -> Result<Vec<LatestReport>, StoreError> {
        reports::latest(&*self.lock()?, None)
    }

    fn change_marker(&self) -> Result<(u64, u64), StoreError> {
        let connection = self.lock()?;
        // `data_version` changes when another connection (another process) commits;
        // `total_changes` counts this connection's own writes.
        let data_version: i64 = connection
            .pragma_query_value(None, "data_version", |row| row.get(0))
            .map_err(internal)?;
        Ok((
            connection.total_changes(),
            u64::try_from(data_version).unwrap_or(0),
        ))
    }

    fn latest_report(&self, project: &str) -> Result<Option<LatestReport>, StoreError> {
        Ok(reports::latest(&*self.lock()?, Some(project))?.pop())
    }

    fn weekly_risk(
        &self,
        project: Option<&str>,
        from_week: i64,
    ) -> Result<Vec<(String, i64, u64)>, StoreError> {
        reports::weeks(&*self.lock()?, project, from_week)
    }

    fn latest_model(&self, project: &str) -> Result<Option<StoredModel>, StoreError> {
        reports::model(&*self.lock()?, project)
    }

    fn report_history(&self, project: &str, limit: u64) -> Result<Vec<ReportEntry>, StoreError> {
        reports::history(&*self.lock()?, project, limit)
    }

    fn report_gzip(&self, report_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        reports::report(&*self.lock()?, report_id)
    }

    fn dependents(&self, pack: &str) -> Result<Vec<Dependent>, StoreError> {
        reports::dependents(&*self.lock()?, pack)
    }

    fn prune_reports(&self, before: i64) -> Result<u64, StoreError> {
        reports::prune(&mut *self.lock()?, before)
    }

    fn log_publish_index(&self, pack: &str, version: &str) -> Result<Option<u64>, StoreError> {
        log::find(&*self.lock()?, "publish", pack, version, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in `data` with the first `schema` migrations applied, as an older registry
    /// left it.
    fn database_at_schema(data: &std::path::Path, schema: usize) -> Connection {
        let mut connection = Connection::open(data.join("registry.sqlite3")).expect("a database");
        for (number, migration) in MIGRATIONS.iter().take(schema).enumerate() {
            let transaction = connection.transaction().expect("a transaction");
            transaction.execute_batch(migration).expect("a migration");
            transaction
                .pragma_update(None, "user_version", number + 1)
                .expect("the version");
            transaction.commit().expect("commit");
        }
        connection
    }

    /// The server and `threatpack-registry token create` may open an old database at the same
    /// moment: each migration is applied once, and both open it.
    #[test]
    fn stores_opened_at_once_migrate_once() {
        let data = tempfile::tempdir().expect("a temporary directory");
        drop(database_at_schema(data.path(), 7));
        let opened: Vec<Result<(), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| SqliteStore::open(data.path()).map(|_| ())))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("no panic"))
                .collect()
        });
        for result in opened {
            result.expect("every opening succeeds");
        }
    }

    /// A registry from before deprecations (schema 7) with a published version opens, gains the
    /// columns, and serves the version as not deprecated until its publisher deprecates it.
    #[test]
    fn a_store_from_before_deprecations_upgrades_at_start() {
        let data = tempfile::tempdir().expect("a temporary directory");
        {
            let connection = database_at_schema(data.path(), 7);
            connection
                .execute_batch(
                    "INSERT INTO namespaces (name, created_at) VALUES ('acme', 0);
                     INSERT INTO packs (name, namespace, description, tags, created_at)
                         VALUES ('acme/web', 'acme', 'A pack.', '[]', 0);
                     INSERT INTO versions (pack, version, sha256, size, dependencies, tier,
                         signer_key_id, signature, published_at)
                         VALUES ('acme/web', '1.0.0', 'ab', 3, '[]', NULL, 'K', 'S', 0);
                     INSERT INTO versions (pack, version, sha256, size, dependencies, tier,
                         signer_key_id, signature, published_at)
                         VALUES ('acme/web', '1.1.0', 'cd', 3, '[]', NULL, 'K', 'S', 0);",
                )
                .expect("a published version");
        }
        let store = SqliteStore::open(data.path()).expect("the store opens and migrates");
        let index = |store: &SqliteStore| store.index("acme/web").expect("read").expect("known");
        let before = index(&store);
        assert!(
            before
                .versions
                .iter()
                .all(|version| version.deprecated.is_none())
        );
        let deprecation = VersionDeprecation {
            message: "use 1.1.0".to_string(),
            replacement: Some("1.1.0".to_string()),
        };
        store
            .set_deprecated("acme/web", "1.0.0", Some(&deprecation), "test")
            .expect("deprecated");
        let after = index(&store);
        assert_eq!(after.versions[0].deprecated.as_ref(), Some(&deprecation));
        assert_eq!(after.versions[1].deprecated, None);
        assert!(after.sequence > before.sequence, "the signed index changes");
        let missing = VersionDeprecation {
            replacement: Some("2.0.0".to_string()),
            ..deprecation
        };
        assert!(matches!(
            store.set_deprecated("acme/web", "1.0.0", Some(&missing), "test"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.set_deprecated("acme/web", "3.0.0", None, "test"),
            Err(StoreError::NotFound(_))
        ));
        store
            .set_deprecated("acme/web", "1.0.0", None, "test")
            .expect("undeprecated");
        assert_eq!(index(&store).versions[0].deprecated, None);
        let actions: Vec<String> = store
            .audit_log(2)
            .expect("the audit log")
            .into_iter()
            .map(|entry| entry.action)
            .collect();
        assert_eq!(actions, ["version.undeprecate", "version.deprecate"]);
    }

    #[test]
    fn a_token_that_never_expired_expires_366_days_after_the_upgrade() {
        let data = tempfile::tempdir().expect("a temporary directory");
        {
            // A store at schema 2, with a token made to live forever.
            let connection = database_at_schema(data.path(), 2);
            connection
                .execute(
                    "INSERT INTO tokens (hash, description, scopes, namespaces, expires_at, created_at)
                     VALUES ('h', 'old', 'admin', '*', NULL, 0)",
                    [],
                )
                .expect("an old token");
        }
        let store = SqliteStore::open(data.path()).expect("the store opens and migrates");
        let token = store
            .token_by_hash("h")
            .expect("a lookup")
            .expect("the old token");
        let expires_at = token.expires_at.expect("it expires now");
        let expected = now() + crate::tokens::MAX_EXPIRY_SECONDS;
        assert!(
            (expected - 60..=expected).contains(&expires_at),
            "{expires_at}"
        );
    }
}
