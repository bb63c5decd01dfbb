//! Binding a model to a knowledge base: the model validated (`validate`, which reports every
//! problem with its line), then every kind resolved to an entity, every property value stored in
//! its slot (defaults filled in), every reference (flow ends, boundary members, mitigations,
//! threats in stories) resolved to an index.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::Engine;
use super::value::{Interner, Sym, Value};
use crate::diagnostic::Diagnostic;
use crate::model::{ImplementationStatus, PropertyValue};

use crate::system::ModelFile;
use crate::system::flat::FlatModel;
pub use crate::system::validate::Role;
use crate::system::validate::{Catalogue, KnowledgeBaseCatalogue, Resolution, validate};

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
    /// Out of the model's scope (the reason, `""` when none was given): the engine gives it
    /// no threats.
    pub out_of_scope: Option<String>,
    /// For flows: the ids (local and qualified) of the entities of the boundaries that hold
    /// exactly one of its ends, and of their ancestors, as a list of interned strings.
    pub crossed_boundaries: Value,
}

/// A `[[mitigation-status]]` entry, resolved.
#[derive(Debug, Clone)]
pub struct StatusEntry {
    pub mitigation: usize,
    /// Element indexes; empty means everywhere.
    pub at: Vec<usize>,
    pub status: ImplementationStatus,
    pub note: Option<String>,
    /// With `accepted-risk`: who, why, until when; `expired` is set by the caller, which
    /// knows the date ([`expire_acceptances`]).
    pub acceptance: Option<crate::model::Acceptance>,
}

/// Marks the acceptances whose `until` is before `today` (`YYYY-MM-DD`) as expired: their
/// threats count as unmitigated.
pub fn expire_acceptances(model: &mut BoundModel, today: &str) {
    for entry in &mut model.statuses {
        if let Some(acceptance) = &mut entry.acceptance {
            acceptance.expired = acceptance.until.as_str() < today;
        }
    }
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
    /// `[[activity-done]]` as written (ids checked against the knowledge base).
    pub activities_done: Vec<crate::model::ActivityDone>,
    pub components: usize,
    pub flows: usize,
    pub boundaries: usize,
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

    /// The index of the element with this id (a scan: for the few lookups of `--explain` and
    /// pack tests, not worth a map of every id in the hot path).
    pub fn element(&self, id: &str) -> Option<usize> {
        self.elements.iter().position(|element| element.id == id)
    }
}

/// Checks a model against the engine's knowledge base and binds it.
pub fn bind(engine: &mut Engine<'_>, file: &ModelFile) -> Result<BoundModel, Vec<Diagnostic>> {
    let kb = engine.kb;
    let mut binder = Binder {
        engine,
        catalogue: KnowledgeBaseCatalogue::new(kb),
        entities: vec![None; file.model.word_count()],
        defaults: Vec::new(),
        bound_index: Vec::new(),
        table_sizes: (file.model.components(), file.model.flows()),
    };
    // The model is validated on another core while its values go into their slots (what
    // takes longest); a model that fails validation is then not bound after all.
    let (validation, mut bound) = std::thread::scope(|scope| {
        let validating = scope.spawn(|| {
            let catalogue = KnowledgeBaseCatalogue::new(kb);
            validate(&file.model, &catalogue, file)
        });
        let bound = binder.fill(file);
        let validation = validating
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (validation, bound)
    });
    let mut diagnostics = validation.diagnostics;
    if !diagnostics.is_empty() {
        crate::diagnostic::sort(&mut diagnostics);
        return Err(diagnostics);
    }
    let crossings = binder.link(
        &file.model,
        &mut bound,
        &Resolved {
            element_of_id: &validation.elements,
            references: &validation.references,
        },
    );
    binder.name_crossings(&mut bound, crossings);
    Ok(bound)
}

/// What `validate` resolved, for linking the elements.
struct Resolved<'v> {
    /// Every element id with its role and position.
    element_of_id: &'v HashMap<&'v str, (Role, usize)>,
    /// What each flow end and boundary member names (in model order).
    references: &'v [Option<(Role, usize)>],
}

/// Lays out a model that `validate` accepted: every reference resolves.
struct Binder<'e, 'kb> {
    engine: &'e mut Engine<'kb>,
    catalogue: KnowledgeBaseCatalogue<'kb>,
    /// Per kind (a word of the model), its entity once resolved: a model of 30,000 elements
    /// names a handful of kinds.
    entities: Vec<Option<Option<usize>>>,
    /// Per entity, computed on first use: its default values and the slot of each property
    /// name of the model.
    defaults: Vec<Option<Arc<EntitySlots>>>,
    /// Per element of the model (components, flows, boundaries), its index among the bound.
    bound_index: Vec<Option<usize>>,
    /// How many components and flows the model has: where flows and boundaries start.
    table_sizes: (usize, usize),
}

/// An entity's slots: their default values, in slot order, and the slot of each property name
/// of the model (by word; `None`: not a property of the entity).
struct EntitySlots {
    defaults: Vec<Value>,
    slot_of_word: Vec<Option<u32>>,
}

impl<'kb> Binder<'_, 'kb> {
    /// The model's values in their slots: what binding does before it needs what validation
    /// resolved.
    fn fill(&mut self, file: &ModelFile) -> BoundModel {
        let model = &file.model;
        // Every element's slots, counted first: one allocation for the values of all.
        let kb = self.engine.kb;
        let slot_count: usize = model
            .elements()
            .filter_map(|element| self.entity(element.kind_word, element.kind))
            .map(|entity| kb.entities[entity].properties.len())
            .sum();
        let mut bound = BoundModel {
            name: model
                .info
                .as_ref()
                .map_or_else(|| file.display_path.clone(), |info| info.name.clone()),
            elements: Vec::with_capacity(model.components() + model.flows() + model.boundaries()),
            values: Vec::with_capacity(slot_count),
            explicit: Vec::with_capacity(slot_count),
            system: Vec::new(),
            system_explicit: Vec::new(),
            statuses: Vec::new(),
            stories: Vec::new(),
            activities_done: model.activity_done.clone(),
            components: model.components(),
            flows: model.flows(),
            boundaries: model.boundaries(),
        };
        self.bind_system(model, &mut bound);

        // Elements, in a fixed order: components, flows, boundaries.
        for element in model.elements() {
            let Some(entity) = self.entity(element.kind_word, element.kind) else {
                self.bound_index.push(None);
                continue;
            };
            // The entity's defaults in its slots, then the values the model sets (`validate`
            // checked each against its definition).
            let start = bound.values.len() as u32;
            let slots = self.slots(entity, model);
            bound.values.extend_from_slice(&slots.defaults);
            bound.explicit.resize(bound.values.len(), false);
            for (word, _, value) in element.properties() {
                if let Some(Some(slot)) = slots.slot_of_word.get(word)
                    && let Some(value) = value_of(value, &mut self.engine.symbols)
                {
                    let at = start as usize + *slot as usize;
                    bound.values[at] = value;
                    bound.explicit[at] = true;
                }
            }
            let length = bound.values.len() as u32 - start;
            self.bound_index.push(Some(bound.elements.len()));
            bound.elements.push(BoundElement {
                id: element.id.to_string(),
                name: element.name.unwrap_or(element.id).to_string(),
                role: element.role,
                entity,
                position: element.position,
                values: (start, length),
                source: None,
                target: None,
                crosses_boundary: false,
                out_of_scope: element.out_of_scope().map(str::to_string),
                crossed_boundaries: Value::List(Vec::new().into()),
            });
        }

        bound
    }

    /// Flow ends, boundary members, mitigation statuses and stories, as `validate` resolved
    /// them.
    fn link(
        &self,
        model: &FlatModel,
        bound: &mut BoundModel,
        resolved: &Resolved<'_>,
    ) -> Vec<(usize, Vec<usize>)> {
        let mut references = resolved.references.iter().map(|found| self.bound(*found));
        let mut ends = Vec::with_capacity(model.flows());
        for (number, flow) in model.elements().enumerate() {
            if flow.ends().is_some() {
                let source = references.next().flatten();
                let target = references.next().flatten();
                ends.push((self.bound_index[number], source, target));
            }
        }
        // Boundaries: which components each contains.
        let mut member_of: HashMap<usize, BTreeSet<usize>> = HashMap::new();
        for (number, boundary) in model.elements().enumerate() {
            if boundary.role != Role::Boundary {
                continue;
            }
            let boundary_index = self.bound_index[number];
            for _ in boundary.members() {
                if let (Some(boundary_index), Some(index)) =
                    (boundary_index, references.next().flatten())
                {
                    member_of.entry(index).or_default().insert(boundary_index);
                }
            }
        }
        // Flows: their ends and whether they cross a boundary (and which: named afterwards).
        let none = BTreeSet::new();
        let mut crossings = Vec::new();
        for (flow_index, source, target) in ends {
            let Some(flow_index) = flow_index else {
                continue;
            };
            let crosses = match (source, target) {
                (Some(source), Some(target)) => {
                    member_of.get(&source).unwrap_or(&none)
                        != member_of.get(&target).unwrap_or(&none)
                }
                _ => false,
            };
            if let (Some(source), Some(target)) = (source, target)
                && crosses
            {
                let (of_source, of_target) = (
                    member_of.get(&source).unwrap_or(&none),
                    member_of.get(&target).unwrap_or(&none),
                );
                crossings.push((
                    flow_index,
                    of_source.symmetric_difference(of_target).copied().collect(),
                ));
            }
            let element = &mut bound.elements[flow_index];
            element.source = source;
            element.target = target;
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
                    .filter_map(|element| self.index_of(element, resolved))
                    .collect(),
                status: entry.status,
                note: entry.note.clone(),
                acceptance: match (&entry.status, &entry.owner, &entry.reason, &entry.until) {
                    (
                        ImplementationStatus::AcceptedRisk,
                        Some(owner),
                        Some(reason),
                        Some(until),
                    ) => Some(crate::model::Acceptance {
                        owner: owner.clone(),
                        reason: reason.clone(),
                        until: until.clone(),
                        expired: false,
                    }),
                    _ => None,
                },
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
                        Some(element) => match self.index_of(element, resolved) {
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
        crossings
    }

    /// Each crossing flow's `crossed_boundaries`: the ids, qualified and local, of the entities
    /// of the boundaries it crosses (bound element indexes) and of their ancestors.
    fn name_crossings(&mut self, bound: &mut BoundModel, crossings: Vec<(usize, Vec<usize>)>) {
        let kb = self.engine.kb;
        // Per boundary entity, its ids (and its ancestors'), interned once: a model has many
        // crossing flows and few boundary kinds.
        let mut names_of: HashMap<usize, Vec<Sym>> = HashMap::new();
        for (flow, boundaries) in crossings {
            let mut ids = BTreeSet::new();
            for boundary in boundaries {
                let Some(entity) = bound.elements.get(boundary).map(|element| element.entity)
                else {
                    continue;
                };
                let symbols = &mut self.engine.symbols;
                let names = names_of.entry(entity).or_insert_with(|| {
                    let Some(entity) = kb.entities.get(entity) else {
                        return Vec::new();
                    };
                    std::iter::once(&entity.id)
                        .chain(&entity.ancestors)
                        .flat_map(|id| [id.as_str(), id.rsplit('/').next().unwrap_or(id)])
                        .map(|id| symbols.intern(id))
                        .collect()
                });
                ids.extend(names.iter().copied());
            }
            if let Some(element) = bound.elements.get_mut(flow) {
                element.crossed_boundaries =
                    Value::List(ids.into_iter().map(Value::Str).collect::<Vec<_>>().into());
            }
        }
    }

    /// The index among the bound elements of the element with this id.
    fn index_of(&self, id: &str, resolved: &Resolved<'_>) -> Option<usize> {
        self.bound(resolved.element_of_id.get(id).copied())
    }

    /// The index among the bound elements of an element by role and position.
    fn bound(&self, element: Option<(Role, usize)>) -> Option<usize> {
        let (role, position) = element?;
        let (components, flows) = self.table_sizes;
        let element = match role {
            Role::Component => position,
            Role::Flow => components + position,
            Role::Boundary => components + flows + position,
        };
        self.bound_index.get(element).copied().flatten()
    }

    fn slots(&mut self, entity: usize, model: &FlatModel) -> Arc<EntitySlots> {
        if self.defaults.len() <= entity {
            self.defaults.resize(entity + 1, None);
        }
        if let Some(slots) = &self.defaults[entity] {
            return slots.clone();
        }
        let kb: &'kb crate::compile::KnowledgeBase = self.engine.kb;
        // Slots number the properties in the order of `properties` (`Engine::new`).
        let properties = &kb.entities[entity].properties;
        let defaults = properties
            .values()
            .map(|compiled| Value::default_of(&compiled.definition, &mut self.engine.symbols))
            .collect();
        let slot_of_word = (0..model.word_count())
            .map(|word| {
                properties
                    .keys()
                    .position(|name| name == model.word(word))
                    .map(|slot| slot as u32)
            })
            .collect();
        let slots = Arc::new(EntitySlots {
            defaults,
            slot_of_word,
        });
        self.defaults[entity] = Some(slots.clone());
        slots
    }

    fn bind_system(&mut self, model: &FlatModel, bound: &mut BoundModel) {
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
    fn entity(&mut self, kind_word: usize, kind: &str) -> Option<usize> {
        if let Some(Some(entity)) = self.entities.get(kind_word) {
            return *entity;
        }
        let entity = match self.catalogue.entity(kind) {
            Resolution::Found(shape) => Some(shape.index),
            _ => None,
        };
        if let Some(slot) = self.entities.get_mut(kind_word) {
            *slot = Some(entity);
        }
        entity
    }
}

/// The engine's value of a property value that `validate` accepted.
fn value_of(value: PropertyValue<'_>, symbols: &mut Interner) -> Option<Value> {
    Some(match value {
        PropertyValue::Bool(boolean) => Value::Bool(boolean),
        PropertyValue::Int(integer) => Value::Int(integer),
        PropertyValue::String(text) => Value::Str(symbols.intern(text)),
        PropertyValue::List(items) => Value::List(
            items
                .iter()
                .map(|item| Value::Str(symbols.intern(item)))
                .collect::<Vec<_>>()
                .into(),
        ),
        PropertyValue::Json(json) => return Value::from_json(json, symbols),
    })
}
