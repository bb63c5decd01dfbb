//! `threatpack semver-check [PATH] [--baseline VERSION|PATH]`: the bump the changes since a
//! baseline require, each reason with its item; fails when `pack.toml`'s version is below it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::ops::{self, SemverCheckOptions};
use threatpack::versioning::Bump;
use threatpack::versioning::render::{SemverReport, semver_human, semver_json, semver_markdown};

use super::dependencies::{TerminalProgress, report_error};
use super::display_root;
use super::versions::{ReportFormat, SourceArgs};

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
    let options = SemverCheckOptions {
        baseline: args.baseline.clone(),
        dependencies: args.source.options(),
    };
    let checked = match ops::semver_check(&args.path, &options, &TerminalProgress::default()) {
        Ok(checked) => checked,
        Err(error) => return Ok(report_error(&error)),
    };
    let report = &checked.report;
    let declared = &checked.declared;
    print_report(report, args.format);
    let Some(baseline_version) = &checked.baseline else {
        eprintln!(
            "note: {} has no version of `{}` below {declared}: nothing to compare with",
            checked.registry.as_deref().unwrap_or_default(),
            report.pack
        );
        return Ok(ExitCode::SUCCESS);
    };
    let shown = display_root(&args.path);
    if report.ok {
        if report.required == Bump::None {
            eprintln!(
                "`{}` {declared}: no changes since {baseline_version}",
                report.pack
            );
        } else {
            eprintln!(
                "`{}` {declared}: the version is bumped enough (the changes since {baseline_version} need a {} bump)",
                report.pack,
                report.required.as_str()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let minimum = report.minimum.clone().unwrap_or_default();
    if report.required == Bump::None || report.permitted.is_none() && declared < baseline_version {
        eprintln!(
            "error: `{}` {declared} is below the baseline {baseline_version}\nhelp: set `version = \"{minimum}\"` or higher in {shown}/pack.toml",
            report.pack
        );
    } else {
        eprintln!(
            "error: `{}` {declared} is under-bumped: the changes since {baseline_version} need a {} bump (at least {minimum})\nhelp: set `version = \"{minimum}\"` in {shown}/pack.toml, or undo the changes listed above",
            report.pack,
            report.required.as_str()
        );
    }
    Ok(ExitCode::from(1))
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
