//! The rule engine: which attack patterns apply to which elements of a system model, and which
//! of their mitigations apply there.
//!
//! `Engine::new` lays out every entity's properties as numbered slots. `bind` turns a model
//! that `system::validate` accepted into values in those slots. `Engine::rules` compiles each condition once per entity
//! it applies to (inheritance included), so that evaluation indexes arrays instead of looking
//! up names, and only the attack patterns of an element's entity are ever considered for it.

pub mod bind;
pub mod enumerate;
pub mod eval;
pub mod explain;
pub mod predicate;
pub mod program;
pub mod tiers;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use crate::compile::KnowledgeBase;
use crate::model::ElementKind;
use bind::{BoundElement, BoundModel};

use eval::{Endpoint, EvalError, Frame};
use program::{Bindings, CompileError, EndpointSlots, Layout, NO_SLOT, Program};
use value::Interner;

/// A knowledge base prepared for evaluation.
pub struct Engine<'kb> {
    pub kb: &'kb KnowledgeBase,
    pub symbols: Interner,
    /// Per entity (index into `kb.entities`): property name → slot.
    pub layouts: Vec<Layout>,
    pub system_layout: Layout,
    endpoint_slots: EndpointSlots,
    entity_index: HashMap<&'kb str, usize>,
}

/// The rules of one tier selection, compiled.
pub struct Rules {
    /// Per entity: the attack patterns that apply to it, with their compiled conditions.
    by_entity: Vec<Vec<Rule>>,
    /// Conditions that could not be compiled: reported, and their attack pattern or link is
    /// not evaluated.
    pub problems: Vec<RuleProblem>,
    /// The largest tier rank kept (`None`: every tier).
    pub max_rank: Option<usize>,
}

struct Rule {
    attack_pattern: usize,
    condition: Option<Program>,
    /// The links of this attack pattern in the selection, with their conditions.
    links: Vec<(usize, Option<Program>)>,
}

/// A condition that could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleProblem {
    /// The qualified attack pattern id, or `MITIGATION → ATTACK-PATTERN` for a link.
    pub rule: String,
    /// The entity (compile) or element (evaluation) it was for.
    pub subject: String,
    pub message: String,
}

/// What evaluation reports.
pub trait Sink {
    /// The attack pattern applies to the element; `links` are the indexes (into `kb.links`)
    /// of its mitigations whose link conditions hold there.
    fn finding(&mut self, attack_pattern: usize, element: usize, links: &[usize]);
    fn problem(&mut self, problem: RuleProblem);
}

impl Rules {
    /// The attack patterns considered for elements of `entity`, with their compiled
    /// conditions and link conditions.
    pub fn for_entity(&self, entity: usize) -> impl Iterator<Item = (usize, Vec<&Program>)> {
        self.by_entity
            .get(entity)
            .into_iter()
            .flatten()
            .map(|rule| {
                let programs = rule
                    .condition
                    .iter()
                    .chain(
                        rule.links
                            .iter()
                            .filter_map(|(_, program)| program.as_ref()),
                    )
                    .collect();
                (rule.attack_pattern, programs)
            })
    }
}

impl<'kb> Engine<'kb> {
    pub fn new(kb: &'kb KnowledgeBase) -> Engine<'kb> {
        let mut layouts = Vec::with_capacity(kb.entities.len());
        let mut endpoint: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (index, entity) in kb.entities.iter().enumerate() {
            let mut layout = Layout::default();
            for (slot, name) in entity.properties.keys().enumerate() {
                layout.slots.insert(name.as_str().into(), slot as u32);
                if entity.kind.is_component() {
                    endpoint
                        .entry(name.as_str().into())
                        .or_insert_with(|| vec![NO_SLOT; kb.entities.len()])[index] = slot as u32;
                }
            }
            layouts.push(layout);
        }
        let mut system_layout = Layout::default();
        for (slot, name) in kb.system_properties.keys().enumerate() {
            system_layout
                .slots
                .insert(name.as_str().into(), slot as u32);
        }
        let endpoint_slots = EndpointSlots {
            by_name: endpoint
                .into_iter()
                .map(|(name, slots)| (name, Arc::from(slots)))
                .collect(),
        };
        let entity_index = kb
            .entities
            .iter()
            .enumerate()
            .map(|(index, entity)| (entity.id.as_str(), index))
            .collect();
        Engine {
            kb,
            symbols: Interner::default(),
            layouts,
            system_layout,
            endpoint_slots,
            entity_index,
        }
    }

    pub fn entity(&self, qualified: &str) -> Option<usize> {
        self.entity_index.get(qualified).copied()
    }

    /// What a condition on an element of `entity` is compiled against.
    pub fn bindings(&self, entity: usize) -> Bindings<'_> {
        let is_flow = self
            .kb
            .entities
            .get(entity)
            .is_some_and(|entity| entity.kind == ElementKind::DataFlow);
        Bindings {
            subject: &self.layouts[entity],
            endpoints: is_flow.then_some(&self.endpoint_slots),
            system: &self.system_layout,
        }
    }

    /// Compiles the conditions of the attack patterns and links at `max_rank` or smaller.
    pub fn rules(&mut self, max_rank: Option<usize>) -> Rules {
        let kb = self.kb;
        let in_selection = |tier: &str| match max_rank {
            None => true,
            Some(max) => kb.tier_rank(tier).is_some_and(|rank| rank <= max),
        };
        let mut problems = Vec::new();
        let mut links_of: Vec<Vec<usize>> = vec![Vec::new(); kb.attack_patterns.len()];
        let ap_index: HashMap<&str, usize> = kb
            .attack_patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| (pattern.id.as_str(), index))
            .collect();
        for (index, link) in kb.links.iter().enumerate() {
            if in_selection(&link.tier)
                && let Some(pattern) = ap_index.get(link.attack_pattern.as_str())
            {
                links_of[*pattern].push(index);
            }
        }
        let mut by_entity: Vec<Vec<Rule>> = (0..kb.entities.len()).map(|_| Vec::new()).collect();
        for (index, pattern) in kb.attack_patterns.iter().enumerate() {
            if !in_selection(&pattern.tier) {
                continue;
            }
            let parsed = match pattern.condition.as_deref().map(program::parse) {
                None => None,
                Some(Ok(parsed)) => Some(parsed),
                Some(Err(message)) => {
                    problems.push(RuleProblem {
                        rule: pattern.id.clone(),
                        subject: "its condition".to_string(),
                        message,
                    });
                    continue;
                }
            };
            let parsed_links: Vec<(usize, Option<Result<cel::IdedExpr, String>>)> = links_of[index]
                .iter()
                .map(|link| {
                    (
                        *link,
                        kb.links[*link].condition.as_deref().map(program::parse),
                    )
                })
                .collect();
            for entity_id in &pattern.matches {
                let Some(entity) = self.entity(entity_id) else {
                    continue;
                };
                let condition = match &parsed {
                    None => None,
                    Some(parsed) => match self.compile(parsed, entity) {
                        Ok(program) => Some(program),
                        Err(error) => {
                            problems.push(RuleProblem {
                                rule: pattern.id.clone(),
                                subject: entity_id.clone(),
                                message: error.message,
                            });
                            continue;
                        }
                    },
                };
                let mut links = Vec::new();
                for (link, parsed) in &parsed_links {
                    let rule = || {
                        let link = &kb.links[*link];
                        format!("{} → {}", link.mitigation, link.attack_pattern)
                    };
                    match parsed {
                        None => links.push((*link, None)),
                        Some(Ok(parsed)) => match self.compile(parsed, entity) {
                            Ok(program) => links.push((*link, Some(program))),
                            Err(error) => problems.push(RuleProblem {
                                rule: rule(),
                                subject: entity_id.clone(),
                                message: error.message,
                            }),
                        },
                        Some(Err(message)) => problems.push(RuleProblem {
                            rule: rule(),
                            subject: entity_id.clone(),
                            message: message.clone(),
                        }),
                    }
                }
                by_entity[entity].push(Rule {
                    attack_pattern: index,
                    condition,
                    links,
                });
            }
        }
        problems.dedup();
        Rules {
            by_entity,
            problems,
            max_rank,
        }
    }

    /// Compiles a parsed condition for elements of `entity`.
    pub fn compile(
        &mut self,
        parsed: &cel::IdedExpr,
        entity: usize,
    ) -> Result<Program, CompileError> {
        let is_flow = self.kb.entities[entity].kind == ElementKind::DataFlow;
        let bindings = Bindings {
            subject: &self.layouts[entity],
            endpoints: is_flow.then_some(&self.endpoint_slots),
            system: &self.system_layout,
        };
        program::compile(parsed, &bindings, &mut self.symbols)
    }

    /// A frame for evaluating conditions on one element.
    pub fn frame<'a>(&'a self, model: &'a BoundModel, element: &BoundElement) -> Frame<'a> {
        let end = |index: Option<usize>| {
            index
                .and_then(|index| model.elements.get(index))
                .map(|end| Endpoint {
                    entity: end.entity,
                    values: model.values_of(end),
                })
        };
        Frame {
            subject: model.values_of(element),
            source: end(element.source),
            target: end(element.target),
            crosses_boundary: element.crosses_boundary,
            system: &model.system,
            symbols: &self.symbols,
            locals: Vec::new(),
        }
    }

    /// Evaluates every rule on every element of the model, reporting to `sink`.
    pub fn evaluate(&self, rules: &Rules, model: &BoundModel, sink: &mut impl Sink) {
        self.evaluate_range(rules, model, 0..model.elements.len(), sink);
    }

    /// Evaluates every rule on the elements in `range`, in order (one share of a parallel run).
    pub fn evaluate_range(
        &self,
        rules: &Rules,
        model: &BoundModel,
        range: std::ops::Range<usize>,
        sink: &mut impl Sink,
    ) {
        let mut applicable = Vec::new();
        let start = range.start;
        for (offset, element) in model.elements[range].iter().enumerate() {
            let element_index = start + offset;
            let Some(candidates) = rules.by_entity.get(element.entity) else {
                continue;
            };
            if candidates.is_empty() {
                continue;
            }
            let mut frame = self.frame(model, element);
            for rule in candidates {
                let applies = match &rule.condition {
                    None => Ok(true),
                    Some(program) => program.holds(&mut frame),
                };
                match applies {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(error) => {
                        sink.problem(self.problem(
                            &self.kb.attack_patterns[rule.attack_pattern].id,
                            element,
                            &error,
                        ));
                        continue;
                    }
                }
                applicable.clear();
                for (link, condition) in &rule.links {
                    let holds = match condition {
                        None => Ok(true),
                        Some(program) => program.holds(&mut frame),
                    };
                    match holds {
                        Ok(true) => applicable.push(*link),
                        Ok(false) => {}
                        Err(error) => {
                            let link = &self.kb.links[*link];
                            let rule = format!("{} → {}", link.mitigation, link.attack_pattern);
                            sink.problem(self.problem(&rule, element, &error));
                        }
                    }
                }
                sink.finding(rule.attack_pattern, element_index, &applicable);
            }
        }
    }

    fn problem(&self, rule: &str, element: &BoundElement, error: &EvalError) -> RuleProblem {
        RuleProblem {
            rule: rule.to_string(),
            subject: element.id.clone(),
            message: error.message.clone(),
        }
    }
}
