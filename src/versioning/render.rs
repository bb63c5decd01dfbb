//! A diff and a version check for people (terminal, Markdown) and machines (JSON:
//! schema/diff.schema.json and schema/semver-check.schema.json).
//!
//! Both people's forms show the same entries: each changed item with its changes, each change
//! with the bump it needs (`Entry`); the terminal on plain lines, Markdown with every piece of
//! pack text escaped.

use std::collections::BTreeMap;

use serde::Serialize;

use super::bump::{Bump, BumpReport, Reason, SubjectKind, VersionCheck};
use super::diff::{Change, Diff, ItemChange};
use crate::analysis::markdown::{code, line_start, text};
use crate::analysis::view::one_line;

/// The version of the JSON documents below.
pub const FORMAT: u32 = 1;

/// `threatpack diff --format json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct DiffDocument<'a> {
    format: u32,
    #[serde(flatten)]
    diff: &'a Diff,
    required: Bump,
    reasons: &'a [Reason],
}

/// The outcome of `threatpack semver-check`: the pack's version judged against a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SemverReport {
    pub format: u32,
    pub pack: String,
    pub declared: String,
    /// The baseline version; `None` when there is none to compare with (never published).
    pub baseline: Option<String>,
    /// Where the baseline came from: a path, or `REGISTRY name@version`.
    pub baseline_source: Option<String>,
    pub required: Bump,
    pub permitted: Option<Bump>,
    pub minimum: Option<String>,
    pub ok: bool,
    pub reasons: Vec<Reason>,
}

impl SemverReport {
    pub fn new(
        pack: &str,
        check: VersionCheck,
        baseline_source: &str,
        bump: BumpReport,
    ) -> SemverReport {
        SemverReport {
            format: FORMAT,
            pack: pack.to_string(),
            declared: check.declared,
            baseline: Some(check.baseline),
            baseline_source: Some(baseline_source.to_string()),
            required: bump.required,
            permitted: check.permitted,
            minimum: Some(check.minimum),
            ok: check.ok,
            reasons: bump.reasons,
        }
    }

    /// Nothing to compare with: the first version of a pack.
    pub fn without_baseline(pack: &str, declared: &str) -> SemverReport {
        SemverReport {
            format: FORMAT,
            pack: pack.to_string(),
            declared: declared.to_string(),
            baseline: None,
            baseline_source: None,
            required: Bump::None,
            permitted: None,
            minimum: None,
            ok: true,
            reasons: Vec::new(),
        }
    }
}

/// A changed item and its changes, each with its level.
#[derive(Debug)]
struct Entry {
    /// `+` added, `-` removed, `~` changed.
    sigil: char,
    kind: SubjectKind,
    item: String,
    name: Option<String>,
    lines: Lines,
}

/// An entry's changes, each with its level.
type Lines = Vec<(Bump, String)>;

struct Section {
    title: &'static str,
    entries: Vec<Entry>,
}

pub fn diff_json(diff: &Diff, bump: &BumpReport) -> String {
    pretty(&DiffDocument {
        format: FORMAT,
        diff,
        required: bump.required,
        reasons: &bump.reasons,
    })
}

pub fn semver_json(report: &SemverReport) -> String {
    pretty(report)
}

fn pretty(value: &impl Serialize) -> String {
    let mut json = serde_json::to_string_pretty(value).unwrap_or_default();
    json.push('\n');
    json
}

/// The diff on a terminal: a title, then each changed item with its changes and their levels.
pub fn diff_human(diff: &Diff, bump: &BumpReport) -> String {
    let mut out = format!("{}\n", one_line(&title(diff, bump)));
    for note in notes(diff) {
        out.push_str(&format!("note: {}\n", one_line(&note)));
    }
    for section in sections(diff, bump) {
        out.push_str(&format!("\n{}\n", section.title));
        for entry in section.entries {
            let name = entry
                .name
                .as_deref()
                .filter(|name| !name.is_empty())
                .map(|name| format!("  {}", one_line(name)))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} {}{name}\n",
                entry.sigil,
                one_line(&entry.item)
            ));
            for (level, line) in entry.lines {
                out.push_str(&format!(
                    "      {:<5}  {}\n",
                    level_tag(level),
                    one_line(&line)
                ));
            }
        }
    }
    out
}

/// The diff in Markdown: a heading per item kind, a list item per changed item.
pub fn diff_markdown(diff: &Diff, bump: &BumpReport) -> String {
    let mut out = format!("# {}\n", text(&title(diff, bump)));
    for note in notes(diff) {
        out.push_str(&format!("\n> {}\n", text(&note)));
    }
    for section in sections(diff, bump) {
        out.push_str(&format!("\n## {}\n\n", capitalized(section.title)));
        for entry in section.entries {
            out.push_str(&format!("- {}\n", entry_heading(&entry)));
            for (level, line) in &entry.lines {
                let tag = match level {
                    Bump::None => String::new(),
                    level => format!("**{}** ", level.as_str()),
                };
                out.push_str(&format!("  - {tag}{}\n", line_start(text(line))));
            }
        }
    }
    out
}

/// The semver check on a terminal: the verdict, then every reason.
pub fn semver_human(report: &SemverReport) -> String {
    let Some(baseline) = &report.baseline else {
        return format!(
            "{} {}: no earlier version to compare with\n",
            report.pack, report.declared
        );
    };
    let mut out = format!(
        "{} {} against {baseline} ({})\n",
        report.pack,
        report.declared,
        one_line(report.baseline_source.as_deref().unwrap_or("")),
    );
    out.push_str(&format!(
        "required bump: {}{}; declared: {}\n",
        report.required.as_str(),
        report
            .minimum
            .as_deref()
            .filter(|_| report.required != Bump::None)
            .map(|minimum| format!(" (at least {minimum})"))
            .unwrap_or_default(),
        permitted_words(report.permitted),
    ));
    for reason in &report.reasons {
        out.push_str(&format!(
            "  {:<5}  {}\n",
            level_tag(reason.level),
            one_line(&reason_line(reason))
        ));
    }
    out
}

/// The semver check in Markdown (for a pull request comment).
pub fn semver_markdown(report: &SemverReport) -> String {
    let Some(baseline) = &report.baseline else {
        return format!(
            "{} {}: no earlier version to compare with.\n",
            code(&report.pack),
            code(&report.declared)
        );
    };
    let verdict = if report.ok { "ok" } else { "under-bumped" };
    let mut out = format!(
        "# {} {} against {}: {verdict}\n\nRequired bump: **{}**{}; declared: {}.\n",
        text(&report.pack),
        text(&report.declared),
        text(baseline),
        report.required.as_str(),
        report
            .minimum
            .as_deref()
            .filter(|_| report.required != Bump::None)
            .map(|minimum| format!(" (at least {})", code(minimum)))
            .unwrap_or_default(),
        permitted_words(report.permitted),
    );
    if !report.reasons.is_empty() {
        out.push('\n');
    }
    for reason in &report.reasons {
        out.push_str(&format!(
            "- **{}** {}: {}\n",
            level_tag(reason.level),
            subject(reason.kind, &reason.item),
            text(&reason.message)
        ));
    }
    out
}

fn permitted_words(permitted: Option<Bump>) -> String {
    match permitted {
        None => "not newer than the baseline".to_string(),
        Some(bump) => format!("a {} bump", bump.as_str()),
    }
}

/// `major  attack pattern ns/p:attack-pattern/x: removed`.
pub fn reason_line(reason: &Reason) -> String {
    format!(
        "{} {}: {}",
        reason.kind.as_str(),
        reason.item,
        reason.message
    )
}

/// The level a line needs; nothing for a line that needs none (said for information).
fn level_tag(level: Bump) -> &'static str {
    match level {
        Bump::None => "",
        level => level.as_str(),
    }
}

/// "acme/web 1.0.0 → 1.1.0: minor bump required".
fn title(diff: &Diff, bump: &BumpReport) -> String {
    let versions = if diff.old.pack == diff.new.pack {
        format!(
            "{} {} → {}",
            diff.new.pack, diff.old.version, diff.new.version
        )
    } else {
        format!(
            "{} {} → {} {}",
            diff.old.pack, diff.old.version, diff.new.pack, diff.new.version
        )
    };
    match bump.required {
        Bump::None => format!("{versions}: no changes"),
        required => format!("{versions}: {} bump required", required.as_str()),
    }
}

/// What makes a comparison less meaningful than it looks.
fn notes(diff: &Diff) -> Vec<String> {
    let mut notes = Vec::new();
    if diff.old.pack != diff.new.pack {
        notes.push(format!(
            "these are two different packs: `{}` and `{}`",
            diff.old.pack, diff.new.pack
        ));
    }
    if diff.old.tier != diff.new.tier {
        let tier = |tier: &Option<String>| {
            tier.as_deref()
                .map_or("every tier".to_string(), |tier| format!("tier `{tier}`"))
        };
        notes.push(format!(
            "the old bundle holds {}, the new one {}: items outside a tier show as added or removed",
            tier(&diff.old.tier),
            tier(&diff.new.tier)
        ));
    }
    notes
}

fn capitalized(title: &str) -> String {
    let mut characters = title.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// "Attack pattern `ns/p:attack-pattern/x` SQL injection" in Markdown.
fn entry_heading(entry: &Entry) -> String {
    let verb = match entry.sigil {
        '+' => "added: ",
        '-' => "removed: ",
        _ => "",
    };
    let name = entry
        .name
        .as_deref()
        .filter(|name| !name.is_empty())
        .map(|name| format!(" — {}", text(name)))
        .unwrap_or_default();
    format!("{verb}{}{name}", subject(entry.kind, &entry.item))
}

/// A subject in Markdown: its kind and its id as code.
pub(super) fn subject(kind: SubjectKind, item: &str) -> String {
    capitalized(&format!("{} {}", kind.as_str(), code(item)))
}

/// Reasons by (kind, item), in their order (most severe first).
fn reasons_by_item(bump: &BumpReport) -> BTreeMap<(SubjectKind, String), Lines> {
    let mut by_item: BTreeMap<(SubjectKind, String), Lines> = BTreeMap::new();
    for reason in &bump.reasons {
        by_item
            .entry((reason.kind, reason.item.clone()))
            .or_default()
            .push((reason.level, reason.message.clone()));
    }
    by_item
}

/// What to say of a changed item none of whose changes needs a bump of its own.
fn without_reason(change: &ItemChange) -> String {
    let Change::Modified(modification) = &change.change else {
        return String::new();
    };
    let mut declaring: Vec<&str> = modification
        .properties
        .iter()
        .map(|property| property.declared_by.as_str())
        .filter(|declared_by| *declared_by != change.id)
        .collect();
    declaring.dedup();
    if !declaring.is_empty() {
        let declaring: Vec<String> = declaring.iter().map(|id| format!("`{id}`")).collect();
        return format!("inherits the changes of {}", declaring.join(", "));
    }
    let matches = modification
        .fields
        .iter()
        .find(|field| field.field == "matches");
    if let Some(matches) = matches {
        let old: Vec<&str> = strings(&matches.old);
        let added: Vec<String> = strings(&matches.new)
            .into_iter()
            .filter(|entity| !old.contains(entity))
            .map(|entity| format!("`{entity}`"))
            .collect();
        match added.as_slice() {
            [] => {}
            [entity] => return format!("applies to the new entity {entity} too"),
            entities => return format!("applies to the new entities {} too", entities.join(", ")),
        }
    }
    "no change of its own".to_string()
}

fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|item| item.as_str()).collect())
        .unwrap_or_default()
}

fn sigil(change: &Change) -> char {
    match change {
        Change::Added => '+',
        Change::Removed { .. } => '-',
        Change::Modified(_) => '~',
    }
}

/// Every changed thing, by kind, in the diff's order, with its reasons. A change that needs no
/// reason of its own says why (it is covered by another).
fn sections(diff: &Diff, bump: &BumpReport) -> Vec<Section> {
    let mut by_item = reasons_by_item(bump);
    let mut take = |kind: SubjectKind, item: &str, otherwise: &str| -> Lines {
        by_item
            .remove(&(kind, item.to_string()))
            .unwrap_or_else(|| vec![(Bump::None, otherwise.to_string())])
    };
    let mut sections = Vec::new();
    let items = |kind: SubjectKind,
                 changes: &[ItemChange],
                 take: &mut dyn FnMut(SubjectKind, &str, &str) -> Lines| {
        changes
            .iter()
            .map(|change| Entry {
                sigil: sigil(&change.change),
                kind,
                item: change.id.clone(),
                name: Some(change.name.clone()),
                lines: take(kind, &change.id, &without_reason(change)),
            })
            .collect::<Vec<_>>()
    };
    let mut push = |title: &'static str, entries: Vec<Entry>| {
        if !entries.is_empty() {
            sections.push(Section { title, entries });
        }
    };
    let mut tier_names: Vec<(char, &str)> = diff
        .tiers
        .added
        .iter()
        .map(|tier| ('+', tier.as_str()))
        .chain(diff.tiers.removed.iter().map(|tier| ('-', tier.as_str())))
        .collect();
    if diff.tiers.reordered {
        tier_names.push(('~', "tiers"));
    }
    let tiers = tier_names
        .into_iter()
        .map(|(sigil, tier)| Entry {
            sigil,
            kind: SubjectKind::Tier,
            item: tier.to_string(),
            name: None,
            lines: take(SubjectKind::Tier, tier, ""),
        })
        .collect();
    push("tiers", tiers);
    let packs = diff
        .packs
        .iter()
        .map(|change| Entry {
            sigil: match (&change.old_version, &change.new_version) {
                (None, _) => '+',
                (_, None) => '-',
                _ => '~',
            },
            kind: SubjectKind::Pack,
            item: change.name.clone(),
            name: None,
            lines: take(SubjectKind::Pack, &change.name, ""),
        })
        .collect();
    push("packs compiled in", packs);
    push(
        "entities",
        items(SubjectKind::Entity, &diff.entities, &mut take),
    );
    push(
        "attack patterns",
        items(SubjectKind::AttackPattern, &diff.attack_patterns, &mut take),
    );
    push(
        "mitigations",
        items(SubjectKind::Mitigation, &diff.mitigations, &mut take),
    );
    let links = diff
        .links
        .iter()
        .map(|link| {
            let item = format!("{} → {}", link.mitigation, link.attack_pattern);
            let lines = take(
                SubjectKind::Link,
                &item,
                "removed with its attack pattern or mitigation",
            );
            Entry {
                sigil: sigil(&link.change),
                kind: SubjectKind::Link,
                item,
                name: None,
                lines,
            }
        })
        .collect();
    push("links", links);
    let system_properties = diff
        .system_properties
        .iter()
        .map(|change| Entry {
            sigil: match change.change {
                super::PropertyChangeKind::Added { .. } => '+',
                super::PropertyChangeKind::Removed { .. } => '-',
                super::PropertyChangeKind::Modified { .. } => '~',
            },
            kind: SubjectKind::SystemProperty,
            item: change.name.clone(),
            name: None,
            lines: take(SubjectKind::SystemProperty, &change.name, ""),
        })
        .collect();
    push("system properties", system_properties);
    // Tier rules have no id: their entries are their reasons, in order.
    let mut tier_rules: Vec<Entry> = Vec::new();
    for reason in bump
        .reasons
        .iter()
        .filter(|reason| reason.kind == SubjectKind::TierRule)
    {
        let sigil = match reason.message.as_str() {
            "added" => '+',
            "removed" => '-',
            _ => '~',
        };
        match tier_rules
            .iter_mut()
            .find(|entry| entry.item == reason.item)
        {
            Some(entry) => entry.lines.push((reason.level, reason.message.clone())),
            None => tier_rules.push(Entry {
                sigil,
                kind: SubjectKind::TierRule,
                item: reason.item.clone(),
                name: None,
                lines: vec![(reason.level, reason.message.clone())],
            }),
        }
    }
    push("tier rules", tier_rules);
    push(
        "security activities",
        items(SubjectKind::Activity, &diff.activities, &mut take),
    );
    sections
}
