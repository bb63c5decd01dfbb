//! An index over a pack graph: every item by pack and id, references resolved the way packs
//! see each other, and entities resolved with their inherited kind and properties. What
//! `check`, its `lints`, `upstream` and `compile` all read a pack graph through.

use std::collections::{BTreeMap, HashMap};

use crate::model::{AttackPattern, ElementKind, Entity, Mitigation, PropertyDefinition, Status};
use crate::names::{ItemKind, Target, parse_item_ref, parse_target};
use crate::parse::{Located, ParsedPack};
use crate::resolve::PackGraph;

/// A property as a condition sees it: its definition and where it is declared.
#[derive(Debug, Clone, Copy)]
pub struct PropertyInfo<'a> {
    pub definition: &'a PropertyDefinition,
    /// A key identifying the declaring entity (for the unused-property lint), or for a system
    /// property the declaring pack.
    pub declared_by: usize,
}

/// The properties of one entity, inherited included; or the system properties of a pack graph.
pub type PropertySet<'a> = BTreeMap<&'a str, PropertyInfo<'a>>;

/// An item of some pack: the pack's index in the graph and the item.
#[derive(Debug)]
pub struct Item<'g, T> {
    pub pack: usize,
    pub located: &'g Located<T>,
}

/// An entity with what it inherits.
#[derive(Debug, Default)]
pub struct ResolvedEntity<'g> {
    /// Its own kind or the nearest ancestor's.
    pub kind: Option<ElementKind>,
    /// Its properties, inherited included; the nearest declaration wins.
    pub properties: PropertySet<'g>,
    /// The resolved parent (index into `Index::entities`); see `Index::ancestors`.
    pub parent: Option<usize>,
    /// True when following parents leads back to it.
    pub in_cycle: bool,
    /// False when an ancestor failed (not found, broke its schema, in a cycle): what it would
    /// have given is unknown, so a property missing here is not reported again.
    pub complete: bool,
}

/// What an override target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvedTarget {
    /// An item of `kind`: index into `entities`, `attack_patterns` or `mitigations`.
    Item(ItemKind, usize),
    /// A link: the mitigation, the attack pattern, and the link's position in `addresses`.
    Link {
        mitigation: usize,
        attack_pattern: usize,
        position: usize,
    },
}

/// What resolving an override target found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetLookup {
    Found(ResolvedTarget),
    /// The item (for a link: its mitigation) was not found: why, and what was looked up.
    NotFound {
        lookup: Lookup,
        qualified: String,
        kind: ItemKind,
    },
    /// The mitigation exists but does not address that attack pattern.
    NoSuchLink {
        mitigation: usize,
    },
    /// Not a target (the schema reports it).
    Malformed,
}

/// What a reference leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(usize),
    /// The item may exist but cannot be checked: it broke its schema, or its pack is a
    /// dependency that is not available locally.
    Unverifiable,
    /// The pack was searched and has no such item.
    Missing {
        pack: usize,
    },
    /// A qualified reference names a pack that is not a dependency.
    NotADependency,
}

pub struct Index<'g> {
    pub graph: &'g PackGraph,
    pub entities: Vec<Item<'g, Entity>>,
    pub attack_patterns: Vec<Item<'g, AttackPattern>>,
    pub mitigations: Vec<Item<'g, Mitigation>>,
    entity_keys: HashMap<(usize, &'g str), usize>,
    attack_pattern_keys: HashMap<(usize, &'g str), usize>,
    mitigation_keys: HashMap<(usize, &'g str), usize>,
    /// Parallel to `entities`.
    pub resolved: Vec<ResolvedEntity<'g>>,
    /// Every property some component kind declares, for `source.x` and `target.x`.
    pub endpoint_properties: BTreeMap<&'g str, Vec<PropertyInfo<'g>>>,
    /// The system properties of every pack of the graph, for `system.x`; `declared_by` is the
    /// pack. A name declared by several packs takes the declaration of the pack latest in
    /// dependency order (a pack's redeclaration beats its dependency's; the root's beats all).
    pub system_properties: PropertySet<'g>,
    /// False when some entity of the graph failed, so `endpoint_properties` may lack some.
    pub endpoints_complete: bool,
    /// False when some pack's `pack.toml` or system property failed, so `system_properties`
    /// may lack some.
    pub system_complete: bool,
}

impl<'g> Index<'g> {
    pub fn build(graph: &'g PackGraph) -> Index<'g> {
        let mut index = Index {
            graph,
            entities: Vec::new(),
            attack_patterns: Vec::new(),
            mitigations: Vec::new(),
            entity_keys: HashMap::new(),
            attack_pattern_keys: HashMap::new(),
            mitigation_keys: HashMap::new(),
            resolved: Vec::new(),
            endpoint_properties: BTreeMap::new(),
            system_properties: PropertySet::new(),
            endpoints_complete: true,
            system_complete: graph.packs.iter().all(|pack| pack.system_complete),
        };
        for (pack_index, pack) in graph.packs.iter().enumerate() {
            for located in &pack.entities {
                index
                    .entity_keys
                    .entry((pack_index, located.item.id.as_str()))
                    .or_insert(index.entities.len());
                index.entities.push(Item {
                    pack: pack_index,
                    located,
                });
            }
            for located in &pack.attack_patterns {
                index
                    .attack_pattern_keys
                    .entry((pack_index, located.item.id.as_str()))
                    .or_insert(index.attack_patterns.len());
                index.attack_patterns.push(Item {
                    pack: pack_index,
                    located,
                });
            }
            for located in &pack.mitigations {
                index
                    .mitigation_keys
                    .entry((pack_index, located.item.id.as_str()))
                    .or_insert(index.mitigations.len());
                index.mitigations.push(Item {
                    pack: pack_index,
                    located,
                });
            }
        }
        index.resolve_entities();
        for pack in graph.dependency_order() {
            for property in &graph.packs[pack].system_properties {
                index.system_properties.insert(
                    property.item.name.as_str(),
                    PropertyInfo {
                        definition: &property.item.definition,
                        declared_by: pack,
                    },
                );
            }
        }
        index
    }

    pub fn root(&self) -> &'g ParsedPack {
        &self.graph.packs[0]
    }

    pub fn pack(&self, pack: usize) -> &'g ParsedPack {
        &self.graph.packs[pack]
    }

    /// Resolves a reference written in `from_pack` to an item of `kind`.
    pub fn lookup(&self, from_pack: usize, reference: &str, kind: ItemKind) -> Lookup {
        let Some(parsed) = parse_item_ref(reference, kind) else {
            return Lookup::Unverifiable;
        };
        let target_pack = match parsed.pack {
            None => from_pack,
            Some(name) if self.graph.packs[from_pack].name() == Some(name) => from_pack,
            Some(name) => match self.graph.dependencies[from_pack].get(name) {
                Some(Some(loaded)) => *loaded,
                Some(None) => return Lookup::Unverifiable,
                None => return Lookup::NotADependency,
            },
        };
        let keys = match kind {
            ItemKind::Entity => &self.entity_keys,
            ItemKind::AttackPattern => &self.attack_pattern_keys,
            ItemKind::Mitigation => &self.mitigation_keys,
        };
        match keys.get(&(target_pack, parsed.id)) {
            Some(found) => Lookup::Found(*found),
            // The item failed to parse, or the file that may declare it did: it was reported
            // there, and a reference to it is not reported again.
            None if self.graph.packs[target_pack]
                .unparsed_ids
                .contains(&(kind, parsed.id.to_string()))
                || self.graph.packs[target_pack]
                    .unreadable_kinds
                    .contains(&kind) =>
            {
                Lookup::Unverifiable
            }
            None => Lookup::Missing { pack: target_pack },
        }
    }

    /// Resolves an override target (`ns/pack:KIND/ID` or `ns/pack:link/MITIGATION/ATTACK-PATTERN`)
    /// written in `from_pack`.
    pub fn resolve_target(&self, from_pack: usize, target: &str) -> TargetLookup {
        let Some(parsed) = parse_target(target) else {
            return TargetLookup::Malformed;
        };
        let (kind, qualified) = match &parsed {
            Target::Item { pack, kind, id } => (*kind, format!("{pack}:{}/{id}", kind.as_str())),
            Target::Link {
                pack, mitigation, ..
            } => (
                ItemKind::Mitigation,
                format!("{pack}:mitigation/{mitigation}"),
            ),
        };
        let found = match self.lookup(from_pack, &qualified, kind) {
            Lookup::Found(found) => found,
            other => {
                return TargetLookup::NotFound {
                    lookup: other,
                    qualified,
                    kind,
                };
            }
        };
        let Target::Link { attack_pattern, .. } = parsed else {
            return TargetLookup::Found(ResolvedTarget::Item(kind, found));
        };
        let mitigation = &self.mitigations[found];
        let link = mitigation
            .located
            .item
            .addresses
            .iter()
            .enumerate()
            .find_map(|(position, address)| {
                match self.lookup(
                    mitigation.pack,
                    &address.attack_pattern,
                    ItemKind::AttackPattern,
                ) {
                    Lookup::Found(linked)
                        if self.attack_patterns[linked].located.item.id == attack_pattern =>
                    {
                        Some((position, linked))
                    }
                    _ => None,
                }
            });
        // A link whose attack pattern failed (its file, its schema) may be the one: it was
        // reported there, and the override is not reported again.
        let unverifiable = || {
            mitigation.located.item.addresses.iter().any(|address| {
                self.lookup(
                    mitigation.pack,
                    &address.attack_pattern,
                    ItemKind::AttackPattern,
                ) == Lookup::Unverifiable
            })
        };
        match link {
            Some((position, linked)) => TargetLookup::Found(ResolvedTarget::Link {
                mitigation: found,
                attack_pattern: linked,
                position,
            }),
            None if unverifiable() => TargetLookup::NotFound {
                lookup: Lookup::Unverifiable,
                qualified,
                kind,
            },
            None => TargetLookup::NoSuchLink { mitigation: found },
        }
    }

    /// The ids of a pack's items of `kind`, for suggestions.
    pub fn ids(&self, pack: usize, kind: ItemKind) -> Vec<&'g str> {
        let mut ids: Vec<&'g str> = match kind {
            ItemKind::Entity => self
                .entities
                .iter()
                .filter(|item| item.pack == pack)
                .map(|item| item.located.item.id.as_str())
                .collect(),
            ItemKind::AttackPattern => self
                .attack_patterns
                .iter()
                .filter(|item| item.pack == pack)
                .map(|item| item.located.item.id.as_str())
                .collect(),
            ItemKind::Mitigation => self
                .mitigations
                .iter()
                .filter(|item| item.pack == pack)
                .map(|item| item.located.item.id.as_str())
                .collect(),
        };
        ids.sort_unstable();
        ids
    }

    /// Whether the item `index` of `kind` is deprecated, and its replacement if named.
    pub fn deprecation(&self, kind: ItemKind, index: usize) -> Option<Option<&'g str>> {
        let (status, replaced_by) = match kind {
            ItemKind::Entity => {
                let item = &self.entities[index].located.item;
                (item.status, item.replaced_by.as_deref())
            }
            ItemKind::AttackPattern => {
                let item = &self.attack_patterns[index].located.item;
                (item.status, item.replaced_by.as_deref())
            }
            ItemKind::Mitigation => {
                let item = &self.mitigations[index].located.item;
                (item.status, item.replaced_by.as_deref())
            }
        };
        (status == Status::Deprecated).then_some(replaced_by)
    }

    /// The entities an attack pattern applies to that can be resolved.
    pub fn applies_to(&self, attack_pattern: usize) -> Vec<usize> {
        let item = &self.attack_patterns[attack_pattern];
        item.located
            .item
            .applies_to
            .iter()
            .filter_map(
                |reference| match self.lookup(item.pack, reference, ItemKind::Entity) {
                    Lookup::Found(entity) => Some(entity),
                    _ => None,
                },
            )
            .collect()
    }

    fn resolve_entities(&mut self) {
        let count = self.entities.len();
        // The parent of each entity, and whether a parent it names failed to resolve.
        let (parents, parent_failed): (Vec<Option<usize>>, Vec<bool>) = (0..count)
            .map(|entity| {
                let item = &self.entities[entity];
                let Some(parent) = item.located.item.parent.as_deref() else {
                    return (None, false);
                };
                match self.lookup(item.pack, parent, ItemKind::Entity) {
                    Lookup::Found(parent) => (Some(parent), false),
                    _ => (None, true),
                }
            })
            .unzip();
        // Each entity is resolved once, after its parent, so a chain of n entities costs O(n)
        // walks, not O(n²): packs are hostile input too.
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Unvisited,
            OnPath,
            Resolved,
        }
        let mut state = vec![State::Unvisited; count];
        let mut resolved: Vec<ResolvedEntity<'g>> =
            (0..count).map(|_| ResolvedEntity::default()).collect();
        for start in 0..count {
            let mut path: Vec<usize> = Vec::new();
            let mut current = Some(start);
            while let Some(entity) = current {
                match state[entity] {
                    State::Resolved => break,
                    State::OnPath => {
                        let first = path
                            .iter()
                            .position(|member| *member == entity)
                            .unwrap_or(0);
                        for member in &path[first..] {
                            resolved[*member].in_cycle = true;
                        }
                        break;
                    }
                    State::Unvisited => {
                        state[entity] = State::OnPath;
                        path.push(entity);
                        current = parents[entity];
                    }
                }
            }
            for entity in path.into_iter().rev() {
                let item = &self.entities[entity].located.item;
                let in_cycle = resolved[entity].in_cycle;
                let parent = parents[entity];
                let (mut properties, inherited_kind, parent_complete) = match parent {
                    Some(parent) if !in_cycle => (
                        resolved[parent].properties.clone(),
                        resolved[parent].kind,
                        resolved[parent].complete,
                    ),
                    _ => (PropertySet::new(), None, !parent_failed[entity]),
                };
                // The nearest declaration wins.
                for (name, definition) in &item.properties {
                    properties.insert(
                        name.as_str(),
                        PropertyInfo {
                            definition,
                            declared_by: entity,
                        },
                    );
                }
                resolved[entity] = ResolvedEntity {
                    kind: if in_cycle {
                        None
                    } else {
                        item.kind.or(inherited_kind)
                    },
                    properties,
                    parent,
                    in_cycle,
                    complete: parent_complete && !in_cycle,
                };
                state[entity] = State::Resolved;
            }
        }
        for resolved_entity in &resolved {
            if resolved_entity.kind.is_some_and(ElementKind::is_component) {
                for (name, info) in &resolved_entity.properties {
                    let declarations = self.endpoint_properties.entry(name).or_default();
                    if !declarations
                        .iter()
                        .any(|known| known.declared_by == info.declared_by)
                    {
                        declarations.push(*info);
                    }
                }
            }
        }
        self.endpoints_complete = resolved.iter().all(|entity| entity.complete)
            && self.graph.packs.iter().all(|pack| {
                !pack.unreadable_kinds.contains(&ItemKind::Entity)
                    && !pack
                        .unparsed_ids
                        .iter()
                        .any(|(kind, _)| *kind == ItemKind::Entity)
            });
        self.resolved = resolved;
    }

    /// The parent, grandparent, ... of `entity`, stopping at a cycle.
    pub fn ancestors(&self, entity: usize) -> impl Iterator<Item = usize> + '_ {
        let mut current = self.resolved[entity].parent;
        let mut remaining = self.entities.len();
        std::iter::from_fn(move || {
            let ancestor = current.filter(|_| remaining > 0)?;
            remaining -= 1;
            current = self.resolved[ancestor].parent;
            Some(ancestor)
        })
    }
}
