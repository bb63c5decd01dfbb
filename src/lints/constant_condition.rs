//! `constant-condition`: a condition that is always true or always false.
//!
//! Why: an always-false condition means the attack pattern (or link) never applies, which is
//! the silent failure pack authors most need to hear about; an always-true one means the
//! condition is noise. The check evaluates the condition on every combination of the bool and
//! enum properties it reads (and `crosses_boundary`), up to 256 combinations; conditions that
//! read ints, strings or lists, or use `has()`, are not judged.
//!
//! Tier rules (`[[system.tier-rule]]`) are tried in order, so an always-true `when` makes the
//! rules after it unreachable, and an always-false one never chooses its tier. The one exception
//! is an always-true LAST rule: it is a catch-all that sets the tier of every system no earlier
//! rule matched (instead of the first tier), and is not reported.
//!
//! ```toml
//! condition = 'self.internet_facing || !self.internet_facing'   # warning: always true
//! ```

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::lints::Facts;

pub(crate) fn lint(index: &Index<'_>, facts: &Facts, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for (origin, fields, value) in &facts.constant_conditions {
        let is_tier_rule = origin.pointer.first().is_some_and(|key| key == "system");
        let is_last_rule = root.tier_rules.last().map(|rule| &rule.origin) == Some(origin);
        let help = match (is_tier_rule, *value) {
            (true, true) if is_last_rule => continue,
            (true, true) => {
                "the rules after this one are never tried: fix it, or make it the last rule (a catch-all)"
            }
            (true, false) => {
                "this rule never chooses its tier: check the operators and the enum values it compares"
            }
            (false, true) => {
                "remove the condition to apply everywhere, or fix it so that it depends on the element"
            }
            (false, false) => {
                "this never matches: check the operators and the enum values it compares"
            }
        };
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        diagnostics.push(
            Diagnostic::new(
                Code::ConstantCondition,
                format!("this condition is always {value}"),
            )
            .at(
                root.display_path(origin),
                root.locate(origin, &fields),
                format!("always {value}"),
            )
            .help(help),
        );
    }
}
