//! One reason per change of a diff: the rule it falls under, the item it is about and a
//! message for people.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::messages::{applicability_message, field_message, field_message_within, one_line};
use super::rules::{Rule, field_rule, property_field_rule};
use super::{Bump, BumpReport};
use crate::versioning::applicability::{Applicability, Direction, canonical_text};
use crate::versioning::diff::{
    Change, Deprecation, Diff, EventChange, FieldChange, ItemChange, PropertyChange,
    PropertyChangeKind,
};

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
    Activity,
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
            SubjectKind::Activity => "activity",
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
    for change in &diff.activities {
        reasons.item(SubjectKind::Activity, change, &inherited);
    }
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

/// An activity's `when` rewritten (layout, redundant parentheses) requires it where it did.
fn rule_of(rule: Rule, field: &FieldChange) -> Rule {
    let same_rule = || match (field.old.as_str(), field.new.as_str()) {
        (Some(old), Some(new)) => canonical_text(old) == canonical_text(new),
        _ => false,
    };
    if rule == Rule::ActivityRuleChanged && same_rule() {
        Rule::RewrittenSameEffect
    } else {
        rule
    }
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
                if kind == SubjectKind::Activity {
                    self.push(
                        Rule::ItemRemoved,
                        kind,
                        id,
                        "removed: a model's `[[activity-done]]` naming it no longer validates"
                            .to_string(),
                    );
                } else if *deprecated {
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
                        self.push(rule_of(rule, field), kind, id, field_message(field));
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
