//! OWASP pytm's threat library (`threats.json`) to a pack: pytm's element classes become
//! entities, its threats attack patterns whose Python conditions are translated to CEL
//! (docs/interop.md#owasp-pytm). pytm's classes and the naming rules are in
//! `system::pytm::classes`, shared with the model reader and the exporter.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::mapping::{Mapping, key};
use super::{ImportError, ImportOptions, ImportReport, Imported, Notes, text};
use crate::model::{ElementKind, PropertyDefinition, PropertyType, Rating, References, Severity};
use crate::system::pytm::classes::*;
use crate::system::pytm::classes::{AttrDefault as D, AttrType as T};

/// pytm's licence (MIT), copied into every imported pack: pytm's own library is under it.
const PYTM_LICENSE: &str = include_str!("LICENSE-pytm-MIT.txt");

/// Attack patterns per file.
const ATTACK_PATTERNS_PER_FILE: usize = 100;

fn property_type(kind: AttrType) -> (PropertyType, Option<i64>, Option<i64>, Vec<String>) {
    match kind {
        T::Bool => (PropertyType::Bool, None, None, Vec::new()),
        T::Str => (PropertyType::String, None, None, Vec::new()),
        T::Int => (PropertyType::Int, None, None, Vec::new()),
        T::Tls => (PropertyType::Int, Some(0), Some(7), Vec::new()),
        T::Classification => (PropertyType::Int, Some(0), Some(5), Vec::new()),
        T::DatastoreType => (
            PropertyType::Enum,
            None,
            None,
            DATASTORE_TYPES
                .iter()
                .map(|name| enum_value(name))
                .collect(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Python conditions: the subset pytm's conditions use, parsed

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Py {
    Name(String),
    Attr(Box<Py>, String),
    Call(Box<Py>, Vec<Py>),
    /// `ELT for VAR in ITER`, as the argument of `any(...)`.
    Generator(Box<Py>, String, Box<Py>),
    Str(String),
    Int(i64),
    Bool(bool),
    NoneValue,
    Tuple(Vec<Py>),
    Not(Box<Py>),
    And(Vec<Py>),
    Or(Vec<Py>),
    Compare(Box<Py>, CompareOp, Box<Py>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Is,
    IsNot,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Str(String),
    Int(i64),
    Op(&'static str),
}

/// The longest condition read: pytm's are under 400 characters.
const MAX_CONDITION_BYTES: usize = 8 * 1024;
/// The deepest nesting parsed (parentheses, `not`, calls).
const MAX_DEPTH: usize = 64;

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte.is_ascii_whitespace() {
            index += 1;
        } else if byte.is_ascii_alphabetic() || byte == b'_' {
            let start = index;
            while index < bytes.len()
                && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_')
            {
                index += 1;
            }
            tokens.push(Token::Name(text[start..index].to_string()));
        } else if byte.is_ascii_digit() {
            let start = index;
            while index < bytes.len() && bytes[index].is_ascii_digit() {
                index += 1;
            }
            let number = text[start..index]
                .parse()
                .map_err(|_| format!("number `{}` too large", &text[start..index]))?;
            tokens.push(Token::Int(number));
        } else if byte == b'\'' || byte == b'"' {
            let start = index + 1;
            let end = text[start..]
                .find(byte as char)
                .ok_or("a string that does not end")?;
            let value = &text[start..start + end];
            if value.contains('\\') {
                return Err("a string with escapes".to_string());
            }
            tokens.push(Token::Str(value.to_string()));
            index = start + end + 1;
        } else {
            let two = text.get(index..index + 2).unwrap_or_default();
            let op = ["==", "!=", "<=", ">="]
                .into_iter()
                .find(|op| *op == two)
                .or_else(|| {
                    ["<", ">", "(", ")", ".", ",", "[", "]"]
                        .into_iter()
                        .find(|op| op.as_bytes()[0] == byte)
                })
                .ok_or_else(|| {
                    format!(
                        "unexpected character `{}`",
                        &text[index..].chars().next().unwrap_or(' ')
                    )
                })?;
            index += op.len();
            tokens.push(Token::Op(op));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
}

/// Parses a pytm condition: Python's `or`, `and`, `not`, comparisons (`==`, `!=`, `<`, `<=`,
/// `>`, `>=`, `is`, `is not`, `in`, `not in`), attribute reads, calls, generator expressions,
/// tuples and string, int and bool literals. Anything else is an error naming it.
pub(crate) fn parse_condition(text: &str) -> Result<Py, String> {
    if text.len() > MAX_CONDITION_BYTES {
        return Err(format!("longer than {MAX_CONDITION_BYTES} bytes"));
    }
    let mut parser = Parser {
        tokens: tokenize(text)?,
        position: 0,
        depth: 0,
    };
    let expression = parser.or()?;
    match parser.peek() {
        None => Ok(expression),
        Some(token) => Err(format!("unexpected {}", describe(token))),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Name(name) => format!("`{name}`"),
        Token::Str(value) => format!("string '{value}'"),
        Token::Int(value) => format!("number {value}"),
        Token::Op(op) => format!("`{op}`"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token::Name(word)) if word == name)
    }

    fn peek_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(symbol)) if *symbol == op)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.peek_op(op) {
            self.position += 1;
            Ok(())
        } else {
            Err(match self.peek() {
                Some(token) => format!("expected `{op}`, found {}", describe(token)),
                None => format!("expected `{op}` at the end"),
            })
        }
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Py, String> {
        let mut items = vec![self.and()?];
        while self.peek_name("or") {
            self.position += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Py::Or(items)
        })
    }

    fn and(&mut self) -> Result<Py, String> {
        let mut items = vec![self.not()?];
        while self.peek_name("and") {
            self.position += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Py::And(items)
        })
    }

    fn not(&mut self) -> Result<Py, String> {
        if self.peek_name("not") {
            self.position += 1;
            self.deeper()?;
            let operand = self.not()?;
            self.depth -= 1;
            return Ok(Py::Not(Box::new(operand)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Py, String> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Token::Op(symbol)) => match *symbol {
                "==" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                _ => return Ok(left),
            },
            Some(Token::Name(word)) if word == "is" => {
                if matches!(self.tokens.get(self.position + 1), Some(Token::Name(next)) if next == "not")
                {
                    self.position += 1;
                    CompareOp::IsNot
                } else {
                    CompareOp::Is
                }
            }
            Some(Token::Name(word)) if word == "in" => CompareOp::In,
            Some(Token::Name(word))
                if word == "not"
                    && matches!(self.tokens.get(self.position + 1), Some(Token::Name(next)) if next == "in") =>
            {
                self.position += 1;
                CompareOp::NotIn
            }
            _ => return Ok(left),
        };
        self.position += 1;
        let right = self.primary()?;
        if matches!(
            self.peek(),
            Some(Token::Op("==" | "!=" | "<" | "<=" | ">" | ">="))
        ) || self.peek_name("is")
            || self.peek_name("in")
        {
            return Err("a chained comparison".to_string());
        }
        Ok(Py::Compare(Box::new(left), op, Box::new(right)))
    }

    fn primary(&mut self) -> Result<Py, String> {
        let mut node = self.atom()?;
        loop {
            if self.peek_op(".") {
                self.position += 1;
                match self.peek().cloned() {
                    Some(Token::Name(name)) => {
                        self.position += 1;
                        node = Py::Attr(Box::new(node), name);
                    }
                    _ => return Err("a `.` not followed by a name".to_string()),
                }
            } else if self.peek_op("(") {
                self.position += 1;
                self.deeper()?;
                let arguments = self.arguments()?;
                self.depth -= 1;
                node = Py::Call(Box::new(node), arguments);
            } else {
                return Ok(node);
            }
        }
    }

    /// Call arguments after `(`, up to and with `)`.
    fn arguments(&mut self) -> Result<Vec<Py>, String> {
        let mut arguments = Vec::new();
        if self.peek_op(")") {
            self.position += 1;
            return Ok(arguments);
        }
        let first = self.or()?;
        if self.peek_name("for") {
            let generator = self.generator(first)?;
            self.expect_op(")")?;
            return Ok(vec![generator]);
        }
        arguments.push(first);
        while self.peek_op(",") {
            self.position += 1;
            arguments.push(self.or()?);
        }
        self.expect_op(")")?;
        Ok(arguments)
    }

    fn generator(&mut self, element: Py) -> Result<Py, String> {
        self.position += 1; // `for`
        let variable = match self.peek().cloned() {
            Some(Token::Name(name)) => name,
            _ => return Err("`for` not followed by a name".to_string()),
        };
        self.position += 1;
        if !self.peek_name("in") {
            return Err("`for` without `in`".to_string());
        }
        self.position += 1;
        let iterable = self.primary()?;
        if self.peek_name("if") || self.peek_name("for") {
            return Err("a generator with `if` or a second `for`".to_string());
        }
        Ok(Py::Generator(
            Box::new(element),
            variable,
            Box::new(iterable),
        ))
    }

    fn atom(&mut self) -> Result<Py, String> {
        let token = self.peek().cloned().ok_or("an expression ends too early")?;
        self.position += 1;
        match token {
            Token::Name(name) => Ok(match name.as_str() {
                "True" => Py::Bool(true),
                "False" => Py::Bool(false),
                "None" => Py::NoneValue,
                "and" | "or" | "not" | "is" | "in" | "for" | "if" | "else" | "lambda" => {
                    return Err(format!("unexpected `{name}`"));
                }
                _ => Py::Name(name),
            }),
            Token::Str(value) => Ok(Py::Str(value)),
            Token::Int(value) => Ok(Py::Int(value)),
            Token::Op("(") | Token::Op("[") => {
                let close = if token == Token::Op("(") { ")" } else { "]" };
                self.deeper()?;
                let mut items = Vec::new();
                let mut tuple = close == "]";
                while !self.peek_op(close) {
                    items.push(self.or()?);
                    if self.peek_op(",") {
                        self.position += 1;
                        tuple = true;
                    } else {
                        break;
                    }
                }
                self.expect_op(close)?;
                self.depth -= 1;
                if tuple || items.len() != 1 {
                    Ok(Py::Tuple(items))
                } else {
                    Ok(items.remove(0))
                }
            }
            other => Err(format!("unexpected {}", describe(&other))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Python conditions to CEL

/// Where a property is read: on the element, or on a flow's ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Element,
    Source,
    Sink,
}

/// A property a translated condition reads, with its definition.
#[derive(Debug, Clone)]
struct Read {
    role: Role,
    name: String,
    definition: PropertyDefinition,
}

/// One condition translated for one threat's target classes.
struct Translator<'a> {
    classes: &'a [&'static Class],
    reads: Vec<Read>,
}

// Precedences of CEL, loosest first.
const OR: u8 = 1;
const AND: u8 = 2;
const COMPARE: u8 = 3;
const UNARY: u8 = 4;
const ATOM: u8 = 5;

/// A typed CEL fragment.
struct Cel {
    text: String,
    precedence: u8,
    kind: AttrType,
}

impl Cel {
    fn wrapped(&self, minimum: u8) -> String {
        if self.precedence < minimum {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
}

impl Translator<'_> {
    fn boolean(&mut self, node: &Py) -> Result<Cel, String> {
        let cel = self.expression(node)?;
        if cel.kind != T::Bool {
            return Err(format!(
                "`{}` is not a bool (pytm would test its truth)",
                cel.text
            ));
        }
        Ok(cel)
    }

    fn expression(&mut self, node: &Py) -> Result<Cel, String> {
        match node {
            Py::Or(items) | Py::And(items) => {
                let (own, joiner) = if matches!(node, Py::Or(_)) {
                    (OR, " || ")
                } else {
                    (AND, " && ")
                };
                let parts = items
                    .iter()
                    .map(|item| Ok(self.boolean(item)?.wrapped(own + 1)))
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(Cel {
                    text: parts.join(joiner),
                    precedence: own,
                    kind: T::Bool,
                })
            }
            Py::Not(operand) => {
                let inner = self.boolean(operand)?;
                Ok(Cel {
                    text: format!("!{}", inner.wrapped(UNARY)),
                    precedence: UNARY,
                    kind: T::Bool,
                })
            }
            Py::Compare(left, op, right) => self.compare(left, *op, right),
            Py::Attr(..) => self.attribute(node),
            Py::Call(function, arguments) => self.call(function, arguments),
            Py::Bool(value) => Ok(Cel {
                text: value.to_string(),
                precedence: ATOM,
                kind: T::Bool,
            }),
            other => Err(format!("unsupported expression {}", python(other))),
        }
    }

    fn compare(&mut self, left: &Py, op: CompareOp, right: &Py) -> Result<Cel, String> {
        if matches!(op, CompareOp::Is | CompareOp::IsNot) {
            let Py::Bool(value) = right else {
                return Err("`is` with something other than True or False".to_string());
            };
            let operand = self.boolean(left)?;
            let positive = *value == (op == CompareOp::Is);
            return Ok(if positive {
                operand
            } else {
                Cel {
                    text: format!("!{}", operand.wrapped(UNARY)),
                    precedence: UNARY,
                    kind: T::Bool,
                }
            });
        }
        let symbol = match op {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::In | CompareOp::NotIn => {
                let Py::Tuple(items) = right else {
                    return Err("`in` something other than a tuple or list".to_string());
                };
                let value = self.expression(left)?;
                let items = items
                    .iter()
                    .map(|item| self.literal(item, value.kind))
                    .collect::<Result<Vec<_>, String>>()?;
                let test = format!("{} in [{}]", value.wrapped(ATOM), items.join(", "));
                return Ok(if op == CompareOp::In {
                    Cel {
                        text: test,
                        precedence: COMPARE,
                        kind: T::Bool,
                    }
                } else {
                    Cel {
                        text: format!("!({test})"),
                        precedence: UNARY,
                        kind: T::Bool,
                    }
                });
            }
            CompareOp::Is | CompareOp::IsNot => unreachable!("handled above"),
        };
        let (left, right) = match (self.is_literal(left), self.is_literal(right)) {
            (false, true) => {
                let left = self.expression(left)?;
                let right = self.literal(right, left.kind)?;
                (left.wrapped(COMPARE + 1), right)
            }
            (true, false) => {
                let right = self.expression(right)?;
                let left = self.literal(left, right.kind)?;
                (left, right.wrapped(COMPARE + 1))
            }
            (false, false) => {
                let left = self.expression(left)?;
                let right = self.expression(right)?;
                if ordered(left.kind) != ordered(right.kind) {
                    return Err(format!(
                        "`{}` and `{}` are of different types",
                        left.text, right.text
                    ));
                }
                (left.wrapped(COMPARE + 1), right.wrapped(COMPARE + 1))
            }
            (true, true) => return Err("a comparison of two constants".to_string()),
        };
        Ok(Cel {
            text: format!("{left} {symbol} {right}"),
            precedence: COMPARE,
            kind: T::Bool,
        })
    }

    fn is_literal(&self, node: &Py) -> bool {
        match node {
            Py::Str(_) | Py::Int(_) | Py::Bool(_) | Py::NoneValue => true,
            Py::Attr(object, _) => {
                matches!(&**object, Py::Name(name) if ENUMS.contains(&name.as_str()))
            }
            _ => false,
        }
    }

    /// A constant, typed like the value it is compared with.
    fn literal(&self, node: &Py, kind: AttrType) -> Result<String, String> {
        match (node, kind) {
            (Py::Str(value), T::Str) => Ok(quote(value)),
            (Py::Int(value), T::Int) => Ok(value.to_string()),
            (Py::Bool(value), T::Bool) => Ok(value.to_string()),
            (Py::Attr(object, member), _) => {
                let Py::Name(enumeration) = &**object else {
                    return Err("an unknown constant".to_string());
                };
                let (members, wanted): (&[&str], AttrType) = match enumeration.as_str() {
                    "TLSVersion" => (&TLS_VERSIONS, T::Tls),
                    "Classification" => (&CLASSIFICATIONS, T::Classification),
                    "DatastoreType" => (&DATASTORE_TYPES, T::DatastoreType),
                    other => return Err(format!("`{other}.{member}` outside a per-datum test")),
                };
                let index = members
                    .iter()
                    .position(|known| known == member)
                    .ok_or_else(|| format!("`{enumeration}` has no member `{member}`"))?;
                if kind != wanted {
                    return Err(format!(
                        "`{enumeration}.{member}` compared with another type"
                    ));
                }
                Ok(if kind == T::DatastoreType {
                    quote(&enum_value(member))
                } else {
                    index.to_string()
                })
            }
            (other, _) => Err(format!(
                "the constant {} compared with a value of another type",
                python(other)
            )),
        }
    }

    /// `target.X`, `target.controls.X`, `target.source.X`, `target.sink.controls.X`.
    fn attribute(&mut self, node: &Py) -> Result<Cel, String> {
        let path = target_path(node)?;
        let (role, rest) = match path.first().map(String::as_str) {
            Some("source") => (Role::Source, &path[1..]),
            Some("sink") => (Role::Sink, &path[1..]),
            _ => (Role::Element, &path[..]),
        };
        let variable = match role {
            Role::Element => "self",
            Role::Source => "source",
            Role::Sink => "target",
        };
        if role != Role::Element && !self.classes.iter().all(|class| class.name == "Dataflow") {
            return Err(format!(
                "`target.{}` on a threat that does not target only Dataflow",
                path.join(".")
            ));
        }
        let (name, kind, default, described) = match rest {
            [controls, control] if controls == "controls" => {
                let kind = control_type(control)
                    .ok_or_else(|| format!("pytm's Controls has no `{control}`"))?;
                let default = if kind == T::Bool {
                    D::Bool(false)
                } else {
                    D::Str("")
                };
                (
                    control_property(control),
                    kind,
                    default,
                    format!("controls.{control}"),
                )
            }
            [attribute] => {
                // On the element: every target class must have it; on an end: every
                // component class (a flow may connect any two).
                let holders: Vec<&Class> = match role {
                    Role::Element => self.classes.to_vec(),
                    _ => CLASSES
                        .iter()
                        .filter(|class| !matches!(class.name, "Dataflow" | "Boundary"))
                        .collect(),
                };
                let mut found: Option<(AttrType, AttrDefault)> = None;
                for holder in &holders {
                    let spec = self::attribute(holder, attribute).ok_or_else(|| {
                        format!(
                            "pytm class `{}` has no attribute `{attribute}`",
                            holder.name
                        )
                    })?;
                    match found {
                        Some((kind, _)) if kind != spec.0 => {
                            return Err(format!(
                                "`{attribute}` has different types on the target classes"
                            ));
                        }
                        Some(_) => {}
                        None => found = Some(spec),
                    }
                }
                let (kind, default) = found.ok_or("a threat without target classes")?;
                (snake(attribute), kind, default, attribute.clone())
            }
            _ => {
                return Err(format!(
                    "`target.{}` is not an attribute pytm's conditions read",
                    path.join(".")
                ));
            }
        };
        self.read(role, &name, kind, default, &described);
        Ok(Cel {
            text: format!("{variable}.{name}"),
            precedence: ATOM,
            kind,
        })
    }

    fn read(&mut self, role: Role, name: &str, kind: AttrType, default: AttrDefault, pytm: &str) {
        let (property_type, min, max, values) = property_type(kind);
        let definition = PropertyDefinition {
            property_type,
            default: property_default(kind, default),
            description: describe_attribute(pytm, kind),
            question: question(pytm, kind),
            rationale: format!("pytm's threats read `{pytm}`."),
            values,
            min,
            max,
        };
        self.reads.push(Read {
            role,
            name: name.to_string(),
            definition,
        });
    }

    fn derived(&mut self, name: &str, definition: PropertyDefinition) -> String {
        self.reads.push(Read {
            role: Role::Element,
            name: name.to_string(),
            definition,
        });
        format!("self.{name}")
    }

    fn call(&mut self, function: &Py, arguments: &[Py]) -> Result<Cel, String> {
        if matches!(function, Py::Name(name) if name == "any") {
            return self.any_data(arguments);
        }
        let path = target_path(function).map_err(|_| format!("the call {}", python(function)))?;
        match path.as_slice() {
            [method] if method == "hasDataLeaks" && arguments.is_empty() => {
                if !self.classes.iter().all(|class| class.name == "Dataflow") {
                    return Err(
                        "hasDataLeaks() on a threat that does not target only Dataflow".to_string(),
                    );
                }
                // any(d.classification > source/sink/self.maxClassification for d in data):
                // the highest classification of the flow's data above one of the three.
                let highest = self.derived(MAX_CLASSIFICATION, max_classification_definition());
                let mut bounds = Vec::new();
                for (role, variable) in [
                    (Role::Source, "source"),
                    (Role::Sink, "target"),
                    (Role::Element, "self"),
                ] {
                    self.read(
                        role,
                        "max_classification",
                        T::Classification,
                        D::Int(0),
                        "maxClassification",
                    );
                    bounds.push(format!("{highest} > {variable}.max_classification"));
                }
                Ok(Cel {
                    text: bounds.join(" || "),
                    precedence: OR,
                    kind: T::Bool,
                })
            }
            [method] if method == "checkTLSVersion" => {
                let [argument] = arguments else {
                    return Err("checkTLSVersion with other than one argument".to_string());
                };
                if target_path(argument).ok().as_deref() != Some(&["inputs".to_string()][..]) {
                    return Err("checkTLSVersion of something other than target.inputs".to_string());
                }
                let weakest = self.derived(WEAKEST_INPUT_TLS, weakest_tls_definition());
                self.read(
                    Role::Element,
                    "min_tls_version",
                    T::Tls,
                    D::Int(0),
                    "minTLSVersion",
                );
                Ok(Cel {
                    text: format!("{weakest} < self.min_tls_version"),
                    precedence: COMPARE,
                    kind: T::Bool,
                })
            }
            _ => Err(format!("the call {}", python(function))),
        }
    }

    /// `any(P(d) for d in target.data)`: one derived bool per disjunct of P.
    fn any_data(&mut self, arguments: &[Py]) -> Result<Cel, String> {
        let [Py::Generator(element, variable, iterable)] = arguments else {
            return Err("any() of something other than a generator".to_string());
        };
        if target_path(iterable).ok().as_deref() != Some(&["data".to_string()][..]) {
            return Err("any() over something other than target.data".to_string());
        }
        let mut tests = Vec::new();
        for disjunct in disjuncts(element)? {
            let name = data_property(&disjunct, variable)?;
            let definition = carries_definition(&name, &python(&disjunct));
            tests.push(self.derived(&name, definition));
        }
        tests.dedup();
        Ok(Cel {
            precedence: if tests.len() > 1 { OR } else { ATOM },
            text: tests.join(" || "),
            kind: T::Bool,
        })
    }
}

fn ordered(kind: AttrType) -> AttrType {
    match kind {
        T::Tls | T::Classification => T::Int,
        other => other,
    }
}

const ENUMS: [&str; 4] = ["TLSVersion", "Classification", "DatastoreType", "Lifetime"];

/// `target.a.b` as `["a", "b"]`.
fn target_path(node: &Py) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = node;
    while let Py::Attr(object, name) = current {
        parts.push(name.clone());
        current = object;
    }
    if !matches!(current, Py::Name(name) if name == "target") || parts.is_empty() {
        return Err(format!("{} is not an attribute of `target`", python(node)));
    }
    parts.reverse();
    Ok(parts)
}

/// A per-datum predicate split at its `or`s and `in (...)`s.
fn disjuncts(node: &Py) -> Result<Vec<Py>, String> {
    match node {
        Py::Or(items) => Ok(items
            .iter()
            .map(disjuncts)
            .collect::<Result<Vec<_>, String>>()?
            .into_iter()
            .flatten()
            .collect()),
        Py::Compare(left, CompareOp::In, right) => match &**right {
            Py::Tuple(items) => Ok(items
                .iter()
                .map(|item| Py::Compare(left.clone(), CompareOp::Eq, Box::new(item.clone())))
                .collect()),
            _ => Err("`in` something other than a tuple".to_string()),
        },
        other => Ok(vec![other.clone()]),
    }
}

/// The derived property of a per-datum test: `carries_pii` (`d.isPII`), `carries_stored_and_
/// dest_encrypted_at_rest` (`d.isStored and d.isDestEncryptedAtRest`), `carries_format_json`
/// (`d.format == 'JSON'`), `carries_credentials_life_long` (`d.credentialsLife ==
/// Lifetime.LONG`). The model reader computes the same names from each element's data.
fn data_property(node: &Py, variable: &str) -> Result<String, String> {
    let flag = |node: &Py| -> Option<usize> {
        let node = match node {
            Py::Compare(left, CompareOp::Is, right) if **right == Py::Bool(true) => &**left,
            Py::Compare(left, CompareOp::Eq, right) if **right == Py::Bool(true) => &**left,
            other => other,
        };
        match node {
            Py::Attr(object, name) if matches!(&**object, Py::Name(n) if n == variable) => {
                DATA_FLAGS.iter().position(|(flag, _)| flag == name)
            }
            _ => None,
        }
    };
    if let Some(index) = flag(node) {
        return Ok(format!("carries_{}", DATA_FLAGS[index].1));
    }
    if let Py::And(items) = node {
        let mut indexes = items
            .iter()
            .map(|item| flag(item).ok_or(()))
            .collect::<Result<Vec<_>, ()>>()
            .map_err(|_| format!("the per-datum test {}", python(node)))?;
        indexes.sort_unstable();
        indexes.dedup();
        if indexes.len() == 2 {
            return Ok(format!(
                "carries_{}_and_{}",
                DATA_FLAGS[indexes[0]].1, DATA_FLAGS[indexes[1]].1
            ));
        }
    }
    if let Py::Compare(left, CompareOp::Eq, right) = node
        && let Py::Attr(object, name) = &**left
        && matches!(&**object, Py::Name(n) if n == variable)
    {
        match (name.as_str(), &**right) {
            ("format", Py::Str(format)) => {
                let slug = format_slug(format);
                if !slug.is_empty() {
                    return Ok(format!("carries_format_{slug}"));
                }
            }
            ("credentialsLife", Py::Attr(enumeration, member))
                if matches!(&**enumeration, Py::Name(n) if n == "Lifetime")
                    && LIFETIMES.contains(&member.as_str()) =>
            {
                return Ok(format!(
                    "carries_credentials_life_{}",
                    member.to_ascii_lowercase()
                ));
            }
            _ => {}
        }
    }
    Err(format!("the per-datum test {}", python(node)))
}

fn max_classification_definition() -> PropertyDefinition {
    PropertyDefinition {
        property_type: PropertyType::Int,
        default: Json::from(0),
        description: "The highest pytm classification of the data the flow carries (0 UNKNOWN, 1 PUBLIC, 2 RESTRICTED, 3 SENSITIVE, 4 SECRET, 5 TOP_SECRET); 0 without data. The pytm model reader computes it.".to_string(),
        question: "What is the most sensitive data it carries?".to_string(),
        rationale: "pytm's `hasDataLeaks()`: data more sensitive than the flow or one of its ends may handle.".to_string(),
        values: Vec::new(),
        min: Some(0),
        max: Some(5),
    }
}

fn weakest_tls_definition() -> PropertyDefinition {
    PropertyDefinition {
        property_type: PropertyType::Int,
        default: Json::from(7),
        description: "The lowest TLS version (0 NONE to 7 TLSv13) of the flows into it that are not responses (pytm `inputs`); 7 when there are none. The pytm model reader computes it.".to_string(),
        question: "What is the oldest TLS version its clients connect with?".to_string(),
        rationale: "pytm's `checkTLSVersion(target.inputs)`: an input below its minimum TLS version.".to_string(),
        values: Vec::new(),
        min: Some(0),
        max: Some(7),
    }
}

fn carries_definition(name: &str, predicate: &str) -> PropertyDefinition {
    PropertyDefinition {
        property_type: PropertyType::Bool,
        default: Json::Bool(false),
        description: format!(
            "Some datum it carries satisfies pytm's `{predicate}` (its `data`; a flow also carries its source's). The pytm model reader computes it."
        ),
        question: format!("Does some data it carries satisfy `{predicate}`?"),
        rationale: format!(
            "pytm's threats test `any({predicate} for d in target.data)` (`{name}`)."
        ),
        values: Vec::new(),
        min: None,
        max: None,
    }
}

fn describe_attribute(pytm: &str, kind: AttrType) -> String {
    match kind {
        T::Tls => format!(
            "pytm `{pytm}`, a TLSVersion as its rank: 0 NONE, 1 SSLv1, 2 SSLv2, 3 SSLv3, 4 TLSv10, 5 TLSv11, 6 TLSv12, 7 TLSv13."
        ),
        T::Classification => format!(
            "pytm `{pytm}`, a Classification as its rank: 0 UNKNOWN, 1 PUBLIC, 2 RESTRICTED, 3 SENSITIVE, 4 SECRET, 5 TOP_SECRET."
        ),
        T::Str => {
            format!("pytm `{pytm}` (free text in pytm; conditions compare it with fixed strings).")
        }
        T::DatastoreType => format!("pytm `{pytm}`, a DatastoreType."),
        T::Bool | T::Int => format!("pytm `{pytm}`."),
    }
}

/// A question made of a pytm attribute's name: `usesVPN` -> "Does it use VPN?".
fn question(pytm: &str, kind: AttrType) -> String {
    let attribute = pytm.rsplit('.').next().unwrap_or(pytm);
    let words: Vec<String> = snake(attribute).split('_').map(str::to_string).collect();
    let phrase = |from: usize| words[from.min(words.len())..].join(" ");
    if kind != T::Bool {
        return format!("What is its {} (pytm `{pytm}`)?", phrase(0));
    }
    let verb = words.first().map(String::as_str).unwrap_or_default();
    let base = match verb {
        "is" => return format!("Is it {} (pytm `{pytm}`)?", phrase(1)),
        "has" => return format!("Does it have {} (pytm `{pytm}`)?", phrase(1)),
        "in" | "on" | "stores" if words.len() > 1 => {
            return format!("Is pytm's `{pytm}` true for it?");
        }
        "processes" => "process".to_string(),
        "uses" => "use".to_string(),
        verb if verb.ends_with('s') && !verb.ends_with("ss") => verb[..verb.len() - 1].to_string(),
        verb => verb.to_string(),
    };
    format!("Does it {base} {} (pytm `{pytm}`)?", phrase(1))
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A node as Python text, for messages.
pub(crate) fn python(node: &Py) -> String {
    match node {
        Py::Name(name) => name.clone(),
        Py::Attr(object, name) => format!("{}.{name}", python(object)),
        Py::Call(function, arguments) => format!(
            "{}({})",
            python(function),
            arguments.iter().map(python).collect::<Vec<_>>().join(", ")
        ),
        Py::Generator(element, variable, iterable) => {
            format!("{} for {variable} in {}", python(element), python(iterable))
        }
        Py::Str(value) => format!("'{value}'"),
        Py::Int(value) => value.to_string(),
        Py::Bool(value) => if *value { "True" } else { "False" }.to_string(),
        Py::NoneValue => "None".to_string(),
        Py::Tuple(items) => format!(
            "({})",
            items.iter().map(python).collect::<Vec<_>>().join(", ")
        ),
        Py::Not(operand) => format!("not {}", python(operand)),
        Py::And(items) => items.iter().map(python).collect::<Vec<_>>().join(" and "),
        Py::Or(items) => items.iter().map(python).collect::<Vec<_>>().join(" or "),
        Py::Compare(left, op, right) => {
            let symbol = match op {
                CompareOp::Eq => "==",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Is => "is",
                CompareOp::IsNot => "is not",
                CompareOp::In => "in",
                CompareOp::NotIn => "not in",
            };
            format!("{} {symbol} {}", python(left), python(right))
        }
    }
}

/// A pytm condition as CEL, for a threat on `classes`, with the properties it reads.
fn translate(condition: &str, classes: &[&'static Class]) -> Result<(String, Vec<Read>), String> {
    let tree = parse_condition(condition)?;
    let mut translator = Translator {
        classes,
        reads: Vec::new(),
    };
    let cel = translator.boolean(&tree)?;
    Ok((cel.text, translator.reads))
}

// ---------------------------------------------------------------------------------------------
// The library

/// One threat of pytm's `threats.json`.
#[derive(Debug, serde::Deserialize)]
struct Threat {
    #[serde(rename = "SID")]
    sid: String,
    #[serde(default)]
    target: Targets,
    #[serde(default)]
    description: String,
    #[serde(default)]
    details: String,
    #[serde(rename = "Likelihood Of Attack", default)]
    likelihood: Option<String>,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    prerequisites: String,
    #[serde(default)]
    mitigations: String,
    #[serde(default)]
    example: String,
    #[serde(default)]
    references: String,
    #[serde(rename = "DEPRECATED", default)]
    deprecated: Option<Json>,
}

/// `target`: one class name or a list of them.
#[derive(Debug, serde::Deserialize, Default)]
#[serde(untagged)]
enum Targets {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct EntityOut {
    id: String,
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<ElementKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: BTreeMap<String, PropertyDefinition>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct AttackPatternOut {
    id: String,
    name: String,
    description: String,
    categories: Vec<String>,
    applies_to: Vec<String>,
    condition: String,
    severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    likelihood: Option<Rating>,
    #[serde(skip_serializing_if = "is_empty_references")]
    references: References,
}

fn is_empty_references(references: &References) -> bool {
    *references == References::default()
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct MitigationOut {
    id: String,
    name: String,
    description: String,
    control: crate::model::Control,
    cost: crate::model::Cost,
    implementation: String,
    verification: String,
    addresses: Vec<LinkOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct LinkOut {
    attack_pattern: String,
    strength: crate::model::Strength,
}

/// Imports pytm's `threats.json` (or a library in its format).
pub(crate) fn import(
    input: &[u8],
    mapping: &Mapping,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let threats: Vec<Json> = serde_json::from_slice(input).map_err(|error| {
        ImportError::Malformed(format!(
            "not a pytm threat library (a JSON array of threats, as pytm/threatlib/threats.json): {error}"
        ))
    })?;
    let mut notes = Notes::default();
    let mut defaults = Notes::default();
    let mut properties: BTreeMap<&'static str, BTreeMap<String, PropertyDefinition>> =
        BTreeMap::new();
    let mut patterns = Vec::new();
    let mut mitigations = Vec::new();
    let mut seen = BTreeSet::new();
    for (position, value) in threats.into_iter().enumerate() {
        let item = value
            .get("SID")
            .and_then(Json::as_str)
            .map_or_else(|| format!("threat {}", position + 1), str::to_string);
        let threat: Threat = match serde_json::from_value(value) {
            Ok(threat) => threat,
            Err(error) => {
                notes.add(format!("not a pytm threat ({error}): left out"), item);
                continue;
            }
        };
        if threat.deprecated.is_some() {
            notes.add("marked DEPRECATED (pytm skips it too): left out", item);
            continue;
        }
        let id = super::slug(&threat.sid, "pytm-");
        if !seen.insert(id.clone()) {
            notes.add("a second threat with the same SID: left out", item);
            continue;
        }
        let names = match &threat.target {
            Targets::One(name) => vec![name.clone()],
            Targets::Many(names) => names.clone(),
            Targets::None => Vec::new(),
        };
        let mut classes: Vec<&'static Class> = Vec::new();
        let mut unknown = Vec::new();
        for name in &names {
            match targeted(name) {
                Some(found) => {
                    for class in found {
                        if !classes.iter().any(|known| known.name == class.name) {
                            classes.push(class);
                        }
                    }
                }
                None => unknown.push(name.clone()),
            }
        }
        if !unknown.is_empty() || classes.is_empty() {
            notes.add(
                format!(
                    "targets no pytm class this importer knows ({}): left out",
                    if unknown.is_empty() {
                        "none".to_string()
                    } else {
                        unknown.join(", ")
                    }
                ),
                item,
            );
            continue;
        }
        let (condition, reads) = match translate(&threat.condition, &classes) {
            Ok(translated) => translated,
            Err(reason) => {
                notes.add(
                    format!("condition not translated: {reason}: left out"),
                    format!("{item}: {}", threat.condition.trim()),
                );
                continue;
            }
        };
        let mut conflict = None;
        for read in &reads {
            let holders: Vec<&'static str> = match read.role {
                Role::Element => classes.iter().map(|class| class.entity).collect(),
                _ => CLASSES
                    .iter()
                    .filter(|class| !matches!(class.name, "Dataflow" | "Boundary"))
                    .map(|class| class.entity)
                    .collect(),
            };
            for entity in holders {
                let declared = properties.entry(entity).or_default();
                match declared.get(&read.name) {
                    Some(existing) if existing.property_type != read.definition.property_type => {
                        conflict = Some(read.name.clone());
                    }
                    Some(_) => {}
                    None => {
                        declared.insert(read.name.clone(), read.definition.clone());
                    }
                }
            }
        }
        if let Some(name) = conflict {
            notes.add(
                format!("property `{name}` would have two types: left out"),
                item,
            );
            continue;
        }
        let family = key(threat.sid.trim_end_matches(|c: char| c.is_ascii_digit()));
        let categories = match mapping.pytm.families.get(&family) {
            Some(categories) => categories.iter().cloned().collect(),
            None => BTreeSet::new(),
        };
        let categories = super::finish_categories(
            categories,
            &mapping.pytm.fallback.categories,
            &item,
            &mut defaults,
            "a SID family the mapping does not list",
        );
        let severity = match mapping.pytm.severities.get(&key(&threat.severity)) {
            Some(severity) => *severity,
            None => {
                defaults.add(
                    format!(
                        "a severity the mapping does not list: {} from the mapping",
                        severity_word(mapping.severity)
                    ),
                    item.clone(),
                );
                mapping.severity
            }
        };
        let likelihood = match threat.likelihood.as_deref().map(key).as_deref() {
            Some("very-low") => Some(Rating::VeryLow),
            Some("low") => Some(Rating::Low),
            Some("medium") => Some(Rating::Medium),
            Some("high") => Some(Rating::High),
            Some("very-high") => Some(Rating::VeryHigh),
            Some("") | None => None,
            Some(_) => {
                notes.add(
                    "a likelihood of attack that is not a rating: left out",
                    item.clone(),
                );
                None
            }
        };
        let mut description = text(&threat.details, &item, &mut notes);
        if description.is_empty() {
            description = threat.description.trim().to_string();
        }
        for (title, part) in [
            ("Prerequisites", &threat.prerequisites),
            ("Example", &threat.example),
        ] {
            let part = text(part, &item, &mut notes);
            if !part.is_empty() {
                description.push_str(&format!("\n\n**{title}.** {part}"));
            }
        }
        description.push_str(&format!(
            "\n\npytm {}, condition: `{}`",
            threat.sid,
            threat.condition.trim()
        ));
        let name = match threat.description.trim() {
            "" => threat.sid.clone(),
            name => name.chars().take(200).collect(),
        };
        patterns.push(AttackPatternOut {
            id: id.clone(),
            name: name.clone(),
            description,
            categories,
            applies_to: classes
                .iter()
                .map(|class| class.entity.to_string())
                .collect(),
            condition,
            severity,
            likelihood,
            references: references(&threat.references, &item, &mut notes),
        });
        let implementation = text(&threat.mitigations, &item, &mut notes);
        if implementation.is_empty() {
            defaults.add(
                "pytm names no mitigation: the mitigation says so",
                item.clone(),
            );
        }
        mitigations.push(MitigationOut {
            id: format!("mitigate-{id}"),
            name: format!("Mitigations for: {name}"),
            description: format!("The mitigations pytm gives for threat {}.", threat.sid),
            control: mapping.control,
            cost: mapping.cost,
            implementation: if implementation.is_empty() {
                "pytm names no mitigation for this threat.".to_string()
            } else {
                implementation
            },
            verification: "Check that the measures described in the implementation are in place on the element of the finding.".to_string(),
            addresses: vec![LinkOut {
                attack_pattern: id,
                strength: mapping.strength,
            }],
        });
    }
    // A child inherits its parent's properties: a redeclaration that changes nothing goes.
    for class in &CLASSES {
        if let Some(parent) = class.parent_entity {
            let inherited = properties.get(parent).cloned().unwrap_or_default();
            if let Some(own) = properties.get_mut(class.entity) {
                own.retain(|name, definition| inherited.get(name) != Some(definition));
            }
        }
    }
    let entities: Vec<EntityOut> = CLASSES
        .iter()
        .map(|class| EntityOut {
            id: class.entity.to_string(),
            name: class.name.to_string(),
            description: format!(
                "An element of pytm class `{}` (a {}{}).",
                class.name,
                kind_words(class.kind),
                class
                    .parent_entity
                    .map_or(String::new(), |parent| format!(", refining `{parent}`"))
            ),
            kind: class.parent_entity.is_none().then_some(class.kind),
            parent: class.parent_entity.map(str::to_string),
            properties: properties.remove(class.entity).unwrap_or_default(),
        })
        .collect();
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| "owasp/pytm".to_string());
    if options.name.is_some() {
        crate::names::check_pack_name(&name)
            .map_err(|error| ImportError::Invalid(format!("--name `{name}`: {error}")))?;
    }
    let version = options
        .version
        .clone()
        .unwrap_or_else(|| "1.4.0".to_string());
    crate::names::parse_version(&version)
        .map_err(|error| ImportError::Invalid(format!("--version `{version}`: {error}")))?;
    if patterns.is_empty() {
        return Err(ImportError::Invalid(
            "no threat of the library could be imported (see the reasons above)".to_string(),
        ));
    }
    let sha = crate::digest::sha256_hex(input);
    let mut files = BTreeMap::new();
    files.insert("pack.toml".to_string(), manifest(&name, &version)?);
    files.insert(
        "entities/pytm.toml".to_string(),
        to_toml("entity", &entities)?,
    );
    for (number, chunk) in patterns.chunks(ATTACK_PATTERNS_PER_FILE).enumerate() {
        files.insert(
            format!("attack-patterns/{:03}.toml", number + 1),
            to_toml("attack-pattern", chunk)?,
        );
    }
    for (number, chunk) in mitigations.chunks(ATTACK_PATTERNS_PER_FILE).enumerate() {
        files.insert(
            format!("mitigations/{:03}.toml", number + 1),
            to_toml("mitigation", chunk)?,
        );
    }
    files.insert("LICENSE".to_string(), PYTM_LICENSE.to_string());
    files.insert("NOTICE".to_string(), notice(&name, &version, &sha));
    let report = ImportReport {
        format: "pytm".to_string(),
        source: "pytm threat library (threats.json)".to_string(),
        input_sha256: sha,
        pack: name,
        version,
        entities: entities.len(),
        attack_patterns: patterns.len(),
        mitigations: mitigations.len(),
        links: mitigations.len(),
        filters: None,
        not_translated: notes.into_entries(),
        defaults: defaults.into_entries(),
    };
    Ok(Imported { files, report })
}

fn kind_words(kind: ElementKind) -> &'static str {
    match kind {
        ElementKind::Process => "process",
        ElementKind::DataStore => "data store",
        ElementKind::ExternalInteractor => "external interactor",
        ElementKind::DataFlow => "data flow",
        ElementKind::TrustBoundary => "trust boundary",
    }
}

fn severity_word(severity: Severity) -> &'static str {
    severity.as_str()
}

/// CAPEC and CWE ids of pytm's comma-separated references; other links as URLs.
fn references(text: &str, item: &str, notes: &mut Notes) -> References {
    let mut references = References::default();
    for reference in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let number = |prefix: &str| {
            reference
                .strip_prefix("https://")
                .or_else(|| reference.strip_prefix("http://"))
                .and_then(|rest| rest.strip_prefix(prefix))
                .and_then(|rest| rest.strip_suffix(".html"))
                .and_then(|digits| digits.parse::<u32>().ok())
        };
        if let Some(id) = number("capec.mitre.org/data/definitions/") {
            if !references.capec.contains(&id) {
                references.capec.push(id);
            }
        } else if let Some(id) = number("cwe.mitre.org/data/definitions/") {
            if !references.cwe.contains(&id) {
                references.cwe.push(id);
            }
        } else if reference.starts_with("CVE-") {
            let url = format!("https://www.cve.org/CVERecord?id={reference}");
            if !references.url.contains(&url) {
                references.url.push(url);
            }
        } else if (reference.starts_with("https://") || reference.starts_with("http://"))
            && !reference.contains(char::is_whitespace)
        {
            if !references.url.iter().any(|url| url == reference) {
                references.url.push(reference.to_string());
            }
        } else {
            notes.add(
                "a reference that is neither a link nor a CVE id: left out",
                format!("{item}: {reference}"),
            );
        }
    }
    references
}

fn manifest(name: &str, version: &str) -> Result<String, ImportError> {
    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Manifest<'a> {
        format: u32,
        name: &'a str,
        version: &'a str,
        description: &'a str,
        license: &'a str,
        authors: [&'a str; 1],
        homepage: &'a str,
        tags: [&'a str; 2],
        tiers: [&'a str; 1],
    }
    #[derive(Serialize)]
    struct File<'a> {
        pack: Manifest<'a>,
    }
    let text = toml::to_string(&File {
        pack: Manifest {
            format: 1,
            name,
            version,
            description: "OWASP pytm's threat library, imported by `threatpack import pytm`: pytm's element classes as entities, its threats as attack patterns with their conditions in CEL.",
            license: "MIT",
            authors: ["OWASP pytm contributors"],
            homepage: "https://github.com/OWASP/pytm",
            tags: ["pytm", "owasp"],
            tiers: ["full"],
        },
    })
    .map_err(|error| ImportError::Invalid(format!("cannot write pack.toml: {error}")))?;
    Ok(format!("{HEADER}{text}"))
}

fn notice(name: &str, version: &str, sha: &str) -> String {
    format!(
        "{name} {version}\n\n\
         This pack is an OWASP pytm threat library (https://github.com/OWASP/pytm), imported by\n\
         `threatpack import pytm` from a threats.json of sha256 {sha}.\n\
         pytm's own library is Copyright (c) 2018 Main Project Contributors, under the MIT licence\n\
         in LICENSE.\n\n\
         threatpack changed the form, not the content: pytm's conditions (Python) became CEL,\n\
         its classes entities and the attributes the conditions read properties; the STRIDE\n\
         categories (by SID family) and severities came from the import mapping (docs/interop.md).\n"
    )
}

const HEADER: &str =
    "# Generated by `threatpack import pytm`: regenerate rather than edit (docs/interop.md).\n";

fn to_toml<T: Serialize>(table: &str, items: &[T]) -> Result<String, ImportError> {
    let mut wrapper = BTreeMap::new();
    wrapper.insert(table, items);
    let text = toml::to_string(&wrapper)
        .map_err(|error| ImportError::Invalid(format!("cannot write the pack: {error}")))?;
    Ok(format!("{HEADER}{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cel(condition: &str, classes: &[&str]) -> Result<String, String> {
        let classes: Vec<&'static Class> = classes.iter().filter_map(|name| class(name)).collect();
        translate(condition, &classes).map(|(cel, _)| cel)
    }

    #[test]
    fn names_follow_pytm_camel_case() {
        assert_eq!(snake("usesVPN"), "uses_vpn");
        assert_eq!(snake("implementsCSRFToken"), "implements_csrf_token");
        assert_eq!(snake("minTLSVersion"), "min_tls_version");
        assert_eq!(snake("hasRAG"), "has_rag");
        assert_eq!(snake("isPII"), "is_pii");
        assert_eq!(control_property("usesVPN"), "controls_uses_vpn");
        assert_eq!(control_property("sanitizesInput"), "sanitizes_input");
    }

    #[test]
    fn conditions_become_cel() {
        assert_eq!(
            cel("target.usesEnvironmentVariables is True and target.controls.sanitizesInput is False", &["Process"]).expect("translated"),
            "self.uses_environment_variables && !self.sanitizes_input"
        );
        assert_eq!(
            cel("(target.protocol == 'HTTP' or target.usesVPN is False) and target.usesSessionTokens is True", &["Dataflow", "Server"]).expect("translated"),
            "(self.protocol == \"HTTP\" || !self.uses_vpn) && self.uses_session_tokens"
        );
        assert_eq!(
            cel(
                "not target.controls.isEncrypted or target.tlsVersion < target.sink.minTLSVersion",
                &["Dataflow"]
            )
            .expect("translated"),
            "!self.is_encrypted || self.tls_version < target.min_tls_version"
        );
        assert_eq!(
            cel(
                "any(d.credentialsLife in (Lifetime.UNKNOWN, Lifetime.LONG) for d in target.data)",
                &["Dataflow"]
            )
            .expect("translated"),
            "self.carries_credentials_life_unknown || self.carries_credentials_life_long"
        );
        assert_eq!(
            cel(
                "any(d.isStored and d.isDestEncryptedAtRest for d in target.data)",
                &["Dataflow"]
            )
            .expect("translated"),
            "self.carries_stored_and_dest_encrypted_at_rest"
        );
    }

    #[test]
    fn what_cannot_be_translated_says_why() {
        let error = cel("target.nothing is True", &["Server"]).expect_err("refused");
        assert!(error.contains("no attribute `nothing`"), "{error}");
        let error = cel("len(target.inputs) > 2", &["Server"]).expect_err("refused");
        assert!(error.contains("call"), "{error}");
        let error = cel("target.protocol", &["Server"]).expect_err("refused");
        assert!(error.contains("not a bool"), "{error}");
        assert!(parse_condition("a < b < c").is_err());
        assert!(parse_condition(&"(".repeat(200)).is_err());
    }
}
