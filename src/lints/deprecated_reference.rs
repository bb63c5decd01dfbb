//! `deprecated-reference`: a reference to a deprecated entity, attack pattern or mitigation.
//!
//! Why: deprecated items stay in a pack so that consumers keep working, but they will be removed
//! in a later major version; new references to them make that removal a breaking change for
//! you. The warning names the replacement when the item declares `replaced-by` (qualified when
//! the item is in a dependency, since its `replaced-by` is relative to that pack). An item is
//! deprecated by its own `status`, or by an override that sets `status = "deprecated"` (the
//! root pack's, or a dependency's). Every reference is checked: `parent`, `applies-to`, links
//! (`addresses`, an override's `add-addresses`), override targets (both ends of a link target),
//! and the kinds of test models. References made by items that are themselves deprecated, and
//! overrides that deprecate or disable their target, are not reported.
//!
//! ```toml
//! [[attack-pattern]]
//! applies-to = ["legacy-api"]   # warning: `legacy-api` is deprecated; use `web-api`
//! ```

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Index, Lookup, ResolvedTarget, TargetLookup};
use crate::model::Status;
use crate::names::{ItemKind, Target, parse_target};
use crate::parse::Origin;

/// Why an item is deprecated, as the root pack sees it.
enum Deprecation {
    /// Its own `status`, and the replacement it names, as the root pack would write it.
    Declared(Option<String>),
    /// An override of this pack (`display` is where it is written when it is the root's).
    Overridden {
        pack: String,
        display: Option<String>,
    },
}

pub(crate) fn lint(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let overridden = overridden_status(index);
    let mut report = |reference: &str, kind: ItemKind, origin: &Origin, fields: &[&str]| {
        let Lookup::Found(found) = index.lookup(0, reference, kind) else {
            return;
        };
        let Some(deprecation) = deprecation(index, &overridden, kind, found) else {
            return;
        };
        let help = match deprecation {
            Deprecation::Declared(Some(replacement)) => format!("use `{replacement}` instead"),
            Deprecation::Declared(None) => {
                "stop referencing it; it will be removed in a future major version".to_string()
            }
            Deprecation::Overridden {
                display: Some(display),
                ..
            } => format!(
                "your override in `{display}` deprecates it: stop referencing it, or drop the override's `status`"
            ),
            Deprecation::Overridden { pack, .. } => format!(
                "an override of `{pack}` deprecates it, without naming a replacement: stop referencing it"
            ),
        };
        diagnostics.push(
            Diagnostic::new(
                Code::DeprecatedReference,
                format!("`{reference}` is deprecated"),
            )
            .at(
                root.display_path(origin),
                root.locate(origin, fields),
                "deprecated",
            )
            .help(help),
        );
    };
    for item in &root.entities {
        if item.item.status == Status::Deprecated {
            continue;
        }
        if let Some(parent) = &item.item.parent {
            report(parent, ItemKind::Entity, &item.origin, &["parent"]);
        }
    }
    for item in &root.attack_patterns {
        if item.item.status == Status::Deprecated {
            continue;
        }
        for (position, entity) in item.item.applies_to.iter().enumerate() {
            report(
                entity,
                ItemKind::Entity,
                &item.origin,
                &["applies-to", &position.to_string()],
            );
        }
    }
    for item in &root.mitigations {
        if item.item.status == Status::Deprecated {
            continue;
        }
        for (position, address) in item.item.addresses.iter().enumerate() {
            report(
                &address.attack_pattern,
                ItemKind::AttackPattern,
                &item.origin,
                &["addresses", &position.to_string(), "attack-pattern"],
            );
        }
    }
    for item in &root.overrides {
        // Deprecating or disabling a deprecated item is the point, not a mistake.
        let settles_it = item.item.status.is_some() || item.item.disable.is_some();
        match parse_target(&item.item.target) {
            Some(Target::Item { pack, kind, id }) if !settles_it => report(
                &format!("{pack}:{}/{id}", kind.as_str()),
                kind,
                &item.origin,
                &["target"],
            ),
            Some(Target::Link {
                pack,
                mitigation,
                attack_pattern,
            }) if item.item.disable.is_none() => {
                report(
                    &format!("{pack}:mitigation/{mitigation}"),
                    ItemKind::Mitigation,
                    &item.origin,
                    &["target"],
                );
                // The attack pattern of a link target is one of the mitigation's links: it
                // may live in yet another pack, so it is found through the mitigation.
                if let TargetLookup::Found(ResolvedTarget::Link {
                    attack_pattern: linked,
                    ..
                }) = index.resolve_target(0, &item.item.target)
                {
                    let linked = &index.attack_patterns[linked];
                    let name = index.pack(linked.pack).name().unwrap_or(pack);
                    report(
                        &format!("{name}:attack-pattern/{attack_pattern}"),
                        ItemKind::AttackPattern,
                        &item.origin,
                        &["target"],
                    );
                }
            }
            _ => {}
        }
        for (position, address) in item.item.add_addresses.iter().enumerate() {
            report(
                &address.attack_pattern,
                ItemKind::AttackPattern,
                &item.origin,
                &["add-addresses", &position.to_string(), "attack-pattern"],
            );
        }
    }
    for test in &root.tests {
        for (position, component) in test.item.model.component.iter().enumerate() {
            report(
                &component.kind,
                ItemKind::Entity,
                &test.origin,
                &["component", &position.to_string(), "kind"],
            );
        }
        for (position, flow) in test.item.model.flow.iter().enumerate() {
            report(
                &flow.kind,
                ItemKind::Entity,
                &test.origin,
                &["flow", &position.to_string(), "kind"],
            );
        }
    }
}

/// Whether an item is deprecated, and how.
fn deprecation(
    index: &Index<'_>,
    overridden: &HashMap<(ItemKind, usize), (usize, Status, Origin)>,
    kind: ItemKind,
    found: usize,
) -> Option<Deprecation> {
    if let Some((pack, status, origin)) = overridden.get(&(kind, found)) {
        return (*status == Status::Deprecated).then(|| {
            let parsed = index.pack(*pack);
            Deprecation::Overridden {
                pack: parsed.name().unwrap_or("?").to_string(),
                display: (*pack == 0).then(|| parsed.display_path(origin).to_string()),
            }
        });
    }
    let replacement = index.deprecation(kind, found)?;
    let item_pack = item_pack(index, kind, found);
    Some(Deprecation::Declared(replacement.map(
        |replacement| match index.lookup(item_pack, replacement, kind) {
            Lookup::Found(replaced) => as_root_writes(index, kind, replaced),
            _ => replacement.to_string(),
        },
    )))
}

fn item_pack(index: &Index<'_>, kind: ItemKind, found: usize) -> usize {
    match kind {
        ItemKind::Entity => index.entities[found].pack,
        ItemKind::AttackPattern => index.attack_patterns[found].pack,
        ItemKind::Mitigation => index.mitigations[found].pack,
    }
}

/// A reference to an item as the root pack writes it: its id when it is the root's own,
/// qualified otherwise.
fn as_root_writes(index: &Index<'_>, kind: ItemKind, found: usize) -> String {
    let (pack, id) = match kind {
        ItemKind::Entity => {
            let item = &index.entities[found];
            (item.pack, &item.located.item.id)
        }
        ItemKind::AttackPattern => {
            let item = &index.attack_patterns[found];
            (item.pack, &item.located.item.id)
        }
        ItemKind::Mitigation => {
            let item = &index.mitigations[found];
            (item.pack, &item.located.item.id)
        }
    };
    if pack == 0 {
        id.clone()
    } else {
        format!(
            "{}:{}/{id}",
            index.pack(pack).name().unwrap_or("?"),
            kind.as_str()
        )
    }
}

/// The status overrides set, by target: the root pack's override wins (it is applied last);
/// otherwise a dependency's that deprecates (unrelated packs that disagree are an
/// `override-conflict` already).
fn overridden_status(index: &Index<'_>) -> HashMap<(ItemKind, usize), (usize, Status, Origin)> {
    let mut overridden: HashMap<(ItemKind, usize), (usize, Status, Origin)> = HashMap::new();
    for (pack, parsed) in index.graph.packs.iter().enumerate() {
        for located in &parsed.overrides {
            let Some(status) = located.item.status else {
                continue;
            };
            let TargetLookup::Found(ResolvedTarget::Item(kind, found)) =
                index.resolve_target(pack, &located.item.target)
            else {
                continue;
            };
            let entry = (pack, status, located.origin.clone());
            match overridden.get(&(kind, found)) {
                Some((0, _, _)) => {}
                Some((_, Status::Deprecated, _)) if pack != 0 => {}
                _ => {
                    overridden.insert((kind, found), entry);
                }
            }
        }
    }
    overridden
}
