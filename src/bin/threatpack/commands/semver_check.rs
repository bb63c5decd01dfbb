//! `threatpack semver-check [PATH] [--baseline VERSION|PATH]`: the bump the changes since a
//! baseline require, each reason with its item; fails when `pack.toml`'s version is below it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use semver::Version;
use threatpack::client::cache::Cache;
use threatpack::client::index::RegistryIndexes;
use threatpack::client::published::published_versions;
use threatpack::versioning::render::{SemverReport, semver_human, semver_json, semver_markdown};
use threatpack::versioning::{Bump, baseline_version, check_version, diff, required_bump};

use super::display_root;
use super::knowledge::load_pack;
use super::versions::{ReportFormat, SourceArgs, load, load_published};

#[derive(Debug, Args)]
pub struct SemverCheckArgs {
    /// The pack directory (holding pack.toml)
    #[arg(default_value = ".")]
    path: PathBuf,
    /// What to compare with: a version of this pack on the registry (`1.2.0`), a pack
    /// directory, a bundle file, or `namespace/name@version`. Default: the highest release on
    /// the registry below pack.toml's version
    #[arg(long, value_name = "VERSION|PATH")]
    baseline: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: SemverCheckArgs) -> Result<ExitCode, String> {
    let mut new = match load_pack(
        &args.path,
        &args.source.registry,
        &args.source.dependencies,
        None,
    )? {
        Ok(kb) => kb,
        Err(code) => return Ok(code),
    };
    let declared = parse_version(&new.version, "pack.toml")?;
    let (baseline, source) = match &args.baseline {
        Some(spec) if !Path::new(spec).exists() && Version::parse(spec).is_ok() => {
            let registry = args.source.registry.url()?;
            (
                load_published(&new.pack, spec, &args.source)?,
                format!("{registry} {}@{spec}", new.pack),
            )
        }
        Some(spec) => match load(spec, &args.source)? {
            Ok(kb) => (kb, spec.clone()),
            Err(code) => return Ok(code),
        },
        None => {
            let registry = args.source.registry.url()?;
            let mut indexes =
                RegistryIndexes::new(Cache::from_env()?, args.source.dependencies.offline);
            let published =
                published_versions(&mut indexes, &registry, &new.pack).map_err(|error| {
                    format!("{error}\nhelp: to compare with a copy on disk, give --baseline DIR or --baseline BUNDLE")
                })?;
            let Some(version) = baseline_version(&published, &declared) else {
                let report = SemverReport::without_baseline(&new.pack, &new.version);
                print_report(&report, args.format);
                eprintln!(
                    "note: {registry} has no version of `{}` below {declared}: nothing to compare with",
                    new.pack
                );
                return Ok(ExitCode::SUCCESS);
            };
            let version = version.to_string();
            (
                load_published(&new.pack, &version, &args.source)?,
                format!("{registry} {}@{version}", new.pack),
            )
        }
    };
    if baseline.pack != new.pack {
        return Err(format!(
            "the baseline `{source}` is the pack `{}`, not `{}`: give a version of the same pack",
            baseline.pack, new.pack
        ));
    }
    // A baseline built for one tier is compared with the same tier of the pack: otherwise
    // every item outside the tier would count as added.
    if let Some(tier) = &baseline.tier {
        new = match load_pack(
            &args.path,
            &args.source.registry,
            &args.source.dependencies,
            Some(tier),
        )? {
            Ok(kb) => kb,
            Err(code) => return Ok(code),
        };
    }
    let baseline_version = parse_version(&baseline.version, &source)?;
    let diff = diff(&baseline, &new);
    let bump = required_bump(&diff);
    let check = check_version(&baseline_version, &declared, bump.required);
    let report = SemverReport::new(&new.pack, check, &source, bump);
    print_report(&report, args.format);
    let shown = display_root(&args.path);
    if report.ok {
        if report.required == Bump::None {
            eprintln!(
                "`{}` {declared}: no changes since {baseline_version}",
                new.pack
            );
        } else {
            eprintln!(
                "`{}` {declared}: the version is bumped enough (the changes since {baseline_version} need a {} bump)",
                new.pack,
                report.required.as_str()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let minimum = report.minimum.clone().unwrap_or_default();
    if report.required == Bump::None || report.permitted.is_none() && declared < baseline_version {
        eprintln!(
            "error: `{}` {declared} is below the baseline {baseline_version}\nhelp: set `version = \"{minimum}\"` or higher in {shown}/pack.toml",
            new.pack
        );
    } else {
        eprintln!(
            "error: `{}` {declared} is under-bumped: the changes since {baseline_version} need a {} bump (at least {minimum})\nhelp: set `version = \"{minimum}\"` in {shown}/pack.toml, or undo the changes listed above",
            new.pack,
            report.required.as_str()
        );
    }
    Ok(ExitCode::from(1))
}

fn parse_version(version: &str, what: &str) -> Result<Version, String> {
    Version::parse(version)
        .map_err(|error| format!("the version `{version}` of {what} is not semver: {error}"))
}

fn print_report(report: &SemverReport, format: ReportFormat) {
    print!(
        "{}",
        match format {
            ReportFormat::Human => semver_human(report),
            ReportFormat::Markdown => semver_markdown(report),
            ReportFormat::Json => semver_json(report),
        }
    );
}
