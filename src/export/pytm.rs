//! A knowledge base as an OWASP pytm threat library (`threats.json`, what pytm 1.4 loads with
//! `TM.threatsFile`): each attack pattern a threat, its CEL condition translated back to a
//! Python expression over `target` (docs/interop.md, "Export"). Pure: the caller writes.
//!
//! Only entities that are pytm classes (as `threatpack import pytm` makes them) have a pytm
//! target, and only properties that are pytm attributes, controls or the importer's derived
//! properties can be read; every attack pattern that needs anything else is reported, with why.

use std::collections::BTreeMap;

use cel::common::ast::{Expr, LiteralValue};
use serde::Serialize;

use super::{ExportReport, Exported};
use crate::compile::KnowledgeBase;
use crate::model::{Rating, Severity, Status};
use crate::system::pytm::classes::{
    self as classes, AttrType, CLASSIFICATIONS, CONTROLS, DATA_FLAGS, DATASTORE_TYPES, LIFETIMES,
    MAX_CLASSIFICATION, TLS_VERSIONS, WEAKEST_INPUT_TLS,
};

#[derive(Serialize)]
struct Threat {
    #[serde(rename = "SID")]
    sid: String,
    target: Vec<String>,
    description: String,
    details: String,
    #[serde(rename = "Likelihood Of Attack")]
    likelihood: String,
    severity: String,
    condition: String,
    prerequisites: String,
    mitigations: String,
    example: String,
    references: String,
}

/// The CEL the importer writes for pytm's two helper methods, read back as the methods.
const HAS_DATA_LEAKS: &str = "self.data_max_classification > source.max_classification || self.data_max_classification > target.max_classification || self.data_max_classification > self.max_classification";
const CHECK_TLS: &str = "self.weakest_input_tls_version < self.min_tls_version";

/// Exports every stable attack pattern of `kb` that pytm can express.
pub fn export(kb: &KnowledgeBase) -> Exported {
    let mut notes = crate::import::Notes::default();
    let mut threats = Vec::new();
    let short = |id: &str| id.rsplit(['/', ':']).next().unwrap_or(id).to_string();
    for pattern in &kb.attack_patterns {
        let item = short(&pattern.id);
        if pattern.status != Status::Stable {
            notes.add("deprecated: pytm has no deprecated threats", item);
            continue;
        }
        let mut targets = Vec::new();
        let mut foreign = Vec::new();
        for entity in &pattern.matches {
            match classes::class_of_entity(&short(entity)) {
                Some(class) => targets.push(class),
                None => foreign.push(short(entity)),
            }
        }
        if targets.is_empty() {
            notes.add(
                format!(
                    "applies to no pytm class (entities {}): pytm's targets are its classes",
                    foreign.join(", ")
                ),
                item,
            );
            continue;
        }
        let condition = match pattern.condition.as_deref() {
            None => Ok("True".to_string()),
            Some(cel) => python(cel, &targets),
        };
        let condition = match condition {
            Ok(condition) => condition,
            Err(reason) => {
                notes.add(format!("condition not expressible in pytm: {reason}"), item);
                continue;
            }
        };
        let mitigations: Vec<String> = kb
            .links
            .iter()
            .filter(|link| link.attack_pattern == pattern.id)
            .filter_map(|link| kb.mitigations.iter().find(|m| m.id == link.mitigation))
            .map(|mitigation| match mitigation.implementation.trim() {
                "" => mitigation.description.trim().to_string(),
                text => text.to_string(),
            })
            .collect();
        let mut references: Vec<String> = pattern
            .references
            .capec
            .iter()
            .map(|id| format!("https://capec.mitre.org/data/definitions/{id}.html"))
            .chain(
                pattern
                    .references
                    .cwe
                    .iter()
                    .map(|id| format!("https://cwe.mitre.org/data/definitions/{id}.html")),
            )
            .collect();
        references.extend(pattern.references.url.iter().cloned());
        threats.push(Threat {
            sid: item.to_ascii_uppercase(),
            target: targets.iter().map(|class| class.name.to_string()).collect(),
            description: pattern.name.clone(),
            details: pattern.description.clone(),
            likelihood: pattern
                .likelihood
                .map(rating)
                .unwrap_or_default()
                .to_string(),
            severity: severity(pattern.severity).to_string(),
            condition,
            prerequisites: String::new(),
            mitigations: mitigations.join("\n\n"),
            example: String::new(),
            references: references.join(", "),
        });
    }
    let text = serde_json::to_string_pretty(&threats).unwrap_or_else(|_| "[]".to_string());
    Exported {
        text: format!("{text}\n"),
        report: ExportReport {
            format: "pytm".to_string(),
            pack: kb.pack.clone(),
            version: kb.version.clone(),
            written: BTreeMap::from([("threats".to_string(), threats.len())]),
            // pytm's conditions are written exactly or the threat is left out (and reported).
            conditions: kb.attack_patterns.len(),
            exact_conditions: threats.len(),
            not_exported: notes.into_entries(),
        },
    }
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "Very Low",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Very High",
    }
}

fn rating(rating: Rating) -> &'static str {
    match rating {
        Rating::VeryLow => "Very Low",
        Rating::Low => "Low",
        Rating::Medium => "Medium",
        Rating::High => "High",
        Rating::VeryHigh => "Very High",
    }
}

/// A CEL condition as pytm's Python, for a threat on `targets`.
fn python(cel: &str, targets: &[&'static classes::Class]) -> Result<String, String> {
    let text = cel
        .replace(HAS_DATA_LEAKS, "pytm_has_data_leaks")
        .replace(CHECK_TLS, "pytm_check_tls_version");
    let tree = cel::parser::PrattParser::new()
        .parse(&text)
        .map_err(|_| "not valid CEL".to_string())?;
    let mut writer = Writer { targets };
    Ok(writer.expression(&tree.expr, 0)?.0)
}

struct Writer<'a> {
    targets: &'a [&'static classes::Class],
}

// Python precedences, loosest first.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const COMPARE: u8 = 4;
const ATOM: u8 = 5;

/// A Python fragment, its precedence and, for a property, its pytm type.
type Fragment = (String, u8, Option<AttrType>);

impl Writer<'_> {
    fn wrapped(
        &mut self,
        expression: &Expr,
        minimum: u8,
    ) -> Result<(String, Option<AttrType>), String> {
        let (text, precedence, kind) = self.expression(expression, minimum)?;
        Ok((
            if precedence < minimum {
                format!("({text})")
            } else {
                text
            },
            kind,
        ))
    }

    fn expression(&mut self, expression: &Expr, _minimum: u8) -> Result<Fragment, String> {
        match expression {
            Expr::Literal(LiteralValue::Boolean(value)) => Ok((
                if *value.inner() { "True" } else { "False" }.to_string(),
                ATOM,
                None,
            )),
            Expr::Literal(LiteralValue::Int(value)) => Ok((value.inner().to_string(), ATOM, None)),
            Expr::Literal(LiteralValue::String(value)) => {
                let value: &str = value.as_ref();
                Ok((format!("'{}'", escape(value)), ATOM, None))
            }
            Expr::Ident(name) if name.as_str() == "pytm_has_data_leaks" => Ok((
                "target.hasDataLeaks()".to_string(),
                ATOM,
                Some(AttrType::Bool),
            )),
            Expr::Ident(name) if name.as_str() == "pytm_check_tls_version" => Ok((
                "target.checkTLSVersion(target.inputs)".to_string(),
                ATOM,
                Some(AttrType::Bool),
            )),
            Expr::Select(select) => {
                let role = match &select.operand.expr {
                    Expr::Ident(name) => name.to_string(),
                    _ => {
                        return Err(
                            "a property of something other than self, source or target".to_string()
                        );
                    }
                };
                self.property(&role, select.field.as_str())
            }
            Expr::Call(call) => {
                let function = call.func_name.as_str();
                let args: Vec<&Expr> = call.args.iter().map(|arg| &arg.expr).collect();
                match (function, args.as_slice()) {
                    ("_&&_" | "_||_", [left, right]) => {
                        let (own, word) = if function == "_&&_" {
                            (AND, "and")
                        } else {
                            (OR, "or")
                        };
                        let (left, _) = self.wrapped(left, own)?;
                        let (right, _) = self.wrapped(right, own)?;
                        Ok((format!("{left} {word} {right}"), own, None))
                    }
                    ("!_", [operand]) => {
                        let (operand, _) = self.wrapped(operand, NOT)?;
                        Ok((format!("not {operand}"), NOT, None))
                    }
                    ("_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_", [left, right]) => {
                        let symbol = &function[1..function.len() - 1];
                        let (left_text, left_kind) = self.wrapped(left, COMPARE + 1)?;
                        let (right_text, right_kind) = self.wrapped(right, COMPARE + 1)?;
                        let left_text = literal(right_kind, left, left_text)?;
                        let right_text = literal(left_kind, right, right_text)?;
                        Ok((format!("{left_text} {symbol} {right_text}"), COMPARE, None))
                    }
                    ("@in", [value, Expr::List(list)]) => {
                        let (value_text, kind) = self.wrapped(value, COMPARE + 1)?;
                        let items = list
                            .elements
                            .iter()
                            .map(|item| {
                                let text = self.wrapped(&item.expr, ATOM)?.0;
                                literal(kind, &item.expr, text)
                            })
                            .collect::<Result<Vec<_>, String>>()?;
                        Ok((
                            format!("{value_text} in ({},)", items.join(", ")),
                            COMPARE,
                            None,
                        ))
                    }
                    _ => Err(format!("CEL `{function}` has no pytm equivalent here")),
                }
            }
            _ => Err("an expression pytm conditions cannot hold".to_string()),
        }
    }

    /// `self.X`, `source.X`, `target.X` as pytm reads them.
    fn property(&mut self, role: &str, name: &str) -> Result<Fragment, String> {
        let object = match role {
            "self" => "target",
            "source" => "target.source",
            "target" => "target.sink",
            other => return Err(format!("`{other}.{name}`: pytm has no `{other}`")),
        };
        if let Some(rest) = name.strip_prefix("carries_") {
            return carries(rest)
                .map(|test| {
                    (
                        format!("any({test} for d in {object}.data)"),
                        ATOM,
                        Some(AttrType::Bool),
                    )
                })
                .ok_or_else(|| format!("`{role}.{name}` is no per-datum test pytm can make"));
        }
        if name == MAX_CLASSIFICATION || name == WEAKEST_INPUT_TLS {
            return Err(format!(
                "`{role}.{name}` outside the importer's helper-method tests"
            ));
        }
        // An attribute of every target class (or, on a flow's end, of every component class).
        let holders: Vec<&classes::Class> = if role == "self" {
            self.targets.to_vec()
        } else {
            classes::CLASSES
                .iter()
                .filter(|class| !matches!(class.name, "Dataflow" | "Boundary"))
                .collect()
        };
        let attribute = holders.first().and_then(|class| {
            classes::attributes(class)
                .into_iter()
                .find(|(attribute, _, _)| classes::snake(attribute) == name)
        });
        if let Some((attribute, kind, _)) = attribute
            && holders
                .iter()
                .all(|class| classes::attribute(class, attribute).is_some())
        {
            return Ok((format!("{object}.{attribute}"), ATOM, Some(kind)));
        }
        if let Some(control) = CONTROLS
            .iter()
            .find(|control| classes::control_property(control) == name)
            && let Some(kind) = classes::control_type(control)
        {
            return Ok((format!("{object}.controls.{control}"), ATOM, Some(kind)));
        }
        Err(format!(
            "`{role}.{name}` is not a pytm attribute of every target class"
        ))
    }
}

/// A constant compared with a property of pytm type `kind`, in pytm's spelling: ranks as
/// `TLSVersion`/`Classification` members, datastore types as `DatastoreType` members.
fn literal(kind: Option<AttrType>, expression: &Expr, text: String) -> Result<String, String> {
    let members: &[&str] = match kind {
        Some(AttrType::Tls) => &TLS_VERSIONS,
        Some(AttrType::Classification) => &CLASSIFICATIONS,
        Some(AttrType::DatastoreType) => &DATASTORE_TYPES,
        _ => return Ok(text),
    };
    let enumeration = match kind {
        Some(AttrType::Tls) => "TLSVersion",
        Some(AttrType::Classification) => "Classification",
        _ => "DatastoreType",
    };
    match expression {
        Expr::Literal(LiteralValue::Int(value)) => usize::try_from(*value.inner())
            .ok()
            .and_then(|index| members.get(index))
            .map(|member| format!("{enumeration}.{member}"))
            .ok_or_else(|| format!("{} is no {enumeration}", value.inner())),
        Expr::Literal(LiteralValue::String(value)) => {
            let value: &str = value.as_ref();
            members
                .iter()
                .find(|member| classes::enum_value(member) == value)
                .map(|member| format!("{enumeration}.{member}"))
                .ok_or_else(|| format!("`{value}` is no {enumeration}"))
        }
        _ => Ok(text),
    }
}

/// The per-datum test of a `carries_` property (the importer's names).
fn carries(rest: &str) -> Option<String> {
    let flag = |name: &str| {
        DATA_FLAGS
            .iter()
            .find(|(_, short)| *short == name)
            .map(|(flag, _)| format!("d.{flag}"))
    };
    if let Some(test) = flag(rest) {
        return Some(test);
    }
    if let Some(life) = rest.strip_prefix("credentials_life_") {
        let member = LIFETIMES
            .iter()
            .find(|member| member.to_ascii_lowercase() == life)?;
        return Some(format!("d.credentialsLife == Lifetime.{member}"));
    }
    if let Some(format) = rest.strip_prefix("format_") {
        // The importer lowercased the format: pytm's are compared as written, so only the
        // usual upper-case spellings (JSON, XML, CSV) come back.
        if format.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
            return Some(format!("d.format == '{}'", format.to_ascii_uppercase()));
        }
        return None;
    }
    let mut parts = BTreeMap::new();
    for (position, (_, short)) in DATA_FLAGS.iter().enumerate() {
        for (_, second) in &DATA_FLAGS[position + 1..] {
            parts.insert(format!("{short}_and_{second}"), (*short, *second));
        }
    }
    let (first, second) = parts.get(rest)?;
    Some(format!("{} and {}", flag(first)?, flag(second)?))
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}
