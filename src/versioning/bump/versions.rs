//! Version arithmetic with cargo's convention for 0.x: the bump a version change permits, the
//! smallest version that permits a bump, whether a declared version is bumped enough, and the
//! baseline among published versions.

use semver::Version;
use serde::Serialize;

use super::Bump;

/// The bump a change from `baseline` to `declared` permits, `None` when `declared` is not
/// newer. With cargo's convention for 0.x: `0.1.0 → 0.2.0` and `0.0.1 → 0.0.2` permit major
/// changes, `0.1.0 → 0.1.1` minor ones. Pre-releases promise nothing to each other: from
/// `2.0.0-rc.1` to `2.0.0-rc.2` or `2.0.0`, anything goes. A pre-release declared version is
/// judged by its `major.minor.patch`.
pub fn permitted_bump(baseline: &Version, declared: &Version) -> Option<Bump> {
    if declared <= baseline {
        return None;
    }
    let triple = |version: &Version| (version.major, version.minor, version.patch);
    if !baseline.pre.is_empty() && triple(baseline) == triple(declared) {
        return Some(Bump::Major);
    }
    Some(match (baseline.major, baseline.minor) {
        (0, 0) => Bump::Major,
        (0, minor) => {
            if declared.major != 0 || declared.minor != minor {
                Bump::Major
            } else {
                Bump::Minor
            }
        }
        (major, minor) => {
            if declared.major != major {
                Bump::Major
            } else if declared.minor != minor {
                Bump::Minor
            } else {
                Bump::Patch
            }
        }
    })
}

/// The smallest version after `baseline` that permits `required` (`baseline` itself when
/// nothing changed). After a pre-release, its release.
pub fn minimum_version(baseline: &Version, required: Bump) -> Version {
    if required == Bump::None {
        return baseline.clone();
    }
    if !baseline.pre.is_empty() {
        return Version::new(baseline.major, baseline.minor, baseline.patch);
    }
    let (major, minor, patch) = (baseline.major, baseline.minor, baseline.patch);
    match (major, minor, required) {
        (0, 0, _) => Version::new(0, 0, patch + 1),
        (0, _, Bump::Major) => Version::new(0, minor + 1, 0),
        (0, _, _) => Version::new(0, minor, patch + 1),
        (_, _, Bump::Major) => Version::new(major + 1, 0, 0),
        (_, _, Bump::Minor) => Version::new(major, minor + 1, 0),
        _ => Version::new(major, minor, patch + 1),
    }
}

/// A declared version judged against a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VersionCheck {
    pub baseline: String,
    pub declared: String,
    pub required: Bump,
    /// What the declared version permits over the baseline; `None` when it is not newer.
    pub permitted: Option<Bump>,
    /// The smallest version that would do.
    pub minimum: String,
    pub ok: bool,
}

/// Whether `declared` is bumped enough over `baseline` for changes that need `required`. When
/// nothing changed, the baseline's own version is fine too.
pub fn check_version(baseline: &Version, declared: &Version, required: Bump) -> VersionCheck {
    let permitted = permitted_bump(baseline, declared);
    let ok = match required {
        Bump::None => declared >= baseline,
        _ => permitted.is_some_and(|permitted| permitted >= required),
    };
    VersionCheck {
        baseline: baseline.to_string(),
        declared: declared.to_string(),
        required,
        permitted,
        minimum: minimum_version(baseline, required).to_string(),
        ok,
    }
}

/// The version to compare `declared` with, among `published`: the highest release below it,
/// else the highest pre-release below it. Yanked versions count (consumers may have them
/// locked).
pub fn baseline_version<'v>(
    published: impl IntoIterator<Item = &'v Version>,
    declared: &Version,
) -> Option<Version> {
    let below: Vec<&Version> = published
        .into_iter()
        .filter(|version| *version < declared)
        .collect();
    below
        .iter()
        .filter(|version| version.pre.is_empty())
        .max()
        .or_else(|| below.iter().max())
        .map(|version| (*version).clone())
}
