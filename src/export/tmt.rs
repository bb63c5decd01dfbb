//! A knowledge base as a Microsoft Threat Modeling Tool template (`.tb7`), laid out as
//! Microsoft's own: generic element types (`GE.*`) with their stencils below them, attributes
//! from enum and bool properties, threat categories, and threat types whose generation filters
//! are the attack patterns' `applies-to` and conditions translated from CEL. What the tool
//! cannot express is reported (docs/interop.md#threat-modeling-tool).

use std::collections::{BTreeMap, BTreeSet};

use super::{ExportReport, Exported};
use crate::compile::{CompiledAttackPattern, CompiledEntity, KnowledgeBase};
use crate::import::ReportEntry;
use crate::import::tmt::{Filter, Subject, TYPE_PROPERTY};
use crate::model::{ElementKind, PropertyType, Severity, Status};
use cel::IdedExpr;
use cel::common::ast::{Expr as Cel, LiteralValue};

/// The kinds' generic element types, as Microsoft names them.
fn generic(kind: ElementKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        ElementKind::Process => ("GE.P", "Generic Process", "Ellipse"),
        ElementKind::DataStore => ("GE.DS", "Generic Data Store", "ParallelLines"),
        ElementKind::ExternalInteractor => ("GE.EI", "Generic External Interactor", "Rectangle"),
        ElementKind::DataFlow => ("GE.DF", "Generic Data Flow", "Line"),
        ElementKind::TrustBoundary => {
            ("GE.TB.B", "Generic Trust Border Boundary", "BorderBoundary")
        }
    }
}

const STRIDE: [(&str, &str, &str, &str); 6] = [
    (
        "spoofing",
        "S",
        "Spoofing",
        "Spoofing is when a process or entity is something other than its claimed identity.",
    ),
    (
        "tampering",
        "T",
        "Tampering",
        "Tampering is the act of altering the bits.",
    ),
    (
        "repudiation",
        "R",
        "Repudiation",
        "Repudiation threats involve an adversary denying that something happened.",
    ),
    (
        "information-disclosure",
        "I",
        "Information Disclosure",
        "Information disclosure happens when the information can be read by an unauthorized party.",
    ),
    (
        "denial-of-service",
        "D",
        "Denial Of Service",
        "Denial of Service happens when the process or a datastore is not able to service incoming requests or perform up to spec.",
    ),
    (
        "elevation-of-privilege",
        "E",
        "Elevation Of Privilege",
        "A user subject gains increased capability or privilege by taking advantage of an implementation bug.",
    ),
];
const ABUSE: (&str, &str, &str, &str) = (
    "tmt:abuse",
    "A",
    "Abuse",
    "Abuse is when a legitimate user violates the terms of use for the system without violating a system security policy.",
);

/// An element type to write.
struct Type<'k> {
    id: String,
    name: String,
    description: String,
    parent: Option<String>,
    representation: &'static str,
    attributes: Vec<Attribute>,
    entity: Option<&'k CompiledEntity>,
}

#[derive(Clone)]
struct Attribute {
    name: String,
    display: String,
    /// The values, the default first: (property value, the tool's value).
    values: Vec<(String, String)>,
    bool: bool,
}

/// Collects report entries by reason.
#[derive(Default)]
struct Notes(BTreeMap<String, BTreeSet<String>>);

impl Notes {
    fn add(&mut self, reason: impl Into<String>, item: impl Into<String>) {
        self.0.entry(reason.into()).or_default().insert(item.into());
    }
}

/// The local part of a qualified id: `ns/pack:entity/web-app` is `web-app`.
fn local(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// What the importer wrote between backticks after `marker` in a description.
fn marked<'t>(description: &'t str, marker: &str) -> Option<&'t str> {
    let start = description.find(marker)? + marker.len();
    let rest = &description[start..];
    Some(&rest[..rest.find('`')?])
}

/// An attribute from a property: the importer's description gives back the tool's names and
/// values; other properties get names made of theirs.
fn attribute(name: &str, property: &crate::model::PropertyDefinition) -> Option<Attribute> {
    let description = &property.description;
    let tool_name = marked(description, "Threat Modeling Tool attribute `")
        .map(str::to_string)
        .unwrap_or_else(|| {
            name.split('_')
                .map(|word| {
                    let mut characters = word.chars();
                    characters
                        .next()
                        .map(|first| first.to_ascii_uppercase().to_string() + characters.as_str())
                        .unwrap_or_default()
                })
                .collect()
        });
    let display = description
        .split_once("` (\"")
        .and_then(|(_, rest)| rest.split_once("\")"))
        .map(|(display, _)| display.to_string())
        .filter(|_| description.starts_with("Threat Modeling Tool attribute"))
        .unwrap_or_else(|| name.replace('_', " "));
    let original = |value: &str| {
        let marker = format!("`{value}` = \"");
        description
            .find(&marker)
            .map(|start| &description[start + marker.len()..])
            .and_then(|rest| rest.split_once('"'))
            .map(|(original, _)| original.to_string())
            .unwrap_or_else(|| value.to_string())
    };
    let default = property.default.as_str().map(str::to_string);
    let (values, bool) = match property.property_type {
        PropertyType::Enum => {
            let mut values: Vec<(String, String)> = property
                .values
                .iter()
                .map(|value| (value.clone(), original(value)))
                .collect();
            // The tool's default is the first value.
            if let Some(at) = values
                .iter()
                .position(|(value, _)| Some(value) == default.as_ref())
            {
                let first = values.remove(at);
                values.insert(0, first);
            }
            (values, false)
        }
        PropertyType::Bool => {
            let yes = ("true".to_string(), "Yes".to_string());
            let no = ("false".to_string(), "No".to_string());
            if property.default.as_bool() == Some(true) {
                (vec![yes, no], true)
            } else {
                (vec![no, yes], true)
            }
        }
        _ => return None,
    };
    Some(Attribute {
        name: tool_name,
        display,
        values,
        bool,
    })
}

/// Exports `kb` as a template.
pub fn export(kb: &KnowledgeBase) -> Result<Exported, String> {
    let mut notes = Notes::default();
    let entities: BTreeMap<&str, &CompiledEntity> = kb
        .entities
        .iter()
        .map(|entity| (entity.id.as_str(), entity))
        .collect();
    // Each entity's element type ID: the importer's (its description names it), else made of
    // its kind and id.
    let mut type_ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut used = BTreeSet::new();
    for entity in &kb.entities {
        let id = match marked(&entity.description, "Threat Modeling Tool element type `") {
            Some(id) if !used.contains(id) => id.to_string(),
            _ => {
                let (generic_id, _, _) = generic(entity.kind);
                format!("SE.{}.{}", &generic_id[3..], local(&entity.id))
            }
        };
        // Two packs may define entities of the same id: the later gets a number.
        let mut id = id;
        let base = id.clone();
        let mut number = 2;
        while used.contains(&id) {
            id = format!("{base}.{number}");
            number += 1;
        }
        used.insert(id.clone());
        type_ids.insert(&entity.id, id);
    }
    let mut types: Vec<Type<'_>> = Vec::new();
    let mut needed_generics: Vec<ElementKind> = Vec::new();
    // Every property by name, for conditions: the first declaration's attribute.
    let mut attributes: BTreeMap<String, Attribute> = BTreeMap::new();
    for entity in &kb.entities {
        let imported = marked(&entity.description, "Threat Modeling Tool element type `").is_some();
        let parent = match &entity.parent {
            Some(parent) => type_ids.get(parent.as_str()).cloned(),
            None if imported => None,
            None => {
                if !needed_generics.contains(&entity.kind) {
                    needed_generics.push(entity.kind);
                }
                Some(generic(entity.kind).0.to_string())
            }
        };
        let mut own = Vec::new();
        for (name, property) in &entity.properties {
            if property.declared_by != entity.id || name == TYPE_PROPERTY {
                continue;
            }
            let item = format!("{}: {name}", local(&entity.id));
            if entity.parent.as_deref().is_some_and(|parent| {
                entities
                    .get(parent)
                    .is_some_and(|parent| parent.properties.contains_key(name))
            }) {
                notes.add(
                    "a property redeclared by a child entity: the tool inherits attributes, so the child's default and question are lost",
                    item,
                );
                continue;
            }
            match attribute(name, &property.definition) {
                Some(found) => {
                    attributes.entry(name.clone()).or_insert_with(|| found.clone());
                    own.push(found);
                }
                None => notes.add(
                    format!(
                        "a property of type `{}` has no Threat Modeling Tool attribute (the tool's attributes are lists of values)",
                        property.definition.property_type.as_str()
                    ),
                    item,
                ),
            }
        }
        // The importer's note of the type ID is not part of the tool's description.
        let description = if entity
            .description
            .starts_with("The Threat Modeling Tool element type `")
        {
            String::new()
        } else {
            entity
                .description
                .split("\n\nThreat Modeling Tool element type `")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        types.push(Type {
            id: type_ids[entity.id.as_str()].clone(),
            name: entity.name.clone(),
            description,
            parent,
            representation: generic(entity.kind).2,
            attributes: own,
            entity: Some(entity),
        });
    }
    for kind in &needed_generics {
        let (id, name, representation) = generic(*kind);
        if types.iter().any(|known| known.id == id) {
            continue;
        }
        types.push(Type {
            id: id.to_string(),
            name: name.to_string(),
            description: format!(
                "The generic {} of threatpack's `{}` kind.",
                name.to_lowercase().trim_start_matches("generic "),
                kind.as_str()
            ),
            parent: None,
            representation,
            attributes: Vec::new(),
            entity: None,
        });
    }
    let roots = |kind: ElementKind| -> Vec<String> {
        types
            .iter()
            .filter(|known| {
                known.parent.is_none()
                    && known
                        .entity
                        .map_or(generic(kind).0 == known.id, |entity| entity.kind == kind)
            })
            .map(|known| known.id.clone())
            .collect()
    };
    let flow_roots = roots(ElementKind::DataFlow);
    let boundary_roots = roots(ElementKind::TrustBoundary);
    if flow_roots.is_empty() {
        notes.add(
            "the knowledge base has no data flow entity: the tool generates threats for flows, so the template has the generic data flow `GE.DF`",
            "GE.DF",
        );
    }
    let flow_roots = if flow_roots.is_empty() {
        types.push(Type {
            id: "GE.DF".to_string(),
            name: "Generic Data Flow".to_string(),
            description: "The generic data flow.".to_string(),
            parent: None,
            representation: "Line",
            attributes: Vec::new(),
            entity: None,
        });
        vec!["GE.DF".to_string()]
    } else {
        flow_roots
    };
    // Threat types.
    let context = Context {
        kb,
        entities: &entities,
        type_ids: &type_ids,
        attributes: &attributes,
        flow_roots: &flow_roots,
        boundary_roots: &boundary_roots,
    };
    let mut threats = Vec::new();
    let mut exact = 0;
    let mut conditions = 0;
    let mut abuse = false;
    let mut threat_ids = BTreeSet::new();
    for pattern in &kb.attack_patterns {
        let item = local(&pattern.id).to_string();
        if pattern.status == Status::Deprecated {
            notes.add("deprecated attack patterns are not exported", item);
            continue;
        }
        let (include, exclude, is_exact) = context.filters(pattern, &mut notes);
        if pattern.condition.is_some() {
            conditions += 1;
            if is_exact {
                exact += 1;
            }
        }
        let category = if pattern
            .categories
            .iter()
            .any(|category| category == ABUSE.0)
        {
            abuse = true;
            ABUSE.1
        } else {
            STRIDE
                .iter()
                .find(|(name, ..)| pattern.categories.iter().any(|category| category == name))
                .map_or("E", |(_, letter, ..)| letter)
        };
        if pattern.categories.len() > 1 {
            notes.add(
                "a threat type has one category: the attack pattern's first STRIDE category (or Abuse) is kept",
                item.clone(),
            );
        }
        let priority = match pattern.severity {
            Severity::Critical | Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low | Severity::Info => "Low",
        };
        if matches!(pattern.severity, Severity::Critical | Severity::Info) {
            notes.add(
                format!(
                    "severity `{}` has no Priority of its own: {priority}",
                    pattern.severity.as_str()
                ),
                item.clone(),
            );
        }
        let mut mitigations = Vec::new();
        let mut steps = Vec::new();
        let mut effort = "";
        for link in kb
            .links
            .iter()
            .filter(|link| link.attack_pattern == pattern.id)
        {
            if local(&link.mitigation) == crate::import::GAP_MITIGATION {
                continue;
            }
            if link.condition.is_some() {
                notes.add(
                    "a link condition has no counterpart: the mitigation is listed unconditionally",
                    format!("{} -> {item}", local(&link.mitigation)),
                );
            }
            if let Some(mitigation) = kb.mitigations.iter().find(|m| m.id == link.mitigation) {
                mitigations.push(mitigation.description.trim().to_string());
                if effort.is_empty() {
                    effort = match mitigation.cost {
                        crate::model::Cost::Low => "Low",
                        crate::model::Cost::Medium => "Medium",
                        crate::model::Cost::High => "High",
                    };
                }
                if !mitigation.implementation.trim().is_empty() {
                    steps.push(mitigation.implementation.trim().to_string());
                }
            }
        }
        // Two packs may define attack patterns of the same id: the later gets a number.
        let mut id = item.clone();
        let mut number = 2;
        while !threat_ids.insert(id.clone()) {
            id = format!("{item}-{number}");
            number += 1;
        }
        threats.push(Threat {
            id,
            title: pattern.name.clone(),
            category,
            description: pattern.description.trim().to_string(),
            include: include.map(|filter| filter.to_tmt()).unwrap_or_default(),
            exclude: exclude.map(|filter| filter.to_tmt()).unwrap_or_default(),
            priority,
            mitigations: mitigations.join("\n\n"),
            steps: steps.join("\n\n"),
            effort,
            documentation: pattern.references.url.first().cloned().unwrap_or_default(),
        });
    }
    let xml = write_template(kb, &types, &threats, abuse);
    let not_exported = notes
        .0
        .into_iter()
        .map(|(reason, items)| ReportEntry {
            reason,
            items: items.into_iter().collect(),
        })
        .collect();
    Ok(Exported {
        text: xml,
        report: ExportReport {
            format: "tmt".to_string(),
            pack: kb.pack.clone(),
            version: kb.version.clone(),
            written: BTreeMap::from([
                ("element-types".to_string(), types.len()),
                ("threat-types".to_string(), threats.len()),
            ]),
            conditions,
            exact_conditions: exact,
            not_exported,
        },
    })
}

struct Threat {
    id: String,
    title: String,
    category: &'static str,
    description: String,
    include: String,
    exclude: String,
    priority: &'static str,
    mitigations: String,
    steps: String,
    /// The first mitigation's cost.
    effort: &'static str,
    documentation: String,
}

struct Context<'c> {
    kb: &'c KnowledgeBase,
    entities: &'c BTreeMap<&'c str, &'c CompiledEntity>,
    type_ids: &'c BTreeMap<&'c str, String>,
    attributes: &'c BTreeMap<String, Attribute>,
    flow_roots: &'c [String],
    boundary_roots: &'c [String],
}

/// `Ok(None)`: always true.
type Translated = Result<Option<Filter>, String>;

impl Context<'_> {
    /// Include and Exclude of an attack pattern, and whether they are exact.
    fn filters(
        &self,
        pattern: &CompiledAttackPattern,
        notes: &mut Notes,
    ) -> (Option<Filter>, Option<Filter>, bool) {
        let item = local(&pattern.id).to_string();
        let mut exact = true;
        let mut kinds: Vec<ElementKind> = Vec::new();
        let mut flows = Vec::new();
        let mut targets = Vec::new();
        let mut crossings = Vec::new();
        for applied in &pattern.applies_to {
            let Some(entity) = self.entities.get(applied.as_str()) else {
                continue;
            };
            let id = self.type_ids[applied.as_str()].clone();
            if !kinds.contains(&entity.kind) {
                kinds.push(entity.kind);
            }
            match entity.kind {
                ElementKind::DataFlow => flows.push(id),
                ElementKind::TrustBoundary => crossings.push(id),
                _ => targets.push(id),
            }
        }
        let _ = self.kb;
        if !targets.is_empty() {
            notes.add(
                "applies to components: the tool generates a threat per flow into the component (`target is`), not one per component",
                item.clone(),
            );
        }
        if !crossings.is_empty() {
            notes.add(
                "applies to trust boundaries: the tool generates a threat per flow crossing the boundary (`flow crosses`), not one per boundary",
                item.clone(),
            );
        }
        let every_flow = self.flow_roots.iter().all(|root| flows.contains(root));
        let mut alternatives = Vec::new();
        if !every_flow {
            alternatives.extend(flows.into_iter().map(|id| Filter::Is(Subject::Flow, id)));
        }
        alternatives.extend(
            targets
                .into_iter()
                .map(|id| Filter::Is(Subject::Target, id)),
        );
        alternatives.extend(crossings.into_iter().map(Filter::Crosses));
        let applies = match alternatives.len() {
            0 if every_flow => None,
            1 => alternatives.pop(),
            _ => Some(Filter::Or(alternatives)),
        };
        let subject = match (kinds.len(), kinds.first()) {
            (1, Some(ElementKind::DataFlow)) => Some(Subject::Flow),
            (1, Some(kind)) if kind.is_component() => Some(Subject::Target),
            _ => None,
        };
        let (condition, exclude) = match &pattern.condition {
            None => (None, None),
            Some(text) => match crate::engine::program::parse(text)
                .map_err(|error| format!("the condition does not parse ({error})"))
                .and_then(|expression| self.translate(&expression, subject))
            {
                Ok(filter) => split_exclude(filter),
                Err(reason) => {
                    exact = false;
                    notes.add(
                        format!("a condition the tool's filters cannot express, exported without it (the tool generates the threat more often): {reason}"),
                        item.clone(),
                    );
                    (None, None)
                }
            },
        };
        let include = match (applies, condition) {
            (None, None) => Some(if self.flow_roots.len() == 1 {
                Filter::Is(Subject::Flow, self.flow_roots[0].clone())
            } else {
                Filter::Or(
                    self.flow_roots
                        .iter()
                        .map(|root| Filter::Is(Subject::Flow, root.clone()))
                        .collect(),
                )
            }),
            (Some(filter), None) | (None, Some(filter)) => Some(filter),
            (Some(applies), Some(condition)) => Some(and(vec![applies, condition])),
        };
        (include, exclude, exact)
    }

    fn translate(&self, expression: &IdedExpr, subject: Option<Subject>) -> Translated {
        match &expression.expr {
            Cel::Literal(LiteralValue::Boolean(value)) if *value.inner() => Ok(None),
            Cel::Ident(name) if name == "crosses_boundary" => {
                if self.boundary_roots.is_empty() {
                    return Err(
                        "`crosses_boundary`, and the knowledge base has no trust boundary entity"
                            .to_string(),
                    );
                }
                let mut crossings: Vec<Filter> = self
                    .boundary_roots
                    .iter()
                    .map(|root| Filter::Crosses(root.clone()))
                    .collect();
                Ok(Some(if crossings.len() == 1 {
                    crossings.remove(0)
                } else {
                    Filter::Or(crossings)
                }))
            }
            Cel::Select(select) if select.test => {
                // `has(x.p)`: the tool's tests are false where the attribute is missing, so the
                // guard is implied by the test it guards.
                self.end(&select.operand, subject)?;
                Ok(None)
            }
            Cel::Select(select) => {
                let end = self.end(&select.operand, subject)?;
                let attribute = self.attribute(&select.field)?;
                if !attribute.bool {
                    return Err(format!(
                        "`{}` is read as a bool but is not one",
                        select.field
                    ));
                }
                Ok(Some(Filter::Attribute(
                    end,
                    attribute.name.clone(),
                    "Yes".to_string(),
                )))
            }
            Cel::Call(call) => {
                let name = call.func_name.as_str();
                match (name, call.target.as_deref(), call.args.as_slice()) {
                    ("_&&_", None, [left, right]) => {
                        let items: Vec<Filter> = [
                            self.translate(left, subject)?,
                            self.translate(right, subject)?,
                        ]
                        .into_iter()
                        .flatten()
                        .collect();
                        Ok(match items.len() {
                            0 => None,
                            _ => Some(and(items)),
                        })
                    }
                    ("_||_", None, [left, right]) => {
                        match (
                            self.translate(left, subject)?,
                            self.translate(right, subject)?,
                        ) {
                            (Some(left), Some(right)) => Ok(Some(or(vec![left, right]))),
                            _ => Ok(None),
                        }
                    }
                    ("!_", None, [inner]) => {
                        match self.translate(inner, subject)? {
                            Some(filter) => Ok(Some(match filter {
                                Filter::Not(inner) => *inner,
                                other => Filter::Not(Box::new(other)),
                            })),
                            None => Err("the negation of a test that is always true (`!has(...)`)"
                                .to_string()),
                        }
                    }
                    ("_==_" | "_!=_", None, [left, right]) => {
                        let filter = self
                            .comparison(left, right, subject)
                            .or_else(|_| self.comparison(right, left, subject))?;
                        Ok(Some(if name == "_!=_" {
                            Filter::Not(Box::new(filter))
                        } else {
                            filter
                        }))
                    }
                    ("@in", None, [left, right]) => {
                        if let (Cel::Literal(LiteralValue::String(text)), Cel::Ident(name)) =
                            (&left.expr, &right.expr)
                            && name == "crossed_boundaries"
                        {
                            let text: &str = text.as_ref();
                            return self.crossing(text).map(Some);
                        }
                        let Cel::List(list) = &right.expr else {
                            return Err(
                                "`in` over something other than a list of values".to_string()
                            );
                        };
                        let mut items = Vec::new();
                        for element in &list.elements {
                            items.push(self.comparison(left, element, subject)?);
                        }
                        Ok(Some(or(items)))
                    }
                    ("contains", Some(receiver), [argument]) => {
                        let Cel::Select(select) = &receiver.expr else {
                            return Err("`contains` on something other than a property".to_string());
                        };
                        let end = self.end(&select.operand, subject)?;
                        match (&argument.expr, select.field.as_str()) {
                            (Cel::Literal(LiteralValue::String(text)), TYPE_PROPERTY) => {
                                let text: &str = text.as_ref();
                                let id = text.trim_matches('/');
                                if text.starts_with('/')
                                    && text.ends_with('/')
                                    && !id.contains('/')
                                    && !id.is_empty()
                                {
                                    Ok(Some(Filter::Is(end, id.to_string())))
                                } else {
                                    Err(format!(
                                        "`{TYPE_PROPERTY}.contains` of something other than one type"
                                    ))
                                }
                            }
                            _ => {
                                Err("a string function (`contains`) other than a type test"
                                    .to_string())
                            }
                        }
                    }
                    _ => Err(format!(
                        "`{}` has no counterpart in the tool's filters",
                        display_function(name)
                    )),
                }
            }
            Cel::Ident(name) => Err(format!("`{name}` has no counterpart in the tool's filters")),
            Cel::Literal(_) => Err("a constant".to_string()),
            _ => Err("an expression other than tests of properties and types".to_string()),
        }
    }

    /// `x.p == "v"` (or `x.p == true`), with `select` the property read and `value` the literal.
    fn comparison(
        &self,
        select: &IdedExpr,
        value: &IdedExpr,
        subject: Option<Subject>,
    ) -> Result<Filter, String> {
        let Cel::Select(select) = &select.expr else {
            return Err("a comparison of something other than a property with a value".to_string());
        };
        if select.test {
            return Err("a comparison of `has()`".to_string());
        }
        let end = self.end(&select.operand, subject)?;
        let attribute = self.attribute(&select.field)?;
        let value = match &value.expr {
            Cel::Literal(LiteralValue::String(text)) => {
                let text: &str = text.as_ref();
                text.to_string()
            }
            Cel::Literal(LiteralValue::Boolean(flag)) => flag.inner().to_string(),
            _ => {
                return Err(format!(
                    "`{}` compared with something other than a value",
                    select.field
                ));
            }
        };
        let original = attribute
            .values
            .iter()
            .find(|(known, _)| *known == value)
            .map(|(_, original)| original.clone())
            .ok_or_else(|| {
                format!(
                    "`{}` compared with `{value}`, not one of its values",
                    select.field
                )
            })?;
        Ok(Filter::Attribute(end, attribute.name.clone(), original))
    }

    /// `"ENTITY" in crossed_boundaries`: crossing a boundary of that entity's type.
    fn crossing(&self, entity: &str) -> Result<Filter, String> {
        self.type_ids
            .iter()
            .find(|(id, _)| **id == entity || local(id) == entity)
            .filter(|(id, _)| {
                self.entities
                    .get(**id)
                    .is_some_and(|found| found.kind == ElementKind::TrustBoundary)
            })
            .map(|(_, type_id)| Filter::Crosses(type_id.clone()))
            .ok_or_else(|| {
                format!(
                    "`crossed_boundaries` holding `{entity}`, which is no trust boundary entity"
                )
            })
    }

    fn attribute(&self, property: &str) -> Result<&Attribute, String> {
        self.attributes.get(property).ok_or_else(|| {
            format!("`{property}` is a property of a type the tool's attributes cannot hold, or not an entity property")
        })
    }

    /// Which element a property read is about.
    fn end(&self, operand: &IdedExpr, subject: Option<Subject>) -> Result<Subject, String> {
        match &operand.expr {
            Cel::Ident(name) if name == "source" => Ok(Subject::Source),
            Cel::Ident(name) if name == "target" => Ok(Subject::Target),
            Cel::Ident(name) if name == "self" => subject.ok_or_else(|| {
                "`self` of an attack pattern that applies to entities of several kinds, or to trust boundaries".to_string()
            }),
            Cel::Ident(name) if name == "system" => {
                Err("system properties (`system.`) have no counterpart in the tool".to_string())
            }
            _ => Err("a property of something other than the flow and its ends".to_string()),
        }
    }
}

fn display_function(name: &str) -> String {
    name.trim_matches('_').replace("_", " ").replace('@', "")
}

fn and(items: Vec<Filter>) -> Filter {
    let mut flat = Vec::new();
    for item in items {
        match item {
            Filter::And(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if flat.len() == 1 {
        flat.remove(0)
    } else {
        Filter::And(flat)
    }
}

fn or(items: Vec<Filter>) -> Filter {
    let mut flat = Vec::new();
    for item in items {
        match item {
            Filter::Or(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if flat.len() == 1 {
        flat.remove(0)
    } else {
        Filter::Or(flat)
    }
}

/// A condition `A && !B` as Include `A` and Exclude `B`, as the tool's templates write it.
fn split_exclude(filter: Option<Filter>) -> (Option<Filter>, Option<Filter>) {
    match filter {
        Some(Filter::Not(inner)) => (None, Some(*inner)),
        Some(Filter::And(mut items)) if matches!(items.last(), Some(Filter::Not(_))) => {
            let Some(Filter::Not(excluded)) = items.pop() else {
                return (Some(Filter::And(items)), None);
            };
            (Some(and(items)), Some(*excluded))
        }
        other => (other, None),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing the XML.

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot hold most control characters, even escaped.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A UUID-shaped id derived from `seed`, so that the same pack gives the same template.
fn uuid(seed: &str) -> String {
    let hex = crate::digest::sha256_hex(seed.as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn element(out: &mut String, indent: usize, name: &str, value: &str) {
    let pad = " ".repeat(indent);
    if value.is_empty() {
        out.push_str(&format!("{pad}<{name} />\n"));
    } else {
        out.push_str(&format!("{pad}<{name}>{}</{name}>\n", escape(value)));
    }
}

/// A `ThreatMetaDatum`: Microsoft's threat properties, as its templates define them.
fn datum(
    out: &mut String,
    indent: usize,
    name: &str,
    label: &str,
    values: &[&str],
    id: &str,
    attribute_type: u8,
) {
    let pad = " ".repeat(indent);
    out.push_str(&format!("{pad}<ThreatMetaDatum>\n"));
    element(out, indent + 2, "Name", name);
    element(out, indent + 2, "Label", label);
    element(
        out,
        indent + 2,
        "HideFromUI",
        if name == "UserThreatShortDescription" {
            "true"
        } else {
            "false"
        },
    );
    out.push_str(&format!("{pad}  <Values>\n"));
    for value in values {
        element(out, indent + 4, "Value", value);
    }
    out.push_str(&format!("{pad}  </Values>\n"));
    element(out, indent + 2, "Id", id);
    element(
        out,
        indent + 2,
        "AttributeType",
        &attribute_type.to_string(),
    );
    out.push_str(&format!("{pad}</ThreatMetaDatum>\n"));
}

const METADATA_ID: &str = "22222222-2222-2222-2222-222222222222";

fn write_template(
    kb: &KnowledgeBase,
    types: &[Type<'_>],
    threats: &[Threat],
    abuse: bool,
) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<KnowledgeBase xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n");
    let authors = kb
        .packs
        .iter()
        .find(|pack| pack.name == kb.pack)
        .map(|pack| pack.authors.join(", "))
        .unwrap_or_default();
    out.push_str(&format!(
        "  <Manifest name=\"{}\" id=\"{}\" version=\"{}.0\" author=\"{}\" />\n",
        escape(&kb.pack),
        uuid(&kb.pack),
        escape(kb.version.split(['-', '+']).next().unwrap_or("0.0.0")),
        escape(&authors)
    ));
    let mut categories: Vec<(&str, &str, &str, &str)> = STRIDE.to_vec();
    if abuse {
        categories.push(ABUSE);
    }
    out.push_str("  <ThreatMetaData>\n    <IsPriorityUsed>true</IsPriorityUsed>\n    <IsStatusUsed>true</IsStatusUsed>\n    <PropertiesMetaData>\n");
    let short: Vec<&str> = categories.iter().map(|(_, _, _, text)| *text).collect();
    for (name, label, values, attribute_type) in [
        ("Title", "Title", vec![""], 0),
        ("UserThreatCategory", "STRIDE Category", vec![""], 0),
        ("UserThreatShortDescription", "Short Description", short, 1),
        ("UserThreatDescription", "Description", vec![""], 0),
        ("StateInformation", "Justification", vec![""], 0),
        ("InteractionString", "Interaction", vec![""], 0),
        ("Priority", "Priority", vec!["High", "Medium", "Low"], 1),
        ("PossibleMitigations", "Possible Mitigation(s)", vec![""], 2),
        ("Steps", "Steps", vec![""], 2),
        ("Effort", "Effort", vec!["Low", "Medium", "High"], 1),
        ("Documentation", "Documentation", vec![""], 0),
    ] {
        datum(
            &mut out,
            6,
            name,
            label,
            &values,
            METADATA_ID,
            attribute_type,
        );
    }
    out.push_str("    </PropertiesMetaData>\n  </ThreatMetaData>\n");
    for (section, generic_section) in [("GenericElements", true), ("StandardElements", false)] {
        out.push_str(&format!("  <{section}>\n"));
        for element_type in types
            .iter()
            .filter(|t| t.parent.is_none() == generic_section)
        {
            write_type(&mut out, element_type);
        }
        out.push_str(&format!("  </{section}>\n"));
    }
    out.push_str("  <ThreatCategories>\n");
    for (_, letter, name, description) in &categories {
        out.push_str("    <ThreatCategory>\n");
        element(&mut out, 6, "Name", name);
        element(&mut out, 6, "Id", letter);
        element(&mut out, 6, "ShortDescription", description);
        element(&mut out, 6, "LongDescription", "");
        out.push_str("    </ThreatCategory>\n");
    }
    out.push_str("  </ThreatCategories>\n  <ThreatTypes>\n");
    for threat in threats {
        out.push_str("    <ThreatType>\n      <GenerationFilters>\n");
        element(&mut out, 8, "Include", &threat.include);
        element(&mut out, 8, "Exclude", &threat.exclude);
        out.push_str("      </GenerationFilters>\n");
        element(&mut out, 6, "Id", &threat.id);
        element(&mut out, 6, "ShortTitle", &threat.title);
        element(&mut out, 6, "Category", threat.category);
        element(&mut out, 6, "Description", &threat.description);
        out.push_str("      <PropertiesMetaData>\n");
        datum(
            &mut out,
            8,
            "UserThreatDescription",
            "Description",
            &[&threat.description],
            METADATA_ID,
            0,
        );
        datum(
            &mut out,
            8,
            "Priority",
            "Priority",
            &[threat.priority],
            METADATA_ID,
            1,
        );
        datum(
            &mut out,
            8,
            "PossibleMitigations",
            "Possible Mitigation(s)",
            &[&threat.mitigations],
            "PossibleMitigations",
            2,
        );
        datum(&mut out, 8, "Steps", "Steps", &[&threat.steps], "Steps", 2);
        datum(
            &mut out,
            8,
            "Effort",
            "Effort",
            &[threat.effort],
            "Effort",
            1,
        );
        datum(
            &mut out,
            8,
            "Documentation",
            "Documentation",
            &[&threat.documentation],
            "Documentation",
            0,
        );
        out.push_str("      </PropertiesMetaData>\n    </ThreatType>\n");
    }
    out.push_str("  </ThreatTypes>\n</KnowledgeBase>\n");
    out
}

fn write_type(out: &mut String, element_type: &Type<'_>) {
    out.push_str("    <ElementType>\n");
    element(out, 6, "Name", &element_type.name);
    element(out, 6, "ID", &element_type.id);
    element(out, 6, "Description", &element_type.description);
    element(
        out,
        6,
        "ParentElement",
        element_type.parent.as_deref().unwrap_or("ROOT"),
    );
    element(out, 6, "Image", "");
    element(out, 6, "Hidden", "false");
    element(out, 6, "Representation", element_type.representation);
    element(out, 6, "StrokeThickness", "0");
    element(out, 6, "ImageLocation", "Centered on stencil");
    if element_type.attributes.is_empty() {
        out.push_str("      <Attributes />\n");
    } else {
        out.push_str("      <Attributes>\n");
        for attribute in &element_type.attributes {
            out.push_str("        <Attribute>\n");
            element(
                out,
                10,
                "Id",
                &uuid(&format!("{}:{}", element_type.id, attribute.name)),
            );
            element(out, 10, "IsInherited", "false");
            element(out, 10, "Name", &attribute.name);
            element(out, 10, "DisplayName", &attribute.display);
            element(out, 10, "Mode", "Dynamic");
            element(out, 10, "Type", "List");
            element(out, 10, "Inheritance", "Virtual");
            out.push_str("          <AttributeValues>\n");
            for (_, value) in &attribute.values {
                element(out, 12, "Value", value);
            }
            out.push_str("          </AttributeValues>\n        </Attribute>\n");
        }
        out.push_str("      </Attributes>\n");
    }
    out.push_str("      <StencilConstraints>\n        <StencilConstraint>\n          <SelectedStencilType>Any</SelectedStencilType>\n          <SelectedStencilConnection>Any</SelectedStencilConnection>\n        </StencilConstraint>\n      </StencilConstraints>\n");
    out.push_str("    </ElementType>\n");
}
