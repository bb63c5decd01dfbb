//! The semantic-versioning gate of publish: a new version is compared with its baseline — the
//! highest published version below it (docs/versioning.md) — and refused when it is bumped less
//! than its changes require, unless the publisher states why (recorded in the audit log).
//! What was decided is stored with the version and shown in the index.

use semver::Version;
use threatpack::compile::KnowledgeBase;
use threatpack::versioning::render::reason_line;
use threatpack::versioning::{Bump, check_version, diff, required_bump};
use threatpack::wire::SemverDecision;

/// The header through which a publisher accepts an under-bumped version, with the reason.
pub const ALLOW_HEADER: &str = threatpack::wire::ALLOW_SEMVER_VIOLATION_HEADER;

/// How many reasons a refusal lists (the rest are counted).
const LISTED_REASONS: usize = 20;

/// The published version a new one is compared with.
pub struct Baseline {
    pub version: Version,
    pub kb: KnowledgeBase,
}

/// The tier a bundle was built for, as messages name it (`all`: the whole pack).
pub fn tier_name(tier: Option<&str>) -> &str {
    tier.unwrap_or("all")
}

/// A version built for a tier no published version of the pack has: nothing to compare it
/// with, and a consumer whose requirement matched the other tier's versions must not be handed
/// this one unawares. Refused, unless the publisher allows it (`allow`), which is recorded as a
/// violation with the reason. `nearest` is the published version it sits next to (the highest
/// below, else the lowest), of any tier.
pub fn new_tier(
    pack: &str,
    declared: &Version,
    tier: Option<&str>,
    published: &[threatpack::wire::IndexVersion],
    nearest: Option<Version>,
    allow: Option<&str>,
) -> Result<SemverDecision, String> {
    let mut tiers: Vec<&str> = published
        .iter()
        .map(|record| tier_name(record.tier.as_deref()))
        .collect();
    tiers.sort_unstable();
    tiers.dedup();
    let note = format!(
        "built for tier {}, which no earlier version has (published tiers: {}); not compared",
        tier_name(tier),
        tiers.join(", ")
    );
    match allow.map(str::trim).filter(|reason| !reason.is_empty()) {
        Some(reason) => Ok(SemverDecision {
            allowed_violation: Some(reason.to_string()),
            baseline: nearest
                .map(|version| version.to_string())
                .unwrap_or_default(),
            declared: None,
            note: Some(note),
            required: None,
        }),
        None => Err(format!(
            "`{pack}` {declared} is {note}: the semver gate compares versions of one tier, and consumers choose a tier (`tier = \"{}\"` in a dependency), so a new tier is a decision, not a patch. Build it for tier {} like the published versions, or accept the new tier with a reason (`threatpack publish --allow-semver-violation REASON`, recorded in the audit log)",
            tier_name(tier),
            tiers.join(" or "),
        )),
    }
}

/// Compares `new_kb` (declared as `declared`) with the baseline. `Ok` holds the record to
/// store with the version; `Err` the refusal's detail.
pub fn gate(
    pack: &str,
    new_kb: &KnowledgeBase,
    declared: &Version,
    baseline: &Baseline,
    allow: Option<&str>,
) -> Result<SemverDecision, String> {
    if baseline.kb.tier != new_kb.tier {
        // The caller chooses a baseline of the same tier (`new_tier` when there is none): two
        // tiers compared would list every item outside the smaller one as a change.
        return Err(format!(
            "`{pack}` {declared} is built for tier {} and cannot be compared with {} (tier {})",
            tier_name(new_kb.tier.as_deref()),
            baseline.version,
            tier_name(baseline.kb.tier.as_deref())
        ));
    }
    let changes = diff(&baseline.kb, new_kb);
    let bump = required_bump(&changes);
    let check = check_version(&baseline.version, declared, bump.required);
    let mut decision = SemverDecision {
        allowed_violation: None,
        baseline: check.baseline.clone(),
        declared: check.permitted.map(Into::into),
        note: None,
        required: Some(bump.required.into()),
    };
    if check.ok {
        return Ok(decision);
    }
    if let Some(reason) = allow.map(str::trim).filter(|reason| !reason.is_empty()) {
        decision.allowed_violation = Some(reason.to_string());
        return Ok(decision);
    }
    // The reasons the declared bump does not cover.
    let permitted = check.permitted.unwrap_or(Bump::None);
    let uncovered: Vec<String> = bump
        .reasons
        .iter()
        .filter(|reason| reason.level > permitted)
        .map(|reason| format!("{}: {}", reason.level.as_str(), reason_line(reason)))
        .collect();
    let more = uncovered.len().saturating_sub(LISTED_REASONS);
    let mut reasons: Vec<String> = uncovered.into_iter().take(LISTED_REASONS).collect();
    if more > 0 {
        reasons.push(format!("and {more} more"));
    }
    Err(format!(
        "`{pack}` {declared} is under-bumped: the changes since {} need a {} bump (at least {}): {}. Publish it as {} or later (`threatpack semver-check` lists every change), or accept the violation with a reason (`threatpack publish --allow-semver-violation REASON`, recorded in the audit log)",
        check.baseline,
        bump.required.as_str(),
        check.minimum,
        reasons.join("; "),
        check.minimum,
    ))
}
