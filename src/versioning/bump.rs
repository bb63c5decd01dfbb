//! The semver bump a diff requires, with one reason per change, and whether a declared version
//! is bumped enough over a baseline. The rules and why: docs/versioning.md.
//!
//! The levels are about meaning, whatever the version: a `Major` change breaks what consumers
//! rely on. How a level maps onto version numbers follows cargo for 0.x versions: in `0.y.z`, a
//! major change needs `0.(y+1).0` and anything else `0.y.(z+1)`; in `0.0.z` every release may
//! break.

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;
use serde::Serialize;
use serde_json::Value as Json;

use super::applicability::{Applicability, Direction};
use super::diff::{
    Change, Deprecation, Diff, EventChange, FieldChange, ItemChange, PropertyChange,
    PropertyChangeKind,
};
use crate::render::short_json;

/// A semver level, smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bump {
    /// Nothing changed.
    None,
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

macro_rules! rules {
    ($($variant:ident => $code:literal, $level:ident, $summary:literal;)*) => {
        /// Why a change needs the bump it needs. Every rule is documented in
        /// docs/versioning.md (a test checks).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            pub const ALL: &[Rule] = &[$(Rule::$variant,)*];

            pub fn code(self) -> &'static str {
                match self {
                    $(Rule::$variant => $code,)*
                }
            }

            pub fn level(self) -> Bump {
                match self {
                    $(Rule::$variant => Bump::$level,)*
                }
            }

            /// One line saying what the rule covers.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Rule::$variant => $summary,)*
                }
            }
        }
    };
}

rules! {
    ItemRemoved => "item-removed", Major, "an entity, attack pattern or mitigation is gone (a renamed id is one removed and one added)";
    RemovedWithoutDeprecation => "removed-without-deprecation", Major, "it was removed without being deprecated in the baseline first";
    LinkRemoved => "link-removed", Major, "a mitigation no longer addresses an attack pattern";
    PropertyRemoved => "property-removed", Major, "a property of an entity, or a system property, is gone";
    PropertyTypeChanged => "property-type-changed", Major, "a property has another type";
    PropertyDefaultChanged => "property-default-changed", Major, "a property has another default";
    PropertyRangeNarrowed => "property-range-narrowed", Major, "an int property's `min` rose or its `max` fell";
    EnumValueRemoved => "enum-value-removed", Major, "an enum or list property no longer accepts a value";
    EntityKindChanged => "entity-kind-changed", Major, "an entity is another kind of element";
    EventRemoved => "event-removed", Major, "a detection event of a mitigation is gone";
    ApplicabilityMayGrow => "applicability-may-grow", Major, "an attack pattern may apply to elements it did not (or it cannot be told)";
    TierRemoved => "tier-removed", Major, "a tier is gone";
    TiersReordered => "tiers-reordered", Major, "the tiers are in another order";
    UnclassifiedChange => "unclassified-change", Major, "a field this version of threatpack does not classify changed";
    ItemAdded => "item-added", Minor, "a new entity, attack pattern or mitigation";
    LinkAdded => "link-added", Minor, "a mitigation addresses another attack pattern";
    PropertyAdded => "property-added", Minor, "a new property (with a default)";
    EnumValueAdded => "enum-value-added", Minor, "an enum or list property accepts another value";
    PropertyRangeWidened => "property-range-widened", Minor, "an int property's `min` fell or its `max` rose";
    TierAdded => "tier-added", Minor, "a new tier";
    Deprecated => "deprecated", Minor, "an item is deprecated (with or without a replacement)";
    Undeprecated => "undeprecated", Minor, "a deprecated item is stable again";
    ReplacementChanged => "replacement-changed", Minor, "a deprecated item names another replacement";
    EntityParentChanged => "entity-parent-changed", Minor, "an entity inherits from another parent";
    ApplicabilityNarrowed => "applicability-narrowed", Minor, "an attack pattern applies to fewer elements, never more";
    SeverityChanged => "severity-changed", Minor, "an attack pattern's severity changed";
    RatingChanged => "rating-changed", Minor, "an attack pattern's likelihood or impact changed";
    CategoriesChanged => "categories-changed", Minor, "an attack pattern's STRIDE categories changed";
    TierChanged => "tier-changed", Minor, "an attack pattern, mitigation or link is in another tier";
    ControlOrCostChanged => "control-or-cost-changed", Minor, "a mitigation's control type or cost changed";
    StrengthChanged => "strength-changed", Minor, "a link's strength changed";
    LinkConditionChanged => "link-condition-changed", Minor, "where a link counts changed";
    EventAdded => "event-added", Minor, "a mitigation has a new detection event";
    TierRulesChanged => "tier-rules-changed", Minor, "the tier rules choose differently (added, removed, reordered)";
    LicenseChanged => "license-changed", Minor, "a compiled pack's licence changed";
    DocumentationChanged => "documentation-changed", Patch, "names, descriptions, questions, rationale, references, implementation and verification text, reasons";
    RewrittenSameEffect => "rewritten-same-effect", Patch, "a condition or `applies-to` was rewritten and applies to the same elements";
    PropertyDeclarationMoved => "property-declaration-moved", Patch, "an inherited property is declared by another entity, unchanged";
    CompiledPacksChanged => "compiled-packs-changed", Patch, "a dependency compiled in was added, removed or has another version (what it changes is listed item by item)";
}

/// What a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    Entity,
    AttackPattern,
    Mitigation,
    Link,
    SystemProperty,
    Tier,
    TierRule,
    Pack,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Entity => "entity",
            SubjectKind::AttackPattern => "attack pattern",
            SubjectKind::Mitigation => "mitigation",
            SubjectKind::Link => "link",
            SubjectKind::SystemProperty => "system property",
            SubjectKind::Tier => "tier",
            SubjectKind::TierRule => "tier rule",
            SubjectKind::Pack => "pack",
        }
    }
}

/// One change and the bump it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Reason {
    pub level: Bump,
    pub rule: Rule,
    pub kind: SubjectKind,
    /// The item: a qualified id, `MITIGATION → ATTACK-PATTERN` for a link, a system property's
    /// or tier's name, a tier rule's tier and condition, a pack's name.
    pub item: String,
    /// What changed, for people (pack text quoted as JSON, on one line).
    pub message: String,
}

/// The bump a diff requires and every reason, most severe first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BumpReport {
    pub required: Bump,
    pub reasons: Vec<Reason>,
}

/// The bump `diff` requires, with a reason per change. A link removed with its attack pattern
/// or mitigation is covered by that removal's reason, and a property change an entity only
/// inherits by the reason on the entity declaring the property.
pub fn required_bump(diff: &Diff) -> BumpReport {
    let mut reasons = Reasons {
        list: Vec::new(),
        baseline: &diff.old.version,
    };
    reasons.tiers(diff);
    reasons.packs(diff);
    let inherited = inherited_property_changes(diff);
    for (kind, changes) in [
        (SubjectKind::Entity, &diff.entities),
        (SubjectKind::AttackPattern, &diff.attack_patterns),
        (SubjectKind::Mitigation, &diff.mitigations),
    ] {
        for change in changes {
            reasons.item(kind, change, &inherited);
        }
    }
    reasons.links(diff);
    for change in &diff.system_properties {
        reasons.property(SubjectKind::SystemProperty, "", "", change);
    }
    reasons.tier_rules(diff);
    let mut list = reasons.list;
    // Most severe first; within a level, in diff order.
    list.sort_by_key(|reason| std::cmp::Reverse(reason.level));
    BumpReport {
        required: list
            .iter()
            .map(|reason| reason.level)
            .max()
            .unwrap_or(Bump::None),
        reasons: list,
    }
}

/// For each entity, the property changes it only inherits: the declaring entity (itself
/// changed the same way) carries the reason.
fn inherited_property_changes(diff: &Diff) -> BTreeSet<(&str, &str)> {
    let by_entity: BTreeMap<&str, &[PropertyChange]> = diff
        .entities
        .iter()
        .filter_map(|change| match &change.change {
            Change::Modified(modification) => {
                Some((change.id.as_str(), modification.properties.as_slice()))
            }
            _ => None,
        })
        .collect();
    let mut inherited = BTreeSet::new();
    for (entity, properties) in &by_entity {
        for property in *properties {
            let declared_by = property.declared_by.as_str();
            if declared_by != *entity
                && by_entity
                    .get(declared_by)
                    .is_some_and(|declaring| declaring.iter().any(|other| other == property))
            {
                inherited.insert((*entity, property.name.as_str()));
            }
        }
    }
    inherited
}

struct Reasons<'d> {
    list: Vec<Reason>,
    baseline: &'d str,
}

impl Reasons<'_> {
    fn push(&mut self, rule: Rule, kind: SubjectKind, item: &str, message: String) {
        self.list.push(Reason {
            level: rule.level(),
            rule,
            kind,
            item: item.to_string(),
            message,
        });
    }

    fn tiers(&mut self, diff: &Diff) {
        for tier in &diff.tiers.removed {
            self.push(
                Rule::TierRemoved,
                SubjectKind::Tier,
                tier,
                "removed".to_string(),
            );
        }
        for tier in &diff.tiers.added {
            self.push(
                Rule::TierAdded,
                SubjectKind::Tier,
                tier,
                "added".to_string(),
            );
        }
        if diff.tiers.reordered {
            self.push(
                Rule::TiersReordered,
                SubjectKind::Tier,
                "tiers",
                "the tiers are in another order: a tier selection now keeps other items"
                    .to_string(),
            );
        }
    }

    fn packs(&mut self, diff: &Diff) {
        for change in &diff.packs {
            match (&change.old_version, &change.new_version) {
                (None, Some(version)) => self.push(
                    Rule::CompiledPacksChanged,
                    SubjectKind::Pack,
                    &change.name,
                    format!("compiled in ({version})"),
                ),
                (Some(version), None) => self.push(
                    Rule::CompiledPacksChanged,
                    SubjectKind::Pack,
                    &change.name,
                    format!("no longer compiled in (was {version})"),
                ),
                (Some(old), Some(new)) => {
                    if old != new && change.name != diff.new.pack {
                        self.push(
                            Rule::CompiledPacksChanged,
                            SubjectKind::Pack,
                            &change.name,
                            format!("{old} → {new}"),
                        );
                    }
                    for field in &change.fields {
                        let rule = if field.field == "license" {
                            Rule::LicenseChanged
                        } else {
                            Rule::DocumentationChanged
                        };
                        self.push(rule, SubjectKind::Pack, &change.name, field_message(field));
                    }
                }
                (None, None) => {}
            }
        }
    }

    fn item(&mut self, kind: SubjectKind, change: &ItemChange, inherited: &BTreeSet<(&str, &str)>) {
        let id = change.id.as_str();
        match &change.change {
            Change::Added => self.push(Rule::ItemAdded, kind, id, "added".to_string()),
            Change::Removed {
                deprecated,
                replaced_by,
            } => {
                let replacement = replaced_by
                    .as_deref()
                    .map(|replacement| format!("; its replacement is `{replacement}`"))
                    .unwrap_or_default();
                if *deprecated {
                    self.push(
                        Rule::ItemRemoved,
                        kind,
                        id,
                        format!("removed (deprecated in {}{replacement})", self.baseline),
                    );
                } else {
                    self.push(Rule::ItemRemoved, kind, id, "removed".to_string());
                    self.push(
                        Rule::RemovedWithoutDeprecation,
                        kind,
                        id,
                        format!(
                            "was not deprecated in {}: deprecate it first (`status = \"deprecated\"`, `replaced-by`) and remove it in a later major version",
                            self.baseline
                        ),
                    );
                }
            }
            Change::Modified(modification) => {
                for field in &modification.fields {
                    if let Some(rule) = field_rule(kind, &field.field) {
                        self.push(rule, kind, id, field_message(field));
                    }
                }
                if let Some(deprecation) = &modification.deprecation {
                    self.deprecation(kind, id, deprecation);
                }
                for property in &modification.properties {
                    if !inherited.contains(&(id, property.name.as_str())) {
                        self.property(kind, id, "property ", property);
                    }
                }
                for event in &modification.events {
                    self.event(kind, id, event);
                }
                if let Some(applicability) = &modification.applicability {
                    self.applicability(kind, id, &modification.fields, applicability);
                }
            }
        }
    }

    fn deprecation(&mut self, kind: SubjectKind, id: &str, deprecation: &Deprecation) {
        let quoted = |replacement: &Option<String>| {
            replacement
                .as_deref()
                .map_or("none".to_string(), |replacement| format!("`{replacement}`"))
        };
        let (rule, message) = match deprecation {
            Deprecation::Deprecated {
                replaced_by: Some(replacement),
            } => (
                Rule::Deprecated,
                format!("deprecated; replaced by `{replacement}`"),
            ),
            Deprecation::Deprecated { replaced_by: None } => (
                Rule::Deprecated,
                "deprecated, without a replacement".to_string(),
            ),
            Deprecation::Undeprecated => (Rule::Undeprecated, "no longer deprecated".to_string()),
            Deprecation::ReplacementChanged { old, new } => (
                Rule::ReplacementChanged,
                format!("replacement {} → {}", quoted(old), quoted(new)),
            ),
        };
        self.push(rule, kind, id, message);
    }

    /// `prefix` is `"property "` for an entity's properties, empty for system properties.
    fn property(&mut self, kind: SubjectKind, item: &str, prefix: &str, change: &PropertyChange) {
        let name = &change.name;
        let (item, label) = if item.is_empty() {
            (name.as_str(), String::new())
        } else {
            (item, format!("{prefix}`{name}`: "))
        };
        match &change.change {
            PropertyChangeKind::Added { definition } => self.push(
                Rule::PropertyAdded,
                kind,
                item,
                format!(
                    "{label}added ({}, default {})",
                    definition.property_type.as_str(),
                    definition.default
                ),
            ),
            PropertyChangeKind::Removed { .. } => {
                self.push(Rule::PropertyRemoved, kind, item, format!("{label}removed"));
            }
            PropertyChangeKind::Modified {
                fields,
                values_added,
                values_removed,
            } => {
                for value in values_removed {
                    self.push(
                        Rule::EnumValueRemoved,
                        kind,
                        item,
                        format!("{label}value {} removed", Json::from(value.as_str())),
                    );
                }
                for value in values_added {
                    self.push(
                        Rule::EnumValueAdded,
                        kind,
                        item,
                        format!("{label}value {} added", Json::from(value.as_str())),
                    );
                }
                for field in fields {
                    self.push(
                        property_field_rule(field),
                        kind,
                        item,
                        format!("{label}{}", field_message(field)),
                    );
                }
            }
        }
    }

    fn event(&mut self, kind: SubjectKind, id: &str, event: &EventChange) {
        let (rule, message) = match (&event.old, &event.new) {
            (None, _) => (Rule::EventAdded, format!("event `{}` added", event.id)),
            (_, None) => (Rule::EventRemoved, format!("event `{}` removed", event.id)),
            (Some(_), Some(_)) => (
                Rule::DocumentationChanged,
                format!("event `{}`: description changed", event.id),
            ),
        };
        self.push(rule, kind, id, message);
    }

    /// One reason for the change of `condition` and `applies-to` (listed in the message) and
    /// what it does to the elements.
    fn applicability(
        &mut self,
        kind: SubjectKind,
        id: &str,
        fields: &[FieldChange],
        applicability: &Applicability,
    ) {
        let mut parts: Vec<String> = fields
            .iter()
            .filter(|field| matches!(field.field.as_str(), "condition" | "applies-to"))
            .map(|field| field_message_within(field, 240))
            .collect();
        // Only `matches` changed, by entities that are new: nothing an old model holds.
        if parts.is_empty() && applicability.direction == Direction::Unchanged {
            return;
        }
        parts.push(applicability_message(applicability));
        let message = parts.join("; ");
        let rule = if kind == SubjectKind::Link {
            if applicability.direction == Direction::Unchanged {
                Rule::RewrittenSameEffect
            } else {
                Rule::LinkConditionChanged
            }
        } else if applicability.direction.may_grow() {
            Rule::ApplicabilityMayGrow
        } else if applicability.direction.may_shrink() {
            Rule::ApplicabilityNarrowed
        } else {
            Rule::RewrittenSameEffect
        };
        self.push(rule, kind, id, message);
    }

    fn links(&mut self, diff: &Diff) {
        let removed: BTreeSet<&str> = diff
            .mitigations
            .iter()
            .chain(&diff.attack_patterns)
            .filter(|change| matches!(change.change, Change::Removed { .. }))
            .map(|change| change.id.as_str())
            .collect();
        for link in &diff.links {
            let item = format!("{} → {}", link.mitigation, link.attack_pattern);
            match &link.change {
                Change::Added => {
                    self.push(
                        Rule::LinkAdded,
                        SubjectKind::Link,
                        &item,
                        "added".to_string(),
                    );
                }
                Change::Removed { .. } => {
                    if !removed.contains(link.mitigation.as_str())
                        && !removed.contains(link.attack_pattern.as_str())
                    {
                        self.push(
                            Rule::LinkRemoved,
                            SubjectKind::Link,
                            &item,
                            "removed".to_string(),
                        );
                    }
                }
                Change::Modified(modification) => {
                    for field in &modification.fields {
                        if let Some(rule) = field_rule(SubjectKind::Link, &field.field) {
                            self.push(rule, SubjectKind::Link, &item, field_message(field));
                        }
                    }
                    if let Some(applicability) = &modification.applicability {
                        self.applicability(
                            SubjectKind::Link,
                            &item,
                            &modification.fields,
                            applicability,
                        );
                    }
                }
            }
        }
    }

    fn tier_rules(&mut self, diff: &Diff) {
        let rules = &diff.tier_rules;
        let label = |tier: &str, when: &str| format!("{tier} when {}", one_line(when));
        for rule in &rules.removed {
            self.push(
                Rule::TierRulesChanged,
                SubjectKind::TierRule,
                &label(&rule.tier, &rule.when),
                "removed".to_string(),
            );
        }
        for rule in &rules.added {
            self.push(
                Rule::TierRulesChanged,
                SubjectKind::TierRule,
                &label(&rule.tier, &rule.when),
                "added".to_string(),
            );
        }
        if rules.reordered {
            self.push(
                Rule::TierRulesChanged,
                SubjectKind::TierRule,
                "tier rules",
                "tried in another order".to_string(),
            );
        }
        for reason in &rules.reasons {
            self.push(
                Rule::DocumentationChanged,
                SubjectKind::TierRule,
                &label(&reason.tier, &reason.when),
                "reason changed".to_string(),
            );
        }
    }
}

/// The rule for a changed field of an item; `None` for fields another part of the diff
/// covers (deprecation, applicability, properties, events).
pub fn field_rule(kind: SubjectKind, field: &str) -> Option<Rule> {
    use SubjectKind::{AttackPattern, Entity, Link, Mitigation};
    match (kind, field) {
        (Entity | AttackPattern | Mitigation, "status" | "replaced-by") => None,
        (AttackPattern, "condition" | "applies-to" | "matches") | (Link, "condition") => None,
        (
            Entity | AttackPattern | Mitigation,
            "name" | "description" | "references" | "implementation" | "verification",
        ) => Some(Rule::DocumentationChanged),
        (Entity, "kind") => Some(Rule::EntityKindChanged),
        (Entity, "parent") => Some(Rule::EntityParentChanged),
        (AttackPattern, "categories") => Some(Rule::CategoriesChanged),
        (AttackPattern, "severity") => Some(Rule::SeverityChanged),
        (AttackPattern, "likelihood" | "impact") => Some(Rule::RatingChanged),
        (AttackPattern | Mitigation | Link, "tier") => Some(Rule::TierChanged),
        (Mitigation, "control" | "cost") => Some(Rule::ControlOrCostChanged),
        (Link, "strength") => Some(Rule::StrengthChanged),
        _ => Some(Rule::UnclassifiedChange),
    }
}

/// The rule for a changed field of a property definition (`values` are compared apart).
fn property_field_rule(field: &FieldChange) -> Rule {
    match field.field.as_str() {
        "type" => Rule::PropertyTypeChanged,
        "default" => Rule::PropertyDefaultChanged,
        "min" | "max" => range_rule(field),
        "declared-by" => Rule::PropertyDeclarationMoved,
        "description" | "question" | "rationale" => Rule::DocumentationChanged,
        _ => Rule::UnclassifiedChange,
    }
}

/// Narrowed when values valid before may be refused now.
fn range_rule(field: &FieldChange) -> Rule {
    let bound = |value: &Json| value.as_i64();
    let narrowed = match (bound(&field.old), bound(&field.new)) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(old), Some(new)) => {
            if field.field == "min" {
                new > old
            } else {
                new < old
            }
        }
    };
    if narrowed {
        Rule::PropertyRangeNarrowed
    } else {
        Rule::PropertyRangeWidened
    }
}

/// "`severity`: "high" → "critical"", long values cut.
pub fn field_message(field: &FieldChange) -> String {
    field_message_within(field, 80)
}

/// A field change with each value cut to `max` characters.
fn field_message_within(field: &FieldChange, max: usize) -> String {
    format!(
        "`{}`: {} → {}",
        field.field,
        short_json(&field.old, max),
        short_json(&field.new, max)
    )
}

/// How the elements an attack pattern or link applies to change, for people.
pub fn applicability_message(applicability: &Applicability) -> String {
    let mut parts = Vec::new();
    let proof = match applicability.proof {
        super::Proof::SameCondition => "",
        super::Proof::Exhaustive => " (every combination evaluated)",
        super::Proof::Structural => " (compared by its parts)",
        super::Proof::Unproven => " (cannot be told: taken as wider)",
    };
    parts.push(match applicability.direction {
        Direction::Unchanged => format!("applies to the same elements{proof}"),
        Direction::Narrower => format!("applies to fewer elements{proof}"),
        Direction::Wider => format!("may apply to more elements{proof}"),
        Direction::WiderAndNarrower => {
            format!("may apply to more elements and to fewer{proof}")
        }
    });
    if let Some(witness) = &applicability.witness {
        parts.push(format!("now also {witness}"));
    }
    if !applicability.entities_added.is_empty() {
        parts.push(format!(
            "now also to {}",
            quoted_list(&applicability.entities_added)
        ));
    }
    if !applicability.entities_removed.is_empty() {
        parts.push(format!(
            "no longer to {}",
            quoted_list(&applicability.entities_removed)
        ));
    }
    parts.join("; ")
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The bump a change from `baseline` to `declared` permits, `None` when `declared` is not
/// newer. With cargo's convention for 0.x: `0.1.0 → 0.2.0` and `0.0.1 → 0.0.2` permit major
/// changes, `0.1.0 → 0.1.1` minor ones. Pre-releases promise nothing to each other: from
/// `2.0.0-rc.1` to `2.0.0-rc.2` or `2.0.0`, anything goes. A pre-release declared version is
/// judged by its `major.minor.patch`.
pub fn permitted_bump(baseline: &Version, declared: &Version) -> Option<Bump> {
    if declared <= baseline {
        return None;
    }
    let triple = |version: &Version| (version.major, version.minor, version.patch);
    if !baseline.pre.is_empty() && triple(baseline) == triple(declared) {
        return Some(Bump::Major);
    }
    Some(match (baseline.major, baseline.minor) {
        (0, 0) => Bump::Major,
        (0, minor) => {
            if declared.major != 0 || declared.minor != minor {
                Bump::Major
            } else {
                Bump::Minor
            }
        }
        (major, minor) => {
            if declared.major != major {
                Bump::Major
            } else if declared.minor != minor {
                Bump::Minor
            } else {
                Bump::Patch
            }
        }
    })
}

/// The smallest version after `baseline` that permits `required` (`baseline` itself when
/// nothing changed). After a pre-release, its release.
pub fn minimum_version(baseline: &Version, required: Bump) -> Version {
    if required == Bump::None {
        return baseline.clone();
    }
    if !baseline.pre.is_empty() {
        return Version::new(baseline.major, baseline.minor, baseline.patch);
    }
    let (major, minor, patch) = (baseline.major, baseline.minor, baseline.patch);
    match (major, minor, required) {
        (0, 0, _) => Version::new(0, 0, patch + 1),
        (0, _, Bump::Major) => Version::new(0, minor + 1, 0),
        (0, _, _) => Version::new(0, minor, patch + 1),
        (_, _, Bump::Major) => Version::new(major + 1, 0, 0),
        (_, _, Bump::Minor) => Version::new(major, minor + 1, 0),
        _ => Version::new(major, minor, patch + 1),
    }
}

/// A declared version judged against a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VersionCheck {
    pub baseline: String,
    pub declared: String,
    pub required: Bump,
    /// What the declared version permits over the baseline; `None` when it is not newer.
    pub permitted: Option<Bump>,
    /// The smallest version that would do.
    pub minimum: String,
    pub ok: bool,
}

/// Whether `declared` is bumped enough over `baseline` for changes that need `required`. When
/// nothing changed, the baseline's own version is fine too.
pub fn check_version(baseline: &Version, declared: &Version, required: Bump) -> VersionCheck {
    let permitted = permitted_bump(baseline, declared);
    let ok = match required {
        Bump::None => declared >= baseline,
        _ => permitted.is_some_and(|permitted| permitted >= required),
    };
    VersionCheck {
        baseline: baseline.to_string(),
        declared: declared.to_string(),
        required,
        permitted,
        minimum: minimum_version(baseline, required).to_string(),
        ok,
    }
}

/// The version to compare `declared` with, among `published`: the highest release below it,
/// else the highest pre-release below it. Yanked versions count (consumers may have them
/// locked).
pub fn baseline_version<'v>(
    published: impl IntoIterator<Item = &'v Version>,
    declared: &Version,
) -> Option<Version> {
    let below: Vec<&Version> = published
        .into_iter()
        .filter(|version| *version < declared)
        .collect();
    below
        .iter()
        .filter(|version| version.pre.is_empty())
        .max()
        .or_else(|| below.iter().max())
        .map(|version| (*version).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).expect("a version")
    }

    #[test]
    fn permitted_bumps_follow_semver_and_cargo_for_zero_versions() {
        let cases = [
            ("1.2.3", "1.2.4", Some(Bump::Patch)),
            ("1.2.3", "1.3.0", Some(Bump::Minor)),
            ("1.2.3", "2.0.0", Some(Bump::Major)),
            ("1.2.3", "2.0.0-rc.1", Some(Bump::Major)),
            ("1.2.3", "1.2.3", None),
            ("1.2.3", "1.2.2", None),
            ("1.2.3", "1.2.3-rc.1", None),
            ("0.2.3", "0.2.4", Some(Bump::Minor)),
            ("0.2.3", "0.3.0", Some(Bump::Major)),
            ("0.2.3", "1.0.0", Some(Bump::Major)),
            ("0.0.3", "0.0.4", Some(Bump::Major)),
            ("2.0.0-rc.1", "2.0.0-rc.2", Some(Bump::Major)),
            ("2.0.0-rc.1", "2.0.0", Some(Bump::Major)),
            ("2.0.0-rc.1", "2.0.1", Some(Bump::Patch)),
        ];
        for (baseline, declared, expected) in cases {
            assert_eq!(
                permitted_bump(&version(baseline), &version(declared)),
                expected,
                "{baseline} → {declared}"
            );
        }
    }

    #[test]
    fn minimum_versions() {
        let cases = [
            ("1.2.3", Bump::Major, "2.0.0"),
            ("1.2.3", Bump::Minor, "1.3.0"),
            ("1.2.3", Bump::Patch, "1.2.4"),
            ("1.2.3", Bump::None, "1.2.3"),
            ("0.2.3", Bump::Major, "0.3.0"),
            ("0.2.3", Bump::Minor, "0.2.4"),
            ("0.0.3", Bump::Patch, "0.0.4"),
            ("2.0.0-rc.1", Bump::Major, "2.0.0"),
        ];
        for (baseline, required, expected) in cases {
            let minimum = minimum_version(&version(baseline), required);
            assert_eq!(minimum.to_string(), expected, "{baseline} {required:?}");
            // The minimum always passes its own check.
            assert!(
                check_version(&version(baseline), &minimum, required).ok,
                "{baseline} {required:?}"
            );
        }
    }

    #[test]
    fn under_bumped_versions_fail() {
        let check = |baseline: &str, declared: &str, required| {
            check_version(&version(baseline), &version(declared), required).ok
        };
        assert!(!check("1.0.0", "1.0.1", Bump::Major));
        assert!(!check("1.0.0", "1.0.1", Bump::Minor));
        assert!(!check("1.0.0", "1.0.0", Bump::Patch));
        assert!(check("1.0.0", "1.0.0", Bump::None));
        assert!(!check("1.0.0", "0.9.0", Bump::None));
        assert!(check("1.0.0", "1.1.0", Bump::Minor));
        assert!(!check("0.1.0", "0.1.1", Bump::Major));
        assert!(check("0.1.0", "0.1.1", Bump::Minor));
    }

    #[test]
    fn the_baseline_is_the_highest_release_below() {
        let published: Vec<Version> = ["1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0"]
            .iter()
            .map(|text| version(text))
            .collect();
        let baseline = |declared: &str| {
            baseline_version(&published, &version(declared)).map(|found| found.to_string())
        };
        assert_eq!(baseline("1.2.0").as_deref(), Some("1.1.0"));
        assert_eq!(baseline("1.0.1").as_deref(), Some("1.0.0"));
        assert_eq!(baseline("3.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(baseline("1.0.0"), None);
        let only_pre = [version("1.0.0-rc.1")];
        assert_eq!(
            baseline_version(&only_pre, &version("1.0.0")).map(|found| found.to_string()),
            Some("1.0.0-rc.1".to_string())
        );
    }

    /// Every field of the compiled items is classified: a field added to `kb.json` without a
    /// rule here would be judged `unclassified-change` (major) in every diff.
    #[test]
    fn every_field_of_the_compiled_items_has_a_rule() {
        use crate::versioning::diff::{
            ATTACK_PATTERN_SKIP, ENTITY_SKIP, LINK_SKIP, MITIGATION_SKIP,
        };
        let kb = crate::versioning::test_support::kb(&[
            (
                "entities/e.toml",
                r#"[[entity]]
id = "service"
name = "Service"
description = "A service."
kind = "process"

[entity.properties.port]
type = "int"
default = 443
min = 1
max = 65535
description = "D."
question = "Q?"
rationale = "R."

[[entity]]
id = "api"
name = "API"
description = "An API."
parent = "service"
"#,
            ),
            (
                "attack-patterns/a.toml",
                r#"[[attack-pattern]]
id = "x"
name = "X"
description = "An attack."
categories = ["tampering"]
applies-to = ["service"]
condition = "self.port > 1024"
severity = "low"
likelihood = "high"
impact = "low"
tier = "top"
status = "deprecated"
replaced-by = "y"

[attack-pattern.references]
cwe = [20]

[[attack-pattern]]
id = "y"
name = "Y"
description = "An attack."
categories = ["tampering"]
applies-to = ["service"]
severity = "low"
"#,
            ),
            (
                "mitigations/m.toml",
                r#"[[mitigation]]
id = "m"
name = "M"
description = "A control."
control = "preventive"
cost = "low"
implementation = "Do it."
verification = "Check it."
events = [{ id = "m.done", description = "Done." }]
tier = "top"

[mitigation.references]
cwe = [20]

[[mitigation.addresses]]
attack-pattern = "y"
strength = "strong"
tier = "standard"
condition = "self.port > 1"
"#,
            ),
        ]);
        let keys = |value: Json, skip: &[&str]| -> Vec<String> {
            value
                .as_object()
                .expect("an object")
                .keys()
                .filter(|key| !skip.contains(&key.as_str()))
                .cloned()
                .collect()
        };
        fn to_json<T: Serialize>(value: &T) -> Json {
            serde_json::to_value(value).expect("items serialize")
        }
        let samples = [
            (SubjectKind::Entity, to_json(&kb.entities[0]), ENTITY_SKIP),
            (
                SubjectKind::AttackPattern,
                to_json(&kb.attack_patterns[0]),
                ATTACK_PATTERN_SKIP,
            ),
            (
                SubjectKind::Mitigation,
                to_json(&kb.mitigations[0]),
                MITIGATION_SKIP,
            ),
            (SubjectKind::Link, to_json(&kb.links[0]), LINK_SKIP),
        ];
        for (kind, json, skip) in samples {
            for key in keys(json, skip) {
                assert_ne!(
                    field_rule(kind, &key),
                    Some(Rule::UnclassifiedChange),
                    "{kind:?} `{key}` has no rule"
                );
            }
        }
        let service = kb
            .entities
            .iter()
            .find(|entity| entity.id.ends_with("/service"))
            .expect("the service");
        let definition = to_json(&service.properties["port"].definition);
        for key in keys(definition, &["values"])
            .into_iter()
            .chain(["declared-by".to_string()])
        {
            let change = FieldChange {
                field: key.clone(),
                old: Json::Null,
                new: Json::Null,
            };
            assert_ne!(
                property_field_rule(&change),
                Rule::UnclassifiedChange,
                "property `{key}` has no rule"
            );
        }
    }

    #[test]
    fn every_rule_has_a_distinct_code() {
        let mut codes: Vec<&str> = Rule::ALL.iter().map(|rule| rule.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
    }
}
