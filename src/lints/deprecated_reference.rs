//! `deprecated-reference`: a reference to a deprecated entity, attack pattern or mitigation.
//!
//! Why: deprecated items stay in a pack so that consumers keep working, but they will be removed
//! in a later major version; new references to them make that removal a breaking change for
//! you. The warning names the replacement when the item declares `replaced-by`. References made
//! by items that are themselves deprecated are not reported.
//!
//! ```toml
//! [[attack-pattern]]
//! applies-to = ["legacy-api"]   # warning: `legacy-api` is deprecated; use `web-api`
//! ```

use crate::check::{Index, Lookup};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Status;
use crate::names::{ItemKind, Target, parse_target};
use crate::parse::Origin;

pub(crate) fn lint(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let mut report = |reference: &str, kind: ItemKind, origin: &Origin, fields: &[&str]| {
        let Lookup::Found(found) = index.lookup(0, reference, kind) else {
            return;
        };
        let Some(replacement) = index.deprecation(kind, found) else {
            return;
        };
        let help = match replacement {
            Some(replacement) => format!("use `{replacement}` instead"),
            None => "stop referencing it; it will be removed in a future major version".to_string(),
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
        if let Some(Target::Item { pack, kind, id }) = parse_target(&item.item.target) {
            // Deprecating or disabling a deprecated item is the point, not a mistake.
            if item.item.status.is_none() && item.item.disable.is_none() {
                report(
                    &format!("{pack}:{}/{id}", kind.as_str()),
                    kind,
                    &item.origin,
                    &["target"],
                );
            }
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
