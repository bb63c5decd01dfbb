//! `threatpack apply [--model MODEL] [--pack DIR | --bundle FILE | --project DIR] [--tier NAME|auto|all]
//! [--format ...] [--out FILE] [--explain AP@ELEMENT]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::analysis::Detail;
use threatpack::analysis::backlog::{backlog_csv, backlog_json};
use threatpack::analysis::markdown::markdown;
use threatpack::analysis::summary::summary;
use threatpack::ops::{self, ApplyOptions};
use threatpack::workspace::write_atomically;

use super::dependencies::report_error;
use super::knowledge::{KnowledgeArgs, TrustArgs, load};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The system model: threatpack TOML/JSON, or an Open Threat Model file (JSON/YAML).
    /// Default: the project's `model`
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// A tier name, `auto` (the pack's tier rules choose from the model's [system]) or `all`.
    /// Default: `auto` when the pack has tier rules, else `all`
    #[arg(long, value_name = "NAME")]
    pub tier: Option<String>,
    /// What to produce
    #[arg(long, value_enum, default_value_t = ApplyFormat::Summary)]
    pub format: ApplyFormat,
    /// Write the output to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Explain why ATTACK-PATTERN applies to ELEMENT or not, instead of the report (repeatable)
    #[arg(long, value_name = "AP@ELEMENT")]
    pub explain: Vec<String>,
    /// For Open Threat Model files: the table mapping OTM types to entity kinds
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The work item type of the CSV backlog (Azure DevOps: Task, User Story, Product Backlog Item...)
    #[arg(long, value_name = "TYPE", default_value = "Task")]
    pub work_item_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// A summary for the terminal
    Summary,
    /// The whole report as JSON (schema/report.schema.json)
    Json,
    /// A report a person can read
    Markdown,
    /// One work item per mitigation, as CSV for Azure DevOps, Jira or GitHub
    BacklogCsv,
    /// The backlog as JSON
    BacklogJson,
}

pub fn run(args: ApplyArgs) -> Result<ExitCode, String> {
    let options = ApplyOptions {
        model: args.model.clone(),
        mapping: args.mapping.clone(),
        tier: args.tier.clone(),
        detail: match args.format {
            ApplyFormat::Summary => Detail::Summary {
                limit: threatpack::analysis::summary::TOP_THREATS,
            },
            _ => Detail::Full,
        },
    };
    let knowledge = match load(&args.knowledge, &args.trust) {
        Ok(knowledge) => knowledge,
        Err(error) => return Ok(report_error(&error)),
    };
    if !args.explain.is_empty() {
        return match ops::explain(&knowledge, &options, &args.explain) {
            Ok(text) => {
                emit(&args, &threatpack::render::visible(&text)).map(|()| ExitCode::SUCCESS)
            }
            Err(error) => Ok(report_error(&error)),
        };
    }
    let report = match ops::apply(&knowledge, &options) {
        Ok(report) => report,
        Err(error) => return Ok(report_error(&error)),
    };
    let output = match args.format {
        ApplyFormat::Summary => summary(&report),
        ApplyFormat::Markdown => markdown(&report),
        ApplyFormat::BacklogCsv => backlog_csv(&report, &args.work_item_type)?,
        ApplyFormat::BacklogJson => backlog_json(&report),
        ApplyFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&report).map_err(|error| error.to_string())?;
            text.push('\n');
            text
        }
    };
    emit(&args, &output)?;
    if !report.errors.is_empty() {
        eprintln!(
            "error: {} could not be evaluated; they are listed in the output, not counted as absent",
            super::plural(report.errors.len(), "condition")
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn emit(args: &ApplyArgs, output: &str) -> Result<(), String> {
    match &args.out {
        Some(path) => write_atomically(path, output.as_bytes(), 0o644),
        None => std::io::stdout()
            .lock()
            .write_all(output.as_bytes())
            .map_err(|error| format!("cannot write to stdout: {error}")),
    }
}
