//! `threatpack yank NAME@VERSION --reason TEXT` and `threatpack unyank NAME@VERSION`.

use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{YankOptions, set_yanked};

use super::registry::{RegistryArgs, message, split_pack_version};

#[derive(Debug, Args)]
pub struct YankArgs {
    /// The version to yank, e.g. `acme/web@1.2.0`
    #[arg(value_name = "NAME@VERSION")]
    target: String,
    /// Why (shown in the index to everyone who uses the version)
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct UnyankArgs {
    /// The version to restore, e.g. `acme/web@1.2.0`
    #[arg(value_name = "NAME@VERSION")]
    target: String,
    /// Why (recorded in the registry's audit log)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run_yank(args: YankArgs) -> Result<ExitCode, String> {
    change(&args.registry, &args.target, true, Some(args.reason))
}

pub fn run_unyank(args: UnyankArgs) -> Result<ExitCode, String> {
    change(&args.registry, &args.target, false, args.reason)
}

fn change(
    registry: &RegistryArgs,
    target: &str,
    yanked: bool,
    reason: Option<String>,
) -> Result<ExitCode, String> {
    let (pack, version) = split_pack_version(target)?;
    let options = YankOptions {
        registry: registry.authenticated()?,
        pack: pack.to_string(),
        version: version.to_string(),
        yanked,
        reason,
    };
    set_yanked(&options).map_err(message)?;
    let done = if yanked { "yanked" } else { "unyanked" };
    println!("{done} {pack}@{version}");
    Ok(ExitCode::SUCCESS)
}
