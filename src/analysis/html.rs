//! The report as one self-contained HTML file (`apply --format html`): the Markdown report's
//! content (overview, tier, totals, threats by element, backlog, alignment, evaluation errors)
//! and the model's data-flow diagram as an inline SVG.
//!
//! Nothing is loaded and nothing runs: no script, no external asset, no link but to anchors of
//! the page, and a Content Security Policy that forbids everything except the page's one style
//! block (allowed by its hash). Every piece of model and pack text is escaped (`escape`), so
//! `<script>` in a component's name is shown, never run, and no text becomes an attribute or a
//! URL.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ct_codecs::{Base64, Encoder};
use sha2::{Digest, Sha256};

use crate::analysis::diagram::{Diagram, escape, svg_style};
use crate::analysis::report::{Report, ThreatInstance, TierSource};
use crate::analysis::view::{
    by_attention, category_table, count, element_names, has_residual, mitigation_names, one_line,
    ordered_counts, rating_name, residual_keys, residual_name, severity_name, state_keys,
    state_words, status_name, strength_name, threats_by_id,
};

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;\
padding:0 1rem;color:#111}h1,h2,h3,h4{line-height:1.25}h2{border-bottom:1px solid #ddd;\
padding-bottom:.2rem;margin-top:2.5rem}table{border-collapse:collapse;margin:.6rem 0}\
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
td.n,th.n{text-align:right}code{font:13px ui-monospace,monospace;background:#f3f4f6;\
padding:0 .2rem}.warning{border-left:4px solid #b45309;background:#fff7ed;padding:.5rem 1rem}\
.meta{color:#374151}.diagram{overflow:auto;border:1px solid #ddd;padding:.5rem}\
.legend span{display:inline-block;padding:0 .5rem;margin-right:.3rem;border:1px solid #999}\
.legend .r-critical{background:#f4c7c3}.legend .r-high{background:#fbd9b8}\
.legend .r-medium{background:#fdf0b5}.legend .r-low{background:#dbeafe}\
.legend .r-info{background:#eef2f7}.legend .r-none{background:#d9f2dd}";

/// The HTML report of `report`, with `diagram` (the same model's) drawn in it.
pub fn html(report: &Report, diagram: &Diagram) -> String {
    let style = format!("{STYLE}{}", svg_style());
    let digest = Sha256::digest(style.as_bytes());
    let hash = Base64::encode_to_string(digest).unwrap_or_default();
    let mut page = Page::default();
    let _ = write!(
        page.out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'sha256-{hash}'; img-src 'none'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Threat model: {}</title>\n<style>{style}</style>\n</head>\n<body>\n",
        text(&report.model.name)
    );
    title(&mut page, report);
    overview(&mut page, report);
    tier(&mut page, report);
    page.heading(2, "Data-flow diagram", None);
    page.out.push_str(
        "<p class=\"legend\">Worst residual risk: <span class=\"r-critical\">critical</span>\
         <span class=\"r-high\">high</span><span class=\"r-medium\">medium</span>\
         <span class=\"r-low\">low</span><span class=\"r-info\">info</span>\
         <span class=\"r-none\">none left</span> Boundaries are dashed boxes; hover over an \
         element for its id, kind and threats.</p>\n<div class=\"diagram\">\n",
    );
    page.out.push_str(&diagram.svg());
    page.out.push_str("</div>\n");
    totals(&mut page, report);
    threats(&mut page, report);
    backlog(&mut page, report);
    alignment(&mut page, report);
    errors(&mut page, report);
    page.out.push_str("</body>\n</html>\n");
    page.out
}

#[derive(Default)]
struct Page {
    out: String,
}

impl Page {
    /// A heading of already escaped HTML, with an anchor id when given (made only of
    /// characters ids allow: threat and backlog ids are `T-` or `M-` and hex digits).
    fn heading(&mut self, level: usize, html: &str, id: Option<&str>) {
        match id {
            Some(id) => {
                let _ = writeln!(
                    self.out,
                    "<h{level} id=\"{}\">{html}</h{level}>",
                    escape(id)
                );
            }
            None => {
                let _ = writeln!(self.out, "<h{level}>{html}</h{level}>");
            }
        }
    }

    fn paragraph(&mut self, html: &str) {
        let _ = writeln!(self.out, "<p>{html}</p>");
    }

    /// A table: header cells (`true` when numeric, right-aligned) and rows of escaped cells.
    fn table(&mut self, header: &[(&str, bool)], rows: &[Vec<String>]) {
        self.out.push_str("<table>\n<thead><tr>");
        for (name, numeric) in header {
            let _ = write!(self.out, "<th{}>{name}</th>", numeric_class(*numeric));
        }
        self.out.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            self.out.push_str("<tr>");
            for (cell, (_, numeric)) in row.iter().zip(header) {
                let _ = write!(self.out, "<td{}>{cell}</td>", numeric_class(*numeric));
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    fn list(&mut self, items: &[String]) {
        self.out.push_str("<ul>\n");
        for item in items {
            let _ = writeln!(self.out, "<li>{item}</li>");
        }
        self.out.push_str("</ul>\n");
    }

    /// User text of several paragraphs (blank lines between), each line kept.
    fn paragraphs(&mut self, source: &str) {
        for paragraph in source
            .split("\n\n")
            .flat_map(|part| part.split("\r\n\r\n"))
            .filter(|part| !part.trim().is_empty())
        {
            let lines: Vec<String> = paragraph
                .lines()
                .map(text)
                .filter(|line| !line.is_empty())
                .collect();
            self.paragraph(&lines.join("<br>\n"));
        }
    }
}

fn numeric_class(numeric: bool) -> &'static str {
    if numeric { " class=\"n\"" } else { "" }
}

/// User text on one line, escaped.
fn text(source: &str) -> String {
    escape(&one_line(source))
}

fn code(source: &str) -> String {
    format!("<code>{}</code>", text(source))
}

fn strong(html: &str) -> String {
    format!("<strong>{html}</strong>")
}

/// A link to a threat instance's section, with its id as the text.
fn threat_link(id: &str) -> String {
    format!("<a href=\"#{}\"><code>{}</code></a>", escape(id), text(id))
}

fn element_html(id: &str, name: &str) -> String {
    let shown = one_line(name);
    if shown.is_empty() || shown == one_line(id) {
        code(id)
    } else {
        format!("{} ({})", text(name), code(id))
    }
}

fn title(page: &mut Page, report: &Report) {
    page.heading(
        1,
        &format!("Threat model: {}", text(&report.model.name)),
        None,
    );
    let model = &report.model;
    page.paragraph(&format!(
        "Knowledge base {} applied to {} ({}: {}, {}, {}).",
        strong(&format!(
            "{} {}",
            text(&report.pack.name),
            text(&report.pack.version)
        )),
        strong(&text(&model.name)),
        code(&model.file),
        count(model.components, "component", "components"),
        count(model.flows, "flow", "flows"),
        count(model.boundaries, "boundary", "boundaries"),
    ));
    if !report.errors.is_empty() {
        let _ = writeln!(
            page.out,
            "<p class=\"warning\">{} could not be evaluated: the threats they decide are \
             missing from this report (a condition that fails is never taken as false). See \
             <a href=\"#evaluation-errors\">Evaluation errors</a>.</p>",
            count(report.errors.len(), "condition", "conditions")
        );
    }
}

fn overview(page: &mut Page, report: &Report) {
    page.heading(2, "Overview", None);
    let totals = &report.totals;
    let residual: Vec<String> = ordered_counts(&totals.by_residual, &residual_keys())
        .into_iter()
        .map(|(key, number)| format!("{number} {}", text(key)))
        .collect();
    let alignment = &report.alignment;
    let mut items = vec![
        format!(
            "{}, {} with no mitigation in place.",
            strong(&count(
                totals.threats,
                "threat instance",
                "threat instances"
            )),
            totals.unmitigated
        ),
        format!("Residual risk: {}.", residual.join(", ")),
        format!(
            "Backlog: {} in {}.",
            strong(&count(totals.backlog_items, "mitigation", "mitigations")),
            strong(&count(totals.backlog_places, "place", "places"))
        ),
        format!(
            "Alignment: {}, {}, {}.",
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
        ),
    ];
    if !report.errors.is_empty() {
        items.push(strong(&count(
            report.errors.len(),
            "evaluation error",
            "evaluation errors",
        )));
    }
    page.list(&items);
}

fn tier(page: &mut Page, report: &Report) {
    page.heading(2, "Tier", None);
    let tier = &report.tier;
    let name = tier
        .name
        .as_deref()
        .map_or_else(|| "All tiers".to_string(), |name| strong(&text(name)));
    let how = match tier.chosen_by {
        TierSource::Flag => "chosen on the command line",
        TierSource::Rule => "chosen by a tier rule of the pack",
        TierSource::Default => "the pack's default (no tier rule matched)",
        TierSource::All => "every item of the pack, whatever its tier",
    };
    let reason = text(&tier.reason);
    if reason.is_empty() {
        page.paragraph(&format!("{name}, {how}."));
    } else {
        page.paragraph(&format!("{name}, {how}: {reason}"));
    }
}

fn totals(page: &mut Page, report: &Report) {
    page.heading(2, "Totals", None);
    page.paragraph(
        "Threat instances per category and severity (before mitigations); an attack pattern in \
         two categories counts in both.",
    );
    let header = [
        ("Category", false),
        ("Critical", true),
        ("High", true),
        ("Medium", true),
        ("Low", true),
        ("Info", true),
        ("Total", true),
    ];
    let table = category_table(report);
    let last = table.len().saturating_sub(1);
    let rows: Vec<Vec<String>> = table
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let mut cells = vec![if index == last {
                strong("All threats")
            } else {
                text(&row.category)
            }];
            cells.extend(row.by_severity.iter().map(usize::to_string));
            cells.push(row.total.to_string());
            cells
        })
        .collect();
    page.table(&header, &rows);
    let residual: Vec<Vec<String>> = ordered_counts(&report.totals.by_residual, &residual_keys())
        .into_iter()
        .map(|(key, number)| vec![text(key), number.to_string()])
        .collect();
    page.table(&[("Residual risk", false), ("Threats", true)], &residual);
    let states: Vec<Vec<String>> = ordered_counts(&report.totals.by_state, &state_keys())
        .into_iter()
        .map(|(key, number)| vec![text(key), number.to_string()])
        .collect();
    page.table(&[("State", false), ("Threats", true)], &states);
}

fn threats(page: &mut Page, report: &Report) {
    page.heading(2, "Threats by element", None);
    if report.threats.is_empty() {
        page.paragraph("No threat of the knowledge base applies to this model.");
        return;
    }
    page.paragraph(
        "Elements with the most residual risk come first, and within an element the threats \
         with the most residual risk. Residual risk is the severity reduced by the strongest \
         mitigation in place.",
    );
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
        let name = threats.first().map_or("", |t| t.element_name.as_str());
        page.heading(3, &element_html(element, name), None);
        let open = threats.iter().filter(|threat| has_residual(threat)).count();
        page.paragraph(&format!(
            "{}, {open} with residual risk.",
            count(threats.len(), "threat instance", "threat instances")
        ));
        for threat in threats {
            threat_section(page, threat);
        }
    }
}

fn threat_section(page: &mut Page, threat: &ThreatInstance) {
    let name = if one_line(&threat.name).is_empty() {
        text(&threat.attack_pattern)
    } else {
        text(&threat.name)
    };
    page.heading(4, &name, Some(&threat.id));
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
    let _ = writeln!(
        page.out,
        "<p class=\"meta\">{} · residual {} ({}) · severity {}{rating} · {}</p>",
        code(&threat.id),
        strong(residual_name(threat.residual)),
        threat.residual.score,
        strong(severity_name(threat.severity)),
        state_words(threat.state),
    );
    let categories: Vec<String> = threat.categories.iter().map(|c| text(c)).collect();
    page.paragraph(&format!(
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
        page.paragraph("No mitigation in the knowledge base addresses it here.");
        return;
    }
    let rows: Vec<Vec<String>> = threat
        .mitigations
        .iter()
        .map(|mitigation| {
            vec![
                format!(
                    "{} ({})",
                    text(&mitigation.name),
                    code(&mitigation.mitigation)
                ),
                strength_name(mitigation.strength).to_string(),
                status_name(mitigation.status).to_string(),
                mitigation.note.as_deref().map(text).unwrap_or_default(),
            ]
        })
        .collect();
    page.table(
        &[
            ("Mitigation", false),
            ("Strength", false),
            ("Status", false),
            ("Note", false),
        ],
        &rows,
    );
}

fn backlog(page: &mut Page, report: &Report) {
    page.heading(2, "Backlog", None);
    if report.backlog.is_empty() {
        page.paragraph("Nothing to do: every mitigation that applies is in place.");
        return;
    }
    page.paragraph(&format!(
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
                format!(
                    "<a href=\"#{}\">{}</a>",
                    escape(&item.id),
                    text(&item.title)
                ),
                severity_name(item.severity).to_string(),
                item.places.len().to_string(),
                item.threats.len().to_string(),
            ]
        })
        .collect();
    page.table(
        &[
            ("Priority", true),
            ("Mitigation", false),
            ("Severity", false),
            ("Places", true),
            ("Threats", true),
        ],
        &rows,
    );
    let threats = threats_by_id(report);
    let names = element_names(report);
    for item in items {
        page.heading(
            3,
            &format!("Priority {}: {}", item.priority, text(&item.title)),
            Some(&item.id),
        );
        let _ = writeln!(
            page.out,
            "<p class=\"meta\">{} · mitigation {} · severity {}</p>",
            code(&item.id),
            code(&item.mitigation),
            strong(severity_name(item.severity))
        );
        page.paragraphs(&item.description);
        if !item.implementation.trim().is_empty() {
            page.paragraph(&strong("Implementation."));
            page.paragraphs(&item.implementation);
        }
        if !item.verification.trim().is_empty() {
            page.paragraph(&strong("Verification."));
            page.paragraphs(&item.verification);
        }
        page.paragraph(&strong("Places:"));
        let places: Vec<String> = item
            .places
            .iter()
            .map(|place| {
                let name = names.get(place.element.as_str()).copied().unwrap_or("");
                let note = place
                    .note
                    .as_deref()
                    .map(|note| format!(" ({})", text(note)))
                    .unwrap_or_default();
                format!(
                    "{}: {}{note}",
                    element_html(&place.element, name),
                    status_name(place.status)
                )
            })
            .collect();
        page.list(&places);
        page.paragraph(&strong("Threats:"));
        let listed: Vec<String> = item
            .threats
            .iter()
            .map(|id| threat_reference(id, &threats))
            .collect();
        page.list(&listed);
        if !item.events.is_empty() {
            let events: Vec<String> = item.events.iter().map(|event| code(event)).collect();
            page.paragraph(&format!(
                "{} {}.",
                strong("Security events to emit:"),
                events.join(", ")
            ));
        }
        if !item.references.is_empty() {
            let references: Vec<String> = item.references.iter().map(|r| code(r)).collect();
            page.paragraph(&format!(
                "{} {}.",
                strong("References:"),
                references.join(", ")
            ));
        }
    }
}

/// A threat instance by id, linked to its section, with its name, element and residual.
fn threat_reference(id: &str, threats: &BTreeMap<&str, &ThreatInstance>) -> String {
    match threats.get(id) {
        Some(threat) => format!(
            "{} {} on {}, residual {}",
            threat_link(id),
            text(&threat.name),
            element_html(&threat.element, &threat.element_name),
            residual_name(threat.residual)
        ),
        None => code(id),
    }
}

fn alignment(page: &mut Page, report: &Report) {
    let alignment = &report.alignment;
    let threats = threats_by_id(report);
    let mitigations = mitigation_names(report);
    let names = element_names(report);
    page.heading(2, "Alignment with user stories", None);
    page.paragraph(
        "A WITHOUT clause of a user story names what must not happen on the way; the threats it \
         covers are the security work of that story.",
    );
    page.heading(3, "Stories with mitigations to implement", None);
    if alignment.stories.is_empty() {
        page.paragraph("None: no story has a threat with a mitigation still to implement.");
    } else {
        let stories: Vec<String> = alignment
            .stories
            .iter()
            .map(|story| {
                let mut lines: Vec<String> = story
                    .threats
                    .iter()
                    .map(|id| format!("threat {}", threat_reference(id, &threats)))
                    .collect();
                lines.extend(story.open_mitigations.iter().map(|mitigation| {
                    let shown = match mitigations.get(mitigation.as_str()) {
                        Some(name) => format!("{} ({})", text(name), code(mitigation)),
                        None => code(mitigation),
                    };
                    format!("to implement: {shown}")
                }));
                format!(
                    "{}: {}<ul>{}</ul>",
                    strong(&text(&story.story)),
                    text(&story.text),
                    lines
                        .iter()
                        .map(|line| format!("<li>{line}</li>"))
                        .collect::<String>()
                )
            })
            .collect();
        page.list(&stories);
    }
    page.heading(3, "Threats no WITHOUT clause covers", None);
    if alignment.threats_without_clause.is_empty() {
        page.paragraph("None: every threat is covered by a WITHOUT clause.");
    } else {
        let listed: Vec<String> = alignment
            .threats_without_clause
            .iter()
            .map(|id| threat_reference(id, &threats))
            .collect();
        page.list(&listed);
    }
    page.heading(3, "WITHOUT clauses that cover no threat", None);
    if alignment.clauses_without_threat.is_empty() {
        page.paragraph("None: every WITHOUT clause covers a threat.");
    } else {
        let listed: Vec<String> = alignment
            .clauses_without_threat
            .iter()
            .map(|clause| format!("{}: {}", strong(&text(&clause.story)), text(&clause.clause)))
            .collect();
        page.list(&listed);
    }
    page.heading(3, "Security events per component", None);
    if alignment.events.is_empty() {
        page.paragraph("No mitigation that applies here names a security event.");
        return;
    }
    for element in &alignment.events {
        let name = names.get(element.element.as_str()).copied().unwrap_or("");
        page.heading(4, &element_html(&element.element, name), None);
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
        page.table(
            &[
                ("Event", false),
                ("Description", false),
                ("Mitigation", false),
                ("Status", false),
            ],
            &rows,
        );
    }
}

fn errors(page: &mut Page, report: &Report) {
    if report.errors.is_empty() {
        return;
    }
    page.heading(2, "Evaluation errors", Some("evaluation-errors"));
    page.paragraph(
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
    page.table(
        &[("Rule", false), ("Element", false), ("Message", false)],
        &rows,
    );
}
