//! `ineffective-link-tier`: a link whose own `tier` is smaller than the tier of its attack
//! pattern or its mitigation.
//!
//! Why: a link's effective tier is the largest of its own, its attack pattern's and its
//! mitigation's (a link is only selected when both ends are), so a smaller `tier` on the link
//! does nothing. The author usually meant to put the mitigation itself in that tier.
//!
//! ```toml
//! [[mitigation]]
//! id = "waf"              # tier: standard
//! [[mitigation.addresses]]
//! attack-pattern = "sql-injection"
//! tier = "top"            # warning: the link stays `standard`
//! ```

use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Index, Lookup};
use crate::names::ItemKind;

pub(crate) fn lint(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let tiers = root.tiers();
    for item in index.mitigations.iter().filter(|item| item.pack == 0) {
        let located = item.located;
        let mitigation_rank = root.tier_rank(located.item.tier.as_deref());
        for (position, address) in located.item.addresses.iter().enumerate() {
            let Some(own) = address.tier.as_deref() else {
                continue;
            };
            let own_rank = root.tier_rank(Some(own));
            let attack_pattern_rank =
                match index.lookup(0, &address.attack_pattern, ItemKind::AttackPattern) {
                    Lookup::Found(found) if index.attack_patterns[found].pack == 0 => {
                        root.tier_rank(index.attack_patterns[found].located.item.tier.as_deref())
                    }
                    _ => 0,
                };
            let (effective, reason) = if mitigation_rank >= attack_pattern_rank {
                (
                    mitigation_rank,
                    format!("the mitigation `{}`", located.item.id),
                )
            } else {
                (
                    attack_pattern_rank,
                    format!("the attack pattern `{}`", address.attack_pattern),
                )
            };
            if own_rank >= effective || tiers.get(effective).is_none() {
                continue;
            }
            let position = position.to_string();
            diagnostics.push(
                Diagnostic::new(
                    Code::IneffectiveLinkTier,
                    format!("this link stays in `{}`: {reason} is there", tiers[effective]),
                )
                .at(root.display_path(&located.origin), root.locate(&located.origin, &["addresses", &position, "tier"]), "has no effect")
                .help(format!(
                    "a link is selected only with both its ends; move {reason} to `{own}`, or remove the link's `tier`"
                )),
            );
        }
    }
}
