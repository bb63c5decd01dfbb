//! `threatpack lock`, `threatpack update` and `threatpack fetch`: keep `threatpack.lock` in
//! step with a pack's or project's registry dependencies, and bring the locked bundles into the
//! cache, verified. `update` fetches what it locks; `lock` only writes the lockfile.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use threatpack::render::visible;

use clap::Args;
use serde_json::json;
use threatpack::client::fetch::Fetched;
use threatpack::ops::{self, LockOptions, Locked, Unlock, describe_changes};

use super::Format;
use super::dependencies::{DependencyArgs, TerminalProgress, report_error};
use super::registry::RegistryArgs;

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The project (holding threatpack.toml) or pack (holding pack.toml) directory
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    dependencies: DependencyArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    /// `human`, or `json`: one document on stdout with the changes and the locked packs
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The packs to move to the newest matching version (default: all)
    names: Vec<String>,
    /// The project or pack directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    dependencies: DependencyArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    /// `human`, or `json`: one document on stdout with the changes, the locked and fetched packs
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write nothing: show what the update would change in the project's threat model
    /// (threats new, gone and changed; backlog items added, removed and changed)
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The project or pack directory
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    dependencies: DependencyArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    /// `human`, or `json`: one document on stdout with each pack's digest, signer and source
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run_lock(args: LockArgs) -> Result<ExitCode, String> {
    let options = LockOptions {
        dependencies: args.dependencies.options(&args.registry),
        unlock: Unlock::Nothing,
        fetch: false,
    };
    match ops::lock(&args.path, &options, &TerminalProgress::default()) {
        Ok(locked) => print_locked(locked.as_ref(), args.format),
        Err(error) => Ok(report_error(&error)),
    }
}

pub fn run_update(args: UpdateArgs) -> Result<ExitCode, String> {
    let unlock = if args.names.is_empty() {
        Unlock::All
    } else {
        for name in &args.names {
            super::registry::split_pack(name)?;
        }
        Unlock::Packs(args.names.iter().cloned().collect::<BTreeSet<_>>())
    };
    let options = LockOptions {
        dependencies: args.dependencies.options(&args.registry),
        unlock,
        fetch: true,
    };
    if args.dry_run {
        return print_update_impact(&args, &options);
    }
    match ops::lock(&args.path, &options, &TerminalProgress::default()) {
        Ok(locked) => print_locked(locked.as_ref(), args.format),
        Err(error) => Ok(report_error(&error)),
    }
}

/// `update --dry-run`: the lockfile's changes and the threat-model diff, nothing written.
fn print_update_impact(args: &UpdateArgs, options: &LockOptions) -> Result<ExitCode, String> {
    let impact = match ops::update_impact(
        &args.path,
        options,
        &ops::ApplyOptions::default(),
        &TerminalProgress::default(),
    ) {
        Ok(impact) => impact,
        Err(error) => return Ok(report_error(&error)),
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&impact)
                .map_err(|error| format!("cannot write the result: {error}"))?
        ),
        Format::Human => {
            if impact.changes.is_empty() {
                crate::output::say!("nothing to update: the threat model stays as it is");
            } else {
                for change in describe_changes(&impact.changes).split("; ") {
                    crate::output::say!("dry run: {change}");
                }
                print!("{}", threatpack::analysis::diff::human(&impact.diff, None));
            }
            crate::output::say!("{} not written (--dry-run)", impact.lockfile.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_fetch(args: FetchArgs) -> Result<ExitCode, String> {
    let options = args.dependencies.options(&args.registry);
    let fetched = match ops::fetch(&args.path, &options, &TerminalProgress::default()) {
        Ok(fetched) => fetched,
        Err(error) => return Ok(report_error(&error)),
    };
    let packs = fetched.as_ref().map_or(&[][..], |fetched| &fetched.packs);
    match args.format {
        Format::Json => println!("{}", json!({ "packs": packs_json(packs) })),
        Format::Human if fetched.is_none() => {
            crate::output::say!("no registry dependencies: nothing to fetch");
        }
        Format::Human => {
            if let Some(fetched) = &fetched {
                print_changes(&fetched.locked);
            }
            for pack in packs {
                println!(
                    "{} {} {}",
                    pack.pack.name,
                    pack.pack.version,
                    pack.bundle_path.display()
                );
            }
            print_fetched(packs);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_locked(locked: Option<&Locked>, format: Format) -> Result<ExitCode, String> {
    let Some(locked) = locked else {
        match format {
            Format::Json => println!(
                "{}",
                json!({ "lockfile": null, "written": false, "changes": [], "packs": [] })
            ),
            Format::Human => crate::output::say!("no registry dependencies: nothing to lock"),
        }
        return Ok(ExitCode::SUCCESS);
    };
    if format == Format::Json {
        let packs: Vec<_> = locked
            .lockfile
            .packs
            .iter()
            .map(|pack| {
                json!({
                    "name": pack.name,
                    "version": pack.version,
                    "checksum": pack.checksum,
                    "signer": pack.signer,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "lockfile": locked.path.display().to_string(),
                "written": locked.written,
                "changes": locked.changes,
                "packs": packs,
                "upstream": locked.upstream,
                "fetched": packs_json(&locked.fetched),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_changes(locked);
    for report in &locked.upstream {
        println!(
            "{} {} -> {}: upstream changes to the {} this pack overrides",
            report.name,
            report.from,
            report.to,
            super::plural(report.items.len(), "item")
        );
        for item in &report.items {
            println!(
                "  {} (overridden at {})",
                visible(&item.target),
                visible(&item.at)
            );
            for line in &item.changes {
                // Upstream changes quote the published bundles.
                println!("    {}", visible(line));
            }
        }
    }
    let state = if locked.written {
        "written"
    } else {
        "up to date"
    };
    crate::output::say!(
        "{} {state}: {}",
        locked.path.display(),
        super::plural(locked.lockfile.packs.len(), "pack")
    );
    for pack in &locked.lockfile.packs {
        println!("{} {} {}", pack.name, pack.version, pack.checksum);
    }
    if !locked.fetched.is_empty() {
        print_fetched(&locked.fetched);
    }
    Ok(ExitCode::SUCCESS)
}

/// The lockfile's changes, one per line, when it was written.
fn print_changes(locked: &Locked) {
    if locked.written {
        for change in describe_changes(&locked.changes).split("; ") {
            crate::output::say!("    {change}");
        }
    }
}

fn print_fetched(packs: &[Fetched]) {
    let downloaded = packs.iter().filter(|pack| pack.downloaded).count();
    crate::output::say!(
        "fetched {}: {downloaded} downloaded, {} from the cache; every sha256 and signature verified",
        super::plural(packs.len(), "pack"),
        packs.len() - downloaded
    );
}

fn packs_json(packs: &[Fetched]) -> Vec<serde_json::Value> {
    packs
        .iter()
        .map(|pack| {
            json!({
                "name": pack.pack.name,
                "version": pack.pack.version,
                "digest": pack.pack.checksum,
                "signer": pack.pack.signer,
                "from-cache": !pack.downloaded,
                "path": pack.bundle_path.display().to_string(),
            })
        })
        .collect()
}
