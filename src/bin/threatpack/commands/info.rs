//! `threatpack info NAME`: a pack's index on the registry — every version with its digest,
//! tier, signer and whether it is yanked or deprecated.

use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{InfoOptions, info};
use threatpack::render::visible;

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The pack, e.g. `acme/web`
    name: String,
    /// `json`: the registry's index of the pack, as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: InfoArgs) -> Result<ExitCode, String> {
    let options = InfoOptions {
        registry: args.registry.public()?,
        pack: args.name,
    };
    let index = info(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&index)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Everything below comes from the registry: made visible before it reaches the terminal.
    println!("{} ({})", visible(&index.name), options.registry.url);
    if index.versions.is_empty() {
        println!("  no versions");
    }
    for version in &index.versions {
        println!(
            "  {}  {}  tier {}  signer {}{}  published {}",
            visible(&version.version),
            visible(&version.digest),
            visible(version.tier.as_deref().unwrap_or("all")),
            visible(&version.signer_key_id),
            if version.signer_key_removed {
                " (key removed)"
            } else {
                ""
            },
            visible(&version.published_at),
        );
        if version.yanked {
            println!(
                "    yanked: {}",
                visible(
                    version
                        .yank_reason
                        .as_deref()
                        .unwrap_or("(no reason given)")
                )
            );
        }
        if let Some(deprecation) = &version.deprecated {
            println!(
                "    deprecated: {}{}",
                visible(&deprecation.message),
                deprecation
                    .replacement
                    .as_deref()
                    .map(|replacement| format!(" (use {})", visible(replacement)))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
