//! Comparing versions of a pack (`diff`, `changelog`, `semver-check`): a version is a pack
//! directory (checked and compiled), a bundle file, or `namespace/name@version` on the
//! registry (the bundle its index names, its sha256 checked); the operations return the
//! [`Diff`] with the bump it requires, or the pack's version judged against a baseline.

use std::path::{Path, PathBuf};

use semver::Version;

use super::lock::DependencyOptions;
use super::{Error, Progress};
use crate::client::index::RegistryIndexes;
use crate::client::published::{fetch_published, published_versions};
use crate::compile::KnowledgeBase;
use crate::versioning::render::SemverReport;
use crate::versioning::{
    Bump, BumpReport, Diff, baseline_version, check_version, diff as diff_knowledge, required_bump,
};

/// One version of a pack, as a user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    /// A pack directory, checked and compiled.
    Pack(PathBuf),
    /// A bundle file, read as hostile input (its signature is not checked).
    Bundle(PathBuf),
    /// `namespace/name@version` on the registry.
    Published {
        /// `namespace/name`.
        name: String,
        /// The version, semver.
        version: String,
    },
}

impl VersionSpec {
    /// `spec` read as an existing directory, an existing file, or `namespace/name@version`;
    /// anything else is an error that lists the three forms.
    pub fn parse(spec: &str) -> Result<VersionSpec, Error> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(VersionSpec::Pack(path.to_path_buf()));
        }
        if path.is_file() {
            return Ok(VersionSpec::Bundle(path.to_path_buf()));
        }
        if spec.contains('@') {
            let (name, version) = split_pack_version(spec)?;
            return Ok(VersionSpec::Published {
                name: name.to_string(),
                version: version.to_string(),
            });
        }
        Err(Error::Other(format!(
            "`{spec}` is neither a pack directory, a bundle file nor `namespace/name@version` on the registry"
        )))
    }
}

/// `namespace/name@version`, the name checked enough to build a URL from it and the version
/// semver.
pub fn split_pack_version(text: &str) -> Result<(&str, &str), Error> {
    let Some((name, version)) = text.rsplit_once('@') else {
        return Err(Error::Other(format!(
            "`{text}`: expected `namespace/name@version`, e.g. `acme/web@1.2.0`"
        )));
    };
    super::registry::split_pack(name).map_err(|error| Error::Other(error.to_string()))?;
    Version::parse(version)
        .map_err(|error| Error::Other(format!("`{version}` is not a version: {error}")))?;
    Ok((name, version))
}

/// The knowledge base of one version. A pack directory's errors are
/// [`Error::PackHasErrors`]; a published version comes from `dependencies.registry` (else
/// `THREATPACK_REGISTRY`, else the default) and the cache, and `offline` forbids downloading it.
pub fn load_version(
    spec: &VersionSpec,
    dependencies: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<KnowledgeBase, Error> {
    match spec {
        VersionSpec::Pack(path) => super::load_pack(path, None, dependencies, progress),
        VersionSpec::Bundle(path) => super::load_bundle(path, &[]),
        VersionSpec::Published { name, version } => load_published(name, version, dependencies),
    }
}

/// The registry the comparisons read: the options', else `THREATPACK_REGISTRY`, else the
/// default; normalized (no trailing `/` or `/api/v1`).
pub fn comparison_registry(dependencies: &DependencyOptions) -> Result<String, Error> {
    let url = dependencies.registry.clone().unwrap_or_else(|| {
        std::env::var(super::REGISTRY_ENV).unwrap_or_else(|_| super::DEFAULT_REGISTRY.to_string())
    });
    Ok(crate::client::http::normalize_registry(&url)?)
}

/// The bundle of `name` `version` on the registry (see [`load_version`]).
pub fn load_published(
    name: &str,
    version: &str,
    dependencies: &DependencyOptions,
) -> Result<KnowledgeBase, Error> {
    let registry = comparison_registry(dependencies)?;
    let cache = dependencies.cache()?;
    let mut indexes = RegistryIndexes::new(cache.clone(), dependencies.offline);
    Ok(fetch_published(
        &mut indexes,
        &cache,
        &registry,
        name,
        version,
        dependencies.offline,
    )?
    .kb)
}

/// Two versions compared: what changed item by item, and the bump it requires.
#[derive(Debug)]
pub struct Comparison {
    /// The old version's knowledge base.
    pub old: KnowledgeBase,
    /// The new version's knowledge base.
    pub new: KnowledgeBase,
    /// What changed from `old` to `new`.
    pub diff: Diff,
    /// The bump the changes require, each reason with its item.
    pub bump: BumpReport,
}

/// Loads `old`, then `new` (each read by [`VersionSpec::parse`] just before it is loaded with
/// [`load_version`]), and compares them.
pub fn compare(
    old: &str,
    new: &str,
    dependencies: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<Comparison, Error> {
    let old = load_version(&VersionSpec::parse(old)?, dependencies, progress)?;
    let new = load_version(&VersionSpec::parse(new)?, dependencies, progress)?;
    let diff = diff_knowledge(&old, &new);
    let bump = required_bump(&diff);
    Ok(Comparison {
        old,
        new,
        diff,
        bump,
    })
}

/// Options of [`semver_check`].
#[derive(Debug, Clone, Default)]
pub struct SemverCheckOptions {
    /// What to compare with: a version of the pack on the registry (`1.2.0`), a pack
    /// directory, a bundle file, or `namespace/name@version`. `None`: the highest release on
    /// the registry below `pack.toml`'s version.
    pub baseline: Option<String>,
    /// The tier the version is built for (`build --tier`; `None`: the whole pack): the pack is
    /// compiled for it, and the default baseline is the highest release below built for it,
    /// as the registry's gate chooses.
    pub tier: Option<String>,
    /// The registry, the cache, `offline` (`locked` applies to the pack's own dependencies).
    pub dependencies: DependencyOptions,
}

/// The outcome of [`semver_check`].
#[derive(Debug)]
pub struct SemverCheck {
    /// The pack's version judged against the baseline (`ok` false when under-bumped).
    pub report: SemverReport,
    /// `pack.toml`'s version.
    pub declared: Version,
    /// The baseline's version; `None` when the registry has no version below `declared`.
    pub baseline: Option<Version>,
    /// The registry asked for the baseline, when it was asked (always, when `baseline` is
    /// `None`).
    pub registry: Option<String>,
}

/// What a [`SemverCheck`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to compare with: the registry has no version below the declared one.
    NoBaseline,
    /// Nothing changed since the baseline (and the version is not below it).
    NoChanges,
    /// The version is bumped enough for the changes.
    BumpedEnough,
    /// The version is below the baseline, or equal to it with changes.
    BelowBaseline,
    /// The version is above the baseline, but by less than the changes require.
    UnderBumped,
}

impl SemverCheck {
    /// What the check concluded; only [`Verdict::BelowBaseline`] and [`Verdict::UnderBumped`]
    /// fail.
    pub fn verdict(&self) -> Verdict {
        let report = &self.report;
        let Some(baseline) = &self.baseline else {
            return Verdict::NoBaseline;
        };
        match (report.ok, report.required) {
            (true, Bump::None) => Verdict::NoChanges,
            (true, _) => Verdict::BumpedEnough,
            (false, Bump::None) => Verdict::BelowBaseline,
            (false, _) if report.permitted.is_none() && self.declared < *baseline => {
                Verdict::BelowBaseline
            }
            (false, _) => Verdict::UnderBumped,
        }
    }
}

/// Whether the version in `path/pack.toml` is bumped enough over a baseline for the changes
/// since it. A baseline built for one tier is compared with the same tier of the pack; with
/// `options.tier`, the default baseline is a version built for that tier (none: the whole pack). With
/// no baseline given and none on the registry below the pack's version, the report has no
/// baseline and is ok.
pub fn semver_check(
    path: &Path,
    options: &SemverCheckOptions,
    progress: &dyn Progress,
) -> Result<SemverCheck, Error> {
    let dependencies = &options.dependencies;
    let mut new = super::load_pack(path, options.tier.as_deref(), dependencies, progress)?;
    let declared = parse_version(&new.version, "pack.toml")?;
    let mut registry = None;
    let (baseline, source) = match &options.baseline {
        Some(spec) if !Path::new(spec).exists() && Version::parse(spec).is_ok() => {
            let url = comparison_registry(dependencies)?;
            let baseline = load_published(&new.pack, spec, dependencies)?;
            let source = format!("{url} {}@{spec}", new.pack);
            registry = Some(url);
            (baseline, source)
        }
        Some(spec) => (
            load_version(&VersionSpec::parse(spec)?, dependencies, progress)?,
            spec.clone(),
        ),
        None => {
            let url = comparison_registry(dependencies)?;
            let mut indexes = RegistryIndexes::new(dependencies.cache()?, dependencies.offline);
            let published = published_versions(&mut indexes, &url, &new.pack).map_err(|error| {
                format!("{error}\nhelp: to compare with a copy on disk, give --baseline DIR or --baseline BUNDLE")
            })?;
            let same_tier: Vec<Version> = published
                .iter()
                .filter(|(_, tier)| *tier == options.tier)
                .map(|(version, _)| version.clone())
                .collect();
            if same_tier.is_empty() && !published.is_empty() {
                return Err(Error::Other(format!(
                    "{url} has no version of `{}` built for tier {}: the registry compares versions of one tier, and refuses a tier the pack never had unless it is published with `--allow-semver-violation REASON`\nhelp: give `--tier` for the tier of the published versions, or `--baseline VERSION` to compare with one of them anyway",
                    new.pack,
                    options.tier.as_deref().unwrap_or("all")
                )));
            }
            let Some(version) = baseline_version(&same_tier, &declared) else {
                return Ok(SemverCheck {
                    report: SemverReport::without_baseline(&new.pack, &new.version),
                    declared,
                    baseline: None,
                    registry: Some(url),
                });
            };
            let version = version.to_string();
            let baseline = load_published(&new.pack, &version, dependencies)?;
            let source = format!("{url} {}@{version}", new.pack);
            registry = Some(url);
            (baseline, source)
        }
    };
    if baseline.pack != new.pack {
        return Err(Error::Other(format!(
            "the baseline `{source}` is the pack `{}`, not `{}`: give a version of the same pack",
            baseline.pack, new.pack
        )));
    }
    // A baseline built for one tier is compared with the same tier of the pack: otherwise
    // every item outside the tier would count as added.
    if options.tier.is_some() && baseline.tier != options.tier {
        return Err(Error::Other(format!(
            "the baseline `{source}` is built for tier {}, not for tier {}: compare versions of one tier",
            baseline.tier.as_deref().unwrap_or("all"),
            options.tier.as_deref().unwrap_or("all")
        )));
    }
    if let (None, Some(tier)) = (&options.tier, &baseline.tier) {
        new = super::load_pack(path, Some(tier), dependencies, progress)?;
    }
    let baseline_version = parse_version(&baseline.version, &source)?;
    let diff = diff_knowledge(&baseline, &new);
    let bump = required_bump(&diff);
    let check = check_version(&baseline_version, &declared, bump.required);
    Ok(SemverCheck {
        report: SemverReport::new(&new.pack, check, &source, bump),
        declared,
        baseline: Some(baseline_version),
        registry,
    })
}

fn parse_version(version: &str, what: &str) -> Result<Version, Error> {
    Version::parse(version).map_err(|error| {
        Error::Other(format!(
            "the version `{version}` of {what} is not semver: {error}"
        ))
    })
}
