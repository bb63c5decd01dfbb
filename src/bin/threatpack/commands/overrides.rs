//! `threatpack overrides refresh [PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::ops::RefreshedOverrides;

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
    let RefreshedOverrides {
        refresh: refreshed,
        lock,
    } = threatpack::ops::refresh_overrides(&args.path).map_err(|error| error.to_string())?;
    for target in &refreshed.stamped {
        crate::output::say!("  stamped       {target}");
    }
    for target in &refreshed.acknowledged {
        crate::output::say!("  acknowledged  {target} (changed upstream)");
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
        lock.display()
    ));
    Ok(if refreshed.unresolved.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
