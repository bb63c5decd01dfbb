//! The registry API's JSON, as types (registry/API.md, registry/openapi.json): the server
//! (`threatpack-registry`) serializes exactly these, and the client (`client`, `ops::registry`)
//! reads exactly these, so the compiler ties the two sides together.
//!
//! Fields are declared in alphabetical order: the server used to build its answers as
//! `serde_json::Value` maps, which sort their keys, and the bytes it serves (the index's ETag is
//! their sha256) stay the same that way. Answers ignore unknown fields when read, so a newer
//! server can add one; requests refuse them (`deny_unknown_fields`), so a typo is an error.
//!
//! With the `openapi` feature every type also describes itself as an OpenAPI schema (utoipa).

use serde::{Deserialize, Serialize};

/// The registry a client uses when neither `--registry`, a project nor `THREATPACK_REGISTRY`
/// names one; the registry server listens on this address by default, so the defaults meet.
pub const DEFAULT_REGISTRY: &str = "http://127.0.0.1:8080";

/// The registry URL without a trailing `/` or `/api/v1`; only `http://` and `https://`.
pub fn normalize_registry(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix("/api/v1").unwrap_or(url);
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 9 {
        return Err(format!(
            "`{url}` is not a registry URL: expected `https://HOST[:PORT]` or `http://HOST[:PORT]`"
        ));
    }
    Ok(url.to_string())
}

/// The environment variable naming the registry a client uses.
pub const REGISTRY_ENV: &str = "THREATPACK_REGISTRY";

/// The request header carrying the detached minisign signature of a published bundle,
/// base64-encoded (the `.minisig` text has newlines, which a header cannot).
pub const SIGNATURE_HEADER: &str = "x-threatpack-signature";

/// The request header through which a publisher accepts an under-bumped version, with the
/// reason (printable ASCII, one line).
pub const ALLOW_SEMVER_VIOLATION_HEADER: &str = "x-threatpack-allow-semver-violation";

// ------------------------------------------------------------------------------------------
// Errors and health

/// Every error answer: `{"errors":[{"detail":"…"}]}`, with a precise status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub errors: Vec<ErrorDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// What went wrong, in words a person can act on.
    pub detail: String,
}

impl ErrorEnvelope {
    /// An envelope with one error.
    pub fn new(detail: impl Into<String>) -> ErrorEnvelope {
        ErrorEnvelope {
            errors: vec![ErrorDetail {
                detail: detail.into(),
            }],
        }
    }

    /// Every detail, in order.
    pub fn details(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|error| error.detail.clone())
            .collect()
    }
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
}

// ------------------------------------------------------------------------------------------
// The registry's own key

/// The response header carrying the signed envelope of an index answer (200 and 304): the
/// base64 of a signed note (`crate::transparency`, docs/security.md).
pub const INDEX_NOTE_HEADER: &str = "threatpack-index-note";

/// `GET /api/v1/registry/key`: the key the registry signs its index envelopes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistryKeyInfo {
    /// The note verifier key: `<origin>+<key id>+<base64>`.
    pub key: String,
    /// The registry's origin, the name in every note it signs.
    pub origin: String,
    /// Every rotation, oldest first: a signed note `threatpack registry key rotation v1`,
    /// `old VKEY`, `new VKEY`, signed by both keys. A client that pinned an old key follows them.
    pub rotations: Vec<String>,
}

// ------------------------------------------------------------------------------------------
// Namespaces, owners and keys

/// A namespace: the first part of a pack name (`acme` in `acme/web`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Namespace {
    /// RFC 3339, UTC.
    pub created_at: String,
    pub name: String,
    /// User names or e-mail addresses.
    pub owners: Vec<String>,
}

/// `POST /namespaces` (admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNamespace {
    pub name: String,
    #[serde(default)]
    pub owners: Vec<String>,
}

/// The answer of `POST /namespaces` and `GET /namespaces/{namespace}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamespaceAnswer {
    pub namespace: Namespace,
}

/// The owners of a namespace: the answer of every `/namespaces/{namespace}/owners` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Owners {
    pub namespace: String,
    pub owners: Vec<String>,
}

/// `POST /namespaces/{namespace}/owners` (admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOwner {
    /// A user name or an e-mail address: 1 to 100 ASCII letters, digits and `.` `_` `-` `+` `@`.
    pub owner: String,
}

/// A publisher key of a namespace: bundles of its packs must be signed by one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublisherKey {
    /// RFC 3339, UTC.
    pub added_at: String,
    /// The minisign key id, 16 hex digits.
    pub key_id: String,
    /// The key's base64 line (what `minisign -P` takes).
    pub public_key: String,
}

/// `GET /namespaces/{namespace}/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Keys {
    pub keys: Vec<PublisherKey>,
}

/// `POST /namespaces/{namespace}/keys` (`manage-keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// A minisign public key: the `.pub` file's text, or its base64 line.
    pub public_key: String,
}

/// The answer of `POST /namespaces/{namespace}/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyAdded {
    pub key_id: String,
}

// ------------------------------------------------------------------------------------------
// Tokens

/// An API token as the registry shows it: never the secret, which only its creator saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// RFC 3339, UTC.
    pub created_at: String,
    pub description: String,
    /// RFC 3339, UTC; `null` only for tokens made before every token expired.
    pub expires_at: Option<String>,
    /// What `DELETE /tokens/{id}` takes.
    pub id: i64,
    /// The packs it may touch: `*`, `namespace/*` or `namespace/name`.
    pub namespaces: Vec<String>,
    /// RFC 3339, UTC; `null` while it is not revoked.
    pub revoked_at: Option<String>,
    /// `publish`, `yank`, `manage-keys`, `admin`.
    pub scopes: Vec<String>,
}

impl TokenInfo {
    /// One line: `3  publish,yank  acme/*  expires 2027-01-01T00:00:00Z  "CI"`, and when it was
    /// revoked.
    pub fn summary(&self) -> String {
        format!(
            "{}  {}  {}  expires {}  {:?}{}",
            self.id,
            self.scopes.join(","),
            self.namespaces.join(","),
            self.expires_at.as_deref().unwrap_or("never"),
            self.description,
            self.revoked_at
                .as_deref()
                .map(|at| format!("  revoked {at}"))
                .unwrap_or_default()
        )
    }
}

/// `GET /tokens`: every token for an admin token, the token itself for any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tokens {
    pub tokens: Vec<TokenInfo>,
}

/// The answer of `DELETE /tokens/{id}`: the token, revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenAnswer {
    pub token: TokenInfo,
}

// ------------------------------------------------------------------------------------------
// Packs: index, publish, yank, search

/// `GET /packs/{namespace}/{name}`: every version of a pack, oldest first (semver order),
/// yanked ones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Index {
    /// `namespace/name`.
    pub name: String,
    pub versions: Vec<IndexVersion>,
}

/// One version of a pack as the index shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexVersion {
    /// The dependencies compiled into the bundle, as its manifest records them.
    pub dependencies: Vec<IndexDependency>,
    /// Its publisher deprecated it: still chosen by `lock` and `update`, with a warning.
    /// Absent when it is not (and from registries that predate deprecation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<VersionDeprecation>,
    /// `sha256:HEX` of the bundle.
    pub digest: String,
    /// The index of this version's publish entry in the registry's transparency log; absent
    /// where the registry has no log entry for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// RFC 3339, UTC.
    pub published_at: String,
    /// What the publish's semantic-versioning check decided; `null` for a first version.
    pub semver: Option<SemverDecision>,
    /// The key id of the signature the registry checked.
    pub signer_key_id: String,
    /// The signer's key was removed from the namespace since: the version stays downloadable
    /// for lockfiles that pin it, and `lock`/`update` no longer choose it.
    #[serde(default)]
    pub signer_key_removed: bool,
    /// The log index of the entry that removed the signer's key (when it is removed): a
    /// version published after it is refused by clients (`client::log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key_removed_log_index: Option<u64>,
    /// The bundle's size in bytes.
    pub size: u64,
    /// The tier the bundle was built for; `null` for the whole pack.
    pub tier: Option<String>,
    pub version: String,
    /// Why it was yanked (shown to everyone who uses it); `null` when it is not.
    pub yank_reason: Option<String>,
    /// Still downloadable, no longer chosen by `lock` or `update`.
    pub yanked: bool,
}

/// Why a publisher deprecated a version, and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionDeprecation {
    /// Shown to everyone who locks, fetches or applies the version: one line of text.
    pub message: String,
    /// A published version of the same pack to use instead; `null` when none is named.
    #[serde(default)]
    pub replacement: Option<String>,
}

/// A dependency of a published version, as resolved when its bundle was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexDependency {
    /// `sha256:HEX` of the dependency's own bundle.
    pub digest: String,
    pub name: String,
    /// The requirement that chose it, e.g. `^1.0`.
    pub requirement: String,
    /// Where it came from: `path:DIR` or `registry:URL`.
    pub source: String,
    /// The exact version compiled in.
    pub version: String,
}

impl From<&crate::bundle::ResolvedDependency> for IndexDependency {
    fn from(dependency: &crate::bundle::ResolvedDependency) -> IndexDependency {
        IndexDependency {
            digest: dependency.digest.clone(),
            name: dependency.name.clone(),
            requirement: dependency.requirement.clone(),
            source: dependency.source.clone(),
            version: dependency.version.clone(),
        }
    }
}

/// A semver bump level, as the versioning rules name it (docs/versioning.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BumpLevel {
    None,
    Patch,
    Minor,
    Major,
}

impl From<crate::versioning::Bump> for BumpLevel {
    fn from(bump: crate::versioning::Bump) -> BumpLevel {
        use crate::versioning::Bump;
        match bump {
            Bump::None => BumpLevel::None,
            Bump::Patch => BumpLevel::Patch,
            Bump::Minor => BumpLevel::Minor,
            Bump::Major => BumpLevel::Major,
        }
    }
}

impl BumpLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            BumpLevel::None => "none",
            BumpLevel::Patch => "patch",
            BumpLevel::Minor => "minor",
            BumpLevel::Major => "major",
        }
    }
}

/// What the semantic-versioning check of a publish decided against the baseline (the highest
/// published version below the new one built for the same tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SemverDecision {
    /// The reason the publisher gave for publishing an under-bumped version anyway (also in
    /// the audit log); absent when the bump was enough.
    #[serde(
        rename = "allowed-violation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_violation: Option<String>,
    /// The version compared with; for a tier no earlier version has (not compared), the
    /// published version it sits next to (the highest below, else the lowest), of any tier.
    pub baseline: String,
    /// The bump the declared version makes over the baseline; `null` when it is not newer, or
    /// when the two were not compared.
    pub declared: Option<BumpLevel>,
    /// Why the versions were not compared (the new version is built for a tier no earlier
    /// version has, published with `allowed-violation`); absent when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The bump the changes since the baseline require; `null` when not compared.
    pub required: Option<BumpLevel>,
}

/// The answer of `PUT /packs/{namespace}/{name}/{version}` (`publish`): `201` with `created`
/// true, or `200` with `created` false for the identical bytes published again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishAnswer {
    pub created: bool,
    /// `sha256:HEX` of the bundle.
    pub digest: String,
    /// The version's publish entry in the transparency log and the proof of it; `null` from
    /// registries without a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PublishLog>,
    /// `namespace/name`.
    pub name: String,
    /// `null` for a first version, and for the identical bytes published again.
    pub semver: Option<SemverDecision>,
    pub signer_key_id: String,
    pub version: String,
}

/// The body of `PUT …/yank` (a reason is required) and `PUT …/unyank` (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct YankRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer of a yank or an unyank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YankAnswer {
    /// `namespace/name`.
    pub name: String,
    pub reason: Option<String>,
    pub version: String,
    pub yanked: bool,
}

/// The body of `PUT …/deprecate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeprecateRequest {
    /// Why, and what to do: one line of printable text, at most 500 characters.
    pub message: String,
    /// A published version of the same pack to use instead.
    #[serde(default)]
    pub replacement: Option<String>,
}

/// The answer of a deprecation or its undoing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeprecateAnswer {
    /// The deprecation now; `null` after an undeprecate.
    pub deprecated: Option<VersionDeprecation>,
    /// `namespace/name`.
    pub name: String,
    pub version: String,
}

/// `GET /packs?q=TEXT&page=N&per_page=M`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchAnswer {
    pub meta: SearchMeta,
    pub packs: Vec<SearchHit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchMeta {
    pub page: u64,
    pub per_page: u64,
    /// How many packs match in all.
    pub total: u64,
}

/// A pack whose name, description or tags contain the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub description: String,
    /// The newest version that is not yanked; `null` when every version is.
    pub latest_version: Option<String>,
    pub name: String,
    pub tags: Vec<String>,
}

// ------------------------------------------------------------------------------------------
// The transparency log (`crate::transparency::log`, docs/security.md)

/// The most entries `GET /api/v1/log/entries` returns at once; ranges of exactly this many
/// entries starting at a multiple of it never change, and are served as immutable.
pub const LOG_ENTRIES_PER_PAGE: u64 = 1000;

/// `GET /api/v1/log/entries?start=N&count=M`: entries `start..start + entries.len()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntries {
    /// Each entry's exact bytes (canonical text, UTF-8), in log order.
    pub entries: Vec<String>,
    pub start: u64,
}

/// `GET /api/v1/log/proof/inclusion?index=I&size=N`: entry `index` and the proof that it is in
/// the log's first `size` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogInclusion {
    /// The entry's exact bytes.
    pub entry: String,
    /// The RFC 6962 audit path, base64 hashes, leaf upwards.
    pub hashes: Vec<String>,
    pub index: u64,
    pub size: u64,
}

/// `GET /api/v1/log/proof/consistency?from=M&to=N`: the proof that the log's first `from`
/// entries are a prefix of its first `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogConsistency {
    pub from: u64,
    /// The RFC 6962 consistency proof, base64 hashes.
    pub hashes: Vec<String>,
    pub to: u64,
}

/// Where a publish was logged (part of `PublishAnswer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishLog {
    /// The signed checkpoint (a C2SP signed note) of the log of `tree_size` entries.
    pub checkpoint: String,
    /// The publish entry's exact bytes.
    pub entry: String,
    pub inclusion_proof: Vec<String>,
    /// The index of the publish entry.
    pub index: u64,
    pub tree_size: u64,
}

// ------------------------------------------------------------------------------------------
// Reports and the portfolio (issue 16; registry/API.md, docs/portfolio.md)

/// `POST /api/v1/projects/{namespace}/{name}/reports`: a JSON report (schema/report.schema.json)
/// and, optionally, the model it was made from (kept for `threatpack impact`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportPush {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PushedModel>,
    /// The JSON report, as `threatpack apply --format json` wrote it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: serde_json::Value,
}

/// A model file as pushed with its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushedModel {
    /// Its path as the report names it, e.g. `models/shop.toml` (its extension says its format).
    pub file: String,
    pub text: String,
}

/// A pack a report says its knowledge base was compiled from (the report's
/// `provenance.packs[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub struct PackClaim {
    pub name: String,
    /// Lower-case hex sha256 of the bundle; `null` when compiled from a directory.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The minisign key id of its signer; `null` when unsigned.
    #[serde(default)]
    pub signer: Option<String>,
    /// `registry`, `bundle` or `directory`.
    #[serde(default)]
    pub source: Option<String>,
    pub version: String,
}

/// The answer to a report push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportPushAnswer {
    pub project: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub report_id: i64,
    /// Pack claims the registry could not match with a version it serves (name, version and
    /// sha256): kept, never counted in dependents or "behind" numbers.
    pub unverified_packs: Vec<PackClaim>,
    /// Pack claims matching a version the registry serves, byte for byte.
    pub verified_packs: Vec<PackClaim>,
}

/// The numbers the registry takes from a report when it is pushed (docs/portfolio.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportNumbers {
    /// The security activities the report requires and the model does not record done
    /// (qualified ids; an activity whose rule could not be evaluated counts as owed).
    #[serde(default)]
    pub activities_owed: Vec<String>,
    /// Threat instances per residual level (`critical` … `info`, `none`).
    pub by_residual: std::collections::BTreeMap<String, u64>,
    /// Threat instances per category (the six STRIDE ones and any other the packs use).
    pub by_category: std::collections::BTreeMap<String, u64>,
    /// Risk acceptances past their `until` date (their threats count as unmitigated).
    #[serde(default)]
    pub expired_acceptances: u64,
    /// Backlog items (mitigations still to put in place).
    pub open_backlog: u64,
    /// The residual risk score: the sum of the documented score of each instance's residual
    /// level (critical 10, high 5, medium 2, low 1, info and none 0).
    pub risk: u64,
    pub threats: u64,
    /// Questions of the model left unanswered; `null` when the report does not list them.
    pub unanswered_questions: Option<u64>,
    /// Threat instances of the TOP tier still unmitigated.
    pub unmitigated_top: u64,
}

/// A pack version a project's latest report uses, against the registry's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackInUse {
    /// Published versions newer than this one that a `^VERSION` requirement matches (not
    /// yanked); `null` for an unverified claim.
    pub behind: Option<u64>,
    /// Its publisher's deprecation message when the version in use is deprecated (the project
    /// counts as behind); `null` when it is not.
    #[serde(default)]
    pub deprecated: Option<String>,
    pub name: String,
    /// The newest published version a `^VERSION` requirement matches (not yanked).
    pub newest_matching: Option<String>,
    /// The newest published version (not yanked).
    pub newest: Option<String>,
    /// The claim matched a version the registry serves (name, version, sha256).
    pub verified: bool,
    pub version: String,
    /// Why the version in use was yanked; `null` when it is not.
    pub yank_reason: Option<String>,
    pub yanked: bool,
}

impl PackInUse {
    /// Whether the project should move off this version: yanked, deprecated, or behind the
    /// newest version its `^VERSION` requirement accepts.
    pub fn is_behind(&self) -> bool {
        self.yanked || self.deprecated.is_some() || self.behind.is_some_and(|behind| behind > 0)
    }
}

/// One project as the portfolio shows it: its latest report's numbers and packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectStatus {
    /// Whole days since the latest report was received.
    pub age_days: u64,
    pub numbers: ReportNumbers,
    pub packs: Vec<PackInUse>,
    pub project: String,
    /// RFC 3339, UTC: when the latest report was received.
    pub received_at: String,
    pub report_id: i64,
    /// How many reports the registry keeps for it.
    pub reports: u64,
}

/// The residual risk of one ISO week: each project's latest report of that week, or its
/// previous one carried forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendWeek {
    /// Projects with a report that week or before.
    pub projects: u64,
    pub risk: u64,
    /// ISO 8601 week, e.g. `2026-W49`.
    pub week: String,
}

/// `GET /api/v1/projects/{namespace}/{name}/trend`, and the portfolio's total trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trend {
    /// `null` for the total over the projects the token may read.
    pub project: Option<String>,
    /// Oldest first.
    pub weeks: Vec<TrendWeek>,
}

/// The sums over the portfolio's projects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortfolioTotals {
    /// Security activities owed, summed over the projects.
    #[serde(default)]
    pub activities_owed: u64,
    pub by_residual: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    pub expired_acceptances: u64,
    pub open_backlog: u64,
    pub projects: u64,
    pub risk: u64,
    pub threats: u64,
    pub unanswered_questions: u64,
    pub unmitigated_top: u64,
}

/// `GET /api/v1/portfolio`: every project the token may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Portfolio {
    /// Projects using a yanked or deprecated version, or a version behind the newest matching
    /// one.
    pub behind: Vec<String>,
    /// Who owes what: each security activity owed, with the projects owing it (by name).
    #[serde(default)]
    pub owing: std::collections::BTreeMap<String, Vec<String>>,
    /// By project name.
    pub projects: Vec<ProjectStatus>,
    /// The `top` projects with the highest residual risk, highest first.
    pub riskiest: Vec<String>,
    pub totals: PortfolioTotals,
    pub trend: Trend,
}

/// `GET /api/v1/projects/{namespace}/{name}/model`: the latest model stored with a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectModel {
    pub file: String,
    /// The report's pack claims (its `provenance.packs`).
    pub packs: Vec<PackClaim>,
    pub project: String,
    pub report_id: i64,
    pub text: String,
}

/// A project whose latest report uses a version of a pack (a verified claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dependent {
    pub project: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub report_id: i64,
    pub version: String,
}

/// `GET /api/v1/packs/{namespace}/{name}/dependents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dependents {
    /// By project name.
    pub dependents: Vec<Dependent>,
    pub pack: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_serializes_with_sorted_keys_as_the_server_always_did() {
        let index = Index {
            name: "acme/web".to_string(),
            versions: vec![IndexVersion {
                dependencies: vec![],
                deprecated: None,
                digest: "sha256:ab".to_string(),
                log_index: None,
                published_at: "2026-05-01T12:00:10Z".to_string(),
                semver: Some(SemverDecision {
                    allowed_violation: None,
                    baseline: "1.0.0".to_string(),
                    declared: Some(BumpLevel::Patch),
                    note: None,
                    required: Some(BumpLevel::Major),
                }),
                signer_key_id: "9A0C".to_string(),
                signer_key_removed: false,
                signer_key_removed_log_index: None,
                size: 3,
                tier: None,
                version: "1.0.1".to_string(),
                yank_reason: None,
                yanked: false,
            }],
        };
        let text = serde_json::to_string(&index).expect("serializes");
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        // serde_json's own maps sort their keys: the same bytes as before the types existed.
        assert_eq!(text, value.to_string());
        assert_eq!(
            text,
            r#"{"name":"acme/web","versions":[{"dependencies":[],"digest":"sha256:ab","published_at":"2026-05-01T12:00:10Z","semver":{"baseline":"1.0.0","declared":"patch","required":"major"},"signer_key_id":"9A0C","signer_key_removed":false,"size":3,"tier":null,"version":"1.0.1","yank_reason":null,"yanked":false}]}"#
        );
    }

    /// A deprecation is one more optional key, in its sorted place: indexes without it (older
    /// registries) read as before, and older clients skip it.
    #[test]
    fn a_deprecation_is_an_optional_key_of_a_version() {
        let old = r#"{"dependencies":[],"digest":"sha256:ab","published_at":"2026-05-01T12:00:10Z","semver":null,"signer_key_id":"9A0C","size":3,"tier":null,"version":"1.0.1","yank_reason":null,"yanked":false}"#;
        let mut version: IndexVersion = serde_json::from_str(old).expect("an old version");
        assert_eq!(version.deprecated, None);
        version.deprecated = Some(VersionDeprecation {
            message: "use 1.1".to_string(),
            replacement: Some("1.1.0".to_string()),
        });
        let text = serde_json::to_string(&version).expect("serializes");
        assert!(
            text.starts_with(r#"{"dependencies":[],"deprecated":{"message":"use 1.1","replacement":"1.1.0"},"digest""#),
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(text, value.to_string());
    }

    #[test]
    fn requests_refuse_unknown_fields_and_answers_accept_them() {
        assert!(serde_json::from_str::<NewOwner>(r#"{"owner":"bob","admin":true}"#).is_err());
        let owners: Owners =
            serde_json::from_str(r#"{"namespace":"acme","owners":["bob"],"since":"2027"}"#)
                .expect("an unknown field in an answer is ignored");
        assert_eq!(owners.owners, ["bob"]);
    }
}
