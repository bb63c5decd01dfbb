//! `threatpack apply [--model MODEL] [--pack DIR | --bundle FILE | --project DIR] [--tier NAME|auto|all]
//! [--format ...] [--out FILE] [--explain AP@ELEMENT]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::analysis::backlog::{backlog_csv, backlog_json};
use threatpack::analysis::markdown::markdown;
use threatpack::analysis::summary::summary;
use threatpack::analysis::{Detail, Header, analyse, write_report_json};
use threatpack::engine::Engine;
use threatpack::engine::explain::explain;
use threatpack::engine::tiers::{TierRequest, choose_tier};
use threatpack::system::bind::bind;
use threatpack::system::{MAX_MODEL_BYTES, load_model};
use threatpack::workspace::read_capped;
use threatpack::workspace::{write_atomically, write_atomically_with};

use super::knowledge::{KnowledgeArgs, TrustArgs, load, print_model_diagnostics, read_model};

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
    // A model named on the command line is read on another core while the knowledge loads.
    // Any problem with it is left to `read_model` below, which reports it as before.
    let (loaded, early_model) = std::thread::scope(|scope| {
        let early = match (&args.model, &args.mapping) {
            (Some(path), None) => Some(scope.spawn(move || {
                let bytes = read_capped(path, MAX_MODEL_BYTES).ok()?;
                let text = String::from_utf8(bytes).ok()?;
                load_model(&path.display().to_string(), text, None).ok()
            })),
            _ => None,
        };
        let loaded = load(&args.knowledge, &args.trust);
        let early = early.and_then(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (loaded, early)
    });
    let loaded = match loaded? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let model_path = loaded.model(args.model.as_deref())?;
    let kb = loaded.kb;
    let file = match early_model {
        Some(file) => file,
        None => match read_model(&model_path, args.mapping.as_deref())? {
            Ok(file) => file,
            Err(code) => return Ok(code),
        },
    };
    let mut engine = Engine::new(&kb);
    let model = match bind(&mut engine, &file) {
        Ok(model) => model,
        Err(diagnostics) => {
            print_model_diagnostics(&diagnostics, &file.display_path, &file.text);
            return Ok(ExitCode::from(1));
        }
    };
    // The model is in its slots now: its text and parsed form give their memory back to the
    // evaluation, which needs it more. Freeing them takes a while: on another core, while the
    // rules compile.
    let model_file = file.display_path.clone();
    let freeing = std::thread::spawn(move || drop(file));
    let (max_rank, tier) = choose_tier(
        &mut engine,
        &model,
        TierRequest::parse(args.tier.as_deref()),
    )?;
    if !args.explain.is_empty() {
        let mut out = String::new();
        for question in &args.explain {
            out.push_str(&explain(&mut engine, &model, max_rank, question)?);
        }
        emit(&args, &threatpack::render::visible(&out))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rules = engine.rules(max_rank);
    let _ = freeing.join();
    let detail = match args.format {
        ApplyFormat::Summary => Detail::Summary {
            limit: threatpack::analysis::summary::TOP_THREATS,
        },
        _ => Detail::Full,
    };
    let header = Header { model_file, tier };
    if args.format == ApplyFormat::Json {
        // Streamed: the report of a large model is gigabytes of JSON.
        let errors = match &args.out {
            Some(path) => write_atomically_with(path, 0o644, |out| {
                write_report_json(&engine, &rules, &model, header, out)
            })?,
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                write_report_json(&engine, &rules, &model, header, &mut out)
                    .and_then(|errors| out.flush().map(|()| errors))
                    .map_err(|error| format!("cannot write to stdout: {error}"))?
            }
        };
        // Freeing millions of small allocations at exit is wasted time (as `check` does).
        std::mem::forget((rules, model, engine));
        std::mem::forget(kb);
        return Ok(exit_code(errors));
    }
    let report = analyse(&engine, &rules, &model, header, detail);
    let output = match args.format {
        ApplyFormat::Summary => summary(&report),
        ApplyFormat::Markdown => markdown(&report),
        ApplyFormat::BacklogCsv => backlog_csv(&report, &args.work_item_type)?,
        ApplyFormat::BacklogJson => backlog_json(&report),
        ApplyFormat::Json => unreachable!("the JSON report is streamed above"),
    };
    emit(&args, &output)?;
    let errors = report.errors.len();
    std::mem::forget((report, rules, model, engine));
    std::mem::forget(kb);
    Ok(exit_code(errors))
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
