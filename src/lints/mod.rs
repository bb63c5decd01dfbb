//! Lints: warnings about packs that are valid but probably not what the author meant.
//! One lint per file, each with its documentation and its fixture in `tests/fixtures/check/`.
//! `--deny warnings` turns them into errors.

mod constant_condition;
mod deprecated_reference;
mod empty_description;
mod ineffective_link_tier;
mod top_without_top_mitigation;
mod unknown_file;
mod unmitigated_attack_pattern;
mod unused_mitigation;
mod unused_property;

use std::collections::BTreeSet;

use crate::diagnostic::Diagnostic;
use crate::index::{Index, Lookup};
use crate::names::ItemKind;
use crate::parse::Origin;

/// Facts gathered by the checks that the lints need.
#[derive(Debug)]
pub struct Facts {
    /// Conditions proven constant: where, and their value.
    pub constant_conditions: Vec<(Origin, Vec<String>, bool)>,
    /// Properties read by some condition of the root pack: (declaring entity, name).
    pub property_reads: BTreeSet<(usize, String)>,
    /// False when some condition could not be parsed: its reads are unknown.
    pub all_reads_known: bool,
}

/// Runs every lint on the root pack of the index.
pub fn run(index: &Index<'_>, facts: &Facts) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    // Lints about the pack as a whole would guess when some of its files could not be read.
    if index.root().complete {
        // A mitigation that broke its schema was reported: an attack pattern it may address
        // is not "unmitigated" (nor without a TOP mitigation).
        let failed_links = index.root().unparsed_addresses.as_ref().map(|addresses| {
            addresses
                .iter()
                .filter_map(
                    |reference| match index.lookup(0, reference, ItemKind::AttackPattern) {
                        Lookup::Found(attack_pattern) => Some(attack_pattern),
                        _ => None,
                    },
                )
                .collect::<BTreeSet<usize>>()
        });
        let links = root_links(index);
        if let Some(failed_links) = &failed_links {
            unmitigated_attack_pattern::lint(index, &links, failed_links, &mut diagnostics);
            top_without_top_mitigation::lint(index, &links, failed_links, &mut diagnostics);
        }
        unused_mitigation::lint(index, &mut diagnostics);
        // An attack pattern or mitigation that broke its schema was reported; a condition
        // in it may read any property.
        let conditions_all_parsed = !index
            .root()
            .unparsed_ids
            .iter()
            .any(|(kind, _)| *kind != ItemKind::Entity);
        if facts.all_reads_known && conditions_all_parsed {
            unused_property::lint(index, facts, &mut diagnostics);
        }
    }
    deprecated_reference::lint(index, &mut diagnostics);
    constant_condition::lint(index, facts, &mut diagnostics);
    empty_description::lint(index, &mut diagnostics);
    ineffective_link_tier::lint(index, &mut diagnostics);
    unknown_file::lint(index, &mut diagnostics);
    diagnostics
}

/// A link of the root pack: its mitigation, its attack pattern and its effective tier rank.
pub(crate) struct RootLink {
    pub mitigation: usize,
    pub attack_pattern: usize,
    /// Index into the root pack's tiers: the largest of the link's own tier and its two ends'.
    pub tier_rank: usize,
}

/// Every resolvable link written in the root pack's mitigations.
pub(crate) fn root_links(index: &Index<'_>) -> Vec<RootLink> {
    let root = index.root();
    let rank = |tier: Option<&str>| root.tier_rank(tier);
    let mut links = Vec::new();
    for (mitigation, item) in index
        .mitigations
        .iter()
        .enumerate()
        .filter(|(_, item)| item.pack == 0)
    {
        for address in &item.located.item.addresses {
            if let Lookup::Found(attack_pattern) =
                index.lookup(0, &address.attack_pattern, ItemKind::AttackPattern)
            {
                let attack_pattern_item = &index.attack_patterns[attack_pattern];
                let attack_pattern_rank = if attack_pattern_item.pack == 0 {
                    rank(attack_pattern_item.located.item.tier.as_deref())
                } else {
                    0
                };
                // An omitted link tier adds nothing: the link is in whenever both ends are.
                let own_rank = address.tier.as_deref().map_or(0, |tier| rank(Some(tier)));
                let tier_rank = own_rank
                    .max(rank(item.located.item.tier.as_deref()))
                    .max(attack_pattern_rank);
                links.push(RootLink {
                    mitigation,
                    attack_pattern,
                    tier_rank,
                });
            }
        }
    }
    links
}
