//! `threatpack search QUERY`: packs whose name, description or tags contain QUERY.

use std::process::ExitCode;

use clap::Args;

use super::registry::{RegistryArgs, Request, common_error, encode, send};

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
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: SearchArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let path = format!(
        "/packs?q={}&page={}&per_page={}",
        encode(&args.query),
        args.page,
        args.per_page
    );
    let response = send(&registry, &Request::new("GET", &path))?;
    if response.status != 200 {
        return Err(common_error(&registry, &response, "read access"));
    }
    let body = response.json()?;
    let packs = body["packs"].as_array().cloned().unwrap_or_default();
    for pack in &packs {
        println!(
            "{}  {}  {}",
            pack["name"].as_str().unwrap_or("-"),
            pack["latest_version"].as_str().unwrap_or("(all yanked)"),
            pack["description"].as_str().unwrap_or(""),
        );
    }
    let total = body["meta"]["total"].as_u64().unwrap_or(packs.len() as u64);
    eprintln!(
        "{} of {total} matching `{}` (page {})",
        packs.len(),
        args.query,
        args.page
    );
    Ok(ExitCode::SUCCESS)
}
