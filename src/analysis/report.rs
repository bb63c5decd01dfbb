//! The result of applying a knowledge base to a system model: what `apply --format json`
//! prints (schema/report.schema.json), and what every other output is rendered from.
//!
//! Ids are stable across runs: a threat instance is named by its attack pattern and element,
//! so a tracker can follow it from one run to the next.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::engine::tiers::{TierChoice, TierSource};
pub use crate::model::Acceptance;
use crate::model::{ImplementationStatus, Rating, Severity, Strength};

/// The version of the report format.
pub const REPORT_FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Report {
    pub format: u32,
    /// Where the report came from: the tool, the time, the model and the packs.
    pub provenance: Provenance,
    pub model: ModelSummary,
    /// The knowledge base applied.
    pub pack: PackRef,
    pub tier: TierChoice,
    /// Every threat instance, sorted by residual risk (highest first), then id.
    pub threats: Vec<ThreatInstance>,
    pub totals: Totals,
    /// One work item per mitigation still to do, aggregated over every place it applies.
    pub backlog: Vec<BacklogItem>,
    pub alignment: Alignment,
    /// The security activities the results require, done and owed; absent when the knowledge
    /// base declares no activities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activities: Option<super::activities::ActivitiesReport>,
    /// Conditions that could not be evaluated: never treated as false.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EvaluationError>,
}

/// Where a report came from, so that it can travel (a registry, a portfolio, a diff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Provenance {
    pub tool: ToolRef,
    /// RFC 3339 UTC; `SOURCE_DATE_EPOCH` when set.
    pub generated_at: String,
    pub model: ModelOrigin,
    /// Every pack the knowledge base was compiled from, sorted by name.
    pub packs: Vec<PackOrigin>,
    /// Absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ToolRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ModelOrigin {
    pub file: String,
    /// Hex sha256 of the model file's bytes.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackOrigin {
    pub name: String,
    pub version: String,
    /// Hex sha256 of the bundle; `null` when compiled from a directory (or from inside a
    /// bundle, for its dependencies).
    pub sha256: Option<String>,
    /// The minisign key id (16 hex) that signed the bundle; `null` when unsigned or unchecked.
    pub signer: Option<String>,
    pub source: PackSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackSource {
    Registry,
    Bundle,
    Directory,
}

/// The project a report is about, and the VCS revision of its model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProjectIdentity {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Where the name came from.
    pub source: IdentitySource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentitySource {
    Flag,
    #[serde(rename = "threatpack.toml")]
    ThreatpackToml,
    GithubActions,
    GitlabCi,
    AzurePipelines,
    Jenkins,
    Environment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ModelSummary {
    pub name: String,
    pub file: String,
    pub components: usize,
    pub flows: usize,
    pub boundaries: usize,
    /// The elements the model puts out of scope: they get no threats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_scope: Vec<OutOfScopeElement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OutOfScopeElement {
    pub element: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ThreatInstance {
    /// `T-` and 12 hex digits of sha256("ATTACK-PATTERN@ELEMENT"): stable across runs.
    pub id: String,
    /// Qualified attack pattern id.
    pub attack_pattern: String,
    pub name: String,
    pub element: String,
    pub element_name: String,
    /// STRIDE (and other) categories of the attack pattern.
    pub categories: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<Rating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Rating>,
    pub tier: String,
    /// The mitigations that address it here (link conditions hold), strongest first.
    pub mitigations: Vec<MitigationAt>,
    pub residual: Residual,
    pub state: ThreatState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MitigationAt {
    pub mitigation: String,
    pub name: String,
    pub strength: Strength,
    /// `missing` when an acceptance expired (`acceptance.expired`).
    pub status: ImplementationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The risk acceptance recorded here, when the model has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
}

/// What is left of a threat once the mitigations in place count: see docs/apply.md.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Residual {
    /// 0–100: the severity's score × (1 − the strongest existing mitigation's strength / 100).
    pub score: u32,
    /// The score as a level; `None` when nothing is left.
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThreatState {
    /// No mitigation in place, and none planned or accepted.
    Unmitigated,
    /// A mitigation is planned, none is in place.
    Planned,
    /// The risk was accepted (a linked mitigation is `accepted-risk`), none is in place.
    Accepted,
    /// Some mitigation is in place but leaves a residual risk.
    PartiallyMitigated,
    /// The mitigations in place leave nothing (a `maximum` strength one).
    Mitigated,
}

impl ThreatState {
    pub const ALL: [ThreatState; 5] = [
        ThreatState::Unmitigated,
        ThreatState::Planned,
        ThreatState::Accepted,
        ThreatState::PartiallyMitigated,
        ThreatState::Mitigated,
    ];
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Totals {
    pub threats: usize,
    /// Threat instances per category (an attack pattern in two categories counts in both).
    pub by_category: BTreeMap<String, usize>,
    /// Threat instances per category, then per severity before mitigations (only the pairs
    /// that occur): the category × severity table of the summary and the Markdown report.
    pub by_category_and_severity: BTreeMap<String, BTreeMap<String, usize>>,
    /// Threat instances per severity, before mitigations.
    pub by_severity: BTreeMap<String, usize>,
    /// Threat instances per residual severity (`none` when nothing is left).
    pub by_residual: BTreeMap<String, usize>,
    pub by_state: BTreeMap<String, usize>,
    /// Threat instances without any existing mitigation.
    pub unmitigated: usize,
    /// Mitigations in the backlog, and the places they apply to.
    pub backlog_items: usize,
    pub backlog_places: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BacklogItem {
    /// `M-` and 12 hex digits of sha256 of the mitigation id: stable across runs.
    pub id: String,
    pub mitigation: String,
    pub title: String,
    pub description: String,
    pub implementation: String,
    pub verification: String,
    /// 1 (highest) to 5, from the highest severity among the threats it addresses.
    pub priority: u8,
    pub severity: Severity,
    /// The elements where it is still to do, with its status there.
    pub places: Vec<Place>,
    /// The threat instances it addresses there (ids), and their attack patterns.
    pub threats: Vec<String>,
    pub attack_patterns: Vec<String>,
    /// Security events to emit once it is in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Place {
    pub element: String,
    pub status: ImplementationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// User stories and threats, aligned (the seed paper's figures 1 and 2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Alignment {
    /// Threat instances no WITHOUT clause covers.
    pub threats_without_clause: Vec<String>,
    /// WITHOUT clauses that cover no threat instance: `STORY#N` with the clause text.
    pub clauses_without_threat: Vec<ClauseRef>,
    /// Stories whose threats still have mitigations to implement: what to do when the story
    /// is planned.
    pub stories: Vec<StoryWork>,
    /// Per component: the security events its mitigations emit.
    pub events: Vec<ElementEvents>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClauseRef {
    pub story: String,
    pub clause: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StoryWork {
    pub story: String,
    pub text: String,
    /// Threat instances its WITHOUT clauses cover.
    pub threats: Vec<String>,
    /// Mitigations of those threats not in place yet (mitigation ids).
    pub open_mitigations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ElementEvents {
    pub element: String,
    pub events: Vec<EventAt>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EventAt {
    pub id: String,
    pub description: String,
    pub mitigation: String,
    pub status: ImplementationStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EvaluationError {
    /// The attack pattern (or `MITIGATION→ATTACK-PATTERN` link, or tier rule) whose condition failed.
    pub rule: String,
    pub element: String,
    pub message: String,
}

/// The id of a threat instance: the first 6 bytes of sha256("ATTACK-PATTERN@ELEMENT"), written
/// `T-` and 12 hex digits. Kept as bytes: a large report has millions, each written twice
/// (in its threat and in its backlog item) and hashed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ThreatId(pub [u8; 6]);

impl ThreatId {
    pub fn of(attack_pattern: &str, element: &str) -> ThreatId {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(attack_pattern.as_bytes());
        hasher.update(b"@");
        hasher.update(element.as_bytes());
        let digest = hasher.finalize();
        let mut id = [0; 6];
        id.copy_from_slice(&digest[..6]);
        ThreatId(id)
    }

    /// `T-` and the 12 hex digits, in `buffer`.
    fn text(self, buffer: &mut [u8; 14]) -> &str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        buffer[0] = b'T';
        buffer[1] = b'-';
        for (position, byte) in self.0.iter().enumerate() {
            buffer[2 + 2 * position] = HEX[usize::from(byte >> 4)];
            buffer[3 + 2 * position] = HEX[usize::from(byte & 0xf)];
        }
        std::str::from_utf8(buffer).unwrap_or_default()
    }
}

impl std::fmt::Display for ThreatId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.text(&mut [0; 14]))
    }
}

impl Serialize for ThreatId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text(&mut [0; 14]))
    }
}

/// A `ThreatInstance` whose text is borrowed from the knowledge base and the model: what the
/// JSON report writes without copying, serialized exactly as `ThreatInstance`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ThreatInstanceRef<'a> {
    pub id: ThreatId,
    pub attack_pattern: &'a str,
    pub name: &'a str,
    pub element: &'a str,
    pub element_name: &'a str,
    pub categories: &'a [String],
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Rating>,
    pub tier: &'a str,
    pub mitigations: Vec<MitigationAtRef<'a>>,
    pub residual: Residual,
    pub state: ThreatState,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct MitigationAtRef<'a> {
    pub mitigation: &'a str,
    pub name: &'a str,
    pub strength: Strength,
    pub status: ImplementationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<&'a Acceptance>,
}

impl ThreatInstanceRef<'_> {
    pub fn into_owned(self) -> ThreatInstance {
        ThreatInstance {
            id: self.id.to_string(),
            attack_pattern: self.attack_pattern.to_string(),
            name: self.name.to_string(),
            element: self.element.to_string(),
            element_name: self.element_name.to_string(),
            categories: self.categories.to_vec(),
            severity: self.severity,
            likelihood: self.likelihood,
            impact: self.impact,
            tier: self.tier.to_string(),
            mitigations: self
                .mitigations
                .into_iter()
                .map(|at| MitigationAt {
                    mitigation: at.mitigation.to_string(),
                    name: at.name.to_string(),
                    strength: at.strength,
                    status: at.status,
                    note: at.note.map(str::to_string),
                    acceptance: at.acceptance.cloned(),
                })
                .collect(),
            residual: self.residual,
            state: self.state,
        }
    }
}

/// A `BacklogItem` with borrowed text and threat ids as bytes, serialized exactly as it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct BacklogItemRef<'a> {
    pub id: String,
    pub mitigation: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub implementation: &'a str,
    pub verification: &'a str,
    pub priority: u8,
    pub severity: Severity,
    pub places: Vec<PlaceRef<'a>>,
    pub threats: Vec<ThreatId>,
    pub attack_patterns: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<&'a str>,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PlaceRef<'a> {
    pub element: &'a str,
    pub status: ImplementationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}

impl BacklogItemRef<'_> {
    pub fn into_owned(self) -> BacklogItem {
        BacklogItem {
            id: self.id,
            mitigation: self.mitigation.to_string(),
            title: self.title.to_string(),
            description: self.description.to_string(),
            implementation: self.implementation.to_string(),
            verification: self.verification.to_string(),
            priority: self.priority,
            severity: self.severity,
            places: self
                .places
                .into_iter()
                .map(|place| Place {
                    element: place.element.to_string(),
                    status: place.status,
                    note: place.note.map(str::to_string),
                })
                .collect(),
            threats: self.threats.iter().map(ThreatId::to_string).collect(),
            attack_patterns: self
                .attack_patterns
                .into_iter()
                .map(str::to_string)
                .collect(),
            events: self.events.into_iter().map(str::to_string).collect(),
            references: self.references,
        }
    }
}
