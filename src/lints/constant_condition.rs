//! `constant-condition`: a condition that is always true or always false.
//!
//! Why: an always-false condition means the attack pattern (or link) never applies, which is
//! the silent failure pack authors most need to hear about; an always-true one means the
//! condition is noise. The check evaluates the condition on every combination of the bool and
//! enum properties it reads (and `crosses_boundary`), up to 256 combinations; conditions that
//! read ints, strings or lists, or use `has()`, are not judged.
//!
//! ```toml
//! condition = 'self.internet_facing || !self.internet_facing'   # warning: always true
//! ```

use crate::check::{Facts, Index};
use crate::diagnostic::{Code, Diagnostic};

pub(crate) fn lint(index: &Index<'_>, facts: &Facts, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    for (origin, fields, value) in &facts.constant_conditions {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let help = if *value {
            "remove the condition to apply everywhere, or fix it so that it depends on the element"
        } else {
            "this never matches: check the operators and the enum values it compares"
        };
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
