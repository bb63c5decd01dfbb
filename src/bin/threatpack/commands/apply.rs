//! `threatpack apply [--model MODEL] [--pack DIR | --bundle FILE | --project DIR] [--tier NAME|auto|all]
//! [--format ...] [--out FILE] [--explain AP@ELEMENT]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use std::io::Read;

use threatpack::analysis::Detail;
use threatpack::analysis::backlog::backlog_csv;
use threatpack::analysis::diagram::Diagram;
use threatpack::analysis::gate::{Baseline, GateContext, Policy, Violation, evaluate};
use threatpack::analysis::html::html;
use threatpack::analysis::markdown::markdown;
use threatpack::analysis::otm_report::otm;
use threatpack::analysis::sarif::sarif;
use threatpack::analysis::stix::stix;
use threatpack::analysis::summary::summary;
use threatpack::model::Severity;
use threatpack::ops::{self, ApplyOptions};
use threatpack::workspace::read_capped;
use threatpack::workspace::{write_atomically, write_atomically_with};

use super::dependencies::report_error;
use super::knowledge::{KnowledgeArgs, TrustArgs, load};
use crate::output::say;

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
    /// The project the report is about (`ns/name`, as on the registry). Default: `[project]
    /// name` in threatpack.toml, else the CI system's (GitHub Actions, GitLab CI, Azure
    /// Pipelines, Jenkins) or THREATPACK_PROJECT
    #[arg(long, value_name = "NAME")]
    pub project_name: Option<String>,
    /// The VCS revision of the model. Default: the CI system's (GITHUB_SHA, CI_COMMIT_SHA,
    /// BUILD_SOURCEVERSION, GIT_COMMIT) or THREATPACK_REVISION
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// Fail (exit code 3) when a threat's residual risk is at or above LEVEL
    #[arg(long, value_name = "LEVEL", value_enum)]
    pub fail_on: Option<GateLevel>,
    /// A policy file (TOML, schema/policy.schema.json) with the gate's rules; --fail-on
    /// overrides its `fail-on`
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A JSON report (`--format json`) of an earlier run: the gate fails only on threats that
    /// are new since it or whose residual risk rose
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,
    /// The work item type of the CSV backlog (Azure DevOps: Task, User Story, Product Backlog Item...)
    #[arg(long, value_name = "TYPE", default_value = "Task")]
    pub work_item_type: String,
    /// Push the JSON report (`--format json --out FILE`) and the model to the registry for
    /// project NS/NAME (`--push` alone: the project the report's provenance names); needs a
    /// token with the `report` scope (docs/portfolio.md)
    #[arg(long, value_name = "NS/NAME", num_args = 0..=1, default_missing_value = "")]
    pub push: Option<String>,
    /// Shape the CSV backlog for this tracker's importer (with `Threatpack Id` and
    /// `Threatpack Change` columns). Default: one layout for all
    #[arg(long, value_enum, value_name = "TRACKER")]
    pub tracker: Option<TrackerArg>,
    /// Export only the backlog items new or changed since this earlier JSON report
    /// (`--format json`), and those no longer needed
    #[arg(long, value_name = "REPORT")]
    pub since: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrackerArg {
    /// Azure DevOps Boards (Import work items): HTML descriptions
    AzureDevops,
    /// Jira (Import issues from CSV): Summary, priority names, Labels columns
    Jira,
    /// GitHub issues (title, body, labels) for `gh issue create`
    Github,
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
    /// SARIF 2.1.0 for code scanning: a result per threat at its element's line in the model
    Sarif,
}

/// The levels `--fail-on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateLevel {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl GateLevel {
    fn severity(self) -> Severity {
        match self {
            GateLevel::Info => Severity::Info,
            GateLevel::Low => Severity::Low,
            GateLevel::Medium => Severity::Medium,
            GateLevel::High => Severity::High,
            GateLevel::Critical => Severity::Critical,
        }
    }
}

/// The exit code of a run whose gate failed.
const GATE_FAILED: u8 = 3;

/// The gate the flags ask for, read: `None` when none is asked for.
fn gate(args: &ApplyArgs) -> Result<Option<(Policy, Option<Baseline>)>, String> {
    if args.fail_on.is_none() && args.policy.is_none() && args.baseline.is_none() {
        return Ok(None);
    }
    let mut policy = match &args.policy {
        Some(path) => {
            let bytes = read_capped(path, 1024 * 1024)?;
            let display = path.display().to_string();
            let text =
                String::from_utf8(bytes).map_err(|_| format!("`{display}` is not UTF-8 text"))?;
            Policy::parse(&display, &text)?
        }
        None => Policy::default(),
    };
    if let Some(level) = args.fail_on {
        policy.fail_on = Some(level.severity());
    }
    if policy.is_empty() {
        if args.baseline.is_some() {
            return Err(
                "--baseline needs a rule to judge what is new: give --fail-on LEVEL or a --policy with a rule"
                    .to_string(),
            );
        }
        // A policy file with no rule set: nothing to refuse.
        return Ok(None);
    }
    let baseline = match &args.baseline {
        Some(path) => {
            let display = path.display().to_string();
            let file = std::fs::File::open(path)
                .map_err(|error| format!("cannot read `{display}`: {error}"))?;
            // A report of a large model is gigabytes; only ids and scores are kept.
            Some(Baseline::read(&display, file.take(MAX_BASELINE_BYTES))?)
        }
        None => None,
    };
    Ok(Some((policy, baseline)))
}

/// The largest baseline report read.
const MAX_BASELINE_BYTES: u64 = 8 << 30;

pub fn run(args: ApplyArgs) -> Result<ExitCode, String> {
    if args.push.is_some() && (args.format != ApplyFormat::Json || args.out.is_none()) {
        return Err("`--push` sends the JSON report: add `--format json --out FILE`".to_string());
    }
    let gate = match gate(&args) {
        Ok(gate) => gate,
        Err(message) => {
            eprintln!("error: {}", threatpack::render::visible(&message));
            return Ok(ExitCode::from(1));
        }
    };
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
        project_name: args.project_name.clone(),
        revision: args.revision.clone(),
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
    if let Some((policy, baseline)) = gate {
        return run_gated(
            &args,
            &knowledge,
            early_model,
            options,
            &policy,
            baseline.as_ref(),
        );
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
        ApplyFormat::Otm
            | ApplyFormat::Stix
            | ApplyFormat::Html
            | ApplyFormat::Mermaid
            | ApplyFormat::Sarif
    ) {
        let applied = match ops::apply_with_model(&knowledge, early_model, &options) {
            Ok(applied) => applied,
            Err(error) => return Ok(report_error(&error)),
        };
        emit(&args, &render_with_model(&args, &knowledge, &applied)?)?;
        return Ok(exit_code(applied.report.errors.len()));
    }
    let report = match ops::apply_to(&knowledge, early_model, &options) {
        Ok(report) => report,
        Err(error) => return Ok(report_error(&error)),
    };
    let output = match args.format {
        ApplyFormat::Summary => summary(&report),
        ApplyFormat::Markdown => markdown(&report),
        ApplyFormat::BacklogCsv | ApplyFormat::BacklogJson => backlog(&args, &report)?,
        ApplyFormat::Json
        | ApplyFormat::Otm
        | ApplyFormat::Stix
        | ApplyFormat::Html
        | ApplyFormat::Mermaid
        | ApplyFormat::Sarif => unreachable!("written above"),
    };
    emit(&args, &output)?;
    Ok(exit_code(report.errors.len()))
}

/// The formats drawn with the model.
fn render_with_model(
    args: &ApplyArgs,
    knowledge: &threatpack::ops::Knowledge,
    applied: &ops::AppliedModel,
) -> Result<String, String> {
    let report = &applied.report;
    let diagram = || Diagram::new(&applied.model, report);
    Ok(match args.format {
        ApplyFormat::Otm => otm(
            report,
            &knowledge.kb,
            &applied.model,
            &diagram(),
            applied.otm.as_ref(),
        ),
        ApplyFormat::Stix => stix(report, &knowledge.kb),
        ApplyFormat::Html => html(report, &diagram()),
        ApplyFormat::Mermaid => diagram().mermaid(),
        ApplyFormat::Sarif => sarif(report, &knowledge.kb, &applied.element_lines),
        ApplyFormat::Summary => summary(report),
        ApplyFormat::Markdown => markdown(report),
        ApplyFormat::BacklogCsv | ApplyFormat::BacklogJson => backlog(args, report)?,
        ApplyFormat::Json => {
            let mut json = serde_json::to_string_pretty(report)
                .map_err(|error| format!("cannot write the report: {error}"))?;
            json.push('\n');
            json
        }
    })
}

/// `apply` with a gate: the whole report is made in memory (the gate reads every threat),
/// written in the format asked for, then judged. Exit code 3 when the gate fails.
fn run_gated(
    args: &ApplyArgs,
    knowledge: &threatpack::ops::Knowledge,
    early_model: Option<threatpack::system::ModelFile>,
    mut options: ApplyOptions,
    policy: &Policy,
    baseline: Option<&Baseline>,
) -> Result<ExitCode, String> {
    options.detail = Detail::Full;
    let applied = match ops::apply_with_model(knowledge, early_model, &options) {
        Ok(applied) => applied,
        Err(error) => return Ok(report_error(&error)),
    };
    emit(args, &render_with_model(args, knowledge, &applied)?)?;
    let report = &applied.report;
    if !report.errors.is_empty() {
        // An incomplete report cannot pass a gate: the input is at fault (1), not the risk.
        return Ok(exit_code(report.errors.len()));
    }
    let personal = "handles_personal_data";
    let handles_personal_data = (applied.model.system.get(personal))
        .or_else(|| {
            (knowledge.kb.system_properties.get(personal))
                .map(|property| &property.definition.default)
        })
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let context = GateContext {
        tiers: &knowledge.kb.tiers,
        handles_personal_data,
    };
    let violations = evaluate(report, policy, baseline, &context);
    if violations.is_empty() {
        say!(
            "the gate passed{}",
            if baseline.is_some() {
                " (nothing new or worse since the baseline)"
            } else {
                ""
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{}",
        threatpack::render::visible(&gate_summary(&violations, baseline.is_some()))
    );
    Ok(ExitCode::from(GATE_FAILED))
}

/// Why the gate failed: the count per rule, then each violation (the first 50).
fn gate_summary(violations: &[Violation], with_baseline: bool) -> String {
    const SHOWN: usize = 50;
    let mut by_rule: std::collections::BTreeMap<&str, usize> = Default::default();
    for violation in violations {
        *by_rule.entry(violation.rule).or_default() += 1;
    }
    let counts: Vec<String> = by_rule
        .iter()
        .map(|(rule, count)| format!("{rule}: {count}"))
        .collect();
    let mut out = format!(
        "error: the gate failed: {}{} ({})",
        super::plural(violations.len(), "violation"),
        if with_baseline {
            " new or worse since the baseline"
        } else {
            ""
        },
        counts.join(", ")
    );
    for violation in violations.iter().take(SHOWN) {
        out.push_str(&format!("\n  {}: {}", violation.rule, violation.message));
    }
    if violations.len() > SHOWN {
        out.push_str(&format!("\n  ... and {} more", violations.len() - SHOWN));
    }
    out.push_str("\nhelp: mitigate them (`[[mitigation-status]]` in the model), or record a governed `accepted-risk`; see docs/ci.md");
    out
}
/// The backlog as CSV or JSON: for a tracker, since an earlier report.
fn backlog(
    args: &ApplyArgs,
    report: &threatpack::analysis::report::Report,
) -> Result<String, String> {
    use threatpack::analysis::backlog_sync::{PreviousReport, Tracker, changes, tracker_csv};
    let changes = match &args.since {
        Some(path) => {
            let bytes = threatpack::workspace::read_capped(path, MAX_SINCE_REPORT_BYTES)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("`{}` is not UTF-8 text", path.display()))?;
            let previous = PreviousReport::parse(&text)
                .map_err(|error| format!("`{}` is {error}", path.display()))?;
            Some(changes(report, &previous))
        }
        None => None,
    };
    if args.format == ApplyFormat::BacklogJson {
        return Ok(threatpack::analysis::backlog::backlog_json_since(
            report,
            changes.as_ref(),
        ));
    }
    let tracker = match args.tracker {
        None if changes.is_none() => return backlog_csv(report, &args.work_item_type),
        None | Some(TrackerArg::AzureDevops) => Tracker::AzureDevops,
        Some(TrackerArg::Jira) => Tracker::Jira,
        Some(TrackerArg::Github) => Tracker::Github,
    };
    tracker_csv(report, tracker, &args.work_item_type, changes.as_ref())
}

/// An earlier report read for `--since`: reports of large models are large.
const MAX_SINCE_REPORT_BYTES: u64 = 1 << 30;

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
