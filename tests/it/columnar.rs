//! The columnar evaluator (`Engine::evaluate`, 64 elements of an entity at a time) reports
//! exactly what the per-element evaluator (`Engine::evaluate_each`) reports: the same findings
//! with the same links, the same problems with the same messages, in the same order. Checked on
//! the shipped packs' own conditions and on generated conditions full of errors (properties
//! the entity lacks, `has()` guards, flow ends of other kinds, type mistakes, nodes only the
//! tree evaluator runs), over generated models.

use serde_json::{Value as Json, json};
use threatpack::build::check_and_compile;
use threatpack::check::CheckOptions;
use threatpack::compile::KnowledgeBase;
use threatpack::engine::bind::bind;
use threatpack::engine::{Engine, RuleProblem, Sink};
use threatpack::model::{ElementKind, PropertyType};
use threatpack::system::load_model;
use threatpack::workspace::load_graph;

use crate::support::repository;

/// Everything an evaluator reports, in order.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
}

impl Sink for Recorder {
    fn finding(&mut self, attack_pattern: usize, element: usize, links: &[usize]) {
        self.events
            .push(format!("finding {attack_pattern} {element} {links:?}"));
    }

    fn problem(&mut self, problem: RuleProblem) {
        self.events.push(format!(
            "problem {} on {}: {}",
            problem.rule, problem.subject, problem.message
        ));
    }
}

/// A small deterministic generator (SplitMix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn compiled(pack: &str) -> KnowledgeBase {
    let graph = load_graph(&repository().join(pack), pack).expect("the pack loads");
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    kb.unwrap_or_else(|| panic!("{pack} compiles: {diagnostics:#?}"))
}

/// The name a model uses for an entity.
fn kind_name(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// A model with `per_entity` elements of every component entity (more than 64, so that rows
/// are full and partly filled), flows of every flow entity between random components, and
/// boundaries around random components; each property set or left at its default at random.
fn generated_model(kb: &KnowledgeBase, random: &mut Random, per_entity: usize) -> String {
    let values = |random: &mut Random, entity: usize| -> Json {
        let mut properties = serde_json::Map::new();
        for (name, property) in &kb.entities[entity].properties {
            if !random.chance(60) {
                continue;
            }
            let definition = &property.definition;
            let words: Vec<String> = if definition.values.is_empty() {
                ["a", "b", "abc", ""].map(String::from).to_vec()
            } else {
                definition.values.clone()
            };
            let value = match definition.property_type {
                PropertyType::Bool => json!(random.chance(50)),
                PropertyType::Int => {
                    let low = definition.min.unwrap_or(0);
                    let high = definition.max.unwrap_or(5).max(low);
                    json!(low + random.below((high - low + 1) as usize) as i64)
                }
                PropertyType::Enum | PropertyType::String => json!(random.pick(&words)),
                PropertyType::List => {
                    let mut items: Vec<&String> =
                        words.iter().filter(|_| random.chance(40)).collect();
                    items.dedup();
                    json!(items)
                }
            };
            properties.insert(name.clone(), value);
        }
        Json::Object(properties)
    };
    let mut components = Vec::new();
    let mut component_ids = Vec::new();
    for (entity, compiled) in kb.entities.iter().enumerate() {
        if !compiled.kind.is_component() {
            continue;
        }
        for number in 0..per_entity {
            let id = format!("{}-{number}", kind_name(&compiled.id));
            components.push(json!({
                "id": id,
                "kind": kind_name(&compiled.id),
                "properties": values(random, entity),
            }));
            component_ids.push(id);
        }
    }
    // Interleaved, as real models are: each entity's elements spread over the model.
    for position in (1..components.len()).rev() {
        let other = random.below(position + 1);
        components.swap(position, other);
        component_ids.swap(position, other);
    }
    let mut flows = Vec::new();
    for (entity, compiled) in kb.entities.iter().enumerate() {
        if compiled.kind != ElementKind::DataFlow {
            continue;
        }
        for number in 0..per_entity * 2 {
            flows.push(json!({
                "id": format!("{}-{number}", kind_name(&compiled.id)),
                "kind": kind_name(&compiled.id),
                "source": random.pick(&component_ids),
                "target": random.pick(&component_ids),
                "properties": values(random, entity),
            }));
        }
    }
    let mut boundaries = Vec::new();
    for (entity, compiled) in kb.entities.iter().enumerate() {
        if compiled.kind != ElementKind::TrustBoundary {
            continue;
        }
        for number in 0..3 {
            let contains: Vec<&String> =
                component_ids.iter().filter(|_| random.chance(30)).collect();
            boundaries.push(json!({
                "id": format!("{}-{number}", kind_name(&compiled.id)),
                "kind": kind_name(&compiled.id),
                "contains": contains,
                "properties": values(random, entity),
            }));
        }
    }
    // A few elements out of scope: both evaluators must skip them alike.
    for element in components.iter_mut().chain(flows.iter_mut()) {
        if random.chance(5) {
            element["out-of-scope"] = json!(true);
        }
    }
    json!({
        "model": {"name": "generated"},
        "component": components,
        "flow": flows,
        "boundary": boundaries,
    })
    .to_string()
}

/// A random condition on elements of `entity`: reads of its properties and of properties it
/// lacks, guarded or not, flow ends, type mistakes and functions, under `&&`, `||` and `!`.
fn generated_condition(
    kb: &KnowledgeBase,
    entity: usize,
    random: &mut Random,
    depth: u32,
) -> String {
    if depth > 0 && random.chance(60) {
        let left = generated_condition(kb, entity, random, depth - 1);
        let right = generated_condition(kb, entity, random, depth - 1);
        return match random.below(3) {
            0 => format!("({left} && {right})"),
            1 => format!("({left} || {right})"),
            _ => format!("!({left})"),
        };
    }
    let properties: Vec<(&String, &threatpack::model::PropertyDefinition)> = kb.entities[entity]
        .properties
        .iter()
        .map(|(name, property)| (name, &property.definition))
        .collect();
    let is_flow = kb.entities[entity].kind == ElementKind::DataFlow;
    // A property of any entity: on a flow's ends, or on this entity where it may be missing.
    let any_property = |random: &mut Random| -> (String, PropertyType, Vec<String>) {
        let owner = random.below(kb.entities.len());
        let declared: Vec<_> = kb.entities[owner].properties.iter().collect();
        if declared.is_empty() {
            return ("nothing_here".to_string(), PropertyType::Bool, Vec::new());
        }
        let (name, property) = random.pick(&declared);
        (
            (*name).clone(),
            property.definition.property_type,
            property.definition.values.clone(),
        )
    };
    let test =
        |variable: &str, name: &str, kind: PropertyType, values: &[String], random: &mut Random| {
            let word = values
                .get(random.below(values.len().max(1)))
                .cloned()
                .unwrap_or_else(|| "a".to_string());
            match kind {
                PropertyType::Bool => format!("{variable}.{name}"),
                PropertyType::Int => format!(
                    "{variable}.{name} {} {}",
                    random.pick(&["<", ">=", "==", "!="]),
                    random.below(4)
                ),
                PropertyType::Enum | PropertyType::String => match random.below(4) {
                    0 => format!("{variable}.{name} != \"{word}\""),
                    1 => format!("{variable}.{name}.startsWith(\"{word}\")"),
                    2 => format!("{variable}.{name} < 3"),
                    _ => format!("{variable}.{name} == \"{word}\""),
                },
                PropertyType::List => match random.below(3) {
                    0 => format!("size({variable}.{name}) > 1"),
                    1 => format!("{variable}.{name}.exists(item, item == \"{word}\")"),
                    _ => format!("\"{word}\" in {variable}.{name}"),
                },
            }
        };
    match random.below(if is_flow { 9 } else { 6 }) {
        0..=2 if !properties.is_empty() => {
            let (name, definition) = random.pick(&properties);
            let read = test(
                "self",
                name,
                definition.property_type,
                &definition.values,
                random,
            );
            if random.chance(20) {
                format!("(has(self.{name}) && {read})")
            } else {
                read
            }
        }
        3 => {
            // A property this entity may lack: an error unless guarded.
            let (name, kind, values) = any_property(random);
            let read = test("self", &name, kind, &values, random);
            if random.chance(50) {
                format!("(has(self.{name}) && {read})")
            } else {
                read
            }
        }
        4 => random
            .pick(&[
                "true",
                "false",
                "(1 + 1 == 2)",
                "(self.missing_everywhere ? true : false)",
            ])
            .to_string(),
        5 if !properties.is_empty() => {
            let (name, definition) = random.pick(&properties);
            let read = test(
                "self",
                name,
                definition.property_type,
                &definition.values,
                random,
            );
            format!("(({read}) ? 1 : 2) == 1")
        }
        6 | 7 => {
            let end = *random.pick(&["source", "target"]);
            let (name, kind, values) = any_property(random);
            let read = test(end, &name, kind, &values, random);
            if random.chance(40) {
                format!("(has({end}.{name}) && {read})")
            } else {
                read
            }
        }
        8 => "crosses_boundary".to_string(),
        _ => "true".to_string(),
    }
}

/// Both evaluators on `kb` and a model: the same reports, word for word. Returns how many
/// findings and problems there were.
fn agree(kb: &KnowledgeBase, model: &str) -> (usize, usize) {
    let file = load_model("generated.json", model.to_string(), None)
        .unwrap_or_else(|problems| panic!("the generated model loads: {problems:#?}"));
    let mut engine = Engine::new(kb);
    let bound = bind(&mut engine, &file)
        .unwrap_or_else(|problems| panic!("the generated model binds: {problems:#?}"));
    let rules = engine.rules(None);
    let mut columnar = Recorder::default();
    engine.evaluate(&rules, &bound, &mut columnar);
    let mut each = Recorder::default();
    engine.evaluate_each(&rules, &bound, &mut each);
    // Shares of a parallel run, joined, are the whole run.
    let mut shares = Recorder::default();
    let middle = bound.elements.len() / 3;
    engine.evaluate_range(&rules, &bound, 0..middle, &mut shares);
    engine.evaluate_range(&rules, &bound, middle..bound.elements.len(), &mut shares);
    let first_difference = columnar
        .events
        .iter()
        .zip(&each.events)
        .position(|(a, b)| a != b);
    assert!(
        columnar.events == each.events,
        "columnar {} events, per element {}; first difference at {first_difference:?}: {:?} against {:?}",
        columnar.events.len(),
        each.events.len(),
        first_difference.map(|at| &columnar.events[at]),
        first_difference.map(|at| &each.events[at]),
    );
    assert!(
        shares.events == each.events,
        "the shares differ from one run"
    );
    let count = |prefix: &str| {
        each.events
            .iter()
            .filter(|event| event.starts_with(prefix))
            .count()
    };
    (count("finding"), count("problem"))
}

#[test]
fn columnar_and_per_element_evaluation_agree_on_the_shipped_packs() {
    for pack in ["packs/stride-core", "packs/example-org"] {
        let kb = compiled(pack);
        let mut random = Random(7);
        let model = generated_model(&kb, &mut random, 70);
        let (findings, _) = agree(&kb, &model);
        assert!(findings > 100, "{pack}: only {findings} findings");
    }
}

#[test]
fn columnar_and_per_element_evaluation_agree_on_conditions_with_errors() {
    let base = compiled("packs/stride-core");
    let entity_of = |kb: &KnowledgeBase, matches: &[String]| {
        matches.first().and_then(|id| {
            kb.entities
                .iter()
                .position(|entity| entity.id == *id || kind_name(&entity.id) == kind_name(id))
        })
    };
    let (mut findings, mut problems) = (0, 0);
    for seed in 1..=6 {
        let mut random = Random(seed);
        let mut kb = base.clone();
        for index in 0..kb.attack_patterns.len() {
            if let Some(entity) = entity_of(&kb, &kb.attack_patterns[index].matches) {
                kb.attack_patterns[index].condition =
                    Some(generated_condition(&kb, entity, &mut random, 3));
            }
        }
        for index in 0..kb.links.len() {
            let pattern = kb
                .attack_patterns
                .iter()
                .find(|pattern| pattern.id == kb.links[index].attack_pattern);
            let entity = pattern.and_then(|pattern| entity_of(&kb, &pattern.matches));
            if let Some(entity) = entity
                && random.chance(50)
            {
                kb.links[index].condition = Some(generated_condition(&kb, entity, &mut random, 2));
            }
        }
        let model = generated_model(&kb, &mut random, 67);
        let (found, failed) = agree(&kb, &model);
        findings += found;
        problems += failed;
    }
    // The generated conditions exercise both outcomes and errors.
    assert!(findings > 1000, "only {findings} findings");
    assert!(problems > 100, "only {problems} problems");
}

/// The summary (`Detail::Summary`, which keeps only the findings that may be among the worst)
/// and the full report agree: the same totals, the same worst threats, the same backlog, also
/// when recorded statuses make residual risks differ.
#[test]
fn the_summary_agrees_with_the_full_report_whatever_the_statuses() {
    let kb = compiled("packs/stride-core");
    let mut random = Random(11);
    let mut model: Json = serde_json::from_str(&generated_model(&kb, &mut random, 70))
        .expect("the generated model is JSON");
    let elements: Vec<Json> = model["component"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|component| component["id"].clone())
        .collect();
    let mut statuses = Vec::new();
    for mitigation in &kb.mitigations {
        if !random.chance(70) {
            continue;
        }
        let status = *random.pick(&["existing", "planned", "accepted-risk", "not-applicable"]);
        let at: Vec<&Json> = if random.chance(50) {
            elements.iter().filter(|_| random.chance(20)).collect()
        } else {
            Vec::new()
        };
        let mut entry = json!({"mitigation": mitigation.id, "status": status, "at": at});
        if status == "accepted-risk" {
            // Governed, and expired half the time (the reports are dated 2026-01-01).
            entry["owner"] = json!("owner");
            entry["reason"] = json!("reason");
            entry["until"] = json!(if random.chance(50) {
                "2020-01-01"
            } else {
                "2099-01-01"
            });
        }
        statuses.push(entry);
    }
    model["mitigation-status"] = Json::Array(statuses);
    let full = summary_agrees_with_full_report(&kb, &model.to_string());
    assert!(
        full.threats.len() > 100,
        "only {} threats",
        full.threats.len()
    );
    let states: std::collections::BTreeSet<_> =
        full.threats.iter().map(|threat| threat.state).collect();
    assert!(states.len() >= 3, "too few states: {states:?}");
}

/// Without recorded statuses the summary takes the engine's findings a block of elements at
/// once (`Sink::findings_in_block`), and blocks where a condition failed finding by finding:
/// it still agrees with the full report, which takes every finding one by one.
#[test]
fn the_summary_taking_blocks_agrees_with_the_full_report() {
    let base = compiled("packs/stride-core");
    let (mut threats, mut errors) = (0, 0);
    for seed in 1..=4 {
        let mut random = Random(seed);
        let mut kb = base.clone();
        for index in 0..kb.attack_patterns.len() {
            let entity = kb.attack_patterns[index].matches.first().and_then(|id| {
                kb.entities
                    .iter()
                    .position(|entity| entity.id == *id || kind_name(&entity.id) == kind_name(id))
            });
            if let Some(entity) = entity
                && random.chance(60)
            {
                kb.attack_patterns[index].condition =
                    Some(generated_condition(&kb, entity, &mut random, 3));
            }
        }
        let model = generated_model(&kb, &mut random, 150);
        let full = summary_agrees_with_full_report(&kb, &model);
        threats += full.threats.len();
        errors += full.errors.len();
    }
    assert!(threats > 1000, "only {threats} threats");
    assert!(
        errors > 10,
        "only {errors} errors: no block went finding by finding"
    );
}

/// Applies `kb` to `model` in full and as a summary of the 10 worst, asserts that they agree
/// (totals, the worst threats, errors, the backlog in order), and returns the full report.
fn summary_agrees_with_full_report(
    kb: &KnowledgeBase,
    model: &str,
) -> threatpack::analysis::report::Report {
    use threatpack::analysis::{Detail, Header, analyse};
    use threatpack::engine::tiers::{TierChoice, TierSource};

    let file = load_model("model.json", model.to_string(), None)
        .unwrap_or_else(|problems| panic!("the model loads: {problems:#?}"));
    let mut engine = Engine::new(kb);
    let mut bound = bind(&mut engine, &file)
        .unwrap_or_else(|problems| panic!("the model binds: {problems:#?}"));
    threatpack::engine::bind::expire_acceptances(&mut bound, "2026-01-01");
    let rules = engine.rules(None);
    let header = || Header {
        model_file: "model.json".to_string(),
        tier: TierChoice {
            name: None,
            chosen_by: TierSource::All,
            reason: String::new(),
        },
        provenance: threatpack::analysis::report::Provenance {
            tool: threatpack::analysis::report::ToolRef {
                name: "threatpack".to_string(),
                version: "0".to_string(),
            },
            generated_at: "2026-01-01T00:00:00Z".to_string(),
            model: threatpack::analysis::report::ModelOrigin {
                file: "model.json".to_string(),
                sha256: String::new(),
            },
            packs: Vec::new(),
            project: None,
        },
    };
    let full = analyse(&engine, &rules, &bound, header(), Detail::Full);
    let summary = analyse(
        &engine,
        &rules,
        &bound,
        header(),
        Detail::Summary { limit: 10 },
    );
    assert_eq!(summary.totals, full.totals);
    assert_eq!(summary.threats, full.threats[..full.threats.len().min(10)]);
    assert_eq!(summary.errors, full.errors);
    let brief = |report: &threatpack::analysis::report::Report| -> Vec<String> {
        report
            .backlog
            .iter()
            .map(|item| {
                format!(
                    "{} {} {:?} {:?}",
                    item.id, item.priority, item.severity, item.attack_patterns
                )
            })
            .collect()
    };
    assert_eq!(brief(&summary), brief(&full));
    full
}
