//! `threatpack report push REPORT --project NS/NAME [--model FILE]`: a JSON report (and the
//! model it came from) to the registry's portfolio (docs/portfolio.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::ops::registry::{PushReportOptions, push_report};
use threatpack::render::visible;

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Push a JSON report (`apply --format json`) to the registry for a project (the `report`
    /// scope)
    Push(PushArgs),
}

#[derive(Debug, Args)]
struct PushArgs {
    /// The JSON report
    #[arg(value_name = "REPORT")]
    report: PathBuf,
    /// The project, e.g. `acme/shop` [default: the project the report's provenance names]
    #[arg(long, value_name = "NS/NAME")]
    project: Option<String>,
    /// The model the report was made from, kept by the registry for `threatpack impact`
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// `json`: the registry's answer (`project`, `report_id`, `verified_packs`,
    /// `unverified_packs`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: ReportArgs) -> Result<ExitCode, String> {
    match args.command {
        ReportCommand::Push(args) => push(
            &args.registry,
            &args.report,
            args.project.as_deref(),
            args.model.as_deref(),
            false,
            args.format,
        )
        .map(|()| ExitCode::SUCCESS),
    }
}

/// Pushes `report` and says what the registry made of its pack claims (also `apply --push`).
pub fn push(
    registry: &RegistryArgs,
    report: &Path,
    project: Option<&str>,
    model: Option<&Path>,
    model_from_report: bool,
    format: Format,
) -> Result<(), String> {
    let options = PushReportOptions {
        registry: registry.authenticated()?,
        report: report.to_path_buf(),
        project: project.map(str::to_string),
        model: model.map(Path::to_path_buf),
        model_from_report,
    };
    let answer = push_report(&options).map_err(message)?;
    if format == Format::Json {
        return print_json(&answer);
    }
    eprintln!(
        "pushed report {} for {} ({} pack(s) verified against the registry)",
        answer.report_id,
        answer.project,
        answer.verified_packs.len()
    );
    for claim in &answer.unverified_packs {
        eprintln!(
            "warning: {}@{} is not a version this registry serves with that digest: it does not count in the portfolio's pack numbers",
            visible(&claim.name),
            visible(&claim.version)
        );
    }
    Ok(())
}
