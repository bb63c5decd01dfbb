//! Evaluating compiled conditions, with CEL's semantics: `&&` and `||` absorb an error when
//! the other side decides the result (`false && error` is false), every other error propagates
//! and is reported, never read as false.

use std::sync::Arc;

use super::predicate::Tri;
use super::program::{BinaryOp, End, Expr, NO_SLOT, Op, Program, UnaryOp};
use super::value::{Interner, Value};

/// Why a condition could not be evaluated, at which node.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub id: u64,
    pub message: String,
}

pub type Outcome = Result<Value, Box<EvalError>>;

/// One end of a flow: its entity and its property values.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub entity: usize,
    pub values: &'a [Value],
}

/// What a condition sees while it runs on one element.
pub struct Frame<'a> {
    pub subject: &'a [Value],
    pub source: Option<Endpoint<'a>>,
    pub target: Option<Endpoint<'a>>,
    pub crosses_boundary: bool,
    /// The ids of the entities of the boundaries the flow crosses, and of their ancestors (a
    /// list of strings; interned only when some condition names them).
    pub crossed_boundaries: Value,
    pub system: &'a [Value],
    pub symbols: &'a Interner,
    pub locals: Vec<Value>,
}

/// Observes every node's outcome (for `--explain`); the unit tracer compiles away.
pub trait Tracer {
    fn record(&mut self, id: u64, outcome: &Outcome);
}

impl Tracer for () {
    #[inline(always)]
    fn record(&mut self, _: u64, _: &Outcome) {}
}

fn fail(id: u64, message: impl Into<String>) -> Outcome {
    Err(Box::new(EvalError {
        id,
        message: message.into(),
    }))
}

impl Program {
    /// Evaluates a condition to a bool.
    pub fn evaluate<T: Tracer>(
        &self,
        frame: &mut Frame<'_>,
        tracer: &mut T,
    ) -> Result<bool, Box<EvalError>> {
        if frame.locals.len() < self.locals as usize {
            frame.locals.resize(self.locals as usize, Value::Null);
        }
        match eval(&self.root, frame, tracer)? {
            Value::Bool(result) => Ok(result),
            other => Err(Box::new(EvalError {
                id: self.root.id,
                message: format!("the condition gave a {}, not a bool", other.type_name()),
            })),
        }
    }
}

impl Program {
    /// Whether the condition holds on the frame's element: `evaluate` without a tracer, by the
    /// typed predicate (`predicate.rs`); the tree is evaluated only to explain an error.
    pub fn holds(&self, frame: &mut Frame<'_>) -> Result<bool, Box<EvalError>> {
        if frame.locals.len() < self.locals as usize {
            frame.locals.resize(self.locals as usize, Value::Null);
        }
        match self.predicate.run(frame) {
            Tri::True => Ok(true),
            Tri::False => Ok(false),
            Tri::Error => self.evaluate(frame, &mut ()),
        }
    }
}

pub fn eval<T: Tracer>(expr: &Expr, frame: &mut Frame<'_>, tracer: &mut T) -> Outcome {
    let outcome = eval_op(expr, frame, tracer);
    tracer.record(expr.id, &outcome);
    outcome
}

fn eval_op<T: Tracer>(expr: &Expr, frame: &mut Frame<'_>, tracer: &mut T) -> Outcome {
    let id = expr.id;
    match &expr.op {
        Op::Const(value) => Ok(value.clone()),
        Op::Subject { slot, name } => match frame.subject.get(*slot as usize) {
            Some(value) => Ok(value.clone()),
            None => fail(id, format!("`self.{name}` has no value")),
        },
        Op::System { slot, name } => match frame.system.get(*slot as usize) {
            Some(value) => Ok(value.clone()),
            None => fail(id, format!("`system.{name}` has no value")),
        },
        Op::Missing { variable, name } => fail(
            id,
            format!(
                "`{variable}` has no property `{name}` (guard the read with `has({variable}.{name})`)"
            ),
        ),
        Op::Endpoint { end, slots, name } => {
            let endpoint = endpoint(frame, *end);
            let Some(endpoint) = endpoint else {
                return fail(id, format!("`{}` is not a component here", end.variable()));
            };
            match slots.get(endpoint.entity).copied() {
                Some(slot) if slot != NO_SLOT => match endpoint.values.get(slot as usize) {
                    Some(value) => Ok(value.clone()),
                    None => fail(id, format!("`{}.{name}` has no value", end.variable())),
                },
                _ => fail(
                    id,
                    format!(
                        "`{}` has no property `{name}` (guard the read with `has({}.{name})`)",
                        end.variable(),
                        end.variable()
                    ),
                ),
            }
        }
        Op::EndpointHas { end, slots } => {
            Ok(Value::Bool(endpoint(frame, *end).is_some_and(|endpoint| {
                slots
                    .get(endpoint.entity)
                    .is_some_and(|slot| *slot != NO_SLOT)
            })))
        }
        Op::CrossesBoundary => Ok(Value::Bool(frame.crosses_boundary)),
        Op::CrossedBoundaries => Ok(frame.crossed_boundaries.clone()),
        Op::Local(slot) => Ok(frame
            .locals
            .get(*slot as usize)
            .cloned()
            .unwrap_or(Value::Null)),
        Op::And(pair) => logical(id, &pair.0, &pair.1, false, frame, tracer),
        Op::Or(pair) => logical(id, &pair.0, &pair.1, true, frame, tracer),
        Op::Unary(op, operand) => {
            if *op == UnaryOp::NotStrictlyFalse {
                return Ok(Value::Bool(!matches!(
                    eval(operand, frame, tracer),
                    Ok(Value::Bool(false))
                )));
            }
            let value = eval(operand, frame, tracer)?;
            unary(id, *op, value, frame.symbols)
        }
        Op::Binary(op, pair) => {
            let left = eval(&pair.0, frame, tracer)?;
            let right = eval(&pair.1, frame, tracer)?;
            binary(id, *op, left, right, frame.symbols)
        }
        Op::MatchesLiteral(operand, regex) => {
            let value = eval(operand, frame, tracer)?;
            match value.as_text(frame.symbols) {
                Some(text) => Ok(Value::Bool(regex.is_match(text))),
                None => fail(
                    id,
                    format!("`matches` needs a string, got a {}", value.type_name()),
                ),
            }
        }
        Op::Conditional(triple) => match eval(&triple.0, frame, tracer)? {
            Value::Bool(true) => eval(&triple.1, frame, tracer),
            Value::Bool(false) => eval(&triple.2, frame, tracer),
            other => fail(
                id,
                format!("`?:` needs a bool, got a {}", other.type_name()),
            ),
        },
        Op::List(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(eval(item, frame, tracer)?);
            }
            Ok(Value::List(values.into()))
        }
        Op::Comprehension(comprehension) => {
            let range = match eval(&comprehension.range, frame, tracer)? {
                Value::List(items) => items,
                other => {
                    return fail(id, format!("cannot iterate over a {}", other.type_name()));
                }
            };
            let mut accumulator = eval(&comprehension.init, frame, tracer)?;
            let (item_slot, accumulator_slot) = (
                comprehension.item as usize,
                comprehension.accumulator as usize,
            );
            for item in range.iter() {
                frame.locals[item_slot] = item.clone();
                frame.locals[accumulator_slot] = accumulator.clone();
                if let Ok(Value::Bool(false)) = eval(&comprehension.condition, frame, tracer) {
                    break;
                }
                accumulator = eval(&comprehension.step, frame, tracer)?;
            }
            frame.locals[accumulator_slot] = accumulator;
            eval(&comprehension.result, frame, tracer)
        }
    }
}

/// `<`, `<=`, `>` or `>=` (`op`) of two values; `None` when they cannot be compared (an
/// error). Comparisons with NaN are false.
pub(super) fn compare(
    op: BinaryOp,
    left: &Value,
    right: &Value,
    symbols: &Interner,
) -> Option<bool> {
    let ordering = match (left, right) {
        (Value::Int(a), Value::Int(b)) => a.partial_cmp(b),
        (Value::Int(a), Value::Double(b)) => (*a as f64).partial_cmp(b),
        (Value::Double(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Value::Double(a), Value::Double(b)) => a.partial_cmp(b),
        (Value::Str(_) | Value::Text(_), Value::Str(_) | Value::Text(_)) => {
            left.as_text(symbols).partial_cmp(&right.as_text(symbols))
        }
        _ => return None,
    };
    let Some(ordering) = ordering else {
        return Some(false);
    };
    Some(match op {
        BinaryOp::Less => ordering.is_lt(),
        BinaryOp::LessEqual => ordering.is_le(),
        BinaryOp::Greater => ordering.is_gt(),
        _ => ordering.is_ge(),
    })
}

pub(super) fn endpoint<'a>(frame: &Frame<'a>, end: End) -> Option<Endpoint<'a>> {
    match end {
        End::Source => frame.source,
        End::Target => frame.target,
    }
}

/// `&&` (`decisive` false) and `||` (`decisive` true), commutative over errors as in CEL.
fn logical<T: Tracer>(
    id: u64,
    left: &Expr,
    right: &Expr,
    decisive: bool,
    frame: &mut Frame<'_>,
    tracer: &mut T,
) -> Outcome {
    let operator = if decisive { "||" } else { "&&" };
    let as_bool = |outcome: Outcome| -> Result<bool, Box<EvalError>> {
        match outcome? {
            Value::Bool(value) => Ok(value),
            other => Err(Box::new(EvalError {
                id,
                message: format!("`{operator}` needs bools, got a {}", other.type_name()),
            })),
        }
    };
    match as_bool(eval(left, frame, tracer)) {
        Ok(value) if value == decisive => Ok(Value::Bool(decisive)),
        Ok(_) => Ok(Value::Bool(as_bool(eval(right, frame, tracer))?)),
        Err(error) => match as_bool(eval(right, frame, tracer)) {
            Ok(value) if value == decisive => Ok(Value::Bool(decisive)),
            _ => Err(error),
        },
    }
}

fn unary(id: u64, op: UnaryOp, value: Value, symbols: &Interner) -> Outcome {
    match (op, value) {
        (UnaryOp::Not, Value::Bool(value)) => Ok(Value::Bool(!value)),
        (UnaryOp::Negate, Value::Int(value)) => match value.checked_neg() {
            Some(negated) => Ok(Value::Int(negated)),
            None => fail(id, "integer overflow"),
        },
        (UnaryOp::Negate, Value::Double(value)) => Ok(Value::Double(-value)),
        (UnaryOp::Size, Value::List(items)) => Ok(Value::Int(items.len() as i64)),
        (UnaryOp::Size, value @ (Value::Str(_) | Value::Text(_))) => Ok(Value::Int(
            value
                .as_text(symbols)
                .map_or(0, |text| text.chars().count()) as i64,
        )),
        (UnaryOp::ToInt, Value::Int(value)) => Ok(Value::Int(value)),
        (UnaryOp::ToInt, Value::Double(value)) => {
            if value.is_finite() && value >= i64::MIN as f64 && value < i64::MAX as f64 {
                Ok(Value::Int(value.trunc() as i64))
            } else {
                fail(id, "the number does not fit an int")
            }
        }
        (UnaryOp::ToInt, Value::Bool(value)) => Ok(Value::Int(i64::from(value))),
        (UnaryOp::ToInt, value @ (Value::Str(_) | Value::Text(_))) => {
            let text = value.as_text(symbols).unwrap_or("");
            match text.trim().parse::<i64>() {
                Ok(integer) => Ok(Value::Int(integer)),
                Err(_) => fail(id, format!("{} is not an integer", value.display(symbols))),
            }
        }
        (UnaryOp::ToDouble, Value::Int(value)) => Ok(Value::Double(value as f64)),
        (UnaryOp::ToDouble, Value::Double(value)) => Ok(Value::Double(value)),
        (UnaryOp::ToDouble, value @ (Value::Str(_) | Value::Text(_))) => {
            let text = value.as_text(symbols).unwrap_or("");
            match text.trim().parse::<f64>() {
                Ok(double) => Ok(Value::Double(double)),
                Err(_) => fail(id, format!("{} is not a number", value.display(symbols))),
            }
        }
        (UnaryOp::ToString, value @ (Value::Str(_) | Value::Text(_))) => Ok(value),
        (UnaryOp::ToString, value @ (Value::Int(_) | Value::Double(_) | Value::Bool(_))) => {
            Ok(Value::Text(Arc::from(value.display(symbols).to_string())))
        }
        (op, value) => fail(
            id,
            format!(
                "{} does not apply to a {}",
                match op {
                    UnaryOp::Not => "`!`",
                    UnaryOp::NotStrictlyFalse => "a loop condition",
                    UnaryOp::Negate => "`-`",
                    UnaryOp::Size => "`size`",
                    UnaryOp::ToInt => "`int`",
                    UnaryOp::ToDouble => "`double`",
                    UnaryOp::ToString => "`string`",
                },
                value.type_name()
            ),
        ),
    }
}

fn binary(id: u64, op: BinaryOp, left: Value, right: Value, symbols: &Interner) -> Outcome {
    use BinaryOp::*;
    let mismatch = |left: &Value, right: &Value| {
        fail(
            id,
            format!(
                "`{}` does not apply to a {} and a {}",
                op.symbol(),
                left.type_name(),
                right.type_name()
            ),
        )
    };
    match op {
        Equal => Ok(Value::Bool(left.equals(&right, symbols))),
        NotEqual => Ok(Value::Bool(!left.equals(&right, symbols))),
        Less | LessEqual | Greater | GreaterEqual => match compare(op, &left, &right, symbols) {
            Some(result) => Ok(Value::Bool(result)),
            None => mismatch(&left, &right),
        },
        In => match &right {
            Value::List(items) => Ok(Value::Bool(
                items.iter().any(|item| item.equals(&left, symbols)),
            )),
            _ => mismatch(&left, &right),
        },
        Add => match (&left, &right) {
            (Value::Int(a), Value::Int(b)) => match a.checked_add(*b) {
                Some(sum) => Ok(Value::Int(sum)),
                None => fail(id, "integer overflow"),
            },
            (Value::Double(a), Value::Double(b)) => Ok(Value::Double(a + b)),
            (Value::Str(_) | Value::Text(_), Value::Str(_) | Value::Text(_)) => {
                let mut text = left.as_text(symbols).unwrap_or("").to_string();
                text.push_str(right.as_text(symbols).unwrap_or(""));
                Ok(Value::Text(text.into()))
            }
            (Value::List(a), Value::List(b)) => {
                Ok(Value::List(a.iter().chain(b.iter()).cloned().collect()))
            }
            _ => mismatch(&left, &right),
        },
        Subtract | Multiply | Divide | Remainder => match (&left, &right) {
            (Value::Int(a), Value::Int(b)) => {
                let result = match op {
                    Subtract => a.checked_sub(*b),
                    Multiply => a.checked_mul(*b),
                    Divide if *b == 0 => return fail(id, "division by zero"),
                    Divide => a.checked_div(*b),
                    Remainder if *b == 0 => return fail(id, "modulus by zero"),
                    _ => a.checked_rem(*b),
                };
                match result {
                    Some(value) => Ok(Value::Int(value)),
                    None => fail(id, "integer overflow"),
                }
            }
            (Value::Double(a), Value::Double(b)) => Ok(Value::Double(match op {
                Subtract => a - b,
                Multiply => a * b,
                Divide => a / b,
                _ => return mismatch(&left, &right),
            })),
            _ => mismatch(&left, &right),
        },
        Index => match (&left, &right) {
            (Value::List(items), Value::Int(index)) => match usize::try_from(*index)
                .ok()
                .and_then(|index| items.get(index))
            {
                Some(item) => Ok(item.clone()),
                None => fail(
                    id,
                    format!("index {index} is out of range (size {})", items.len()),
                ),
            },
            _ => mismatch(&left, &right),
        },
        Contains | StartsWith | EndsWith | Matches => {
            let (Some(text), Some(argument)) = (left.as_text(symbols), right.as_text(symbols))
            else {
                return mismatch(&left, &right);
            };
            Ok(Value::Bool(match op {
                Contains => text.contains(argument),
                StartsWith => text.starts_with(argument),
                EndsWith => text.ends_with(argument),
                _ => match regex::RegexBuilder::new(argument)
                    .size_limit(1 << 20)
                    .build()
                {
                    Ok(regex) => regex.is_match(text),
                    Err(problem) => {
                        return fail(id, format!("invalid regular expression: {problem}"));
                    }
                },
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::program::{self, Bindings, EndpointSlots, Layout, NO_SLOT};
    use super::super::value::{Interner, Value};
    use super::{Endpoint, Frame};

    /// Evaluates `condition` on a flow whose own properties are `subject`, from an endpoint of
    /// entity 0 (declaring `internet_facing`) to one of entity 1 (declaring nothing).
    fn run(condition: &str, subject: &[(&str, Value)]) -> Result<bool, String> {
        let mut symbols = Interner::default();
        let mut layout = Layout::default();
        for (slot, (name, _)) in subject.iter().enumerate() {
            layout.slots.insert((*name).into(), slot as u32);
        }
        let mut endpoints = EndpointSlots::default();
        endpoints
            .by_name
            .insert("internet_facing".into(), Arc::from(vec![0, NO_SLOT]));
        let mut system = Layout::default();
        system.slots.insert("personal".into(), 0);
        let parsed = program::parse(condition)?;
        let bindings = Bindings {
            subject: &layout,
            endpoints: Some(&endpoints),
            system: &system,
        };
        let compiled = program::compile(&parsed, &bindings, &mut symbols)
            .map_err(|problem| problem.message)?;
        // Literal strings of the test values are interned like a model's would be.
        let values: Vec<Value> = subject
            .iter()
            .map(|(_, value)| match value {
                Value::Text(text) => Value::Str(symbols.intern(text)),
                other => other.clone(),
            })
            .collect();
        let source_values = [Value::Bool(true)];
        let mut frame = Frame {
            subject: &values,
            source: Some(Endpoint {
                entity: 0,
                values: &source_values,
            }),
            target: Some(Endpoint {
                entity: 1,
                values: &[],
            }),
            crosses_boundary: true,
            crossed_boundaries: Value::List(Vec::new().into()),
            system: &[Value::Bool(false)],
            symbols: &symbols,
            locals: Vec::new(),
        };
        let evaluated = compiled
            .evaluate(&mut frame, &mut ())
            .map_err(|error| error.message);
        // The typed predicate decides exactly as the tree does, errors included.
        let held = compiled.holds(&mut frame).map_err(|error| error.message);
        assert_eq!(held, evaluated, "{condition}: predicate and tree disagree");
        evaluated
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    fn list(values: &[&str]) -> Value {
        Value::List(
            values
                .iter()
                .map(|value| text(value))
                .collect::<Vec<_>>()
                .into(),
        )
    }

    #[test]
    fn comparisons_membership_and_strings() {
        let subject = [
            ("auth", text("password")),
            ("replicas", Value::Int(3)),
            ("classes", list(&["pii", "secrets"])),
            ("image", text("nginx:latest")),
        ];
        for (condition, expected) in [
            (r#"self.auth == "password""#, true),
            (r#"self.auth != "password""#, false),
            (r#"self.auth in ["none", "password"]"#, true),
            (r#""pii" in self.classes"#, true),
            (r#""card" in self.classes"#, false),
            ("self.replicas < 2", false),
            ("self.replicas >= 3 && self.replicas <= 3", true),
            ("self.replicas + 1 == 4", true),
            ("self.replicas * 2 - 6 == 0", true),
            ("self.replicas % 2 == 1", true),
            ("size(self.classes) == 2", true),
            ("self.classes.size() == 2", true),
            (r#"self.image.endsWith(":latest")"#, true),
            (r#"self.image.startsWith("nginx")"#, true),
            (r#"self.image.contains("ngi")"#, true),
            (r#"self.image.matches("^[a-z]+:latest$")"#, true),
            (r#"self.image.matches("^alpine")"#, false),
            (r#"self.classes[1] == "secrets""#, true),
            (
                r#"self.replicas > 2 ? self.auth == "password" : false"#,
                true,
            ),
            (r#"string(self.replicas) == "3""#, true),
            (r#"int("42") == 42"#, true),
            ("double(self.replicas) > 2.5", true),
        ] {
            assert_eq!(run(condition, &subject), Ok(expected), "{condition}");
        }
    }

    #[test]
    fn comprehensions() {
        let subject = [("classes", list(&["pii", "secrets"]))];
        for (condition, expected) in [
            (r#"self.classes.exists(c, c == "pii")"#, true),
            (r#"self.classes.exists(c, c == "card")"#, false),
            (r#"self.classes.all(c, c.size() > 2)"#, true),
            (r#"self.classes.all(c, c == "pii")"#, false),
            (r#"self.classes.exists_one(c, c.startsWith("s"))"#, true),
            (r#"self.classes.filter(c, c != "pii").size() == 1"#, true),
            (r#"self.classes.map(c, c + "!")[0] == "pii!""#, true),
            // Nested: the inner variable shadows nothing, the outer one stays visible.
            (
                r#"self.classes.exists(a, self.classes.exists(b, a != b && b == "pii"))"#,
                true,
            ),
        ] {
            assert_eq!(run(condition, &subject), Ok(expected), "{condition}");
        }
    }

    #[test]
    fn flows_read_their_ends_and_the_system() {
        let subject = [("encrypted", Value::Bool(false))];
        for (condition, expected) in [
            ("source.internet_facing && !self.encrypted", true),
            ("crosses_boundary", true),
            ("has(source.internet_facing)", true),
            ("has(target.internet_facing)", false),
            (
                "has(target.internet_facing) && target.internet_facing",
                false,
            ),
            ("system.personal", false),
            ("has(self.missing)", false),
        ] {
            assert_eq!(run(condition, &subject), Ok(expected), "{condition}");
        }
    }

    #[test]
    fn errors_propagate_unless_the_other_side_decides() {
        let subject = [("replicas", Value::Int(3))];
        // `target` declares no `internet_facing`: reading it is an error...
        let error = run("target.internet_facing", &subject).expect_err("an error");
        assert!(
            error.contains("has no property `internet_facing`"),
            "{error}"
        );
        // ...that `&&`/`||` absorb when the other side decides, on either side (CEL).
        assert_eq!(run("target.internet_facing && false", &subject), Ok(false));
        assert_eq!(run("false && target.internet_facing", &subject), Ok(false));
        assert_eq!(run("target.internet_facing || true", &subject), Ok(true));
        assert!(run("target.internet_facing || false", &subject).is_err());
        assert!(run("true && target.internet_facing", &subject).is_err());
        // Arithmetic errors are errors, not false.
        assert!(run("self.replicas / 0 == 1", &subject).is_err());
        assert!(run("9223372036854775807 + self.replicas > 0", &subject).is_err());
        assert!(run("[1][self.replicas] == 1", &subject).is_err());
        // A non-bool condition is an error.
        let error = run("self.replicas", &subject).expect_err("not a bool");
        assert!(error.contains("not a bool"), "{error}");
    }

    #[test]
    fn chains_of_and_or_absorb_errors_only_when_decided() {
        let subject = [
            ("replicas", Value::Int(3)),
            ("public", Value::Bool(true)),
            ("auth", text("none")),
            ("classes", list(&["pii"])),
        ];
        for (condition, expected) in [
            // Flattened `&&`/`||` chains: a deciding operand anywhere absorbs an error anywhere.
            ("target.internet_facing && self.public && false", Ok(false)),
            (
                "self.public && target.internet_facing && !self.public",
                Ok(false),
            ),
            ("target.internet_facing || self.public || false", Ok(true)),
            ("false || target.internet_facing || self.public", Ok(true)),
            (
                "(self.public || target.internet_facing) && self.replicas > 2",
                Ok(true),
            ),
            ("!(target.internet_facing && false)", Ok(true)),
            (r#"self.auth == "none" && "pii" in self.classes"#, Ok(true)),
            (
                r#"self.auth != "none" || !("pii" in self.classes)"#,
                Ok(false),
            ),
            ("self.replicas >= 3.0 && self.replicas < 4", Ok(true)),
            (
                r#"self.auth in ["none", "basic"] && source.internet_facing"#,
                Ok(true),
            ),
            ("has(target.internet_facing) || crosses_boundary", Ok(true)),
            ("system.personal == false && self.replicas != 2", Ok(true)),
        ] {
            assert_eq!(run(condition, &subject), expected, "{condition}");
        }
        // Errors stay errors, with the tree's message: never read as false.
        for condition in [
            "target.internet_facing && self.public && true",
            "self.public && (target.internet_facing || false)",
            "!target.internet_facing",
            r#"self.auth < 3"#,
            r#"self.auth in self.replicas"#,
            "self.replicas == 3 && self.auth",
            "target.internet_facing == true || self.replicas > 5",
        ] {
            assert!(run(condition, &subject).is_err(), "{condition}");
        }
    }
}
