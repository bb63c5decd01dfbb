//! The compiled knowledge base: `kb.json` in a bundle (schema/kb.schema.json).
//!
//! Every id is qualified (`namespace/pack:kind/id`), every list is sorted, and every field
//! carries where its value came from, so that a consumer needs nothing but this file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{
    ActivityKind, Control, Cost, ElementKind, Event, PropertyDefinition, Rating, References,
    Severity, Status, Strength,
};

/// The version of the `kb.json` format.
pub const KB_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KnowledgeBase {
    pub format: u32,
    /// The pack that was built.
    pub pack: String,
    pub version: String,
    /// The tier selected at build time; `None` when the whole pack was compiled.
    pub tier: Option<String>,
    /// The built pack's tiers, smallest selection first; every `tier` below is one of them.
    pub tiers: Vec<String>,
    /// The built pack and every dependency compiled into it, with licence and attribution.
    pub packs: Vec<PackInfo>,
    /// The system-level properties of every pack compiled in, by name: what `system.NAME`
    /// reads in conditions and tier rules, and what a model's `[system]` sets.
    #[serde(default)]
    pub system_properties: BTreeMap<String, CompiledSystemProperty>,
    /// The rules choosing the tier of a threat model, in the order they are tried: the first
    /// whose `when` holds chooses its `tier`; when none holds (or there are none), the first
    /// of `tiers`.
    #[serde(default)]
    pub tier_rules: Vec<CompiledTierRule>,
    /// The security activities of every pack compiled in, in dependency order then as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<CompiledActivity>,
    pub entities: Vec<CompiledEntity>,
    pub attack_patterns: Vec<CompiledAttackPattern>,
    pub mitigations: Vec<CompiledMitigation>,
    pub links: Vec<CompiledLink>,
    /// Every override of every pack, applied or not.
    pub overrides: Vec<AppliedOverride>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Paths, inside the bundle, of the pack's licence and notice files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<String>,
}

/// Where a field's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Source {
    pub pack: String,
    pub version: String,
    /// The file, relative to the pack's directory.
    pub file: String,
    pub line: usize,
    /// Set when an override gave the value: its reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Field name → where its value came from (`properties.NAME` for entity properties).
pub type Provenance = BTreeMap<String, Source>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompiledEntity {
    pub id: String,
    pub pack: String,
    pub name: String,
    pub description: String,
    pub kind: ElementKind,
    pub parent: Option<String>,
    /// Parent, grandparent, ...: an attack pattern applying to any of them applies here.
    pub ancestors: Vec<String>,
    pub status: Status,
    pub replaced_by: Option<String>,
    /// Every property, inherited ones included (the nearest declaration wins).
    pub properties: BTreeMap<String, CompiledProperty>,
    pub provenance: Provenance,
}

// No `deny_unknown_fields`: serde does not support it together with `flatten`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CompiledProperty {
    #[serde(flatten)]
    pub definition: PropertyDefinition,
    /// The entity that declares it (itself or an ancestor).
    pub declared_by: String,
}

// No `deny_unknown_fields`: serde does not support it together with `flatten`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CompiledSystemProperty {
    #[serde(flatten)]
    pub definition: PropertyDefinition,
    /// The pack whose declaration this is: of the packs declaring the property, the one that
    /// depends on the others (a pack may redeclare a dependency's, keeping its type); between
    /// packs that do not depend on each other, the later in dependency order.
    pub declared_by: String,
    /// Where that declaration is written (`system.properties.NAME` of its `pack.toml`).
    pub provenance: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompiledTierRule {
    /// The tier chosen, among the built pack's `tiers` (a dependency's tier mapped onto them
    /// like its items' tiers: by name, else by rank).
    pub tier: String,
    /// The CEL condition over `system` that must hold.
    pub when: String,
    /// Why systems matching `when` get this tier.
    pub reason: String,
    /// Where the rule is written (its `[[system.tier-rule]]` header).
    pub provenance: Source,
}

/// A security activity (`[[activity]]`) a threat model requires when `when` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompiledActivity {
    /// Qualified: `namespace/pack:activity/id`.
    pub id: String,
    pub pack: String,
    pub name: String,
    pub description: String,
    pub kind: ActivityKind,
    /// The CEL rule over `system` and `report`.
    pub when: String,
    /// Where the activity is written (its `[[activity]]` header).
    pub provenance: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompiledAttackPattern {
    pub id: String,
    pub pack: String,
    pub name: String,
    pub description: String,
    pub categories: Vec<String>,
    /// The entities named by `applies-to`, qualified.
    pub applies_to: Vec<String>,
    /// Every entity it applies to: those named and their descendants.
    pub matches: Vec<String>,
    pub condition: Option<String>,
    pub severity: Severity,
    pub likelihood: Option<Rating>,
    pub impact: Option<Rating>,
    pub tier: String,
    pub references: References,
    pub status: Status,
    pub replaced_by: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompiledMitigation {
    pub id: String,
    pub pack: String,
    pub name: String,
    pub description: String,
    pub control: Control,
    pub cost: Cost,
    pub implementation: String,
    pub verification: String,
    pub events: Vec<Event>,
    pub tier: String,
    pub references: References,
    pub status: Status,
    pub replaced_by: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CompiledLink {
    pub mitigation: String,
    pub attack_pattern: String,
    pub strength: Strength,
    /// The effective tier: the largest of the link's own tier and both of its ends'.
    pub tier: String,
    pub condition: Option<String>,
    /// How the mitigation counters this attack pattern in particular; absent when the pack
    /// says nothing (kept out of `kb.json` then, so older knowledge bases read the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AppliedOverride {
    pub target: String,
    /// The pack that declares it.
    pub pack: String,
    pub file: String,
    pub line: usize,
    pub reason: String,
    /// The fields it sets.
    pub fields: Vec<String>,
    /// Fields whose value another override replaced (a pack depending on this one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_digest: Option<String>,
}

impl KnowledgeBase {
    pub fn tier_rank(&self, tier: &str) -> Option<usize> {
        self.tiers.iter().position(|known| known == tier)
    }
}
