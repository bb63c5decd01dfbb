//! `threatpack report diff OLD.json NEW.json`: two JSON reports compared by stable id;
//! `threatpack report push REPORT --project NS/NAME [--model FILE]`: a JSON report (and the
//! model it came from) to the registry's portfolio (docs/portfolio.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::analysis::diff::human;
use threatpack::ops::registry::{PushReportOptions, push_report};
use threatpack::ops::{self, ReportFileError};
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
    /// Compare two JSON reports (`apply --format json`): threats new, gone and changed, backlog
    /// items added, removed and changed, by stable id
    Diff(DiffArgs),
    /// Push a JSON report (`apply --format json`) to the registry for a project (the `report`
    /// scope)
    Push(PushArgs),
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// The older report
    old: PathBuf,
    /// The newer report
    new: PathBuf,
    /// `human`, or `json` (schema/report-diff.schema.json)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
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
        ReportCommand::Diff(args) => run_diff(args),
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

fn run_diff(args: DiffArgs) -> Result<ExitCode, String> {
    let diff = match ops::diff_report_files(&args.old, &args.new) {
        Ok(diff) => diff,
        Err(error @ ReportFileError::Invalid { .. }) => {
            eprintln!("error: {}", visible(&error.to_string()));
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Err(error.to_string()),
    };
    match args.format {
        Format::Human => print!("{}", human(&diff, None)),
        Format::Json => println!(
            "{}",
            serde_json::to_string(&diff)
                .map_err(|error| format!("cannot write the diff: {error}"))?
        ),
    }
    Ok(ExitCode::SUCCESS)
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
