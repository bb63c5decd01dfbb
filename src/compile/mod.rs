//! Compiling a checked pack graph into one knowledge base (`kb.json`): the dependencies' items
//! included, every pack's overrides applied in dependency order, tiers mapped onto the built
//! pack's and optionally selected, and the provenance of every field kept.
//!
//! Pure: works on a `PackGraph` in memory that `check` found free of errors.

mod kb;
mod overrides;

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use kb::*;

use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Index, Lookup};
use crate::names::ItemKind;
use crate::parse::Origin;
use crate::resolve::PackGraph;
use crate::source::LineIndex;

use overrides::{SettingTarget, Value};

#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Keep only the items and links at this tier or smaller.
    pub tier: Option<String>,
}

/// The outcome of compiling: the knowledge base, unless an error stopped it, and every problem.
#[derive(Debug)]
pub struct Compiled {
    pub kb: Option<KnowledgeBase>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn compile(graph: &PackGraph, options: &CompileOptions) -> Compiled {
    let index = Index::build(graph);
    let mut compiler = Compiler {
        graph,
        index: &index,
        lines: HashMap::new(),
        diagnostics: Vec::new(),
    };
    let kb = compiler.run(options);
    let mut diagnostics = compiler.diagnostics;
    crate::diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    let failed = diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == crate::diagnostic::Severity::Error);
    Compiled {
        kb: if failed { None } else { kb },
        diagnostics,
    }
}

struct Compiler<'g, 'i> {
    graph: &'g PackGraph,
    index: &'i Index<'g>,
    /// Line tables of the files provenance has pointed into, by (pack, file).
    lines: HashMap<(usize, usize), LineIndex>,
    diagnostics: Vec<Diagnostic>,
}

/// An item being compiled, with the rank of its tier among the built pack's tiers.
struct Slot<T> {
    item: T,
    tier: usize,
    removed: bool,
}

struct LinkSlot {
    link: CompiledLink,
    mitigation: usize,
    attack_pattern: usize,
    /// The link's own tier, if it names one.
    own_tier: Option<usize>,
    /// Disabled, or one of its ends is gone.
    removed: bool,
    /// Outside the selected tier.
    out_of_tier: bool,
}

impl<'g> Compiler<'g, '_> {
    fn run(&mut self, options: &CompileOptions) -> Option<KnowledgeBase> {
        let root = &self.graph.packs[0];
        let manifest = &root.manifest.as_ref()?.item.pack;
        let root_tiers = manifest.tiers.clone();
        let selected = match &options.tier {
            None => None,
            Some(tier) => match root_tiers.iter().position(|known| known == tier) {
                Some(rank) => Some(rank),
                None => {
                    self.diagnostics.push(
                        Diagnostic::new(Code::UnknownTier, format!("unknown tier `{tier}`")).help(
                            format!(
                                "`{}` declares the tiers {}",
                                manifest.name,
                                quoted_list(&root_tiers)
                            ),
                        ),
                    );
                    return None;
                }
            },
        };

        let mut entities: Vec<Slot<CompiledEntity>> = (0..self.index.entities.len())
            .map(|entity| self.entity(entity))
            .collect();
        let mut attack_patterns: Vec<Slot<CompiledAttackPattern>> =
            (0..self.index.attack_patterns.len())
                .map(|attack_pattern| self.attack_pattern(attack_pattern))
                .collect();
        let mut mitigations: Vec<Slot<CompiledMitigation>> = (0..self.index.mitigations.len())
            .map(|mitigation| self.mitigation(mitigation))
            .collect();
        let mut links: BTreeMap<(usize, usize), LinkSlot> = self.links();

        // Overrides: resolved (precedence, conflicts) first, then applied.
        let resolution = overrides::resolve(self);
        for winner in &resolution.winners {
            let source = winner.source.clone();
            match winner.target {
                SettingTarget::Entity(entity) => {
                    let slot = &mut entities[entity];
                    apply_entity(slot, winner.field, &winner.value);
                    slot.item
                        .provenance
                        .insert(winner.field.to_string(), source);
                }
                SettingTarget::AttackPattern(attack_pattern) => {
                    let slot = &mut attack_patterns[attack_pattern];
                    apply_attack_pattern(slot, winner.field, &winner.value);
                    slot.item
                        .provenance
                        .insert(winner.field.to_string(), source);
                }
                SettingTarget::Mitigation(mitigation) => {
                    let slot = &mut mitigations[mitigation];
                    apply_mitigation(slot, winner.field, &winner.value);
                    slot.item
                        .provenance
                        .insert(winner.field.to_string(), source);
                }
                SettingTarget::Link(mitigation, attack_pattern) => {
                    let slot = links
                        .entry((mitigation, attack_pattern))
                        .or_insert_with(|| LinkSlot {
                            link: CompiledLink {
                                mitigation: mitigations[mitigation].item.id.clone(),
                                attack_pattern: attack_patterns[attack_pattern].item.id.clone(),
                                strength: crate::model::Strength::Average,
                                tier: String::new(),
                                condition: None,
                                description: None,
                                provenance: Provenance::new(),
                            },
                            mitigation,
                            attack_pattern,
                            own_tier: None,
                            removed: false,
                            out_of_tier: false,
                        });
                    apply_link(slot, winner.field, &winner.value);
                    // An added link records where it was added as its `attack-pattern`.
                    let field = if winner.field == "link" {
                        "attack-pattern"
                    } else {
                        winner.field
                    };
                    slot.link.provenance.insert(field.to_string(), source);
                }
            }
        }

        // Removals: disabled entities leave the attack patterns' matches; disabled attack
        // patterns and mitigations take their links with them.
        let removed_entities: BTreeSet<String> = entities
            .iter()
            .filter(|slot| slot.removed)
            .map(|slot| slot.item.id.clone())
            .collect();
        for slot in &mut attack_patterns {
            slot.item.matches = self.matches(&slot.item.applies_to, &entities);
            slot.item
                .applies_to
                .retain(|entity| !removed_entities.contains(entity));
        }
        for slot in links.values_mut() {
            let ap_tier = attack_patterns[slot.attack_pattern].tier;
            let mitigation_tier = mitigations[slot.mitigation].tier;
            let effective = slot.own_tier.unwrap_or(0).max(ap_tier).max(mitigation_tier);
            slot.link.tier = root_tiers.get(effective).cloned().unwrap_or_default();
            slot.removed |= attack_patterns[slot.attack_pattern].removed
                || mitigations[slot.mitigation].removed;
            slot.out_of_tier = selected.is_some_and(|selected| effective > selected);
        }
        if let Some(selected) = selected {
            for slot in &mut attack_patterns {
                slot.removed |= slot.tier > selected;
            }
            for slot in &mut mitigations {
                slot.removed |= slot.tier > selected;
            }
            self.report_unmitigated(selected, &root_tiers, &attack_patterns, &links);
        }

        let mut kb = KnowledgeBase {
            format: KB_FORMAT,
            pack: manifest.name.clone(),
            version: manifest.version.clone(),
            tier: options.tier.clone(),
            tiers: root_tiers.clone(),
            packs: self.packs(),
            system_properties: self.system_properties(),
            tier_rules: self.tier_rules(),
            activities: self.activities(),
            entities: entities
                .into_iter()
                .filter(|slot| !slot.removed)
                .map(|slot| slot.item)
                .collect(),
            attack_patterns: attack_patterns
                .into_iter()
                .filter(|slot| !slot.removed)
                .map(|mut slot| {
                    slot.item.tier = root_tiers.get(slot.tier).cloned().unwrap_or_default();
                    slot.item
                })
                .collect(),
            mitigations: mitigations
                .into_iter()
                .filter(|slot| !slot.removed)
                .map(|mut slot| {
                    slot.item.tier = root_tiers.get(slot.tier).cloned().unwrap_or_default();
                    slot.item
                })
                .collect(),
            links: links
                .into_values()
                .filter(|slot| !slot.removed && !slot.out_of_tier)
                .map(|slot| slot.link)
                .collect(),
            overrides: resolution.applied,
        };
        kb.entities.sort_by(|a, b| a.id.cmp(&b.id));
        kb.attack_patterns.sort_by(|a, b| a.id.cmp(&b.id));
        kb.mitigations.sort_by(|a, b| a.id.cmp(&b.id));
        kb.links.sort_by(|a, b| {
            (&a.mitigation, &a.attack_pattern).cmp(&(&b.mitigation, &b.attack_pattern))
        });
        kb.overrides
            .sort_by(|a, b| (&a.pack, &a.file, a.line).cmp(&(&b.pack, &b.file, b.line)));
        Some(kb)
    }

    /// `namespace/pack:kind/id`.
    fn qualified(&self, pack: usize, kind: ItemKind, id: &str) -> String {
        format!(
            "{}:{}/{id}",
            self.graph.packs[pack].name().unwrap_or("?"),
            kind.as_str()
        )
    }

    /// Where a field of an item is written.
    fn source(&mut self, pack: usize, origin: &Origin, fields: &[&str]) -> Source {
        let parsed = &self.graph.packs[pack];
        let offset = parsed.locate_key(origin, fields).start;
        let line = self
            .lines
            .entry((pack, origin.file))
            .or_insert_with(|| LineIndex::new(&parsed.sources.files[origin.file].text))
            .line(offset);
        Source {
            pack: parsed.name().unwrap_or("?").to_string(),
            version: parsed
                .manifest
                .as_ref()
                .map(|manifest| manifest.item.pack.version.clone())
                .unwrap_or_default(),
            file: parsed.sources.files[origin.file].pack_path.clone(),
            line,
            reason: None,
        }
    }

    /// The rank, among the built pack's tiers, of a tier of `pack`: the tier of the same name
    /// if the built pack declares it, else the same rank (capped at the largest tier).
    fn tier_rank(&self, pack: usize, tier: Option<&str>) -> usize {
        let root = &self.graph.packs[0];
        let parsed = &self.graph.packs[pack];
        let default = parsed
            .manifest
            .as_ref()
            .and_then(|manifest| manifest.item.pack.default_tier.as_deref());
        let name = tier
            .or(default)
            .or(parsed.tiers().last().map(String::as_str));
        if let Some(name) = name
            && let Some(rank) = root.tiers().iter().position(|known| known == name)
        {
            return rank;
        }
        parsed
            .tier_rank(tier)
            .min(root.tiers().len().saturating_sub(1))
    }

    /// Where the tier of an item without one comes from: `default-tier`, else `tiers`.
    fn default_tier_source(&mut self, pack: usize) -> Option<Source> {
        let origin = self.graph.packs[pack].manifest.as_ref()?.origin.clone();
        let has_default = self.graph.packs[pack]
            .manifest
            .as_ref()
            .is_some_and(|manifest| manifest.item.pack.default_tier.is_some());
        let field = if has_default { "default-tier" } else { "tiers" };
        Some(self.source(pack, &origin, &["pack", field]))
    }

    fn resolve_reference(&self, pack: usize, reference: &str, kind: ItemKind) -> String {
        match self.index.lookup(pack, reference, kind) {
            Lookup::Found(found) => {
                let (found_pack, id) = match kind {
                    ItemKind::Entity => {
                        let item = &self.index.entities[found];
                        (item.pack, item.located.item.id.as_str())
                    }
                    ItemKind::AttackPattern => {
                        let item = &self.index.attack_patterns[found];
                        (item.pack, item.located.item.id.as_str())
                    }
                    ItemKind::Mitigation => {
                        let item = &self.index.mitigations[found];
                        (item.pack, item.located.item.id.as_str())
                    }
                };
                self.qualified(found_pack, kind, id)
            }
            _ => reference.to_string(),
        }
    }

    /// Records where each listed field that has a value is written.
    fn provenance(&mut self, pack: usize, origin: &Origin, fields: &[(&str, bool)]) -> Provenance {
        let mut provenance = Provenance::new();
        for (field, present) in fields {
            if *present {
                let source = self.source(pack, origin, &[field]);
                provenance.insert((*field).to_string(), source);
            }
        }
        provenance
    }

    fn entity(&mut self, entity: usize) -> Slot<CompiledEntity> {
        let index = self.index;
        let item = &index.entities[entity];
        let pack = item.pack;
        let located = item.located;
        let source_entity = &located.item;
        let resolved = &index.resolved[entity];
        let mut provenance = self.provenance(
            pack,
            &located.origin,
            &[
                ("id", true),
                ("name", true),
                ("description", true),
                ("kind", source_entity.kind.is_some()),
                ("parent", source_entity.parent.is_some()),
                ("status", true),
                ("replaced-by", source_entity.replaced_by.is_some()),
            ],
        );
        if source_entity.kind.is_none()
            && let Some(declaring) = index
                .ancestors(entity)
                .find(|ancestor| index.entities[*ancestor].located.item.kind.is_some())
        {
            let ancestor = &index.entities[declaring];
            let source = self.source(ancestor.pack, &ancestor.located.origin, &["kind"]);
            provenance.insert("kind".to_string(), source);
        }
        let mut properties = BTreeMap::new();
        for (name, info) in &resolved.properties {
            let declaring = &index.entities[info.declared_by];
            let source = self.source(
                declaring.pack,
                &declaring.located.origin,
                &["properties", name],
            );
            provenance.insert(format!("properties.{name}"), source);
            properties.insert(
                (*name).to_string(),
                CompiledProperty {
                    definition: info.definition.clone(),
                    declared_by: self.qualified(
                        declaring.pack,
                        ItemKind::Entity,
                        &declaring.located.item.id,
                    ),
                },
            );
        }
        let parent = resolved.parent.map(|parent| {
            let parent = &index.entities[parent];
            self.qualified(parent.pack, ItemKind::Entity, &parent.located.item.id)
        });
        let ancestors = index
            .ancestors(entity)
            .map(|ancestor| {
                let ancestor = &index.entities[ancestor];
                self.qualified(ancestor.pack, ItemKind::Entity, &ancestor.located.item.id)
            })
            .collect();
        Slot {
            item: CompiledEntity {
                id: self.qualified(pack, ItemKind::Entity, &source_entity.id),
                pack: self.graph.packs[pack].name().unwrap_or("?").to_string(),
                name: source_entity.name.clone(),
                description: source_entity.description.clone(),
                kind: resolved.kind.unwrap_or(crate::model::ElementKind::Process),
                parent,
                ancestors,
                status: source_entity.status,
                replaced_by: source_entity
                    .replaced_by
                    .as_deref()
                    .map(|reference| self.resolve_reference(pack, reference, ItemKind::Entity)),
                properties,
                provenance,
            },
            tier: 0,
            removed: false,
        }
    }

    fn attack_pattern(&mut self, attack_pattern: usize) -> Slot<CompiledAttackPattern> {
        let index = self.index;
        let item = &index.attack_patterns[attack_pattern];
        let pack = item.pack;
        let source_item = &item.located.item;
        let mut provenance = self.provenance(
            pack,
            &item.located.origin,
            &[
                ("id", true),
                ("name", true),
                ("description", true),
                ("categories", true),
                ("applies-to", true),
                ("condition", source_item.condition.is_some()),
                ("severity", true),
                ("likelihood", source_item.likelihood.is_some()),
                ("impact", source_item.impact.is_some()),
                ("tier", source_item.tier.is_some()),
                ("references", true),
                ("status", true),
                ("replaced-by", source_item.replaced_by.is_some()),
            ],
        );
        if source_item.tier.is_none()
            && let Some(source) = self.default_tier_source(pack)
        {
            provenance.insert("tier".to_string(), source);
        }
        let applies_to = index
            .applies_to(attack_pattern)
            .into_iter()
            .map(|entity| {
                let entity = &index.entities[entity];
                self.qualified(entity.pack, ItemKind::Entity, &entity.located.item.id)
            })
            .collect();
        Slot {
            item: CompiledAttackPattern {
                id: self.qualified(pack, ItemKind::AttackPattern, &source_item.id),
                pack: self.graph.packs[pack].name().unwrap_or("?").to_string(),
                name: source_item.name.clone(),
                description: source_item.description.clone(),
                categories: source_item.categories.clone(),
                applies_to,
                matches: Vec::new(),
                condition: source_item.condition.clone(),
                severity: source_item.severity,
                likelihood: source_item.likelihood,
                impact: source_item.impact,
                tier: String::new(),
                references: source_item.references.clone(),
                status: source_item.status,
                replaced_by: source_item.replaced_by.as_deref().map(|reference| {
                    self.resolve_reference(pack, reference, ItemKind::AttackPattern)
                }),
                provenance,
            },
            tier: self.tier_rank(pack, source_item.tier.as_deref()),
            removed: false,
        }
    }

    fn mitigation(&mut self, mitigation: usize) -> Slot<CompiledMitigation> {
        let index = self.index;
        let item = &index.mitigations[mitigation];
        let pack = item.pack;
        let source_item = &item.located.item;
        let mut provenance = self.provenance(
            pack,
            &item.located.origin,
            &[
                ("id", true),
                ("name", true),
                ("description", true),
                ("control", true),
                ("cost", true),
                ("implementation", true),
                ("verification", true),
                ("events", !source_item.events.is_empty()),
                ("tier", source_item.tier.is_some()),
                ("references", true),
                ("status", true),
                ("replaced-by", source_item.replaced_by.is_some()),
            ],
        );
        if source_item.tier.is_none()
            && let Some(source) = self.default_tier_source(pack)
        {
            provenance.insert("tier".to_string(), source);
        }
        Slot {
            item: CompiledMitigation {
                id: self.qualified(pack, ItemKind::Mitigation, &source_item.id),
                pack: self.graph.packs[pack].name().unwrap_or("?").to_string(),
                name: source_item.name.clone(),
                description: source_item.description.clone(),
                control: source_item.control,
                cost: source_item.cost,
                implementation: source_item.implementation.clone(),
                verification: source_item.verification.clone(),
                events: source_item.events.clone(),
                tier: String::new(),
                references: source_item.references.clone(),
                status: source_item.status,
                replaced_by: source_item
                    .replaced_by
                    .as_deref()
                    .map(|reference| self.resolve_reference(pack, reference, ItemKind::Mitigation)),
                provenance,
            },
            tier: self.tier_rank(pack, source_item.tier.as_deref()),
            removed: false,
        }
    }

    /// The links every mitigation declares in `addresses`, by (mitigation, attack pattern).
    fn links(&mut self) -> BTreeMap<(usize, usize), LinkSlot> {
        let index = self.index;
        let mut links = BTreeMap::new();
        for (mitigation, item) in index.mitigations.iter().enumerate() {
            let pack = item.pack;
            for (position, address) in item.located.item.addresses.iter().enumerate() {
                let Lookup::Found(attack_pattern) =
                    index.lookup(pack, &address.attack_pattern, ItemKind::AttackPattern)
                else {
                    continue;
                };
                let position = position.to_string();
                let mut provenance = Provenance::new();
                for (field, present) in [
                    ("attack-pattern", true),
                    ("strength", true),
                    ("tier", address.tier.is_some()),
                    ("condition", address.condition.is_some()),
                ] {
                    if present {
                        let source = self.source(
                            pack,
                            &item.located.origin,
                            &["addresses", &position, field],
                        );
                        provenance.insert(field.to_string(), source);
                    }
                }
                let ap = &index.attack_patterns[attack_pattern];
                links.insert(
                    (mitigation, attack_pattern),
                    LinkSlot {
                        link: CompiledLink {
                            mitigation: self.qualified(
                                pack,
                                ItemKind::Mitigation,
                                &item.located.item.id,
                            ),
                            attack_pattern: self.qualified(
                                ap.pack,
                                ItemKind::AttackPattern,
                                &ap.located.item.id,
                            ),
                            strength: address.strength,
                            tier: String::new(),
                            condition: address.condition.clone(),
                            description: address.description.clone(),
                            provenance,
                        },
                        mitigation,
                        attack_pattern,
                        own_tier: address
                            .tier
                            .as_deref()
                            .map(|tier| self.tier_rank(pack, Some(tier))),
                        removed: false,
                        out_of_tier: false,
                    },
                );
            }
        }
        links
    }

    /// The entities an attack pattern applies to: those named and their descendants, minus the
    /// disabled ones.
    fn matches(&self, applies_to: &[String], entities: &[Slot<CompiledEntity>]) -> Vec<String> {
        let named: BTreeSet<&str> = applies_to.iter().map(String::as_str).collect();
        let mut matches: Vec<String> = entities
            .iter()
            .filter(|slot| !slot.removed)
            .filter(|slot| {
                named.contains(slot.item.id.as_str())
                    || slot
                        .item
                        .ancestors
                        .iter()
                        .any(|ancestor| named.contains(ancestor.as_str()))
            })
            .map(|slot| slot.item.id.clone())
            .collect();
        matches.sort();
        matches
    }

    /// Reports each attack pattern of the selection whose every link fell outside the tier.
    fn report_unmitigated(
        &mut self,
        selected: usize,
        tiers: &[String],
        attack_patterns: &[Slot<CompiledAttackPattern>],
        links: &BTreeMap<(usize, usize), LinkSlot>,
    ) {
        let mut outside: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut kept: BTreeSet<usize> = BTreeSet::new();
        for slot in links.values() {
            if attack_patterns[slot.attack_pattern].removed || slot.removed {
                continue;
            }
            if slot.out_of_tier {
                outside
                    .entry(slot.attack_pattern)
                    .or_default()
                    .push(format!("`{}` ({})", slot.link.mitigation, slot.link.tier));
            } else {
                kept.insert(slot.attack_pattern);
            }
        }
        let tier = tiers.get(selected).map_or("?", String::as_str);
        for (attack_pattern, mitigations) in outside {
            if kept.contains(&attack_pattern) {
                continue;
            }
            let item = &self.index.attack_patterns[attack_pattern];
            let parsed = &self.graph.packs[item.pack];
            let id = &attack_patterns[attack_pattern].item.id;
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TierUnmitigated,
                    format!("`{id}` has no mitigation in tier `{tier}`"),
                )
                .at(
                    parsed.display_path(&item.located.origin),
                    parsed.locate(&item.located.origin, &["id"]),
                    format!("in tier `{tier}`, but unmitigated there"),
                )
                .note(format!("its mitigations are outside the tier: {}", mitigations.join(", ")))
                .help(format!("put one of its mitigations (or its link) in tier `{tier}`, or move the attack pattern to a larger tier")),
            );
        }
    }

    /// The system properties of every pack, each as the last pack in dependency order that
    /// declares it writes it (`Index::system_properties`).
    fn system_properties(&mut self) -> BTreeMap<String, CompiledSystemProperty> {
        let index = self.index;
        let mut compiled = BTreeMap::new();
        for (name, info) in &index.system_properties {
            let pack = info.declared_by;
            let Some(declaration) = self.graph.packs[pack]
                .system_properties
                .iter()
                .find(|property| property.item.name == *name)
            else {
                continue;
            };
            let provenance = self.source(pack, &declaration.origin, &[]);
            compiled.insert(
                (*name).to_string(),
                CompiledSystemProperty {
                    definition: info.definition.clone(),
                    declared_by: self.graph.packs[pack].name().unwrap_or("?").to_string(),
                    provenance,
                },
            );
        }
        compiled
    }

    /// The tier rules in force. A pack's rules replace those of every pack it depends on: the
    /// built pack's when it declares any, else those of the packs that declare some and that no
    /// other such pack depends on, in dependency order. Tiers are mapped onto the built pack's
    /// as items' are.
    fn tier_rules(&mut self) -> Vec<CompiledTierRule> {
        let graph = self.graph;
        let declaring: Vec<usize> = graph
            .dependency_order()
            .into_iter()
            .filter(|pack| !graph.packs[*pack].tier_rules.is_empty())
            .collect();
        let in_force = declaring.iter().copied().filter(|pack| {
            !declaring
                .iter()
                .any(|other| other != pack && graph.depends_on(*other, *pack))
        });
        let root_tiers = graph.packs[0].tiers();
        let mut rules = Vec::new();
        for pack in in_force.collect::<Vec<_>>() {
            for rule in &graph.packs[pack].tier_rules {
                let rank = self.tier_rank(pack, Some(&rule.item.tier));
                rules.push(CompiledTierRule {
                    tier: root_tiers.get(rank).cloned().unwrap_or_default(),
                    when: rule.item.when.clone(),
                    reason: rule.item.reason.clone(),
                    provenance: self.source(pack, &rule.origin, &[]),
                });
            }
        }
        rules
    }

    /// Every pack's activities, dependencies first, each pack's as written.
    fn activities(&mut self) -> Vec<CompiledActivity> {
        let graph = self.graph;
        let mut activities = Vec::new();
        for pack in graph.dependency_order() {
            for activity in &graph.packs[pack].activities {
                activities.push(CompiledActivity {
                    id: format!(
                        "{}:activity/{}",
                        graph.packs[pack].name().unwrap_or("?"),
                        activity.item.id
                    ),
                    pack: graph.packs[pack].name().unwrap_or("?").to_string(),
                    name: activity.item.name.clone(),
                    description: activity.item.description.clone(),
                    kind: activity.item.kind,
                    when: activity.item.when.clone(),
                    provenance: self.source(pack, &activity.origin, &[]),
                });
            }
        }
        activities
    }

    /// Every pack in the build, sorted by name, with where its attribution files go.
    fn packs(&self) -> Vec<PackInfo> {
        let mut packs: Vec<PackInfo> = self
            .graph
            .packs
            .iter()
            .filter_map(|parsed| {
                let metadata = &parsed.manifest.as_ref()?.item.pack;
                Some(PackInfo {
                    name: metadata.name.clone(),
                    version: metadata.version.clone(),
                    description: metadata.description.clone(),
                    license: metadata.license.clone(),
                    authors: metadata.authors.clone(),
                    homepage: metadata.homepage.clone(),
                    repository: metadata.repository.clone(),
                    attribution: parsed
                        .sources
                        .attribution()
                        .map(|file| attribution_path(&metadata.name, &file.pack_path))
                        .collect(),
                })
            })
            .collect();
        packs.sort_by(|a, b| a.name.cmp(&b.name));
        packs
    }
}

/// Where a pack's licence or notice file goes in a bundle.
pub fn attribution_path(pack: &str, file: &str) -> String {
    format!("legal/{pack}/{file}")
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn apply_entity(slot: &mut Slot<CompiledEntity>, field: &str, value: &Value) {
    match (field, value) {
        ("name", Value::Text(text)) => slot.item.name.clone_from(text),
        ("description", Value::Text(text)) => slot.item.description.clone_from(text),
        ("status", Value::Status(status)) => slot.item.status = *status,
        ("disable", Value::Bool(disabled)) => slot.removed = *disabled,
        _ => {}
    }
}

fn apply_attack_pattern(slot: &mut Slot<CompiledAttackPattern>, field: &str, value: &Value) {
    match (field, value) {
        ("name", Value::Text(text)) => slot.item.name.clone_from(text),
        ("description", Value::Text(text)) => slot.item.description.clone_from(text),
        ("condition", Value::Text(text)) => slot.item.condition = Some(text.clone()),
        ("severity", Value::Severity(severity)) => slot.item.severity = *severity,
        ("likelihood", Value::Rating(rating)) => slot.item.likelihood = Some(*rating),
        ("impact", Value::Rating(rating)) => slot.item.impact = Some(*rating),
        ("tier", Value::Tier(rank, _)) => slot.tier = *rank,
        ("status", Value::Status(status)) => slot.item.status = *status,
        ("disable", Value::Bool(disabled)) => slot.removed = *disabled,
        _ => {}
    }
}

fn apply_mitigation(slot: &mut Slot<CompiledMitigation>, field: &str, value: &Value) {
    match (field, value) {
        ("name", Value::Text(text)) => slot.item.name.clone_from(text),
        ("description", Value::Text(text)) => slot.item.description.clone_from(text),
        ("implementation", Value::Text(text)) => slot.item.implementation.clone_from(text),
        ("verification", Value::Text(text)) => slot.item.verification.clone_from(text),
        ("tier", Value::Tier(rank, _)) => slot.tier = *rank,
        ("status", Value::Status(status)) => slot.item.status = *status,
        ("disable", Value::Bool(disabled)) => slot.removed = *disabled,
        _ => {}
    }
}

fn apply_link(slot: &mut LinkSlot, field: &str, value: &Value) {
    match (field, value) {
        ("strength", Value::Strength(strength)) => slot.link.strength = *strength,
        ("condition", Value::Text(text)) => slot.link.condition = Some(text.clone()),
        ("description", Value::Text(text)) => slot.link.description = Some(text.clone()),
        ("tier", Value::Tier(rank, _)) => slot.own_tier = Some(*rank),
        ("disable", Value::Bool(disabled)) => slot.removed = *disabled,
        _ => {}
    }
}
