//! The typed pack model, deserialized from files that passed their schema.
//!
//! Field names follow the TOML keys (kebab-case). Spans are not kept here: each item carries an
//! `Origin` and `parse::ParsedPack::locate` finds any of its fields in the file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// `pack.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub pack: PackMetadata,
    #[serde(default)]
    pub dependencies: BTreeMap<String, DependencySpec>,
    /// Catalog packs whose ids `references` cite: checked by `check`, never compiled in.
    #[serde(default)]
    pub catalogs: BTreeMap<String, DependencySpec>,
    // `[system]` is read on its own (`parse`): a mistake in one system property or tier rule
    // must not cost the manifest, whose name and tiers every other check needs.
}

/// A property of the system as a whole (`[system.properties.NAME]` in `pack.toml`), read by
/// conditions as `system.NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemProperty {
    pub name: String,
    pub definition: PropertyDefinition,
}

/// `[[system.tier-rule]]` in `pack.toml`: a rule choosing the tier of a threat model from the
/// system's properties. A pack's rules are tried in order; the first whose `when` holds chooses.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TierRule {
    /// A tier of the declaring pack.
    pub tier: String,
    /// A CEL condition over `system` only.
    pub when: String,
    /// Why systems matching `when` get this tier; shown with the chosen tier.
    pub reason: String,
}

/// `[[activity]]` in `activities/*.toml`: a security activity (a deeper threat model, DAST, a
/// penetration test, ...) that a threat model requires when `when` holds over its system and
/// its results.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Activity {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: ActivityKind,
    /// A CEL rule over `system` and `report` (`analysis::activities` lists what it may read).
    pub when: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityKind {
    DeeperThreatModel,
    Sast,
    Dast,
    PenetrationTest,
    DesignReview,
    Custom,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::DeeperThreatModel => "deeper-threat-model",
            ActivityKind::Sast => "sast",
            ActivityKind::Dast => "dast",
            ActivityKind::PenetrationTest => "penetration-test",
            ActivityKind::DesignReview => "design-review",
            ActivityKind::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackMetadata {
    pub format: u32,
    pub name: String,
    pub version: String,
    /// What an imported pack is a catalog of (`capec`, `attack-enterprise`, ...).
    pub catalog: Option<String>,
    pub description: String,
    pub license: String,
    #[serde(default)]
    pub authors: Vec<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub tiers: Vec<String>,
    /// The tier of items that name none; `None` means the last tier.
    pub default_tier: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DependencySpec {
    Requirement(String),
    Detailed {
        version: String,
        path: Option<String>,
        /// The tier of the published bundle to use (`None`: the whole pack, built without
        /// `--tier`). A registry dependency only resolves to versions built for it.
        tier: Option<String>,
    },
}

impl DependencySpec {
    pub fn requirement(&self) -> &str {
        match self {
            DependencySpec::Requirement(requirement) => requirement,
            DependencySpec::Detailed { version, .. } => version,
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            DependencySpec::Requirement(_) => None,
            DependencySpec::Detailed { path, .. } => path.as_deref(),
        }
    }

    pub fn tier(&self) -> Option<&str> {
        match self {
            DependencySpec::Requirement(_) => None,
            DependencySpec::Detailed { tier, .. } => tier.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElementKind {
    Process,
    DataStore,
    ExternalInteractor,
    DataFlow,
    TrustBoundary,
}

impl ElementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ElementKind::Process => "process",
            ElementKind::DataStore => "data-store",
            ElementKind::ExternalInteractor => "external-interactor",
            ElementKind::DataFlow => "data-flow",
            ElementKind::TrustBoundary => "trust-boundary",
        }
    }

    /// Components are the nodes of a diagram; flows and boundaries are not.
    pub fn is_component(self) -> bool {
        matches!(
            self,
            ElementKind::Process | ElementKind::DataStore | ElementKind::ExternalInteractor
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Stable,
    Deprecated,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Entity {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: Option<ElementKind>,
    pub parent: Option<String>,
    #[serde(default)]
    pub status: Status,
    pub replaced_by: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyDefinition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PropertyType {
    Bool,
    Enum,
    Int,
    String,
    List,
}

impl PropertyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::Bool => "bool",
            PropertyType::Enum => "enum",
            PropertyType::Int => "int",
            PropertyType::String => "string",
            PropertyType::List => "list",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PropertyDefinition {
    #[serde(rename = "type")]
    pub property_type: PropertyType,
    pub default: Json,
    pub description: String,
    pub question: String,
    pub rationale: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The score on the 0–100 scale of docs/pack-format.md.
    pub fn score(self) -> u32 {
        match self {
            Severity::Info => 1,
            Severity::Low => 25,
            Severity::Medium => 50,
            Severity::High => 75,
            Severity::Critical => 100,
        }
    }

    /// The level of a 0–100 score: the nearest anchor, cut at the midpoints. `None` for 0.
    pub fn of_score(score: u32) -> Option<Severity> {
        match score {
            0 => None,
            88.. => Some(Severity::Critical),
            63.. => Some(Severity::High),
            38.. => Some(Severity::Medium),
            13.. => Some(Severity::Low),
            _ => Some(Severity::Info),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    VeryLow,
    Low,
    Medium,
    High,
    VeryHigh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strength {
    Negligible,
    Weak,
    Average,
    Strong,
    Maximum,
}

impl Strength {
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Negligible => "negligible",
            Strength::Weak => "weak",
            Strength::Average => "average",
            Strength::Strong => "strong",
            Strength::Maximum => "maximum",
        }
    }

    /// The share of the risk it removes, in percent.
    pub fn percent(self) -> u32 {
        match self {
            Strength::Negligible => 0,
            Strength::Weak => 25,
            Strength::Average => 50,
            Strength::Strong => 75,
            Strength::Maximum => 100,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct References {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capec: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asvs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AttackPattern {
    pub id: String,
    pub name: String,
    pub description: String,
    pub categories: Vec<String>,
    pub applies_to: Vec<String>,
    pub condition: Option<String>,
    pub severity: Severity,
    pub likelihood: Option<Rating>,
    pub impact: Option<Rating>,
    pub tier: Option<String>,
    #[serde(default)]
    pub references: References,
    #[serde(default)]
    pub status: Status,
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    Preventive,
    Detective,
    Corrective,
    Recovery,
    Deterrent,
    Compensating,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cost {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Event {
    pub id: String,
    pub description: String,
}

/// A link from a mitigation to an attack pattern it addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Address {
    pub attack_pattern: String,
    pub strength: Strength,
    pub tier: Option<String>,
    pub condition: Option<String>,
    /// How the mitigation counters this attack pattern in particular (e.g. the text of an
    /// ATT&CK "mitigates" relationship).
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Mitigation {
    pub id: String,
    pub name: String,
    pub description: String,
    pub control: Control,
    pub cost: Cost,
    pub implementation: String,
    pub verification: String,
    #[serde(default)]
    pub events: Vec<Event>,
    pub tier: Option<String>,
    #[serde(default)]
    pub references: References,
    #[serde(default)]
    pub status: Status,
    pub replaced_by: Option<String>,
    #[serde(default)]
    pub addresses: Vec<Address>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Override {
    pub target: String,
    pub reason: String,
    pub disable: Option<bool>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub implementation: Option<String>,
    pub verification: Option<String>,
    pub severity: Option<Severity>,
    pub likelihood: Option<Rating>,
    pub impact: Option<Rating>,
    pub tier: Option<String>,
    pub status: Option<Status>,
    pub strength: Option<Strength>,
    pub condition: Option<String>,
    #[serde(default)]
    pub add_addresses: Vec<Address>,
    /// The content digest of the target when the override was last reviewed
    /// (`threatpack overrides refresh`).
    pub upstream_digest: Option<String>,
}

/// A pack test: a small system model and the findings expected on it. The file is the
/// model's tables plus `[test]`: `from_json` splits them (serde cannot flatten a struct that
/// denies unknown fields).
#[derive(Debug, Clone)]
pub struct PackTest {
    pub test: TestExpectations,
    pub model: Model,
}

impl PackTest {
    pub fn from_json(mut json: Json) -> Result<PackTest, serde_json::Error> {
        let test = match json
            .as_object_mut()
            .and_then(|object| object.remove("test"))
        {
            Some(test) => serde_json::from_value(test)?,
            None => return Err(serde::de::Error::missing_field("test")),
        };
        Ok(PackTest {
            test,
            model: serde_json::from_value(json)?,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TestExpectations {
    pub description: String,
    pub tier: Option<String>,
    #[serde(default)]
    pub expect: Vec<String>,
    #[serde(default)]
    pub expect_absent: Vec<String>,
    /// With `tier = "auto"`: the tier the pack's tier rules must choose.
    pub expect_tier: Option<String>,
    /// Exactly the activities the results must require (ids, local or qualified).
    pub expect_activities: Option<Vec<String>>,
}

/// A system model (see schema/model.schema.json): what `threatpack apply` reads, and what a
/// pack test embeds.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Model {
    /// Name and description of the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelInfo>,
    /// System-level facts (`handles_personal_data = true`), typed by the pack's system properties.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub system: BTreeMap<String, Json>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<ModelElement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flow: Vec<ModelFlow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<ModelBoundary>,
    /// What is already in place, planned or decided, per mitigation and place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mitigation_status: Vec<MitigationStatus>,
    /// User stories with their WITHOUT clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub story: Vec<Story>,
    /// Security activities done, with when and the evidence.
    #[serde(
        default,
        rename = "activity-done",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub activity_done: Vec<ActivityDone>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `out-of-scope` on a model element: a flag, or the reason why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OutOfScope {
    Flag(bool),
    Reason(String),
}

impl OutOfScope {
    /// The reason, if out of scope: `Some("")` when none was given, `None` when in scope.
    pub fn reason(&self) -> Option<&str> {
        match self {
            OutOfScope::Flag(true) => Some(""),
            OutOfScope::Flag(false) => None,
            OutOfScope::Reason(reason) => Some(reason),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelElement {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub kind: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub properties: BTreeMap<String, Json>,
    /// Out of the threat model's scope: the element gets no threats (`out-of-scope = true`, or
    /// the reason as text). It still takes part in flows and boundaries.
    #[serde(
        default,
        rename = "out-of-scope",
        skip_serializing_if = "Option::is_none"
    )]
    pub out_of_scope: Option<OutOfScope>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFlow {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub kind: String,
    pub source: String,
    pub target: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub properties: BTreeMap<String, Json>,
    /// Out of the threat model's scope: the element gets no threats (`out-of-scope = true`, or
    /// the reason as text). It still takes part in flows and boundaries.
    #[serde(
        default,
        rename = "out-of-scope",
        skip_serializing_if = "Option::is_none"
    )]
    pub out_of_scope: Option<OutOfScope>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBoundary {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub kind: String,
    pub contains: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub properties: BTreeMap<String, Json>,
    /// Out of the threat model's scope: the element gets no threats (`out-of-scope = true`, or
    /// the reason as text). It still takes part in flows and boundaries.
    #[serde(
        default,
        rename = "out-of-scope",
        skip_serializing_if = "Option::is_none"
    )]
    pub out_of_scope: Option<OutOfScope>,
}

/// `[[mitigation-status]]`: the state of a mitigation at some places of the system.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MitigationStatus {
    /// A mitigation id: local to the applied pack, or qualified.
    pub mitigation: String,
    /// The elements it applies to; empty means everywhere the mitigation is relevant. An entry
    /// naming the element wins over one that does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at: Vec<String>,
    pub status: ImplementationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// With `accepted-risk` (required there): who accepted the risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// With `accepted-risk` (required there): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `accepted-risk` (required there): the last day it holds, `YYYY-MM-DD`; after it the
    /// threat counts as unmitigated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A governed risk acceptance: who accepted the risk, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Acceptance {
    pub owner: String,
    pub reason: String,
    /// The last day it holds, `YYYY-MM-DD`.
    pub until: String,
    /// Past `until` (on the report's date): the threat counts as unmitigated.
    pub expired: bool,
}

/// Where a mitigation stands at one place. `Missing` is what nobody recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImplementationStatus {
    Existing,
    Planned,
    NotApplicable,
    AcceptedRisk,
    Missing,
}

impl ImplementationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImplementationStatus::Existing => "existing",
            ImplementationStatus::Planned => "planned",
            ImplementationStatus::NotApplicable => "not-applicable",
            ImplementationStatus::AcceptedRisk => "accepted-risk",
            ImplementationStatus::Missing => "missing",
        }
    }
}

/// `[[activity-done]]`: a security activity done, so no longer owed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityDone {
    /// An activity id: local to a pack compiled in, or qualified (`ns/pack:activity/id`).
    pub id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// A link to the result: a report, a ticket, a pipeline run.
    pub evidence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `[[story]]`: a user story and the things that must not happen on the way (WITHOUT clauses).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Story {
    pub id: String,
    /// "As a customer I want to pay by card so that I can buy goods".
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<Without>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Without {
    /// "having my card data stolen".
    pub text: String,
    /// The threats it rules out: `ATTACK-PATTERN` (anywhere) or `ATTACK-PATTERN@ELEMENT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threats: Vec<String>,
}

/// A table of values that refuses a key given twice, as the document parsers do: serde's
/// `BTreeMap` keeps the last silently, and a JSON model can be deserialized without them.
pub(crate) fn unique_keys<'de, D>(deserializer: D) -> Result<BTreeMap<String, Json>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct UniqueKeys;

    impl<'de> serde::de::Visitor<'de> for UniqueKeys {
        type Value = BTreeMap<String, Json>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a table")
        }

        fn visit_map<A>(self, mut map: A) -> Result<Self::Value, A::Error>
        where
            A: serde::de::MapAccess<'de>,
        {
            let mut values = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, Json>()? {
                if values.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                }
                values.insert(key, value);
            }
            Ok(values)
        }
    }

    deserializer.deserialize_map(UniqueKeys)
}

/// Whether a JSON value fits a property definition (type, range, allowed values): for defaults,
/// model values and system values.
pub fn value_fits(definition: &PropertyDefinition, value: &Json) -> Result<(), String> {
    PropertyValue::of_json(value).fits(definition)
}

/// A property value as validation reads it: from a JSON tree, or from a model read flat
/// (`system::flat`), whose strings are ranges of one text. Plain values (bool, integer,
/// string, list of strings) have their own variants; anything else stays JSON.
#[derive(Debug, Clone, Copy)]
pub enum PropertyValue<'a> {
    Bool(bool),
    Int(i64),
    String(&'a str),
    List(TextList<'a>),
    Json(&'a Json),
}

/// The strings of a list value, as ranges of one text.
#[derive(Debug, Clone, Copy)]
pub struct TextList<'a> {
    pub text: &'a str,
    pub items: &'a [TextRange],
}

impl<'a> TextList<'a> {
    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        self.items.iter().map(move |item| item.of(self.text))
    }
}

/// A range of a text held elsewhere (`u32`: a model file is at most 64 MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRange {
    pub start: u32,
    pub end: u32,
}

impl TextRange {
    pub fn of(self, text: &str) -> &str {
        text.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

impl<'a> PropertyValue<'a> {
    pub fn of_json(value: &'a Json) -> PropertyValue<'a> {
        match value {
            Json::Bool(boolean) => PropertyValue::Bool(*boolean),
            Json::Number(number) => match number.as_i64() {
                Some(integer) => PropertyValue::Int(integer),
                None => PropertyValue::Json(value),
            },
            Json::String(text) => PropertyValue::String(text),
            _ => PropertyValue::Json(value),
        }
    }

    /// Whether the value fits a property definition (type, range, allowed values).
    pub fn fits(self, definition: &PropertyDefinition) -> Result<(), String> {
        match (definition.property_type, self) {
            (PropertyType::Bool, PropertyValue::Bool(_)) => Ok(()),
            (PropertyType::String, PropertyValue::String(_)) => Ok(()),
            (PropertyType::Int, PropertyValue::Int(number)) => {
                match (definition.min, definition.max) {
                    (Some(min), _) if number < min => {
                        Err(format!("{number} is below the minimum {min}"))
                    }
                    (_, Some(max)) if number > max => {
                        Err(format!("{number} is above the maximum {max}"))
                    }
                    _ => Ok(()),
                }
            }
            (PropertyType::Enum, PropertyValue::String(text)) => {
                if definition.values.iter().any(|value| value == text) {
                    Ok(())
                } else {
                    Err(format!(
                        "`{text}` is not one of {}",
                        quote_values(&definition.values)
                    ))
                }
            }
            (PropertyType::List, PropertyValue::List(items)) => {
                list_fits(definition, items.iter().map(Some))
            }
            (PropertyType::List, PropertyValue::Json(Json::Array(items))) => {
                list_fits(definition, items.iter().map(Json::as_str))
            }
            (property_type, _) => Err(format!(
                "a {} property needs {}",
                property_type.as_str(),
                match property_type {
                    PropertyType::Bool => "`true` or `false`",
                    PropertyType::Int => "an integer",
                    PropertyType::String | PropertyType::Enum => "a string",
                    PropertyType::List => "an array of strings",
                }
            )),
        }
    }
}

/// The items of a list value (`None`: not a string) against the allowed values.
fn list_fits<'t>(
    definition: &PropertyDefinition,
    items: impl Iterator<Item = Option<&'t str>>,
) -> Result<(), String> {
    for item in items {
        match item {
            Some(text) if definition.values.iter().any(|value| value == text) => {}
            Some(text) => {
                return Err(format!(
                    "`{text}` is not one of {}",
                    quote_values(&definition.values)
                ));
            }
            None => return Err("a list holds strings".to_string()),
        }
    }
    Ok(())
}

fn quote_values(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!("`{value}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
