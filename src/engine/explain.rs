//! `--explain ATTACK-PATTERN@ELEMENT`: why an attack pattern applies to an element or not, down
//! to the sub-expression that decided it and the property values that made it so.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::Engine;
use super::bind::BoundModel;
use super::eval::{Outcome, Tracer};
use super::program::{self, BinaryOp, Expr, Op, UnaryOp};
use super::value::Value;
use crate::system::validate::resolve_id;

/// Records the last outcome of every node.
#[derive(Default)]
struct Recorder {
    outcomes: HashMap<u64, Outcome>,
}

impl Tracer for Recorder {
    fn record(&mut self, id: u64, outcome: &Outcome) {
        self.outcomes.insert(id, outcome.clone());
    }
}

/// Explains `attack_pattern@element` (local or qualified attack pattern id), or says why the
/// question cannot be answered.
pub fn explain(
    engine: &mut Engine<'_>,
    model: &BoundModel,
    max_rank: Option<usize>,
    question: &str,
) -> Result<String, String> {
    let kb = engine.kb;
    let Some((pattern_ref, element_ref)) = question.rsplit_once('@') else {
        return Err(format!(
            "`{question}` is not ATTACK-PATTERN@ELEMENT, e.g. `sql-injection@api`"
        ));
    };
    let ids: Vec<&str> = kb
        .attack_patterns
        .iter()
        .map(|item| item.id.as_str())
        .collect();
    let pattern_index = resolve_id(kb, &ids, "attack-pattern", pattern_ref)
        .map_err(|unresolved| format!("{} ({})", unresolved.message, unresolved.help))?;
    let element_index = model.element(element_ref).ok_or_else(|| {
        let help = crate::schema::suggest(
            element_ref,
            model.elements.iter().map(|element| element.id.as_str()),
        )
        .map_or(String::new(), |candidate| {
            format!(" (did you mean `{candidate}`?)")
        });
        format!("no element `{element_ref}` in the model{help}")
    })?;
    let pattern = &kb.attack_patterns[pattern_index];
    let element = &model.elements[element_index];
    let entity = &kb.entities[element.entity];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) on `{}` ({}, a `{}`):",
        pattern.name, pattern.id, element.id, element.name, entity.id
    );

    if let Some(reason) = &element.out_of_scope {
        let because = match reason.as_str() {
            "" => String::new(),
            reason => format!(": {reason}"),
        };
        let _ = writeln!(
            out,
            "  does not apply: the model puts `{}` out of scope{because}",
            element.id
        );
        return Ok(out);
    }
    if !pattern.matches.contains(&entity.id) {
        let lineage: Vec<&str> = std::iter::once(entity.id.as_str())
            .chain(entity.ancestors.iter().map(String::as_str))
            .collect();
        let _ = writeln!(
            out,
            "  does not apply: it applies to {} (and their descendants); `{}` is {}",
            quoted(pattern.applies_to.iter().map(String::as_str)),
            element.id,
            quoted(lineage.into_iter())
        );
        return Ok(out);
    }
    if let Some(max) = max_rank {
        let rank = kb.tier_rank(&pattern.tier).unwrap_or(usize::MAX);
        if rank > max {
            let _ = writeln!(
                out,
                "  does not apply: it is in tier `{}`, outside the selected tier `{}`",
                pattern.tier,
                kb.tiers.get(max).map_or("?", String::as_str)
            );
            return Ok(out);
        }
    }
    let Some(condition) = &pattern.condition else {
        let _ = writeln!(out, "  applies: its entity matches and it has no condition");
        return Ok(out);
    };
    let _ = writeln!(out, "  condition: {condition}");
    let parsed = program::parse(condition)
        .map_err(|problem| format!("the condition does not parse: {problem}"))?;
    let compiled = engine.compile(&parsed, element.entity).map_err(|problem| {
        format!(
            "the condition cannot be evaluated here: {}",
            problem.message
        )
    })?;
    let mut recorder = Recorder::default();
    let mut frame = engine.frame(model, element);
    let result = compiled.evaluate(&mut frame, &mut recorder);
    let context = Context {
        engine,
        model,
        element_index,
        outcomes: &recorder.outcomes,
    };
    match result {
        Ok(true) => {
            let _ = writeln!(out, "  applies: the condition is true");
            context.reasons(&compiled.root, 2, &mut out);
        }
        Ok(false) => {
            let _ = writeln!(out, "  does not apply: the condition is false");
            context.reasons(&compiled.root, 2, &mut out);
        }
        Err(error) => {
            let _ = writeln!(
                out,
                "  cannot tell: evaluating the condition failed: {}",
                error.message
            );
            context.reasons(&compiled.root, 2, &mut out);
        }
    }
    Ok(out)
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Context<'a, 'kb> {
    engine: &'a Engine<'kb>,
    model: &'a BoundModel,
    element_index: usize,
    outcomes: &'a HashMap<u64, Outcome>,
}

impl Context<'_, '_> {
    fn outcome_text(&self, expr: &Expr) -> String {
        match self.outcomes.get(&expr.id) {
            Some(Ok(value)) => value.display(&self.engine.symbols).to_string(),
            Some(Err(error)) => format!("an error ({})", error.message),
            None => "not evaluated".to_string(),
        }
    }

    /// Writes why `expr` has its value: for `&&`/`||`, the operands that decided; for `!`,
    /// why its operand had the opposite value; otherwise the sub-expression, its value, and
    /// the property values it read.
    fn reasons(&self, expr: &Expr, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let value = self.outcomes.get(&expr.id);
        match &expr.op {
            Op::And(pair) | Op::Or(pair) => {
                let is_and = matches!(expr.op, Op::And(_));
                // && false / || true: the operands with that value decided; otherwise all count.
                let decisive = !is_and;
                let result = matches!(value, Some(Ok(Value::Bool(v))) if *v == decisive);
                for operand in [&pair.0, &pair.1] {
                    let operand_value = self.outcomes.get(&operand.id);
                    let counts = if result {
                        matches!(operand_value, Some(Ok(Value::Bool(v))) if *v == decisive)
                    } else {
                        operand_value.is_some()
                    };
                    if counts {
                        self.reasons(operand, indent, out);
                    }
                }
            }
            Op::Unary(UnaryOp::Not, operand) => {
                let _ = writeln!(
                    out,
                    "{pad}- `{}` is {}",
                    self.unparse(expr),
                    self.outcome_text(expr)
                );
                self.reasons(operand, indent + 2, out);
            }
            _ => {
                let mut reads = Vec::new();
                collect_reads(expr, &mut reads);
                if let [read] = reads.as_slice()
                    && read.id == expr.id
                {
                    // The sub-expression is a property read: one line says it all.
                    let _ = writeln!(
                        out,
                        "{pad}- `{}` is {}{}",
                        self.unparse(expr),
                        self.outcome_text(expr),
                        self.origin_of(expr)
                    );
                    return;
                }
                let _ = writeln!(
                    out,
                    "{pad}- `{}` is {}",
                    self.unparse(expr),
                    self.outcome_text(expr)
                );
                for read in reads {
                    let _ = writeln!(
                        out,
                        "{pad}    {} = {}{}",
                        self.unparse(read),
                        self.outcome_text(read),
                        self.origin_of(read)
                    );
                }
            }
        }
    }

    /// Where a property value came from: the model, or the entity's default.
    fn origin_of(&self, read: &Expr) -> String {
        let element = &self.model.elements[self.element_index];
        match &read.op {
            Op::Subject { slot, .. } => {
                if self.model.is_explicit(element, *slot as usize) {
                    format!(" (set on `{}`)", element.id)
                } else {
                    format!(
                        " (the default of `{}`)",
                        self.engine.kb.entities[element.entity].id
                    )
                }
            }
            Op::System { slot, .. } => {
                if self.model.system_explicit.get(*slot as usize) == Some(&true) {
                    " (set in [system])".to_string()
                } else {
                    " (the default)".to_string()
                }
            }
            Op::Endpoint { end, .. } => {
                let index = match end {
                    program::End::Source => element.source,
                    program::End::Target => element.target,
                };
                index
                    .and_then(|index| self.model.elements.get(index))
                    .map_or(String::new(), |end| format!(" (of `{}`)", end.id))
            }
            Op::CrossesBoundary => match self.outcomes.get(&read.id) {
                Some(Ok(Value::Bool(true))) => {
                    " (the flow's ends are in different trust boundaries)".to_string()
                }
                Some(Ok(Value::Bool(false))) => {
                    " (the flow's ends are in the same trust boundary)".to_string()
                }
                _ => String::new(),
            },
            _ => String::new(),
        }
    }

    /// The expression in CEL syntax.
    fn unparse(&self, expr: &Expr) -> String {
        let symbols = &self.engine.symbols;
        let wrap = |inner: &Expr| -> String {
            let text = self.unparse(inner);
            if matches!(
                inner.op,
                Op::And(_) | Op::Or(_) | Op::Binary(..) | Op::Conditional(_)
            ) {
                format!("({text})")
            } else {
                text
            }
        };
        match &expr.op {
            Op::Const(value) => value.display(symbols).to_string(),
            Op::Subject { name, .. } => format!("self.{name}"),
            Op::System { name, .. } => format!("system.{name}"),
            Op::Missing { variable, name } => format!("{variable}.{name}"),
            Op::Endpoint { end, name, .. } => format!("{}.{name}", end.variable()),
            Op::EndpointHas { end, .. } => format!("has({}.…)", end.variable()),
            Op::CrossesBoundary => "crosses_boundary".to_string(),
            Op::CrossedBoundaries => "crossed_boundaries".to_string(),
            Op::Local(slot) => format!("@{slot}"),
            Op::And(pair) => format!("{} && {}", wrap(&pair.0), wrap(&pair.1)),
            Op::Or(pair) => format!("{} || {}", wrap(&pair.0), wrap(&pair.1)),
            Op::Unary(op, operand) => match op {
                UnaryOp::Not => format!("!{}", wrap(operand)),
                UnaryOp::NotStrictlyFalse => self.unparse(operand),
                UnaryOp::Negate => format!("-{}", wrap(operand)),
                UnaryOp::Size => format!("size({})", self.unparse(operand)),
                UnaryOp::ToInt => format!("int({})", self.unparse(operand)),
                UnaryOp::ToDouble => format!("double({})", self.unparse(operand)),
                UnaryOp::ToString => format!("string({})", self.unparse(operand)),
            },
            Op::Binary(op, pair) => match op {
                BinaryOp::Index => format!("{}[{}]", wrap(&pair.0), self.unparse(&pair.1)),
                BinaryOp::Contains
                | BinaryOp::StartsWith
                | BinaryOp::EndsWith
                | BinaryOp::Matches => {
                    format!(
                        "{}.{}({})",
                        wrap(&pair.0),
                        op.symbol(),
                        self.unparse(&pair.1)
                    )
                }
                _ => format!("{} {} {}", wrap(&pair.0), op.symbol(), wrap(&pair.1)),
            },
            Op::MatchesLiteral(operand, regex) => format!(
                "{}.matches({})",
                wrap(operand),
                serde_json::Value::from(regex.as_str())
            ),
            Op::Conditional(triple) => format!(
                "{} ? {} : {}",
                wrap(&triple.0),
                wrap(&triple.1),
                wrap(&triple.2)
            ),
            Op::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|item| self.unparse(item))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Op::Comprehension(comprehension) => {
                format!("{}.exists/all(…)", wrap(&comprehension.range))
            }
        }
    }
}

/// The property reads (and `crosses_boundary`) inside an expression, in order.
fn collect_reads<'e>(expr: &'e Expr, reads: &mut Vec<&'e Expr>) {
    match &expr.op {
        Op::Subject { .. }
        | Op::System { .. }
        | Op::Endpoint { .. }
        | Op::CrossesBoundary
        | Op::CrossedBoundaries
        | Op::Missing { .. } => reads.push(expr),
        Op::Const(_) | Op::Local(_) | Op::EndpointHas { .. } => {}
        Op::And(pair) | Op::Or(pair) | Op::Binary(_, pair) => {
            collect_reads(&pair.0, reads);
            collect_reads(&pair.1, reads);
        }
        Op::Unary(_, operand) | Op::MatchesLiteral(operand, _) => collect_reads(operand, reads),
        Op::Conditional(triple) => {
            collect_reads(&triple.0, reads);
            collect_reads(&triple.1, reads);
            collect_reads(&triple.2, reads);
        }
        Op::List(items) => items.iter().for_each(|item| collect_reads(item, reads)),
        Op::Comprehension(comprehension) => collect_reads(&comprehension.range, reads),
    }
}
