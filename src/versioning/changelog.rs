//! A changelog in Markdown, grouped the way MITRE ATT&CK's release notes are: additions,
//! breaking changes, other changes, patches (text), deprecations with their replacements, and
//! removals. Built from the reasons of `bump::required_bump`, so the changelog and the bump
//! never disagree.

use super::bump::{Bump, BumpReport, Reason, Rule, SubjectKind};
use super::diff::Diff;
use super::render::subject;
use crate::analysis::markdown::text;

/// The sections of a changelog, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Additions,
    Breaking,
    Changes,
    Patches,
    Deprecations,
    Removals,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::Additions,
        Section::Breaking,
        Section::Changes,
        Section::Patches,
        Section::Deprecations,
        Section::Removals,
    ];

    fn title(self) -> &'static str {
        match self {
            Section::Additions => "Additions",
            Section::Breaking => "Breaking changes",
            Section::Changes => "Changes",
            Section::Patches => "Patches (text and documentation)",
            Section::Deprecations => "Deprecations",
            Section::Removals => "Removals",
        }
    }

    fn of(rule: Rule) -> Section {
        match rule {
            Rule::ItemAdded
            | Rule::LinkAdded
            | Rule::PropertyAdded
            | Rule::EnumValueAdded
            | Rule::TierAdded
            | Rule::EventAdded => Section::Additions,
            Rule::Deprecated | Rule::Undeprecated | Rule::ReplacementChanged => {
                Section::Deprecations
            }
            Rule::ItemRemoved
            | Rule::RemovedWithoutDeprecation
            | Rule::LinkRemoved
            | Rule::TierRemoved => Section::Removals,
            rule => match rule.level() {
                Bump::Major => Section::Breaking,
                Bump::Minor => Section::Changes,
                Bump::Patch | Bump::None => Section::Patches,
            },
        }
    }
}

/// The changelog from `diff.old` to `diff.new`, in Markdown (every piece of pack text
/// escaped). One list item per item and section, its changes joined.
pub fn changelog(diff: &Diff, bump: &BumpReport) -> String {
    let mut out = format!(
        "# {} {}\n\nChanges since {}. Required bump: **{}**.\n",
        text(&diff.new.pack),
        text(&diff.new.version),
        text(&diff.old.version),
        bump.required.as_str()
    );
    if diff.old.pack != diff.new.pack {
        out.push_str(&format!(
            "\n> Compared with another pack: {} {}.\n",
            text(&diff.old.pack),
            text(&diff.old.version)
        ));
    }
    if bump.reasons.is_empty() {
        out.push_str("\nNo changes.\n");
        return out;
    }
    for section in Section::ALL {
        // (kind, item) → messages, in the order of the reasons.
        let mut entries: Vec<((SubjectKind, &str), Vec<&str>)> = Vec::new();
        for reason in in_diff_order(bump) {
            if Section::of(reason.rule) != section {
                continue;
            }
            let key = (reason.kind, reason.item.as_str());
            match entries.iter_mut().find(|(known, _)| *known == key) {
                Some((_, messages)) => messages.push(&reason.message),
                None => entries.push((key, vec![&reason.message])),
            }
        }
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {}\n\n", section.title()));
        for ((kind, item), messages) in entries {
            let name = name_of(diff, kind, item)
                .map(|name| format!(" ({})", text(name)))
                .unwrap_or_default();
            let messages: Vec<String> = messages.iter().map(|message| text(message)).collect();
            out.push_str(&format!(
                "- {}{name}: {}\n",
                subject(kind, item),
                messages.join("; ")
            ));
        }
    }
    out
}

/// The reasons by kind, then item (the diff's order: ids sorted), not by level: a changelog
/// reads item by item. An item's own reasons stay most severe first.
fn in_diff_order(bump: &BumpReport) -> Vec<&Reason> {
    let mut reasons: Vec<&Reason> = bump.reasons.iter().collect();
    reasons.sort_by(|a, b| (a.kind, &a.item).cmp(&(b.kind, &b.item)));
    reasons
}

/// The name of an entity, attack pattern, mitigation or activity, when it differs from its id.
fn name_of<'d>(diff: &'d Diff, kind: SubjectKind, item: &str) -> Option<&'d str> {
    let changes = match kind {
        SubjectKind::Entity => &diff.entities,
        SubjectKind::AttackPattern => &diff.attack_patterns,
        SubjectKind::Mitigation => &diff.mitigations,
        SubjectKind::Activity => &diff.activities,
        _ => return None,
    };
    changes
        .iter()
        .find(|change| change.id == item)
        .map(|change| change.name.as_str())
        .filter(|name| !name.is_empty())
}
