//! `threatpack deprecate NAME@VERSION --message TEXT [--use VERSION]` and
//! `threatpack undeprecate NAME@VERSION`.

use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{DeprecateOptions, set_deprecated};
use threatpack::wire::VersionDeprecation;

use super::Format;
use super::registry::{RegistryArgs, message, print_json, split_pack_version};

#[derive(Debug, Args)]
pub struct DeprecateArgs {
    /// The version to deprecate, e.g. `acme/web@1.2.0`
    #[arg(value_name = "NAME@VERSION")]
    target: String,
    /// Why, and what to do (shown to everyone who locks, fetches or applies the version)
    #[arg(long, value_name = "TEXT")]
    message: String,
    /// A published version of the same pack to use instead, e.g. `1.3.0`
    #[arg(long = "use", value_name = "VERSION")]
    replacement: Option<String>,
    /// `json`: the registry's answer (`name`, `version`, `deprecated`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct UndeprecateArgs {
    /// The version no longer deprecated, e.g. `acme/web@1.2.0`
    #[arg(value_name = "NAME@VERSION")]
    target: String,
    /// `json`: the registry's answer (`name`, `version`, `deprecated`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run_deprecate(args: DeprecateArgs) -> Result<ExitCode, String> {
    let deprecation = VersionDeprecation {
        message: args.message,
        replacement: args.replacement,
    };
    change(&args.registry, &args.target, Some(deprecation), args.format)
}

pub fn run_undeprecate(args: UndeprecateArgs) -> Result<ExitCode, String> {
    change(&args.registry, &args.target, None, args.format)
}

fn change(
    registry: &RegistryArgs,
    target: &str,
    deprecation: Option<VersionDeprecation>,
    format: Format,
) -> Result<ExitCode, String> {
    let (pack, version) = split_pack_version(target)?;
    let options = DeprecateOptions {
        registry: registry.authenticated()?,
        pack: pack.to_string(),
        version: version.to_string(),
        deprecation,
    };
    let answer = set_deprecated(&options).map_err(message)?;
    if format == Format::Json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &answer.deprecated {
        Some(_) => println!("deprecated {pack}@{version}"),
        None => println!("undeprecated {pack}@{version}"),
    }
    Ok(ExitCode::SUCCESS)
}
