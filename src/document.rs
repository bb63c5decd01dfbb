//! A TOML, JSON or YAML document as a tree that remembers the byte span of every key and value.
//!
//! The typed model is deserialized from the JSON form of this tree; diagnostics about a field
//! find their place in the file by walking the tree with the field's JSON pointer. TOML is read
//! here; JSON and YAML (system models, Open Threat Model files) in `yaml`.

mod yaml;

use std::ops::Range;

use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

/// A value with the span of its text in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub value: NodeValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// A YAML or JSON null (TOML has none).
    Null,
    /// TOML date-times are kept as their text: no pack field uses them.
    Datetime(String),
    /// An integer beyond 64 bits, kept as its text.
    OutOfRange(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

/// A key of a table, its span, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

/// A syntax error with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub span: Range<usize>,
}

/// Where a JSON pointer leads in a document: the key that names the value (absent for array
/// items and the root) and the value itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Place<'a> {
    pub key_span: Option<Range<usize>>,
    pub node: &'a Node,
    /// False when the pointer went further than the document: `node` is then the deepest
    /// value that exists on the way (e.g. the table a required key is missing from).
    pub exact: bool,
}

/// The deepest nesting of tables and arrays accepted. Pack files nest five or six levels; the
/// limit keeps every recursive walk of the tree (conversion, JSON, schema) far from the stack's
/// end, since TOML's dotted keys inside inline tables can nest thousands of levels in a few KiB.
pub const MAX_DEPTH: usize = 64;

/// Parses a TOML document, recovering from errors so that every syntax error is reported.
/// The tree is returned even when there are errors, but callers should not trust its content then.
pub fn parse(text: &str) -> (Node, Vec<SyntaxError>) {
    let (table, errors) = DeTable::parse_recoverable(text);
    if let Some(span) = too_deep(table.get_ref()) {
        let error = SyntaxError {
            message: format!("tables and arrays nest more than {MAX_DEPTH} levels deep here"),
            span,
        };
        let empty = Node {
            span: 0..text.len(),
            value: NodeValue::Table(Vec::new()),
        };
        return (empty, vec![error]);
    }
    let errors = errors
        .into_iter()
        .map(|error| SyntaxError {
            message: error.message().to_string(),
            span: error.span().unwrap_or(0..0),
        })
        .collect();
    let span = 0..text.len();
    let root = Node {
        span,
        value: convert_table(table.into_inner()),
    };
    (root, errors)
}

/// Parses a JSON or YAML 1.2 document (JSON is YAML 1.2: one parser reads both).
///
/// Plain scalars are typed by the YAML 1.2 core schema (`true`, `12`, `1.5`, `null`; `yes` and
/// `on` are strings); quoted and block scalars are always strings. Refused, each with its span:
/// aliases (no "billion laughs"), a second document, nesting deeper than `MAX_DEPTH`, duplicate
/// keys, keys that are lists or tables, and tags outside the core schema. As with `parse`, the
/// tree should not be trusted when there are errors (it is then an empty table).
pub fn parse_yaml(text: &str) -> (Node, Vec<SyntaxError>) {
    match yaml::parse(text) {
        Ok(root) => (root, Vec::new()),
        Err(errors) => {
            let empty = Node {
                span: 0..text.len(),
                value: NodeValue::Table(Vec::new()),
            };
            (empty, errors)
        }
    }
}

/// The span of the first value nested deeper than `MAX_DEPTH`, found with an explicit stack.
fn too_deep(table: &DeTable<'_>) -> Option<Range<usize>> {
    let mut pending: Vec<(&toml::Spanned<DeValue<'_>>, usize)> =
        table.values().map(|value| (value, 1)).collect();
    while let Some((value, depth)) = pending.pop() {
        if depth > MAX_DEPTH {
            return Some(value.span());
        }
        match value.get_ref() {
            DeValue::Array(items) => pending.extend(items.iter().map(|item| (item, depth + 1))),
            DeValue::Table(entries) => {
                pending.extend(entries.values().map(|entry| (entry, depth + 1)))
            }
            _ => {}
        }
    }
    None
}

fn convert_table(table: DeTable<'_>) -> NodeValue {
    NodeValue::Table(
        table
            .into_iter()
            .map(|(key, value)| {
                let key_span = key.span();
                Entry {
                    key: key.into_inner().into_owned(),
                    key_span,
                    value: convert(value),
                }
            })
            .collect(),
    )
}

fn convert(value: toml::Spanned<DeValue<'_>>) -> Node {
    let span = value.span();
    let value = match value.into_inner() {
        DeValue::String(text) => NodeValue::String(text.into_owned()),
        DeValue::Integer(integer) => {
            match i64::from_str_radix(integer.as_str(), integer.radix()) {
                Ok(number) => NodeValue::Integer(number),
                // Out of i64 range: kept as text, reported as a wrong type by the schema.
                Err(_) => NodeValue::OutOfRange(integer.to_string()),
            }
        }
        DeValue::Float(float) => {
            NodeValue::Float(float.as_str().replace('_', "").parse().unwrap_or(f64::NAN))
        }
        DeValue::Boolean(boolean) => NodeValue::Boolean(boolean),
        DeValue::Datetime(datetime) => NodeValue::Datetime(datetime.to_string()),
        DeValue::Array(array) => NodeValue::Array(array.into_iter().map(convert).collect()),
        DeValue::Table(table) => convert_table(table),
    };
    Node { span, value }
}

impl Node {
    /// The JSON form of this value, as the JSON Schemas and the typed model see it.
    pub fn to_json(&self) -> Json {
        match &self.value {
            NodeValue::String(text) => Json::String(text.clone()),
            // No pack field takes a date-time, a non-finite float or an integer beyond 64 bits:
            // null makes the schema reject them as a wrong type, never as a string.
            NodeValue::Datetime(_) | NodeValue::OutOfRange(_) => Json::Null,
            NodeValue::Integer(number) => Json::from(*number),
            NodeValue::Float(number) => {
                serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number)
            }
            NodeValue::Boolean(boolean) => Json::Bool(*boolean),
            NodeValue::Null => Json::Null,
            NodeValue::Array(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Table(entries) => Json::Object(
                entries
                    .iter()
                    .map(|entry| (entry.key.clone(), entry.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The entry named `key` if this is a table.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            NodeValue::Table(entries) => entries.iter().find(|entry| entry.key == key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// Follows `segments` (JSON pointer segments, unescaped) as far as the document goes.
    pub fn locate<'a, S: AsRef<str>>(&'a self, segments: &[S]) -> Place<'a> {
        let mut place = Place {
            key_span: None,
            node: self,
            exact: true,
        };
        for segment in segments {
            let segment = segment.as_ref();
            let next = match &place.node.value {
                NodeValue::Table(entries) => entries
                    .iter()
                    .find(|entry| entry.key == segment)
                    .map(|entry| (Some(entry.key_span.clone()), &entry.value)),
                NodeValue::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index))
                    .map(|item| (None, item)),
                _ => None,
            };
            match next {
                Some((key_span, node)) => {
                    place = Place {
                        key_span,
                        node,
                        exact: true,
                    }
                }
                None => {
                    place.exact = false;
                    break;
                }
            }
        }
        place
    }
}

/// Splits a JSON pointer (`/entity/0/id`) into unescaped segments.
pub fn pointer_segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Where a byte offset inside a string value's contents lies in the file, when the string is
/// written without escapes (literal strings always are). `None` when it cannot be mapped.
pub fn string_content_offset(text: &str, node: &Node, content_offset: usize) -> Option<usize> {
    let NodeValue::String(value) = &node.value else {
        return None;
    };
    let raw = text.get(node.span.clone())?;
    let quote = ["'''", "\"\"\"", "'", "\""].into_iter().find(|quote| {
        raw.starts_with(quote) && raw.ends_with(quote) && raw.len() >= 2 * quote.len()
    })?;
    let mut inner = &raw[quote.len()..raw.len() - quote.len()];
    let mut start = node.span.start + quote.len();
    // A newline right after an opening multi-line delimiter is not part of the value.
    if quote.len() == 3 {
        if let Some(rest) = inner.strip_prefix("\r\n") {
            inner = rest;
            start += 2;
        } else if let Some(rest) = inner.strip_prefix('\n') {
            inner = rest;
            start += 1;
        }
    }
    (inner == value && content_offset <= value.len()).then_some(start + content_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place_text<'a>(text: &'a str, pointer: &str) -> (&'a str, Option<&'a str>) {
        let (root, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        let place = root.locate(&pointer_segments(pointer));
        (
            &text[place.node.span.clone()],
            place.key_span.map(|span| &text[span]),
        )
    }

    #[test]
    fn locates_values_and_keys_in_arrays_of_tables() {
        let text = "[[entity]]\nid = \"a\"\n\n[[entity]]\nid = \"b\"\n[entity.properties.x]\ntype = \"bool\"\n";
        assert_eq!(place_text(text, "/entity/1/id"), ("\"b\"", Some("id")));
        assert_eq!(
            place_text(text, "/entity/1/properties/x/type"),
            ("\"bool\"", Some("type"))
        );
    }

    #[test]
    fn converts_to_json() {
        let (root, _) = parse("a = 1\nb = [true, 'x']\n[c]\nd = 1.5\n");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"a": 1, "b": [true, "x"], "c": {"d": 1.5}})
        );
    }

    #[test]
    fn reports_every_syntax_error() {
        let (_, errors) = parse("a = \nb = 1\nb = 2\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn maps_offsets_inside_strings() {
        let text = "c = 'self.x == \"a\"'\nd = \"q\\\"x\"\n";
        let (root, _) = parse(text);
        let c = &root.get("c").expect("c").value;
        assert_eq!(
            string_content_offset(text, c, 5),
            Some(text.find(".x").expect("x") + 1)
        );
        let d = &root.get("d").expect("d").value;
        assert_eq!(string_content_offset(text, d, 1), None);
    }
}
