//! Conditions that are always true or always false, proved by evaluating them with the rule
//! engine on every combination of the bool and enum properties they read.

use cel::IdedExpr;
use cel::common::ast::Expr;
use serde_json::Value as Json;

use crate::model::PropertyType;

use super::*;

/// The variables a finite enumeration can cover: (role, property, possible values).
pub(super) type Domain = Vec<(Role, String, Vec<Json>)>;

/// Proves a condition constant by evaluating it with the rule engine on every combination of
/// the bool and enum properties it reads (at most `engine::enumerate::MAX_COMBINATIONS`).
/// Conditions reading ints, strings, lists or using `has` are not judged, and an evaluation
/// error proves nothing (the rule engine reports it where it happens).
pub(super) fn constant_value(
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
            crossed_boundaries: Value::List(Vec::new().into()),
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
pub(super) fn finite_domain(
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
