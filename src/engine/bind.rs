//! Binding a model to a knowledge base: the model validated (`validate`, which reports every
//! problem with its line), then every kind resolved to an entity, every property value stored in
//! its slot (defaults filled in), every reference (flow ends, boundary members, mitigations,
//! threats in stories) resolved to an index.

use std::collections::{BTreeSet, HashMap};

use super::Engine;
use super::value::Value;
use crate::diagnostic::Diagnostic;
use crate::model::{ImplementationStatus, Model};

use crate::system::ModelFile;
pub use crate::system::validate::Role;
use crate::system::validate::{
    Catalogue, ElementRef, KnowledgeBaseCatalogue, Resolution, model_elements, validate,
};

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
    let kb = engine.kb;
    let catalogue = KnowledgeBaseCatalogue::new(kb);
    let mut diagnostics = validate(&file.model, &catalogue, file).diagnostics;
    if !diagnostics.is_empty() {
        crate::diagnostic::sort(&mut diagnostics);
        return Err(diagnostics);
    }
    let mut binder = Binder {
        engine,
        file,
        catalogue,
        entities: HashMap::new(),
        defaults: Vec::new(),
    };
    Ok(binder.bind(&file.model))
}

/// Lays out a model that `validate` accepted: every reference resolves.
struct Binder<'e, 'kb, 'f> {
    engine: &'e mut Engine<'kb>,
    file: &'f ModelFile,
    catalogue: KnowledgeBaseCatalogue<'kb>,
    /// Kinds already resolved: a model of 30,000 elements names a handful of kinds.
    entities: HashMap<&'f str, usize>,
    /// Per entity, computed on first use: its slots' names and default values.
    defaults: Vec<Option<std::rc::Rc<EntitySlots<'kb>>>>,
}

/// An entity's slots, in slot order: their property names and default values.
struct EntitySlots<'kb> {
    names: Vec<&'kb str>,
    defaults: Vec<Value>,
}

impl<'kb, 'f> Binder<'_, 'kb, 'f> {
    fn bind(&mut self, model: &'f Model) -> BoundModel {
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
        for ElementRef {
            role,
            position,
            id,
            name,
            kind,
            properties,
        } in model_elements(model)
        {
            let Some(entity) = self.entity(kind) else {
                continue;
            };
            // The entity's defaults in its slots, then the values the model sets (`validate`
            // checked each against its definition).
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
                if slots.names.get(next) == Some(&property.as_str())
                    && let Some(value) = Value::from_json(json, &mut self.engine.symbols)
                {
                    bound.values[start as usize + next] = value;
                    bound.explicit[start as usize + next] = true;
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
        for boundary in &model.boundary {
            let Some(boundary_index) = bound.element(&boundary.id) else {
                continue;
            };
            for member in &boundary.contains {
                if let Some(index) = bound.element(member) {
                    member_of.entry(index).or_default().insert(boundary_index);
                }
            }
        }
        // Flows: their ends and whether they cross a boundary.
        let none = BTreeSet::new();
        for flow in &model.flow {
            let Some(flow_index) = bound.element(&flow.id) else {
                continue;
            };
            let ends = [bound.element(&flow.source), bound.element(&flow.target)];
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
        for entry in &model.mitigation_status {
            let Resolution::Found(mitigation) = self.catalogue.mitigation(&entry.mitigation) else {
                continue;
            };
            bound.statuses.push(StatusEntry {
                mitigation,
                at: entry
                    .at
                    .iter()
                    .filter_map(|element| bound.element(element))
                    .collect(),
                status: entry.status,
                note: entry.note.clone(),
            });
        }

        // Stories.
        for story in &model.story {
            let mut clauses = Vec::new();
            for clause in &story.without {
                let mut threats = Vec::new();
                for threat in &clause.threats {
                    let (pattern, element) = match threat.split_once('@') {
                        Some((pattern, element)) => (pattern, Some(element)),
                        None => (threat.as_str(), None),
                    };
                    let Resolution::Found(pattern) = self.catalogue.attack_pattern(pattern) else {
                        continue;
                    };
                    let element = match element {
                        None => None,
                        Some(element) => match bound.element(element) {
                            Some(index) => Some(index),
                            None => continue,
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

    fn slots(&mut self, entity: usize) -> std::rc::Rc<EntitySlots<'kb>> {
        if self.defaults.len() <= entity {
            self.defaults.resize(entity + 1, None);
        }
        if let Some(slots) = &self.defaults[entity] {
            return slots.clone();
        }
        let kb: &'kb crate::compile::KnowledgeBase = self.engine.kb;
        // Slots number the properties in the order of `properties` (`Engine::new`).
        let properties = &kb.entities[entity].properties;
        let names = properties.keys().map(String::as_str).collect();
        let defaults = properties
            .values()
            .map(|compiled| Value::default_of(&compiled.definition, &mut self.engine.symbols))
            .collect();
        let slots = std::rc::Rc::new(EntitySlots { names, defaults });
        self.defaults[entity] = Some(slots.clone());
        slots
    }

    fn bind_system(&mut self, model: &Model, bound: &mut BoundModel) {
        let kb = self.engine.kb;
        for (name, property) in &kb.system_properties {
            let (value, explicit) = match model
                .system
                .get(name)
                .and_then(|json| Value::from_json(json, &mut self.engine.symbols))
            {
                Some(value) => (value, true),
                None => (
                    Value::default_of(&property.definition, &mut self.engine.symbols),
                    false,
                ),
            };
            bound.system.push(value);
            bound.system_explicit.push(explicit);
        }
    }

    /// The entity a kind names (resolved once per kind).
    fn entity(&mut self, kind: &'f str) -> Option<usize> {
        if let Some(entity) = self.entities.get(kind) {
            return Some(*entity);
        }
        let Resolution::Found(shape) = self.catalogue.entity(kind) else {
            return None;
        };
        self.entities.insert(kind, shape.index);
        Some(shape.index)
    }
}
