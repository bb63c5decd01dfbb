//! `threatpack publish BUNDLE [--registry URL]`: uploads a bundle and its `BUNDLE.minisig`
//! (`threatpack::ops::registry::publish`: verified against the namespace's publisher keys
//! before anything is uploaded).

use std::path::PathBuf;
use std::process::ExitCode;
use threatpack::render::visible;

use clap::Args;
use threatpack::ops::NoProgress;
use threatpack::ops::registry::{PublishOptions, publish};

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The bundle (`threatpack build`), signed with `threatpack sign` (BUNDLE.minisig)
    bundle: PathBuf,
    /// Publish even though the version is bumped less than its changes require (the registry
    /// refuses it otherwise); the reason is recorded in the registry's audit log
    #[arg(long, value_name = "REASON")]
    allow_semver_violation: Option<String>,
    /// `json`: the registry's answer (digest, signer, `created`, semver decision), as one JSON
    /// document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: PublishArgs) -> Result<ExitCode, String> {
    let options = PublishOptions {
        registry: args.registry.authenticated()?,
        bundle: args.bundle,
        signature: None,
        allow_semver_violation: args.allow_semver_violation,
    };
    let published = publish(&options, &NoProgress).map_err(message)?;
    if args.format == Format::Json {
        print_json(&published)?;
        return Ok(ExitCode::SUCCESS);
    }
    // The answer comes from the registry: made visible before it reaches the terminal.
    let (name, version, digest) = (
        visible(&published.name),
        visible(&published.version),
        visible(&published.digest),
    );
    if !published.created {
        println!("{name}@{version} was already published with these bytes: {digest}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("published {name}@{version}: {digest}");
    if let Some(log) = &published.log {
        println!(
            "  logged as entry {} of the registry's transparency log ({} entries; inclusion proof checked)",
            log.index, log.tree_size
        );
    }
    if let Some(semver) = &published.semver {
        if let Some(required) = semver.required {
            println!(
                "  against {}: the changes need a {} bump; declared {}",
                visible(&semver.baseline),
                required.as_str(),
                semver.declared.map_or("none", |declared| declared.as_str())
            );
        }
        if let Some(note) = &semver.note {
            println!("  against {}: {}", visible(&semver.baseline), visible(note));
        }
        if let Some(reason) = &semver.allowed_violation {
            println!(
                "  semver violation accepted (recorded in the audit log): {}",
                visible(reason)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
