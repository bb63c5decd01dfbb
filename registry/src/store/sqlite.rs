//! The embedded store: SQLite (compiled in) for metadata, a `BlobDir` for bundle bytes.
//!
//! One connection behind a mutex: SQLite takes one writer at a time anyway, and holding the
//! lock from "is this version taken?" to the commit makes concurrent publishes of one version
//! come out as exactly one winner. Publish writes the blob first and commits the metadata
//! after, so a crash leaves either the whole version or an orphan blob collected at start.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use threatpack::wire::{BumpLevel, SemverDecision};

use super::{
    AuditEntry, BlobDir, IndexVersion, Namespace, NewToken, NewVersion, NotReady, PublishOutcome,
    PublisherKey, SearchHit, Store, StoreError, TokenRecord,
};
use crate::time::{now, rfc3339};
use crate::tokens::Scope;

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
];

pub struct SqliteStore {
    connection: Mutex<Connection>,
    blobs: BlobDir,
}

fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(error.to_string())
}

fn audit(
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
    /// Opens (or creates) the store in `data`: `registry.sqlite3` and `blobs/`, and migrates
    /// the schema.
    pub fn open(data: &Path) -> Result<SqliteStore, String> {
        std::fs::create_dir_all(data)
            .map_err(|error| format!("cannot create `{}`: {error}", data.display()))?;
        let database = data.join("registry.sqlite3");
        let mut connection = Connection::open(&database)
            .map_err(|error| format!("cannot open `{}`: {error}", database.display()))?;
        let failed = |error: rusqlite::Error| format!("`{}`: {error}", database.display());
        // WAL lets `threatpack-registry token create` write while the server runs; the busy
        // timeout makes either wait for the other instead of failing.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(failed)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(failed)?;
        migrate(&mut connection).map_err(failed)?;
        let blobs = BlobDir::open(&data.join("blobs"))?;
        Ok(SqliteStore {
            connection: Mutex::new(connection),
            blobs,
        })
    }

    /// Removes the blobs no committed version names (and temporary files): what a crash
    /// between writing a blob and committing its metadata leaves. Only the server runs it, at
    /// start, before it serves: another process might be in the middle of a publish.
    pub fn collect_orphans(&self) -> Result<usize, String> {
        let connection = self.lock().map_err(|error| error.to_string())?;
        let referenced: HashSet<String> = {
            let mut statement = connection
                .prepare("SELECT DISTINCT sha256 FROM versions")
                .map_err(|error| error.to_string())?;
            statement
                .query_map([], |row| row.get(0))
                .map_err(|error| error.to_string())?
                .collect::<Result<_, _>>()
                .map_err(|error| error.to_string())?
        };
        self.blobs.collect_orphans(&referenced)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection
            .lock()
            .map_err(|_| StoreError::Internal("the store's lock is poisoned".to_string()))
    }
}

fn migrate(connection: &mut Connection) -> Result<(), rusqlite::Error> {
    let applied: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (number, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", number + 1)?;
        transaction.commit()?;
    }
    Ok(())
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
            transaction
                .execute(
                    "INSERT OR IGNORE INTO namespace_owners (namespace, owner) VALUES (?1, ?2)",
                    params![name, owner],
                )
                .map_err(internal)?;
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
            created_at: rfc3339(created_at),
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
        let inserted = transaction
            .execute(
                "INSERT OR IGNORE INTO publisher_keys (namespace, key_id, public_key, added_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![namespace, key_id, public_key, now()],
            )
            .map_err(internal)?;
        if inserted == 0 {
            return Ok(false);
        }
        audit(&transaction, actor, "key.add", namespace, key_id)?;
        transaction.commit().map_err(internal)?;
        Ok(true)
    }

    fn keys(&self, namespace: &str) -> Result<Vec<PublisherKey>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare(
                "SELECT key_id, public_key, added_at FROM publisher_keys
                 WHERE namespace = ?1 ORDER BY key_id",
            )
            .map_err(internal)?;
        statement
            .query_map([namespace], |row| {
                Ok(PublisherKey {
                    key_id: row.get(0)?,
                    public_key: row.get(1)?,
                    added_at: rfc3339(row.get(2)?),
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
            if *existing == version.sha256 && self.blobs.exists(existing) {
                return Ok(PublishOutcome::AlreadyPublished);
            }
            if *existing != version.sha256 {
                return Err(StoreError::Conflict(format!(
                    "`{}` {} is already published with other bytes (sha256:{existing}); versions are immutable: publish a new version",
                    version.pack, version.version
                )));
            }
        }
        // The blob reaches the disk before any metadata names it.
        self.blobs
            .write(&version.sha256, bundle)
            .map_err(StoreError::Internal)?;
        if existing.is_some() {
            // The metadata was there and the blob had gone missing: restored.
            return Ok(PublishOutcome::AlreadyPublished);
        }
        let transaction = connection.transaction().map_err(internal)?;
        let tags = serde_json::to_string(&version.tags).map_err(internal)?;
        let published_at = now();
        transaction
            .execute(
                "INSERT INTO packs (name, namespace, description, tags, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET description = ?3, tags = ?4",
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
        audit(
            &transaction,
            actor,
            "version.publish",
            &format!("{}@{}", version.pack, version.version),
            &match &version.semver {
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
        transaction.commit().map_err(internal)?;
        Ok(PublishOutcome::Created)
    }

    fn index(&self, pack: &str) -> Result<Option<Vec<IndexVersion>>, StoreError> {
        let connection = self.lock()?;
        let known: Option<i64> = connection
            .query_row("SELECT 1 FROM packs WHERE name = ?1", [pack], |row| {
                row.get(0)
            })
            .optional()
            .map_err(internal)?;
        if known.is_none() {
            return Ok(None);
        }
        let mut statement = connection
            .prepare(
                "SELECT version, sha256, size, dependencies, tier, signer_key_id, yanked,
                     yank_reason, published_at, semver
                 FROM versions WHERE pack = ?1",
            )
            .map_err(internal)?;
        let mut records = statement
            .query_map([pack], |row| {
                let sha256: String = row.get(1)?;
                let size: i64 = row.get(2)?;
                let dependencies: String = row.get(3)?;
                let semver: Option<String> = row.get(9)?;
                Ok(IndexVersion {
                    version: row.get(0)?,
                    digest: format!("sha256:{sha256}"),
                    size: u64::try_from(size).unwrap_or(0),
                    dependencies: from_json_column(3, &dependencies)?,
                    tier: row.get(4)?,
                    signer_key_id: row.get(5)?,
                    yanked: row.get(6)?,
                    yank_reason: row.get(7)?,
                    published_at: rfc3339(row.get(8)?),
                    semver: semver.map(|text| from_json_column(9, &text)).transpose()?,
                })
            })
            .map_err(internal)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        sort_versions(&mut records);
        Ok(Some(records))
    }

    fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // Only blobs a committed version names are served, never an orphan.
        if self.signature(sha256)?.is_none() {
            return Ok(None);
        }
        self.blobs.read(sha256).map_err(StoreError::Internal)
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
        transaction.commit().map_err(internal)
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
                    .map(|at| format!(", expires {}", rfc3339(at)))
                    .unwrap_or_default()
            ),
        )?;
        transaction.commit().map_err(internal)?;
        Ok(id)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let connection = self.lock()?;
        let row: Option<(i64, String, String, Option<i64>)> = connection
            .query_row(
                "SELECT id, scopes, namespaces, expires_at FROM tokens WHERE hash = ?1",
                [hash],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .map_err(internal)?;
        Ok(row.map(|(id, scopes, namespaces, expires_at)| TokenRecord {
            id,
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
            expires_at,
        }))
    }

    fn token_count(&self) -> Result<u64, StoreError> {
        let connection = self.lock()?;
        let count: i64 = connection
            .query_row("SELECT COUNT(*) FROM tokens", [], |row| row.get(0))
            .map_err(internal)?;
        Ok(u64::try_from(count).unwrap_or(0))
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
                    at: rfc3339(row.get(0)?),
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
}
