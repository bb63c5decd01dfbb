//! `threatpack questions --model MODEL (--pack DIR | --bundle FILE) [--tier ...] [--format ...]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::analysis::questions::{questions, render};
use threatpack::engine::Engine;
use threatpack::engine::bind::bind;
use threatpack::engine::tiers::{TierRequest, choose_tier};

use super::Format;
use super::knowledge::{KnowledgeArgs, TrustArgs, load, print_model_diagnostics, read_model};

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
    /// For Open Threat Model files: the table mapping OTM types to entity kinds
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// `human` (Markdown) or `json`
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: QuestionsArgs) -> Result<ExitCode, String> {
    let loaded = match load(&args.knowledge, &args.trust)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let model_path = loaded.model(args.model.as_deref())?;
    let kb = loaded.kb;
    let file = match read_model(&model_path, args.mapping.as_deref())? {
        Ok(file) => file,
        Err(code) => return Ok(code),
    };
    let mut engine = Engine::new(&kb);
    let model = match bind(&mut engine, &file) {
        Ok(model) => model,
        Err(diagnostics) => {
            print_model_diagnostics(&diagnostics, &file.display_path, &file.text);
            return Ok(ExitCode::from(1));
        }
    };
    let (max_rank, _) = choose_tier(
        &mut engine,
        &model,
        TierRequest::parse(args.tier.as_deref()),
    )?;
    let rules = engine.rules(max_rank);
    let asked = questions(&engine, &rules, &model);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&asked).map_err(|error| error.to_string())?
        ),
        Format::Human => print!("{}", render(&asked)),
    }
    Ok(ExitCode::SUCCESS)
}
