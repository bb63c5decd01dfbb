//! `threatpack yank NAME@VERSION --reason TEXT` and `threatpack unyank NAME@VERSION`.

use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{YankOptions, set_yanked};

use super::Format;
use super::registry::{RegistryArgs, message, print_json, split_pack_version};

#[derive(Debug, Args)]
pub struct YankArgs {
    /// The version to yank, e.g. `acme/web@1.2.0`
    #[arg(value_name = "NAME@VERSION")]
    target: String,
    /// Why (shown in the index to everyone who uses the version)
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// `json`: the registry's answer (`name`, `version`, `yanked`, `reason`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
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
    /// `json`: the registry's answer (`name`, `version`, `yanked`, `reason`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run_yank(args: YankArgs) -> Result<ExitCode, String> {
    change(
        &args.registry,
        &args.target,
        true,
        Some(args.reason),
        args.format,
    )
}

pub fn run_unyank(args: UnyankArgs) -> Result<ExitCode, String> {
    change(
        &args.registry,
        &args.target,
        false,
        args.reason,
        args.format,
    )
}

fn change(
    registry: &RegistryArgs,
    target: &str,
    yanked: bool,
    reason: Option<String>,
    format: Format,
) -> Result<ExitCode, String> {
    let (pack, version) = split_pack_version(target)?;
    let options = YankOptions {
        registry: registry.authenticated()?,
        pack: pack.to_string(),
        version: version.to_string(),
        yanked,
        reason,
    };
    let answer = set_yanked(&options).map_err(message)?;
    if format == Format::Json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let done = if yanked { "yanked" } else { "unyanked" };
    println!("{done} {pack}@{version}");
    Ok(ExitCode::SUCCESS)
}
