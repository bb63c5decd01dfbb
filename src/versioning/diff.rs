//! `diff`: what changed between two knowledge bases, item by item and field by field.
//!
//! Items are matched by their qualified id, links by (mitigation, attack pattern). A renamed
//! id is a removal and an addition: nothing else can be told apart from a new item. Fields are
//! compared as they are in `kb.json`, under the same (kebab-case) names, so a consumer can set
//! them beside the fields its overrides set. Provenance (file and line of each value) is left
//! out: moving text around a pack is not a change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::applicability::{Applicability, Comparer, canonical_text};
use crate::compile::{
    CompiledActivity, CompiledAttackPattern, CompiledLink, CompiledMitigation, CompiledTierRule,
    KnowledgeBase,
};
use crate::model::{PropertyDefinition, Status};

/// Everything that changed from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Diff {
    pub old: Side,
    pub new: Side,
    pub tiers: TierChanges,
    /// The packs compiled in (the built pack and its dependencies): added, removed, or with
    /// another version or metadata.
    pub packs: Vec<PackChange>,
    pub entities: Vec<ItemChange>,
    pub attack_patterns: Vec<ItemChange>,
    pub mitigations: Vec<ItemChange>,
    pub links: Vec<LinkChange>,
    pub system_properties: Vec<PropertyChange>,
    pub tier_rules: TierRuleChanges,
    /// Security activities (`[[activity]]`): never deprecated, so a removal is always
    /// `deprecated: false`.
    pub activities: Vec<ItemChange>,
}

/// One of the two knowledge bases compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Side {
    pub pack: String,
    pub version: String,
    /// The tier the bundle was built for; `None` for the whole pack.
    pub tier: Option<String>,
}

/// An entity, attack pattern, mitigation or security activity that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ItemChange {
    /// The qualified id (`namespace/pack:kind/id`).
    pub id: String,
    /// Its name in the new version (in the old one when it was removed).
    pub name: String,
    pub change: Change,
}

/// A link (a mitigation addressing an attack pattern) that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LinkChange {
    pub mitigation: String,
    pub attack_pattern: String,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Change {
    Added,
    Removed {
        /// Whether the old version had deprecated it (announced the removal).
        deprecated: bool,
        /// The replacement the old version named.
        replaced_by: Option<String>,
    },
    Modified(Modification),
}

/// How an item present in both versions changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Modification {
    /// Every field whose value changed, as named in `kb.json` (`status` and `replaced-by`
    /// included; properties and events are listed apart).
    pub fields: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecation: Option<Deprecation>,
    /// For entities: properties added, removed or changed (inherited ones included).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyChange>,
    /// For mitigations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventChange>,
    /// For attack patterns whose `condition`, `applies-to` or `matches` changed, and links
    /// whose `condition` changed: how the set of elements they apply to changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicability: Option<Applicability>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FieldChange {
    pub field: String,
    /// `null` when the field had no value.
    pub old: Json,
    pub new: Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Deprecation {
    Deprecated {
        replaced_by: Option<String>,
    },
    Undeprecated,
    ReplacementChanged {
        old: Option<String>,
        new: Option<String>,
    },
}

/// A property of an entity, or a system property.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PropertyChange {
    pub name: String,
    /// The entity (for a system property, the pack) that declares it: in the new version, or
    /// in the old one when it was removed.
    pub declared_by: String,
    pub change: PropertyChangeKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum PropertyChangeKind {
    Added {
        definition: PropertyDefinition,
    },
    Removed {
        definition: PropertyDefinition,
    },
    Modified {
        /// Changed fields of the definition (`type`, `default`, `min`, `description`, ...;
        /// `declared-by` when another entity or pack declares it now).
        fields: Vec<FieldChange>,
        values_added: Vec<String>,
        values_removed: Vec<String>,
    },
}

/// A detection event of a mitigation: added (`old` is `None`), removed (`new` is `None`) or
/// described differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EventChange {
    pub id: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TierChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The tiers both versions have are in another order (smallest selection first).
    pub reordered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TierRuleChanges {
    /// Rules are identified by their tier and condition: a rule whose `when` changed is one
    /// removed and one added.
    pub added: Vec<TierRuleText>,
    pub removed: Vec<TierRuleText>,
    /// The rules both versions have are tried in another order.
    pub reordered: bool,
    pub reasons: Vec<TierRuleReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TierRuleText {
    pub tier: String,
    pub when: String,
    pub reason: String,
}

/// A tier rule kept, with another `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TierRuleReason {
    pub tier: String,
    pub when: String,
    pub old: String,
    pub new: String,
}

/// A pack compiled into the knowledge base: added (`old-version` is `None`), removed
/// (`new-version` is `None`), or with another version or metadata. The built pack's own
/// version is not listed (it is `old`/`new` of the diff).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackChange {
    pub name: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub fields: Vec<FieldChange>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.tiers == TierChanges::default()
            && self.packs.is_empty()
            && self.entities.is_empty()
            && self.attack_patterns.is_empty()
            && self.mitigations.is_empty()
            && self.links.is_empty()
            && self.system_properties.is_empty()
            && self.tier_rules == TierRuleChanges::default()
            && self.activities.is_empty()
    }

    /// The change of an entity, attack pattern or mitigation, by qualified id (what
    /// `threatpack update` shows for an overridden item).
    pub fn item(&self, id: &str) -> Option<&ItemChange> {
        self.entities
            .iter()
            .chain(&self.attack_patterns)
            .chain(&self.mitigations)
            .find(|change| change.id == id)
    }

    /// The change of a link, by its mitigation's and attack pattern's qualified ids.
    pub fn link(&self, mitigation: &str, attack_pattern: &str) -> Option<&LinkChange> {
        self.links.iter().find(|change| {
            change.mitigation == mitigation && change.attack_pattern == attack_pattern
        })
    }
}

impl Modification {
    fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.deprecation.is_none()
            && self.properties.is_empty()
            && self.events.is_empty()
            && self.applicability.is_none()
    }
}

/// Compares two knowledge bases. Pure; every list of the result is sorted by id.
pub fn diff(old: &KnowledgeBase, new: &KnowledgeBase) -> Diff {
    let mut comparer = Comparer::new(old, new);
    Diff {
        old: side(old),
        new: side(new),
        tiers: tier_changes(&old.tiers, &new.tiers),
        packs: pack_changes(old, new),
        entities: entity_changes(old, new),
        attack_patterns: attack_pattern_changes(old, new, &mut comparer),
        mitigations: mitigation_changes(old, new),
        links: link_changes(old, new, &mut comparer),
        system_properties: property_changes(
            old.system_properties
                .iter()
                .map(|(name, property)| (name, &property.definition, &property.declared_by)),
            new.system_properties
                .iter()
                .map(|(name, property)| (name, &property.definition, &property.declared_by)),
        ),
        tier_rules: tier_rule_changes(&old.tier_rules, &new.tier_rules),
        activities: activity_changes(old, new),
    }
}

fn side(kb: &KnowledgeBase) -> Side {
    Side {
        pack: kb.pack.clone(),
        version: kb.version.clone(),
        tier: kb.tier.clone(),
    }
}

/// The fields of two serialized values that differ, except `skip`, in name order.
fn field_changes<T: Serialize>(old: &T, new: &T, skip: &[&str]) -> Vec<FieldChange> {
    let (Json::Object(old), Json::Object(new)) = (to_json(old), to_json(new)) else {
        return Vec::new();
    };
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|name| !skip.contains(&name.as_str()))
        .filter_map(|name| {
            let old_value = old.get(name).cloned().unwrap_or(Json::Null);
            let new_value = new.get(name).cloned().unwrap_or(Json::Null);
            (old_value != new_value).then(|| FieldChange {
                field: name.clone(),
                old: old_value,
                new: new_value,
            })
        })
        .collect()
}

fn to_json<T: Serialize>(value: &T) -> Json {
    // The compiled types serialize to JSON objects with string keys: this cannot fail.
    serde_json::to_value(value).unwrap_or(Json::Null)
}

/// An item in the old version, the new one, or both.
type Pair<'a, T> = (Option<&'a T>, Option<&'a T>);

/// The items of both versions paired by `key`, in key order.
fn pair_by<'a, T, K: Ord>(
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<(K, Pair<'a, T>)> {
    let mut paired: BTreeMap<K, Pair<'a, T>> = BTreeMap::new();
    for item in old {
        paired.entry(key(item)).or_default().0 = Some(item);
    }
    for item in new {
        paired.entry(key(item)).or_default().1 = Some(item);
    }
    paired.into_iter().collect()
}

fn deprecation(
    old: (Status, &Option<String>),
    new: (Status, &Option<String>),
) -> Option<Deprecation> {
    match (old.0, new.0) {
        (Status::Stable, Status::Deprecated) => Some(Deprecation::Deprecated {
            replaced_by: new.1.clone(),
        }),
        (Status::Deprecated, Status::Stable) => Some(Deprecation::Undeprecated),
        (Status::Deprecated, Status::Deprecated) if old.1 != new.1 => {
            Some(Deprecation::ReplacementChanged {
                old: old.1.clone(),
                new: new.1.clone(),
            })
        }
        _ => None,
    }
}

/// Added and removed items, and the modification `modified` finds for the others.
fn item_changes<'a, T>(
    old: &'a [T],
    new: &'a [T],
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
    status: impl Fn(&T) -> (Status, &Option<String>),
    mut modified: impl FnMut(&'a T, &'a T) -> Modification,
) -> Vec<ItemChange> {
    let mut changes = Vec::new();
    for (_, pair) in pair_by(old, new, &id) {
        let (item, change) = match pair {
            (None, Some(added)) => (added, Change::Added),
            (Some(removed), None) => {
                let (status, replaced_by) = status(removed);
                (
                    removed,
                    Change::Removed {
                        deprecated: status == Status::Deprecated,
                        replaced_by: replaced_by.clone(),
                    },
                )
            }
            (Some(old_item), Some(new_item)) => {
                let mut modification = modified(old_item, new_item);
                modification.deprecation = deprecation(status(old_item), status(new_item));
                if modification.is_empty() {
                    continue;
                }
                (new_item, Change::Modified(modification))
            }
            (None, None) => continue,
        };
        changes.push(ItemChange {
            id: id(item).to_string(),
            name: name(item).to_string(),
            change,
        });
    }
    changes
}

/// Fields that are the item's identity, derived, or listed apart.
pub(super) const ENTITY_SKIP: &[&str] = &["id", "pack", "ancestors", "properties", "provenance"];
pub(super) const ATTACK_PATTERN_SKIP: &[&str] = &["id", "pack", "provenance"];
pub(super) const MITIGATION_SKIP: &[&str] = &["id", "pack", "events", "provenance"];
pub(super) const LINK_SKIP: &[&str] = &["mitigation", "attack-pattern", "provenance"];
pub(super) const ACTIVITY_SKIP: &[&str] = &["id", "pack", "provenance"];

fn entity_changes(old: &KnowledgeBase, new: &KnowledgeBase) -> Vec<ItemChange> {
    item_changes(
        &old.entities,
        &new.entities,
        |entity| &entity.id,
        |entity| &entity.name,
        |entity| (entity.status, &entity.replaced_by),
        |old_entity, new_entity| Modification {
            fields: field_changes(old_entity, new_entity, ENTITY_SKIP),
            properties: property_changes(
                old_entity
                    .properties
                    .iter()
                    .map(|(name, property)| (name, &property.definition, &property.declared_by)),
                new_entity
                    .properties
                    .iter()
                    .map(|(name, property)| (name, &property.definition, &property.declared_by)),
            ),
            ..Modification::default()
        },
    )
}

fn attack_pattern_changes(
    old: &KnowledgeBase,
    new: &KnowledgeBase,
    comparer: &mut Comparer<'_>,
) -> Vec<ItemChange> {
    item_changes(
        &old.attack_patterns,
        &new.attack_patterns,
        |pattern| &pattern.id,
        |pattern| &pattern.name,
        |pattern| (pattern.status, &pattern.replaced_by),
        |old_pattern: &CompiledAttackPattern, new_pattern: &CompiledAttackPattern| {
            let fields = field_changes(old_pattern, new_pattern, ATTACK_PATTERN_SKIP);
            let applicability = fields
                .iter()
                .any(|change| {
                    matches!(
                        change.field.as_str(),
                        "condition" | "applies-to" | "matches"
                    )
                })
                .then(|| {
                    comparer.applicability(
                        old_pattern.condition.as_deref(),
                        new_pattern.condition.as_deref(),
                        &old_pattern.matches,
                        &new_pattern.matches,
                    )
                });
            Modification {
                fields,
                applicability,
                ..Modification::default()
            }
        },
    )
}

fn mitigation_changes(old: &KnowledgeBase, new: &KnowledgeBase) -> Vec<ItemChange> {
    item_changes(
        &old.mitigations,
        &new.mitigations,
        |mitigation| &mitigation.id,
        |mitigation| &mitigation.name,
        |mitigation| (mitigation.status, &mitigation.replaced_by),
        |old_mitigation: &CompiledMitigation, new_mitigation: &CompiledMitigation| Modification {
            fields: field_changes(old_mitigation, new_mitigation, MITIGATION_SKIP),
            events: event_changes(old_mitigation, new_mitigation),
            ..Modification::default()
        },
    )
}

/// Activities have no status: one removed was never announced.
fn activity_changes(old: &KnowledgeBase, new: &KnowledgeBase) -> Vec<ItemChange> {
    const STABLE: (Status, &Option<String>) = (Status::Stable, &None);
    item_changes(
        &old.activities,
        &new.activities,
        |activity| &activity.id,
        |activity| &activity.name,
        |_| STABLE,
        |old_activity: &CompiledActivity, new_activity: &CompiledActivity| Modification {
            fields: field_changes(old_activity, new_activity, ACTIVITY_SKIP),
            ..Modification::default()
        },
    )
}

fn event_changes(old: &CompiledMitigation, new: &CompiledMitigation) -> Vec<EventChange> {
    let mut events: BTreeMap<&str, (Option<&str>, Option<&str>)> = BTreeMap::new();
    for event in &old.events {
        events.entry(&event.id).or_default().0 = Some(&event.description);
    }
    for event in &new.events {
        events.entry(&event.id).or_default().1 = Some(&event.description);
    }
    events
        .into_iter()
        .filter(|(_, (old, new))| old != new)
        .map(|(id, (old, new))| EventChange {
            id: id.to_string(),
            old: old.map(str::to_string),
            new: new.map(str::to_string),
        })
        .collect()
}

fn link_changes(
    old: &KnowledgeBase,
    new: &KnowledgeBase,
    comparer: &mut Comparer<'_>,
) -> Vec<LinkChange> {
    let paired = pair_by(&old.links, &new.links, |link: &CompiledLink| {
        (link.mitigation.clone(), link.attack_pattern.clone())
    });
    let matches_by_id = |kb: &'_ KnowledgeBase| -> BTreeMap<String, Vec<String>> {
        kb.attack_patterns
            .iter()
            .map(|pattern| (pattern.id.clone(), pattern.matches.clone()))
            .collect()
    };
    let (old_matches_by_id, new_matches_by_id) = (matches_by_id(old), matches_by_id(new));
    let matches = |by_id: &BTreeMap<String, Vec<String>>, id: &str| -> Vec<String> {
        by_id.get(id).cloned().unwrap_or_default()
    };
    let mut changes = Vec::new();
    for ((mitigation, attack_pattern), pair) in paired {
        let change = match pair {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed {
                deprecated: false,
                replaced_by: None,
            },
            (Some(old_link), Some(new_link)) => {
                let fields = field_changes(old_link, new_link, LINK_SKIP);
                if fields.is_empty() {
                    continue;
                }
                // A link's condition is evaluated where its attack pattern applies in both
                // versions; where the attack pattern's own reach changes is reported on it.
                let applicability = (old_link.condition != new_link.condition).then(|| {
                    let old_matches = matches(&old_matches_by_id, &attack_pattern);
                    let new_matches = matches(&new_matches_by_id, &attack_pattern);
                    let common: Vec<String> = old_matches
                        .iter()
                        .filter(|entity| new_matches.contains(entity))
                        .cloned()
                        .collect();
                    comparer.applicability(
                        old_link.condition.as_deref(),
                        new_link.condition.as_deref(),
                        &common,
                        &common,
                    )
                });
                Change::Modified(Modification {
                    fields,
                    applicability,
                    ..Modification::default()
                })
            }
            (None, None) => continue,
        };
        changes.push(LinkChange {
            mitigation,
            attack_pattern,
            change,
        });
    }
    changes
}

/// Properties by name: (name, definition, declaring entity or pack).
fn property_changes<'a>(
    old: impl Iterator<Item = (&'a String, &'a PropertyDefinition, &'a String)>,
    new: impl Iterator<Item = (&'a String, &'a PropertyDefinition, &'a String)>,
) -> Vec<PropertyChange> {
    type Declared<'a> = (&'a PropertyDefinition, &'a String);
    let mut paired: BTreeMap<&String, (Option<Declared<'a>>, Option<Declared<'a>>)> =
        BTreeMap::new();
    for (name, definition, declared_by) in old {
        paired.entry(name).or_default().0 = Some((definition, declared_by));
    }
    for (name, definition, declared_by) in new {
        paired.entry(name).or_default().1 = Some((definition, declared_by));
    }
    let mut changes = Vec::new();
    for (name, pair) in paired {
        let Some((_, declared_by)) = pair.1.or(pair.0) else {
            continue;
        };
        let change = match pair {
            (None, Some((definition, _))) => PropertyChangeKind::Added {
                definition: definition.clone(),
            },
            (Some((definition, _)), None) => PropertyChangeKind::Removed {
                definition: definition.clone(),
            },
            (Some((old_definition, old_declared)), Some((new_definition, new_declared))) => {
                let mut fields = field_changes(old_definition, new_definition, &["values"]);
                if old_declared != new_declared {
                    fields.push(FieldChange {
                        field: "declared-by".to_string(),
                        old: Json::from(old_declared.as_str()),
                        new: Json::from(new_declared.as_str()),
                    });
                }
                let values_added = missing_from(&new_definition.values, &old_definition.values);
                let values_removed = missing_from(&old_definition.values, &new_definition.values);
                if fields.is_empty() && values_added.is_empty() && values_removed.is_empty() {
                    continue;
                }
                PropertyChangeKind::Modified {
                    fields,
                    values_added,
                    values_removed,
                }
            }
            (None, None) => continue,
        };
        changes.push(PropertyChange {
            name: name.clone(),
            declared_by: declared_by.clone(),
            change,
        });
    }
    changes
}

/// The values of `these` that `those` lacks, in their order.
fn missing_from(these: &[String], those: &[String]) -> Vec<String> {
    these
        .iter()
        .filter(|value| !those.contains(value))
        .cloned()
        .collect()
}

fn tier_changes(old: &[String], new: &[String]) -> TierChanges {
    let kept_old: Vec<&String> = old.iter().filter(|tier| new.contains(tier)).collect();
    let kept_new: Vec<&String> = new.iter().filter(|tier| old.contains(tier)).collect();
    TierChanges {
        added: missing_from(new, old),
        removed: missing_from(old, new),
        reordered: kept_old != kept_new,
    }
}

fn pack_changes(old: &KnowledgeBase, new: &KnowledgeBase) -> Vec<PackChange> {
    let mut changes = Vec::new();
    for (_, pair) in pair_by(&old.packs, &new.packs, |pack| pack.name.as_str()) {
        let change = match pair {
            (None, Some(added)) => PackChange {
                name: added.name.clone(),
                old_version: None,
                new_version: Some(added.version.clone()),
                fields: Vec::new(),
            },
            (Some(removed), None) => PackChange {
                name: removed.name.clone(),
                old_version: Some(removed.version.clone()),
                new_version: None,
                fields: Vec::new(),
            },
            (Some(old_pack), Some(new_pack)) => {
                let fields = field_changes(old_pack, new_pack, &["name", "version"]);
                let built = old_pack.name == old.pack && new_pack.name == new.pack;
                if fields.is_empty() && (built || old_pack.version == new_pack.version) {
                    continue;
                }
                PackChange {
                    name: new_pack.name.clone(),
                    old_version: Some(old_pack.version.clone()),
                    new_version: Some(new_pack.version.clone()),
                    fields,
                }
            }
            (None, None) => continue,
        };
        changes.push(change);
    }
    changes
}

fn tier_rule_changes(old: &[CompiledTierRule], new: &[CompiledTierRule]) -> TierRuleChanges {
    let identity = |rule: &CompiledTierRule| (rule.tier.clone(), canonical_text(&rule.when));
    let text = |rule: &CompiledTierRule| TierRuleText {
        tier: rule.tier.clone(),
        when: rule.when.clone(),
        reason: rule.reason.clone(),
    };
    let mut taken = vec![false; new.len()];
    let mut changes = TierRuleChanges::default();
    // Positions in `new` of the old rules that are kept, in old order.
    let mut kept_positions = Vec::new();
    for old_rule in old {
        let found = new
            .iter()
            .enumerate()
            .position(|(at, new_rule)| !taken[at] && identity(new_rule) == identity(old_rule));
        match found {
            Some(at) => {
                taken[at] = true;
                kept_positions.push(at);
                let new_rule = &new[at];
                if new_rule.reason != old_rule.reason {
                    changes.reasons.push(TierRuleReason {
                        tier: new_rule.tier.clone(),
                        when: new_rule.when.clone(),
                        old: old_rule.reason.clone(),
                        new: new_rule.reason.clone(),
                    });
                }
            }
            None => changes.removed.push(text(old_rule)),
        }
    }
    changes.added = new
        .iter()
        .zip(&taken)
        .filter(|(_, taken)| !**taken)
        .map(|(rule, _)| text(rule))
        .collect();
    changes.reordered = kept_positions.windows(2).any(|pair| pair[0] > pair[1]);
    changes
}
