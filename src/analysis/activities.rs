//! Security activities triggered by risk: each activity of the knowledge base whose rule holds
//! over the system's facts and the threat model's results is required; one the model records
//! in `[[activity-done]]` is done, the others are owed. The report says why each is required:
//! the rule and the values it read.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::IdedExpr;
use cel::common::ast::Expr;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::condition::{MAX_CONDITION_DEPTH, REPORT_FIELDS, ReportFieldType};
use crate::engine::Engine;
use crate::engine::bind::BoundModel;
use crate::engine::program;
use crate::engine::value::{Interner, Value};
use crate::model::ActivityKind;
use crate::system::validate::Role;

use super::report::{TierChoice, Totals};

/// The `activities` of a report: the activities required, and how many are done and owed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ActivitiesReport {
    pub required: usize,
    pub done: usize,
    pub owed: usize,
    /// Every activity required, in the knowledge base's order, then every one whose rule could
    /// not be evaluated (never treated as not required).
    pub activities: Vec<RequiredActivity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RequiredActivity {
    /// Qualified: `namespace/pack:activity/id`.
    pub id: String,
    pub name: String,
    pub kind: ActivityKind,
    pub status: ActivityStatus,
    /// The rule, as the pack wrote it.
    pub rule: String,
    /// Where the rule is written (`pack file:line`).
    pub source: String,
    /// The values the rule read, by path (`report.residual.critical`, `system.internet_facing`).
    pub values: BTreeMap<String, Json>,
    /// Why the rule could not be evaluated (`status` is `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `[[activity-done]]` entry that records it done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<crate::model::ActivityDone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityStatus {
    /// Required and recorded done.
    Done,
    /// Required and not recorded done.
    Owed,
    /// The rule could not be evaluated: it may be required.
    Error,
}

impl ActivityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityStatus::Done => "done",
            ActivityStatus::Owed => "owed",
            ActivityStatus::Error => "error",
        }
    }
}

/// `report.residual.critical = 5, system.internet_facing = true`: the values a rule read.
pub fn values_text(values: &BTreeMap<String, Json>) -> String {
    values
        .iter()
        .map(|(path, value)| format!("{path} = {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evaluates every activity of the knowledge base over the model and its results; `None` when
/// the knowledge base declares none.
pub(crate) fn activities(
    engine: &Engine<'_>,
    model: &BoundModel,
    totals: &Totals,
    tier: &TierChoice,
) -> Option<ActivitiesReport> {
    let kb = engine.kb;
    if kb.activities.is_empty() {
        return None;
    }
    let system = system_values(engine, model);
    let report = report_values(engine, model, totals, tier);
    let mut context = cel::Context::default();
    context.add_variable_from_value("system", to_cel_map(&system));
    context.add_variable_from_value("report", report_cel(&report));
    let ids: Vec<&str> = kb
        .activities
        .iter()
        .map(|activity| activity.id.as_str())
        .collect();
    let mut out = ActivitiesReport::default();
    for (index, activity) in kb.activities.iter().enumerate() {
        let done = model
            .activities_done
            .iter()
            .find(|done| {
                crate::system::validate::resolve_id(kb, &ids, "activity", &done.id).ok()
                    == Some(index)
            })
            .cloned();
        let outcome = evaluate(&activity.when, &context);
        let (status, error, values) = match outcome {
            Ok((false, _)) => continue,
            Ok((true, paths)) => {
                let values = paths
                    .into_iter()
                    .filter_map(|path| {
                        let value = match path.strip_prefix("system.") {
                            Some(name) => system.get(name).cloned(),
                            None => report.get(&path).cloned(),
                        }?;
                        Some((path, value))
                    })
                    .collect();
                let status = if done.is_some() {
                    ActivityStatus::Done
                } else {
                    ActivityStatus::Owed
                };
                (status, None, values)
            }
            Err(message) => (ActivityStatus::Error, Some(message), BTreeMap::new()),
        };
        match status {
            ActivityStatus::Done => out.done += 1,
            ActivityStatus::Owed | ActivityStatus::Error => out.owed += 1,
        }
        out.required += 1;
        out.activities.push(RequiredActivity {
            id: activity.id.clone(),
            name: activity.name.clone(),
            kind: activity.kind,
            status,
            rule: activity.when.trim().to_string(),
            source: format!(
                "{} {}:{}",
                activity.provenance.pack, activity.provenance.file, activity.provenance.line
            ),
            values,
            error,
            done: if status == ActivityStatus::Done {
                done
            } else {
                None
            },
        });
    }
    out.activities
        .sort_by_key(|activity| activity.status == ActivityStatus::Error);
    Some(out)
}

/// Evaluates `rule`: whether it holds, and the paths it reads (`system.x`, `report.a.b`).
fn evaluate(rule: &str, context: &cel::Context<'_, '_>) -> Result<(bool, Vec<String>), String> {
    let expression = program::parse(rule)?;
    let paths = read_paths(&expression)?;
    match cel::objects::Value::resolve(&expression, context) {
        Ok(cel::objects::Value::Bool(holds)) => Ok((holds, paths)),
        Ok(other) => Err(format!(
            "the rule gives {other:?}, not a bool: `{}`",
            rule.trim()
        )),
        Err(error) => Err(format!("{error} in `{}`", rule.trim())),
    }
}

/// The `system.x` and `report.a.b` paths an expression reads, sorted, each once; an error for
/// a tree deeper than conditions may be (the evaluator recurses).
fn read_paths(expression: &IdedExpr) -> Result<Vec<String>, String> {
    let mut paths = Vec::new();
    let mut pending = vec![(expression, 1usize)];
    while let Some((node, depth)) = pending.pop() {
        if depth > MAX_CONDITION_DEPTH {
            return Err(format!(
                "the rule nests more than {MAX_CONDITION_DEPTH} levels deep"
            ));
        }
        if let Some(path) = select_path(node) {
            paths.push(path);
            continue;
        }
        match &node.expr {
            Expr::Select(select) => pending.push((&select.operand, depth + 1)),
            Expr::Call(call) => pending.extend(
                call.target
                    .iter()
                    .map(|target| &**target)
                    .chain(call.args.iter())
                    .map(|child| (child, depth + 1)),
            ),
            Expr::List(list) => {
                pending.extend(list.elements.iter().map(|child| (child, depth + 1)));
            }
            Expr::Comprehension(comprehension) => pending.extend(
                [
                    &comprehension.iter_range,
                    &comprehension.accu_init,
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ]
                .map(|child| (child, depth + 1)),
            ),
            _ => {}
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// `system.x` or `report.a(.b)`: the dotted path of a select chain rooted at those variables.
fn select_path(node: &IdedExpr) -> Option<String> {
    let mut fields = Vec::new();
    let mut current = node;
    loop {
        match &current.expr {
            Expr::Select(select) if !select.test => {
                fields.push(select.field.as_str());
                current = &select.operand;
            }
            Expr::Ident(name) if (name == "system" || name == "report") && !fields.is_empty() => {
                fields.push(name.as_str());
                fields.reverse();
                return Some(fields.join("."));
            }
            _ => return None,
        }
    }
}

/// The system's property values (set or defaulted), by name.
fn system_values(engine: &Engine<'_>, model: &BoundModel) -> BTreeMap<String, Json> {
    engine
        .system_layout
        .slots
        .iter()
        .filter_map(|(name, slot)| {
            let value = model.system.get(*slot as usize)?;
            Some((name.to_string(), to_json(value, &engine.symbols)))
        })
        .collect()
}

/// The values of `REPORT_FIELDS` (records left out), by path.
fn report_values(
    engine: &Engine<'_>,
    model: &BoundModel,
    totals: &Totals,
    tier: &TierChoice,
) -> BTreeMap<String, Json> {
    let internet_facing = model
        .elements
        .iter()
        .filter(|element| element.role == Role::Component && element.out_of_scope.is_none())
        .filter(|element| {
            engine
                .layouts
                .get(element.entity)
                .and_then(|layout| layout.slot("internet_facing"))
                .and_then(|slot| model.values_of(element).get(slot as usize))
                .is_some_and(|value| matches!(value, Value::Bool(true)))
        })
        .count();
    let residual = |level: &str| totals.by_residual.get(level).copied().unwrap_or(0);
    let mut values = BTreeMap::new();
    for (path, _, kind) in REPORT_FIELDS {
        let value = match *path {
            "report.threats" => Json::from(totals.threats),
            "report.unmitigated" => Json::from(totals.unmitigated),
            "report.backlog_items" => Json::from(totals.backlog_items),
            "report.components" => Json::from(model.components),
            "report.internet_facing_components" => Json::from(internet_facing),
            "report.tier" => Json::from(tier.name.clone().unwrap_or_default()),
            _ => match (kind, path.strip_prefix("report.residual.")) {
                (ReportFieldType::Int, Some(level)) => Json::from(residual(level)),
                _ => continue,
            },
        };
        values.insert(path.to_string(), value);
    }
    values
}

/// The `report` variable: `report.residual.x` nested into a map, the other fields as they are.
fn report_cel(values: &BTreeMap<String, Json>) -> cel::objects::Value {
    let mut root = serde_json::Map::new();
    let mut residual = serde_json::Map::new();
    for (path, value) in values {
        let Some(field) = path.strip_prefix("report.") else {
            continue;
        };
        match field.strip_prefix("residual.") {
            Some(level) => residual.insert(level.to_string(), value.clone()),
            None => root.insert(field.to_string(), value.clone()),
        };
    }
    root.insert("residual".to_string(), Json::Object(residual));
    to_cel(&Json::Object(root))
}

fn to_cel_map(values: &BTreeMap<String, Json>) -> cel::objects::Value {
    to_cel(&Json::Object(
        values
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    ))
}

fn to_cel(value: &Json) -> cel::objects::Value {
    use cel::objects::{Key, Map, Value as Cel};
    match value {
        Json::Null => Cel::Null,
        Json::Bool(value) => Cel::Bool(*value),
        Json::Number(number) => match number.as_i64() {
            Some(int) => Cel::Int(int),
            None => Cel::Float(number.as_f64().unwrap_or(0.0)),
        },
        Json::String(text) => Cel::String(Arc::new(text.clone())),
        Json::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Json::Object(entries) => Cel::Map(Map {
            map: Arc::new(
                entries
                    .iter()
                    .map(|(key, value)| (Key::String(Arc::new(key.clone())), to_cel(value)))
                    .collect(),
            ),
        }),
    }
}

fn to_json(value: &Value, symbols: &Interner) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(value) => Json::Bool(*value),
        Value::Int(value) => Json::from(*value),
        Value::Double(value) => Json::from(*value),
        Value::Str(sym) => Json::from(symbols.text(*sym)),
        Value::Text(text) => Json::from(text.as_ref()),
        Value::List(items) => {
            Json::Array(items.iter().map(|item| to_json(item, symbols)).collect())
        }
    }
}
