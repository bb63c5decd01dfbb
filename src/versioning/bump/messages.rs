//! How a change reads in a reason: field changes with long values cut, applicability in words.

use crate::render::short_json;
use crate::versioning::applicability::{Applicability, Direction};
use crate::versioning::diff::FieldChange;

/// "`severity`: "high" → "critical"", long values cut.
pub fn field_message(field: &FieldChange) -> String {
    field_message_within(field, 80)
}

/// A field change with each value cut to `max` characters.
pub(super) fn field_message_within(field: &FieldChange, max: usize) -> String {
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
        crate::versioning::applicability::Proof::SameCondition => "",
        crate::versioning::applicability::Proof::Exhaustive => " (every combination evaluated)",
        crate::versioning::applicability::Proof::Structural => " (compared by its parts)",
        crate::versioning::applicability::Proof::Unproven => " (cannot be told: taken as wider)",
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

pub(super) fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
