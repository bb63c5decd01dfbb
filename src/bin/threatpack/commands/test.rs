//! `threatpack test [PACK]`: runs the pack's tests; exit 1 if any fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use threatpack::ops::{self, Error, TestOptions};
use threatpack::render::visible;
use threatpack::testing::{TestOutcome, junit_xml};

use super::dependencies::{TerminalProgress, report_error};
use super::{Format, plural, print_diagnostics};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The pack directory (holding `pack.toml` and `tests/`)
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    dependencies: super::dependencies::DependencyArgs,
    #[command(flatten)]
    registry: super::registry::RegistryArgs,
    /// Run only the tests whose file name contains this text
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// `human`; `json`: one document on stdout with the result of each test; `junit`: JUnit
    /// XML for CI test reports
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    format: TestFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFormat {
    Human,
    Json,
    Junit,
}

pub fn run(args: TestArgs) -> Result<ExitCode, String> {
    let options = TestOptions {
        dependencies: args.dependencies.options(&args.registry),
        filter: args.filter.clone(),
    };
    let outcomes = match ops::test(&args.path, &options, &TerminalProgress::default()) {
        Ok(outcomes) => outcomes,
        Err(Error::PackHasErrors {
            pack,
            diagnostics,
            graph,
        }) => {
            print_diagnostics(&diagnostics, &graph, Format::Human)?;
            eprintln!(
                "error: `{pack}` has {}; its tests cannot run",
                plural(diagnostics.len().max(1), "error")
            );
            return Ok(ExitCode::from(1));
        }
        Err(error @ Error::NoTests { .. }) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Ok(report_error(&error)),
    };
    let failed = outcomes.iter().filter(|outcome| !outcome.passed()).count();
    match args.format {
        TestFormat::Json => println!("{}", outcomes_json(&outcomes)),
        TestFormat::Junit => print!("{}", junit_xml(&super::display_root(&args.path), &outcomes)),
        TestFormat::Human => print_outcomes(&outcomes, failed),
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `{"passed": N, "failed": N, "tests": [{file, description, passed, missing, unexpected,
/// wrong-tier, errors, model-problems}]}`.
fn outcomes_json(outcomes: &[TestOutcome]) -> serde_json::Value {
    let findings = |findings: &[(String, String)]| -> Vec<serde_json::Value> {
        findings
            .iter()
            .map(|(finding, explanation)| json!({ "finding": finding, "explanation": explanation }))
            .collect()
    };
    let tests: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|outcome| {
            json!({
                "file": outcome.file,
                "description": outcome.description.trim(),
                "passed": outcome.passed(),
                "missing": findings(&outcome.missing),
                "unexpected": findings(&outcome.unexpected),
                "wrong-tier": outcome.wrong_tier.as_ref().map(|(expected, chosen)| {
                    json!({ "expected": expected, "chosen": chosen })
                }),
                "errors": outcome.errors,
                "model-problems": outcome
                    .diagnostics
                    .iter()
                    .map(|diagnostic| diagnostic.message.clone())
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let failed = outcomes.iter().filter(|outcome| !outcome.passed()).count();
    json!({
        "passed": outcomes.len() - failed,
        "failed": failed,
        "tests": tests,
    })
}

fn print_outcomes(outcomes: &[TestOutcome], failed: usize) {
    for outcome in outcomes {
        if outcome.passed() {
            println!("ok    {}", visible(&outcome.file));
            continue;
        }
        println!(
            "FAIL  {} — {}",
            visible(&outcome.file),
            visible(outcome.description.trim())
        );
        for diagnostic in &outcome.diagnostics {
            println!("      model: {}", visible(&diagnostic.message));
        }
        for error in &outcome.errors {
            println!("      error: {}", visible(error));
        }
        if let Some((expected, chosen)) = &outcome.wrong_tier {
            println!("      - tier {}", visible(expected));
            println!("      + tier {}", visible(chosen));
        }
        for (finding, explanation) in &outcome.missing {
            println!("      - {}   (expected, not produced)", visible(finding));
            print_indented(explanation);
        }
        for (finding, explanation) in &outcome.unexpected {
            println!("      + {}   (produced, expected absent)", visible(finding));
            print_indented(explanation);
        }
    }
    println!(
        "\n{}: {} passed, {} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        outcomes.len() - failed,
        failed
    );
}

fn print_indented(text: &str) {
    for line in text.lines() {
        println!("          {}", visible(line));
    }
}
