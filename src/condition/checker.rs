//! The type checker: walks a parsed condition, resolving every property read against the scope,
//! and records each problem with its place in the tree.

use std::collections::BTreeSet;

use cel::IdedExpr;
use cel::common::ast::{ComprehensionExpr, Expr, LiteralValue};

use crate::diagnostic::Code;
use crate::model::PropertyType;

use super::*;

pub(super) struct Checker<'c, 's, 'a> {
    pub(super) scope: &'c ConditionScope<'s, 'a>,
    pub(super) problems: Vec<(Position, ConditionProblem)>,
    pub(super) reads: BTreeSet<(usize, String)>,
    /// Variables bound by comprehensions (`exists`, `all`, ...), innermost last.
    pub(super) locals: Vec<(String, Type)>,
    /// Properties the condition guards with `has(self.x)`: they may be missing on some subjects.
    pub(super) guarded: BTreeSet<String>,
}

impl<'c, 's, 'a> Checker<'c, 's, 'a> {
    pub(super) fn new(scope: &'c ConditionScope<'s, 'a>, expression: &IdedExpr) -> Self {
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

    pub(super) fn problem(
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

    pub(super) fn require_bool(&mut self, found: &Type) {
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

    pub(super) fn check(&mut self, expression: &IdedExpr) -> Type {
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
                    Type::Record(record) => match Type::of_record_field(record, &select.field) {
                        Some(_) if select.test => Type::Bool,
                        Some(field_type) => field_type,
                        None => {
                            let prefix = format!("{record}.");
                            let fields: Vec<&str> = REPORT_FIELDS
                                .iter()
                                .filter_map(|(path, _, _)| path.strip_prefix(prefix.as_str()))
                                .filter(|rest| !rest.contains('.'))
                                .collect();
                            let help = suggestion_help(&select.field, fields.iter().copied())
                                .unwrap_or_else(|| {
                                    format!(
                                        "`{record}` has {}",
                                        fields
                                            .iter()
                                            .map(|field| format!("`{field}`"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                });
                            self.problem(
                                Position::Field {
                                    id: expression.id,
                                    length: select.field.len(),
                                },
                                Code::ConditionUnknownProperty,
                                format!("`{record}` has no field `{}`", select.field),
                                "unknown field".to_string(),
                                Some(help),
                            );
                            Type::Dynamic
                        }
                    },
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

    pub(super) fn identifier(&mut self, id: u64, name: &str) -> Type {
        if let Some((_, local)) = self.locals.iter().rev().find(|(local, _)| local == name) {
            return local.clone();
        }
        let is_flow = self.scope.endpoints.is_some();
        let has_element = self.scope.has_element();
        match name {
            "system" => Type::Element(Role::System),
            "report" if self.scope.report => Type::Record("report"),
            "self" if has_element => Type::Element(Role::Subject),
            "self" | "source" | "target" | "crosses_boundary" | "crossed_boundaries"
                if !has_element =>
            {
                self.problem(
                    Position::Node(id),
                    Code::ConditionUnknownProperty,
                    format!(
                        "`{name}` does not exist in {}",
                        if self.scope.report { "activity rules" } else { "tier rules" }
                    ),
                    "not available here".to_string(),
                    Some(if self.scope.report {
                        "an activity rule is about the whole system: it reads `system.<property>` and `report.<field>`".to_string()
                    } else {
                        "a tier rule is about the whole system: it reads only `system.<property>`"
                            .to_string()
                    }),
                );
                Type::Dynamic
            }
            "self" => Type::Element(Role::Subject),
            "source" if is_flow => Type::Element(Role::Source),
            "target" if is_flow => Type::Element(Role::Target),
            "crosses_boundary" if is_flow => Type::Bool,
            "crossed_boundaries" if is_flow => Type::List(Box::new(Type::String)),
            "source" | "target" | "crosses_boundary" | "crossed_boundaries" => {
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
                    variables.extend([
                        "source",
                        "target",
                        "crosses_boundary",
                        "crossed_boundaries",
                    ]);
                }
                variables.push("system");
                if self.scope.report {
                    variables.push("report");
                }
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

    pub(super) fn property(&mut self, id: u64, role: Role, name: &str, is_test: bool) -> Type {
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
    pub(super) fn system_property(
        &mut self,
        position: Position,
        name: &str,
        is_test: bool,
    ) -> Type {
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

    pub(super) fn call(
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

    pub(super) fn comprehension(&mut self, comprehension: &ComprehensionExpr) -> Type {
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

    pub(super) fn expect_bool(&mut self, operand: &IdedExpr, found: &Type, operator: &str) {
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

    pub(super) fn compare_equal(
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

    pub(super) fn compare_membership(
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
    pub(super) fn check_enum_literal(&mut self, enum_type: &Type, literal: &IdedExpr) {
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

pub(super) fn plural(item_type: &Type) -> String {
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

pub(super) fn mismatch_help(left: &Type, right: &Type) -> Option<String> {
    match (left, right) {
        (Type::Bool, Type::String) | (Type::String, Type::Bool) => {
            Some("write the bool without quotes (`true`, `false`), or use the property directly: `self.x`".to_string())
        }
        (Type::Int, Type::String) | (Type::String, Type::Int) => Some("write the number without quotes".to_string()),
        (Type::List(_), _) | (_, Type::List(_)) => Some("test list membership with `\"value\" in self.list`".to_string()),
        _ => None,
    }
}

pub(super) fn suggestion_help<'n>(
    name: &str,
    candidates: impl Iterator<Item = &'n str>,
) -> Option<String> {
    crate::schema::suggest(name, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The names of properties read inside `has(...)` anywhere in the expression.
pub(super) fn collect_guards(expression: &IdedExpr, guarded: &mut BTreeSet<String>) {
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
