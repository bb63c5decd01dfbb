//! Checks of `[system]` in `pack.toml`: system properties are defined like entity properties
//! (and a redeclaration of a dependency's keeps its type); tier rules name a tier of the pack
//! and read only `system`.

use std::collections::BTreeMap;

use crate::check::conditions::{self, Subjects};
use crate::check::items::{PropertyAt, property_definition, redeclared_type};
use crate::check::tier_problem;
use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::lints::Facts;
use crate::model::PropertyType;

pub(crate) fn check(index: &Index<'_>, facts: &mut Facts, diagnostics: &mut Vec<Diagnostic>) {
    properties(index, diagnostics);
    dependencies_agree(index, diagnostics);
    let root = index.root();
    for rule in &root.tier_rules {
        diagnostics.extend(tier_problem(
            root,
            Some(&rule.item.tier),
            &rule.origin,
            &["tier"],
        ));
        conditions::check(
            index,
            facts,
            diagnostics,
            &rule.item.when,
            &rule.origin,
            &["when"],
            Subjects::System,
        );
    }
}

/// The root's system properties: definitions that hold, and the dependencies' types kept.
fn properties(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for property in &root.system_properties {
        let at = PropertyAt {
            origin: &property.origin,
            fields: &[],
            name: &property.item.name,
        };
        property_definition(root, &at, &property.item.definition, diagnostics);
        // Against every dependency declaring it: each one's conditions read it with its type.
        for pack in index.graph.packs.iter().skip(1) {
            let Some(theirs) = pack
                .system_properties
                .iter()
                .find(|theirs| theirs.item.name == property.item.name)
            else {
                continue;
            };
            let owner = format!("`{}`", pack.name().unwrap_or("a dependency"));
            if let Some(problem) = redeclared_type(
                root,
                &at,
                &property.item.definition,
                &theirs.item.definition,
                &owner,
                "type differs from the dependency's",
                "a pack may redeclare a dependency's system property to change its default or question, never its type; rename it",
            ) {
                diagnostics.push(problem);
                break;
            }
        }
    }
}

/// Two dependencies declaring one system property with different types, which the root does
/// not redeclare (when it does, `properties` reports each disagreement on its declaration).
fn dependencies_agree(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let Some(manifest) = &root.manifest else {
        return;
    };
    let mut first: BTreeMap<&str, (&str, PropertyType)> = BTreeMap::new();
    let mut reported = std::collections::BTreeSet::new();
    for pack in index.graph.dependency_order() {
        let parsed = index.pack(pack);
        if pack == 0 {
            continue;
        }
        for property in &parsed.system_properties {
            let name = property.item.name.as_str();
            let property_type = property.item.definition.property_type;
            let pack_name = parsed.name().unwrap_or("a dependency");
            let (first_pack, first_type) = *first.entry(name).or_insert((pack_name, property_type));
            let redeclared_by_root = root
                .system_properties
                .iter()
                .any(|own| own.item.name == name);
            if first_type == property_type || redeclared_by_root || !reported.insert(name) {
                continue;
            }
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidProperty,
                    format!(
                        "the system property `{name}` is {} in `{first_pack}` but {} in `{pack_name}`",
                        first_type.as_str(),
                        property_type.as_str()
                    ),
                )
                .at(
                    root.display_path(&manifest.origin),
                    root.locate_key(&manifest.origin, &["dependencies"]),
                    "these dependencies disagree",
                )
                .help("conditions read a system property with one type: the two packs cannot be used together until one renames it"),
            );
        }
    }
}
