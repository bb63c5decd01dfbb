//! Every rule of the versioning policy with its level and summary (docs/versioning.md lists
//! them all; a test checks), and the rule a changed field falls under.

use serde::Serialize;
use serde_json::Value as Json;

use super::{Bump, SubjectKind};
use crate::versioning::diff::FieldChange;

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
    ItemRemoved => "item-removed", Major, "an entity, attack pattern, mitigation or security activity is gone (a renamed id is one removed and one added; a model's `[[activity-done]]` naming a removed activity no longer validates)";
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
    ItemAdded => "item-added", Minor, "a new entity, attack pattern, mitigation or security activity";
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
    ActivityRuleChanged => "activity-rule-changed", Minor, "a security activity's `when` rule changed: projects may owe it where they did not, or no longer";
    ActivityKindChanged => "activity-kind-changed", Minor, "a security activity is another kind (SAST, DAST, penetration test, ...)";
    TierRulesChanged => "tier-rules-changed", Minor, "the tier rules choose differently (added, removed, reordered)";
    LicenseChanged => "license-changed", Minor, "a compiled pack's licence changed";
    DocumentationChanged => "documentation-changed", Patch, "names, descriptions, questions, rationale, references, implementation and verification text, reasons";
    RewrittenSameEffect => "rewritten-same-effect", Patch, "a condition, `applies-to` or an activity's `when` was rewritten and applies to the same elements";
    PropertyDeclarationMoved => "property-declaration-moved", Patch, "an inherited property is declared by another entity, unchanged";
    CompiledPacksChanged => "compiled-packs-changed", Patch, "a dependency compiled in was added, removed or has another version (what it changes is listed item by item)";
}

/// The rule for a changed field of an item; `None` for fields another part of the diff
/// covers (deprecation, applicability, properties, events).
pub fn field_rule(kind: SubjectKind, field: &str) -> Option<Rule> {
    use SubjectKind::{Activity, AttackPattern, Entity, Link, Mitigation};
    match (kind, field) {
        (Entity | AttackPattern | Mitigation, "status" | "replaced-by") => None,
        (AttackPattern, "condition" | "applies-to" | "matches") | (Link, "condition") => None,
        (
            Entity | AttackPattern | Mitigation,
            "name" | "description" | "references" | "implementation" | "verification",
        ) => Some(Rule::DocumentationChanged),
        (Link | Activity, "description") | (Activity, "name") => Some(Rule::DocumentationChanged),
        (Activity, "when") => Some(Rule::ActivityRuleChanged),
        (Activity, "kind") => Some(Rule::ActivityKindChanged),
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
pub(super) fn property_field_rule(field: &FieldChange) -> Rule {
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
