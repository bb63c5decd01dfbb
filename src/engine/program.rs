//! Conditions compiled for evaluation: a CEL tree turned, once per entity it applies to, into a
//! tree of operations whose property reads are slot numbers. Evaluating it looks nothing up by
//! name and parses nothing.

use std::collections::HashMap;
use std::sync::Arc;

use cel::IdedExpr;
use cel::common::ast::{ComprehensionExpr, Expr as Cel, LiteralValue};
use regex::Regex;

use super::predicate::Predicate;
use super::value::{Interner, Value};

/// The longest condition accepted. Real conditions are a few hundred bytes; the limit keeps
/// the parser's own recursion (and every walk of the tree) far from the stack's end.
pub const MAX_CONDITION_BYTES: usize = 4096;

/// The deepest expression tree accepted (`a && b && c` is 3 deep).
pub const MAX_CONDITION_DEPTH: usize = 64;

/// `u32::MAX` in an endpoint slot table: that entity does not declare the property.
pub const NO_SLOT: u32 = u32::MAX;

/// Property name → slot, for one entity (or for the system properties).
#[derive(Debug, Default, Clone)]
pub struct Layout {
    pub slots: HashMap<Box<str>, u32>,
}

impl Layout {
    pub fn slot(&self, name: &str) -> Option<u32> {
        self.slots.get(name).copied()
    }
}

/// For `source.x` and `target.x`: the slot of `x` in every entity, by entity index.
#[derive(Debug, Default)]
pub struct EndpointSlots {
    pub by_name: HashMap<Box<str>, Arc<[u32]>>,
}

/// What a condition is compiled against.
pub struct Bindings<'a> {
    pub subject: &'a Layout,
    /// For conditions on data flows.
    pub endpoints: Option<&'a EndpointSlots>,
    pub system: &'a Layout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Source,
    Target,
}

impl End {
    pub fn variable(self) -> &'static str {
        match self {
            End::Source => "source",
            End::Target => "target",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    In,
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
    Index,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Equal => "==",
            BinaryOp::NotEqual => "!=",
            BinaryOp::Less => "<",
            BinaryOp::LessEqual => "<=",
            BinaryOp::Greater => ">",
            BinaryOp::GreaterEqual => ">=",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Remainder => "%",
            BinaryOp::Index => "[]",
            BinaryOp::Contains => "contains",
            BinaryOp::StartsWith => "startsWith",
            BinaryOp::EndsWith => "endsWith",
            BinaryOp::Matches => "matches",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    NotStrictlyFalse,
    Negate,
    Size,
    ToInt,
    ToDouble,
    ToString,
}

/// A compiled sub-expression, with the id of the CEL node it came from (for `--explain`).
#[derive(Debug, Clone)]
pub struct Expr {
    pub id: u64,
    pub op: Op,
}

#[derive(Debug, Clone)]
pub enum Op {
    Const(Value),
    /// A property of the element being evaluated.
    Subject {
        slot: u32,
        name: Box<str>,
    },
    /// A property the element's entity does not declare: an error if evaluated (conditions
    /// guard such reads with `has(self.x)`).
    Missing {
        variable: &'static str,
        name: Box<str>,
    },
    Endpoint {
        end: End,
        slots: Arc<[u32]>,
        name: Box<str>,
    },
    EndpointHas {
        end: End,
        slots: Arc<[u32]>,
    },
    System {
        slot: u32,
        name: Box<str>,
    },
    CrossesBoundary,
    /// `crossed_boundaries`: the boundary entities a flow crosses.
    CrossedBoundaries,
    Local(u32),
    And(Box<(Expr, Expr)>),
    Or(Box<(Expr, Expr)>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<(Expr, Expr)>),
    /// `matches` with a literal pattern, compiled once.
    MatchesLiteral(Box<Expr>, Box<Regex>),
    Conditional(Box<(Expr, Expr, Expr)>),
    List(Vec<Expr>),
    Comprehension(Box<Comprehension>),
}

#[derive(Debug, Clone)]
pub struct Comprehension {
    pub range: Expr,
    pub item: u32,
    pub accumulator: u32,
    pub init: Expr,
    pub condition: Expr,
    pub step: Expr,
    pub result: Expr,
}

/// Why a condition could not be compiled (a bundle whose conditions were never checked).
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    pub id: u64,
    pub message: String,
}

/// A compiled condition: its tree, how many local variables its comprehensions use, and the
/// same condition as a typed predicate (what `Program::holds` runs).
#[derive(Debug)]
pub struct Program {
    pub root: Expr,
    pub locals: u32,
    pub predicate: Predicate,
}

pub fn compile(
    expression: &IdedExpr,
    bindings: &Bindings<'_>,
    symbols: &mut Interner,
) -> Result<Program, CompileError> {
    let mut compiler = Compiler {
        bindings,
        symbols,
        scopes: Vec::new(),
        locals: 0,
    };
    let root = compiler.expr(expression, 0)?;
    Ok(Program {
        predicate: Predicate::of(&root),
        root,
        locals: compiler.locals,
    })
}

struct Compiler<'b, 'a> {
    bindings: &'b Bindings<'a>,
    symbols: &'b mut Interner,
    /// Comprehension variables in scope, innermost last.
    scopes: Vec<(String, u32)>,
    locals: u32,
}

fn error<T>(id: u64, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        id,
        message: message.into(),
    })
}

impl Compiler<'_, '_> {
    fn expr(&mut self, node: &IdedExpr, depth: usize) -> Result<Expr, CompileError> {
        if depth > MAX_CONDITION_DEPTH {
            return error(node.id, "the condition nests too deep");
        }
        let depth = depth + 1;
        let id = node.id;
        let op = match &node.expr {
            Cel::Literal(literal) => Op::Const(self.literal(id, literal)?),
            Cel::Ident(name) => self.identifier(id, name)?,
            Cel::Select(select) => self.select(id, &select.operand, &select.field, select.test)?,
            Cel::List(list) => {
                let items: Vec<Expr> = list
                    .elements
                    .iter()
                    .map(|element| self.expr(element, depth))
                    .collect::<Result<_, _>>()?;
                // `x in ["a", "b"]`: a list of literals is built once, not at every evaluation.
                if items.iter().all(|item| matches!(item.op, Op::Const(_))) {
                    let values: Vec<Value> = items
                        .into_iter()
                        .filter_map(|item| match item.op {
                            Op::Const(value) => Some(value),
                            _ => None,
                        })
                        .collect();
                    Op::Const(Value::List(values.into()))
                } else {
                    Op::List(items)
                }
            }
            Cel::Call(call) => self.call(
                id,
                &call.func_name,
                call.target.as_deref(),
                &call.args,
                depth,
            )?,
            Cel::Comprehension(comprehension) => self.comprehension(comprehension, depth)?,
            Cel::Map(_) | Cel::Struct(_) | Cel::Unspecified => {
                return error(id, "maps and messages are not supported in conditions");
            }
        };
        Ok(Expr { id, op })
    }

    fn literal(&mut self, id: u64, literal: &LiteralValue) -> Result<Value, CompileError> {
        Ok(match literal {
            LiteralValue::Boolean(boolean) => Value::Bool(*boolean.inner()),
            LiteralValue::Int(integer) => Value::Int(*integer.inner()),
            LiteralValue::UInt(unsigned) => match i64::try_from(*unsigned.inner()) {
                Ok(integer) => Value::Int(integer),
                Err(_) => return error(id, "this number is too large"),
            },
            LiteralValue::Double(double) => Value::Double(*double.inner()),
            LiteralValue::String(text) => {
                let text: &str = text.as_ref();
                Value::Str(self.symbols.intern(text))
            }
            LiteralValue::Bytes(_) => return error(id, "bytes are not supported in conditions"),
            LiteralValue::Null => Value::Null,
        })
    }

    fn identifier(&mut self, id: u64, name: &str) -> Result<Op, CompileError> {
        if let Some((_, slot)) = self.scopes.iter().rev().find(|(local, _)| local == name) {
            return Ok(Op::Local(*slot));
        }
        match name {
            "crosses_boundary" if self.bindings.endpoints.is_some() => Ok(Op::CrossesBoundary),
            "crossed_boundaries" if self.bindings.endpoints.is_some() => Ok(Op::CrossedBoundaries),
            "self" | "source" | "target" | "system" => error(
                id,
                format!("`{name}` is read through its properties (`{name}.property`)"),
            ),
            _ => error(id, format!("unknown variable `{name}`")),
        }
    }

    fn select(
        &mut self,
        id: u64,
        operand: &IdedExpr,
        field: &str,
        test: bool,
    ) -> Result<Op, CompileError> {
        let Cel::Ident(variable) = &operand.expr else {
            return error(id, format!("cannot read `.{field}` here"));
        };
        let local = self.scopes.iter().any(|(local, _)| local == variable);
        let name: Box<str> = field.into();
        match variable.as_str() {
            "self" if !local => {
                let slot = self.bindings.subject.slot(field);
                Ok(match (test, slot) {
                    (true, slot) => Op::Const(Value::Bool(slot.is_some())),
                    (false, Some(slot)) => Op::Subject { slot, name },
                    (false, None) => Op::Missing {
                        variable: "self",
                        name,
                    },
                })
            }
            "system" if !local => {
                let slot = self.bindings.system.slot(field);
                Ok(match (test, slot) {
                    (true, slot) => Op::Const(Value::Bool(slot.is_some())),
                    (false, Some(slot)) => Op::System { slot, name },
                    (false, None) => Op::Missing {
                        variable: "system",
                        name,
                    },
                })
            }
            "source" | "target" if !local => {
                let end = if variable == "source" {
                    End::Source
                } else {
                    End::Target
                };
                let Some(endpoints) = self.bindings.endpoints else {
                    return error(
                        id,
                        format!("`{variable}` exists only in conditions on data flows"),
                    );
                };
                match endpoints.by_name.get(field) {
                    Some(slots) if test => Ok(Op::EndpointHas {
                        end,
                        slots: slots.clone(),
                    }),
                    Some(slots) => Ok(Op::Endpoint {
                        end,
                        slots: slots.clone(),
                        name,
                    }),
                    None if test => Ok(Op::Const(Value::Bool(false))),
                    None => Ok(Op::Missing {
                        variable: end.variable(),
                        name,
                    }),
                }
            }
            _ => error(id, format!("cannot read `.{field}` of `{variable}`")),
        }
    }

    fn call(
        &mut self,
        id: u64,
        function: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
        depth: usize,
    ) -> Result<Op, CompileError> {
        let binary = |op| -> Option<BinaryOp> { Some(op) };
        let unary_op = match (function, target, args.len()) {
            ("!_", None, 1) => Some(UnaryOp::Not),
            ("@not_strictly_false", None, 1) => Some(UnaryOp::NotStrictlyFalse),
            ("-_", None, 1) => Some(UnaryOp::Negate),
            ("size", None, 1) => Some(UnaryOp::Size),
            ("int", None, 1) => Some(UnaryOp::ToInt),
            ("double", None, 1) => Some(UnaryOp::ToDouble),
            ("string", None, 1) => Some(UnaryOp::ToString),
            _ => None,
        };
        if let Some(op) = unary_op {
            return Ok(Op::Unary(op, Box::new(self.expr(&args[0], depth)?)));
        }
        if let ("size", Some(receiver), 0) = (function, target, args.len()) {
            return Ok(Op::Unary(
                UnaryOp::Size,
                Box::new(self.expr(receiver, depth)?),
            ));
        }
        let operator = match (function, target.is_some(), args.len()) {
            ("_&&_", false, 2) | ("_||_", false, 2) => {
                let pair = Box::new((self.expr(&args[0], depth)?, self.expr(&args[1], depth)?));
                return Ok(if function == "_&&_" {
                    Op::And(pair)
                } else {
                    Op::Or(pair)
                });
            }
            ("_?_:_", false, 3) => {
                return Ok(Op::Conditional(Box::new((
                    self.expr(&args[0], depth)?,
                    self.expr(&args[1], depth)?,
                    self.expr(&args[2], depth)?,
                ))));
            }
            ("_==_", false, 2) => binary(BinaryOp::Equal),
            ("_!=_", false, 2) => binary(BinaryOp::NotEqual),
            ("_<_", false, 2) => binary(BinaryOp::Less),
            ("_<=_", false, 2) => binary(BinaryOp::LessEqual),
            ("_>_", false, 2) => binary(BinaryOp::Greater),
            ("_>=_", false, 2) => binary(BinaryOp::GreaterEqual),
            ("@in", false, 2) => binary(BinaryOp::In),
            ("_+_", false, 2) => binary(BinaryOp::Add),
            ("_-_", false, 2) => binary(BinaryOp::Subtract),
            ("_*_", false, 2) => binary(BinaryOp::Multiply),
            ("_/_", false, 2) => binary(BinaryOp::Divide),
            ("_%_", false, 2) => binary(BinaryOp::Remainder),
            ("_[_]", false, 2) => binary(BinaryOp::Index),
            ("contains", true, 1) => binary(BinaryOp::Contains),
            ("startsWith", true, 1) => binary(BinaryOp::StartsWith),
            ("endsWith", true, 1) => binary(BinaryOp::EndsWith),
            ("matches", true, 1) => binary(BinaryOp::Matches),
            _ => None,
        };
        let Some(operator) = operator else {
            let name = function.trim_matches('_');
            return error(id, format!("unknown function `{name}`"));
        };
        let (left, right) = match target {
            Some(receiver) => (receiver, &args[0]),
            None => (&args[0], &args[1]),
        };
        if operator == BinaryOp::Matches
            && let Cel::Literal(LiteralValue::String(pattern)) = &right.expr
        {
            let pattern: &str = pattern.as_ref();
            let regex = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
                .or_else(|problem| {
                    error(right.id, format!("invalid regular expression: {problem}"))
                })?;
            return Ok(Op::MatchesLiteral(
                Box::new(self.expr(left, depth)?),
                Box::new(regex),
            ));
        }
        Ok(Op::Binary(
            operator,
            Box::new((self.expr(left, depth)?, self.expr(right, depth)?)),
        ))
    }

    fn comprehension(
        &mut self,
        comprehension: &ComprehensionExpr,
        depth: usize,
    ) -> Result<Op, CompileError> {
        if comprehension.iter_var2.is_some() {
            return error(
                comprehension.iter_range.id,
                "two-variable comprehensions are not supported in conditions",
            );
        }
        let range = self.expr(&comprehension.iter_range, depth)?;
        let init = self.expr(&comprehension.accu_init, depth)?;
        let accumulator = self.allocate(&comprehension.accu_var);
        let item = self.allocate(&comprehension.iter_var);
        let condition = self.expr(&comprehension.loop_cond, depth);
        let step = self.expr(&comprehension.loop_step, depth);
        // The item goes out of scope; the accumulator stays visible to the result.
        self.scopes.pop();
        let result = self.expr(&comprehension.result, depth);
        self.scopes.pop();
        Ok(Op::Comprehension(Box::new(Comprehension {
            range,
            item,
            accumulator,
            init,
            condition: condition?,
            step: step?,
            result: result?,
        })))
    }

    fn allocate(&mut self, name: &str) -> u32 {
        let slot = self.locals;
        self.locals += 1;
        self.scopes.push((name.to_string(), slot));
        slot
    }
}

/// Parses a condition with the fast parser, for evaluation.
pub fn parse(text: &str) -> Result<IdedExpr, String> {
    if text.len() > MAX_CONDITION_BYTES {
        return Err(format!(
            "the condition is {} bytes long; at most {} are accepted",
            text.len(),
            MAX_CONDITION_BYTES
        ));
    }
    cel::parser::PrattParser::new()
        .parse(text)
        .map_err(|errors| {
            errors
                .errors
                .first()
                .map_or_else(|| "invalid CEL".to_string(), |error| error.msg.clone())
        })
}

/// A property a program reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Read {
    Subject(String),
    Endpoint(String),
    System(String),
}

impl Program {
    /// Every operation of the program, each once (an explicit stack: no recursion).
    pub fn operations(&self) -> Vec<&Op> {
        let mut operations = Vec::new();
        let mut pending = vec![&self.root];
        while let Some(expr) = pending.pop() {
            operations.push(&expr.op);
            match &expr.op {
                Op::Const(_)
                | Op::Subject { .. }
                | Op::Missing { .. }
                | Op::Endpoint { .. }
                | Op::EndpointHas { .. }
                | Op::System { .. }
                | Op::CrossesBoundary
                | Op::CrossedBoundaries
                | Op::Local(_) => {}
                Op::And(pair) | Op::Or(pair) | Op::Binary(_, pair) => {
                    pending.push(&pair.0);
                    pending.push(&pair.1);
                }
                Op::Unary(_, operand) | Op::MatchesLiteral(operand, _) => pending.push(operand),
                Op::Conditional(triple) => {
                    pending.extend([&triple.0, &triple.1, &triple.2]);
                }
                Op::List(items) => pending.extend(items),
                Op::Comprehension(comprehension) => pending.extend([
                    &comprehension.range,
                    &comprehension.init,
                    &comprehension.condition,
                    &comprehension.step,
                    &comprehension.result,
                ]),
            }
        }
        operations
    }

    /// Every property the program reads.
    pub fn reads(&self) -> Vec<Read> {
        let mut reads: Vec<Read> = self
            .operations()
            .into_iter()
            .filter_map(|op| match op {
                Op::Subject { name, .. } => Some(Read::Subject(name.to_string())),
                Op::Missing { variable, name } => Some(match *variable {
                    "self" => Read::Subject(name.to_string()),
                    "system" => Read::System(name.to_string()),
                    _ => Read::Endpoint(name.to_string()),
                }),
                Op::Endpoint { name, .. } => Some(Read::Endpoint(name.to_string())),
                Op::System { name, .. } => Some(Read::System(name.to_string())),
                _ => None,
            })
            .collect();
        reads.sort();
        reads.dedup();
        reads
    }
}
