//! The backlog for issue trackers: one work item per mitigation, aggregated over every place it
//! is still to do ("20 mitigations in 100 places" are 20 items), as CSV that Azure DevOps and
//! Jira import and a script turns into GitHub issues, and as JSON (schema/backlog.schema.json).
//! docs/apply.md#backlog-import says how to import each.
//!
//! One CSV layout serves all three: its columns are Azure DevOps field names (which its import
//! maps by name), Jira maps any column at import, and GitHub has no CSV import at all. Anything
//! without a standard field (places, threats, events, the mitigation's id) is written into the
//! description, and the item's stable id is a tag, so that a later run can be matched to the
//! work items it created. `backlog_sync` shapes it for one tracker and keeps only what changed
//! since an earlier report.

use serde::Serialize;

use crate::analysis::report::{
    BacklogItem, ModelSummary, PackRef, REPORT_FORMAT, Report, ThreatInstance, TierChoice,
};
use crate::analysis::view::{
    element_label, element_names, one_line, residual_name, severity_name, shorten, status_name,
    threats_by_id,
};
use crate::render::visible;

/// The version of the backlog JSON format.
pub const BACKLOG_FORMAT: u32 = 1;

/// The work item type of the CSV when none is given (`--work-item-type`).
pub const DEFAULT_WORK_ITEM_TYPE: &str = "Task";

/// The columns of the CSV, in order.
pub const CSV_COLUMNS: [&str; 6] = [
    "Work Item Type",
    "Title",
    "Description",
    "Acceptance Criteria",
    "Priority",
    "Tags",
];

/// Azure DevOps and Jira cut titles (summaries) at 255 characters.
pub const MAX_TITLE: usize = 255;

/// GitHub label names are at most 50 characters: longer tags are left out.
pub const MAX_TAG: usize = 50;

/// Azure DevOps priorities go from 1 to 4: priority 5 (info) is written as 4.
pub const LOWEST_CSV_PRIORITY: u8 = 4;

/// The backlog as CSV, one row per work item, highest priority first. Every cell that a
/// spreadsheet could take for a formula is defused (`defuse`). Fails only when the work item
/// type is empty.
pub fn backlog_csv(report: &Report, work_item_type: &str) -> Result<String, String> {
    let work_item_type = one_line(work_item_type);
    if work_item_type.is_empty() {
        return Err("the work item type is empty; Azure DevOps needs one (e.g. `Task`)".into());
    }
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let fail = |error: csv::Error| format!("cannot write the backlog as CSV: {error}");
    writer.write_record(CSV_COLUMNS).map_err(fail)?;
    for item in ordered(report) {
        let priority = item.priority.clamp(1, LOWEST_CSV_PRIORITY).to_string();
        let record = [
            defuse(&work_item_type),
            defuse(&shorten(&one_line(&item.title), MAX_TITLE)),
            defuse(&description(report, item)),
            defuse(&plain(&item.verification)),
            priority,
            defuse(&tags(report, item).join("; ")),
        ];
        writer.write_record(&record).map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| format!("cannot write the backlog as CSV: {error}"))?;
    String::from_utf8(bytes).map_err(|error| format!("the backlog CSV is not UTF-8: {error}"))
}

/// The backlog as a JSON document (schema/backlog.schema.json): what was applied to what, and
/// the items in the order of `ordered`, priority still 1 to 5.
pub fn backlog_json(report: &Report) -> String {
    backlog_json_since(report, None)
}

/// [`backlog_json`]; with `changes` (`--since`), only the items new or changed, each with its
/// `change`, and the previous items no longer needed under `removed`.
pub fn backlog_json_since(
    report: &Report,
    changes: Option<&crate::analysis::backlog_sync::Changes>,
) -> String {
    let items: Vec<&BacklogItem> = ordered(report)
        .into_iter()
        .filter(|item| changes.is_none_or(|changes| changes.changed.contains_key(&item.id)))
        .collect();
    let since = changes.map(|changes| BacklogSince {
        changes: items
            .iter()
            .filter_map(|item| {
                let change = changes.changed.get(&item.id)?;
                Some((item.id.clone(), change.as_str()))
            })
            .collect(),
        removed: changes
            .removed
            .iter()
            .map(|item| RemovedItem {
                id: item.id.clone(),
                mitigation: item.mitigation.clone(),
                title: item.title.clone(),
            })
            .collect(),
    });
    let document = BacklogDocument {
        format: BACKLOG_FORMAT,
        report_format: REPORT_FORMAT,
        model: &report.model,
        pack: &report.pack,
        tier: &report.tier,
        size: BacklogSize {
            items: report.backlog.len(),
            places: report.backlog.iter().map(|item| item.places.len()).sum(),
        },
        items,
        since,
    };
    let mut text = serde_json::to_string_pretty(&document)
        .expect("a backlog of strings, numbers and enums serializes");
    text.push('\n');
    text
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct BacklogDocument<'a> {
    format: u32,
    report_format: u32,
    model: &'a ModelSummary,
    pack: &'a PackRef,
    tier: &'a TierChoice,
    size: BacklogSize,
    items: Vec<&'a BacklogItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<BacklogSince>,
}

/// With `--since`: each item's change (`new`, `changed`) and the items no longer needed.
#[derive(Serialize)]
struct BacklogSince {
    changes: std::collections::BTreeMap<String, &'static str>,
    removed: Vec<RemovedItem>,
}

#[derive(Serialize)]
struct RemovedItem {
    id: String,
    mitigation: String,
    title: String,
}

#[derive(Serialize)]
struct BacklogSize {
    items: usize,
    places: usize,
}

/// Highest priority (lowest number) first; within a priority, the report's own order (the
/// strongest and widest fixes first), which is the same on every run.
pub fn ordered(report: &Report) -> Vec<&BacklogItem> {
    let mut items: Vec<&BacklogItem> = report.backlog.iter().collect();
    items.sort_by_key(|item| item.priority);
    items
}

/// A cell a spreadsheet would evaluate, made inert: a value starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP, CSV injection). Importers show the
/// apostrophe; a formula run on the machine of whoever opens the file would be worse.
pub fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Multi-line user text for a cell: control characters made visible (line breaks kept), lines
/// trimmed, at most one blank line in a row, no blank lines around.
fn plain(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = visible(line.trim());
        if line.is_empty() && lines.last().is_none_or(String::is_empty) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.join("\n")
}

/// The description of a work item: the mitigation's description, how to implement and verify
/// it, the places and threats it is for, the security events it emits, references, and where it comes
/// from. Plain text with `-` lists, which Jira and GitHub render as lists.
pub(crate) fn description(report: &Report, item: &BacklogItem) -> String {
    let threats = threats_by_id(report);
    let names = element_names(report);
    let mut sections = vec![plain(&item.description)];
    if !item.implementation.trim().is_empty() {
        sections.push(format!("Implementation:\n{}", plain(&item.implementation)));
    }
    // Also in Acceptance Criteria; repeated here for the trackers and work item types without
    // that field (Jira, GitHub, Azure DevOps tasks).
    if !item.verification.trim().is_empty() {
        sections.push(format!("Verification:\n{}", plain(&item.verification)));
    }
    let places: Vec<String> = item
        .places
        .iter()
        .map(|place| {
            let name = names.get(place.element.as_str()).copied().unwrap_or("");
            let note = place
                .note
                .as_deref()
                .map(|note| format!(" ({})", one_line(note)))
                .unwrap_or_default();
            format!(
                "- {}: {}{note}",
                element_label(&place.element, name),
                status_name(place.status)
            )
        })
        .collect();
    sections.push(format!(
        "Places ({}):\n{}",
        item.places.len(),
        places.join("\n")
    ));
    let linked: Vec<String> = item
        .threats
        .iter()
        .map(|id| threat_line(id, threats.get(id.as_str()).copied()))
        .collect();
    sections.push(format!(
        "Threats ({}):\n{}",
        item.threats.len(),
        linked.join("\n")
    ));
    if !item.events.is_empty() {
        let events: Vec<String> = item
            .events
            .iter()
            .map(|event| format!("- {}", one_line(event)))
            .collect();
        sections.push(format!(
            "Security events to emit once in place:\n{}",
            events.join("\n")
        ));
    }
    if !item.references.is_empty() {
        let references: Vec<String> = item
            .references
            .iter()
            .map(|reference| format!("- {}", one_line(reference)))
            .collect();
        sections.push(format!("References:\n{}", references.join("\n")));
    }
    let tier = report.tier.name.as_deref().map_or_else(
        || "all tiers".to_string(),
        |tier| format!("tier {}", one_line(tier)),
    );
    sections.push(format!(
        "Backlog item {} for mitigation {} (severity {}), from threatpack apply: {} {} ({tier}) \
         on model {}.",
        one_line(&item.id),
        one_line(&item.mitigation),
        severity_name(item.severity),
        one_line(&report.pack.name),
        one_line(&report.pack.version),
        one_line(&report.model.name),
    ));
    sections
        .into_iter()
        .filter(|section| !section.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn threat_line(id: &str, threat: Option<&ThreatInstance>) -> String {
    match threat {
        Some(threat) => format!(
            "- {} {} on {} (severity {}, residual {})",
            one_line(id),
            one_line(&threat.name),
            element_label(&threat.element, &threat.element_name),
            severity_name(threat.severity),
            residual_name(threat.residual)
        ),
        None => format!("- {}", one_line(id)),
    }
}

/// `threatpack`, the item's stable id (to find it again on the next run), its severity and the
/// categories of the threats it addresses; each usable as an Azure DevOps tag, a Jira label and
/// a GitHub label (no `;`, `,` or spaces, at most 50 characters).
pub(crate) fn tags(report: &Report, item: &BacklogItem) -> Vec<String> {
    let threats = threats_by_id(report);
    let mut tags = vec![
        "threatpack".to_string(),
        tag(&item.id),
        format!("severity-{}", severity_name(item.severity)),
    ];
    let mut categories: Vec<String> = item
        .threats
        .iter()
        .filter_map(|id| threats.get(id.as_str()))
        .flat_map(|threat| threat.categories.iter().map(|category| tag(category)))
        .collect();
    categories.sort();
    categories.dedup();
    tags.extend(categories);
    let mut seen = Vec::new();
    tags.retain(|tag| {
        let keep = !tag.is_empty() && tag.chars().count() <= MAX_TAG && !seen.contains(tag);
        if keep {
            seen.push(tag.clone());
        }
        keep
    });
    tags
}

fn tag(text: &str) -> String {
    one_line(text)
        .chars()
        .map(|character| match character {
            ';' | ',' | ' ' => '-',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defuse_prefixes_what_a_spreadsheet_would_evaluate() {
        for dangerous in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(dangerous), format!("'{dangerous}"), "{dangerous:?}");
        }
        for harmless in ["a=1", "1-2", "", "'quoted", " =spaced", "x@y"] {
            assert_eq!(defuse(harmless), harmless, "{harmless:?}");
        }
    }

    #[test]
    fn plain_keeps_line_breaks_and_escapes_control_characters() {
        assert_eq!(plain("\n a \n\n\n b\u{1b} \n\n"), "a\n\nb\\u{1b}");
        assert_eq!(plain("x\r\ny"), "x\ny");
    }

    #[test]
    fn tags_hold_no_separator() {
        assert_eq!(tag("a;b,c d"), "a-b-c-d");
    }
}
