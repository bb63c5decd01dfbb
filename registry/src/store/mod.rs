//! Where the registry keeps what it knows, behind the `Store` trait so that a PostgreSQL
//! backend can follow the embedded one (`SqliteStore`: SQLite metadata plus a blob directory).
//!
//! Every mutation records an audit entry in the same transaction as the change itself.

mod adopt;
mod blobs;
mod log;
mod reports;
mod sqlite;

use serde::Serialize;

pub use blobs::{BlobDir, Sidecar, is_sha256_hex};
pub use log::MAX_ENTRIES_PER_READ as MAX_LOG_ENTRIES_PER_READ;
pub use reports::{LatestReport, NewReport, ReportEntry, StoredModel, iso_week, week_of};
pub use sqlite::{DATABASE_FILE, SqliteStore, StartOptions, StartReport, listed, quick_check};
pub use threatpack::transparency::log::Hash;
/// What the store reads back is what the API serves: the wire types themselves.
pub use threatpack::wire::{
    IndexDependency, IndexVersion, Namespace, PublisherKey, SearchHit, TokenInfo,
};

use threatpack::wire::{Dependent, SemverDecision, VersionDeprecation};

use crate::tokens::Scope;

/// A version about to be published, checked by the caller (bundle, signature, names).
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub namespace: String,
    /// `namespace/name`.
    pub pack: String,
    pub version: String,
    /// Lower-case hex sha256 of the bundle.
    pub sha256: String,
    pub description: String,
    pub tags: Vec<String>,
    /// The manifest's resolved dependencies.
    pub dependencies: Vec<IndexDependency>,
    pub tier: Option<String>,
    pub signer_key_id: String,
    /// The detached minisign signature, as published.
    pub signature: String,
    /// The semantic-versioning check against the baseline (`crate::semver`); `None` for a
    /// first version.
    pub semver: Option<SemverDecision>,
    /// How many versions of the pack the semver gate saw when it chose the baseline: the
    /// store commits only if that is still the count, so no version is compared with a stale
    /// baseline. `None`: no gate ran.
    pub versions_seen: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    Created,
    /// The identical bytes were already published under this version.
    AlreadyPublished,
    /// Nothing stored: another version of the pack committed since the semver gate read its
    /// baseline (`NewVersion::versions_seen`); run the gate again.
    BaselineChanged,
}

/// One publish, as the home page lists it (`Store::recent_releases`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `namespace/name`.
    pub pack: String,
    pub version: String,
    pub description: String,
    pub yanked: bool,
    /// RFC 3339.
    pub published_at: String,
}

/// A token as the store knows it (never the secret).
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: i64,
    pub scopes: Vec<Scope>,
    pub namespaces: Vec<String>,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
    /// Unix seconds; a revoked token authenticates nothing.
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: String,
    pub description: String,
    pub scopes: Vec<Scope>,
    pub namespaces: Vec<String>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(String),
    Conflict(String),
    /// The store itself failed (disk, database): not the caller's fault.
    Internal(String),
    /// A stored blob is missing or fails its digest: never served. The detail names no path,
    /// and tells the client how it gets repaired.
    Damaged(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound(detail)
            | StoreError::Conflict(detail)
            | StoreError::Internal(detail)
            | StoreError::Damaged(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for StoreError {}

/// Why the store cannot serve now (`Store::check_ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    Database(String),
    Blobs(String),
}

impl NotReady {
    /// Which part failed, without the detail (which may name paths).
    pub fn part(&self) -> &'static str {
        match self {
            NotReady::Database(_) => "the database does not answer",
            NotReady::Blobs(_) => "the blob directory is not writable",
        }
    }
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Database(detail) | NotReady::Blobs(detail) => {
                write!(f, "{}: {detail}", self.part())
            }
        }
    }
}

/// A pack's index as stored: its versions and its sequence, which every change to what the
/// index shows raises in the same transaction (publish, yank, unyank, deprecate, undeprecate, a key of its namespace
/// added, removed or restored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackIndex {
    pub sequence: u64,
    pub versions: Vec<IndexVersion>,
}

/// The registry's storage. Methods block (disk, database): async callers run them on a
/// blocking thread. `actor` names who asks, for the audit log (`token:ID`, `cli`, `server`).
pub trait Store: Send + Sync {
    fn create_namespace(
        &self,
        name: &str,
        owners: &[String],
        actor: &str,
    ) -> Result<(), StoreError>;
    fn namespace(&self, name: &str) -> Result<Option<Namespace>, StoreError>;
    /// Adds an owner; `false` if it already was one. `NotFound` for an unknown namespace.
    fn add_owner(&self, namespace: &str, owner: &str, actor: &str) -> Result<bool, StoreError>;
    /// Removes an owner. `NotFound` for an unknown namespace or an owner it does not have;
    /// `Conflict` for its last owner (a namespace that has owners keeps at least one).
    fn remove_owner(&self, namespace: &str, owner: &str, actor: &str) -> Result<(), StoreError>;
    /// Registers a publisher key; `false` if the namespace already had it. A removed key given
    /// again with the same bytes is restored; another key under a known key id is a `Conflict`.
    fn add_key(
        &self,
        namespace: &str,
        key_id: &str,
        public_key: &str,
        actor: &str,
    ) -> Result<bool, StoreError>;
    /// The namespace's keys, removed ones left out.
    fn keys(&self, namespace: &str) -> Result<Vec<PublisherKey>, StoreError>;
    /// Removes a publisher key: no new version may be signed by it; the versions it signed stay
    /// (the index marks them). `NotFound` for a key the namespace does not have.
    fn remove_key(&self, namespace: &str, key_id: &str, actor: &str) -> Result<(), StoreError>;
    /// Stores the bundle and its version, all or nothing. A version is immutable: other bytes
    /// under a published version are a `Conflict`.
    fn publish(
        &self,
        version: &NewVersion,
        bundle: &[u8],
        actor: &str,
    ) -> Result<PublishOutcome, StoreError>;
    /// Every version of a pack, oldest first (semver order), with the pack's index sequence;
    /// `None` for an unknown pack.
    fn index(&self, pack: &str) -> Result<Option<PackIndex>, StoreError>;
    fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn signature(&self, sha256: &str) -> Result<Option<String>, StoreError>;
    /// Yanks (the index shows `reason`) or unyanks (`reason` only goes to the audit log).
    fn set_yanked(
        &self,
        pack: &str,
        version: &str,
        yanked: bool,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<(), StoreError>;
    /// Deprecates a version (`Some`: the index shows the message and the replacement) or undoes
    /// it (`None`), with an audit entry; not logged in the transparency log (no bytes served
    /// change). `NotFound` for an unknown version, or a replacement the pack does not have.
    fn set_deprecated(
        &self,
        pack: &str,
        version: &str,
        deprecation: Option<&VersionDeprecation>,
        actor: &str,
    ) -> Result<(), StoreError>;
    /// Packs whose name, description or tags contain `query`, by name; and the total.
    fn search(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<SearchHit>), StoreError>;
    /// The `limit` latest publishes of any pack, newest first (the web face's home page).
    fn recent_releases(&self, limit: u64) -> Result<Vec<Release>, StoreError>;
    fn create_token(&self, token: &NewToken, actor: &str) -> Result<i64, StoreError>;
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Every token ever made, revoked ones included.
    fn token_count(&self) -> Result<u64, StoreError>;
    /// Every token, by id.
    fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// Revokes a token (at once: the next request with it is refused); revoking a revoked token
    /// changes nothing. `NotFound` for an unknown id.
    fn revoke_token(&self, id: i64, actor: &str) -> Result<TokenInfo, StoreError>;
    /// The database answers a query and the blob directory takes a file.
    fn check_ready(&self) -> Result<(), NotReady>;
    /// The newest audit entries first.
    fn audit_log(&self, limit: u64) -> Result<Vec<AuditEntry>, StoreError>;
    /// Records a registry key rotation statement (a signed note), after the earlier ones.
    fn add_registry_key_rotation(&self, statement: &str, actor: &str) -> Result<(), StoreError>;
    /// Every registry key rotation statement, oldest first.
    fn registry_key_rotations(&self) -> Result<Vec<String>, StoreError>;
    /// The transparency log's size and root hash now.
    fn log_head(&self) -> Result<(u64, Hash), StoreError>;
    /// The bytes of log entries `start..start + count` (at most `MAX_LOG_ENTRIES_PER_READ`;
    /// fewer at the end).
    fn log_entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The proof that entry `index` is in the first `size` entries; `NotFound` for an index or
    /// size the log does not have.
    fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError>;
    /// The proof that the first `from` entries are a prefix of the first `to`.
    fn log_consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError>;
    /// The index of the entry that logged the publish of `pack` `version`.
    fn log_publish_index(&self, pack: &str, version: &str) -> Result<Option<u64>, StoreError>;
    /// Stores a pushed report (creating its project on its first), all or nothing; returns its
    /// id.
    fn store_report(&self, report: &NewReport, actor: &str) -> Result<i64, StoreError>;
    /// Every project's latest report, by project name.
    fn latest_reports(&self) -> Result<Vec<LatestReport>, StoreError>;
    /// A value that changes whenever anything is written to the store, by this process or
    /// another (what the portfolio's cache is keyed by).
    fn change_marker(&self) -> Result<(u64, u64), StoreError>;
    /// One project's latest report; `None` before its first.
    fn latest_report(&self, project: &str) -> Result<Option<LatestReport>, StoreError>;
    /// `(project, week, risk)` of one project (or all) from `from_week` on (`week_of`), and each
    /// project's last week before it.
    fn weekly_risk(
        &self,
        project: Option<&str>,
        from_week: i64,
    ) -> Result<Vec<(String, i64, u64)>, StoreError>;
    /// The latest model pushed with a report of `project`.
    fn latest_model(&self, project: &str) -> Result<Option<StoredModel>, StoreError>;
    /// The `limit` latest reports kept for `project`, newest first.
    fn report_history(&self, project: &str, limit: u64) -> Result<Vec<ReportEntry>, StoreError>;
    /// A stored report's JSON (gzip-compressed) by its id.
    fn report_gzip(&self, report_id: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// The projects whose latest report uses `pack` (verified claims only).
    fn dependents(&self, pack: &str) -> Result<Vec<Dependent>, StoreError>;
    /// Removes reports received before `before` (Unix seconds), each project's latest kept.
    fn prune_reports(&self, before: i64) -> Result<u64, StoreError>;
}
