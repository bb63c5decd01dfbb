//! Syntax errors and their place: a problem found by the ANTLR parser (which records
//! positions) turned into a byte range of the condition's text, and where a problem found in
//! the parsed tree is.

use std::ops::Range;

use crate::diagnostic::Code;

use super::*;

pub(super) fn syntax_problems(text: &str, errors: &cel::ParseErrors) -> ConditionReport {
    let problems = errors
        .errors
        .iter()
        .take(1)
        .map(|error| {
            let (line, column) = error.pos;
            let span = token_at(text, offset_of(text, line, column));
            let token = &text[span.clone()];
            // Python-isms are the usual slip (pytm conditions are Python): name the CEL spelling.
            let words: Vec<&str> = std::iter::once(token).chain(text.split(|character: char| character.is_whitespace() || "()".contains(character))).collect();
            let help = words
                .iter()
                .find_map(|word| match *word {
                    "and" => Some("CEL writes `and` as `&&`".to_string()),
                    "or" => Some("CEL writes `or` as `||`".to_string()),
                    "not" => Some("CEL writes `not` as `!`".to_string()),
                    "=" => Some("compare with `==`".to_string()),
                    "True" | "False" | "None" => Some(format!("CEL writes `{word}` as `{}`", if *word == "None" { "null".to_string() } else { word.to_lowercase() })),
                    _ => None,
                })
                .unwrap_or_else(|| "conditions are CEL expressions, e.g. `self.internet_facing && self.authentication == \"none\"`".to_string());
            ConditionProblem {
                code: Code::ConditionSyntax,
                message: "invalid CEL in condition".to_string(),
                label: error.msg.trim_start_matches("Syntax error: ").to_string(),
                help: Some(help),
                span: Some(span),
            }
        })
        .collect();
    ConditionReport {
        problems,
        ..ConditionReport::default()
    }
}

/// The byte offset of a 1-based line and 1-based character column, clamped to the text.
pub(super) fn offset_of(text: &str, line: isize, column: isize) -> usize {
    let mut offset = 0;
    for (index, line_text) in text.split_inclusive('\n').enumerate() {
        if index as isize + 1 == line.max(1) {
            return offset
                + line_text
                    .char_indices()
                    .nth((column - 1).max(0) as usize)
                    .map_or(line_text.trim_end_matches('\n').len(), |(byte, _)| byte);
        }
        offset += line_text.len();
    }
    text.len()
}

/// The token starting at `offset`: a word, or a run of operator characters.
pub(super) fn token_at(text: &str, offset: usize) -> Range<usize> {
    let rest = &text[offset..];
    let is_word = |character: char| character.is_alphanumeric() || character == '_';
    let first_is_word = rest.chars().next().is_some_and(is_word);
    let length: usize = rest
        .chars()
        .take_while(|character| {
            if first_is_word {
                is_word(*character)
            } else {
                !is_word(*character)
                    && !character.is_whitespace()
                    && !"\"'()[]".contains(*character)
            }
        })
        .map(char::len_utf8)
        .sum();
    let length = if length == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        length
    };
    offset..offset + length
}

/// Where a problem is, in terms of the parsed tree.
#[derive(Debug, Clone, Copy)]
pub(super) enum Position {
    Node(u64),
    /// The field name of a selection (`self.x`): the node's offset is the `.`.
    Field {
        id: u64,
        length: usize,
    },
    Whole,
}

impl Position {
    pub(super) fn span(
        self,
        text: &str,
        source_info: &cel::common::ast::SourceInfo,
    ) -> Option<Range<usize>> {
        let clamp = |offset: usize| offset.min(text.len());
        match self {
            Position::Node(id) => {
                let (start, stop) = source_info.offset_for(id)?;
                let (start, stop) = (clamp(start as usize), clamp(stop as usize));
                let end = text[stop..]
                    .chars()
                    .next()
                    .map_or(stop, |character| stop + character.len_utf8());
                Some(start..end.max(start))
            }
            Position::Field { id, length } => {
                let (dot, _) = source_info.offset_for(id)?;
                let start = clamp(dot as usize + 1);
                Some(start..clamp(start + length))
            }
            Position::Whole => None,
        }
    }
}
