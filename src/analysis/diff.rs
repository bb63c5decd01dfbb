//! Two threat-model reports compared by stable id (`report diff`, `impact`, `update --dry-run`,
//! and the gate's `--baseline`): threat instances new, gone and changed (severity, residual
//! risk, state), backlog items added, removed and changed (schema/report-diff.schema.json).
//!
//! A report is read as a [`ReportView`]: only what the comparison needs, in one streaming pass
//! over the JSON (descriptions, mitigations, totals and alignment are skipped unread), so a
//! report of gigabytes costs a few hundred bytes per threat instance, within the caps below.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::de::{Deserializer, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::report::{Report, Residual, ThreatState};
use crate::model::{ImplementationStatus, Severity};
use crate::render::visible;

/// The version of the report-diff format.
pub const REPORT_DIFF_FORMAT: u32 = 1;
/// The most threat instances a report read for a diff may hold.
pub const MAX_THREATS: usize = 5_000_000;
/// The most backlog items a report read for a diff may hold.
pub const MAX_BACKLOG_ITEMS: usize = 1_000_000;
/// The most text one kept threat instance or backlog item may hold (ids, names, elements).
pub const MAX_ITEM_TEXT: usize = 64 * 1024;

/// What a diff needs of a report. Unknown fields are skipped, so a report of a newer format
/// (with provenance, activities, …) reads as well as an older one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReportView {
    #[serde(default)]
    pub model: ModelView,
    #[serde(default)]
    pub pack: PackView,
    #[serde(deserialize_with = "capped_threats")]
    pub threats: Vec<ThreatBrief>,
    #[serde(deserialize_with = "capped_backlog")]
    pub backlog: Vec<BacklogBrief>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ModelView {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackView {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

/// A threat instance as a diff shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ThreatBrief {
    pub id: String,
    pub attack_pattern: String,
    pub name: String,
    pub element: String,
    pub severity: Severity,
    pub residual: Residual,
    pub state: ThreatState,
}

/// A backlog item as a diff shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BacklogBrief {
    pub id: String,
    pub mitigation: String,
    pub title: String,
    pub priority: u8,
    pub severity: Severity,
    pub places: Vec<PlaceBrief>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlaceBrief {
    pub element: String,
    pub status: ImplementationStatus,
}

/// The comparison of two reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReportDiff {
    pub format: u32,
    pub old: Side,
    pub new: Side,
    pub threats: ThreatChanges,
    pub backlog: BacklogChanges,
}

/// Which report a side is: its model file and knowledge base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Side {
    pub model: String,
    pub pack: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ThreatChanges {
    /// In the new report only, highest residual risk first.
    pub new: Vec<ThreatBrief>,
    /// In the old report only, highest residual risk first.
    pub gone: Vec<ThreatBrief>,
    /// In both, with another severity, residual risk or state; highest new residual first.
    pub changed: Vec<ThreatChange>,
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ThreatChange {
    pub id: String,
    pub attack_pattern: String,
    pub name: String,
    pub element: String,
    pub old: Assessment,
    pub new: Assessment,
    /// What differs, in this order: `severity`, `residual`, `state`.
    pub changes: Vec<ThreatField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Assessment {
    pub severity: Severity,
    pub residual: Residual,
    pub state: ThreatState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThreatField {
    Severity,
    /// The residual score or level.
    Residual,
    State,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BacklogChanges {
    /// In the new report's backlog only, by priority then id.
    pub added: Vec<BacklogBrief>,
    /// In the old report's backlog only (done, or no longer needed), by priority then id.
    pub removed: Vec<BacklogBrief>,
    /// In both, with another priority, severity or places; by id.
    pub changed: Vec<BacklogChange>,
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BacklogChange {
    pub id: String,
    pub mitigation: String,
    pub title: String,
    pub old: BacklogAssessment,
    pub new: BacklogAssessment,
    /// Elements where it is now to do, and no longer to do.
    pub places_added: Vec<String>,
    pub places_removed: Vec<String>,
    /// Elements where it is still to do, with another status.
    pub places_changed: Vec<PlaceChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BacklogAssessment {
    pub priority: u8,
    pub severity: Severity,
    pub places: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PlaceChange {
    pub element: String,
    pub old: ImplementationStatus,
    pub new: ImplementationStatus,
}

impl ReportView {
    /// Reads a JSON report in one pass, keeping only what a diff needs. The error says what
    /// is wrong and where (line and column), or which cap was reached.
    pub fn read(reader: impl std::io::Read) -> Result<ReportView, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_reader(reader);
        let view = ReportView::deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(view)
    }

    /// The view of a report already in memory.
    pub fn of(report: &Report) -> ReportView {
        ReportView {
            model: ModelView {
                name: report.model.name.clone(),
                file: report.model.file.clone(),
            },
            pack: PackView {
                name: report.pack.name.clone(),
                version: report.pack.version.clone(),
            },
            threats: report
                .threats
                .iter()
                .map(|threat| ThreatBrief {
                    id: threat.id.clone(),
                    attack_pattern: threat.attack_pattern.clone(),
                    name: threat.name.clone(),
                    element: threat.element.clone(),
                    severity: threat.severity,
                    residual: threat.residual,
                    state: threat.state,
                })
                .collect(),
            backlog: report
                .backlog
                .iter()
                .map(|item| BacklogBrief {
                    id: item.id.clone(),
                    mitigation: item.mitigation.clone(),
                    title: item.title.clone(),
                    priority: item.priority,
                    severity: item.severity,
                    places: item
                        .places
                        .iter()
                        .map(|place| PlaceBrief {
                            element: place.element.clone(),
                            status: place.status,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl ReportDiff {
    /// Nothing new, gone or changed.
    pub fn is_empty(&self) -> bool {
        self.threats.new.is_empty()
            && self.threats.gone.is_empty()
            && self.threats.changed.is_empty()
            && self.backlog.added.is_empty()
            && self.backlog.removed.is_empty()
            && self.backlog.changed.is_empty()
    }
}

/// Compares two reports by threat instance id and backlog item id (both stable across runs).
/// When a report names an id twice, its last instance counts.
pub fn diff(old: &ReportView, new: &ReportView) -> ReportDiff {
    ReportDiff {
        format: REPORT_DIFF_FORMAT,
        old: side(old),
        new: side(new),
        threats: diff_threats(&old.threats, &new.threats),
        backlog: diff_backlog(&old.backlog, &new.backlog),
    }
}

fn side(view: &ReportView) -> Side {
    Side {
        model: view.model.file.clone(),
        pack: view.pack.name.clone(),
        version: view.pack.version.clone(),
    }
}

fn diff_threats(old: &[ThreatBrief], new: &[ThreatBrief]) -> ThreatChanges {
    let old_by_id: HashMap<&str, &ThreatBrief> = old
        .iter()
        .map(|threat| (threat.id.as_str(), threat))
        .collect();
    let new_by_id: HashMap<&str, &ThreatBrief> = new
        .iter()
        .map(|threat| (threat.id.as_str(), threat))
        .collect();
    let mut changes = ThreatChanges::default();
    for (id, after) in &new_by_id {
        let Some(before) = old_by_id.get(id) else {
            changes.new.push((*after).clone());
            continue;
        };
        let mut fields = Vec::new();
        if before.severity != after.severity {
            fields.push(ThreatField::Severity);
        }
        if before.residual != after.residual {
            fields.push(ThreatField::Residual);
        }
        if before.state != after.state {
            fields.push(ThreatField::State);
        }
        if fields.is_empty() {
            changes.unchanged += 1;
            continue;
        }
        changes.changed.push(ThreatChange {
            id: after.id.clone(),
            attack_pattern: after.attack_pattern.clone(),
            name: after.name.clone(),
            element: after.element.clone(),
            old: assessment(before),
            new: assessment(after),
            changes: fields,
        });
    }
    changes.gone = old_by_id
        .iter()
        .filter(|(id, _)| !new_by_id.contains_key(*id))
        .map(|(_, threat)| (*threat).clone())
        .collect();
    let riskiest_first =
        |threat: &ThreatBrief| (std::cmp::Reverse(threat.residual.score), threat.id.clone());
    changes.new.sort_by_key(riskiest_first);
    changes.gone.sort_by_key(riskiest_first);
    changes.changed.sort_by_key(|change| {
        (
            std::cmp::Reverse(change.new.residual.score),
            change.id.clone(),
        )
    });
    changes
}

fn assessment(threat: &ThreatBrief) -> Assessment {
    Assessment {
        severity: threat.severity,
        residual: threat.residual,
        state: threat.state,
    }
}

fn diff_backlog(old: &[BacklogBrief], new: &[BacklogBrief]) -> BacklogChanges {
    let old_by_id: BTreeMap<&str, &BacklogBrief> =
        old.iter().map(|item| (item.id.as_str(), item)).collect();
    let new_by_id: BTreeMap<&str, &BacklogBrief> =
        new.iter().map(|item| (item.id.as_str(), item)).collect();
    let mut changes = BacklogChanges::default();
    for (id, after) in &new_by_id {
        let Some(before) = old_by_id.get(id) else {
            changes.added.push((*after).clone());
            continue;
        };
        let places_before: BTreeMap<&str, ImplementationStatus> = before
            .places
            .iter()
            .map(|place| (place.element.as_str(), place.status))
            .collect();
        let places_after: BTreeMap<&str, ImplementationStatus> = after
            .places
            .iter()
            .map(|place| (place.element.as_str(), place.status))
            .collect();
        let mut change = BacklogChange {
            id: after.id.clone(),
            mitigation: after.mitigation.clone(),
            title: after.title.clone(),
            old: backlog_assessment(before, places_before.len()),
            new: backlog_assessment(after, places_after.len()),
            places_added: Vec::new(),
            places_removed: Vec::new(),
            places_changed: Vec::new(),
        };
        for (element, status) in &places_after {
            match places_before.get(element) {
                None => change.places_added.push(element.to_string()),
                Some(previous) if previous != status => change.places_changed.push(PlaceChange {
                    element: element.to_string(),
                    old: *previous,
                    new: *status,
                }),
                Some(_) => {}
            }
        }
        change.places_removed = places_before
            .keys()
            .filter(|element| !places_after.contains_key(*element))
            .map(|element| element.to_string())
            .collect();
        if change.old == change.new
            && change.places_added.is_empty()
            && change.places_removed.is_empty()
            && change.places_changed.is_empty()
        {
            changes.unchanged += 1;
        } else {
            changes.changed.push(change);
        }
    }
    changes.removed = old_by_id
        .iter()
        .filter(|(id, _)| !new_by_id.contains_key(*id))
        .map(|(_, item)| (*item).clone())
        .collect();
    let by_priority = |item: &BacklogBrief| (item.priority, item.id.clone());
    changes.added.sort_by_key(by_priority);
    changes.removed.sort_by_key(by_priority);
    changes
}

fn backlog_assessment(item: &BacklogBrief, places: usize) -> BacklogAssessment {
    BacklogAssessment {
        priority: item.priority,
        severity: item.severity,
        places,
    }
}

/// The diff for a terminal: a line per threat and backlog item, text from the reports
/// escaped. `limit` caps the lines of each list (`None`: all).
pub fn human(diff: &ReportDiff, limit: Option<usize>) -> String {
    let mut out = String::new();
    let threats = &diff.threats;
    let backlog = &diff.backlog;
    let _ = writeln!(
        out,
        "threats: {} new, {} gone, {} changed, {} unchanged",
        threats.new.len(),
        threats.gone.len(),
        threats.changed.len(),
        threats.unchanged
    );
    let shown = |count: usize| limit.map_or(count, |limit| count.min(limit));
    let more = |out: &mut String, count: usize| {
        if shown(count) < count {
            let _ = writeln!(out, "    … and {} more", count - shown(count));
        }
    };
    for (sign, list) in [("+", &threats.new), ("-", &threats.gone)] {
        for threat in list.iter().take(shown(list.len())) {
            let _ = writeln!(
                out,
                "  {sign} {} {} on {}: {}, residual {}, {}",
                threat.id,
                visible(&threat.attack_pattern),
                visible(&threat.element),
                threat.severity.as_str(),
                residual_text(&threat.residual),
                state_text(threat.state)
            );
        }
        more(&mut out, list.len());
    }
    for change in threats.changed.iter().take(shown(threats.changed.len())) {
        let mut parts = Vec::new();
        for field in &change.changes {
            parts.push(match field {
                ThreatField::Severity => format!(
                    "severity {} -> {}",
                    change.old.severity.as_str(),
                    change.new.severity.as_str()
                ),
                ThreatField::Residual => format!(
                    "residual {} -> {}",
                    residual_text(&change.old.residual),
                    residual_text(&change.new.residual)
                ),
                ThreatField::State => format!(
                    "{} -> {}",
                    state_text(change.old.state),
                    state_text(change.new.state)
                ),
            });
        }
        let _ = writeln!(
            out,
            "  ~ {} {} on {}: {}",
            change.id,
            visible(&change.attack_pattern),
            visible(&change.element),
            parts.join(", ")
        );
    }
    more(&mut out, threats.changed.len());
    let _ = writeln!(
        out,
        "backlog: {} added, {} removed, {} changed, {} unchanged",
        backlog.added.len(),
        backlog.removed.len(),
        backlog.changed.len(),
        backlog.unchanged
    );
    for (sign, list) in [("+", &backlog.added), ("-", &backlog.removed)] {
        for item in list.iter().take(shown(list.len())) {
            let _ = writeln!(
                out,
                "  {sign} {} {} (P{}, {}): {}",
                item.id,
                visible(&item.mitigation),
                item.priority,
                plural(item.places.len(), "place"),
                visible(&item.title)
            );
        }
        more(&mut out, list.len());
    }
    for change in backlog.changed.iter().take(shown(backlog.changed.len())) {
        let mut parts = Vec::new();
        if change.old.priority != change.new.priority {
            parts.push(format!(
                "P{} -> P{}",
                change.old.priority, change.new.priority
            ));
        }
        if !change.places_added.is_empty() {
            parts.push(format!("+{}", plural(change.places_added.len(), "place")));
        }
        if !change.places_removed.is_empty() {
            parts.push(format!("-{}", plural(change.places_removed.len(), "place")));
        }
        if !change.places_changed.is_empty() {
            parts.push(format!("{} statuses changed", change.places_changed.len()));
        }
        if change.old.severity != change.new.severity {
            parts.push(format!(
                "severity {} -> {}",
                change.old.severity.as_str(),
                change.new.severity.as_str()
            ));
        }
        let _ = writeln!(
            out,
            "  ~ {} {}: {}",
            change.id,
            visible(&change.mitigation),
            parts.join(", ")
        );
    }
    more(&mut out, backlog.changed.len());
    out
}

fn residual_text(residual: &Residual) -> String {
    match residual.severity {
        Some(severity) => format!("{} ({})", severity.as_str(), residual.score),
        None => "none".to_string(),
    }
}

fn state_text(state: ThreatState) -> &'static str {
    match state {
        ThreatState::Unmitigated => "unmitigated",
        ThreatState::Planned => "planned",
        ThreatState::Accepted => "accepted",
        ThreatState::PartiallyMitigated => "partially mitigated",
        ThreatState::Mitigated => "mitigated",
    }
}

/// Text a threat instance keeps.
fn threat_text(threat: &ThreatBrief) -> usize {
    threat.id.len() + threat.attack_pattern.len() + threat.name.len() + threat.element.len()
}

/// Text a backlog item keeps.
fn backlog_text(item: &BacklogBrief) -> usize {
    item.id.len()
        + item.mitigation.len()
        + item.title.len()
        + item
            .places
            .iter()
            .map(|place| place.element.len())
            .sum::<usize>()
}

fn capped_threats<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ThreatBrief>, D::Error> {
    deserializer.deserialize_seq(Capped {
        what: "threat instances",
        max: MAX_THREATS,
        text: threat_text,
    })
}

fn capped_backlog<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<BacklogBrief>, D::Error> {
    deserializer.deserialize_seq(Capped {
        what: "backlog items",
        max: MAX_BACKLOG_ITEMS,
        text: backlog_text,
    })
}

/// A list read one element at a time, refused past `max` elements or [`MAX_ITEM_TEXT`] in one.
struct Capped<T> {
    what: &'static str,
    max: usize,
    text: fn(&T) -> usize,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Capped<T> {
    type Value = Vec<T>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "a list of {}", self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<T>()? {
            if items.len() == self.max {
                return Err(A::Error::custom(format!(
                    "more than {} {}: too large to compare",
                    self.max, self.what
                )));
            }
            if (self.text)(&item) > MAX_ITEM_TEXT {
                return Err(A::Error::custom(format!(
                    "one of the {} holds more than {MAX_ITEM_TEXT} bytes of ids and names",
                    self.what
                )));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// "1 place", "3 places".
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threat(id: &str, severity: Severity, score: u32, state: ThreatState) -> ThreatBrief {
        ThreatBrief {
            id: id.to_string(),
            attack_pattern: format!("p:attack-pattern/{id}"),
            name: id.to_string(),
            element: "api".to_string(),
            severity,
            residual: Residual {
                score,
                severity: (score > 0).then_some(severity),
            },
            state,
        }
    }

    fn item(id: &str, priority: u8, places: &[(&str, ImplementationStatus)]) -> BacklogBrief {
        BacklogBrief {
            id: id.to_string(),
            mitigation: format!("p:mitigation/{id}"),
            title: id.to_string(),
            priority,
            severity: Severity::High,
            places: places
                .iter()
                .map(|(element, status)| PlaceBrief {
                    element: element.to_string(),
                    status: *status,
                })
                .collect(),
        }
    }

    fn view(threats: Vec<ThreatBrief>, backlog: Vec<BacklogBrief>) -> ReportView {
        ReportView {
            threats,
            backlog,
            ..ReportView::default()
        }
    }

    use ImplementationStatus::{Missing, Planned};
    use Severity::{Critical, High, Low};
    use ThreatState::{Mitigated, Unmitigated};

    #[test]
    fn new_threats_come_riskiest_first_and_an_unchanged_one_is_only_counted() {
        let old = view(vec![threat("T-a", High, 75, Unmitigated)], vec![]);
        let new = view(
            vec![
                threat("T-a", High, 75, Unmitigated),
                threat("T-b", Low, 25, Unmitigated),
                threat("T-c", Critical, 100, Unmitigated),
            ],
            vec![],
        );
        let result = diff(&old, &new);
        let ids: Vec<&str> = result.threats.new.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["T-c", "T-b"]);
        assert_eq!(result.threats.unchanged, 1);
        assert!(result.threats.gone.is_empty() && result.threats.changed.is_empty());
        // The other way round, the same threats are gone.
        let back = diff(&new, &old);
        let ids: Vec<&str> = back.threats.gone.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["T-c", "T-b"]);
    }

    #[test]
    fn a_mitigated_threat_changes_residual_and_state_but_not_severity() {
        let old = view(vec![threat("T-a", High, 75, Unmitigated)], vec![]);
        let new = view(vec![threat("T-a", High, 0, Mitigated)], vec![]);
        let result = diff(&old, &new);
        assert_eq!(
            result.threats.changed[0].changes,
            [ThreatField::Residual, ThreatField::State]
        );
        assert!(
            human(&result, None).contains("residual high (75) -> none, unmitigated -> mitigated")
        );
    }

    #[test]
    fn backlog_places_added_removed_and_with_another_status() {
        let old = view(
            vec![],
            vec![
                item("M-a", 2, &[("api", Missing), ("db", Missing)]),
                item("M-gone", 3, &[("api", Missing)]),
            ],
        );
        let new = view(
            vec![],
            vec![
                item("M-a", 2, &[("api", Planned), ("web", Missing)]),
                item("M-new", 1, &[("web", Missing)]),
            ],
        );
        let result = diff(&old, &new);
        assert_eq!(result.backlog.added[0].id, "M-new");
        assert_eq!(result.backlog.removed[0].id, "M-gone");
        let change = &result.backlog.changed[0];
        assert_eq!(change.places_added, ["web"]);
        assert_eq!(change.places_removed, ["db"]);
        assert_eq!(
            change.places_changed,
            [PlaceChange {
                element: "api".to_string(),
                old: Missing,
                new: Planned
            }]
        );
        assert_eq!(change.old.places, 2);
        assert!(!result.is_empty());
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn too_many_threats_or_too_much_text_is_refused_while_reading() {
        let long = format!(
            r#"{{"threats":[{{"id":"T-1","attack-pattern":"{}","name":"n","element":"e","severity":"low","residual":{{"score":25,"severity":"low"}},"state":"unmitigated"}}],"backlog":[]}}"#,
            "x".repeat(MAX_ITEM_TEXT)
        );
        let error = ReportView::read(long.as_bytes()).expect_err("too long");
        assert!(
            error.to_string().contains("more than 65536 bytes"),
            "{error}"
        );
        let missing = ReportView::read(r#"{"threats":[]}"#.as_bytes()).expect_err("no backlog");
        assert!(missing.to_string().contains("backlog"), "{missing}");
    }
}
