//! `threatpack search QUERY`: packs whose name, description or tags contain QUERY.

use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{SearchOptions, search};
use threatpack::render::visible;

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Text to find in pack names, descriptions and tags
    query: String,
    /// Results per page (at most 100)
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    per_page: u32,
    /// The page to show (from 1)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    page: u32,
    /// `json`: the registry's answer (`packs` and `meta`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: SearchArgs) -> Result<ExitCode, String> {
    let options = SearchOptions {
        registry: args.registry.public()?,
        query: args.query,
        page: args.page,
        per_page: args.per_page,
    };
    let answer = search(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    for pack in &answer.packs {
        println!(
            "{}  {}  {}",
            visible(&pack.name),
            visible(pack.latest_version.as_deref().unwrap_or("(all yanked)")),
            visible(&pack.description),
        );
    }
    crate::output::say!(
        "{} of {} matching `{}` (page {})",
        answer.packs.len(),
        answer.meta.total,
        visible(&options.query),
        options.page
    );
    Ok(ExitCode::SUCCESS)
}
