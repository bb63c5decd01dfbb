//! Values the engine computes with, and the interner that makes strings cheap to compare.
//!
//! Every string a model or a condition holds is interned once: comparing an enum property with
//! a literal is then comparing two integers, not two strings.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::model::{PropertyDefinition, PropertyType};

/// An interned string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, Sym>,
    texts: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.ids.get(text) {
            return *sym;
        }
        let sym = Sym(self.texts.len() as u32);
        self.texts.push(text.into());
        self.ids.insert(text.into(), sym);
        sym
    }

    pub fn get(&self, text: &str) -> Option<Sym> {
        self.ids.get(text).copied()
    }

    pub fn text(&self, sym: Sym) -> &str {
        self.texts.get(sym.0 as usize).map_or("", |text| text)
    }
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    /// A string from a model or a condition.
    Str(Sym),
    /// A string computed during evaluation (`"a" + self.b`, `string(1)`).
    Text(Arc<str>),
    List(Arc<[Value]>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Double(_) => "double",
            Value::Str(_) | Value::Text(_) => "string",
            Value::List(_) => "list",
        }
    }

    /// The text of a string value.
    pub fn as_text<'a>(&'a self, symbols: &'a Interner) -> Option<&'a str> {
        match self {
            Value::Str(sym) => Some(symbols.text(*sym)),
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// CEL equality. Values of different types are not equal (the checker has already
    /// refused comparisons that cannot make sense).
    pub fn equals(&self, other: &Value, symbols: &Interner) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(left), Value::Bool(right)) => left == right,
            (Value::Int(left), Value::Int(right)) => left == right,
            (Value::Double(left), Value::Double(right)) => left == right,
            (Value::Int(left), Value::Double(right)) | (Value::Double(right), Value::Int(left)) => {
                (*left as f64) == *right
            }
            (Value::Str(left), Value::Str(right)) => left == right,
            (left @ (Value::Str(_) | Value::Text(_)), right @ (Value::Str(_) | Value::Text(_))) => {
                left.as_text(symbols) == right.as_text(symbols)
            }
            (Value::List(left), Value::List(right)) => {
                left.len() == right.len()
                    && left
                        .iter()
                        .zip(right.iter())
                        .all(|(left, right)| left.equals(right, symbols))
            }
            _ => false,
        }
    }

    /// The value as people read it, in CEL syntax.
    pub fn display<'a>(&'a self, symbols: &'a Interner) -> Display<'a> {
        Display {
            value: self,
            symbols,
        }
    }

    /// Converts a property value of a model (already checked to fit its definition).
    pub fn from_json(json: &Json, symbols: &mut Interner) -> Option<Value> {
        Some(match json {
            Json::Null => Value::Null,
            Json::Bool(boolean) => Value::Bool(*boolean),
            Json::Number(number) => match number.as_i64() {
                Some(integer) => Value::Int(integer),
                None => Value::Double(number.as_f64()?),
            },
            Json::String(text) => Value::Str(symbols.intern(text)),
            Json::Array(items) => Value::List(
                items
                    .iter()
                    .map(|item| Value::from_json(item, symbols))
                    .collect::<Option<Vec<_>>>()?
                    .into(),
            ),
            Json::Object(_) => return None,
        })
    }

    /// The default value of a property.
    pub fn default_of(definition: &PropertyDefinition, symbols: &mut Interner) -> Value {
        match Value::from_json(&definition.default, symbols) {
            Some(value) => value,
            None => match definition.property_type {
                PropertyType::Bool => Value::Bool(false),
                PropertyType::Int => Value::Int(0),
                PropertyType::String | PropertyType::Enum => Value::Str(symbols.intern("")),
                PropertyType::List => Value::List(Arc::from(Vec::new())),
            },
        }
    }
}

pub struct Display<'a> {
    value: &'a Value,
    symbols: &'a Interner,
}

impl fmt::Display for Display<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Value::Null => formatter.write_str("null"),
            Value::Bool(boolean) => write!(formatter, "{boolean}"),
            Value::Int(integer) => write!(formatter, "{integer}"),
            Value::Double(double) => write!(formatter, "{double:?}"),
            Value::Str(_) | Value::Text(_) => {
                let text = self.value.as_text(self.symbols).unwrap_or("");
                write!(formatter, "{}", serde_json::Value::from(text))
            }
            Value::List(items) => {
                formatter.write_str("[")?;
                for (position, item) in items.iter().enumerate() {
                    if position > 0 {
                        formatter.write_str(", ")?;
                    }
                    write!(formatter, "{}", item.display(self.symbols))?;
                }
                formatter.write_str("]")
            }
        }
    }
}
