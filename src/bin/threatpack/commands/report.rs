//! `threatpack report diff OLD.json NEW.json`: two JSON reports compared by stable id.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::analysis::diff::human;
use threatpack::ops::{self, ReportFileError};

use super::Format;

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

pub fn run(args: ReportArgs) -> Result<ExitCode, String> {
    match args.command {
        ReportCommand::Diff(args) => run_diff(args),
    }
}

fn run_diff(args: DiffArgs) -> Result<ExitCode, String> {
    let diff = match ops::diff_report_files(&args.old, &args.new) {
        Ok(diff) => diff,
        Err(error @ ReportFileError::Invalid { .. }) => {
            eprintln!("error: {}", threatpack::render::visible(&error.to_string()));
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
