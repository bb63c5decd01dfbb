//! Binding a model to a knowledge base: every kind resolved to an entity, every property value
//! checked against its definition and stored in its slot (defaults filled in), every reference
//! (flow ends, boundary members, mitigations, threats in stories) resolved. Each problem is a
//! diagnostic on the line of the model that causes it, and all of them are reported at once.

use std::collections::{BTreeSet, HashMap};

use crate::compile::CompiledProperty;
use crate::compile::KnowledgeBase;
use crate::condition::value_fits;
use crate::diagnostic::{Code, Diagnostic};
use crate::engine::Engine;
use crate::engine::value::Value;
use crate::model::{ElementKind, ImplementationStatus, Model};

use super::ModelFile;

/// What an element is in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Component,
    Flow,
    Boundary,
}

impl Role {
    pub fn table(self) -> &'static str {
        match self {
            Role::Component => "component",
            Role::Flow => "flow",
            Role::Boundary => "boundary",
        }
    }

    fn accepts(self, kind: ElementKind) -> bool {
        match self {
            Role::Component => kind.is_component(),
            Role::Flow => kind == ElementKind::DataFlow,
            Role::Boundary => kind == ElementKind::TrustBoundary,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Role::Component => "a process, data-store or external-interactor entity",
            Role::Flow => "a data-flow entity",
            Role::Boundary => "a trust-boundary entity",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BoundElement {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Index into `kb.entities`.
    pub entity: usize,
    /// Its position in its table of the model (`[[component]]` number).
    pub position: usize,
    values: (u32, u32),
    /// For flows: the indexes of the source and target elements.
    pub source: Option<usize>,
    pub target: Option<usize>,
    pub crosses_boundary: bool,
}

/// A `[[mitigation-status]]` entry, resolved.
#[derive(Debug, Clone)]
pub struct StatusEntry {
    pub mitigation: usize,
    /// Element indexes; empty means everywhere.
    pub at: Vec<usize>,
    pub status: ImplementationStatus,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BoundStory {
    pub id: String,
    pub text: String,
    pub clauses: Vec<BoundClause>,
}

#[derive(Debug, Clone)]
pub struct BoundClause {
    pub text: String,
    /// Attack pattern indexes, each anywhere (`None`) or at one element.
    pub threats: Vec<(usize, Option<usize>)>,
}

/// A model ready for evaluation.
#[derive(Debug, Clone)]
pub struct BoundModel {
    pub name: String,
    pub elements: Vec<BoundElement>,
    values: Vec<Value>,
    /// Whether the model set each value (false: the entity's default).
    explicit: Vec<bool>,
    /// System property values by slot, and whether the model set them.
    pub system: Vec<Value>,
    pub system_explicit: Vec<bool>,
    pub statuses: Vec<StatusEntry>,
    pub stories: Vec<BoundStory>,
    pub components: usize,
    pub flows: usize,
    pub boundaries: usize,
    element_index: HashMap<String, usize>,
}

impl BoundModel {
    pub fn values_of(&self, element: &BoundElement) -> &[Value] {
        let (start, length) = element.values;
        self.values
            .get(start as usize..(start + length) as usize)
            .unwrap_or(&[])
    }

    /// Whether the model set the value in `slot` of the element (rather than the default).
    pub fn is_explicit(&self, element: &BoundElement, slot: usize) -> bool {
        let (start, length) = element.values;
        slot < length as usize && self.explicit.get(start as usize + slot) == Some(&true)
    }

    pub fn element(&self, id: &str) -> Option<usize> {
        self.element_index.get(id).copied()
    }
}

/// Checks a model against the engine's knowledge base and binds it.
pub fn bind(engine: &mut Engine<'_>, file: &ModelFile) -> Result<BoundModel, Vec<Diagnostic>> {
    let mut binder = Binder {
        engine,
        file,
        diagnostics: Vec::new(),
        resolved: HashMap::new(),
        defaults: Vec::new(),
    };
    let bound = binder.bind(&file.model);
    let mut diagnostics = binder.diagnostics;
    if diagnostics.is_empty() {
        Ok(bound)
    } else {
        crate::diagnostic::sort(&mut diagnostics);
        Err(diagnostics)
    }
}

struct Binder<'e, 'kb, 'f> {
    engine: &'e mut Engine<'kb>,
    file: &'f ModelFile,
    diagnostics: Vec<Diagnostic>,
    /// References already resolved: a model of 30,000 elements names a handful of kinds.
    resolved: HashMap<(u8, String), Result<usize, Unresolved>>,
    /// Per entity, computed on first use: the default value of each slot.
    defaults: Vec<Option<std::rc::Rc<EntitySlots<'kb>>>>,
}

/// An entity's slots, in slot order: their properties and default values.
struct EntitySlots<'kb> {
    names: Vec<&'kb str>,
    properties: Vec<&'kb CompiledProperty>,
    defaults: Vec<Value>,
}

/// Which kind of item a model refers to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Wanted {
    Entity,
    AttackPattern,
    Mitigation,
}

impl Wanted {
    fn kind(self) -> &'static str {
        match self {
            Wanted::Entity => "entity",
            Wanted::AttackPattern => "attack-pattern",
            Wanted::Mitigation => "mitigation",
        }
    }
}

impl<'kb> Binder<'_, 'kb, '_> {
    fn error(&mut self, field: &[&str], message: String, label: &str, help: Option<String>) {
        let span = self.file.locate(field);
        let mut diagnostic = Diagnostic::new(Code::InvalidModel, message).at(
            &self.file.display_path,
            span,
            label.to_string(),
        );
        if let Some(help) = help {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    fn bind(&mut self, model: &Model) -> BoundModel {
        let kb = self.engine.kb;
        let mut bound = BoundModel {
            name: model
                .model
                .as_ref()
                .map_or_else(|| self.file.display_path.clone(), |info| info.name.clone()),
            elements: Vec::new(),
            values: Vec::new(),
            explicit: Vec::new(),
            system: Vec::new(),
            system_explicit: Vec::new(),
            statuses: Vec::new(),
            stories: Vec::new(),
            components: model.component.len(),
            flows: model.flow.len(),
            boundaries: model.boundary.len(),
            element_index: HashMap::new(),
        };
        self.bind_system(model, &mut bound);

        // Elements, in a fixed order: components, flows, boundaries.
        let elements = model
            .component
            .iter()
            .enumerate()
            .map(|(position, component)| {
                (
                    Role::Component,
                    position,
                    &component.id,
                    &component.name,
                    &component.kind,
                    &component.properties,
                )
            })
            .chain(model.flow.iter().enumerate().map(|(position, flow)| {
                (
                    Role::Flow,
                    position,
                    &flow.id,
                    &flow.name,
                    &flow.kind,
                    &flow.properties,
                )
            }))
            .chain(
                model
                    .boundary
                    .iter()
                    .enumerate()
                    .map(|(position, boundary)| {
                        (
                            Role::Boundary,
                            position,
                            &boundary.id,
                            &boundary.name,
                            &boundary.kind,
                            &boundary.properties,
                        )
                    }),
            );
        for (role, position, id, name, kind, properties) in elements {
            let index_text = position.to_string();
            let table = role.table();
            // The schema says so too, but a JSON model read by the fast path skipped it.
            if !is_element_id(id) {
                self.error(
                    &[table, &index_text, "id"],
                    format!("`{id}` is not a valid element id"),
                    "invalid id",
                    Some("element ids are lowercase letters and digits, words joined by `-` or `_`, starting with a letter, at most 64 characters".to_string()),
                );
                continue;
            }
            if bound.element_index.contains_key(id.as_str()) {
                self.error(
                    &[table, &index_text, "id"],
                    format!("the element id `{id}` is used twice in the model"),
                    "already used",
                    Some("give every component, flow and boundary its own id".to_string()),
                );
                continue;
            }
            let Some(entity) = self.resolve(Wanted::Entity, kind, &[table, &index_text, "kind"])
            else {
                continue;
            };
            let definition = &kb.entities[entity];
            if !role.accepts(definition.kind) {
                self.error(
                    &[table, &index_text, "kind"],
                    format!(
                        "`{kind}` is a {} entity; a `[[{table}]]` needs {}",
                        definition.kind.as_str(),
                        role.expected()
                    ),
                    "wrong kind of entity",
                    None,
                );
                continue;
            }
            // The entity's defaults in its slots, then the values the model sets.
            let start = bound.values.len() as u32;
            let slots = self.slots(entity);
            bound.values.extend_from_slice(&slots.defaults);
            bound.explicit.resize(bound.values.len(), false);
            // Both maps are sorted by name, and slots number the entity's properties in that
            // order: one merge finds every slot.
            let mut next = 0;
            for (property, json) in properties {
                while slots
                    .names
                    .get(next)
                    .is_some_and(|name| *name < property.as_str())
                {
                    next += 1;
                }
                if slots.names.get(next) == Some(&property.as_str()) {
                    let slot = next;
                    let Some(compiled) = slots.properties.get(slot) else {
                        continue;
                    };
                    match value_fits(&compiled.definition, json) {
                        Ok(()) => {
                            if let Some(value) = Value::from_json(json, &mut self.engine.symbols) {
                                bound.values[start as usize + slot] = value;
                                bound.explicit[start as usize + slot] = true;
                            }
                        }
                        Err(problem) => {
                            self.error(
                                &[table, &index_text, "properties", property],
                                format!("invalid value for `{property}` of `{id}`: {problem}"),
                                "does not fit the property",
                                Some(format!(
                                    "the property answers: {}",
                                    compiled.definition.question
                                )),
                            );
                        }
                    }
                } else {
                    let help = match crate::schema::suggest(
                        property,
                        definition.properties.keys().map(String::as_str),
                    ) {
                        Some(candidate) => format!("did you mean `{candidate}`?"),
                        None => format!(
                            "`{}` has the properties {}",
                            definition.id,
                            list(definition.properties.keys())
                        ),
                    };
                    self.error(
                        &[table, &index_text, "properties", property],
                        format!("`{kind}` has no property `{property}`"),
                        "unknown property",
                        Some(help),
                    );
                }
            }
            let length = bound.values.len() as u32 - start;
            bound.element_index.insert(id.clone(), bound.elements.len());
            bound.elements.push(BoundElement {
                id: id.clone(),
                name: name.clone().unwrap_or_else(|| id.clone()),
                role,
                entity,
                position,
                values: (start, length),
                source: None,
                target: None,
                crosses_boundary: false,
            });
        }

        // Boundaries: which components each contains.
        let mut member_of: HashMap<usize, BTreeSet<usize>> = HashMap::new();
        for (position, boundary) in model.boundary.iter().enumerate() {
            let Some(boundary_index) = bound.element(&boundary.id) else {
                continue;
            };
            for (member_position, member) in boundary.contains.iter().enumerate() {
                let field = [
                    "boundary",
                    &position.to_string(),
                    "contains",
                    &member_position.to_string(),
                ];
                match bound.element(member) {
                    Some(index) if bound.elements[index].role == Role::Component => {
                        member_of.entry(index).or_default().insert(boundary_index);
                    }
                    Some(_) => self.error(&field, format!("`{member}` is not a component"), "not a component", Some("boundaries contain components; a flow crosses a boundary when its ends are in different boundaries".to_string())),
                    None => self.unknown_element(&field, member, &bound),
                }
            }
        }
        // Flows: their ends and whether they cross a boundary.
        let none = BTreeSet::new();
        for (position, flow) in model.flow.iter().enumerate() {
            let Some(flow_index) = bound.element(&flow.id) else {
                continue;
            };
            let position = position.to_string();
            let mut ends = [None, None];
            for (slot, (field, end)) in [("source", &flow.source), ("target", &flow.target)]
                .into_iter()
                .enumerate()
            {
                match bound.element(end) {
                    Some(index) if bound.elements[index].role == Role::Component => {
                        ends[slot] = Some(index)
                    }
                    Some(_) => self.error(
                        &["flow", &position, field],
                        format!(
                            "the {field} of `{}` must be a component; `{end}` is not",
                            flow.id
                        ),
                        "not a component",
                        None,
                    ),
                    None => self.unknown_element(&["flow", &position, field], end, &bound),
                }
            }
            let crosses = match ends {
                [Some(source), Some(target)] => {
                    member_of.get(&source).unwrap_or(&none)
                        != member_of.get(&target).unwrap_or(&none)
                }
                _ => false,
            };
            let element = &mut bound.elements[flow_index];
            element.source = ends[0];
            element.target = ends[1];
            element.crosses_boundary = crosses;
        }

        // Mitigation status.
        for (position, entry) in model.mitigation_status.iter().enumerate() {
            let position = position.to_string();
            let Some(mitigation) = self.resolve(
                Wanted::Mitigation,
                &entry.mitigation,
                &["mitigation-status", &position, "mitigation"],
            ) else {
                continue;
            };
            let mut at = Vec::new();
            for (item, element) in entry.at.iter().enumerate() {
                match bound.element(element) {
                    Some(index) => at.push(index),
                    None => self.unknown_element(
                        &["mitigation-status", &position, "at", &item.to_string()],
                        element,
                        &bound,
                    ),
                }
            }
            bound.statuses.push(StatusEntry {
                mitigation,
                at,
                status: entry.status,
                note: entry.note.clone(),
            });
        }

        // Stories.
        for (story_position, story) in model.story.iter().enumerate() {
            let story_position = story_position.to_string();
            let mut clauses = Vec::new();
            for (clause_position, clause) in story.without.iter().enumerate() {
                let clause_position = clause_position.to_string();
                let mut threats = Vec::new();
                for (item, threat) in clause.threats.iter().enumerate() {
                    let field = [
                        "story",
                        &story_position,
                        "without",
                        &clause_position,
                        "threats",
                        &item.to_string(),
                    ];
                    let (pattern, element) = match threat.split_once('@') {
                        Some((pattern, element)) => (pattern, Some(element)),
                        None => (threat.as_str(), None),
                    };
                    let Some(pattern) = self.resolve(Wanted::AttackPattern, pattern, &field) else {
                        continue;
                    };
                    let element = match element {
                        None => None,
                        Some(element) => match bound.element(element) {
                            Some(index) => Some(index),
                            None => {
                                self.unknown_element(&field, element, &bound);
                                continue;
                            }
                        },
                    };
                    threats.push((pattern, element));
                }
                clauses.push(BoundClause {
                    text: clause.text.clone(),
                    threats,
                });
            }
            bound.stories.push(BoundStory {
                id: story.id.clone(),
                text: story.text.clone(),
                clauses,
            });
        }
        bound
    }

    /// The slots of `entity` (an index into `kb.entities`), with their defaults.
    fn slots(&mut self, entity: usize) -> std::rc::Rc<EntitySlots<'kb>> {
        if self.defaults.len() <= entity {
            self.defaults.resize(entity + 1, None);
        }
        if let Some(slots) = &self.defaults[entity] {
            return slots.clone();
        }
        let kb: &'kb KnowledgeBase = self.engine.kb;
        // Slots number the properties in the order of `properties` (`Engine::new`).
        let names = kb.entities[entity]
            .properties
            .keys()
            .map(String::as_str)
            .collect();
        let properties: Vec<&'kb CompiledProperty> =
            kb.entities[entity].properties.values().collect();
        let defaults = properties
            .iter()
            .map(|compiled| Value::default_of(&compiled.definition, &mut self.engine.symbols))
            .collect();
        let slots = std::rc::Rc::new(EntitySlots {
            names,
            properties,
            defaults,
        });
        self.defaults[entity] = Some(slots.clone());
        slots
    }

    fn bind_system(&mut self, model: &Model, bound: &mut BoundModel) {
        let kb = self.engine.kb;
        for (name, property) in &kb.system_properties {
            let (value, explicit) = match model.system.get(name) {
                Some(json) => match value_fits(&property.definition, json) {
                    Ok(()) => match Value::from_json(json, &mut self.engine.symbols) {
                        Some(value) => (value, true),
                        None => (
                            Value::default_of(&property.definition, &mut self.engine.symbols),
                            false,
                        ),
                    },
                    Err(problem) => {
                        self.error(
                            &["system", name],
                            format!("invalid value for the system property `{name}`: {problem}"),
                            "does not fit the property",
                            Some(format!(
                                "the property answers: {}",
                                property.definition.question
                            )),
                        );
                        (
                            Value::default_of(&property.definition, &mut self.engine.symbols),
                            false,
                        )
                    }
                },
                None => (
                    Value::default_of(&property.definition, &mut self.engine.symbols),
                    false,
                ),
            };
            bound.system.push(value);
            bound.system_explicit.push(explicit);
        }
        for name in model.system.keys() {
            if !kb.system_properties.contains_key(name) {
                let help = if kb.system_properties.is_empty() {
                    format!("`{}` declares no system properties", kb.pack)
                } else {
                    match crate::schema::suggest(
                        name,
                        kb.system_properties.keys().map(String::as_str),
                    ) {
                        Some(candidate) => format!("did you mean `{candidate}`?"),
                        None => format!(
                            "the system properties are {}",
                            list(kb.system_properties.keys())
                        ),
                    }
                };
                self.error(
                    &["system", name],
                    format!("`{}` has no system property `{name}`", kb.pack),
                    "unknown system property",
                    Some(help),
                );
            }
        }
    }

    fn unknown_element(&mut self, field: &[&str], id: &str, bound: &BoundModel) {
        let help =
            crate::schema::suggest(id, bound.elements.iter().map(|element| element.id.as_str()))
                .map(|candidate| format!("did you mean `{candidate}`?"))
                .unwrap_or_else(|| {
                    "declare it as a `[[component]]` (or `[[flow]]`) first".to_string()
                });
        self.error(
            field,
            format!("no element `{id}` in the model"),
            "unknown element",
            Some(help),
        );
    }

    /// Resolves a reference to an item of the knowledge base: a qualified id, or a local id
    /// of the applied pack or (when unambiguous) of one of its dependencies.
    fn resolve(&mut self, wanted: Wanted, reference: &str, field: &[&str]) -> Option<usize> {
        let kb = self.engine.kb;
        let key = (wanted as u8, reference.to_string());
        let outcome = self.resolved.entry(key).or_insert_with(|| {
            let ids: Vec<&str> = match wanted {
                Wanted::Entity => kb.entities.iter().map(|item| item.id.as_str()).collect(),
                Wanted::AttackPattern => kb
                    .attack_patterns
                    .iter()
                    .map(|item| item.id.as_str())
                    .collect(),
                Wanted::Mitigation => kb.mitigations.iter().map(|item| item.id.as_str()).collect(),
            };
            resolve_id(kb, &ids, wanted.kind(), reference)
        });
        match outcome {
            Ok(index) => Some(*index),
            Err(Unresolved { message, help }) => {
                let (message, help) = (message.clone(), help.clone());
                self.error(
                    field,
                    message,
                    &format!("unknown {}", wanted.kind().replace('-', " ")),
                    Some(help),
                );
                None
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Unresolved {
    pub message: String,
    pub help: String,
}

/// Finds `reference` (qualified, or a local id) among the qualified `ids` of a kind.
pub fn resolve_id(
    kb: &KnowledgeBase,
    ids: &[&str],
    kind: &str,
    reference: &str,
) -> Result<usize, Unresolved> {
    if reference.contains(':') {
        return ids
            .iter()
            .position(|id| *id == reference)
            .ok_or_else(|| Unresolved {
                message: format!("no {kind} `{reference}` in `{}` {}", kb.pack, kb.version),
                help: suggestion(ids, reference),
            });
    }
    let suffix = format!(":{kind}/{reference}");
    let candidates: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| id.ends_with(&suffix))
        .map(|(index, _)| index)
        .collect();
    let own = format!("{}{suffix}", kb.pack);
    if let Some(index) = candidates.iter().find(|index| ids[**index] == own) {
        return Ok(*index);
    }
    match candidates.as_slice() {
        [index] => Ok(*index),
        [] => Err(Unresolved {
            message: format!(
                "no {kind} `{reference}` in `{}` {} or its dependencies",
                kb.pack, kb.version
            ),
            help: suggestion(ids, reference),
        }),
        several => Err(Unresolved {
            message: format!(
                "`{reference}` names {} {}",
                several.len(),
                match kind.strip_suffix('y') {
                    Some(stem) => format!("{stem}ies"),
                    None => format!("{kind}s"),
                }
            ),
            help: format!(
                "qualify it: {}",
                several
                    .iter()
                    .map(|index| format!("`{}`", ids[*index]))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }),
    }
}

fn suggestion(ids: &[&str], reference: &str) -> String {
    let local = |id: &str| -> String { id.rsplit('/').next().unwrap_or(id).to_string() };
    let wanted = local(reference);
    let locals: Vec<String> = ids.iter().map(|id| local(id)).collect();
    match crate::schema::suggest(&wanted, locals.iter().map(String::as_str)) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => "`threatpack inspect` lists the ids of a bundle".to_string(),
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = names.map(|name| format!("`{name}`")).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// `^[a-z][a-z0-9]*([-_][a-z0-9]+)*$`, at most 64 characters (schema/model.schema.json).
fn is_element_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-' || *byte == b'_'
        })
        && !id.ends_with(['-', '_'])
        && !id.contains("--")
        && !id.contains("__")
        && !id.contains("-_")
        && !id.contains("_-")
}

#[cfg(test)]
mod tests {
    use super::is_element_id;

    #[test]
    fn element_ids_follow_the_schema_pattern() {
        for good in ["a", "shop", "web-shop", "db_1", "a1-b2_c3"] {
            assert!(is_element_id(good), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "1a",
            "Shop",
            "a-",
            "a--b",
            "a_-b",
            "-a",
            "a b",
            "é",
            long.as_str(),
        ] {
            assert!(!is_element_id(bad), "{bad}");
        }
    }
}
