//! `top-without-top-mitigation`: an attack pattern in the first (TOP) tier whose links are all
//! in larger tiers.
//!
//! Why: a team taking the light TOP pass gets this threat but none of its mitigations, so the
//! pass reports a problem without a remedy. Give one of its links (or one of its mitigations)
//! the TOP tier. A link's effective tier is the largest of its own, its attack pattern's and its
//! mitigation's.
//!
//! ```toml
//! [[attack-pattern]]
//! id = "sql-injection"
//! tier = "top"           # warning: no TOP mitigation addresses `sql-injection`
//! ```

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::lints::RootLink;

/// `failed_links`: attack patterns a mitigation that broke its schema addresses (not reported).
pub(crate) fn lint(
    index: &Index<'_>,
    links: &[RootLink],
    failed_links: &std::collections::BTreeSet<usize>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let root = index.root();
    let tiers = root.tiers();
    if tiers.len() < 2 {
        return; // With one tier every link is TOP.
    }
    // Links grouped by attack pattern once, so the lint stays linear in the number of links.
    let mut links_by_attack_pattern: std::collections::HashMap<
        usize,
        Vec<&crate::lints::RootLink>,
    > = std::collections::HashMap::new();
    for link in links {
        links_by_attack_pattern
            .entry(link.attack_pattern)
            .or_default()
            .push(link);
    }
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
        if root.tier_rank(located.item.tier.as_deref()) != 0 {
            continue;
        }
        let Some(own_links) = links_by_attack_pattern.get(&attack_pattern) else {
            continue; // `unmitigated-attack-pattern` reports it.
        };
        if own_links.iter().any(|link| link.tier_rank == 0) {
            continue;
        }
        let mitigations: Vec<String> = own_links
            .iter()
            .map(|link| format!("`{}`", index.mitigations[link.mitigation].located.item.id))
            .collect();
        diagnostics.push(
            Diagnostic::new(
                Code::TopWithoutTopMitigation,
                format!(
                    "no `{}` mitigation addresses `{}`",
                    tiers[0], located.item.id
                ),
            )
            .at(
                root.display_path(&located.origin),
                root.locate(&located.origin, &["tier"]),
                format!("in the `{}` tier", tiers[0]),
            )
            .help(format!(
                "put one of the mitigations that address it ({}) in tier `{}`; a link is selected only with both its ends",
                mitigations.join(", "),
                tiers[0]
            )),
        );
    }
}
