//! `threatpack export FORMAT PACK|BUNDLE --out FILE`: a pack (checked and compiled) or a built
//! bundle written in another tool's format, and the report of what was left out.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::ops::{DependencyOptions, KnowledgeOptions, KnowledgeSource, load_knowledge};
use threatpack::workspace::write_atomically;

use super::Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// An OWASP pytm threat library (threats.json, loaded by pytm 1.4's TM.threatsFile)
    Pytm,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write
    #[arg(value_enum)]
    target: Target,
    /// A pack directory, or a built bundle (.tar.gz)
    input: PathBuf,
    /// The file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The report: for people (stderr), or one JSON document (stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: ExportArgs) -> Result<ExitCode, String> {
    let source = if args.input.is_dir() {
        KnowledgeSource::Pack {
            path: args.input.clone(),
            tier: None,
        }
    } else {
        KnowledgeSource::Bundle {
            path: args.input.clone(),
            keys: Vec::new(),
        }
    };
    let options = KnowledgeOptions {
        source,
        dependencies: DependencyOptions::default(),
    };
    let progress = super::dependencies::TerminalProgress::default();
    let knowledge = load_knowledge(&options, &progress)
        .map_err(|error| format!("cannot read `{}`: {error}", args.input.display()))?;
    let exported = match args.target {
        Target::Pytm => threatpack::export::pytm::export(&knowledge.kb),
    };
    write_atomically(&args.out, exported.text.as_bytes(), 0o644)?;
    let report = &exported.report;
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(report)
                .map_err(|error| format!("cannot write the report: {error}"))?;
            println!("{json}");
        }
        Format::Human => {
            eprintln!(
                "exported {} {} to `{}`: {} threats",
                report.pack,
                report.version,
                args.out.display(),
                report.threats
            );
            for entry in &report.not_exported {
                eprintln!(
                    "  not exported, {} ({}): {}",
                    entry.reason,
                    entry.items.len(),
                    entry.items.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
