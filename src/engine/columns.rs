//! Columnar evaluation: every condition of an entity decided for 64 of its elements at once.
//!
//! A condition's typed predicate (`predicate.rs`) is `&&`/`||`/`!` over leaves (reads,
//! comparisons, membership, `General` nodes). Each distinct leaf of an entity's conditions runs
//! once per element, with the per-element code (`Predicate::run`), and its outcomes become two
//! bit words per 64 elements: T (true) and F (false); an element in neither failed. A condition
//! is then a few word operations per 64 elements, exactly CEL's commutative error absorption
//! that `Predicate::run` implements: `&&` is T = ∩T, F = ∪F; `||` is T = ∪T, F = ∩F; `!` swaps.
//! Leaves are shared between the conditions of an entity when they are the same test (the same
//! slot, operator and constant): real packs test the same properties again and again. Elements
//! where a condition failed are evaluated again one by one (`Program::holds`), so errors and
//! their messages are exactly those of the per-element evaluator.

use std::collections::HashMap;
use std::sync::Arc;

use super::predicate::{Operand, Predicate};
use super::value::{Sym, Value};

/// A condition as `&&`/`||`/`!` over the leaves of its entity (`Leaves`).
#[derive(Debug)]
pub enum Formula {
    Leaf(u32),
    Not(Box<Formula>),
    All(Box<[Formula]>),
    Any(Box<[Formula]>),
}

/// The distinct leaves of the conditions compiled for one entity.
#[derive(Debug, Default)]
pub struct Leaves {
    pub tests: Vec<Predicate>,
    index: HashMap<LeafKey, u32>,
    /// The most local variables any of the entity's programs uses (`General` leaves run
    /// comprehensions).
    pub locals: u32,
}

impl Leaves {
    /// The formula of `predicate`, its leaves added to (or found among) the entity's.
    pub fn formula(&mut self, predicate: &Predicate) -> Formula {
        match predicate {
            Predicate::Not(inner) => Formula::Not(Box::new(self.formula(inner))),
            Predicate::All(parts) => {
                Formula::All(parts.iter().map(|part| self.formula(part)).collect())
            }
            Predicate::Any(parts) => {
                Formula::Any(parts.iter().map(|part| self.formula(part)).collect())
            }
            leaf => Formula::Leaf(self.intern(leaf)),
        }
    }

    fn intern(&mut self, leaf: &Predicate) -> u32 {
        let key = LeafKey::of(leaf);
        if let Some(index) = key.as_ref().and_then(|key| self.index.get(key)) {
            return *index;
        }
        let index = self.tests.len() as u32;
        self.tests.push(leaf.clone());
        if let Some(key) = key {
            self.index.insert(key, index);
        }
        index
    }
}

impl Formula {
    /// The (true, false) words of 64 elements, from the words of the leaves. Bits of neither
    /// are elements where the condition failed.
    #[inline]
    pub fn decide(&self, trues: &[u64], falses: &[u64]) -> (u64, u64) {
        match self {
            Formula::Leaf(leaf) => (trues[*leaf as usize], falses[*leaf as usize]),
            Formula::Not(inner) => {
                let (yes, no) = inner.decide(trues, falses);
                (no, yes)
            }
            Formula::All(parts) => parts.iter().fold((!0, 0), |(yes, no), part| {
                let (part_yes, part_no) = part.decide(trues, falses);
                (yes & part_yes, no | part_no)
            }),
            Formula::Any(parts) => parts.iter().fold((0, !0), |(yes, no), part| {
                let (part_yes, part_no) = part.decide(trues, falses);
                (yes | part_yes, no & part_no)
            }),
        }
    }
}

/// What makes two leaves the same test. Leaves without a key (lists of lists, computed
/// strings) are never shared. Endpoint slot tables are told apart by address: the engine hands
/// out one table per property name (`EndpointSlots`), so equal addresses are equal tables.
#[derive(Debug, PartialEq, Eq, Hash)]
enum LeafKey {
    Const(bool),
    Read(OperandKey),
    CrossesBoundary,
    EndpointHas(u8, usize),
    Equal(OperandKey, OperandKey, bool),
    Order(u8, OperandKey, OperandKey),
    In(OperandKey, OperandKey),
}

#[derive(Debug, PartialEq, Eq, Hash)]
enum OperandKey {
    Subject(u32),
    Endpoint(u8, usize),
    System(u32),
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    /// By its bits: two doubles with the same bits compare the same way.
    Double(u64),
    Str(Sym),
    List(Box<[OperandKey]>),
}

impl LeafKey {
    fn of(leaf: &Predicate) -> Option<LeafKey> {
        Some(match leaf {
            Predicate::Const(value) => LeafKey::Const(*value),
            Predicate::Read(operand) => LeafKey::Read(OperandKey::of(operand)?),
            Predicate::CrossesBoundary => LeafKey::CrossesBoundary,
            Predicate::EndpointHas(end, slots) => LeafKey::EndpointHas(*end as u8, address(slots)),
            Predicate::Equal {
                left,
                right,
                negated,
            } => LeafKey::Equal(OperandKey::of(left)?, OperandKey::of(right)?, *negated),
            Predicate::Order(op, left, right) => {
                LeafKey::Order(*op as u8, OperandKey::of(left)?, OperandKey::of(right)?)
            }
            Predicate::In(item, list) => LeafKey::In(OperandKey::of(item)?, OperandKey::of(list)?),
            Predicate::Not(_) | Predicate::All(_) | Predicate::Any(_) | Predicate::General(_) => {
                return None;
            }
        })
    }
}

impl OperandKey {
    fn of(operand: &Operand) -> Option<OperandKey> {
        Some(match operand {
            Operand::Subject(slot) => OperandKey::Subject(*slot),
            Operand::Endpoint(end, slots) => OperandKey::Endpoint(*end as u8, address(slots)),
            Operand::System(slot) => OperandKey::System(*slot),
            Operand::Missing => OperandKey::Missing,
            Operand::Const(value) => OperandKey::value(value)?,
        })
    }

    fn value(value: &Value) -> Option<OperandKey> {
        Some(match value {
            Value::Null => OperandKey::Null,
            Value::Bool(value) => OperandKey::Bool(*value),
            Value::Int(value) => OperandKey::Int(*value),
            Value::Double(value) => OperandKey::Double(value.to_bits()),
            Value::Str(sym) => OperandKey::Str(*sym),
            Value::List(items) => OperandKey::List(
                items
                    .iter()
                    .map(|item| match item {
                        Value::List(_) => None,
                        scalar => OperandKey::value(scalar),
                    })
                    .collect::<Option<_>>()?,
            ),
            Value::Text(_) => return None,
        })
    }
}

fn address(slots: &Arc<[u32]>) -> usize {
    Arc::as_ptr(slots).cast::<u32>() as usize
}
