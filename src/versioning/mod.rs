//! Versions that mean something: what changed between two knowledge bases, the semver bump
//! that change requires, and a changelog. docs/versioning.md gives the rules and why.
//!
//! Pure functions of two `KnowledgeBase`s (from pack directories, bundles or the registry; the
//! CLI and the registry load them):
//! - `diff::diff(old, new) -> Diff`: per item kind, what was added, removed, deprecated and
//!   modified field by field; for attack patterns and links, whether the set of elements they
//!   apply to can grow or shrink (`applicability`: exhaustive with the rule engine where the
//!   conditions read few enough bool and enum values, else structural, else "may grow");
//! - `bump::required_bump(&Diff) -> BumpReport`: the bump required (major, minor, patch), with
//!   one `Reason` per change that names its item and the `Rule` it follows;
//! - `bump::check_version(baseline, declared, required) -> VersionCheck`: whether a declared
//!   version is bumped enough over a baseline (with cargo's convention for 0.x versions), and
//!   `bump::baseline_version` to choose the baseline among published versions;
//! - `changelog::changelog` (Markdown, grouped ATT&CK-style) and `render` (terminal, Markdown
//!   and JSON of a diff and of a version check).
//!
//! Knowledge bases from bundles are hostile input: nothing here recurses on them beyond the
//! JSON depth serde already bounds, and a condition is only parsed when counting its brackets
//! and prefix operators proves it shallow, so a registry may run this on any thread.

pub mod applicability;
pub mod bump;
pub mod changelog;
pub mod diff;
pub mod render;

pub use applicability::{Applicability, Direction, Proof};
pub use bump::{
    Bump, BumpReport, Reason, Rule, VersionCheck, baseline_version, check_version, minimum_version,
    permitted_bump, required_bump,
};
pub use changelog::changelog;
pub use diff::{
    Change, Deprecation, Diff, EventChange, FieldChange, ItemChange, LinkChange, Modification,
    PackChange, PropertyChange, PropertyChangeKind, Side, TierChanges, TierRuleChanges,
    TierRuleReason, TierRuleText, diff,
};

/// Knowledge bases compiled from files in memory, for the tests of this module.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::build::check_and_compile;
    use crate::check::CheckOptions;
    use crate::compile::KnowledgeBase;
    use crate::diagnostic::Severity;
    use crate::resolve::{Candidate, PackLocation, PackSource, Request, resolve};
    use crate::source::PackSources;

    struct NoDependencies;

    impl PackSource for NoDependencies {
        fn candidates(&mut self, _: &Request<'_>) -> Result<Vec<Candidate>, String> {
            Err("test packs have no dependencies".to_string())
        }

        fn load(&mut self, _: &Candidate) -> Result<PackSources, String> {
            Err("test packs have no dependencies".to_string())
        }
    }

    /// `pack.toml` of `test/pack` with the tiers `top` and `standard`, then `files`; checked
    /// (an error fails the test) and compiled.
    pub fn kb(files: &[(&str, &str)]) -> KnowledgeBase {
        let mut all = vec![(
            "pack.toml".to_string(),
            "[pack]\nformat = 1\nname = \"test/pack\"\nversion = \"1.0.0\"\ndescription = \"A pack.\"\nlicense = \"MIT\"\ntiers = [\"top\", \"standard\"]\n".to_string(),
        )];
        all.extend(
            files
                .iter()
                .map(|(path, text)| (path.to_string(), text.to_string())),
        );
        let graph = resolve(
            PackLocation::Directory {
                canonical: "/test/pack".into(),
                display: "pack".to_string(),
            },
            PackSources::from_memory("pack", all),
            &mut NoDependencies,
        );
        let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
        let errors: Vec<_> = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .collect();
        match kb {
            Some(kb) if errors.is_empty() => kb,
            _ => panic!("the test pack has errors: {errors:#?}"),
        }
    }
}
