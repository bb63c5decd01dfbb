//! The types a condition's sub-expressions have before evaluation, and the roles of the
//! variables (`self`, `source`, `target`, `system`) that hold properties.

use crate::model::{PropertyDefinition, PropertyType};

/// The type of a sub-expression, as far as it can be known before evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Type {
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
    /// `report` or one of its records (`report.residual`) in an activity rule: fixed fields.
    Record(&'static str),
    /// Unknown until evaluation: accepted everywhere.
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Role {
    Subject,
    Source,
    Target,
    System,
}

impl Role {
    pub(super) fn variable(self) -> &'static str {
        match self {
            Role::Subject => "self",
            Role::Source => "source",
            Role::Target => "target",
            Role::System => "system",
        }
    }
}

impl Type {
    pub(super) fn describe(&self) -> String {
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
            Type::Record(path) => format!("`{path}`"),
            Type::Element(role) => format!("the element `{}`", role.variable()),
            Type::Dynamic => "a value".to_string(),
        }
    }

    pub(super) fn of_property(definition: &PropertyDefinition) -> Type {
        match definition.property_type {
            PropertyType::Bool => Type::Bool,
            PropertyType::Int => Type::Int,
            PropertyType::String => Type::String,
            PropertyType::Enum => Type::Enum(definition.values.clone()),
            PropertyType::List => Type::List(Box::new(Type::Enum(definition.values.clone()))),
        }
    }

    /// The type of `record.field` (`report.residual.critical`), from [`REPORT_FIELDS`].
    pub(super) fn of_record_field(record: &str, field: &str) -> Option<Type> {
        let path = format!("{record}.{field}");
        let (path, _, kind) = REPORT_FIELDS.iter().find(|(known, _, _)| *known == path)?;
        Some(match kind {
            ReportFieldType::Int => Type::Int,
            ReportFieldType::String => Type::String,
            ReportFieldType::Record => Type::Record(path),
        })
    }

    pub(super) fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Double | Type::Dynamic)
    }

    pub(super) fn is_stringlike(&self) -> bool {
        matches!(self, Type::String | Type::Enum(_) | Type::Dynamic)
    }

    /// Whether values of the two types can be compared for equality.
    pub(super) fn comparable(&self, other: &Type) -> bool {
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

/// The type of a field of `report` in an activity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFieldType {
    Int,
    String,
    /// Holds fields of its own (listed with its path as prefix).
    Record,
}

/// Everything an activity rule may read of `report`: its path, what it holds and its type.
/// `analysis::activities` fills in exactly these; docs/pack-format.md#activities lists them.
pub const REPORT_FIELDS: &[(&str, &str, ReportFieldType)] = &[
    (
        "report.threats",
        "the number of threat instances",
        ReportFieldType::Int,
    ),
    (
        "report.unmitigated",
        "the number of threat instances with no mitigation in place",
        ReportFieldType::Int,
    ),
    (
        "report.residual",
        "the number of threat instances per residual risk level",
        ReportFieldType::Record,
    ),
    (
        "report.residual.critical",
        "threat instances whose residual risk is critical",
        ReportFieldType::Int,
    ),
    (
        "report.residual.high",
        "threat instances whose residual risk is high",
        ReportFieldType::Int,
    ),
    (
        "report.residual.medium",
        "threat instances whose residual risk is medium",
        ReportFieldType::Int,
    ),
    (
        "report.residual.low",
        "threat instances whose residual risk is low",
        ReportFieldType::Int,
    ),
    (
        "report.residual.info",
        "threat instances whose residual risk is info",
        ReportFieldType::Int,
    ),
    (
        "report.backlog_items",
        "the number of mitigations still to do",
        ReportFieldType::Int,
    ),
    (
        "report.components",
        "the number of components in the model",
        ReportFieldType::Int,
    ),
    (
        "report.internet_facing_components",
        "components whose `internet_facing` property is true",
        ReportFieldType::Int,
    ),
    (
        "report.tier",
        "the tier applied (empty when every tier was)",
        ReportFieldType::String,
    ),
];
