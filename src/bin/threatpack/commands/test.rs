//! `threatpack test [PACK]`: runs the pack's tests; exit 1 if any fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::build::check_and_compile;
use threatpack::check::CheckOptions;
use threatpack::diagnostic::{Diagnostic, Severity};
use threatpack::render::visible;
use threatpack::testing::run_pack_tests;

use super::{display_root, plural, print_diagnostics};

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
}

pub fn run(args: TestArgs) -> Result<ExitCode, String> {
    let display = display_root(&args.path);
    let graph = super::dependencies::load_pack_graph(
        &args.path,
        &display,
        &args.registry,
        &args.dependencies,
    )?;
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    let Some(kb) = kb.filter(|_| errors.is_empty()) else {
        print_diagnostics(&errors, &graph, super::Format::Human)?;
        eprintln!(
            "error: `{display}` has {}; its tests cannot run",
            plural(errors.len().max(1), "error")
        );
        return Ok(ExitCode::from(1));
    };
    let mut outcomes = run_pack_tests(&graph, &kb);
    if let Some(filter) = &args.filter {
        outcomes.retain(|outcome| outcome.file.contains(filter.as_str()));
    }
    if outcomes.is_empty() {
        eprintln!(
            "error: `{display}` has no tests{}; add files under `{display}/tests/` (docs/pack-format.md#pack-tests)",
            args.filter
                .as_ref()
                .map_or(String::new(), |filter| format!(" matching `{filter}`"))
        );
        return Ok(ExitCode::from(1));
    }
    let mut failed = 0;
    for outcome in &outcomes {
        if outcome.passed() {
            println!("ok    {}", visible(&outcome.file));
            continue;
        }
        failed += 1;
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
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_indented(text: &str) {
    for line in text.lines() {
        println!("          {}", visible(line));
    }
}
