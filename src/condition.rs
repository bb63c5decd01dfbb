//! Conditions: CEL expressions that say where an attack pattern (or a link) applies.
//!
//! `check_condition` parses a condition and checks it against the properties the element can
//! have and the system properties (`system.x`; a tier rule reads nothing else): every property
//! read exists, enum properties are compared with their declared values, operand types agree
//! and the result is a bool. This is the check pytm never makes: a typo in a
//! condition there silently never matches.
//!
//! Parsing uses the `cel` crate's Pratt parser, which is fast but keeps no positions; when a
//! condition has a problem it is parsed again with the crate's ANTLR parser, which records the
//! offset of every node, so the diagnostic can underline the exact sub-expression.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use cel::IdedExpr;
use cel::common::ast::{ComprehensionExpr, Expr, LiteralValue};
use serde_json::Value as Json;

use crate::diagnostic::Code;
use crate::model::{PropertyDefinition, PropertyType};

pub use crate::engine::program::{MAX_CONDITION_BYTES, MAX_CONDITION_DEPTH};

/// How deep the ANTLR parser, used only to locate problems, may go: it needs far more stack
/// per level than the Pratt parser. Deeper conditions get their problems reported unlocated.
const MAX_LOCATING_DEPTH: u16 = 40;

pub use crate::index::{PropertyInfo, PropertySet};

/// What a condition may read.
#[derive(Debug)]
pub struct ConditionScope<'s, 'a> {
    /// The properties of `self`: one set per entity the condition applies to, with its name.
    /// Empty for a condition about no element (a tier rule): `self` does not exist there.
    pub subjects: Vec<(&'s str, &'s PropertySet<'a>)>,
    /// For conditions on data flows: every property some component kind declares, which
    /// `source.x` and `target.x` may read.
    pub endpoints: Option<&'s BTreeMap<&'a str, Vec<PropertyInfo<'a>>>>,
    /// The system properties, which `system.x` may read in every condition.
    pub system: &'s PropertySet<'a>,
}

impl<'s, 'a> ConditionScope<'s, 'a> {
    /// The scope of a tier rule: the system's properties and nothing else.
    #[cfg(test)]
    pub fn system_only(system: &'s PropertySet<'a>) -> Self {
        ConditionScope {
            subjects: Vec::new(),
            endpoints: None,
            system,
        }
    }

    /// Whether the condition is about an element (`self` exists).
    fn has_element(&self) -> bool {
        !self.subjects.is_empty()
    }
}

/// A problem in a condition, positioned inside the condition's text when possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionProblem {
    pub code: Code,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    /// Byte range inside the condition text; `None` means the whole condition.
    pub span: Option<Range<usize>>,
}

/// The outcome of checking one condition.
#[derive(Debug, Default)]
pub struct ConditionReport {
    pub problems: Vec<ConditionProblem>,
    /// The declaring entities and names of the properties the condition reads.
    pub reads: BTreeSet<(usize, String)>,
    /// `Some(value)` when the condition was proven to always evaluate to `value`.
    pub constant: Option<bool>,
}

/// Parses and checks a condition.
pub fn check_condition(text: &str, scope: &ConditionScope<'_, '_>) -> ConditionReport {
    if text.len() > MAX_CONDITION_BYTES {
        return limit_problem(format!(
            "this condition is {} bytes long; conditions may be at most {MAX_CONDITION_BYTES}",
            text.len()
        ));
    }
    let expression = match cel::parser::PrattParser::new().parse(text) {
        Ok(expression) => expression,
        Err(errors) => return syntax_problems(text, &errors),
    };
    let depth = tree_depth(&expression);
    if depth > MAX_CONDITION_DEPTH {
        return limit_problem(format!(
            "this condition nests {depth} levels deep; conditions may nest at most {MAX_CONDITION_DEPTH}"
        ));
    }
    let mut checker = Checker::new(scope, &expression);
    let result = checker.check(&expression);
    checker.require_bool(&result);
    if checker.problems.is_empty() {
        let constant = constant_value(&expression, scope, &checker);
        return ConditionReport {
            problems: Vec::new(),
            reads: checker.reads,
            constant,
        };
    }
    // Locate the problems: parse again with positions and check that tree.
    let reads = checker.reads;
    let problems = match cel::parser::Parser::new()
        .max_recursion_depth(MAX_LOCATING_DEPTH)
        .parse_with_source_info(text)
    {
        Ok((positioned, source_info)) => {
            let mut checker = Checker::new(scope, &positioned);
            let result = checker.check(&positioned);
            checker.require_bool(&result);
            checker
                .problems
                .into_iter()
                .map(|(position, mut problem)| {
                    problem.span = position.span(text, &source_info);
                    problem
                })
                .collect()
        }
        Err(_) => checker
            .problems
            .into_iter()
            .map(|(_, problem)| problem)
            .collect(),
    };
    ConditionReport {
        problems,
        reads,
        constant: None,
    }
}

fn limit_problem(label: String) -> ConditionReport {
    ConditionReport {
        problems: vec![ConditionProblem {
            code: Code::ConditionSyntax,
            message: "condition too large".to_string(),
            label,
            help: Some(
                "split the rule: several attack patterns, or properties that name the situation"
                    .to_string(),
            ),
            span: None,
        }],
        ..ConditionReport::default()
    }
}

/// The depth of an expression tree, measured with an explicit stack: the tree may be deeper
/// than the call stack could walk (the parser builds operator chains with loops).
fn tree_depth(expression: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(expression, 1usize)];
    while let Some((node, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        if depth > MAX_CONDITION_DEPTH {
            break;
        }
        pending.extend(children(node).into_iter().map(|child| (child, depth + 1)));
    }
    deepest
}

/// The direct sub-expressions of a node.
fn children(node: &IdedExpr) -> Vec<&IdedExpr> {
    match &node.expr {
        Expr::Select(select) => vec![&*select.operand],
        Expr::Call(call) => call
            .target
            .iter()
            .map(|target| &**target)
            .chain(call.args.iter())
            .collect(),
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map
            .entries
            .iter()
            .filter_map(|entry| match &entry.expr {
                cel::common::ast::EntryExpr::MapEntry(entry) => Some([&entry.key, &entry.value]),
                _ => None,
            })
            .flatten()
            .collect(),
        Expr::Comprehension(comprehension) => vec![
            &comprehension.iter_range,
            &comprehension.accu_init,
            &comprehension.loop_cond,
            &comprehension.loop_step,
            &comprehension.result,
        ],
        Expr::Struct(structure) => structure
            .entries
            .iter()
            .filter_map(|entry| match &entry.expr {
                cel::common::ast::EntryExpr::StructField(field) => Some(&field.value),
                _ => None,
            })
            .collect(),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

fn syntax_problems(text: &str, errors: &cel::ParseErrors) -> ConditionReport {
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
fn offset_of(text: &str, line: isize, column: isize) -> usize {
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
fn token_at(text: &str, offset: usize) -> Range<usize> {
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

/// The type of a sub-expression, as far as it can be known before evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Type {
    Bool,
    Int,
    Double,
    String,
    Null,
    /// A string restricted to the declared values of an enum property.
    Enum(Vec<String>),
    List(Box<Type>),
    Map,
    /// `self`, `source`, `target` or `system`.
    Element(Role),
    /// Unknown until evaluation: accepted everywhere.
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Subject,
    Source,
    Target,
    System,
}

impl Role {
    fn variable(self) -> &'static str {
        match self {
            Role::Subject => "self",
            Role::Source => "source",
            Role::Target => "target",
            Role::System => "system",
        }
    }
}

impl Type {
    fn describe(&self) -> String {
        match self {
            Type::Bool => "a bool".to_string(),
            Type::Int => "an int".to_string(),
            Type::Double => "a double".to_string(),
            Type::String => "a string".to_string(),
            Type::Null => "null".to_string(),
            Type::Enum(_) => "an enum".to_string(),
            Type::List(_) => "a list".to_string(),
            Type::Map => "a map".to_string(),
            Type::Element(Role::System) => "the system".to_string(),
            Type::Element(role) => format!("the element `{}`", role.variable()),
            Type::Dynamic => "a value".to_string(),
        }
    }

    fn of_property(definition: &PropertyDefinition) -> Type {
        match definition.property_type {
            PropertyType::Bool => Type::Bool,
            PropertyType::Int => Type::Int,
            PropertyType::String => Type::String,
            PropertyType::Enum => Type::Enum(definition.values.clone()),
            PropertyType::List => Type::List(Box::new(Type::Enum(definition.values.clone()))),
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Double | Type::Dynamic)
    }

    fn is_stringlike(&self) -> bool {
        matches!(self, Type::String | Type::Enum(_) | Type::Dynamic)
    }

    /// Whether values of the two types can be compared for equality.
    fn comparable(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Dynamic, _) | (_, Type::Dynamic) => true,
            (Type::Null, _) | (_, Type::Null) => true,
            (left, right) if left.is_stringlike() && right.is_stringlike() => true,
            (Type::Int | Type::Double, Type::Int | Type::Double) => true,
            (Type::List(left), Type::List(right)) => left.comparable(right),
            (left, right) => std::mem::discriminant(left) == std::mem::discriminant(right),
        }
    }
}

/// Where a problem is, in terms of the parsed tree.
#[derive(Debug, Clone, Copy)]
enum Position {
    Node(u64),
    /// The field name of a selection (`self.x`): the node's offset is the `.`.
    Field {
        id: u64,
        length: usize,
    },
    Whole,
}

impl Position {
    fn span(self, text: &str, source_info: &cel::common::ast::SourceInfo) -> Option<Range<usize>> {
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

struct Checker<'c, 's, 'a> {
    scope: &'c ConditionScope<'s, 'a>,
    problems: Vec<(Position, ConditionProblem)>,
    reads: BTreeSet<(usize, String)>,
    /// Variables bound by comprehensions (`exists`, `all`, ...), innermost last.
    locals: Vec<(String, Type)>,
    /// Properties the condition guards with `has(self.x)`: they may be missing on some subjects.
    guarded: BTreeSet<String>,
}

impl<'c, 's, 'a> Checker<'c, 's, 'a> {
    fn new(scope: &'c ConditionScope<'s, 'a>, expression: &IdedExpr) -> Self {
        let mut guarded = BTreeSet::new();
        collect_guards(expression, &mut guarded);
        Checker {
            scope,
            problems: Vec::new(),
            reads: BTreeSet::new(),
            locals: Vec::new(),
            guarded,
        }
    }

    fn problem(
        &mut self,
        position: Position,
        code: Code,
        message: String,
        label: String,
        help: Option<String>,
    ) {
        self.problems.push((
            position,
            ConditionProblem {
                code,
                message,
                label,
                help,
                span: None,
            },
        ));
    }

    fn require_bool(&mut self, found: &Type) {
        if !matches!(found, Type::Bool | Type::Dynamic) && self.problems.is_empty() {
            self.problem(
                Position::Whole,
                Code::ConditionType,
                format!(
                    "a condition must be a bool, this one is {}",
                    found.describe()
                ),
                "not a bool".to_string(),
                Some("compare the value, e.g. `self.x == \"value\"`".to_string()),
            );
        }
    }

    fn check(&mut self, expression: &IdedExpr) -> Type {
        match &expression.expr {
            Expr::Literal(literal) => match literal {
                LiteralValue::Boolean(_) => Type::Bool,
                LiteralValue::Int(_) | LiteralValue::UInt(_) => Type::Int,
                LiteralValue::Double(_) => Type::Double,
                LiteralValue::String(_) | LiteralValue::Bytes(_) => Type::String,
                LiteralValue::Null => Type::Null,
            },
            Expr::Ident(name) => self.identifier(expression.id, name),
            Expr::Select(select) => {
                let operand = self.check(&select.operand);
                match operand {
                    Type::Element(role) => {
                        self.property(expression.id, role, &select.field, select.test)
                    }
                    Type::Dynamic | Type::Map => {
                        if select.test {
                            Type::Bool
                        } else {
                            Type::Dynamic
                        }
                    }
                    other => {
                        self.problem(
                            Position::Field {
                                id: expression.id,
                                length: select.field.len(),
                            },
                            Code::ConditionType,
                            format!("cannot read `.{}` of {}", select.field, other.describe()),
                            "no fields here".to_string(),
                            None,
                        );
                        Type::Dynamic
                    }
                }
            }
            Expr::Call(call) => {
                let target = call.target.as_deref();
                self.call(expression, &call.func_name, target, &call.args)
            }
            Expr::List(list) => {
                let mut element = None;
                for item in &list.elements {
                    let item_type = self.check(item);
                    element.get_or_insert(item_type);
                }
                Type::List(Box::new(element.unwrap_or(Type::Dynamic)))
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(entry) = &entry.expr {
                        self.check(&entry.key);
                        self.check(&entry.value);
                    }
                }
                Type::Map
            }
            Expr::Comprehension(comprehension) => self.comprehension(comprehension),
            Expr::Struct(_) | Expr::Unspecified => {
                self.problem(
                    Position::Node(expression.id),
                    Code::ConditionType,
                    "message construction is not supported in conditions".to_string(),
                    "not supported".to_string(),
                    None,
                );
                Type::Dynamic
            }
        }
    }

    fn identifier(&mut self, id: u64, name: &str) -> Type {
        if let Some((_, local)) = self.locals.iter().rev().find(|(local, _)| local == name) {
            return local.clone();
        }
        let is_flow = self.scope.endpoints.is_some();
        let has_element = self.scope.has_element();
        match name {
            "system" => Type::Element(Role::System),
            "self" if has_element => Type::Element(Role::Subject),
            "self" | "source" | "target" | "crosses_boundary" if !has_element => {
                self.problem(
                    Position::Node(id),
                    Code::ConditionUnknownProperty,
                    format!("`{name}` does not exist in tier rules"),
                    "not available here".to_string(),
                    Some(
                        "a tier rule is about the whole system: it reads only `system.<property>`"
                            .to_string(),
                    ),
                );
                Type::Dynamic
            }
            "self" => Type::Element(Role::Subject),
            "source" if is_flow => Type::Element(Role::Source),
            "target" if is_flow => Type::Element(Role::Target),
            "crosses_boundary" if is_flow => Type::Bool,
            "source" | "target" | "crosses_boundary" => {
                self.problem(
                    Position::Node(id),
                    Code::ConditionUnknownProperty,
                    format!("`{name}` only exists in conditions on data flows"),
                    "not available here".to_string(),
                    Some("this condition applies to elements that are not data flows; read their properties with `self.<property>`".to_string()),
                );
                Type::Dynamic
            }
            _ => {
                let mut variables = Vec::new();
                if has_element {
                    variables.push("self");
                }
                if is_flow {
                    variables.extend(["source", "target", "crosses_boundary"]);
                }
                variables.push("system");
                let reader = if has_element { "self" } else { "system" };
                let help = match crate::schema::suggest(name, variables.iter().copied()) {
                    Some(candidate) => format!("did you mean `{candidate}`?"),
                    None => format!(
                        "the variables here are {}; a property is read as `{reader}.{name}`",
                        variables
                            .iter()
                            .map(|variable| format!("`{variable}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.problem(
                    Position::Node(id),
                    Code::ConditionUnknownProperty,
                    format!("unknown variable `{name}`"),
                    "not defined".to_string(),
                    Some(help),
                );
                Type::Dynamic
            }
        }
    }

    fn property(&mut self, id: u64, role: Role, name: &str, is_test: bool) -> Type {
        let position = Position::Field {
            id,
            length: name.len(),
        };
        if role == Role::System {
            return self.system_property(position, name, is_test);
        }
        if role != Role::Subject {
            let endpoints = self
                .scope
                .endpoints
                .expect("roles other than self exist only in flow scopes");
            return match endpoints.get(name) {
                Some(declarations) => {
                    for declaration in declarations {
                        self.reads
                            .insert((declaration.declared_by, name.to_string()));
                    }
                    if is_test {
                        Type::Bool
                    } else {
                        Type::of_property(declarations[0].definition)
                    }
                }
                None => {
                    let help = suggestion_help(name, endpoints.keys().copied());
                    self.problem(
                        position,
                        Code::ConditionUnknownProperty,
                        format!("no component kind declares a property `{name}`"),
                        format!("unknown property of `{}`", role.variable()),
                        help,
                    );
                    Type::Dynamic
                }
            };
        }
        let mut found: Option<&PropertyInfo<'_>> = None;
        let mut missing_on = Vec::new();
        let mut enum_values: Vec<String> = Vec::new();
        for (entity, properties) in &self.scope.subjects {
            match properties.get(name) {
                Some(info) => {
                    self.reads.insert((info.declared_by, name.to_string()));
                    if let Some(first) = found {
                        if first.definition.property_type != info.definition.property_type {
                            let message = format!(
                                "`{name}` is {} on one entity this applies to and {} on `{entity}`",
                                first.definition.property_type.as_str(),
                                info.definition.property_type.as_str()
                            );
                            self.problem(
                                position,
                                Code::ConditionType,
                                message,
                                "ambiguous type".to_string(),
                                Some("declare the property once, on a common parent".to_string()),
                            );
                            return Type::Dynamic;
                        }
                    } else {
                        found = Some(info);
                    }
                    for value in &info.definition.values {
                        if !enum_values.contains(value) {
                            enum_values.push(value.clone());
                        }
                    }
                }
                None => missing_on.push(*entity),
            }
        }
        let Some(info) = found else {
            let help = self
                .scope
                .subjects
                .first()
                .and_then(|(_, properties)| suggestion_help(name, properties.keys().copied()))
                .or_else(|| {
                    Some(format!(
                        "declare `{name}` in the entity's `[entity.properties]`"
                    ))
                });
            let entities = self
                .scope
                .subjects
                .iter()
                .map(|(entity, _)| format!("`{entity}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.problem(
                position,
                Code::ConditionUnknownProperty,
                format!("no property `{name}` on {entities}"),
                "unknown property".to_string(),
                help,
            );
            return Type::Dynamic;
        };
        if !missing_on.is_empty() && !is_test && !self.guarded.contains(name) {
            self.problem(
                position,
                Code::ConditionUnknownProperty,
                format!(
                    "`{name}` is not declared on {}",
                    missing_on.iter().map(|entity| format!("`{entity}`")).collect::<Vec<_>>().join(", ")
                ),
                "missing on some entities this applies to".to_string(),
                Some(format!(
                    "declare `{name}` on a common parent of the entities in `applies-to`, or guard the read with `has(self.{name})`"
                )),
            );
        }
        if is_test {
            return Type::Bool;
        }
        match info.definition.property_type {
            PropertyType::Enum => Type::Enum(enum_values),
            PropertyType::List => Type::List(Box::new(Type::Enum(enum_values))),
            _ => Type::of_property(info.definition),
        }
    }

    /// `system.NAME`: a system property of the pack or of a dependency.
    fn system_property(&mut self, position: Position, name: &str, is_test: bool) -> Type {
        let system = self.scope.system;
        match system.get(name) {
            Some(_) if is_test => Type::Bool,
            Some(info) => Type::of_property(info.definition),
            None => {
                let help = suggestion_help(name, system.keys().copied()).or_else(|| {
                    Some(format!(
                        "declare it in `[system.properties.{name}]` of `pack.toml`"
                    ))
                });
                self.problem(
                    position,
                    Code::ConditionUnknownProperty,
                    format!("no system property `{name}`"),
                    "unknown system property".to_string(),
                    help,
                );
                Type::Dynamic
            }
        }
    }

    fn call(
        &mut self,
        expression: &IdedExpr,
        function: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> Type {
        let id = expression.id;
        match (function, target, args) {
            ("_&&_" | "_||_", None, [left, right]) => {
                for operand in [left, right] {
                    let operand_type = self.check(operand);
                    self.expect_bool(operand, &operand_type, function);
                }
                Type::Bool
            }
            ("!_", None, [operand]) => {
                let operand_type = self.check(operand);
                self.expect_bool(operand, &operand_type, "!");
                Type::Bool
            }
            ("@not_strictly_false", None, [operand]) => {
                self.check(operand);
                Type::Bool
            }
            ("_==_" | "_!=_", None, [left, right]) => {
                let (left_type, right_type) = (self.check(left), self.check(right));
                self.compare_equal(id, left, &left_type, right, &right_type);
                Type::Bool
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", None, [left, right]) => {
                let (left_type, right_type) = (self.check(left), self.check(right));
                let both_numbers = left_type.is_numeric() && right_type.is_numeric();
                let both_strings = matches!(left_type, Type::String | Type::Dynamic)
                    && matches!(right_type, Type::String | Type::Dynamic);
                if !both_numbers && !both_strings {
                    self.problem(
                        Position::Node(id),
                        Code::ConditionType,
                        format!("cannot order {} and {}", left_type.describe(), right_type.describe()),
                        "mismatched types".to_string(),
                        Some("`<`, `<=`, `>` and `>=` compare two ints or two strings; compare enums with `==` or `in`".to_string()),
                    );
                }
                Type::Bool
            }
            ("@in", None, [element, collection]) => {
                let (element_type, collection_type) = (self.check(element), self.check(collection));
                match &collection_type {
                    Type::List(item_type) => {
                        self.compare_membership(id, element, &element_type, collection, item_type);
                    }
                    Type::Map | Type::Dynamic => {}
                    other => self.problem(
                        Position::Node(collection.id),
                        Code::ConditionType,
                        format!("`in` needs a list on its right, found {}", other.describe()),
                        "not a list".to_string(),
                        None,
                    ),
                }
                Type::Bool
            }
            ("_?_:_", None, [condition, when_true, when_false]) => {
                let condition_type = self.check(condition);
                self.expect_bool(condition, &condition_type, "?:");
                let (true_type, false_type) = (self.check(when_true), self.check(when_false));
                if true_type.comparable(&false_type) {
                    true_type
                } else {
                    Type::Dynamic
                }
            }
            ("_+_" | "_-_" | "_*_" | "_/_" | "_%_", None, [left, right]) => {
                let (left_type, right_type) = (self.check(left), self.check(right));
                let fits = (left_type.is_numeric() && right_type.is_numeric())
                    || (function == "_+_" && left_type.comparable(&right_type));
                if !fits {
                    self.problem(
                        Position::Node(id),
                        Code::ConditionType,
                        format!(
                            "cannot combine {} and {}",
                            left_type.describe(),
                            right_type.describe()
                        ),
                        "mismatched types".to_string(),
                        None,
                    );
                }
                if matches!(left_type, Type::Enum(_)) {
                    Type::String
                } else {
                    left_type
                }
            }
            ("-_", None, [operand]) => {
                let operand_type = self.check(operand);
                if !operand_type.is_numeric() {
                    self.problem(
                        Position::Node(id),
                        Code::ConditionType,
                        format!("cannot negate {}", operand_type.describe()),
                        "not a number".to_string(),
                        None,
                    );
                }
                operand_type
            }
            ("_[_]", None, [collection, index]) => {
                let collection_type = self.check(collection);
                self.check(index);
                match collection_type {
                    Type::List(item) => *item,
                    _ => Type::Dynamic,
                }
            }
            ("size", None, [operand]) | ("size", Some(operand), []) => {
                let operand_type = self.check(operand);
                if !matches!(
                    operand_type,
                    Type::String | Type::Enum(_) | Type::List(_) | Type::Map | Type::Dynamic
                ) {
                    self.problem(
                        Position::Node(id),
                        Code::ConditionType,
                        format!(
                            "`size` needs a string or a list, found {}",
                            operand_type.describe()
                        ),
                        "no size".to_string(),
                        None,
                    );
                }
                Type::Int
            }
            ("contains" | "startsWith" | "endsWith" | "matches", Some(receiver), [argument]) => {
                let (receiver_type, argument_type) = (self.check(receiver), self.check(argument));
                for (operand, operand_type) in
                    [(receiver, &receiver_type), (argument, &argument_type)]
                {
                    if !operand_type.is_stringlike() {
                        self.problem(
                            Position::Node(operand.id),
                            Code::ConditionType,
                            format!(
                                "`{function}` works on strings, this is {}",
                                operand_type.describe()
                            ),
                            "not a string".to_string(),
                            matches!(operand_type, Type::List(_)).then(|| {
                                "test list membership with `\"value\" in self.list`".to_string()
                            }),
                        );
                    }
                }
                Type::Bool
            }
            ("int", None, [operand]) => {
                self.check(operand);
                Type::Int
            }
            ("double", None, [operand]) => {
                self.check(operand);
                Type::Double
            }
            ("string", None, [operand]) => {
                self.check(operand);
                Type::String
            }
            _ => {
                for argument in target.into_iter().chain(args) {
                    self.check(argument);
                }
                let name = function.trim_matches('_');
                self.problem(
                    Position::Node(id),
                    Code::ConditionType,
                    format!("unknown function `{name}`"),
                    "not available in conditions".to_string(),
                    Some(
                        "conditions may call has, size, contains, startsWith, endsWith, matches, int, double, string, exists, all, exists_one, map and filter"
                            .to_string(),
                    ),
                );
                Type::Dynamic
            }
        }
    }

    fn comprehension(&mut self, comprehension: &ComprehensionExpr) -> Type {
        let range = self.check(&comprehension.iter_range);
        let element = match range {
            Type::List(element) => *element,
            _ => Type::Dynamic,
        };
        self.check(&comprehension.accu_init);
        self.locals.push((comprehension.iter_var.clone(), element));
        if let Some(second) = &comprehension.iter_var2 {
            self.locals.push((second.clone(), Type::Dynamic));
        }
        self.locals
            .push((comprehension.accu_var.clone(), Type::Dynamic));
        self.check(&comprehension.loop_cond);
        self.check(&comprehension.loop_step);
        let result = self.check(&comprehension.result);
        let bound = 2 + usize::from(comprehension.iter_var2.is_some());
        self.locals.truncate(self.locals.len() - bound);
        result
    }

    fn expect_bool(&mut self, operand: &IdedExpr, found: &Type, operator: &str) {
        if !matches!(found, Type::Bool | Type::Dynamic) {
            let operator = operator.trim_matches('_');
            self.problem(
                Position::Node(operand.id),
                Code::ConditionType,
                format!("`{operator}` needs a bool, found {}", found.describe()),
                "not a bool".to_string(),
                None,
            );
        }
    }

    fn compare_equal(
        &mut self,
        id: u64,
        left: &IdedExpr,
        left_type: &Type,
        right: &IdedExpr,
        right_type: &Type,
    ) {
        if !left_type.comparable(right_type) {
            self.problem(
                Position::Node(id),
                Code::ConditionType,
                format!(
                    "cannot compare {} with {}",
                    left_type.describe(),
                    right_type.describe()
                ),
                "mismatched types".to_string(),
                mismatch_help(left_type, right_type),
            );
            return;
        }
        self.check_enum_literal(left_type, right);
        self.check_enum_literal(right_type, left);
    }

    fn compare_membership(
        &mut self,
        id: u64,
        element: &IdedExpr,
        element_type: &Type,
        collection: &IdedExpr,
        item_type: &Type,
    ) {
        if !element_type.comparable(item_type) {
            self.problem(
                Position::Node(id),
                Code::ConditionType,
                format!(
                    "cannot look for {} in a list of {}",
                    element_type.describe(),
                    plural(item_type)
                ),
                "mismatched types".to_string(),
                None,
            );
            return;
        }
        // `self.enum in ["a", "b"]`: each literal must be a value of the enum.
        if let Expr::List(list) = &collection.expr {
            for item in &list.elements {
                self.check_enum_literal(element_type, item);
            }
        }
        // `"a" in self.list`: the literal must be a value of the list's items.
        self.check_enum_literal(item_type, element);
    }

    /// Reports a string literal compared with an enum when it is not one of the enum's values.
    fn check_enum_literal(&mut self, enum_type: &Type, literal: &IdedExpr) {
        let (Type::Enum(values), Expr::Literal(LiteralValue::String(value))) =
            (enum_type, &literal.expr)
        else {
            return;
        };
        let value: &str = value.as_ref();
        if values.iter().any(|allowed| allowed == value) {
            return;
        }
        let listed = values
            .iter()
            .map(|allowed| format!("`{allowed}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match crate::schema::suggest(value, values.iter().map(String::as_str)) {
            Some(candidate) => format!("did you mean `{candidate}`? the values are {listed}"),
            None => format!("the values are {listed}"),
        };
        self.problem(
            Position::Node(literal.id),
            Code::ConditionUnknownValue,
            format!("`{value}` is not a value of this enum property"),
            "not among the property's values".to_string(),
            Some(help),
        );
    }
}

fn plural(item_type: &Type) -> String {
    match item_type {
        Type::Enum(_) => "enum values".to_string(),
        other => {
            other
                .describe()
                .trim_start_matches("a ")
                .trim_start_matches("an ")
                .to_string()
                + "s"
        }
    }
}

fn mismatch_help(left: &Type, right: &Type) -> Option<String> {
    match (left, right) {
        (Type::Bool, Type::String) | (Type::String, Type::Bool) => {
            Some("write the bool without quotes (`true`, `false`), or use the property directly: `self.x`".to_string())
        }
        (Type::Int, Type::String) | (Type::String, Type::Int) => Some("write the number without quotes".to_string()),
        (Type::List(_), _) | (_, Type::List(_)) => Some("test list membership with `\"value\" in self.list`".to_string()),
        _ => None,
    }
}

fn suggestion_help<'n>(name: &str, candidates: impl Iterator<Item = &'n str>) -> Option<String> {
    crate::schema::suggest(name, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The names of properties read inside `has(...)` anywhere in the expression.
fn collect_guards(expression: &IdedExpr, guarded: &mut BTreeSet<String>) {
    let mut pending = vec![expression];
    while let Some(node) = pending.pop() {
        if let Expr::Select(select) = &node.expr
            && select.test
        {
            guarded.insert(select.field.clone());
        }
        pending.extend(children(node));
    }
}

/// The variables a finite enumeration can cover: (role, property, possible values).
type Domain = Vec<(Role, String, Vec<Json>)>;

/// Proves a condition constant by evaluating it with the rule engine on every combination of
/// the bool and enum properties it reads (at most `engine::enumerate::MAX_COMBINATIONS`).
/// Conditions reading ints, strings, lists or using `has` are not judged, and an evaluation
/// error proves nothing (the rule engine reports it where it happens).
fn constant_value(
    expression: &IdedExpr,
    scope: &ConditionScope<'_, '_>,
    checker: &Checker<'_, '_, '_>,
) -> Option<bool> {
    use crate::engine::enumerate::combinations;
    use crate::engine::eval::{Endpoint, Frame};
    use crate::engine::program::{self, Bindings, EndpointSlots, Layout};
    use crate::engine::value::{Interner, Value};

    if !checker.guarded.is_empty() {
        return None;
    }
    let mut domain: Domain = Vec::new();
    let mut crosses_boundary = false;
    if !finite_domain(expression, scope, &mut domain, &mut crosses_boundary) {
        return None;
    }
    // Each variable gets a slot of its own: `self.x` in the subject, `system.x` in the system,
    // `source.x`/`target.x` in one endpoint layout (of a single pretend entity, 0) shared by
    // both ends, each end with its own values.
    let (mut subject, mut endpoint, mut system) = (
        Layout::default(),
        EndpointSlots::default(),
        Layout::default(),
    );
    let mut slots = Vec::with_capacity(domain.len());
    for (role, name, _) in &domain {
        let layout = match role {
            Role::Subject => &mut subject.slots,
            Role::System => &mut system.slots,
            Role::Source | Role::Target => {
                let next = endpoint.by_name.len() as u32;
                let slot = endpoint
                    .by_name
                    .entry(name.as_str().into())
                    .or_insert_with(|| std::sync::Arc::from(vec![next]))[0];
                slots.push(slot as usize);
                continue;
            }
        };
        let next = layout.len() as u32;
        slots.push(*layout.entry(name.as_str().into()).or_insert(next) as usize);
    }
    let bindings = Bindings {
        subject: &subject,
        endpoints: (scope.endpoints.is_some() || crosses_boundary).then_some(&endpoint),
        system: &system,
    };
    let mut symbols = Interner::default();
    let program = program::compile(expression, &bindings, &mut symbols).ok()?;
    let values: Vec<Vec<Value>> = domain
        .iter()
        .map(|(_, _, values)| {
            values
                .iter()
                .map(|value| Value::from_json(value, &mut symbols))
                .collect::<Option<Vec<_>>>()
        })
        .collect::<Option<_>>()?;
    let mut sizes: Vec<usize> = values.iter().map(Vec::len).collect();
    if crosses_boundary {
        sizes.push(2);
    }
    let mut subject_values = vec![Value::Null; subject.slots.len()];
    let mut source_values = vec![Value::Null; endpoint.by_name.len()];
    let mut target_values = vec![Value::Null; endpoint.by_name.len()];
    let mut system_values = vec![Value::Null; system.slots.len()];
    let mut seen: Option<bool> = None;
    for choice in combinations(&sizes)? {
        for (((role, _, _), slot), (values, index)) in
            domain.iter().zip(&slots).zip(values.iter().zip(&choice))
        {
            let place = match role {
                Role::Subject => &mut subject_values,
                Role::Source => &mut source_values,
                Role::Target => &mut target_values,
                Role::System => &mut system_values,
            };
            place[*slot] = values[*index].clone();
        }
        let mut frame = Frame {
            subject: &subject_values,
            source: Some(Endpoint {
                entity: 0,
                values: &source_values,
            }),
            target: Some(Endpoint {
                entity: 0,
                values: &target_values,
            }),
            crosses_boundary: crosses_boundary && choice.last() == Some(&1),
            system: &system_values,
            symbols: &symbols,
            locals: Vec::new(),
        };
        match program.holds(&mut frame) {
            Ok(result) => match seen {
                None => seen = Some(result),
                Some(previous) if previous != result => return None,
                Some(_) => {}
            },
            Err(_) => return None,
        }
    }
    seen
}

/// Collects the bool and enum properties an expression reads; false if it reads anything else.
fn finite_domain(
    expression: &IdedExpr,
    scope: &ConditionScope<'_, '_>,
    domain: &mut Domain,
    crosses_boundary: &mut bool,
) -> bool {
    match &expression.expr {
        Expr::Literal(_) => true,
        Expr::Ident(name) => match name.as_str() {
            "crosses_boundary" => {
                *crosses_boundary = true;
                true
            }
            _ => false,
        },
        Expr::Select(select) => {
            let role = match &select.operand.expr {
                Expr::Ident(name) if name == "self" => Role::Subject,
                Expr::Ident(name) if name == "source" => Role::Source,
                Expr::Ident(name) if name == "target" => Role::Target,
                Expr::Ident(name) if name == "system" => Role::System,
                _ => return false,
            };
            let definition = match role {
                Role::Subject => scope
                    .subjects
                    .first()
                    .and_then(|(_, properties)| properties.get(select.field.as_str()))
                    .map(|info| info.definition),
                Role::System => scope
                    .system
                    .get(select.field.as_str())
                    .map(|info| info.definition),
                Role::Source | Role::Target => scope
                    .endpoints
                    .and_then(|endpoints| endpoints.get(select.field.as_str()))
                    .and_then(|declarations| declarations.first())
                    .map(|info| info.definition),
            };
            let Some(definition) = definition else {
                return false;
            };
            let values: Vec<Json> = match definition.property_type {
                PropertyType::Bool => vec![Json::Bool(false), Json::Bool(true)],
                PropertyType::Enum => definition
                    .values
                    .iter()
                    .map(|value| Json::from(value.as_str()))
                    .collect(),
                _ => return false,
            };
            if !domain
                .iter()
                .any(|(known_role, name, _)| *known_role == role && *name == select.field)
            {
                domain.push((role, select.field.clone(), values));
            }
            true
        }
        Expr::Call(call) => call
            .target
            .iter()
            .map(|target| target.as_ref())
            .chain(call.args.iter())
            .all(|argument| finite_domain(argument, scope, domain, crosses_boundary)),
        Expr::List(list) => list
            .elements
            .iter()
            .all(|item| finite_domain(item, scope, domain, crosses_boundary)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property(property_type: PropertyType, values: &[&str]) -> PropertyDefinition {
        PropertyDefinition {
            property_type,
            default: Json::Null,
            description: String::new(),
            question: String::new(),
            rationale: String::new(),
            values: values.iter().map(|value| value.to_string()).collect(),
            min: None,
            max: None,
        }
    }

    struct Fixture {
        auth: PropertyDefinition,
        public: PropertyDefinition,
        replicas: PropertyDefinition,
        data: PropertyDefinition,
        personal_data: PropertyDefinition,
        criticality: PropertyDefinition,
    }

    fn fixture() -> Fixture {
        Fixture {
            auth: property(PropertyType::Enum, &["none", "basic", "oauth2"]),
            public: property(PropertyType::Bool, &[]),
            replicas: property(PropertyType::Int, &[]),
            data: property(PropertyType::List, &["pii", "credentials"]),
            personal_data: property(PropertyType::Bool, &[]),
            criticality: property(PropertyType::Enum, &["low", "high", "critical"]),
        }
    }

    /// The fixture's system properties: `handles_personal_data` and `business_criticality`.
    fn system_properties(fixture: &Fixture) -> PropertySet<'_> {
        let mut system = PropertySet::new();
        system.insert(
            "handles_personal_data",
            PropertyInfo {
                definition: &fixture.personal_data,
                declared_by: 0,
            },
        );
        system.insert(
            "business_criticality",
            PropertyInfo {
                definition: &fixture.criticality,
                declared_by: 0,
            },
        );
        system
    }

    /// Codes of the problems with the text each underlines, and the constant value.
    fn summarize(text: &str, report: &ConditionReport) -> (Vec<(Code, String)>, Option<bool>) {
        let problems = report
            .problems
            .iter()
            .map(|problem| {
                (
                    problem.code,
                    problem
                        .span
                        .clone()
                        .map_or("<whole>".to_string(), |span| text[span].to_string()),
                )
            })
            .collect();
        (problems, report.constant)
    }

    /// Checks `text` as a tier rule: over the fixture's system properties only.
    fn check_tier_rule(text: &str) -> (Vec<(Code, String)>, Option<bool>) {
        let fixture = fixture();
        let system = system_properties(&fixture);
        let report = check_condition(text, &ConditionScope::system_only(&system));
        summarize(text, &report)
    }

    /// Checks `text` on an entity with the fixture's properties; returns codes with the
    /// underlined text, and the constant value.
    fn check(text: &str) -> (Vec<(Code, String)>, Option<bool>) {
        let fixture = fixture();
        let system = system_properties(&fixture);
        let mut properties = PropertySet::new();
        properties.insert(
            "authentication",
            PropertyInfo {
                definition: &fixture.auth,
                declared_by: 0,
            },
        );
        properties.insert(
            "internet_facing",
            PropertyInfo {
                definition: &fixture.public,
                declared_by: 0,
            },
        );
        properties.insert(
            "replicas",
            PropertyInfo {
                definition: &fixture.replicas,
                declared_by: 0,
            },
        );
        properties.insert(
            "data_classes",
            PropertyInfo {
                definition: &fixture.data,
                declared_by: 0,
            },
        );
        let scope = ConditionScope {
            subjects: vec![("web-api", &properties)],
            endpoints: None,
            system: &system,
        };
        let report = check_condition(text, &scope);
        summarize(text, &report)
    }

    #[test]
    fn accepts_well_typed_conditions() {
        for text in [
            "self.internet_facing && self.authentication == \"none\"",
            "self.authentication in [\"none\", \"basic\"] || self.replicas < 2",
            "\"pii\" in self.data_classes && size(self.data_classes) > 0",
            "self.data_classes.exists(c, c == \"credentials\")",
            "!self.internet_facing ? self.replicas >= 3 : self.replicas > 1",
        ] {
            assert_eq!(check(text).0, vec![], "{text}");
        }
    }

    #[test]
    fn reports_the_offending_sub_expression() {
        let cases = [
            (
                "self.internet_facing && self.authentcation == \"none\"",
                Code::ConditionUnknownProperty,
                "authentcation",
            ),
            (
                "self.authentication == \"oauth\"",
                Code::ConditionUnknownValue,
                "\"oauth\"",
            ),
            (
                "self.authentication in [\"none\", \"basci\"]",
                Code::ConditionUnknownValue,
                "\"basci\"",
            ),
            (
                "\"passwords\" in self.data_classes",
                Code::ConditionUnknownValue,
                "\"passwords\"",
            ),
            (
                "self.internet_facing == \"true\"",
                Code::ConditionType,
                "==",
            ),
            ("self.replicas < \"2\"", Code::ConditionType, "<"),
            ("slf.replicas > 1", Code::ConditionUnknownProperty, "slf"),
            ("source.x", Code::ConditionUnknownProperty, "source"),
            ("self.replicas + 1", Code::ConditionType, "<whole>"),
            (
                "self.authentication.lowerAscii() == \"x\"",
                Code::ConditionType,
                "(",
            ),
            ("self.authentication ==", Code::ConditionSyntax, ""),
            ("not self.internet_facing", Code::ConditionSyntax, "self"),
            (
                "self.internet_facing and self.replicas > 1",
                Code::ConditionSyntax,
                "and",
            ),
        ];
        for (text, code, underlined) in cases {
            let (problems, _) = check(text);
            assert_eq!(problems.len(), 1, "{text}: {problems:?}");
            assert_eq!(problems[0].0, code, "{text}");
            if !underlined.is_empty() {
                assert_eq!(problems[0].1, underlined, "{text}");
            }
        }
    }

    #[test]
    fn proves_constant_conditions() {
        assert_eq!(check("true").1, Some(true));
        assert_eq!(
            check("self.internet_facing || !self.internet_facing").1,
            Some(true)
        );
        assert_eq!(
            check("self.authentication == \"none\" && self.authentication == \"basic\"").1,
            Some(false)
        );
        assert_eq!(
            check("self.internet_facing && self.authentication == \"none\"").1,
            None
        );
        // Ints are not enumerated, so nothing is claimed.
        assert_eq!(check("self.replicas > 1 || self.replicas <= 1").1, None);
    }

    #[test]
    fn requires_the_property_on_every_subject_unless_guarded() {
        let fixture = fixture();
        let mut web = PropertySet::new();
        web.insert(
            "internet_facing",
            PropertyInfo {
                definition: &fixture.public,
                declared_by: 0,
            },
        );
        let database = PropertySet::new();
        let system = PropertySet::new();
        let scope = ConditionScope {
            subjects: vec![("web", &web), ("database", &database)],
            endpoints: None,
            system: &system,
        };
        let report = check_condition("self.internet_facing", &scope);
        assert_eq!(report.problems.len(), 1);
        assert!(
            report.problems[0].message.contains("`database`"),
            "{:?}",
            report.problems
        );
        let report = check_condition("has(self.internet_facing) && self.internet_facing", &scope);
        assert_eq!(report.problems, vec![]);
    }

    #[test]
    fn element_conditions_read_system_properties() {
        for text in [
            "self.internet_facing && system.handles_personal_data",
            "system.business_criticality in [\"high\", \"critical\"] || self.replicas < 2",
            "has(system.handles_personal_data)",
        ] {
            assert_eq!(check(text).0, vec![], "{text}");
        }
        let cases = [
            (
                "system.handles_personal_dat",
                Code::ConditionUnknownProperty,
                "handles_personal_dat",
            ),
            (
                "self.internet_facing && system.business_criticality == \"critcal\"",
                Code::ConditionUnknownValue,
                "\"critcal\"",
            ),
            (
                "system.handles_personal_data == \"yes\"",
                Code::ConditionType,
                "==",
            ),
            (
                "sytem.handles_personal_data",
                Code::ConditionUnknownProperty,
                "sytem",
            ),
        ];
        for (text, code, underlined) in cases {
            let (problems, _) = check(text);
            assert_eq!(problems, vec![(code, underlined.to_string())], "{text}");
        }
        assert_eq!(
            check("system.handles_personal_data || !system.handles_personal_data").1,
            Some(true)
        );
    }

    #[test]
    fn tier_rules_read_only_the_system() {
        assert_eq!(
            check_tier_rule(
                "system.handles_personal_data || system.business_criticality == \"critical\""
            ),
            (vec![], None)
        );
        for (text, underlined) in [
            ("self.internet_facing", "self"),
            (
                "system.handles_personal_data && crosses_boundary",
                "crosses_boundary",
            ),
            ("source.internet_facing", "source"),
            ("system.criticality == \"high\"", "criticality"),
        ] {
            assert_eq!(
                check_tier_rule(text).0,
                vec![(Code::ConditionUnknownProperty, underlined.to_string())],
                "{text}"
            );
        }
        assert_eq!(
            check_tier_rule("system.business_criticality == \"hihg\"").0,
            vec![(Code::ConditionUnknownValue, "\"hihg\"".to_string())]
        );
        assert_eq!(
            check_tier_rule(
                "system.business_criticality == \"low\" && system.business_criticality == \"high\""
            )
            .1,
            Some(false)
        );
        // The help of an unknown name points at `system`, not at `self`.
        let fixture = fixture();
        let system = system_properties(&fixture);
        let report = check_condition("criticality", &ConditionScope::system_only(&system));
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some("the variables here are `system`; a property is read as `system.criticality`")
        );
        let report = check_condition(
            "system.business_critically == \"high\"",
            &ConditionScope::system_only(&system),
        );
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some("did you mean `business_criticality`?")
        );
    }
}
