//! `threatpack info NAME`: a pack's index on the registry — every version with its digest,
//! tier, signer and whether it is yanked.

use std::process::ExitCode;

use clap::Args;

use super::registry::{RegistryArgs, Request, common_error, send, split_pack};

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The pack, e.g. `acme/web`
    name: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: InfoArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    split_pack(&args.name)?;
    let path = format!("/packs/{}", args.name);
    let response = send(&registry, &Request::new("GET", &path))?;
    match response.status {
        200 => {}
        404 => {
            return Err(format!(
                "no pack `{}` on {registry}: check the name with `threatpack search`",
                args.name
            ));
        }
        _ => return Err(common_error(&registry, &response, "read access")),
    }
    let index = response.json()?;
    let text = |value: &serde_json::Value| value.as_str().unwrap_or("-").to_string();
    let versions = index["versions"].as_array().cloned().unwrap_or_default();
    println!("{} ({registry})", args.name);
    if versions.is_empty() {
        println!("  no versions");
    }
    for version in &versions {
        let tier = version["tier"].as_str().unwrap_or("all");
        println!(
            "  {}  {}  tier {tier}  signer {}  published {}",
            text(&version["version"]),
            text(&version["digest"]),
            text(&version["signer_key_id"]),
            text(&version["published_at"]),
        );
        if version["yanked"].as_bool() == Some(true) {
            println!(
                "    yanked: {}",
                version["yank_reason"]
                    .as_str()
                    .unwrap_or("(no reason given)")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
