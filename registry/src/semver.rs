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
        // A bundle of one tier compared with one of another would list every item outside
        // the smaller one as a change: no decision is better than a wrong one.
        return Ok(SemverDecision {
            allowed_violation: None,
            baseline: baseline.version.to_string(),
            declared: None,
            note: Some(format!(
                "not compared: the baseline is built for tier {}, this version for tier {}",
                baseline.kb.tier.as_deref().unwrap_or("all"),
                new_kb.tier.as_deref().unwrap_or("all")
            )),
            required: None,
        });
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
