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
