//! The rule engine: which attack patterns apply to which elements of a system model, and which
//! of their mitigations apply there.
//!
//! `Engine::new` lays out every entity's properties as numbered slots. `bind` turns a model
//! that `system::validate` accepted into values in those slots. `Engine::rules` compiles each condition once per entity
//! it applies to (inheritance included), so that evaluation indexes arrays instead of looking
//! up names, and only the attack patterns of an element's entity are ever considered for it.
//! `Engine::evaluate` decides each condition for 64 elements of an entity at once
//! (`columns.rs`); `Engine::evaluate_each`, one element at a time, is what it must agree with.

pub mod bind;
pub mod columns;
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

use columns::{Formula, Leaves};
use eval::{Endpoint, EvalError, Frame};
use predicate::Tri;
use program::{Bindings, CompileError, EndpointSlots, Layout, NO_SLOT, Program};
use value::Interner;
use value::Value;

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
    by_entity: Vec<EntityRules>,
    /// Conditions that could not be compiled: reported, and their attack pattern or link is
    /// not evaluated.
    pub problems: Vec<RuleProblem>,
    /// The largest tier rank kept (`None`: every tier).
    pub max_rank: Option<usize>,
}

/// The rules of one entity, and the leaves their conditions share (`columns.rs`).
#[derive(Default)]
struct EntityRules {
    rules: Vec<Rule>,
    leaves: Leaves,
    /// How many conditions (of attack patterns and links) the rules have: one column each.
    columns: usize,
}

struct Rule {
    attack_pattern: usize,
    condition: Option<Condition>,
    /// The links of this attack pattern in the selection, with their conditions.
    links: Vec<(usize, Option<Condition>)>,
}

/// A condition compiled for one entity: its program, and its formula over the entity's leaves,
/// whose outcomes are in column `column` of the entity's bits.
struct Condition {
    program: Program,
    formula: Formula,
    column: usize,
}

impl EntityRules {
    fn condition(&mut self, program: Program) -> Condition {
        self.leaves.locals = self.leaves.locals.max(program.locals);
        let formula = self.leaves.formula(&program.predicate);
        self.columns += 1;
        Condition {
            program,
            formula,
            column: self.columns - 1,
        }
    }

    /// Every condition, in column order.
    fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.rules.iter().flat_map(|rule| {
            rule.condition.iter().chain(
                rule.links
                    .iter()
                    .filter_map(|(_, condition)| condition.as_ref()),
            )
        })
    }
}

/// Which elements of an entity (in a range) each of its conditions holds on, 64 elements per
/// word: row `block` (the entity's elements `64 × block ..`) is `columns` words.
struct Decided {
    /// How many elements (the last row may be partly filled).
    elements: usize,
    trues: Vec<u64>,
    /// Elements where the condition failed: evaluated again one by one for the message.
    errors: Vec<u64>,
    /// How many findings the entity's attack patterns make (errors aside).
    findings: usize,
}

/// The rules that hold or failed on each element of one row of an entity's elements, in rule
/// order: found by iterating set bits, so the cost is that of the findings, not of the rules.
#[derive(Default)]
struct BlockRules {
    /// Element `i` of the row has `rules[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    rules: Vec<u32>,
}

impl BlockRules {
    fn fill(&mut self, entity: &EntityRules, decided: &Decided, block: usize) {
        let present = decided.elements.saturating_sub(block * 64).min(64);
        let all = if present == 64 {
            !0
        } else {
            (1u64 << present) - 1
        };
        let row = block * entity.columns;
        let word = |rule: &Rule| match &rule.condition {
            None => all,
            Some(condition) => {
                decided.trues[row + condition.column] | decided.errors[row + condition.column]
            }
        };
        // A counting sort by element: counts, then each rule in order into its elements.
        self.starts.clear();
        self.starts.resize(66, 0);
        for rule in &entity.rules {
            let mut bits = word(rule);
            while bits != 0 {
                self.starts[bits.trailing_zeros() as usize + 2] += 1;
                bits &= bits - 1;
            }
        }
        for position in 2..self.starts.len() {
            self.starts[position] += self.starts[position - 1];
        }
        self.rules.clear();
        self.rules.resize(self.starts[65] as usize, 0);
        for (index, rule) in entity.rules.iter().enumerate() {
            let mut bits = word(rule);
            while bits != 0 {
                let next = &mut self.starts[bits.trailing_zeros() as usize + 1];
                self.rules[*next as usize] = index as u32;
                *next += 1;
                bits &= bits - 1;
            }
        }
    }

    /// The rules of element `position` of the row.
    fn of(&self, position: usize) -> &[u32] {
        &self.rules[self.starts[position] as usize..self.starts[position + 1] as usize]
    }
}

impl Decided {
    /// The outcome at word `at` for the element `bit`: `None` if the condition failed there.
    #[inline]
    fn get(&self, at: usize, bit: u64) -> Option<bool> {
        if self.trues[at] & bit != 0 {
            Some(true)
        } else if self.errors[at] & bit != 0 {
            None
        } else {
            Some(false)
        }
    }
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
    /// About `findings` findings will follow (to size buffers once).
    fn reserve(&mut self, _findings: usize) {}
    /// Whether the sink takes the findings of up to 64 elements of an entity at once
    /// (`findings_in_block`, then `end_block`). Such a sink gives up the order: blocks come
    /// entity by entity, and only blocks where a condition failed come finding by finding.
    fn takes_blocks(&self) -> bool {
        false
    }
    /// The attack pattern applies to `elements[i]` (model indexes, ascending) for every bit
    /// `i` of `applies`; each of its links `(link, holds)` holds on the elements of `holds`
    /// (a subset of `applies`).
    fn findings_in_block(
        &mut self,
        _attack_pattern: usize,
        _elements: &[u32],
        _applies: u64,
        _links: &[(usize, u64)],
    ) {
    }
    /// Every finding of the block has been reported. No other block holds its elements.
    fn end_block(&mut self) {}
}

impl Rules {
    /// The attack patterns considered for elements of `entity`, with their compiled
    /// conditions and link conditions.
    pub fn for_entity(&self, entity: usize) -> impl Iterator<Item = (usize, Vec<&Program>)> {
        self.by_entity
            .get(entity)
            .into_iter()
            .flat_map(|entity| &entity.rules)
            .map(|rule| {
                let programs = rule
                    .condition
                    .iter()
                    .chain(
                        rule.links
                            .iter()
                            .filter_map(|(_, condition)| condition.as_ref()),
                    )
                    .map(|condition| &condition.program)
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
        let mut by_entity: Vec<EntityRules> = (0..kb.entities.len())
            .map(|_| EntityRules::default())
            .collect();
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
                        Ok(program) => Some(by_entity[entity].condition(program)),
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
                            Ok(program) => {
                                links.push((*link, Some(by_entity[entity].condition(program))));
                            }
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
                by_entity[entity].rules.push(Rule {
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
            crossed_boundaries: element.crossed_boundaries.clone(),
            system: &model.system,
            symbols: &self.symbols,
            locals: Vec::new(),
        }
    }

    /// Evaluates every rule on every element of the model, reporting to `sink`.
    pub fn evaluate(&self, rules: &Rules, model: &BoundModel, sink: &mut impl Sink) {
        self.evaluate_range(rules, model, 0..model.elements.len(), sink);
    }

    /// Evaluates every rule on the elements in `range` (one share of a parallel run), reporting
    /// findings and problems element by element, in rule order: what `evaluate_each` reports,
    /// but each condition decided for 64 elements of an entity at once (`columns.rs`).
    pub fn evaluate_range(
        &self,
        rules: &Rules,
        model: &BoundModel,
        range: std::ops::Range<usize>,
        sink: &mut impl Sink,
    ) {
        let start = range.start;
        let elements = &model.elements[range];
        // The elements of each entity, in model order.
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); rules.by_entity.len()];
        for (offset, element) in elements.iter().enumerate() {
            if element.out_of_scope.is_none()
                && rules
                    .by_entity
                    .get(element.entity)
                    .is_some_and(|entity| !entity.rules.is_empty())
            {
                members[element.entity].push((start + offset) as u32);
            }
        }
        let decided: Vec<Decided> = rules
            .by_entity
            .iter()
            .zip(&members)
            .map(|(entity, members)| self.decide(entity, model, members))
            .collect();
        sink.reserve(decided.iter().map(|decided| decided.findings).sum());
        if sink.takes_blocks() {
            return self.report_blocks(rules, model, &members, &decided, sink);
        }
        drop(members);

        let mut seen = vec![0usize; rules.by_entity.len()];
        let mut blocks: Vec<BlockRules> = (0..rules.by_entity.len())
            .map(|_| BlockRules::default())
            .collect();
        let mut applicable = Vec::new();
        for (offset, element) in elements.iter().enumerate() {
            let element_index = start + offset;
            let Some(entity) = rules.by_entity.get(element.entity) else {
                continue;
            };
            if entity.rules.is_empty() || element.out_of_scope.is_some() {
                continue;
            }
            let local = seen[element.entity];
            seen[element.entity] += 1;
            let decided = &decided[element.entity];
            let block = &mut blocks[element.entity];
            if local.is_multiple_of(64) {
                block.fill(entity, decided, local / 64);
            }
            let row = local / 64 * entity.columns;
            let bit = 1u64 << (local % 64);
            let mut holds = self.decided_or_evaluated(model, element, decided, row, bit);
            for rule in block.of(local % 64) {
                let rule = &entity.rules[*rule as usize];
                self.report_rule(
                    rule,
                    element,
                    element_index,
                    &mut holds,
                    &mut applicable,
                    sink,
                );
            }
        }
    }

    /// How a condition came out on the element at `bit` of row `row`: as `decided` has it, or,
    /// where it failed there, evaluated again on the element for the error's message (the
    /// frame is built only then).
    fn decided_or_evaluated<'a>(
        &'a self,
        model: &'a BoundModel,
        element: &'a BoundElement,
        decided: &'a Decided,
        row: usize,
        bit: u64,
    ) -> impl FnMut(&Condition) -> Result<bool, Box<EvalError>> + 'a {
        let mut frame: Option<Frame<'a>> = None;
        move |condition: &Condition| match decided.get(row + condition.column, bit) {
            Some(outcome) => Ok(outcome),
            None => condition
                .program
                .holds(frame.get_or_insert_with(|| self.frame(model, element))),
        }
    }

    /// Reports `rule` on one element: a finding with the links that hold, or the problems of
    /// the conditions that failed. `holds` decides a condition there.
    fn report_rule(
        &self,
        rule: &Rule,
        element: &BoundElement,
        element_index: usize,
        holds: &mut impl FnMut(&Condition) -> Result<bool, Box<EvalError>>,
        applicable: &mut Vec<usize>,
        sink: &mut impl Sink,
    ) {
        let applies = match &rule.condition {
            None => Ok(true),
            Some(condition) => holds(condition),
        };
        match applies {
            Ok(false) => return,
            Ok(true) => {}
            Err(error) => {
                sink.problem(self.problem(
                    &self.kb.attack_patterns[rule.attack_pattern].id,
                    element,
                    &error,
                ));
                return;
            }
        }
        applicable.clear();
        for (link, condition) in &rule.links {
            let holds = match condition {
                None => Ok(true),
                Some(condition) => holds(condition),
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
        sink.finding(rule.attack_pattern, element_index, applicable);
    }

    /// `evaluate_range` for a sink that takes blocks: each entity's rows of 64 elements, each
    /// rule's findings as one word; a row where a condition failed goes finding by finding,
    /// as `evaluate_range` reports them, so that every problem is reported as usual.
    fn report_blocks(
        &self,
        rules: &Rules,
        model: &BoundModel,
        members: &[Vec<u32>],
        decided: &[Decided],
        sink: &mut impl Sink,
    ) {
        let mut links: Vec<(usize, u64)> = Vec::new();
        let mut block_rules = BlockRules::default();
        let mut applicable = Vec::new();
        for ((entity, members), decided) in rules.by_entity.iter().zip(members).zip(decided) {
            for (block, elements) in members.chunks(64).enumerate() {
                let row = block * entity.columns;
                let failed = decided.errors[row..row + entity.columns]
                    .iter()
                    .any(|word| *word != 0);
                if failed {
                    block_rules.fill(entity, decided, block);
                    for (position, element_index) in elements.iter().enumerate() {
                        let element_index = *element_index as usize;
                        let bit = 1u64 << position;
                        let element = &model.elements[element_index];
                        let mut holds =
                            self.decided_or_evaluated(model, element, decided, row, bit);
                        for rule in block_rules.of(position) {
                            let rule = &entity.rules[*rule as usize];
                            self.report_rule(
                                rule,
                                element,
                                element_index,
                                &mut holds,
                                &mut applicable,
                                sink,
                            );
                        }
                    }
                } else {
                    let all = if elements.len() == 64 {
                        !0
                    } else {
                        (1u64 << elements.len()) - 1
                    };
                    for rule in &entity.rules {
                        let applies = rule
                            .condition
                            .as_ref()
                            .map_or(all, |condition| decided.trues[row + condition.column]);
                        if applies == 0 {
                            continue;
                        }
                        links.clear();
                        links.extend(rule.links.iter().map(|(link, condition)| {
                            let holds = condition.as_ref().map_or(applies, |condition| {
                                applies & decided.trues[row + condition.column]
                            });
                            (*link, holds)
                        }));
                        sink.findings_in_block(rule.attack_pattern, elements, applies, &links);
                    }
                }
                sink.end_block();
            }
        }
    }

    /// Decides every condition of `entity` on its elements `members`: each distinct leaf runs
    /// once per element, then each condition is word operations on the leaves' bits.
    fn decide(&self, entity: &EntityRules, model: &BoundModel, members: &[u32]) -> Decided {
        let columns = entity.columns;
        let blocks = members.len().div_ceil(64);
        let mut decided = Decided {
            elements: members.len(),
            trues: vec![0; blocks * columns],
            errors: vec![0; blocks * columns],
            findings: 0,
        };
        let tests = &entity.leaves.tests;
        let (mut trues, mut falses) = (vec![0u64; tests.len()], vec![0u64; tests.len()]);
        for (block, chunk) in members.chunks(64).enumerate() {
            trues.fill(0);
            falses.fill(0);
            for (position, element) in chunk.iter().enumerate() {
                let mut frame = self.frame(model, &model.elements[*element as usize]);
                frame
                    .locals
                    .resize(entity.leaves.locals as usize, Value::Null);
                let bit = 1u64 << position;
                for (leaf, test) in tests.iter().enumerate() {
                    match test.run(&mut frame) {
                        Tri::True => trues[leaf] |= bit,
                        Tri::False => falses[leaf] |= bit,
                        Tri::Error => {}
                    }
                }
            }
            let present = if chunk.len() == 64 {
                !0
            } else {
                (1u64 << chunk.len()) - 1
            };
            let row = block * columns;
            for condition in entity.conditions() {
                let (yes, no) = condition.formula.decide(&trues, &falses);
                decided.trues[row + condition.column] = yes & present;
                decided.errors[row + condition.column] = !(yes | no) & present;
            }
            for rule in &entity.rules {
                decided.findings += match &rule.condition {
                    None => chunk.len(),
                    Some(condition) => decided.trues[row + condition.column].count_ones() as usize,
                };
            }
        }
        decided
    }

    /// The reference evaluator: every condition on one element at a time, by its typed
    /// predicate. `evaluate` must report exactly what this reports (the tests compare them).
    pub fn evaluate_each(&self, rules: &Rules, model: &BoundModel, sink: &mut impl Sink) {
        let mut applicable = Vec::new();
        for (element_index, element) in model.elements.iter().enumerate() {
            let Some(entity) = rules.by_entity.get(element.entity) else {
                continue;
            };
            if entity.rules.is_empty() || element.out_of_scope.is_some() {
                continue;
            }
            // Every condition by its predicate on this element's frame; what is reported, as
            // the columnar path reports it (`report_rule`).
            let mut frame = self.frame(model, element);
            let mut holds = |condition: &Condition| condition.program.holds(&mut frame);
            for rule in &entity.rules {
                self.report_rule(
                    rule,
                    element,
                    element_index,
                    &mut holds,
                    &mut applicable,
                    sink,
                );
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
