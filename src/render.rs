//! Renders diagnostics for people (rustc style, no colour needed) and for machines (JSON lines).

use std::collections::BTreeMap;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::{LineColumn, PackSources, line_column};

/// The text of every file a diagnostic may point into, by display path.
#[derive(Debug, Default)]
pub struct SourceMap<'a> {
    files: BTreeMap<&'a str, &'a str>,
}

impl<'a> SourceMap<'a> {
    pub fn new() -> SourceMap<'a> {
        SourceMap::default()
    }

    pub fn add_pack(&mut self, sources: &'a PackSources) {
        for file in &sources.files {
            self.files.insert(&file.display_path, &file.text);
        }
    }

    /// A file outside any pack (a system model).
    pub fn add_file(&mut self, display_path: &'a str, text: &'a str) {
        self.files.insert(display_path, text);
    }

    pub fn text(&self, display_path: &str) -> Option<&'a str> {
        self.files.get(display_path).copied()
    }
}

/// The one escape for text that came from a pack, a bundle or a registry before it reaches a
/// terminal: control characters (ESC and so every escape sequence, C1 controls such as CSI
/// U+009B, carriage returns, backspaces) and the invisible marks that reorder or hide text
/// (bidirectional overrides and isolates) become visible escapes such as `\u{1b}`. A hostile
/// pack or registry must not be able to retitle, clear or rewrite the terminal of whoever reads
/// it. Line breaks stay; everything else is unchanged.
pub fn visible(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        if needs_escape(character) {
            shown.extend(character.escape_unicode());
        } else {
            shown.push(character);
        }
    }
    shown
}

/// [`visible`] for JSON text: the same characters become JSON escapes (`\u009b`), so the
/// document stays valid and means the same. serde_json escapes C0 controls itself, but writes C1
/// controls and bidirectional marks as they are.
pub fn visible_json(json: &str) -> String {
    if !json.chars().any(needs_escape) {
        return json.to_string();
    }
    let mut shown = String::with_capacity(json.len() + 16);
    for character in json.chars() {
        if needs_escape(character) {
            // Every character `needs_escape` picks is below U+FFFF: one `\uXXXX` escape.
            shown.push_str(&format!("\\u{:04x}", u32::from(character)));
        } else {
            shown.push(character);
        }
    }
    shown
}

fn needs_escape(character: char) -> bool {
    (character.is_control() && character != '\n')
        || matches!(
            character,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// A JSON value on one line, cut to `max` characters with `...`.
pub fn short_json(value: &serde_json::Value, max: usize) -> String {
    let shown = value.to_string();
    if shown.chars().count() > max {
        let cut: String = shown.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    } else {
        shown
    }
}

/// Renders one diagnostic the way rustc does: header, `--> path:line:col`, the source lines
/// with an underline, then `help:` and `note:` lines.
pub fn render_human(diagnostic: &Diagnostic, sources: &SourceMap<'_>, styled: bool) -> String {
    // Messages, labels, help and paths can quote pack content: make control characters visible.
    let clean = |text: &str| visible(text);
    let diagnostic = &Diagnostic {
        code: diagnostic.code,
        severity: diagnostic.severity,
        message: clean(&diagnostic.message),
        primary: diagnostic.primary.clone().map(|label| Label {
            text: clean(&label.text),
            ..label
        }),
        secondary: diagnostic
            .secondary
            .iter()
            .map(|label| Label {
                text: clean(&label.text),
                ..label.clone()
            })
            .collect(),
        help: diagnostic.help.as_deref().map(clean),
        notes: diagnostic.notes.iter().map(|note| clean(note)).collect(),
    };
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut group = Group::with_title(
        level
            .primary_title(diagnostic.message.as_str())
            .id(diagnostic.code.as_str()),
    );
    let mut labels_by_file: BTreeMap<&str, Vec<(&Label, bool)>> = BTreeMap::new();
    if let Some(primary) = &diagnostic.primary {
        labels_by_file
            .entry(primary.file.as_str())
            .or_default()
            .push((primary, true));
    }
    for secondary in &diagnostic.secondary {
        labels_by_file
            .entry(secondary.file.as_str())
            .or_default()
            .push((secondary, false));
    }
    // The primary file first, then the others in path order.
    let mut files: Vec<&str> = labels_by_file.keys().copied().collect();
    if let Some(primary) = &diagnostic.primary {
        files.retain(|file| *file != primary.file);
        files.insert(0, primary.file.as_str());
    }
    let mut located_elsewhere = Vec::new();
    for file in files {
        let labels = &labels_by_file[file];
        match sources.text(file) {
            Some(text) => {
                let mut snippet = Snippet::source(text).path(visible(file)).fold(true);
                for (label, primary) in labels {
                    let kind = if *primary {
                        AnnotationKind::Primary
                    } else {
                        AnnotationKind::Context
                    };
                    let span = clamp_span(text, label.span.clone());
                    snippet = snippet.annotation(kind.span(span).label(label.text.as_str()));
                }
                group = group.element(snippet);
            }
            None => located_elsewhere.push(format!("in `{}`: {}", visible(file), labels[0].0.text)),
        }
    }
    let mut messages = Vec::new();
    if let Some(help) = &diagnostic.help {
        messages.push(Level::HELP.message(help.as_str()));
    }
    for note in diagnostic.notes.iter().chain(located_elsewhere.iter()) {
        messages.push(Level::NOTE.message(note.as_str()));
    }
    group = group.elements(messages);
    let renderer = if styled {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&[group]).to_string()
}

/// Spans from a tree built by error recovery can run past the end or split a character.
fn clamp_span(text: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let floor = |mut offset: usize| {
        offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    };
    let start = floor(span.start);
    let end = floor(span.end).max(start);
    start..end
}

/// One diagnostic as a JSON object (one per line in `--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<LineColumn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<LineColumn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub notes: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<JsonLabel<'a>>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel<'a> {
    pub file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<LineColumn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<LineColumn>,
    pub label: &'a str,
}

pub fn to_json<'a>(diagnostic: &'a Diagnostic, sources: &SourceMap<'_>) -> JsonDiagnostic<'a> {
    let positions = |label: &Label| match sources.text(&label.file) {
        Some(text) => (
            Some(line_column(text, label.span.start)),
            Some(line_column(text, label.span.end)),
        ),
        None => (None, None),
    };
    let (start, end) = diagnostic.primary.as_ref().map_or((None, None), positions);
    JsonDiagnostic {
        code: diagnostic.code.as_str(),
        severity: diagnostic.severity,
        message: &diagnostic.message,
        file: diagnostic.file(),
        start,
        end,
        label: diagnostic.primary.as_ref().map(|label| label.text.as_str()),
        help: diagnostic.help.as_deref(),
        notes: &diagnostic.notes,
        related: diagnostic
            .secondary
            .iter()
            .map(|label| {
                let (start, end) = positions(label);
                JsonLabel {
                    file: &label.file,
                    start,
                    end,
                    label: &label.text,
                }
            })
            .collect(),
    }
}

/// Renders diagnostics as JSON Lines: one object per line, in order.
pub fn render_json_lines(diagnostics: &[Diagnostic], sources: &SourceMap<'_>) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let line = serde_json::to_string(&to_json(diagnostic, sources))
            .expect("diagnostics serialize: they hold only strings and numbers");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn escape_sequences_and_hidden_marks_become_visible_and_line_breaks_stay() {
        for (text, shown) in [
            ("plain text, ünïcode", "plain text, ünïcode"),
            // OSC 0: set the window title.
            ("\u{1b}]0;pwned\u{7}", "\\u{1b}]0;pwned\\u{7}"),
            // CSI 2J: clear the screen; the same as one C1 character.
            ("\u{1b}[2Jgone", "\\u{1b}[2Jgone"),
            ("\u{9b}2J", "\\u{9b}2J"),
            ("ok\rfake", "ok\\u{d}fake"),
            ("a\u{202e}cba", "a\\u{202e}cba"),
            ("two\nlines", "two\nlines"),
        ] {
            assert_eq!(visible(text), shown, "{text:?}");
        }
    }

    #[test]
    fn json_keeps_its_meaning_with_c1_controls_and_bidi_marks_escaped() {
        let text = "CSI \u{9b}2J, override \u{202e}, ESC \u{1b}";
        let json = serde_json::to_string(&serde_json::json!({ "reason": text })).expect("JSON");
        let shown = super::visible_json(&json);
        assert!(
            !shown.contains('\u{9b}') && !shown.contains('\u{202e}'),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
        assert_eq!(back["reason"], text);
    }
}
