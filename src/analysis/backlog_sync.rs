//! A backlog that syncs with a tracker: what changed since a previous JSON report (`--since`),
//! by the items' stable ids (`M-…`), and the CSV shaped for each tracker's importer
//! (`--tracker azure-devops|jira|github`). docs/apply.md#keeping-a-tracker-in-sync shows the
//! round trip.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::backlog::{MAX_TITLE, defuse, description, ordered, tags};
use crate::analysis::report::{BacklogItem, Report};
use crate::analysis::view::{one_line, shorten};
use crate::model::ImplementationStatus;

/// The tracker whose CSV importer the backlog is shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracker {
    /// Boards → Import work items: its field names, the description as HTML.
    AzureDevops,
    /// Import issues from CSV: `Summary`, Jira's priority names, one `Labels` column per label.
    Jira,
    /// No CSV import: issue-shaped rows (`title`, `body` in Markdown, `labels`) for `gh`.
    Github,
}

/// Why an item is in an export made `--since` a previous report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Not in the previous report's backlog: create it.
    New,
    /// In it, with another priority, title, places or threats: update it.
    Changed,
    /// In it and no longer in this one: close it.
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// What a previous report's backlog held: only what decides whether an item changed, so that
/// a report of an older or newer format (more fields) still reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PreviousReport {
    pub backlog: Vec<PreviousItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PreviousItem {
    pub id: String,
    #[serde(default)]
    pub mitigation: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub priority: u8,
    #[serde(default)]
    pub places: Vec<PreviousPlace>,
    #[serde(default)]
    pub threats: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PreviousPlace {
    pub element: String,
    pub status: ImplementationStatus,
}

impl PreviousReport {
    /// Reads a JSON report (`apply --format json`); the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<PreviousReport, String> {
        serde_json::from_str(text).map_err(|error| {
            format!("not a threatpack JSON report (`apply --format json`): {error}")
        })
    }
}

/// The items of this backlog that are new or changed since `previous`, and the previous items
/// no longer in it, each with its change; unchanged items are left out.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub changed: BTreeMap<String, Change>,
    /// Previous items no longer needed, in the previous report's order.
    pub removed: Vec<PreviousItem>,
}

pub fn changes(report: &Report, previous: &PreviousReport) -> Changes {
    let before: BTreeMap<&str, &PreviousItem> = previous
        .backlog
        .iter()
        .map(|item| (item.id.as_str(), item))
        .collect();
    let mut changes = Changes::default();
    for item in &report.backlog {
        match before.get(item.id.as_str()) {
            None => {
                changes.changed.insert(item.id.clone(), Change::New);
            }
            Some(old) if differs(item, old) => {
                changes.changed.insert(item.id.clone(), Change::Changed);
            }
            Some(_) => {}
        }
    }
    let now: BTreeSet<&str> = report.backlog.iter().map(|item| item.id.as_str()).collect();
    changes.removed = previous
        .backlog
        .iter()
        .filter(|item| !now.contains(item.id.as_str()))
        .cloned()
        .collect();
    changes
}

fn differs(item: &BacklogItem, old: &PreviousItem) -> bool {
    let places = |places: &mut dyn Iterator<Item = (String, ImplementationStatus)>| {
        places.collect::<BTreeSet<_>>()
    };
    item.priority != old.priority
        || item.title != old.title
        || item.threats.iter().collect::<BTreeSet<_>>() != old.threats.iter().collect()
        || places(
            &mut item
                .places
                .iter()
                .map(|place| (place.element.clone(), place.status)),
        ) != places(
            &mut old
                .places
                .iter()
                .map(|place| (place.element.clone(), place.status)),
        )
}

/// The CSV for `tracker`: every item, or with `changes` only the new, changed and removed ones.
/// Every layout ends with `Threatpack Id` (the stable id) and `Threatpack Change` (`new`,
/// `changed`, `removed`; `new` for every item without `changes`).
pub fn tracker_csv(
    report: &Report,
    tracker: Tracker,
    work_item_type: &str,
    changes: Option<&Changes>,
) -> Result<String, String> {
    let work_item_type = one_line(work_item_type);
    if work_item_type.is_empty() {
        return Err("the work item type is empty (e.g. `Task`)".into());
    }
    let items: Vec<(&BacklogItem, Change)> = ordered(report)
        .into_iter()
        .filter_map(|item| match changes {
            None => Some((item, Change::New)),
            Some(changes) => changes.changed.get(&item.id).map(|change| (item, *change)),
        })
        .collect();
    let removed: &[PreviousItem] = changes.map_or(&[], |changes| &changes.removed);
    let labels_per_row = items
        .iter()
        .map(|(item, _)| tags(report, item).len())
        .max()
        .unwrap_or(0)
        .max(2);
    let mut rows: Vec<Vec<String>> = Vec::new();
    rows.push(header(tracker, &work_item_type, labels_per_row));
    for (item, change) in &items {
        rows.push(row(
            report,
            tracker,
            &work_item_type,
            item,
            *change,
            labels_per_row,
        ));
    }
    for item in removed {
        rows.push(removed_row(tracker, &work_item_type, item, labels_per_row));
    }
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    for row in rows {
        let cells: Vec<String> = row.iter().map(|cell| defuse(cell)).collect();
        writer
            .write_record(&cells)
            .map_err(|error| format!("cannot write the backlog as CSV: {error}"))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| format!("cannot write the backlog as CSV: {error}"))?;
    String::from_utf8(bytes).map_err(|error| format!("the backlog CSV is not UTF-8: {error}"))
}

/// Azure DevOps work item types that have an Acceptance Criteria field (a Task has none).
const WITH_ACCEPTANCE_CRITERIA: [&str; 5] = [
    "User Story",
    "Product Backlog Item",
    "Feature",
    "Epic",
    "Requirement",
];

fn has_acceptance_criteria(work_item_type: &str) -> bool {
    WITH_ACCEPTANCE_CRITERIA
        .iter()
        .any(|known| known.eq_ignore_ascii_case(work_item_type))
}

fn header(tracker: Tracker, work_item_type: &str, labels: usize) -> Vec<String> {
    let mut columns: Vec<&str> = match tracker {
        Tracker::AzureDevops => {
            let mut columns = vec!["Work Item Type", "Title", "Description"];
            if has_acceptance_criteria(work_item_type) {
                columns.push("Acceptance Criteria");
            }
            columns.extend(["Priority", "Tags"]);
            columns
        }
        Tracker::Jira => {
            let mut columns = vec!["Issue Type", "Summary", "Description", "Priority"];
            columns.extend(std::iter::repeat_n("Labels", labels));
            columns
        }
        Tracker::Github => vec!["title", "body", "labels"],
    };
    columns.extend(["Threatpack Id", "Threatpack Change"]);
    columns.into_iter().map(String::from).collect()
}

/// Jira's default priority scheme: 1 Highest to 5 Lowest.
pub fn jira_priority(priority: u8) -> &'static str {
    match priority {
        0 | 1 => "Highest",
        2 => "High",
        3 => "Medium",
        4 => "Low",
        _ => "Lowest",
    }
}

fn row(
    report: &Report,
    tracker: Tracker,
    work_item_type: &str,
    item: &BacklogItem,
    change: Change,
    labels: usize,
) -> Vec<String> {
    let title = shorten(&one_line(&item.title), MAX_TITLE);
    let text = description(report, item);
    let tags = tags(report, item);
    let mut row = match tracker {
        Tracker::AzureDevops => {
            let mut row = vec![work_item_type.to_string(), title, html(&text)];
            if has_acceptance_criteria(work_item_type) {
                row.push(html(&item.verification));
            }
            row.push(item.priority.clamp(1, 4).to_string());
            row.push(tags.join("; "));
            row
        }
        Tracker::Jira => {
            let mut row = vec![
                work_item_type.to_string(),
                title,
                text,
                jira_priority(item.priority).to_string(),
            ];
            row.extend(
                tags.iter()
                    .cloned()
                    .chain(std::iter::repeat(String::new()))
                    .take(labels),
            );
            row
        }
        Tracker::Github => {
            let mut labels = tags;
            labels.push(format!("priority-{}", item.priority.clamp(1, 5)));
            vec![title, text, labels.join(",")]
        }
    };
    row.extend([item.id.clone(), change.as_str().to_string()]);
    row
}

fn removed_row(
    tracker: Tracker,
    work_item_type: &str,
    item: &PreviousItem,
    labels: usize,
) -> Vec<String> {
    let title = shorten(&one_line(&item.title), MAX_TITLE);
    let text = format!(
        "No longer needed: backlog item {} for mitigation {} is not in the latest threat model \
         (done, not applicable, or its threats are gone). Close it.",
        one_line(&item.id),
        one_line(&item.mitigation)
    );
    let mut row = match tracker {
        Tracker::AzureDevops => {
            let mut row = vec![work_item_type.to_string(), title, html(&text)];
            if has_acceptance_criteria(work_item_type) {
                row.push(String::new());
            }
            row.extend([
                item.priority.clamp(1, 4).to_string(),
                format!("threatpack; {}", item.id),
            ]);
            row
        }
        Tracker::Jira => {
            let mut row = vec![
                work_item_type.to_string(),
                title,
                text,
                jira_priority(item.priority).to_string(),
            ];
            row.extend(
                ["threatpack".to_string(), one_line(&item.id)]
                    .into_iter()
                    .chain(std::iter::repeat(String::new()))
                    .take(labels),
            );
            row
        }
        Tracker::Github => vec![title, text, format!("threatpack,{}", one_line(&item.id))],
    };
    row.extend([item.id.clone(), Change::Removed.as_str().to_string()]);
    row
}

/// Plain text as the HTML Azure DevOps keeps in its rich-text fields: escaped, paragraphs at
/// blank lines, `- ` lines as a list.
pub fn html(text: &str) -> String {
    let escape = |line: &str| {
        line.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        let (heads, items): (Vec<&str>, Vec<&str>) =
            lines.iter().partition(|line| !line.starts_with("- "));
        if !heads.is_empty() {
            out.push_str("<p>");
            out.push_str(
                &heads
                    .iter()
                    .map(|line| escape(line))
                    .collect::<Vec<_>>()
                    .join("<br>"),
            );
            out.push_str("</p>");
        }
        if !items.is_empty() {
            out.push_str("<ul>");
            for item in items {
                out.push_str("<li>");
                out.push_str(&escape(item.trim_start_matches("- ")));
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_makes_lists() {
        assert_eq!(
            html("a <b> & c\n\nPlaces (2):\n- x\n- y"),
            "<p>a &lt;b&gt; &amp; c</p><p>Places (2):</p><ul><li>x</li><li>y</li></ul>"
        );
    }

    #[test]
    fn jira_priorities_follow_its_default_scheme() {
        let names: Vec<&str> = (1..=5).map(jira_priority).collect();
        assert_eq!(names, ["Highest", "High", "Medium", "Low", "Lowest"]);
    }
}
