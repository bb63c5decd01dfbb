//! `threatpack semver-check [PATH] [--baseline VERSION|PATH]`: the bump the changes since a
//! baseline require, each reason with its item; fails when `pack.toml`'s version is below it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use semver::Version;
use threatpack::ops::{self, SemverCheckOptions, Verdict};
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
    /// The tier the version will be built for (`build --tier`): the pack is compiled for it, and
    /// the default baseline is a version built for it, as the registry compares (none: the
    /// whole pack)
    #[arg(long, value_name = "NAME")]
    tier: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: SemverCheckArgs) -> Result<ExitCode, String> {
    let options = SemverCheckOptions {
        baseline: args.baseline.clone(),
        tier: args.tier.clone(),
        dependencies: args.source.options(),
    };
    let checked = match ops::semver_check(&args.path, &options, &TerminalProgress::default()) {
        Ok(checked) => checked,
        Err(error) => return Ok(report_error(&error)),
    };
    let report = &checked.report;
    let declared = &checked.declared;
    print_report(report, args.format);
    let pack = &report.pack;
    let baseline = checked
        .baseline
        .as_ref()
        .map(Version::to_string)
        .unwrap_or_default();
    let required = report.required.as_str();
    let minimum = report.minimum.clone().unwrap_or_default();
    let shown = display_root(&args.path);
    match checked.verdict() {
        Verdict::NoBaseline => eprintln!(
            "note: {} has no version of `{pack}` below {declared}: nothing to compare with",
            checked.registry.as_deref().unwrap_or_default(),
        ),
        Verdict::NoChanges => {
            crate::output::say!("`{pack}` {declared}: no changes since {baseline}")
        }
        Verdict::BumpedEnough => crate::output::say!(
            "`{pack}` {declared}: the version is bumped enough (the changes since {baseline} need a {required} bump)"
        ),
        Verdict::BelowBaseline => {
            eprintln!(
                "error: `{pack}` {declared} is below the baseline {baseline}\nhelp: set `version = \"{minimum}\"` or higher in {shown}/pack.toml"
            );
            return Ok(ExitCode::from(1));
        }
        Verdict::UnderBumped => {
            eprintln!(
                "error: `{pack}` {declared} is under-bumped: the changes since {baseline} need a {required} bump (at least {minimum})\nhelp: set `version = \"{minimum}\"` in {shown}/pack.toml, or undo the changes listed above"
            );
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &SemverReport, format: ReportFormat) {
    print!(
        "{}",
        match format {
            // Published versions' text reaches the terminal: made visible (JSON escapes its own).
            ReportFormat::Human => threatpack::render::visible(&semver_human(report)),
            ReportFormat::Markdown => threatpack::render::visible(&semver_markdown(report)),
            ReportFormat::Json => semver_json(report),
        }
    );
}
