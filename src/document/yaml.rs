//! JSON and YAML 1.2 documents as `Node` trees, built from saphyr-parser's event stream.
//!
//! JSON is YAML 1.2, so one parser reads both. The tree is built with an explicit stack (no
//! recursion), refuses what a model file has no use for and an attacker does (aliases, more than
//! one document, nesting deeper than `MAX_DEPTH`, tags outside the core schema), and types plain
//! scalars by the YAML 1.2 core schema. saphyr counts positions in characters; every span here
//! is converted to byte offsets of the original text.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::{Entry, MAX_DEPTH, Node, NodeValue, SyntaxError};

/// Parses one JSON or YAML document. Fatal problems (syntax, aliases, depth, several
/// documents) stop the parse; duplicate keys are collected and the parse goes on.
pub(super) fn parse(text: &str) -> Result<Node, Vec<SyntaxError>> {
    let input = JsonInput::prepare(text);
    let positions = Positions::new(input.text(), &input.shrunk_at);
    let mut builder = Builder {
        source: text,
        positions: &positions,
        stack: Vec::new(),
        root: None,
        documents: 0,
        duplicates: Vec::new(),
        line_starts: Vec::new(),
    };
    for next in Parser::new_from_str(input.text()) {
        let (event, span) = next.map_err(|error| vec![scan_error(text, &positions, &error)])?;
        if let Event::StreamEnd = event {
            break;
        }
        builder.event(event, span).map_err(|error| vec![error])?;
    }
    if !builder.duplicates.is_empty() {
        return Err(builder.duplicates);
    }
    Ok(builder.root.unwrap_or(Node {
        span: 0..0,
        value: NodeValue::Null,
    }))
}

/// A collection being read, with the byte offset where it starts.
struct Frame {
    start: usize,
    collection: Collection,
}

enum Collection {
    Sequence(Vec<Node>),
    Mapping {
        entries: Vec<Entry>,
        /// The key read, waiting for its value.
        key: Option<(String, Range<usize>)>,
        /// Every key so far and where it is, to refuse duplicates in linear time.
        seen: HashMap<String, usize>,
    },
}

struct Builder<'a> {
    source: &'a str,
    positions: &'a Positions<'a>,
    stack: Vec<Frame>,
    root: Option<Node>,
    documents: usize,
    duplicates: Vec<SyntaxError>,
    /// Byte offsets where lines start, computed at the first duplicate key.
    line_starts: Vec<usize>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), SyntaxError> {
        let range = self.positions.range(span);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(error(
                        "a file holds one YAML document; this starts a second one",
                        range,
                    ));
                }
                Ok(())
            }
            Event::Alias(_) => {
                let written = self.source.get(range.clone()).unwrap_or("*");
                Err(error(
                    format!(
                        "YAML aliases are not supported (`{written}`): write the value out in full"
                    ),
                    range,
                ))
            }
            Event::Scalar(value, style, _anchor, tag) => {
                if self.awaits_key() {
                    check_key_tag(tag.as_deref(), &range)?;
                    self.key(value.into_owned(), range);
                    return Ok(());
                }
                let value = scalar(&value, style, tag.as_deref())
                    .map_err(|message| error(message, range.clone()))?;
                self.deliver(Node { span: range, value });
                Ok(())
            }
            Event::SequenceStart(_anchor, tag) => self.open(
                range,
                tag.as_deref(),
                "seq",
                Collection::Sequence(Vec::new()),
            ),
            Event::MappingStart(_anchor, tag) => self.open(
                range,
                tag.as_deref(),
                "map",
                Collection::Mapping {
                    entries: Vec::new(),
                    key: None,
                    seen: HashMap::new(),
                },
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                // Flow collections end at their bracket; block ones at their last value.
                let end = match &frame.collection {
                    _ if !range.is_empty() => range.end,
                    Collection::Sequence(items) => {
                        items.last().map_or(frame.start, |last| last.span.end)
                    }
                    Collection::Mapping { entries, .. } => {
                        entries.last().map_or(frame.start, |last| {
                            last.value.span.end.max(last.key_span.end)
                        })
                    }
                };
                let value = match frame.collection {
                    Collection::Sequence(items) => NodeValue::Array(items),
                    Collection::Mapping { entries, .. } => NodeValue::Table(entries),
                };
                self.deliver(Node {
                    span: frame.start..end.max(frame.start),
                    value,
                });
                Ok(())
            }
        }
    }

    fn awaits_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                collection: Collection::Mapping { key: None, .. },
                ..
            })
        )
    }

    fn open(
        &mut self,
        range: Range<usize>,
        tag: Option<&Tag>,
        tag_suffix: &str,
        collection: Collection,
    ) -> Result<(), SyntaxError> {
        if self.awaits_key() {
            return Err(error(
                "a key must be a string, not a list or a table",
                range,
            ));
        }
        if let Some(tag) = tag
            && !(tag.is_yaml_core_schema() && tag.suffix == tag_suffix)
        {
            return Err(error(
                format!("the YAML tag `{}` is not supported", tag_name(tag)),
                range,
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(error(depth_message(), range));
        }
        self.stack.push(Frame {
            start: range.start,
            collection,
        });
        Ok(())
    }

    fn key(&mut self, key: String, range: Range<usize>) {
        let Some(Frame {
            collection: Collection::Mapping {
                key: pending, seen, ..
            },
            ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        if let Some(first) = seen.get(&key) {
            if self.line_starts.is_empty() {
                self.line_starts = std::iter::once(0)
                    .chain(self.source.match_indices('\n').map(|(at, _)| at + 1))
                    .collect();
            }
            let line = self.line_starts.partition_point(|&start| start <= *first);
            self.duplicates.push(error(
                format!("duplicate key `{key}` (first used on line {line})"),
                range.clone(),
            ));
        } else {
            seen.insert(key.clone(), range.start);
        }
        *pending = Some((key, range));
    }

    fn deliver(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame {
                collection: Collection::Sequence(items),
                ..
            }) => items.push(node),
            Some(Frame {
                collection: Collection::Mapping { entries, key, .. },
                ..
            }) => {
                if let Some((key, key_span)) = key.take() {
                    entries.push(Entry {
                        key,
                        key_span,
                        value: node,
                    });
                }
            }
        }
    }
}

fn error(message: impl Into<String>, span: Range<usize>) -> SyntaxError {
    SyntaxError {
        message: message.into(),
        span,
    }
}

fn scan_error(source: &str, positions: &Positions<'_>, scan: &ScanError) -> SyntaxError {
    let start = positions.byte(scan.marker().index());
    // saphyr's own cap on flow nesting (255 levels), reached while it looks ahead for keys.
    if scan.info() == "recursion limit exceeded" {
        return error(depth_message(), start..start);
    }
    let end = source
        .get(start..)
        .and_then(|rest| rest.chars().next())
        .map_or(start, |character| start + character.len_utf8());
    error(scan.info().to_string(), start..end)
}

fn depth_message() -> String {
    format!("lists and tables nest more than {MAX_DEPTH} levels deep here")
}

/// Keys are taken as written; only the core schema's tags may mark them.
fn check_key_tag(tag: Option<&Tag>, range: &Range<usize>) -> Result<(), SyntaxError> {
    match tag {
        Some(tag) if !tag.is_yaml_core_schema() && !is_non_specific(tag) => Err(error(
            format!("the YAML tag `{}` is not supported", tag_name(tag)),
            range.clone(),
        )),
        _ => Ok(()),
    }
}

/// A tag as written: `!!int`, `!Ref`.
fn tag_name(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" {
        format!("!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// `! value`: the non-specific tag, which makes a plain scalar a string.
fn is_non_specific(tag: &Tag) -> bool {
    (tag.handle == "!" && tag.suffix.is_empty()) || (tag.handle.is_empty() && tag.suffix == "!")
}

/// The value of a scalar: quoted and block scalars are strings; plain ones are typed by the
/// YAML 1.2 core schema unless a core tag (`!!str`, `!!int`, ...) says otherwise.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<NodeValue, String> {
    let Some(tag) = tag else {
        return Ok(match style {
            ScalarStyle::Plain => plain(text),
            _ => NodeValue::String(text.to_string()),
        });
    };
    if is_non_specific(tag) {
        return Ok(NodeValue::String(text.to_string()));
    }
    if !tag.is_yaml_core_schema() {
        return Err(format!("the YAML tag `{}` is not supported", tag_name(tag)));
    }
    let typed = plain(text);
    let fits = match (tag.suffix.as_str(), &typed) {
        ("str", _) => return Ok(NodeValue::String(text.to_string())),
        ("null", NodeValue::Null)
        | ("bool", NodeValue::Boolean(_))
        | ("int", NodeValue::Integer(_) | NodeValue::OutOfRange(_))
        | ("float", NodeValue::Float(_)) => true,
        ("float", &NodeValue::Integer(number)) => {
            return Ok(NodeValue::Float(number as f64));
        }
        _ => false,
    };
    if fits {
        Ok(typed)
    } else {
        Err(format!("`{text}` is not a valid `{}` value", tag_name(tag)))
    }
}

/// A plain scalar by the YAML 1.2 core schema (null, booleans, integers, floats, else a string).
fn plain(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Boolean(true),
        "false" | "False" | "FALSE" => return NodeValue::Boolean(false),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(value) = integer(text) {
        return value;
    }
    if let Some(value) = float(text) {
        return NodeValue::Float(value);
    }
    NodeValue::String(text.to_string())
}

/// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`; beyond 64 bits, kept as text.
fn integer(text: &str) -> Option<NodeValue> {
    let (digits, radix) = if let Some(octal) = text.strip_prefix("0o") {
        (octal, 8)
    } else if let Some(hexadecimal) = text.strip_prefix("0x") {
        (hexadecimal, 16)
    } else {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        (unsigned, 10)
    };
    if digits.is_empty() || !digits.chars().all(|digit| digit.is_digit(radix)) {
        return None;
    }
    let parsed = if radix == 10 {
        text.parse::<i64>()
    } else {
        i64::from_str_radix(digits, radix)
    };
    Some(parsed.map_or_else(
        |_| NodeValue::OutOfRange(text.to_string()),
        NodeValue::Integer,
    ))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` or `[-+]?\.(inf|Inf|INF)`.
fn float(text: &str) -> Option<f64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = match fraction {
        // `.5`, `1.`, `1.5`
        Some(fraction) => {
            all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !whole.is_empty() && all_digits(whole),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits.is_empty() && all_digits(digits)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>().ok()
}

/// The text handed to the parser. JSON writes characters beyond the Basic Multilingual Plane as
/// escaped UTF-16 surrogate pairs (`\ud83d\ude00`), which YAML does not accept; in a document
/// that is valid JSON each pair becomes the equivalent YAML escape (`\U0001F600`), two bytes
/// shorter, and `shrunk_at` records where, so positions map back to the original text.
struct JsonInput<'a> {
    original: &'a str,
    rewritten: Option<String>,
    /// Byte offsets in the rewritten text just after each shortened escape.
    shrunk_at: Vec<usize>,
}

/// How many bytes each rewritten surrogate pair saves (12 → 10).
const SHRINK: usize = 2;

impl<'a> JsonInput<'a> {
    fn prepare(original: &'a str) -> JsonInput<'a> {
        let unchanged = JsonInput {
            original,
            rewritten: None,
            shrunk_at: Vec::new(),
        };
        // Every high surrogate escape starts `\ud8`..`\udb`, in either case.
        let has_pair = original.contains("\\ud") || original.contains("\\uD");
        // Only valid JSON is rewritten: there a string is exactly `"..."` with backslash
        // escapes, so the rewrite cannot touch a YAML comment, block or single-quoted scalar.
        if !has_pair || serde_json::from_str::<serde::de::IgnoredAny>(original).is_err() {
            return unchanged;
        }
        let bytes = original.as_bytes();
        let mut rewritten = String::with_capacity(original.len());
        let mut shrunk_at = Vec::new();
        let mut in_string = false;
        let mut copied_to = 0;
        let mut index = 0;
        while index < bytes.len() {
            match bytes[index] {
                b'"' => {
                    in_string = !in_string;
                    index += 1;
                }
                b'\\' if in_string => {
                    if let Some(code_point) = surrogate_pair(original, index) {
                        rewritten.push_str(&original[copied_to..index]);
                        rewritten.push_str(&format!("\\U{code_point:08X}"));
                        shrunk_at.push(rewritten.len());
                        index += 12;
                        copied_to = index;
                    } else {
                        // Any other escape is two bytes, or `\uXXXX`, whose hex digits
                        // contain neither a quote nor a backslash.
                        index += 2;
                    }
                }
                _ => index += 1,
            }
        }
        if shrunk_at.is_empty() {
            return unchanged;
        }
        rewritten.push_str(&original[copied_to..]);
        JsonInput {
            original,
            rewritten: Some(rewritten),
            shrunk_at,
        }
    }

    fn text(&self) -> &str {
        self.rewritten.as_deref().unwrap_or(self.original)
    }
}

/// The code point of `\uD8xx\uDCxx` at `at`, if a high and a low surrogate escape are there.
fn surrogate_pair(text: &str, at: usize) -> Option<u32> {
    let escape = |offset: usize| -> Option<u32> {
        let digits = text
            .get(at + offset..at + offset + 6)?
            .strip_prefix("\\u")?;
        u32::from_str_radix(digits, 16).ok()
    };
    let high = escape(0)?;
    let low = escape(6)?;
    if !(0xD800..0xDC00).contains(&high) || !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    Some(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
}

/// Converts saphyr's character indexes of the parsed text into byte offsets of the original.
struct Positions<'a> {
    text: &'a str,
    /// The byte offset of every `CHECKPOINT`-th character; empty for ASCII text.
    checkpoints: Vec<usize>,
    shrunk_at: &'a [usize],
}

const CHECKPOINT: usize = 64;

impl<'a> Positions<'a> {
    fn new(text: &'a str, shrunk_at: &'a [usize]) -> Positions<'a> {
        let checkpoints = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(CHECKPOINT)
                .map(|(offset, _)| offset)
                .collect()
        };
        Positions {
            text,
            checkpoints,
            shrunk_at,
        }
    }

    fn byte(&self, character: usize) -> usize {
        let in_text = if self.checkpoints.is_empty() {
            character.min(self.text.len())
        } else {
            let checkpoint = (character / CHECKPOINT).min(self.checkpoints.len() - 1);
            let from = self.checkpoints[checkpoint];
            let remaining = character - checkpoint * CHECKPOINT;
            self.text[from..]
                .char_indices()
                .nth(remaining)
                .map_or(self.text.len(), |(offset, _)| from + offset)
        };
        in_text + SHRINK * self.shrunk_at.partition_point(|&end| end <= in_text)
    }

    fn range(&self, span: Span) -> Range<usize> {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index());
        start..end.max(start)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{Node, NodeValue, parse_yaml, pointer_segments};

    fn json_of(text: &str) -> serde_json::Value {
        let (root, errors) = parse_yaml(text);
        assert!(errors.is_empty(), "{text:?}: {errors:?}");
        root.to_json()
    }

    /// The first error's message and the text its span covers.
    fn first_error(text: &str) -> (String, String) {
        let (_, errors) = parse_yaml(text);
        let error = errors.first().unwrap_or_else(|| panic!("{text:?} parses"));
        (error.message.clone(), text[error.span.clone()].to_string())
    }

    /// The text of the value at `pointer` and of the key naming it.
    fn place<'a>(text: &'a str, root: &Node, pointer: &str) -> (&'a str, Option<&'a str>) {
        let place = root.locate(&pointer_segments(pointer));
        assert!(place.exact, "{pointer} exists");
        (
            &text[place.node.span.clone()],
            place.key_span.map(|span| &text[span]),
        )
    }

    #[test]
    fn reads_json_with_escapes_unicode_and_numbers() {
        let text = "{\n\t\"a\": \"\\u00e9\\ud83d\\ude00\\uD83D\\uDE80 \\/ \\\" \\\\ \\b\\f\\n\\r\\t x\",\n\t\"b\":[1,-2.5e3,true,null,{},[],1E+2,0.5,0,12345678901234567890],\n\t\"é\":\"ü\",\"k\":{\"d\":\"x\"}}\n";
        let expected: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        let mut ours = json_of(text);
        // Beyond 64 bits we keep the text (and the schema sees null); serde_json a float.
        assert_eq!(ours["b"][9], serde_json::Value::Null);
        ours["b"][9] = expected["b"][9].clone();
        assert_eq!(ours, expected);
    }

    #[test]
    fn spans_are_byte_offsets_after_non_ascii_text_and_rewritten_escapes() {
        let text = "{\"名前\": \"\\ud83d\\ude00 ü\", \"ä\": [\"x\", {\"ö\": \"y\"}], \"z\": 1}";
        let (root, errors) = parse_yaml(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            place(text, &root, "/名前"),
            ("\"\\ud83d\\ude00 ü\"", Some("\"名前\""))
        );
        assert_eq!(place(text, &root, "/ä/1/ö"), ("\"y\"", Some("\"ö\"")));
        assert_eq!(place(text, &root, "/z"), ("1", Some("\"z\"")));
        assert_eq!(
            place(text, &root, "/ä"),
            ("[\"x\", {\"ö\": \"y\"}]", Some("\"ä\""))
        );

        let yaml = "# ça va\nnom: Zoë\nliste:\n  - é\n  - clé: 'valeur'\n";
        let (root, errors) = parse_yaml(yaml);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(place(yaml, &root, "/nom"), ("Zoë", Some("nom")));
        assert_eq!(
            place(yaml, &root, "/liste/1/clé"),
            ("'valeur'", Some("clé"))
        );
        assert_eq!(place(yaml, &root, "/liste/1"), ("clé: 'valeur'", None));
        assert_eq!(
            place(yaml, &root, "/liste"),
            ("- é\n  - clé: 'valeur'", Some("liste"))
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_lines_keep_offsets_right() {
        let text = "\u{feff}a: 1\r\nb: \"é\"\r\nc: x\r\n";
        let (root, errors) = parse_yaml(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(place(text, &root, "/b"), ("\"é\"", Some("b")));
        assert_eq!(place(text, &root, "/c"), ("x", Some("c")));
    }

    #[test]
    fn types_plain_scalars_by_the_yaml_1_2_core_schema() {
        let cases = [
            ("null", json!(null)),
            ("~", json!(null)),
            ("", json!(null)),
            ("true", json!(true)),
            ("False", json!(false)),
            ("yes", json!("yes")),
            ("on", json!("on")),
            ("12", json!(12)),
            ("-7", json!(-7)),
            ("+3", json!(3)),
            ("0o17", json!(15)),
            ("0x1F", json!(31)),
            ("012", json!(12)),
            ("1.5", json!(1.5)),
            ("1.", json!(1.0)),
            (".5", json!(0.5)),
            ("-2.5e3", json!(-2500.0)),
            ("1e5", json!(100000.0)),
            ("1_000", json!("1_000")),
            ("0b101", json!("0b101")),
            ("1.2.3", json!("1.2.3")),
            ("e5", json!("e5")),
            ("'12'", json!("12")),
            ("\"true\"", json!("true")),
            ("!!str 12", json!("12")),
            ("!!int '12'", json!(12)),
            ("!!float 1", json!(1.0)),
            ("! 12", json!("12")),
            ("|\n  text\n", json!("text\n")),
        ];
        for (scalar, expected) in cases {
            let text = format!("v: {scalar}");
            assert_eq!(json_of(&text)["v"], expected, "{text}");
        }
        let (root, _) = parse_yaml("a: .inf\nb: 99999999999999999999\n");
        assert_eq!(
            root.get("a").map(|entry| &entry.value.value),
            Some(&NodeValue::Float(f64::INFINITY))
        );
        assert_eq!(
            root.get("b").map(|entry| &entry.value.value),
            Some(&NodeValue::OutOfRange("99999999999999999999".to_string()))
        );
    }

    #[test]
    fn an_empty_file_is_null() {
        assert_eq!(json_of(""), json!(null));
        assert_eq!(json_of("# only a comment\n"), json!(null));
    }

    #[test]
    fn refuses_hostile_and_ambiguous_input_with_a_span() {
        let cases: [(&str, &str, &str); 9] = [
            (
                "a: 1\nb: 2\na: 3\n",
                "duplicate key `a` (first used on line 1)",
                "a",
            ),
            (
                "{\"a\": 1, \"a\": 2}",
                "duplicate key `a` (first used on line 1)",
                "\"a\"",
            ),
            (
                "a: &x [1]\nb: *x\n",
                "YAML aliases are not supported (`*x`): write the value out in full",
                "*x",
            ),
            (
                "a: 1\n---\nb: 2\n",
                "a file holds one YAML document; this starts a second one",
                "---",
            ),
            (
                "? [a]\n: 1\n",
                "a key must be a string, not a list or a table",
                "[a]",
            ),
            (
                "a: !Ref x\n",
                "the YAML tag `!Ref` is not supported",
                "!Ref x",
            ),
            (
                "a: !!int x\n",
                "`x` is not a valid `!!int` value",
                "!!int x",
            ),
            (
                "a: !!map [1]\n",
                "the YAML tag `!!map` is not supported",
                "!!map [",
            ),
            (
                "a: \"\\ud83d\"\n",
                "while parsing a quoted scalar, found invalid Unicode character escape code",
                "\"",
            ),
        ];
        for (text, message, covered) in cases {
            let (found_message, found_covered) = first_error(text);
            assert_eq!(found_message, message, "{text:?}");
            assert!(
                found_covered.starts_with(covered) || covered.starts_with(&found_covered),
                "{text:?}: the error covers {found_covered:?}, expected {covered:?}"
            );
        }
    }

    #[test]
    fn refuses_an_alias_bomb_without_expanding_it() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in 0..9u8 {
            let name = char::from(b'b' + level);
            let previous = char::from(b'a' + level);
            let items = vec![format!("*{previous}"); 9].join(",");
            text.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let (message, covered) = first_error(&text);
        assert!(
            message.starts_with("YAML aliases are not supported"),
            "{message}"
        );
        assert_eq!(covered, "*a");
    }

    #[test]
    fn nesting_is_capped_at_max_depth_in_flow_and_block_style() {
        let depth = super::super::MAX_DEPTH;
        let flow = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(parse_yaml(&flow(depth)).1.is_empty());
        let (message, covered) = first_error(&flow(depth + 1));
        assert_eq!(
            message,
            format!("lists and tables nest more than {depth} levels deep here")
        );
        assert_eq!(covered, "[");
        // A million levels: an error, not a stack overflow.
        let (message, _) = first_error(&flow(1_000_000));
        assert!(message.starts_with("lists and tables nest"), "{message}");
        let block: String = (0..1_000)
            .map(|level| format!("{}k:\n", " ".repeat(level)))
            .collect();
        let (message, _) = first_error(&block);
        assert!(message.starts_with("lists and tables nest"), "{message}");
    }

    #[test]
    fn reports_every_duplicate_key() {
        let (_, errors) = parse_yaml("a: 1\na: 2\nb: 3\nb: 4\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn reports_syntax_errors_at_their_place() {
        let text = "a: [1, 2\nb: ü\n";
        let (_, errors) = parse_yaml(text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].span.start <= text.len());
        assert!(text.is_char_boundary(errors[0].span.start));
    }
}
