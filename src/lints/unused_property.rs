//! `unused-property`: an entity property that no condition of the pack reads.
//!
//! Why: every property is a question a threat modeler must answer. A question whose answer
//! changes no threat and no mitigation wastes the modeler's time and suggests a condition is
//! missing (or reads a misspelled property). Properties declared on a parent count as read when
//! a condition reads them through any descendant, and a child's redeclaration counts as read
//! when the parent's property is.
//!
//! ```toml
//! [entity.properties.uses_cdn]   # warning: no condition reads `uses_cdn`
//! ```

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::lints::Facts;

pub(crate) fn lint(index: &Index<'_>, facts: &Facts, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for (entity, item) in index
        .entities
        .iter()
        .enumerate()
        .filter(|(_, item)| item.pack == 0)
    {
        let located = item.located;
        let ancestors: Vec<usize> = index.ancestors(entity).collect();
        for name in located.item.properties.keys() {
            // A redeclaration (a new default for a child) is read whenever the inherited
            // property is: conditions on the parent read the child's value.
            let read = std::iter::once(&entity)
                .chain(&ancestors)
                .any(|declaring| facts.property_reads.contains(&(*declaring, name.clone())));
            if read {
                continue;
            }
            diagnostics.push(
                Diagnostic::new(Code::UnusedProperty, format!("no condition reads `{name}` of `{}`", located.item.id))
                    .at(root.display_path(&located.origin), root.locate_key(&located.origin, &["properties", name]), "unused property")
                    .help(format!("use it in a condition (`self.{name}`), or remove it so modelers are not asked for it")),
            );
        }
    }
}
