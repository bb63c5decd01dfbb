//! Conditions as typed predicates: the fast way to decide whether a compiled condition holds.
//!
//! `Program::evaluate` walks the operation tree and returns a `Value` (or an error with its
//! message) at every node. Most conditions are `&&`/`||`/`!` over property reads, comparisons
//! and membership tests, which need neither: `Predicate` is that shape, built once from the tree,
//! whose nodes read values in place (no clone, no allocation) and answer `Tri` — true, false or
//! "an error happened". `&&`/`||` are n-ary and keep CEL's semantics (a deciding side absorbs
//! an error on the other; otherwise the error wins); anything else stays a `General` node run by
//! the tree evaluator. The message of an error is not needed to decide: `Program::holds`
//! evaluates the tree again only then, so errors are reported exactly as before.

use std::sync::Arc;

use super::eval::{self, Frame, compare, endpoint};
use super::program::{BinaryOp, End, Expr, NO_SLOT, Op, UnaryOp};
use super::value::Value;

/// The outcome of a test: a bool, or an error (never read as false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    False,
    True,
    Error,
}

impl Tri {
    fn of(value: bool) -> Tri {
        if value { Tri::True } else { Tri::False }
    }
}

/// A value a test reads where it is: a property slot or a constant.
#[derive(Debug, Clone)]
pub enum Operand {
    Subject(u32),
    Endpoint(End, Arc<[u32]>),
    System(u32),
    Const(Value),
    /// A property the entity does not declare: reading it is an error.
    Missing,
}

/// A condition as a tree of typed tests.
#[derive(Debug, Clone)]
pub enum Predicate {
    Const(bool),
    /// A bool read from a slot.
    Read(Operand),
    CrossesBoundary,
    /// `has(source.x)` / `has(target.x)`.
    EndpointHas(End, Arc<[u32]>),
    Not(Box<Predicate>),
    /// `&&` of every part.
    All(Box<[Predicate]>),
    /// `||` of every part.
    Any(Box<[Predicate]>),
    /// `==` (or `!=` when `negated`).
    Equal {
        left: Operand,
        right: Operand,
        negated: bool,
    },
    /// `<`, `<=`, `>`, `>=`.
    Order(BinaryOp, Operand, Operand),
    /// `item in list`.
    In(Operand, Operand),
    /// Anything else: the tree evaluator decides.
    General(Box<Expr>),
}

impl Operand {
    fn of(expr: &Expr) -> Option<Operand> {
        Some(match &expr.op {
            Op::Subject { slot, .. } => Operand::Subject(*slot),
            Op::Endpoint { end, slots, .. } => Operand::Endpoint(*end, slots.clone()),
            Op::System { slot, .. } => Operand::System(*slot),
            Op::Const(value) => Operand::Const(value.clone()),
            Op::Missing { .. } => Operand::Missing,
            _ => return None,
        })
    }

    #[inline]
    fn read<'v>(&'v self, frame: &Frame<'v>) -> Option<&'v Value> {
        match self {
            Operand::Subject(slot) => frame.subject.get(*slot as usize),
            Operand::System(slot) => frame.system.get(*slot as usize),
            Operand::Const(value) => Some(value),
            Operand::Endpoint(end, slots) => {
                let endpoint = endpoint(frame, *end)?;
                match slots.get(endpoint.entity).copied() {
                    Some(slot) if slot != NO_SLOT => endpoint.values.get(slot as usize),
                    _ => None,
                }
            }
            Operand::Missing => None,
        }
    }
}

impl Predicate {
    /// The test of a compiled expression.
    pub fn of(expr: &Expr) -> Predicate {
        let general = || Predicate::General(Box::new(expr.clone()));
        match &expr.op {
            Op::Const(Value::Bool(value)) => Predicate::Const(*value),
            Op::Subject { .. } | Op::Endpoint { .. } | Op::System { .. } | Op::Missing { .. } => {
                Operand::of(expr).map_or_else(general, Predicate::Read)
            }
            Op::CrossesBoundary => Predicate::CrossesBoundary,
            Op::EndpointHas { end, slots } => Predicate::EndpointHas(*end, slots.clone()),
            Op::Unary(UnaryOp::Not, operand) => Predicate::Not(Box::new(Predicate::of(operand))),
            Op::And(pair) => {
                let mut parts = Vec::new();
                flatten(&pair.0, true, &mut parts);
                flatten(&pair.1, true, &mut parts);
                Predicate::All(parts.into())
            }
            Op::Or(pair) => {
                let mut parts = Vec::new();
                flatten(&pair.0, false, &mut parts);
                flatten(&pair.1, false, &mut parts);
                Predicate::Any(parts.into())
            }
            Op::Binary(op, pair) => {
                let (Some(left), Some(right)) = (Operand::of(&pair.0), Operand::of(&pair.1)) else {
                    return general();
                };
                match op {
                    BinaryOp::Equal | BinaryOp::NotEqual => Predicate::Equal {
                        left,
                        right,
                        negated: *op == BinaryOp::NotEqual,
                    },
                    BinaryOp::Less
                    | BinaryOp::LessEqual
                    | BinaryOp::Greater
                    | BinaryOp::GreaterEqual => Predicate::Order(*op, left, right),
                    BinaryOp::In => Predicate::In(left, right),
                    _ => general(),
                }
            }
            _ => general(),
        }
    }

    /// Runs the test on the frame's element.
    pub fn run(&self, frame: &mut Frame<'_>) -> Tri {
        match self {
            Predicate::Const(value) => Tri::of(*value),
            Predicate::Read(operand) => match operand.read(frame) {
                Some(Value::Bool(value)) => Tri::of(*value),
                _ => Tri::Error,
            },
            Predicate::CrossesBoundary => Tri::of(frame.crosses_boundary),
            Predicate::EndpointHas(end, slots) => Tri::of(
                endpoint(frame, *end)
                    .is_some_and(|end| slots.get(end.entity).is_some_and(|slot| *slot != NO_SLOT)),
            ),
            Predicate::Not(inner) => match inner.run(frame) {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Error => Tri::Error,
            },
            Predicate::All(parts) => decide(parts, frame, Tri::False),
            Predicate::Any(parts) => decide(parts, frame, Tri::True),
            Predicate::Equal {
                left,
                right,
                negated,
            } => match (left.read(frame), right.read(frame)) {
                (Some(Value::Str(left)), Some(Value::Str(right))) => {
                    Tri::of((left == right) != *negated)
                }
                (Some(left), Some(right)) => Tri::of(left.equals(right, frame.symbols) != *negated),
                _ => Tri::Error,
            },
            Predicate::Order(op, left, right) => match (left.read(frame), right.read(frame)) {
                (Some(Value::Int(left)), Some(Value::Int(right))) => Tri::of(match op {
                    BinaryOp::Less => left < right,
                    BinaryOp::LessEqual => left <= right,
                    BinaryOp::Greater => left > right,
                    _ => left >= right,
                }),
                (Some(left), Some(right)) => match compare(*op, left, right, frame.symbols) {
                    Some(result) => Tri::of(result),
                    None => Tri::Error,
                },
                _ => Tri::Error,
            },
            Predicate::In(item, list) => match (item.read(frame), list.read(frame)) {
                (Some(Value::Str(item)), Some(Value::List(items))) => {
                    Tri::of(items.iter().any(|candidate| match candidate {
                        Value::Str(candidate) => candidate == item,
                        other => other.equals(&Value::Str(*item), frame.symbols),
                    }))
                }
                (Some(item), Some(Value::List(items))) => Tri::of(
                    items
                        .iter()
                        .any(|candidate| candidate.equals(item, frame.symbols)),
                ),
                _ => Tri::Error,
            },
            Predicate::General(expr) => match eval::eval(expr, frame, &mut ()) {
                Ok(Value::Bool(value)) => Tri::of(value),
                _ => Tri::Error,
            },
        }
    }
}

/// Puts the operands of nested `&&` (`all`) or `||` into one list: both are associative under
/// CEL's error absorption.
fn flatten(expr: &Expr, all: bool, parts: &mut Vec<Predicate>) {
    match &expr.op {
        Op::And(pair) if all => {
            flatten(&pair.0, all, parts);
            flatten(&pair.1, all, parts);
        }
        Op::Or(pair) if !all => {
            flatten(&pair.0, all, parts);
            flatten(&pair.1, all, parts);
        }
        _ => parts.push(Predicate::of(expr)),
    }
}

/// `&&` (`decisive` false) or `||` (`decisive` true) over `parts`: the decisive value if any
/// part has it, else an error if any part failed, else the other value.
#[inline]
fn decide(parts: &[Predicate], frame: &mut Frame<'_>, decisive: Tri) -> Tri {
    let mut failed = false;
    for part in parts {
        match part.run(frame) {
            Tri::Error => failed = true,
            outcome if outcome == decisive => return decisive,
            _ => {}
        }
    }
    if failed {
        Tri::Error
    } else if decisive == Tri::True {
        Tri::False
    } else {
        Tri::True
    }
}
