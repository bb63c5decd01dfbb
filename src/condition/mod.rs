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
//!
//! `syntax.rs`: syntax errors and where a problem is; `types.rs`: the types of
//! sub-expressions; `checker.rs`: the type checker; `constants.rs`: conditions proved always
//! true or always false with the rule engine.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use cel::IdedExpr;
use cel::common::ast::Expr;

use crate::diagnostic::Code;

mod checker;
mod constants;
mod syntax;
mod types;

use checker::*;
use constants::*;
use syntax::*;
use types::*;

pub use types::{REPORT_FIELDS, ReportFieldType};

pub use crate::engine::program::{MAX_CONDITION_BYTES, MAX_CONDITION_DEPTH};

/// How deep the ANTLR parser, used only to locate problems, may go: it needs far more stack
/// per level than the Pratt parser. Deeper conditions get their problems reported unlocated.
pub(super) const MAX_LOCATING_DEPTH: u16 = 40;

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
    /// Whether `report` (the threat model's results, `REPORT_FIELDS`) may be read: in
    /// activity rules only.
    pub report: bool,
}

impl<'s, 'a> ConditionScope<'s, 'a> {
    /// The scope of a tier rule: the system's properties and nothing else.
    #[cfg(test)]
    pub fn system_only(system: &'s PropertySet<'a>) -> Self {
        ConditionScope {
            subjects: Vec::new(),
            endpoints: None,
            system,
            report: false,
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

pub(super) fn limit_problem(label: String) -> ConditionReport {
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
pub(super) fn tree_depth(expression: &IdedExpr) -> usize {
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
pub(super) fn children(node: &IdedExpr) -> Vec<&IdedExpr> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PropertyDefinition, PropertyType};
    use serde_json::Value as Json;

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
            report: false,
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
            report: false,
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
            ("\"zone\" in crossed_boundaries", "crossed_boundaries"),
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
