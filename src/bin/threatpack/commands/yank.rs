//! `threatpack yank NAME@VERSION --reason TEXT` and `threatpack unyank NAME@VERSION`.

use std::process::ExitCode;

use clap::Args;

use super::registry::{RegistryArgs, Request, common_error, send, split_pack_version, token};

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
    if args.reason.trim().is_empty() {
        return Err("`--reason` is empty: say why the version is yanked".to_string());
    }
    change(&args.registry, &args.target, "yank", Some(&args.reason))
}

pub fn run_unyank(args: UnyankArgs) -> Result<ExitCode, String> {
    change(
        &args.registry,
        &args.target,
        "unyank",
        args.reason.as_deref(),
    )
}

fn change(
    registry: &RegistryArgs,
    target: &str,
    action: &str,
    reason: Option<&str>,
) -> Result<ExitCode, String> {
    let registry = registry.url()?;
    let (name, version) = split_pack_version(target)?;
    let token = token(&registry)?;
    let path = format!("/packs/{name}/{version}/{action}");
    let body = serde_json::json!({ "reason": reason }).to_string();
    let mut request = Request::new("PUT", &path);
    request.token = Some(&token);
    request.body = Some(("application/json", body.as_bytes()));
    let response = send(&registry, &request)?;
    match response.status {
        200 => {
            let done = if action == "yank" {
                "yanked"
            } else {
                "unyanked"
            };
            println!("{done} {name}@{version}");
            Ok(ExitCode::SUCCESS)
        }
        404 => Err(format!(
            "{name}@{version} is not on {registry} ({}): check the name and version with `threatpack info {name}`",
            response.detail()
        )),
        422 => Err(format!("the registry refused: {}", response.detail())),
        _ => Err(common_error(
            &registry,
            &response,
            &format!("the `yank` scope covering `{name}`"),
        )),
    }
}
