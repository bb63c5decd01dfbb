//! The gate CI runs on a report: its rules (`--fail-on`, a policy file), a baseline to judge
//! only what is new, and the violations that make `apply` exit with 3. Pure: the caller reads
//! the policy and baseline files.

use std::collections::HashMap;

use serde::Deserialize;

use super::activities::{ActivityStatus, values_text};
use super::report::{Report, ThreatState};
use crate::model::Severity;

/// What the gate refuses (schema/policy.schema.json; docs/ci.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Policy {
    /// A residual risk at or above this level fails.
    #[serde(default)]
    pub fail_on: Option<Severity>,
    /// An unmitigated threat (nothing in place, planned or validly accepted) of the pack's
    /// first, smallest tier (`top` in stride-core) fails.
    #[serde(default)]
    pub no_unmitigated_top: bool,
    /// When the system handles personal data (`system.handles_personal_data`), the tier
    /// applied must be at least this one.
    #[serde(default)]
    pub min_tier_when_personal_data: Option<String>,
    /// A risk acceptance past its `until` date fails.
    #[serde(default)]
    pub no_expired_acceptance: bool,
    /// A security activity the results require and the model does not record done fails:
    /// `true` for every activity, or the ids of those that must be done when required.
    #[serde(default)]
    pub require_activities: RequireActivities,
}

/// `require-activities`: none, all, or the activities named (plain ids, `penetration-test`,
/// or qualified, `threatpack/stride-core:activity/penetration-test`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RequireActivities {
    All(bool),
    Only(Vec<String>),
}

impl Default for RequireActivities {
    fn default() -> Self {
        RequireActivities::All(false)
    }
}

impl RequireActivities {
    /// Whether the activity with this qualified id must be done when it is required.
    fn covers(&self, qualified: &str) -> bool {
        match self {
            RequireActivities::All(all) => *all,
            RequireActivities::Only(ids) => ids.iter().any(|id| {
                id == qualified
                    || qualified
                        .rsplit_once(":activity/")
                        .is_some_and(|(_, plain)| plain == id)
            }),
        }
    }
}

impl Policy {
    /// A policy file's text; errors name the file and line.
    pub fn parse(display: &str, text: &str) -> Result<Policy, String> {
        toml::from_str(text).map_err(|error| {
            format!(
                "{}\nhelp: see docs/ci.md#policy-files and schema/policy.schema.json",
                crate::source::toml_error(display, text, &error)
            )
        })
    }

    /// Whether any rule is set.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }
}

/// A threat's residual risk in a baseline report: what the gate compares with.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    residual: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct BaselineReport {
    threats: Vec<BaselineThreat>,
}

#[derive(Deserialize)]
struct BaselineThreat {
    id: String,
    residual: BaselineResidual,
}

#[derive(Deserialize)]
struct BaselineResidual {
    score: u32,
}

impl Baseline {
    /// The threats of a JSON report (any format version: only `threats[].id` and
    /// `threats[].residual.score` are read, other fields are skipped as they are read).
    pub fn read(display: &str, reader: impl std::io::Read) -> Result<Baseline, String> {
        let report: BaselineReport = serde_json::from_reader(std::io::BufReader::new(reader))
            .map_err(|error| {
                format!("`{display}` is not a threatpack JSON report: {error}\nhelp: give a report written by `apply --format json`")
            })?;
        Ok(Baseline {
            residual: report
                .threats
                .into_iter()
                .map(|threat| (threat.id, threat.residual.score))
                .collect(),
        })
    }

    /// Whether the threat is new since the baseline or its residual risk rose.
    fn is_worse(&self, id: &str, score: u32) -> bool {
        self.residual.get(id).is_none_or(|before| score > *before)
    }
}

/// What the gate needs beyond the report.
#[derive(Debug, Clone)]
pub struct GateContext<'a> {
    /// The pack's tiers, smallest first.
    pub tiers: &'a [String],
    /// Whether the system handles personal data (the model's fact or the pack's default).
    pub handles_personal_data: bool,
}

/// A rule the report breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The policy key (`fail-on`, `no-unmitigated-top`, ...).
    pub rule: &'static str,
    /// The threat, when the rule is about one.
    pub threat: Option<String>,
    pub message: String,
}

/// Every violation of `policy` in `report`. With a baseline, the threat rules `fail-on` and
/// `no-unmitigated-top` count only threats that are new or whose residual score rose; an
/// expired acceptance, the tier and an activity owed always count (they are decisions that
/// lapsed or work not done, not risks that were already known).
pub fn evaluate(
    report: &Report,
    policy: &Policy,
    baseline: Option<&Baseline>,
    context: &GateContext<'_>,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let top = context.tiers.first();
    for threat in &report.threats {
        let at = || format!("`{}` on `{}` ({})", threat.name, threat.element, threat.id);
        let new =
            baseline.is_none_or(|baseline| baseline.is_worse(&threat.id, threat.residual.score));
        if let (Some(level), Some(residual)) = (policy.fail_on, threat.residual.severity)
            && residual >= level
            && new
        {
            violations.push(Violation {
                rule: "fail-on",
                threat: Some(threat.id.clone()),
                message: format!(
                    "{}: residual risk {} (at or above {})",
                    at(),
                    name(residual),
                    name(level)
                ),
            });
        }
        if policy.no_unmitigated_top
            && threat.state == ThreatState::Unmitigated
            && top.is_some_and(|top| &threat.tier == top)
            && new
        {
            violations.push(Violation {
                rule: "no-unmitigated-top",
                threat: Some(threat.id.clone()),
                message: format!("{}: unmitigated threat of the `{}` tier", at(), threat.tier),
            });
        }
        if policy.no_expired_acceptance {
            for mitigation in &threat.mitigations {
                if let Some(acceptance) = &mitigation.acceptance
                    && acceptance.expired
                {
                    violations.push(Violation {
                        rule: "no-expired-acceptance",
                        threat: Some(threat.id.clone()),
                        message: format!(
                            "{}: acceptance expired on {} (`{}`, owner {})",
                            at(),
                            acceptance.until,
                            mitigation.mitigation,
                            acceptance.owner
                        ),
                    });
                }
            }
        }
    }
    if let Some(minimum) = &policy.min_tier_when_personal_data
        && context.handles_personal_data
    {
        let rank = |tier: &str| context.tiers.iter().position(|known| known == tier);
        // No tier name: every item was applied, the largest selection there is.
        let applied = match &report.tier.name {
            Some(tier) => rank(tier),
            None => Some(usize::MAX),
        };
        let enough = match (applied, rank(minimum)) {
            (Some(applied), Some(minimum)) => applied >= minimum,
            // A tier the pack does not have cannot be checked: that is a failure to say.
            _ => false,
        };
        if !enough {
            violations.push(Violation {
                rule: "min-tier-when-personal-data",
                threat: None,
                message: format!(
                    "the system handles personal data but the tier applied is `{}`, below `{minimum}` (the pack's tiers: {})",
                    report.tier.name.as_deref().unwrap_or("all"),
                    context.tiers.join(", ")
                ),
            });
        }
    }
    if let Some(activities) = &report.activities {
        for activity in &activities.activities {
            if activity.status == ActivityStatus::Done
                || !policy.require_activities.covers(&activity.id)
            {
                continue;
            }
            let why = match activity.status {
                ActivityStatus::Error => format!(
                    "its rule could not be evaluated ({}), so it may be required",
                    activity.error.as_deref().unwrap_or("no reason given")
                ),
                _ => format!(
                    "required by `{}` ({}) and not recorded done",
                    activity.rule,
                    values_text(&activity.values)
                ),
            };
            violations.push(Violation {
                rule: "require-activities",
                threat: None,
                message: format!("activity `{}` ({}): {why}", activity.name, activity.id),
            });
        }
    }
    violations
}

fn name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}
