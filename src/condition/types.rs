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
