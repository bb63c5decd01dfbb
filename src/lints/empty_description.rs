//! `empty-description`: an empty (or blank) description of the pack, an entity, a property (of
//! an entity or of the system), an attack pattern, a mitigation or a monitoring event.
//!
//! Why: the description is what a developer reads when the threat lands in their backlog; an
//! empty one turns the finding into a name they must look up elsewhere.
//!
//! ```toml
//! description = ""   # warning: empty description
//! ```

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::parse::Origin;

pub(crate) fn lint(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let mut check = |text: &str, what: String, origin: &Origin, fields: &[&str]| {
        if text.trim().is_empty() {
            diagnostics.push(
                Diagnostic::new(
                    Code::EmptyDescription,
                    format!("{what} has an empty description"),
                )
                .at(
                    root.display_path(origin),
                    root.locate(origin, fields),
                    "empty",
                )
                .help("say what it is and why it matters, in a sentence or two"),
            );
        }
    };
    if let Some(manifest) = &root.manifest {
        check(
            &manifest.item.pack.description,
            "the pack".to_string(),
            &manifest.origin,
            &["pack", "description"],
        );
    }
    for property in &root.system_properties {
        check(
            &property.item.definition.description,
            format!("system property `{}`", property.item.name),
            &property.origin,
            &["description"],
        );
    }
    for item in &root.entities {
        check(
            &item.item.description,
            format!("entity `{}`", item.item.id),
            &item.origin,
            &["description"],
        );
        for (name, property) in &item.item.properties {
            check(
                &property.description,
                format!("property `{name}`"),
                &item.origin,
                &["properties", name, "description"],
            );
        }
    }
    for item in &root.attack_patterns {
        check(
            &item.item.description,
            format!("attack pattern `{}`", item.item.id),
            &item.origin,
            &["description"],
        );
    }
    for item in &root.mitigations {
        check(
            &item.item.description,
            format!("mitigation `{}`", item.item.id),
            &item.origin,
            &["description"],
        );
        for (position, event) in item.item.events.iter().enumerate() {
            check(
                &event.description,
                format!("event `{}`", event.id),
                &item.origin,
                &["events", &position.to_string(), "description"],
            );
        }
    }
}
