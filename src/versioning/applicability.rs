//! Whether the set of elements an attack pattern (or a link) applies to can grow or shrink
//! between two versions.
//!
//! Only elements a model could hold under both versions count: entities present in both, with
//! property values valid in both. An element of a new entity, or with a new enum value, did not
//! exist before, so it cannot be a finding that appears by surprise.
//!
//! Three ways to decide, tried in order:
//! 1. exhaustive: when every property both conditions read on an entity is a bool or an enum
//!    (or exists only in the new version, where an old model has its default), and the
//!    combinations of their values number at most `engine::enumerate::MAX_COMBINATIONS` (the
//!    cap the constant-condition check uses too), both conditions are compiled with the rule
//!    engine and evaluated on every combination — exact;
//! 2. structural, on the parsed conditions (never their text): equal once written canonically
//!    (layout and redundant parentheses do not count); or the top-level `&&` operands of one (nested
//!    `&&` flattened) a strict subset of the other's (fewer parts: wider), or the top-level `||`
//!    operands (more: wider);
//! 3. otherwise it cannot be told, and the change is taken as possibly wider (and narrower):
//!    a pack author then proves nothing by accident, and a consumer is never surprised.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value as Json;

use crate::compile::KnowledgeBase;
use crate::engine::Engine;
use crate::engine::enumerate::combinations;
use crate::engine::eval::Frame;
use crate::engine::program::{Op, Program, parse};
use crate::engine::value::Value;
use crate::model::{PropertyDefinition, PropertyType};
use cel::IdedExpr;
use cel::common::ast::{Expr as CelExpr, LiteralValue};

/// How the elements an attack pattern or link applies to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Applicability {
    pub direction: Direction,
    /// How the condition part was decided.
    pub proof: Proof,
    /// Entities of both versions it applies to now and did not (through `applies-to`, or an
    /// entity's new parent).
    pub entities_added: Vec<String>,
    /// Entities of both versions it no longer applies to.
    pub entities_removed: Vec<String>,
    /// With an exhaustive proof of a wider condition: an element it applies to now and did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// The same elements (the text changed, the meaning did not).
    Unchanged,
    /// Only fewer elements.
    Narrower,
    /// Possibly more elements, never fewer.
    Wider,
    /// More somewhere and fewer elsewhere, or it cannot be told.
    WiderAndNarrower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proof {
    /// The condition did not change: only the entities it applies to did (compared exactly).
    SameCondition,
    /// Both conditions evaluated by the rule engine on every combination of the values they
    /// read, on every entity: exact.
    Exhaustive,
    /// Compared by their text and top-level `&&`/`||` parts.
    Structural,
    /// Could not be decided: taken as wider (and narrower).
    Unproven,
}

impl Direction {
    fn of(grows: bool, shrinks: bool) -> Direction {
        match (grows, shrinks) {
            (false, false) => Direction::Unchanged,
            (false, true) => Direction::Narrower,
            (true, false) => Direction::Wider,
            (true, true) => Direction::WiderAndNarrower,
        }
    }

    /// Whether it may apply to elements it did not apply to.
    pub fn may_grow(self) -> bool {
        matches!(self, Direction::Wider | Direction::WiderAndNarrower)
    }

    pub fn may_shrink(self) -> bool {
        matches!(self, Direction::Narrower | Direction::WiderAndNarrower)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Unchanged => "unchanged",
            Direction::Narrower => "narrower",
            Direction::Wider => "wider",
            Direction::WiderAndNarrower => "wider-and-narrower",
        }
    }
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::SameCondition => "same-condition",
            Proof::Exhaustive => "exhaustive",
            Proof::Structural => "structural",
            Proof::Unproven => "unproven",
        }
    }
}

/// Compares conditions of two knowledge bases, with an engine for each.
pub struct Comparer<'kb> {
    old: Engine<'kb>,
    new: Engine<'kb>,
}

/// What a condition gave on one combination. An error is kept apart: the engine reports it
/// instead of a finding, so error → true is a finding that appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    True,
    False,
    Error,
}

/// What the condition part changes: whether it may grow, shrink, how that was decided, and an
/// element it grows to.
struct ConditionChange {
    grows: bool,
    shrinks: bool,
    proof: Proof,
    witness: Option<String>,
}

impl<'kb> Comparer<'kb> {
    pub fn new(old: &'kb KnowledgeBase, new: &'kb KnowledgeBase) -> Comparer<'kb> {
        Comparer {
            old: Engine::new(old),
            new: Engine::new(new),
        }
    }

    /// How the elements change for a rule applying under `old_condition` to the entities
    /// `old_matches`, and under `new_condition` to `new_matches` (qualified ids).
    pub fn applicability(
        &mut self,
        old_condition: Option<&str>,
        new_condition: Option<&str>,
        old_matches: &[String],
        new_matches: &[String],
    ) -> Applicability {
        let in_both = |id: &String| self.old.entity(id).is_some() && self.new.entity(id).is_some();
        let entities_added: Vec<String> = new_matches
            .iter()
            .filter(|id| in_both(id) && !old_matches.contains(id))
            .cloned()
            .collect();
        let entities_removed: Vec<String> = old_matches
            .iter()
            .filter(|id| in_both(id) && !new_matches.contains(id))
            .cloned()
            .collect();
        let compared: Vec<String> = old_matches
            .iter()
            .filter(|id| new_matches.contains(id) && in_both(id))
            .cloned()
            .collect();
        let condition = self.condition_change(old_condition, new_condition, &compared);
        Applicability {
            direction: Direction::of(
                condition.grows || !entities_added.is_empty(),
                condition.shrinks || !entities_removed.is_empty(),
            ),
            proof: condition.proof,
            entities_added,
            entities_removed,
            witness: condition.witness,
        }
    }

    fn condition_change(
        &mut self,
        old: Option<&str>,
        new: Option<&str>,
        entities: &[String],
    ) -> ConditionChange {
        let decided = |grows, shrinks, proof| ConditionChange {
            grows,
            shrinks,
            proof,
            witness: None,
        };
        if old == new {
            return decided(false, false, Proof::SameCondition);
        }
        if let Some(exhaustive) = self.exhaustive(old, new, entities) {
            return exhaustive;
        }
        match structural(old, new) {
            Some((grows, shrinks)) => decided(grows, shrinks, Proof::Structural),
            None => decided(true, true, Proof::Unproven),
        }
    }

    /// Evaluates both conditions on every combination of the values they read, on every
    /// entity; `None` when some entity cannot be enumerated.
    fn exhaustive(
        &mut self,
        old: Option<&str>,
        new: Option<&str>,
        entities: &[String],
    ) -> Option<ConditionChange> {
        if !old.into_iter().chain(new).all(shallow) {
            return None;
        }
        let old_parsed = old.map(parse).transpose().ok()?;
        let new_parsed = new.map(parse).transpose().ok()?;
        let mut change = ConditionChange {
            grows: false,
            shrinks: false,
            proof: Proof::Exhaustive,
            witness: None,
        };
        for id in entities {
            let old_entity = self.old.entity(id)?;
            let new_entity = self.new.entity(id)?;
            let old_program = match &old_parsed {
                Some(parsed) => Some(self.old.compile(parsed, old_entity).ok()?),
                None => None,
            };
            let new_program = match &new_parsed {
                Some(parsed) => Some(self.new.compile(parsed, new_entity).ok()?),
                None => None,
            };
            let (grows, shrinks, witness) = self.enumerate(
                id,
                (old_entity, old_program.as_ref()),
                (new_entity, new_program.as_ref()),
            )?;
            change.grows |= grows;
            change.shrinks |= shrinks;
            if change.witness.is_none() {
                change.witness = witness;
            }
        }
        Some(change)
    }

    /// Evaluates two programs (`None`: no condition, always true) on one entity.
    fn enumerate(
        &mut self,
        id: &str,
        (old_entity, old_program): (usize, Option<&Program>),
        (new_entity, new_program): (usize, Option<&Program>),
    ) -> Option<(bool, bool, Option<String>)> {
        let variables = variables(old_program.into_iter().chain(new_program))?;
        let old_kb = self.old.kb;
        let new_kb = self.new.kb;
        let old_properties = &old_kb.entities[old_entity].properties;
        let new_properties = &new_kb.entities[new_entity].properties;
        // Each variable with its possible values, as JSON and in each engine's values.
        let mut domains: Vec<(Variable, Vec<Json>)> = Vec::new();
        for variable in variables {
            let values = match &variable {
                Variable::Subject(name) => domain(
                    old_properties
                        .get(name)
                        .map(|property| &property.definition),
                    new_properties
                        .get(name)
                        .map(|property| &property.definition),
                )?,
                Variable::System(name) => domain(
                    old_kb
                        .system_properties
                        .get(name)
                        .map(|property| &property.definition),
                    new_kb
                        .system_properties
                        .get(name)
                        .map(|property| &property.definition),
                )?,
                Variable::CrossesBoundary => vec![Json::Bool(false), Json::Bool(true)],
            };
            domains.push((variable, values));
        }
        // Beyond the cap, the comparison is structural.
        let sizes: Vec<usize> = domains.iter().map(|(_, values)| values.len()).collect();
        let choices = combinations(&sizes)?;
        let old_side = Side::new(&mut self.old, old_entity, &domains)?;
        let new_side = Side::new(&mut self.new, new_entity, &domains)?;
        let (mut grows, mut shrinks, mut witness) = (false, false, None);
        for choice in choices {
            let old_outcome = old_side.evaluate(&self.old, old_program, &choice);
            let new_outcome = new_side.evaluate(&self.new, new_program, &choice);
            if old_outcome == new_outcome {
                continue;
            }
            if new_outcome != Outcome::False {
                grows = true;
                if witness.is_none() {
                    witness = Some(describe(id, &domains, &choice));
                }
            }
            if old_outcome != Outcome::False {
                shrinks = true;
            }
        }
        Some((grows, shrinks, witness))
    }
}

/// Whether a condition is certainly shallow enough to parse on any thread: the CEL parser
/// recurses on brackets and on prefix and conditional operators before any depth limit
/// applies, and a hostile bundle (a registry comparing an upload) may nest them thousands
/// deep. Counting them outside string literals bounds that recursion without parsing.
fn shallow(text: &str) -> bool {
    let mut depth: usize = 0;
    let mut deepest: usize = 0;
    let mut operators: usize = 0;
    for (piece, literal) in pieces(text) {
        if literal {
            continue;
        }
        for character in piece.chars() {
            match character {
                '(' | '[' | '{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                '!' | '-' | '?' => operators += 1,
                _ => {}
            }
        }
    }
    deepest + operators <= crate::engine::program::MAX_CONDITION_DEPTH
}

/// What a condition reads that the enumeration must vary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Variable {
    Subject(String),
    System(String),
    CrossesBoundary,
}

/// The variables programs read; `None` when they read a flow's ends, which depend on other
/// elements of the model.
fn variables<'p>(programs: impl Iterator<Item = &'p Program>) -> Option<Vec<Variable>> {
    let mut variables = BTreeSet::new();
    for program in programs {
        for op in program.operations() {
            match op {
                Op::Subject { name, .. } => {
                    variables.insert(Variable::Subject(name.to_string()));
                }
                Op::System { name, .. } => {
                    variables.insert(Variable::System(name.to_string()));
                }
                Op::CrossesBoundary => {
                    variables.insert(Variable::CrossesBoundary);
                }
                Op::Endpoint { .. } | Op::EndpointHas { .. } | Op::CrossedBoundaries => {
                    return None;
                }
                _ => {}
            }
        }
    }
    Some(variables.into_iter().collect())
}

/// The values a property can have in a model valid under both versions: a bool's two, the
/// enum values both versions accept; only the default when only the new version has it (an
/// old model cannot set it). `None` when the values are not few (int, string, list) or the
/// type changed.
fn domain(old: Option<&PropertyDefinition>, new: Option<&PropertyDefinition>) -> Option<Vec<Json>> {
    let finite = |definition: &PropertyDefinition| -> Option<Vec<Json>> {
        match definition.property_type {
            PropertyType::Bool => Some(vec![Json::Bool(false), Json::Bool(true)]),
            PropertyType::Enum => Some(
                definition
                    .values
                    .iter()
                    .map(|value| Json::from(value.as_str()))
                    .collect(),
            ),
            _ => None,
        }
    };
    match (old, new) {
        (Some(old), Some(new)) if old.property_type == new.property_type => {
            let new_values = finite(new)?;
            Some(
                finite(old)?
                    .into_iter()
                    .filter(|value| new_values.contains(value))
                    .collect(),
            )
        }
        (Some(old), None) => finite(old),
        (None, Some(new)) => Some(vec![new.default.clone()]),
        _ => None,
    }
}

/// "`ns/p:entity/e` with self.public = true, system.tier = \"high\"".
fn describe(id: &str, domains: &[(Variable, Vec<Json>)], choice: &[usize]) -> String {
    let assignments: Vec<String> = domains
        .iter()
        .zip(choice)
        .map(|((variable, values), index)| {
            let name = match variable {
                Variable::Subject(name) => format!("self.{name}"),
                Variable::System(name) => format!("system.{name}"),
                Variable::CrossesBoundary => "crosses_boundary".to_string(),
            };
            format!("`{name} = {}`", values[*index])
        })
        .collect();
    if assignments.is_empty() {
        format!("`{id}`")
    } else {
        format!("`{id}` with {}", assignments.join(", "))
    }
}

/// One engine's view of the enumeration: its default values, and each variable's values and
/// slot in it.
struct Side {
    subject: Vec<Value>,
    system: Vec<Value>,
    /// Per variable: where it goes (`None`: this version does not have it) and its values.
    variables: Vec<(Option<Slot>, Vec<Value>)>,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Subject(usize),
    System(usize),
    CrossesBoundary,
}

impl Side {
    fn new(
        engine: &mut Engine<'_>,
        entity: usize,
        domains: &[(Variable, Vec<Json>)],
    ) -> Option<Side> {
        let kb = engine.kb;
        let properties = &kb.entities[entity].properties;
        let subject = properties
            .values()
            .map(|property| Value::default_of(&property.definition, &mut engine.symbols))
            .collect();
        let system = kb
            .system_properties
            .values()
            .map(|property| Value::default_of(&property.definition, &mut engine.symbols))
            .collect();
        let mut variables = Vec::new();
        for (variable, values) in domains {
            let slot = match variable {
                Variable::Subject(name) => properties
                    .keys()
                    .position(|known| known == name)
                    .map(Slot::Subject),
                Variable::System(name) => kb
                    .system_properties
                    .keys()
                    .position(|known| known == name)
                    .map(Slot::System),
                Variable::CrossesBoundary => Some(Slot::CrossesBoundary),
            };
            let values = values
                .iter()
                .map(|value| Value::from_json(value, &mut engine.symbols))
                .collect::<Option<Vec<Value>>>()?;
            variables.push((slot, values));
        }
        Some(Side {
            subject,
            system,
            variables,
        })
    }

    fn evaluate(
        &self,
        engine: &Engine<'_>,
        program: Option<&Program>,
        choice: &[usize],
    ) -> Outcome {
        let Some(program) = program else {
            return Outcome::True;
        };
        let mut subject = self.subject.clone();
        let mut system = self.system.clone();
        let mut crosses_boundary = false;
        for ((slot, values), index) in self.variables.iter().zip(choice) {
            let value = values[*index].clone();
            match slot {
                Some(Slot::Subject(at)) => subject[*at] = value,
                Some(Slot::System(at)) => system[*at] = value,
                Some(Slot::CrossesBoundary) => {
                    crosses_boundary = matches!(value, Value::Bool(true))
                }
                None => {}
            }
        }
        let mut frame = Frame {
            subject: &subject,
            source: None,
            target: None,
            crosses_boundary,
            crossed_boundaries: Value::List(Vec::new().into()),
            system: &system,
            symbols: &engine.symbols,
            locals: Vec::new(),
        };
        match program.evaluate(&mut frame, &mut ()) {
            Ok(true) => Outcome::True,
            Ok(false) => Outcome::False,
            Err(_) => Outcome::Error,
        }
    }
}

/// Decides by the text alone: `(grows, shrinks)`, or `None` when it cannot tell. No condition
/// applies everywhere, so adding one narrows and removing one widens.
fn structural(old: Option<&str>, new: Option<&str>) -> Option<(bool, bool)> {
    let (old, new) = match (old, new) {
        (None, None) => return Some((false, false)),
        (None, Some(_)) => return Some((false, true)),
        (Some(_), None) => return Some((true, false)),
        (Some(old), Some(new)) => (parsed(old)?, parsed(new)?),
    };
    if canonical(&old)? == canonical(&new)? {
        return Some((false, false));
    }
    // `a || b && c` is `a || (b && c)`: only a condition whose top is not `||` has `&&` parts.
    let conjuncts = |expression: &IdedExpr| -> Option<BTreeSet<String>> {
        if call_name(expression) == Some("_||_") {
            Some(BTreeSet::from([canonical(expression)?]))
        } else {
            parts(expression, "_&&_")
        }
    };
    let (old_all, new_all) = (conjuncts(&old)?, conjuncts(&new)?);
    if old_all == new_all {
        return Some((false, false));
    }
    if old_all.is_subset(&new_all) {
        return Some((false, true));
    }
    if new_all.is_subset(&old_all) {
        return Some((true, false));
    }
    let (old_any, new_any) = (parts(&old, "_||_")?, parts(&new, "_||_")?);
    if old_any == new_any {
        return Some((false, false));
    }
    if old_any.is_subset(&new_any) {
        return Some((true, false));
    }
    if new_any.is_subset(&old_any) {
        return Some((false, true));
    }
    None
}

/// A condition parsed for the structural comparison; `None` when it may not be parsed safely
/// (see `shallow`) or does not parse.
fn parsed(text: &str) -> Option<IdedExpr> {
    if !shallow(text) {
        return None;
    }
    parse(text).ok()
}

/// The function a call node calls (`_&&_`, `_||_`, ...).
fn call_name(expression: &IdedExpr) -> Option<&str> {
    match &expression.expr {
        CelExpr::Call(call) => Some(call.func_name.as_str()),
        _ => None,
    }
}

/// The canonical forms of the operands of nested `operator` calls (`_&&_` or `_||_`) at the
/// top of the expression: `(a || b) || c` and `a || (b || c)` both give {a, b, c}.
fn parts(expression: &IdedExpr, operator: &str) -> Option<BTreeSet<String>> {
    let mut parts = BTreeSet::new();
    let mut pending = vec![expression];
    while let Some(node) = pending.pop() {
        match &node.expr {
            CelExpr::Call(call) if call.func_name == operator && call.target.is_none() => {
                pending.extend(call.args.iter());
            }
            _ => {
                parts.insert(canonical(node)?);
            }
        }
    }
    Some(parts)
}

/// A parsed expression written out in one canonical form, without node ids, layout or
/// redundant parentheses: two conditions that parse alike give the same text. `None` for the
/// node kinds conditions do not use (maps, messages, bytes).
fn canonical(expression: &IdedExpr) -> Option<String> {
    let mut out = String::new();
    write_canonical(expression, &mut out)?;
    Some(out)
}

fn write_canonical(expression: &IdedExpr, out: &mut String) -> Option<()> {
    use std::fmt::Write;
    match &expression.expr {
        CelExpr::Literal(literal) => match literal {
            LiteralValue::Boolean(value) => write!(out, "{}", value.inner()).ok()?,
            LiteralValue::Int(value) => write!(out, "{}", value.inner()).ok()?,
            LiteralValue::UInt(value) => write!(out, "{}u", value.inner()).ok()?,
            LiteralValue::Double(value) => write!(out, "{:?}", value.inner()).ok()?,
            LiteralValue::String(value) => {
                let text: &str = value.as_ref();
                write!(out, "{text:?}").ok()?
            }
            LiteralValue::Null => out.push_str("null"),
            LiteralValue::Bytes(_) => return None,
        },
        CelExpr::Ident(name) => out.push_str(name),
        CelExpr::Select(select) => {
            out.push_str(if select.test { "has(" } else { "(" });
            write_canonical(&select.operand, out)?;
            write!(out, ").{}", select.field).ok()?;
        }
        CelExpr::Call(call) => {
            out.push_str(&call.func_name);
            out.push('(');
            if let Some(target) = &call.target {
                write_canonical(target, out)?;
                out.push(';');
            }
            for (position, argument) in call.args.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_canonical(argument, out)?;
            }
            out.push(')');
        }
        CelExpr::List(list) => {
            out.push('[');
            for (position, element) in list.elements.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_canonical(element, out)?;
            }
            out.push(']');
        }
        CelExpr::Comprehension(comprehension) => {
            write!(
                out,
                "comprehension({},{},",
                comprehension.iter_var, comprehension.accu_var
            )
            .ok()?;
            for part in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                write_canonical(part, out)?;
                out.push(';');
            }
            if comprehension.iter_var2.is_some() {
                return None;
            }
            out.push(')');
        }
        CelExpr::Map(_) | CelExpr::Struct(_) | CelExpr::Unspecified => return None,
    }
    Some(())
}

/// A condition as the structural comparison sees it: its parsed form written canonically
/// (`canonical`), so that conditions differing only in layout or redundant parentheses are
/// equal; the text itself when it cannot be parsed safely.
pub fn canonical_text(text: &str) -> String {
    parsed(text)
        .and_then(|expression| canonical(&expression))
        .unwrap_or_else(|| text.to_string())
}

/// The text cut into runs outside string literals (`false`) and literals (`true`, quotes and
/// prefix included): `"`, `'`, their triple forms, raw (`r"..."`, no escapes) or not.
fn pieces(text: &str) -> Vec<(&str, bool)> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let quote = bytes[at];
        if quote != b'"' && quote != b'\'' {
            at += 1;
            continue;
        }
        // A raw prefix: `r` or `R` right before the quote, not ending an identifier.
        let raw = at > 0
            && matches!(bytes[at - 1], b'r' | b'R')
            && (at < 2 || !(bytes[at - 2].is_ascii_alphanumeric() || bytes[at - 2] == b'_'));
        let literal_start = if raw { at - 1 } else { at };
        let triple = bytes[at..].starts_with(&[quote, quote, quote]);
        let delimiter = if triple { 3 } else { 1 };
        let mut end = at + delimiter;
        loop {
            if end >= bytes.len() {
                end = bytes.len();
                break;
            }
            if bytes[end] == b'\\' && !raw {
                end += 2;
                continue;
            }
            if bytes[end..].starts_with(&bytes[at..at + delimiter]) {
                end += delimiter;
                break;
            }
            end += 1;
        }
        let end = end.min(bytes.len());
        if literal_start > start {
            pieces.push((&text[start..literal_start], false));
        }
        pieces.push((&text[literal_start..end], true));
        start = end;
        at = end;
    }
    if start < text.len() {
        pieces.push((&text[start..], false));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versioning::test_support::kb;

    /// A pack whose entity `service` has `properties` (TOML tables under
    /// `[entity.properties]`) and whose attack pattern `x` applies to it under `condition`.
    fn pack(properties: &str, condition: &str) -> KnowledgeBase {
        let entities = format!(
            "[[entity]]\nid = \"service\"\nname = \"Service\"\ndescription = \"A service.\"\nkind = \"process\"\n{properties}\n[[entity]]\nid = \"store\"\nname = \"Store\"\ndescription = \"A store.\"\nkind = \"data-store\"\n"
        );
        let attack_patterns = format!(
            "[[attack-pattern]]\nid = \"x\"\nname = \"X\"\ndescription = \"An attack.\"\ncategories = [\"tampering\"]\napplies-to = [\"service\"]\ncondition = '{condition}'\nseverity = \"low\"\n"
        );
        kb(&[
            ("entities/e.toml", &entities),
            ("attack-patterns/a.toml", &attack_patterns),
        ])
    }

    fn property(name: &str, definition: &str) -> String {
        format!(
            "[entity.properties.{name}]\n{definition}\ndescription = \"D.\"\nquestion = \"Q?\"\nrationale = \"R.\"\n"
        )
    }

    fn bool_property(name: &str) -> String {
        property(name, "type = \"bool\"\ndefault = false")
    }

    /// How `x` changes between two packs.
    fn compare(old: &KnowledgeBase, new: &KnowledgeBase) -> Applicability {
        let pattern = |kb: &KnowledgeBase| {
            kb.attack_patterns
                .iter()
                .find(|pattern| pattern.id == "test/pack:attack-pattern/x")
                .cloned()
                .expect("the attack pattern")
        };
        let (old_pattern, new_pattern) = (pattern(old), pattern(new));
        Comparer::new(old, new).applicability(
            old_pattern.condition.as_deref(),
            new_pattern.condition.as_deref(),
            &old_pattern.matches,
            &new_pattern.matches,
        )
    }

    #[test]
    fn bool_conditions_are_decided_exhaustively_with_a_witness() {
        let properties = format!("{}{}", bool_property("a"), bool_property("b"));
        let cases = [
            ("self.a", "self.a || self.b", Direction::Wider),
            ("self.a || self.b", "self.b || self.a", Direction::Unchanged),
            ("self.a", "self.a && self.b", Direction::Narrower),
            ("self.a", "!self.a", Direction::WiderAndNarrower),
            (
                "self.a && !self.b",
                "self.a != self.b && self.a",
                Direction::Unchanged,
            ),
        ];
        for (old, new, direction) in cases {
            let found = compare(&pack(&properties, old), &pack(&properties, new));
            assert_eq!(found.direction, direction, "{old} → {new}");
            assert_eq!(found.proof, Proof::Exhaustive, "{old} → {new}");
            assert_eq!(
                found.witness.is_some(),
                direction.may_grow(),
                "{old} → {new}"
            );
        }
        let widened = compare(
            &pack(&properties, "self.a"),
            &pack(&properties, "self.a || self.b"),
        );
        assert_eq!(
            widened.witness.as_deref(),
            Some("`test/pack:entity/service` with `self.a = false`, `self.b = true`")
        );
    }

    #[test]
    fn only_values_valid_in_both_versions_count() {
        let old_enum = property(
            "auth",
            "type = \"enum\"\nvalues = [\"none\", \"password\"]\ndefault = \"password\"",
        );
        let new_enum = property(
            "auth",
            "type = \"enum\"\nvalues = [\"none\", \"password\", \"sso\"]\ndefault = \"password\"",
        );
        // `sso` is new: no existing element has it.
        let found = compare(
            &pack(&old_enum, r#"self.auth == "none""#),
            &pack(&new_enum, r#"self.auth in ["none", "sso"]"#),
        );
        assert_eq!(found.direction, Direction::Unchanged);
        // A property only the new version has is at its default in every existing model.
        let base = bool_property("a");
        for (default, direction) in [
            ("false", Direction::Unchanged),
            ("true", Direction::Narrower),
        ] {
            let new = format!(
                "{base}{}",
                property("mfa", &format!("type = \"bool\"\ndefault = {default}"))
            );
            let found = compare(&pack(&base, "self.a"), &pack(&new, "self.a && !self.mfa"));
            assert_eq!(found.direction, direction, "mfa defaults to {default}");
        }
    }

    #[test]
    fn other_types_are_compared_structurally_or_taken_as_wider() {
        let properties = format!(
            "{}{}",
            bool_property("a"),
            property("port", "type = \"int\"\ndefault = 443")
        );
        let found = compare(
            &pack(&properties, "self.port > 1024 && self.a"),
            &pack(&properties, "self.port > 1024"),
        );
        assert_eq!(
            (found.direction, found.proof),
            (Direction::Wider, Proof::Structural)
        );
        let found = compare(
            &pack(&properties, "self.port > 1024"),
            &pack(&properties, "self.port > 2048"),
        );
        assert_eq!(
            (found.direction, found.proof),
            (Direction::WiderAndNarrower, Proof::Unproven)
        );
    }

    #[test]
    fn too_many_combinations_fall_back_to_the_structure() {
        let names: Vec<String> = (0..13).map(|at| format!("p{at}")).collect();
        let properties: String = names.iter().map(|name| bool_property(name)).collect();
        let properties = format!("{properties}{}", bool_property("extra"));
        let all = names
            .iter()
            .map(|name| format!("self.{name}"))
            .collect::<Vec<_>>()
            .join(" && ");
        let found = compare(
            &pack(&properties, &all),
            &pack(&properties, &format!("{all} && self.extra")),
        );
        assert_eq!(
            (found.direction, found.proof),
            (Direction::Narrower, Proof::Structural)
        );
    }

    #[test]
    fn entities_count_when_both_versions_have_them() {
        let old = pack(&bool_property("a"), "self.a");
        // A new child of `service`: `x` applies to it, but no existing model holds one.
        let mut entities = String::from(
            "[[entity]]\nid = \"service\"\nname = \"Service\"\ndescription = \"A service.\"\nkind = \"process\"\n",
        );
        entities.push_str(&bool_property("a"));
        entities.push_str("\n[[entity]]\nid = \"store\"\nname = \"Store\"\ndescription = \"A store.\"\nkind = \"data-store\"\n");
        entities.push_str("\n[[entity]]\nid = \"api\"\nname = \"API\"\ndescription = \"An API.\"\nparent = \"service\"\n");
        let attack_pattern = |applies_to: &str| {
            format!(
                "[[attack-pattern]]\nid = \"x\"\nname = \"X\"\ndescription = \"An attack.\"\ncategories = [\"tampering\"]\napplies-to = [{applies_to}]\ncondition = 'self.a'\nseverity = \"low\"\n"
            )
        };
        let with_child = kb(&[
            ("entities/e.toml", &entities),
            ("attack-patterns/a.toml", &attack_pattern("\"service\"")),
        ]);
        let found = compare(&old, &with_child);
        assert_eq!(found.direction, Direction::Unchanged);
        assert!(found.entities_added.is_empty());
        // `store` exists in both: applying to it too is wider, exactly.
        let wider = kb(&[
            ("entities/e.toml", &entities),
            (
                "attack-patterns/a.toml",
                &attack_pattern("\"service\", \"store\"").replace("condition = 'self.a'\n", ""),
            ),
        ]);
        let found = compare(&old, &wider);
        assert!(found.direction.may_grow());
        assert_eq!(found.entities_added, ["test/pack:entity/store"]);
    }

    #[test]
    fn canonical_text_ignores_layout_and_parentheses_but_not_string_contents() {
        assert_eq!(
            canonical_text(" self.a  &&\n self.b "),
            canonical_text("(self.a) && ((self.b))")
        );
        assert_eq!(
            canonical_text("self.name == 'a b'"),
            canonical_text(r#"self.name=="a b""#)
        );
        assert_ne!(
            canonical_text("self.name == 'a b'"),
            canonical_text("self.name == 'ab'")
        );
        assert_ne!(
            canonical_text("(a || b) && c"),
            canonical_text("a || b && c")
        );
        // Text that does not parse is compared as it is.
        assert_eq!(canonical_text("self.a &&"), "self.a &&");
    }

    #[test]
    fn deeply_nested_conditions_are_not_parsed() {
        assert!(shallow(
            "!self.a && (self.b || self.c) && self.d != \"x-y\""
        ));
        assert!(!shallow(&format!(
            "{}self.a{}",
            "(".repeat(65),
            ")".repeat(65)
        )));
        assert!(!shallow(&format!("{}self.a", "!".repeat(65))));
        // Brackets inside a string are text.
        assert!(shallow(&format!("self.name == \"{}\"", "(".repeat(100))));
    }

    #[test]
    fn structural_comparison() {
        let cases = [
            // (old, new, grows, shrinks)
            (Some("a"), Some("a && b"), Some((false, true))),
            (Some("a && b"), Some("b"), Some((true, false))),
            (Some("a"), Some("a || b"), Some((true, false))),
            // Nested `||` flattens: {a, b, c} → {a, c}.
            (Some("(a || b) || c"), Some("a || c"), Some((false, true))),
            (Some("a == 'x y'"), Some("a=='x y'"), Some((false, false))),
            (Some("a == 'x y'"), Some("a == 'xy'"), None),
            (Some("a || b || c"), Some("c || a"), Some((false, true))),
            (Some("a || b && c"), Some("a || b"), None),
            (Some("a"), Some("b"), None),
            (Some("a"), Some(" ( a ) "), Some((false, false))),
            (Some("a && b"), Some("b && a"), Some((false, false))),
            (None, Some("a"), Some((false, true))),
            (Some("a"), None, Some((true, false))),
        ];
        for (old, new, expected) in cases {
            assert_eq!(structural(old, new), expected, "{old:?} → {new:?}");
        }
    }
}
