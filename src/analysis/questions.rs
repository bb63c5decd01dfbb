//! `threatpack questions`: for each element, the questions of its entity's properties that the
//! model has not answered yet, grouped by the STRIDE categories of the attack patterns whose
//! conditions read them, so a security champion knows what to ask and why it matters.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::engine::bind::BoundModel;
use crate::engine::program::Read;
use crate::engine::{Engine, Rules};
use crate::system::validate::Role;

/// The questions of one element.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ElementQuestions {
    pub element: String,
    pub name: String,
    /// The qualified entity id.
    pub kind: String,
    /// Category (`spoofing`, ...; `general` when no attack pattern reads the property) →
    /// questions.
    pub categories: BTreeMap<String, Vec<Question>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Question {
    pub property: String,
    pub question: String,
    pub rationale: String,
    /// The value assumed until the model answers, as JSON.
    pub default: serde_json::Value,
    /// The allowed values of enum and list properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The attack patterns whose conditions read it.
    pub attack_patterns: Vec<String>,
}

/// The system-level questions (`[system]`) not answered, then those of every element.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Questions {
    pub system: Vec<Question>,
    pub elements: Vec<ElementQuestions>,
}

pub fn questions(engine: &Engine<'_>, rules: &Rules, model: &BoundModel) -> Questions {
    let kb = engine.kb;
    // Per entity: property → the attack patterns reading it (self or, on flows, an end).
    let mut readers: BTreeMap<usize, BTreeMap<String, BTreeSet<usize>>> = BTreeMap::new();
    let mut system_readers: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let component_entities: Vec<usize> = (0..kb.entities.len())
        .filter(|entity| kb.entities[*entity].kind.is_component())
        .collect();
    for entity in 0..kb.entities.len() {
        for (pattern, programs) in rules.for_entity(entity) {
            for read in programs.iter().flat_map(|program| program.reads()) {
                match read {
                    Read::Subject(name) => {
                        readers
                            .entry(entity)
                            .or_default()
                            .entry(name)
                            .or_default()
                            .insert(pattern);
                    }
                    Read::Endpoint(name) => {
                        for component in &component_entities {
                            if kb.entities[*component].properties.contains_key(&name) {
                                readers
                                    .entry(*component)
                                    .or_default()
                                    .entry(name.clone())
                                    .or_default()
                                    .insert(pattern);
                            }
                        }
                    }
                    Read::System(name) => {
                        system_readers.entry(name).or_default().insert(pattern);
                    }
                }
            }
        }
    }
    let question = |name: &str,
                    definition: &crate::model::PropertyDefinition,
                    patterns: Option<&BTreeSet<usize>>| Question {
        property: name.to_string(),
        question: definition.question.clone(),
        rationale: definition.rationale.clone(),
        default: definition.default.clone(),
        values: definition.values.clone(),
        attack_patterns: patterns
            .into_iter()
            .flatten()
            .map(|pattern| kb.attack_patterns[*pattern].id.clone())
            .collect(),
    };
    let system = kb
        .system_properties
        .iter()
        .enumerate()
        .filter(|(slot, _)| model.system_explicit.get(*slot) != Some(&true))
        .map(|(_, (name, property))| question(name, &property.definition, system_readers.get(name)))
        .collect();
    let mut elements = Vec::new();
    for element in &model.elements {
        if element.role == Role::Boundary {
            continue;
        }
        let entity = &kb.entities[element.entity];
        let mut categories: BTreeMap<String, Vec<Question>> = BTreeMap::new();
        for (slot, (name, property)) in entity.properties.iter().enumerate() {
            if model.is_explicit(element, slot) {
                continue;
            }
            let patterns = readers
                .get(&element.entity)
                .and_then(|readers| readers.get(name));
            let mut groups: BTreeSet<&str> = patterns
                .into_iter()
                .flatten()
                .flat_map(|pattern| {
                    kb.attack_patterns[*pattern]
                        .categories
                        .iter()
                        .map(String::as_str)
                })
                .collect();
            if groups.is_empty() {
                groups.insert("general");
            }
            for group in groups {
                categories
                    .entry(group.to_string())
                    .or_default()
                    .push(question(name, &property.definition, patterns));
            }
        }
        if !categories.is_empty() {
            elements.push(ElementQuestions {
                element: element.id.clone(),
                name: element.name.clone(),
                kind: entity.id.clone(),
                categories,
            });
        }
    }
    Questions { system, elements }
}

/// The questions as text for a terminal or a Markdown file.
pub fn render(questions: &Questions) -> String {
    use std::fmt::Write as _;
    let visible = crate::render::visible;
    let mut out = String::new();
    let default = |value: &serde_json::Value| crate::render::short_json(value, 60);
    if !questions.system.is_empty() {
        let _ = writeln!(out, "## The system\n");
        for question in &questions.system {
            let _ = writeln!(
                out,
                "- {} (`{}`, assumed {})\n  Why: {}",
                visible(&question.question),
                question.property,
                default(&question.default),
                visible(&question.rationale)
            );
        }
        out.push('\n');
    }
    for element in &questions.elements {
        let _ = writeln!(
            out,
            "## `{}` — {} ({})\n",
            visible(&element.element),
            visible(&element.name),
            visible(&element.kind)
        );
        for (category, list) in &element.categories {
            let _ = writeln!(out, "### {category}\n");
            for question in list {
                let values = if question.values.is_empty() {
                    String::new()
                } else {
                    format!("; one of {}", question.values.join(", "))
                };
                let _ = writeln!(
                    out,
                    "- {} (`{}`, assumed {}{})\n  Why: {}",
                    visible(&question.question),
                    question.property,
                    default(&question.default),
                    visible(&values),
                    visible(&question.rationale)
                );
            }
            out.push('\n');
        }
    }
    if out.is_empty() {
        out.push_str("Every question is answered.\n");
    }
    out
}
