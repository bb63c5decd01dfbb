//! `unmitigated-attack-pattern`: an attack pattern that no mitigation of the pack addresses.
//!
//! Why: a team that finds this threat gets no advice on what to do about it, which is the part
//! of a knowledge base that saves the most time. Either link a mitigation (`addresses` in a
//! `[[mitigation]]`) or, if the pattern is informational, say so in a mitigation of its own.
//!
//! ```toml
//! [[attack-pattern]]
//! id = "log-injection"   # warning: no mitigation addresses `log-injection`
//! ```

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::lints::RootLink;
use crate::model::Status;

/// `failed_links`: attack patterns a mitigation that broke its schema addresses (not reported).
pub(crate) fn lint(
    index: &Index<'_>,
    links: &[RootLink],
    failed_links: &std::collections::BTreeSet<usize>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let root = index.root();
    let addressed: BTreeSet<usize> = links.iter().map(|link| link.attack_pattern).collect();
    for (attack_pattern, item) in index
        .attack_patterns
        .iter()
        .enumerate()
        .filter(|(_, item)| item.pack == 0)
    {
        let located = item.located;
        if failed_links.contains(&attack_pattern) {
            continue;
        }
        if addressed.contains(&attack_pattern) || located.item.status == Status::Deprecated {
            continue;
        }
        diagnostics.push(
            Diagnostic::new(
                Code::UnmitigatedAttackPattern,
                format!("no mitigation addresses `{}`", located.item.id),
            )
            .at(
                root.display_path(&located.origin),
                root.locate(&located.origin, &["id"]),
                "unmitigated",
            )
            .help(format!(
                "add `[[mitigation.addresses]]` with `attack-pattern = \"{}\"` to a mitigation",
                located.item.id
            )),
        );
    }
}
