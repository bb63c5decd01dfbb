//! `threatpack overrides refresh [PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::source::UPSTREAM_LOCK;
use threatpack::upstream::refresh;
use threatpack::workspace::{load_graph, write_atomically};

#[derive(Debug, Args)]
pub struct OverridesArgs {
    #[command(subcommand)]
    command: OverridesCommand,
}

#[derive(Debug, Subcommand)]
enum OverridesCommand {
    /// Record, in each override, the digest of its target as it is now (and its content in
    /// `upstream.lock`): after reviewing an upstream change, this acknowledges it
    Refresh(RefreshArgs),
}

#[derive(Debug, Args)]
struct RefreshArgs {
    /// The pack directory (holding `pack.toml`)
    #[arg(default_value = ".")]
    path: PathBuf,
}

pub fn run(args: OverridesArgs) -> Result<ExitCode, String> {
    let OverridesCommand::Refresh(args) = args.command;
    let display_root = super::display_root(&args.path);
    let graph = load_graph(&args.path, &display_root).map_err(|error| error.to_string())?;
    let refreshed = refresh(&graph)?;
    for (pack_path, text) in &refreshed.files {
        write_atomically(&args.path.join(pack_path), text.as_bytes(), 0o644)?;
    }
    write_atomically(&args.path.join(UPSTREAM_LOCK), &refreshed.lock, 0o644)?;
    for target in &refreshed.stamped {
        eprintln!("  stamped       {target}");
    }
    for target in &refreshed.acknowledged {
        eprintln!("  acknowledged  {target} (changed upstream)");
    }
    for target in &refreshed.unresolved {
        eprintln!("  not found     {target} (run `threatpack check`)");
    }
    crate::output::status(&format!(
        "refreshed {}: {} stamped, {} acknowledged, {} unchanged; wrote `{}`",
        super::plural(
            refreshed.stamped.len() + refreshed.acknowledged.len() + refreshed.unchanged,
            "override"
        ),
        refreshed.stamped.len(),
        refreshed.acknowledged.len(),
        refreshed.unchanged,
        args.path.join(UPSTREAM_LOCK).display()
    ));
    Ok(if refreshed.unresolved.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
