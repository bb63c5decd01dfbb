//! The terminal summary of a report: what was applied to what (and the tier, and why), the
//! evaluation errors first because they make every number below incomplete, threats per STRIDE
//! category × severity, the residual risk, the threats with the most risk left and the
//! backlog's size. Plain text within 80 columns, no colour; user text is put on one line with
//! control characters escaped.
//!
//! It reads counts from the totals, never by counting lists: `analyse` with `Detail::Summary`
//! keeps only the `TOP_THREATS` worst threat instances and no alignment, so the summary shows
//! nothing that needs more.

use std::fmt::Write as _;

use crate::analysis::report::{Report, TierSource};
use crate::analysis::view::{
    self, NO_RESIDUAL, SEVERITIES, by_attention, category_table, count, element_label,
    has_residual, one_line, ordered_counts, residual_keys, residual_name, severity_name, shorten,
    state_keys, state_words,
};

/// The width the summary keeps within.
pub const WIDTH: usize = 80;

/// How many threat instances the summary lists; the rest are counted. `apply` asks `analyse`
/// for this many (`Detail::Summary { limit }`).
pub const TOP_THREATS: usize = 10;

/// How many evaluation errors the summary lists; the rest are counted.
pub const TOP_ERRORS: usize = 10;

/// The longest category name the table shows in full.
const CATEGORY_WIDTH: usize = 30;

/// The summary `threatpack apply` prints on the terminal.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    errors(&mut out, report);
    threat_counts(&mut out, report);
    category_severity_table(&mut out, report);
    distributions(&mut out, report);
    top_threats(&mut out, report);
    backlog(&mut out, report);
    activities(&mut out, report);
    out
}

fn header(out: &mut String, report: &Report) {
    let model = &report.model;
    let title = format!(
        "threat model of {} ({})",
        one_line(&model.name),
        one_line(&model.file)
    );
    push_wrapped(out, "", "  ", &title);
    push_field(
        out,
        "model",
        &format!(
            "{}, {}, {}",
            count(model.components, "component", "components"),
            count(model.flows, "flow", "flows"),
            count(model.boundaries, "boundary", "boundaries")
        ),
    );
    if !model.out_of_scope.is_empty() {
        let elements: Vec<String> = model
            .out_of_scope
            .iter()
            .map(|element| one_line(&element.element))
            .collect();
        push_field_list(out, "out of scope", &elements);
    }
    push_field(
        out,
        "pack",
        &format!(
            "{} {}",
            one_line(&report.pack.name),
            one_line(&report.pack.version)
        ),
    );
    let tier = &report.tier;
    let name = tier
        .name
        .as_deref()
        .map_or_else(|| "all tiers".to_string(), one_line);
    let how = match tier.chosen_by {
        TierSource::Flag => "chosen with --tier",
        TierSource::Rule => "chosen by a tier rule",
        TierSource::Default => "the default",
        TierSource::All => "everything",
    };
    let reason = one_line(&tier.reason);
    let text = if reason.is_empty() {
        format!("{name} ({how})")
    } else {
        format!("{name} ({how}): {reason}")
    };
    push_field(out, "tier", &text);
}

fn errors(out: &mut String, report: &Report) {
    if report.errors.is_empty() {
        return;
    }
    out.push('\n');
    let headline = format!(
        "error: {} could not be evaluated; the threats they decide are missing \
         below (a condition that fails is never taken as false)",
        count(report.errors.len(), "condition", "conditions")
    );
    push_wrapped(out, "", "  ", &headline);
    for error in report.errors.iter().take(TOP_ERRORS) {
        let place = format!("{} on {}:", one_line(&error.rule), one_line(&error.element));
        push_wrapped(out, "  ", "    ", &place);
        push_wrapped(out, "    ", "    ", &one_line(&error.message));
    }
    if report.errors.len() > TOP_ERRORS {
        let _ = writeln!(
            out,
            "  and {} more",
            count(report.errors.len() - TOP_ERRORS, "error", "errors")
        );
    }
}

fn threat_counts(out: &mut String, report: &Report) {
    out.push('\n');
    let totals = &report.totals;
    let text = format!(
        "{}, {} with no mitigation in place",
        count(totals.threats, "threat instance", "threat instances"),
        totals.unmitigated
    );
    push_wrapped(out, "", "", &text);
}

fn category_severity_table(out: &mut String, report: &Report) {
    let rows = category_table(report);
    let width = rows
        .iter()
        .map(|row| one_line(&row.category).chars().count())
        .chain(["category".len()])
        .max()
        .unwrap_or_default()
        .min(CATEGORY_WIDTH);
    let headers: Vec<&str> = SEVERITIES
        .iter()
        .map(|severity| severity_name(*severity))
        .chain(["total"])
        .collect();
    out.push('\n');
    let mut line = format!("{:<width$}", "category");
    for header in &headers {
        let _ = write!(line, "  {header}");
    }
    push_line(out, &line);
    let last = rows.len().saturating_sub(1);
    for (index, row) in rows.iter().enumerate() {
        let name = if index == last {
            "all threats".to_string()
        } else {
            shorten(&one_line(&row.category), width)
        };
        let mut line = format!("{name:<width$}");
        let numbers = row.by_severity.iter().chain([&row.total]);
        for (header, number) in headers.iter().zip(numbers) {
            let _ = write!(line, "  {number:>column$}", column = header.len());
        }
        push_line(out, &line);
    }
}

fn distributions(out: &mut String, report: &Report) {
    out.push('\n');
    let residual: Vec<String> = ordered_counts(&report.totals.by_residual, &residual_keys())
        .into_iter()
        .map(|(key, number)| format!("{} {number}", one_line(key)))
        .collect();
    push_field_list(out, "residual risk", &residual);
    let state_names: Vec<&str> = state_keys();
    let states: Vec<String> = ordered_counts(&report.totals.by_state, &state_names)
        .into_iter()
        .map(|(key, number)| {
            let words = view::STATES
                .iter()
                .find(|state| view::state_name(**state) == key)
                .map_or_else(|| one_line(key), |state| state_words(*state).to_string());
            format!("{words} {number}")
        })
        .collect();
    push_field_list(out, "state", &states);
}

fn top_threats(out: &mut String, report: &Report) {
    let shown: Vec<_> = by_attention(report)
        .into_iter()
        .filter(|threat| has_residual(threat))
        .take(TOP_THREATS)
        .collect();
    // From the totals: a report made for the summary holds only the worst threat instances.
    let totals = &report.totals;
    let without_residual = totals
        .by_residual
        .get(NO_RESIDUAL)
        .copied()
        .unwrap_or_default();
    let with_residual = totals
        .threats
        .saturating_sub(without_residual)
        .max(shown.len());
    out.push('\n');
    if with_residual == 0 {
        if totals.threats == 0 {
            push_line(out, "no threat applies to this model");
        } else {
            push_line(
                out,
                "no residual risk: the mitigations in place cover every threat",
            );
        }
        return;
    }
    push_wrapped(
        out,
        "",
        "",
        &format!(
            "highest residual risk ({with_residual} of {} have some left):",
            count(totals.threats, "threat instance", "threat instances")
        ),
    );
    for threat in &shown {
        let level = residual_name(threat.residual);
        let id = shorten(&one_line(&threat.id), 16);
        // `  critical  NAME  T-0123456789ab`: the name takes what the id leaves.
        let room = WIDTH
            .saturating_sub(2 + 8 + 2 + 2 + id.chars().count())
            .max(20);
        let name = shorten(&one_line(&threat.name), room);
        push_line(out, &format!("  {level:<8}  {name:<room$}  {id}"));
        let detail = format!(
            "on {}: severity {}, {}",
            element_label(&threat.element, &threat.element_name),
            severity_name(threat.severity),
            state_words(threat.state)
        );
        push_wrapped(out, "            ", "              ", &detail);
    }
    if with_residual > shown.len() {
        push_line(
            out,
            &format!(
                "  and {} more (every threat is in the Markdown and JSON reports)",
                with_residual - shown.len()
            ),
        );
    }
}

fn backlog(out: &mut String, report: &Report) {
    out.push('\n');
    let totals = &report.totals;
    if totals.backlog_items == 0 && report.backlog.is_empty() {
        push_line(out, "backlog: nothing to do");
        return;
    }
    push_line(
        out,
        &format!(
            "backlog: {} in {}",
            count(totals.backlog_items, "mitigation", "mitigations"),
            count(totals.backlog_places, "place", "places")
        ),
    );
    let mut by_priority = [0usize; 5];
    for item in &report.backlog {
        let index = usize::from(item.priority.clamp(1, 5)) - 1;
        by_priority[index] += 1;
    }
    let priorities: Vec<String> = by_priority
        .iter()
        .enumerate()
        .filter(|(_, number)| **number > 0)
        .map(|(index, number)| format!("P{} ({}) {number}", index + 1, priority_word(index)))
        .collect();
    if !priorities.is_empty() {
        push_field_list(out, "by priority", &priorities);
    }
}

fn activities(out: &mut String, report: &Report) {
    let Some(activities) = &report.activities else {
        return;
    };
    out.push('\n');
    if activities.required == 0 {
        push_line(out, "activities: none required");
        return;
    }
    push_line(
        out,
        &format!(
            "activities: {} required, {} done, {} owed",
            activities.required, activities.done, activities.owed
        ),
    );
    for activity in &activities.activities {
        let why = match &activity.error {
            Some(error) => format!("cannot evaluate: {error}"),
            None => crate::analysis::activities::values_text(&activity.values),
        };
        push_wrapped(
            out,
            &format!("  {:<6} ", activity.status.as_str()),
            "         ",
            &format!("{} ({}): {why}", activity.name, activity.kind.as_str()),
        );
    }
}

/// The severity each backlog priority stands for.
fn priority_word(index: usize) -> &'static str {
    SEVERITIES
        .get(index)
        .map_or("?", |severity| severity_name(*severity))
}

/// `  label         item, item, ...`, wrapped between items (never inside one) under the first.
fn push_field_list(out: &mut String, label: &str, items: &[String]) {
    let first = format!("  {label:<15}");
    let rest = " ".repeat(first.chars().count());
    let mut line = first;
    let mut empty = true;
    for (index, item) in items.iter().enumerate() {
        let item = if index + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        if !empty && line.chars().count() + 1 + item.chars().count() > WIDTH {
            push_line(out, &line);
            line = rest.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(&item);
        empty = false;
    }
    push_line(out, &line);
}

/// `  label         value`, the value wrapped under itself.
fn push_field(out: &mut String, label: &str, value: &str) {
    let first = format!("  {label:<15}");
    let rest = " ".repeat(first.chars().count());
    push_wrapped(out, &first, &rest, value);
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Word-wraps `text` to `WIDTH` columns, the first line after `first`, the others after `rest`.
/// A word longer than a line gets a line of its own rather than being split.
fn push_wrapped(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ').filter(|word| !word.is_empty()) {
        let needed = line.chars().count() + usize::from(!empty) + word.chars().count();
        if !empty && needed > WIDTH {
            push_line(out, &line);
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    push_line(out, &line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let mut out = String::new();
        let text = "word ".repeat(40);
        push_wrapped(&mut out, "  ", "    ", &text);
        assert!(out.lines().count() > 1);
        assert!(out.lines().all(|line| line.chars().count() <= WIDTH));
        assert!(out.lines().skip(1).all(|line| line.starts_with("    word")));
    }

    #[test]
    fn a_word_longer_than_the_line_stands_alone() {
        let mut out = String::new();
        let long = "x".repeat(100);
        push_wrapped(&mut out, "", "", &format!("a {long} b"));
        assert_eq!(out, format!("a\n{long}\nb\n"));
    }
}
