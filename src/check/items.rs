//! Checks of the root pack's items: unique ids, entities (parents, kinds, properties), attack
//! patterns and mitigations (references, tiers, conditions, links).

use std::collections::HashMap;

use crate::check::conditions::Subjects;
use crate::check::{conditions, reference_problem, tier_problem};
use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Index, Lookup};
use crate::lints::Facts;
use crate::model::PropertyDefinition;
use crate::model::value_fits;
use crate::names::ItemKind;
use crate::parse::{Origin, ParsedPack};

pub(crate) fn check(index: &Index<'_>, facts: &mut Facts, diagnostics: &mut Vec<Diagnostic>) {
    unique_ids(index.root(), diagnostics);
    entities(index, diagnostics);
    attack_patterns(index, facts, diagnostics);
    mitigations(index, facts, diagnostics);
}

/// Ids are unique across entities, attack patterns and mitigations of a pack.
fn unique_ids(root: &ParsedPack, diagnostics: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, (&Origin, &str)> = HashMap::new();
    let items = root
        .entities
        .iter()
        .map(|item| (item.item.id.as_str(), &item.origin, "entity"))
        .chain(
            root.attack_patterns
                .iter()
                .map(|item| (item.item.id.as_str(), &item.origin, "attack pattern")),
        )
        .chain(
            root.mitigations
                .iter()
                .map(|item| (item.item.id.as_str(), &item.origin, "mitigation")),
        );
    let mut ordered: Vec<_> = items.collect();
    // First in file order wins, so the report is the same whatever the check order.
    ordered.sort_by_key(|(_, origin, _)| (origin.file, root.locate(origin, &[]).start));
    for (id, origin, what) in ordered {
        match first.get(id) {
            None => {
                first.insert(id, (origin, what));
            }
            Some((first_origin, first_what)) => {
                diagnostics.push(
                    Diagnostic::new(Code::DuplicateId, format!("the id `{id}` is used twice"))
                        .at(root.display_path(origin), root.locate(origin, &["id"]), format!("this {what} reuses it"))
                        .also(
                            root.display_path(first_origin),
                            root.locate(first_origin, &["id"]),
                            format!("first used by this {first_what}"),
                        )
                        .help("ids are unique across the pack's entities, attack patterns and mitigations; rename one"),
                );
            }
        }
    }
}

fn resolve_reference(
    index: &Index<'_>,
    diagnostics: &mut Vec<Diagnostic>,
    reference: &str,
    kind: ItemKind,
    origin: &Origin,
    fields: &[&str],
) -> Option<usize> {
    let root = index.root();
    let lookup = index.lookup(0, reference, kind);
    if let Some(problem) = reference_problem(
        index,
        &lookup,
        reference,
        kind,
        root.display_path(origin),
        root.locate(origin, fields),
    ) {
        diagnostics.push(problem);
    }
    match lookup {
        Lookup::Found(found) => Some(found),
        _ => None,
    }
}

fn entities(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for (entity, item) in index
        .entities
        .iter()
        .enumerate()
        .filter(|(_, item)| item.pack == 0)
    {
        let located = item.located;
        let origin = &located.origin;
        let file = root.display_path(origin);
        let resolved = &index.resolved[entity];
        let parent = located.item.parent.as_deref().and_then(|parent| {
            resolve_reference(
                index,
                diagnostics,
                parent,
                ItemKind::Entity,
                origin,
                &["parent"],
            )
        });
        if let Some(replaced_by) = &located.item.replaced_by {
            resolve_reference(
                index,
                diagnostics,
                replaced_by,
                ItemKind::Entity,
                origin,
                &["replaced-by"],
            );
        }
        if resolved.in_cycle {
            let chain: Vec<&str> = std::iter::once(entity)
                .chain(
                    index
                        .ancestors(entity)
                        .take_while(|member| *member != entity),
                )
                .chain(std::iter::once(entity))
                .map(|member| index.entities[member].located.item.id.as_str())
                .collect();
            diagnostics.push(
                Diagnostic::new(Code::ParentCycle, format!("`{}` is its own ancestor", located.item.id))
                    .at(file, root.locate(origin, &["parent"]), format!("cycle: {}", chain.join(" → ")))
                    .help("an entity refines a more general one; remove the `parent` that closes the loop"),
            );
            continue;
        }
        match (located.item.kind, parent.and_then(|parent| index.resolved[parent].kind)) {
            (None, None) if located.item.parent.is_none() => diagnostics.push(
                Diagnostic::new(Code::KindMismatch, format!("entity `{}` has no kind", located.item.id))
                    .at(file, root.locate_key(origin, &["id"]), "no `kind` and no `parent`")
                    .help("add `kind = \"process\"` (or data-store, external-interactor, data-flow, trust-boundary), or a `parent` to inherit it from"),
            ),
            (Some(own), Some(inherited)) if own != inherited => {
                let parent_name = located.item.parent.as_deref().unwrap_or_default();
                diagnostics.push(
                    Diagnostic::new(
                        Code::KindMismatch,
                        format!("`{}` is a {} but its parent `{parent_name}` is a {}", located.item.id, own.as_str(), inherited.as_str()),
                    )
                    .at(file, root.locate(origin, &["kind"]), format!("the parent is a {}", inherited.as_str()))
                    .help("an entity has its parent's kind: remove `kind`, or choose another parent"),
                );
            }
            _ => {}
        }
        // Properties: defaults fit, ranges are sane, redeclarations keep the type.
        let no_properties = crate::condition::PropertySet::new();
        let inherited = resolved
            .parent
            .map_or(&no_properties, |parent| &index.resolved[parent].properties);
        for (name, definition) in &located.item.properties {
            let at = PropertyAt {
                origin,
                fields: &["properties", name],
                name,
            };
            property_definition(root, &at, definition, diagnostics);
            if let Some(inherited_property) = inherited.get(name.as_str()) {
                let ancestor_id = &index.entities[inherited_property.declared_by]
                    .located
                    .item
                    .id;
                diagnostics.extend(redeclared_type(
                    root,
                    &at,
                    definition,
                    inherited_property.definition,
                    &format!("`{ancestor_id}`"),
                    "type differs from the inherited one",
                    "a child may redeclare an inherited property to change its default or question, never its type; rename it",
                ));
            }
        }
    }
}

/// Where a property definition is written: the item's origin, the fields leading to the
/// definition's table, and the property's name.
pub(crate) struct PropertyAt<'a> {
    pub origin: &'a Origin,
    pub fields: &'a [&'a str],
    pub name: &'a str,
}

impl PropertyAt<'_> {
    /// The span of a field of the definition (`default`, `min`, `type`).
    fn locate(&self, root: &ParsedPack, field: &str) -> std::ops::Range<usize> {
        let mut fields = self.fields.to_vec();
        fields.push(field);
        root.locate(self.origin, &fields)
    }
}

/// Checks a property definition (of an entity or of the system): the default fits the type,
/// `values` and range, and `min` is not above `max`.
pub(crate) fn property_definition(
    root: &ParsedPack,
    at: &PropertyAt<'_>,
    definition: &PropertyDefinition,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let file = root.display_path(at.origin);
    let name = at.name;
    if let Err(problem) = value_fits(definition, &definition.default) {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidProperty,
                format!("the default of `{name}` does not fit its type"),
            )
            .at(file, at.locate(root, "default"), problem)
            .help("give a default the property can take"),
        );
    }
    if let (Some(min), Some(max)) = (definition.min, definition.max)
        && min > max
    {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidProperty,
                format!("`{name}` has `min` {min} above `max` {max}"),
            )
            .at(file, at.locate(root, "min"), "larger than `max`")
            .help("swap them"),
        );
    }
}

/// `invalid-property` when a redeclaration changes the type of the property it redeclares,
/// which `original_owner` (quoted) declares.
pub(crate) fn redeclared_type(
    root: &ParsedPack,
    at: &PropertyAt<'_>,
    definition: &PropertyDefinition,
    original: &PropertyDefinition,
    original_owner: &str,
    label: &str,
    help: &str,
) -> Option<Diagnostic> {
    if original.property_type == definition.property_type {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::InvalidProperty,
            format!(
                "`{}` is redeclared as {} but {original_owner} declares it as {}",
                at.name,
                definition.property_type.as_str(),
                original.property_type.as_str()
            ),
        )
        .at(root.display_path(at.origin), at.locate(root, "type"), label)
        .help(help),
    )
}

fn attack_patterns(index: &Index<'_>, facts: &mut Facts, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for item in index.attack_patterns.iter().filter(|item| item.pack == 0) {
        let located = item.located;
        let origin = &located.origin;
        // A condition is checked against the entities that resolve; the others are reported.
        let mut subjects = Vec::new();
        for (position, reference) in located.item.applies_to.iter().enumerate() {
            let position = position.to_string();
            subjects.extend(resolve_reference(
                index,
                diagnostics,
                reference,
                ItemKind::Entity,
                origin,
                &["applies-to", &position],
            ));
        }
        if let Some(replaced_by) = &located.item.replaced_by {
            resolve_reference(
                index,
                diagnostics,
                replaced_by,
                ItemKind::AttackPattern,
                origin,
                &["replaced-by"],
            );
        }
        diagnostics.extend(tier_problem(
            root,
            located.item.tier.as_deref(),
            origin,
            &["tier"],
        ));
        if let Some(condition) = &located.item.condition {
            conditions::check(
                index,
                facts,
                diagnostics,
                condition,
                origin,
                &["condition"],
                Subjects::Elements(&subjects),
            );
        }
    }
}

fn mitigations(index: &Index<'_>, facts: &mut Facts, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for item in index.mitigations.iter().filter(|item| item.pack == 0) {
        let located = item.located;
        let origin = &located.origin;
        let file = root.display_path(origin);
        if let Some(replaced_by) = &located.item.replaced_by {
            resolve_reference(
                index,
                diagnostics,
                replaced_by,
                ItemKind::Mitigation,
                origin,
                &["replaced-by"],
            );
        }
        diagnostics.extend(tier_problem(
            root,
            located.item.tier.as_deref(),
            origin,
            &["tier"],
        ));
        let mut linked: HashMap<usize, usize> = HashMap::new();
        for (position, address) in located.item.addresses.iter().enumerate() {
            let position_text = position.to_string();
            let fields = ["addresses", position_text.as_str()];
            diagnostics.extend(tier_problem(
                root,
                address.tier.as_deref(),
                origin,
                &["addresses", &position_text, "tier"],
            ));
            let Some(attack_pattern) = resolve_reference(
                index,
                diagnostics,
                &address.attack_pattern,
                ItemKind::AttackPattern,
                origin,
                &["addresses", &position_text, "attack-pattern"],
            ) else {
                continue;
            };
            if let Some(first) = linked.insert(attack_pattern, position) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateLink,
                        format!("`{}` addresses `{}` twice", located.item.id, address.attack_pattern),
                    )
                    .at(file, root.locate(origin, &["addresses", &position_text, "attack-pattern"]), "second link")
                    .also(file, root.locate(origin, &["addresses", &first.to_string(), "attack-pattern"]), "first link")
                    .help("keep one link per attack pattern; a link has one strength, tier and condition"),
                );
            }
            if let Some(condition) = &address.condition {
                let subjects = index.applies_to(attack_pattern);
                conditions::check(
                    index,
                    facts,
                    diagnostics,
                    condition,
                    origin,
                    &[fields[0], fields[1], "condition"],
                    Subjects::Elements(&subjects),
                );
            }
        }
    }
}
