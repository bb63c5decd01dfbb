//! `threatpack diff OLD NEW [--format human|markdown|json]`: what changed between two versions
//! of a pack, item by item, and the bump it requires.

use std::process::ExitCode;

use clap::Args;
use threatpack::ops;
use threatpack::versioning::render::{diff_human, diff_json, diff_markdown};

use super::dependencies::{TerminalProgress, report_error};
use super::versions::{ReportFormat, SourceArgs};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old version: a pack directory, a bundle file, or `namespace/name@version` on the
    /// registry
    old: String,
    /// The new version, in the same forms
    new: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    format: ReportFormat,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: DiffArgs) -> Result<ExitCode, String> {
    let progress = TerminalProgress::default();
    let compared = match ops::compare(&args.old, &args.new, &args.source.options(), &progress) {
        Ok(compared) => compared,
        Err(error) => return Ok(report_error(&error)),
    };
    let (diff, bump) = (&compared.diff, &compared.bump);
    print!(
        "{}",
        match args.format {
            // Published versions' text reaches the terminal: made visible (JSON escapes its own).
            ReportFormat::Human => threatpack::render::visible(&diff_human(diff, bump)),
            ReportFormat::Markdown => threatpack::render::visible(&diff_markdown(diff, bump)),
            ReportFormat::Json => diff_json(diff, bump),
        }
    );
    Ok(ExitCode::SUCCESS)
}
