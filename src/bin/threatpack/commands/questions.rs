//! `threatpack questions --model MODEL (--pack DIR | --bundle FILE) [--tier ...] [--format ...]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::analysis::questions::render;
use threatpack::ops::{self, ApplyOptions};

use super::Format;
use super::dependencies::report_error;
use super::knowledge::{KnowledgeArgs, TrustArgs, load};

#[derive(Debug, Args)]
pub struct QuestionsArgs {
    /// The system model (default: the project's `model`)
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    #[command(flatten)]
    knowledge: KnowledgeArgs,
    #[command(flatten)]
    trust: TrustArgs,
    /// A tier name, `auto` or `all` (as for `apply`)
    #[arg(long, value_name = "NAME")]
    tier: Option<String>,
    /// For OTM, Threat Dragon and .tm7 models: the table mapping their types to entity kinds
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// `human` (Markdown) or `json`
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: QuestionsArgs) -> Result<ExitCode, String> {
    let options = ApplyOptions {
        model: args.model.clone(),
        mapping: args.mapping.clone(),
        tier: args.tier.clone(),
        ..ApplyOptions::default()
    };
    let asked = match load(&args.knowledge, &args.trust)
        .and_then(|knowledge| ops::questions(&knowledge, &options))
    {
        Ok(asked) => asked,
        Err(error) => return Ok(report_error(&error)),
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&asked).map_err(|error| error.to_string())?
        ),
        Format::Human => print!("{}", render(&asked)),
    }
    Ok(ExitCode::SUCCESS)
}
