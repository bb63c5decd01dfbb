//! What every rendering of a report (terminal summary, Markdown, backlog) shows the same way: the
//! names of levels and states, the order threats ask for attention in, the category × severity
//! table, and user text put on one line with its control characters made visible.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::analysis::report::{Report, Residual, ThreatInstance, ThreatState};
use crate::model::{ImplementationStatus, Rating, Severity, Strength};
use crate::render::visible;

/// Severities from the worst down: the order of every table and list.
pub const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Threat states from the one that needs the most attention.
pub const STATES: [ThreatState; 5] = [
    ThreatState::Unmitigated,
    ThreatState::Planned,
    ThreatState::Accepted,
    ThreatState::PartiallyMitigated,
    ThreatState::Mitigated,
];

/// The six STRIDE categories, in the order of the acronym. Other categories (`linddun:linking`)
/// follow them, sorted.
pub const STRIDE: [&str; 6] = [
    "spoofing",
    "tampering",
    "repudiation",
    "information-disclosure",
    "denial-of-service",
    "elevation-of-privilege",
];

/// The residual level of a threat instance with nothing left.
pub const NO_RESIDUAL: &str = "none";

/// The documented score of each residual level (docs/portfolio.md): a report's residual risk is
/// the sum over its threat instances, so a team sees it fall as mitigations land.
pub const RESIDUAL_SCORES: [(&str, u64); 6] = [
    ("critical", 10),
    ("high", 5),
    ("medium", 2),
    ("low", 1),
    ("info", 0),
    (NO_RESIDUAL, 0),
];

/// The score of a residual level by name (`RESIDUAL_SCORES`); 0 for a name it does not know.
pub fn residual_score(level: &str) -> u64 {
    RESIDUAL_SCORES
        .iter()
        .find(|(name, _)| *name == level)
        .map_or(0, |(_, score)| *score)
}

/// As in pack files and JSON.
pub fn severity_name(severity: Severity) -> &'static str {
    severity.as_str()
}

pub fn strength_name(strength: Strength) -> &'static str {
    strength.as_str()
}

pub fn rating_name(rating: Rating) -> &'static str {
    match rating {
        Rating::VeryLow => "very-low",
        Rating::Low => "low",
        Rating::Medium => "medium",
        Rating::High => "high",
        Rating::VeryHigh => "very-high",
    }
}

pub fn status_name(status: ImplementationStatus) -> &'static str {
    status.as_str()
}

/// As in JSON (`partially-mitigated`): the keys of `Totals::by_state`.
pub fn state_name(state: ThreatState) -> &'static str {
    crate::analysis::state_name(state)
}

/// As in a sentence (`partially mitigated`).
pub fn state_words(state: ThreatState) -> &'static str {
    match state {
        ThreatState::Unmitigated => "unmitigated",
        ThreatState::Planned => "mitigation planned",
        ThreatState::Accepted => "risk accepted",
        ThreatState::PartiallyMitigated => "partially mitigated",
        ThreatState::Mitigated => "mitigated",
    }
}

/// The residual level (`none` when nothing is left): the keys of `Totals::by_residual`.
pub fn residual_name(residual: Residual) -> &'static str {
    residual.severity.map_or(NO_RESIDUAL, severity_name)
}

/// Threat instances in the order they ask for attention: highest residual score first, then
/// highest severity, then id (so the order never depends on how the report was filled).
pub fn by_attention(report: &Report) -> Vec<&ThreatInstance> {
    let mut threats: Vec<&ThreatInstance> = report.threats.iter().collect();
    threats.sort_by(|a, b| {
        (Reverse(a.residual.score), Reverse(a.severity), &a.id).cmp(&(
            Reverse(b.residual.score),
            Reverse(b.severity),
            &b.id,
        ))
    });
    threats
}

/// Whether anything is left of a threat instance once the mitigations in place count.
pub fn has_residual(threat: &ThreatInstance) -> bool {
    threat.residual.score > 0 || threat.residual.severity.is_some()
}

/// One row of the category × severity table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRow {
    pub category: String,
    /// Threat instances per severity, in the order of `SEVERITIES`.
    pub by_severity: [usize; 5],
    pub total: usize,
}

/// Threat instances per category and severity, from the report's totals: the six STRIDE
/// categories (even when empty, so that "no repudiation threat" shows), then every other category
/// counted, sorted; an attack pattern in two categories counts in both. The last row, `all`,
/// counts each instance once (`Totals::by_severity`).
pub fn category_table(report: &Report) -> Vec<CategoryRow> {
    let totals = &report.totals;
    let row = |category: &str, counts: Option<&BTreeMap<String, usize>>| {
        let mut by_severity = [0; 5];
        for (column, severity) in SEVERITIES.iter().enumerate() {
            by_severity[column] = counts
                .and_then(|counts| counts.get(severity.as_str()))
                .copied()
                .unwrap_or_default();
        }
        CategoryRow {
            category: category.to_string(),
            by_severity,
            total: by_severity.iter().sum(),
        }
    };
    let mut rows: Vec<CategoryRow> = STRIDE
        .iter()
        .map(|category| row(category, totals.by_category_and_severity.get(*category)))
        .collect();
    rows.extend(
        totals
            .by_category_and_severity
            .iter()
            .filter(|(category, _)| !STRIDE.contains(&category.as_str()))
            .map(|(category, counts)| row(category, Some(counts))),
    );
    rows.push(row("all", Some(&totals.by_severity)));
    rows
}

/// The entries of a count map in a fixed order: the `known` keys first (zero when absent), then
/// any other key the map holds, sorted.
pub fn ordered_counts<'a>(
    counts: &'a BTreeMap<String, usize>,
    known: &[&'a str],
) -> Vec<(&'a str, usize)> {
    let mut entries: Vec<(&str, usize)> = known
        .iter()
        .map(|key| (*key, counts.get(*key).copied().unwrap_or_default()))
        .collect();
    entries.extend(
        counts
            .iter()
            .filter(|(key, _)| !known.contains(&key.as_str()))
            .map(|(key, count)| (key.as_str(), *count)),
    );
    entries
}

/// The keys of `Totals::by_residual`, worst first.
pub fn residual_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = SEVERITIES.iter().map(|s| severity_name(*s)).collect();
    keys.push(NO_RESIDUAL);
    keys
}

/// The keys of `Totals::by_state`, most urgent first.
pub fn state_keys() -> Vec<&'static str> {
    STATES.iter().map(|state| state_name(*state)).collect()
}

/// User text on one line: runs of whitespace (newlines included) become one space, and control
/// characters are escaped (`crate::render::visible`), so no content can drive a terminal or
/// break a table row.
pub fn one_line(text: &str) -> String {
    visible(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// At most `max` characters, the last three `...` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{kept}...")
}

/// `1 threat`, `2 threats`.
pub fn count(number: usize, singular: &str, plural: &str) -> String {
    if number == 1 {
        format!("{number} {singular}")
    } else {
        format!("{number} {plural}")
    }
}

/// An element as people know it: `Payments API (payments-api)`, or the id alone when the name
/// is empty or the id itself.
pub fn element_label(id: &str, name: &str) -> String {
    let id = one_line(id);
    let name = one_line(name);
    if name.is_empty() || name == id {
        id
    } else {
        format!("{name} ({id})")
    }
}

/// The display names of the elements the report knows, by id (from its threat instances).
pub fn element_names(report: &Report) -> BTreeMap<&str, &str> {
    report
        .threats
        .iter()
        .map(|threat| (threat.element.as_str(), threat.element_name.as_str()))
        .collect()
}

/// The names of the mitigations the report knows, by id (from the backlog and the threat
/// instances).
pub fn mitigation_names(report: &Report) -> BTreeMap<&str, &str> {
    let mut names: BTreeMap<&str, &str> = report
        .threats
        .iter()
        .flat_map(|threat| &threat.mitigations)
        .map(|mitigation| (mitigation.mitigation.as_str(), mitigation.name.as_str()))
        .collect();
    for item in &report.backlog {
        names.insert(&item.mitigation, &item.title);
    }
    names
}

/// Threat instances by id.
pub fn threats_by_id(report: &Report) -> BTreeMap<&str, &ThreatInstance> {
    report
        .threats
        .iter()
        .map(|threat| (threat.id.as_str(), threat))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_lines_and_escapes_control_characters() {
        assert_eq!(one_line("  a\n\tb  c "), "a b c");
        assert_eq!(one_line("red\u{1b}[31m"), "red\\u{1b}[31m");
        assert_eq!(one_line("bell\u{7}"), "bell\\u{7}");
        assert_eq!(one_line(""), "");
    }

    #[test]
    fn shorten_cuts_on_characters_not_bytes() {
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abc...");
        assert_eq!(shorten("ééééééé", 5), "éé...");
        assert_eq!(shorten("abc", 2), "...");
    }

    #[test]
    fn element_label_shows_the_id_once_when_there_is_no_other_name() {
        assert_eq!(element_label("api", "API"), "API (api)");
        assert_eq!(element_label("api", "api"), "api");
        assert_eq!(element_label("api", ""), "api");
    }

    #[test]
    fn ordered_counts_keeps_unknown_keys_after_the_known_ones() {
        let counts = BTreeMap::from([
            ("high".to_string(), 2),
            ("zzz".to_string(), 1),
            ("critical".to_string(), 1),
        ]);
        assert_eq!(
            ordered_counts(&counts, &["critical", "high", "low"]),
            vec![("critical", 1), ("high", 2), ("low", 0), ("zzz", 1)]
        );
    }
}
