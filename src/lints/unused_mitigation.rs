//! `unused-mitigation`: a mitigation that addresses no attack pattern.
//!
//! Why: mitigations reach teams only through the threats they address; one without links never
//! appears in a threat model or a backlog. Add `[[mitigation.addresses]]` entries, or remove it.
//!
//! ```toml
//! [[mitigation]]
//! id = "rate-limiting"   # warning: `rate-limiting` addresses no attack pattern
//! ```

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;

pub(crate) fn lint(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for item in index.mitigations.iter().filter(|item| item.pack == 0) {
        let located = item.located;
        if !located.item.addresses.is_empty() {
            continue;
        }
        diagnostics.push(
            Diagnostic::new(
                Code::UnusedMitigation,
                format!("`{}` addresses no attack pattern", located.item.id),
            )
            .at(
                root.display_path(&located.origin),
                root.locate(&located.origin, &["id"]),
                "never linked",
            )
            .help("add `[[mitigation.addresses]]` entries naming the attack patterns it counters"),
        );
    }
}
