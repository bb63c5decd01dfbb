//! The Markdown report of applying a pack to a model, for people: overview, tier choice,
//! totals, every threat instance grouped by element, the backlog, and the alignment with user
//! stories. GitHub-flavoured Markdown (tables); every piece of user text is escaped so that it
//! renders as the text it is (no emphasis, links, HTML, headings or broken table rows).
//!
//! Threats are grouped by element rather than by STRIDE category: an element is what a team
//! owns and changes, its mitigations are implemented there, and an attack pattern in two
//! categories would otherwise be listed twice. The categories are in the totals and on every
//! threat; elements come in order of their worst residual risk, so the reader starts where the
//! most risk is left.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::report::{Report, ThreatInstance, TierSource};
use crate::analysis::view::{
    by_attention, category_table, count, element_names, mitigation_names, one_line, ordered_counts,
    rating_name, residual_keys, residual_name, severity_name, state_keys, state_words, status_name,
    strength_name, threats_by_id,
};

/// The Markdown report.
pub fn markdown(report: &Report) -> String {
    let mut document = Document::default();
    title(&mut document, report);
    overview(&mut document, report);
    tier(&mut document, report);
    totals(&mut document, report);
    threats(&mut document, report);
    backlog(&mut document, report);
    activities(&mut document, report);
    alignment(&mut document, report);
    errors(&mut document, report);
    document.finish()
}

/// Lines of Markdown, blocks separated by one blank line.
#[derive(Default)]
struct Document {
    lines: Vec<String>,
}

impl Document {
    fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Starts a new block (a blank line, never two).
    fn blank(&mut self) {
        if self.lines.last().is_some_and(|line| !line.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn heading(&mut self, level: usize, text: &str) {
        self.blank();
        self.line(format!("{} {text}", "#".repeat(level)));
        self.blank();
    }

    fn paragraph(&mut self, text: impl Into<String>) {
        self.blank();
        self.line(text);
        self.blank();
    }

    /// A table: the header cells (with their alignment markers) and rows of already escaped
    /// cells.
    fn table(&mut self, header: &[(&str, &str)], rows: &[Vec<String>]) {
        self.blank();
        let names: Vec<&str> = header.iter().map(|(name, _)| *name).collect();
        let markers: Vec<&str> = header.iter().map(|(_, marker)| *marker).collect();
        self.line(format!("| {} |", names.join(" | ")));
        self.line(format!("|{}|", markers.join("|")));
        for row in rows {
            self.line(format!("| {} |", row.join(" | ")));
        }
        self.blank();
    }

    fn finish(mut self) -> String {
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        let mut text = self.lines.join("\n");
        text.push('\n');
        text
    }
}

const LEFT: &str = "---";

/// The severity columns of the totals table, worst first (as `SEVERITIES`).
const SEVERITY_HEADERS: [&str; 5] = ["Critical", "High", "Medium", "Low", "Info"];
const RIGHT: &str = "--:";

fn title(document: &mut Document, report: &Report) {
    document.heading(1, &format!("Threat model: {}", text(&report.model.name)));
    let model = &report.model;
    document.paragraph(format!(
        "Knowledge base **{} {}** applied to **{}** ({}: {}, {}, {}).",
        text(&report.pack.name),
        text(&report.pack.version),
        text(&model.name),
        code(&model.file),
        count(model.components, "component", "components"),
        count(model.flows, "flow", "flows"),
        count(model.boundaries, "boundary", "boundaries"),
    ));
    if !model.out_of_scope.is_empty() {
        let elements: Vec<String> = model
            .out_of_scope
            .iter()
            .map(|element| match &element.reason {
                Some(reason) => format!("{} ({})", code(&element.element), text(reason)),
                None => code(&element.element),
            })
            .collect();
        document.blank();
        document.paragraph(format!(
            "Out of scope, so given no threats: {}.",
            elements.join(", ")
        ));
    }
    if !report.errors.is_empty() {
        document.blank();
        document.line("> [!WARNING]");
        document.line(format!(
            "> {} could not be evaluated: the threats they decide are missing from this \
             report (a condition that fails is never taken as false). See \
             [Evaluation errors](#evaluation-errors).",
            count(report.errors.len(), "condition", "conditions")
        ));
        document.blank();
    }
}

fn overview(document: &mut Document, report: &Report) {
    document.heading(2, "Overview");
    let totals = &report.totals;
    let residual: Vec<String> = ordered_counts(&totals.by_residual, &residual_keys())
        .into_iter()
        .map(|(key, number)| format!("{number} {}", text(key)))
        .collect();
    let alignment = &report.alignment;
    document.line(format!(
        "- **{}**, {} with no mitigation in place.",
        count(totals.threats, "threat instance", "threat instances"),
        totals.unmitigated
    ));
    document.line(format!("- Residual risk: {}.", residual.join(", ")));
    document.line(format!(
        "- Backlog: **{}** in **{}**.",
        count(totals.backlog_items, "mitigation", "mitigations"),
        count(totals.backlog_places, "place", "places")
    ));
    document.line(format!(
        "- Alignment: {}, {}, {}.",
        count(
            alignment.stories.len(),
            "user story with mitigations to implement",
            "user stories with mitigations to implement"
        ),
        count(
            alignment.threats_without_clause.len(),
            "threat no WITHOUT clause covers",
            "threats no WITHOUT clause covers"
        ),
        count(
            alignment.clauses_without_threat.len(),
            "WITHOUT clause that covers no threat",
            "WITHOUT clauses that cover no threat"
        ),
    ));
    if !report.errors.is_empty() {
        document.line(format!(
            "- **{}** (see below).",
            count(report.errors.len(), "evaluation error", "evaluation errors")
        ));
    }
}

fn tier(document: &mut Document, report: &Report) {
    document.heading(2, "Tier");
    let tier = &report.tier;
    let name = tier.name.as_deref().map_or_else(
        || "All tiers".to_string(),
        |name| format!("**{}**", text(name)),
    );
    let how = match tier.chosen_by {
        TierSource::Flag => "chosen on the command line",
        TierSource::Rule => "chosen by a tier rule of the pack",
        TierSource::Default => "the pack's default (no tier rule matched)",
        TierSource::All => "every item of the pack, whatever its tier",
    };
    let reason = text(&tier.reason);
    if reason.is_empty() {
        document.paragraph(format!("{name}, {how}."));
    } else {
        document.paragraph(format!("{name}, {how}: {reason}"));
    }
}

fn totals(document: &mut Document, report: &Report) {
    document.heading(2, "Totals");
    document.paragraph(
        "Threat instances per category and severity (before mitigations); an attack pattern in \
         two categories counts in both.",
    );
    let mut header: Vec<(&str, &str)> = vec![("Category", LEFT)];
    header.extend(SEVERITY_HEADERS.iter().map(|name| (*name, RIGHT)));
    header.push(("Total", RIGHT));
    let table = category_table(report);
    let last = table.len().saturating_sub(1);
    let rows: Vec<Vec<String>> = table
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let name = if index == last {
                "**All threats**".to_string()
            } else {
                text(&row.category)
            };
            let mut cells = vec![name];
            cells.extend(row.by_severity.iter().map(usize::to_string));
            cells.push(row.total.to_string());
            cells
        })
        .collect();
    document.table(&header, &rows);
    let residual: Vec<Vec<String>> = ordered_counts(&report.totals.by_residual, &residual_keys())
        .into_iter()
        .map(|(key, number)| vec![text(key), number.to_string()])
        .collect();
    document.table(&[("Residual risk", LEFT), ("Threats", RIGHT)], &residual);
    let states: Vec<Vec<String>> = ordered_counts(&report.totals.by_state, &state_keys())
        .into_iter()
        .map(|(key, number)| vec![text(key), number.to_string()])
        .collect();
    document.table(&[("State", LEFT), ("Threats", RIGHT)], &states);
}

fn threats(document: &mut Document, report: &Report) {
    document.heading(2, "Threats by element");
    if report.threats.is_empty() {
        document.paragraph("No threat of the knowledge base applies to this model.");
        return;
    }
    document.paragraph(
        "Elements with the most residual risk come first, and within an element the threats \
         with the most residual risk. Residual risk is the severity reduced by the strongest \
         mitigation in place (docs/apply.md#residual-risk).",
    );
    // Groups in order of first appearance in attention order: each element's worst threat
    // decides where it comes.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<&ThreatInstance>> = BTreeMap::new();
    for threat in by_attention(report) {
        let group = groups.entry(&threat.element).or_default();
        if group.is_empty() {
            order.push(&threat.element);
        }
        group.push(threat);
    }
    for element in order {
        let Some(threats) = groups.get(element) else {
            continue;
        };
        let name = threats
            .first()
            .map_or("", |threat| threat.element_name.as_str());
        document.heading(3, &element_heading(element, name));
        let open = threats
            .iter()
            .filter(|threat| threat.residual.severity.is_some() || threat.residual.score > 0)
            .count();
        document.paragraph(format!(
            "{}, {open} with residual risk.",
            count(threats.len(), "threat instance", "threat instances")
        ));
        for threat in threats {
            threat_section(document, threat);
        }
    }
}

fn element_heading(id: &str, name: &str) -> String {
    let shown_name = one_line(name);
    if shown_name.is_empty() || shown_name == one_line(id) {
        code(id)
    } else {
        format!("{} ({})", text(name), code(id))
    }
}

fn threat_section(document: &mut Document, threat: &ThreatInstance) {
    let name = if one_line(&threat.name).is_empty() {
        text(&threat.attack_pattern)
    } else {
        text(&threat.name)
    };
    document.heading(4, &name);
    let mut rating = Vec::new();
    if let Some(likelihood) = threat.likelihood {
        rating.push(format!("likelihood {}", rating_name(likelihood)));
    }
    if let Some(impact) = threat.impact {
        rating.push(format!("impact {}", rating_name(impact)));
    }
    let rating = if rating.is_empty() {
        String::new()
    } else {
        format!(" ({})", rating.join(", "))
    };
    document.paragraph(format!(
        "{} · residual **{}** ({}) · severity **{}**{rating} · {}",
        code(&threat.id),
        residual_name(threat.residual),
        threat.residual.score,
        severity_name(threat.severity),
        state_words(threat.state),
    ));
    let categories: Vec<String> = threat.categories.iter().map(|c| text(c)).collect();
    document.paragraph(format!(
        "Categories: {}. Attack pattern {} (tier {}).",
        if categories.is_empty() {
            "none".to_string()
        } else {
            categories.join(", ")
        },
        code(&threat.attack_pattern),
        code(&threat.tier),
    ));
    if threat.mitigations.is_empty() {
        document.paragraph("No mitigation in the knowledge base addresses it here.");
        return;
    }
    let with_notes = threat.mitigations.iter().any(|m| m.note.is_some());
    let mut header = vec![("Mitigation", LEFT), ("Strength", LEFT), ("Status", LEFT)];
    if with_notes {
        header.push(("Note", LEFT));
    }
    let rows: Vec<Vec<String>> = threat
        .mitigations
        .iter()
        .map(|mitigation| {
            let mut cells = vec![
                format!(
                    "{} ({})",
                    text(&mitigation.name),
                    code(&mitigation.mitigation)
                ),
                strength_name(mitigation.strength).to_string(),
                status_name(mitigation.status).to_string(),
            ];
            if with_notes {
                cells.push(mitigation.note.as_deref().map(text).unwrap_or_default());
            }
            cells
        })
        .collect();
    document.table(&header, &rows);
}

fn activities(document: &mut Document, report: &Report) {
    let Some(activities) = &report.activities else {
        return;
    };
    document.heading(2, "Security activities");
    if activities.required == 0 {
        document.paragraph("None required: no activity's rule holds for these results.");
        return;
    }
    document.paragraph(format!(
        "{} required, {} done, {} owed. Each is required because its rule holds for this \
         model and its results; record one done in the model's `[[activity-done]]`.",
        activities.required, activities.done, activities.owed
    ));
    let rows: Vec<Vec<String>> = activities
        .activities
        .iter()
        .map(|activity| {
            let why = match &activity.error {
                Some(error) => format!("cannot evaluate: {}", text(error)),
                None => format!(
                    "{} with {}",
                    code(&one_line(&activity.rule)),
                    code(&crate::analysis::activities::values_text(&activity.values))
                ),
            };
            let status = match &activity.done {
                Some(done) => format!("done {} ({})", text(&done.date), text(&done.evidence)),
                None => activity.status.as_str().to_string(),
            };
            vec![
                format!(
                    "{} ({})",
                    text(&activity.name),
                    code(activity.kind.as_str())
                ),
                status,
                why,
            ]
        })
        .collect();
    document.table(
        &[("Activity", LEFT), ("Status", LEFT), ("Why", LEFT)],
        &rows,
    );
}

fn backlog(document: &mut Document, report: &Report) {
    document.heading(2, "Backlog");
    if report.backlog.is_empty() {
        document.paragraph("Nothing to do: every mitigation that applies is in place.");
        return;
    }
    document.paragraph(format!(
        "{} in {}: one work item per mitigation, with every place it is still to do. Priority \
         1 (critical) to 5 (info) is the highest severity among the threats it addresses there.",
        count(report.totals.backlog_items, "mitigation", "mitigations"),
        count(report.totals.backlog_places, "place", "places"),
    ));
    let items = crate::analysis::backlog::ordered(report);
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            vec![
                item.priority.to_string(),
                format!("{} ({})", text(&item.title), code(&item.id)),
                severity_name(item.severity).to_string(),
                item.places.len().to_string(),
                item.threats.len().to_string(),
            ]
        })
        .collect();
    document.table(
        &[
            ("Priority", RIGHT),
            ("Mitigation", LEFT),
            ("Severity", LEFT),
            ("Places", RIGHT),
            ("Threats", RIGHT),
        ],
        &rows,
    );
    let threats = threats_by_id(report);
    let names = element_names(report);
    for item in items {
        document.heading(
            3,
            &format!("Priority {}: {}", item.priority, text(&item.title)),
        );
        document.paragraph(format!(
            "{} · mitigation {} · severity **{}**",
            code(&item.id),
            code(&item.mitigation),
            severity_name(item.severity)
        ));
        paragraphs(document, &item.description);
        labelled_paragraphs(document, "Implementation.", &item.implementation);
        labelled_paragraphs(document, "Verification.", &item.verification);
        document.paragraph("**Places:**");
        for place in &item.places {
            let name = names.get(place.element.as_str()).copied().unwrap_or("");
            let note = place
                .note
                .as_deref()
                .map(|note| format!(" ({})", text(note)))
                .unwrap_or_default();
            document.line(format!(
                "- {}: {}{note}",
                line_start(element_heading(&place.element, name)),
                status_name(place.status)
            ));
        }
        document.paragraph("**Threats:**");
        for id in &item.threats {
            document.line(format!("- {}", line_start(threat_reference(id, &threats))));
        }
        if !item.events.is_empty() {
            let events: Vec<String> = item.events.iter().map(|event| code(event)).collect();
            document.paragraph(format!(
                "**Security events to emit:** {}.",
                events.join(", ")
            ));
        }
        if !item.references.is_empty() {
            let references: Vec<String> = item.references.iter().map(|r| code(r)).collect();
            document.paragraph(format!("**References:** {}.", references.join(", ")));
        }
    }
}

/// `T-0123456789ab` Missing authentication on Payments API (critical residual), or the id
/// alone when the report does not hold the threat.
fn threat_reference(id: &str, threats: &BTreeMap<&str, &ThreatInstance>) -> String {
    match threats.get(id) {
        Some(threat) => format!(
            "{} {} on {}, residual {}",
            code(id),
            text(&threat.name),
            element_heading(&threat.element, &threat.element_name),
            residual_name(threat.residual)
        ),
        None => code(id),
    }
}

fn alignment(document: &mut Document, report: &Report) {
    let alignment = &report.alignment;
    let threats = threats_by_id(report);
    let mitigations = mitigation_names(report);
    let names = element_names(report);
    document.heading(2, "Alignment with user stories");
    document.paragraph(
        "A WITHOUT clause of a user story names what must not happen on the way; the threats it \
         covers are the security work of that story.",
    );

    document.heading(3, "Stories with mitigations to implement");
    if alignment.stories.is_empty() {
        document.paragraph("None: no story has a threat with a mitigation still to implement.");
    } else {
        document.paragraph("What to plan with each story:");
        for story in &alignment.stories {
            document.line(format!(
                "- **{}**: {}",
                text(&story.story),
                text(&story.text)
            ));
            for id in &story.threats {
                document.line(format!("  - threat {}", threat_reference(id, &threats)));
            }
            for mitigation in &story.open_mitigations {
                let shown = match mitigations.get(mitigation.as_str()) {
                    Some(name) => format!("{} ({})", text(name), code(mitigation)),
                    None => code(mitigation),
                };
                document.line(format!("  - to implement: {shown}"));
            }
        }
    }

    document.heading(3, "Threats no WITHOUT clause covers");
    if alignment.threats_without_clause.is_empty() {
        document.paragraph("None: every threat is covered by a WITHOUT clause.");
    } else {
        document.paragraph("No user story says these must not happen:");
        for id in &alignment.threats_without_clause {
            document.line(format!("- {}", line_start(threat_reference(id, &threats))));
        }
    }

    document.heading(3, "WITHOUT clauses that cover no threat");
    if alignment.clauses_without_threat.is_empty() {
        document.paragraph("None: every WITHOUT clause covers a threat.");
    } else {
        document.paragraph(
            "The knowledge base finds no threat for these: a clause may name an attack \
             pattern that does not apply here, or a risk the pack does not know.",
        );
        for clause in &alignment.clauses_without_threat {
            document.line(format!(
                "- **{}**: {}",
                text(&clause.story),
                text(&clause.clause)
            ));
        }
    }

    document.heading(3, "Security events per component");
    if alignment.events.is_empty() {
        document.paragraph("No mitigation that applies here names a security event.");
        return;
    }
    for element in &alignment.events {
        let name = names.get(element.element.as_str()).copied().unwrap_or("");
        document.heading(4, &element_heading(&element.element, name));
        let rows: Vec<Vec<String>> = element
            .events
            .iter()
            .map(|event| {
                let mitigation = match mitigations.get(event.mitigation.as_str()) {
                    Some(name) => format!("{} ({})", text(name), code(&event.mitigation)),
                    None => code(&event.mitigation),
                };
                vec![
                    code(&event.id),
                    text(&event.description),
                    mitigation,
                    status_name(event.status).to_string(),
                ]
            })
            .collect();
        document.table(
            &[
                ("Event", LEFT),
                ("Description", LEFT),
                ("Mitigation", LEFT),
                ("Status", LEFT),
            ],
            &rows,
        );
    }
}

fn errors(document: &mut Document, report: &Report) {
    if report.errors.is_empty() {
        return;
    }
    document.heading(2, "Evaluation errors");
    document.paragraph(
        "These conditions could not be evaluated on these elements. They are not taken as \
         false: the threats they decide are missing above until the error is fixed.",
    );
    let rows: Vec<Vec<String>> = report
        .errors
        .iter()
        .map(|error| {
            vec![
                code(&error.rule),
                code(&error.element),
                text(&error.message),
            ]
        })
        .collect();
    document.table(
        &[("Rule", LEFT), ("Element", LEFT), ("Message", LEFT)],
        &rows,
    );
}

/// Paragraphs of user text (separated by blank lines), escaped; the author's line breaks
/// within a paragraph are kept as hard line breaks, so that a line that was a list item still
/// starts a line.
fn paragraphs(document: &mut Document, source: &str) {
    for paragraph in split_paragraphs(source) {
        document.paragraph(lines(paragraph));
    }
}

/// Like `paragraphs`, the first one after a bold label.
fn labelled_paragraphs(document: &mut Document, label: &str, source: &str) {
    let mut parts = split_paragraphs(source).into_iter();
    let first = parts.next().map(lines).unwrap_or_default();
    document.paragraph(format!("**{label}** {first}").trim_end().to_string());
    for paragraph in parts {
        document.paragraph(lines(paragraph));
    }
}

/// The lines of one paragraph, each escaped, joined by hard line breaks (`\` at the end).
fn lines(paragraph: &str) -> String {
    paragraph
        .lines()
        .map(text)
        .filter(|line| !line.is_empty())
        .map(line_start)
        .collect::<Vec<_>>()
        .join("\\\n")
}

fn split_paragraphs(source: &str) -> Vec<&str> {
    let normalized: Vec<&str> = source.split("\n\n").collect();
    normalized
        .into_iter()
        .flat_map(|part| part.split("\r\n\r\n"))
        .filter(|part| !part.trim().is_empty())
        .collect()
}

/// User text, escaped to render as itself inline: on one line (control characters made
/// visible), with a backslash before every character Markdown could take as syntax (emphasis,
/// links, HTML and entities, table pipes, headings, strikethrough, math). Code spans the author
/// wrote (`` `xp_cmdshell` ``) are kept: nothing inside one is syntax, so they are safe, unless
/// they hold a pipe, which a table would take as a cell border even there. Where the text may
/// start a line, `line_start` escapes what would open a block.
pub fn text(source: &str) -> String {
    let line: Vec<char> = one_line(source).chars().collect();
    let mut escaped = String::with_capacity(line.len() + 8);
    // Backtick run lengths known to have no closing run further on: none will appear later.
    let mut unclosed: BTreeSet<usize> = BTreeSet::new();
    let mut index = 0;
    while let Some(&character) = line.get(index) {
        if character == '`' {
            let run = line[index..].iter().take_while(|c| **c == '`').count();
            let content_start = index + run;
            let closing = if unclosed.contains(&run) {
                None
            } else {
                closing_run(&line, content_start, run)
            };
            if closing.is_none() {
                unclosed.insert(run);
            }
            if let Some(end) = closing {
                let content: String = line[content_start..end].iter().collect();
                if !content.contains('|') && !content.trim().is_empty() {
                    let fence = "`".repeat(run);
                    escaped.push_str(&fence);
                    escaped.push_str(&content);
                    escaped.push_str(&fence);
                    index = end + run;
                    continue;
                }
            }
            for _ in 0..run {
                escaped.push_str("\\`");
            }
            index = content_start;
            continue;
        }
        if matches!(
            character,
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '$'
        ) {
            escaped.push('\\');
        }
        escaped.push(character);
        index += 1;
    }
    escaped
}

/// Where the next run of exactly `length` backticks from `from` starts.
fn closing_run(line: &[char], from: usize, length: usize) -> Option<usize> {
    let mut index = from;
    while index < line.len() {
        if line[index] == '`' {
            let run = line[index..].iter().take_while(|c| **c == '`').count();
            if run == length {
                return Some(index);
            }
            index += run;
        } else {
            index += 1;
        }
    }
    None
}

/// Rendered Markdown that starts a line (a paragraph, a list item's content), with what would
/// open a block there escaped: a list marker (`-`, `+`, `1.`, `1)`) or a heading underline
/// (`=`). Everything else that could open a block (`#`, `>`, `*`, backticks, `~`) `text` has
/// already escaped, and indentation is gone with the line's leading whitespace.
pub fn line_start(rendered: String) -> String {
    let mut rendered = rendered;
    if rendered.starts_with(['-', '+', '=']) {
        rendered.insert(0, '\\');
    } else {
        let digits = rendered.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && rendered[digits..].starts_with(['.', ')']) {
            rendered.insert(digits, '\\');
        }
    }
    rendered
}

/// User text as inline code, or escaped text when a code span cannot hold it as it is (a
/// backtick, or a pipe, which a table would take as a cell border even inside code).
pub fn code(source: &str) -> String {
    let line = one_line(source);
    if line.is_empty() || line.contains(['`', '|']) {
        text(source)
    } else {
        format!("`{line}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markdown_syntax() {
        assert_eq!(text("a | b"), "a \\| b");
        assert_eq!(text("*bold* _it_"), "\\*bold\\* \\_it\\_");
        assert_eq!(text("[link](http://x)"), "\\[link\\](http://x)");
        assert_eq!(text("<script>"), "\\<script\\>");
        assert_eq!(text("&amp; `code`"), "\\&amp; `code`");
        assert_eq!(text("# title"), "\\# title");
        assert_eq!(text("~~gone~~ $x$"), "\\~\\~gone\\~\\~ \\$x\\$");
        assert_eq!(text("back\\slash"), "back\\\\slash");
    }

    #[test]
    fn line_start_escapes_what_would_open_a_block() {
        let start = |source: &str| line_start(text(source));
        assert_eq!(start("- item"), "\\- item");
        assert_eq!(start("+ item"), "\\+ item");
        assert_eq!(start("==="), "\\===");
        assert_eq!(start("12. point"), "12\\. point");
        assert_eq!(start("3) point"), "3\\) point");
        assert_eq!(start("2024 was"), "2024 was");
        assert_eq!(start("a - b"), "a - b");
        // Inline, nothing opens a block: versions stay as they are.
        assert_eq!(text("1.0.0"), "1.0.0");
    }

    #[test]
    fn paragraph_lines_are_kept_as_hard_breaks() {
        assert_eq!(
            lines("Check this:\n- first\n  2. second\n\n"),
            "Check this:\\\n\\- first\\\n2\\. second"
        );
    }

    #[test]
    fn text_keeps_code_spans_but_not_unclosed_or_piped_ones() {
        assert_eq!(text("run `xp_cmdshell` off"), "run `xp_cmdshell` off");
        assert_eq!(text("``a ` b``"), "``a ` b``");
        assert_eq!(text("`<script>`"), "`<script>`");
        assert_eq!(text("a `b"), "a \\`b");
        assert_eq!(text("`a|b`"), "\\`a\\|b\\`");
        assert_eq!(text("` `"), "\\` \\`");
        assert_eq!(text("```"), "\\`\\`\\`");
    }

    #[test]
    fn text_is_one_line_with_control_characters_visible() {
        assert_eq!(text("one\ntwo\r\n\nthree"), "one two three");
        assert_eq!(text("\u{1b}[2J"), "\\\\u{1b}\\[2J");
    }

    #[test]
    fn code_falls_back_to_text_when_a_span_cannot_hold_it() {
        assert_eq!(code("api"), "`api`");
        assert_eq!(code("a`b"), "a\\`b");
        assert_eq!(code("a|b"), "a\\|b");
        assert_eq!(code(""), "");
        assert_eq!(code("a\nb"), "`a b`");
    }

    #[test]
    fn paragraphs_are_split_on_blank_lines() {
        assert_eq!(split_paragraphs("a\nb\n\nc\n\n\n"), vec!["a\nb", "c"]);
        assert_eq!(split_paragraphs(""), Vec::<&str>::new());
    }
}
