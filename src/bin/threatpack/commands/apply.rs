//! `threatpack apply [--model MODEL] [--pack DIR | --bundle FILE | --project DIR] [--tier NAME|auto|all]
//! [--format ...] [--out FILE] [--explain AP@ELEMENT]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::analysis::Detail;
use threatpack::analysis::backlog::{backlog_csv, backlog_json};
use threatpack::analysis::diagram::Diagram;
use threatpack::analysis::html::html;
use threatpack::analysis::markdown::markdown;
use threatpack::analysis::otm_report::otm;
use threatpack::analysis::stix::stix;
use threatpack::analysis::summary::summary;
use threatpack::ops::{self, ApplyOptions};
use threatpack::workspace::{write_atomically, write_atomically_with};

use super::dependencies::report_error;
use super::knowledge::{KnowledgeArgs, TrustArgs, load};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The system model: threatpack TOML/JSON, an Open Threat Model file (JSON/YAML), an OWASP
    /// Threat Dragon v2 model (JSON), a Microsoft Threat Modeling Tool model (.tm7), or pytm's
    /// JSON dump (`python3 tm.py --json FILE`).
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
    /// For OTM, Threat Dragon and .tm7 models: the table mapping their types to entity kinds,
    /// laid over the format's built-in one
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The work item type of the CSV backlog (Azure DevOps: Task, User Story, Product Backlog Item...)
    #[arg(long, value_name = "TYPE", default_value = "Task")]
    pub work_item_type: String,
    /// Push the JSON report (`--format json --out FILE`) and the model to the registry for
    /// project NS/NAME (`--push` alone: the project the report's provenance names); needs a
    /// token with the `report` scope (docs/portfolio.md)
    #[arg(long, value_name = "NS/NAME", num_args = 0..=1, default_missing_value = "")]
    pub push: Option<String>,
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
    /// The model with its threats and mitigations, as an Open Threat Model file (OTM 0.2.0)
    Otm,
    /// The attack patterns, courses of action and `mitigates` relationships found, as a STIX
    /// 2.1 bundle
    Stix,
    /// The Markdown report's content and a data-flow diagram in one self-contained HTML file
    Html,
    /// The data-flow diagram alone, as a Mermaid flowchart
    Mermaid,
}

pub fn run(args: ApplyArgs) -> Result<ExitCode, String> {
    if args.push.is_some() && (args.format != ApplyFormat::Json || args.out.is_none()) {
        return Err("`--push` sends the JSON report: add `--format json --out FILE`".to_string());
    }
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
    // A model named on the command line is read on another core while the knowledge loads;
    // a problem with it is reported by the apply below, which then reads it again.
    let (knowledge, early_model) = std::thread::scope(|scope| {
        let early = (args.model.as_ref())
            .filter(|_| args.mapping.is_none() && args.explain.is_empty())
            .map(|path| scope.spawn(move || ops::read_model(path, None).ok()));
        let knowledge = load(&args.knowledge, &args.trust);
        let early = early.and_then(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (knowledge, early)
    });
    let knowledge = match knowledge {
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
    if args.format == ApplyFormat::Json {
        // Streamed: the report of a large model is gigabytes of JSON.
        let written = match &args.out {
            Some(path) => write_atomically_with(path, 0o644, |out| {
                Ok(ops::write_report_json(
                    &knowledge,
                    early_model,
                    &options,
                    out,
                ))
            })?,
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let written = ops::write_report_json(&knowledge, early_model, &options, &mut out);
                out.flush()
                    .map_err(|error| format!("cannot write to stdout: {error}"))?;
                written
            }
        };
        return match written {
            Ok(errors) => {
                if let (Some(project), Some(out)) = (&args.push, &args.out) {
                    super::report::push(
                        &args.knowledge.registry,
                        out,
                        Some(project.as_str()).filter(|project| !project.is_empty()),
                        args.model.as_deref(),
                        true,
                        super::Format::Human,
                    )?;
                }
                Ok(exit_code(errors))
            }
            Err(error) => Ok(report_error(&error)),
        };
    }
    if matches!(
        args.format,
        ApplyFormat::Otm | ApplyFormat::Stix | ApplyFormat::Html | ApplyFormat::Mermaid
    ) {
        let applied = match ops::apply_with_model(&knowledge, early_model, &options) {
            Ok(applied) => applied,
            Err(error) => return Ok(report_error(&error)),
        };
        let report = &applied.report;
        let diagram = || Diagram::new(&applied.model, report);
        let output = match args.format {
            ApplyFormat::Otm => otm(
                report,
                &knowledge.kb,
                &applied.model,
                &diagram(),
                applied.otm.as_ref(),
            ),
            ApplyFormat::Stix => stix(report, &knowledge.kb),
            ApplyFormat::Html => html(report, &diagram()),
            _ => diagram().mermaid(),
        };
        emit(&args, &output)?;
        return Ok(exit_code(report.errors.len()));
    }
    let report = match ops::apply_to(&knowledge, early_model, &options) {
        Ok(report) => report,
        Err(error) => return Ok(report_error(&error)),
    };
    let output = match args.format {
        ApplyFormat::Summary => summary(&report),
        ApplyFormat::Markdown => markdown(&report),
        ApplyFormat::BacklogCsv => backlog_csv(&report, &args.work_item_type)?,
        ApplyFormat::BacklogJson => backlog_json(&report),
        ApplyFormat::Json
        | ApplyFormat::Otm
        | ApplyFormat::Stix
        | ApplyFormat::Html
        | ApplyFormat::Mermaid => unreachable!("written above"),
    };
    emit(&args, &output)?;
    Ok(exit_code(report.errors.len()))
}

/// Conditions that could not be evaluated make the run fail (they are listed in the output).
fn exit_code(errors: usize) -> ExitCode {
    if errors > 0 {
        eprintln!(
            "error: {} could not be evaluated; they are listed in the output, not counted as absent",
            super::plural(errors, "condition")
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
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
