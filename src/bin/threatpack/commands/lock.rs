//! `threatpack lock`, `threatpack update` and `threatpack fetch`: keep `threatpack.lock` in
//! step with a pack's or project's registry dependencies, and bring the locked bundles into the
//! cache, verified.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::client::resolve::Unlock;

use super::dependencies::{DependencyArgs, Root, fetch, lock};
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
}

pub fn run_lock(args: LockArgs) -> Result<ExitCode, String> {
    let root = Root::at(&args.path)?;
    report_lock(&root, &args.registry, &args.dependencies, &Unlock::Nothing)
}

pub fn run_update(args: UpdateArgs) -> Result<ExitCode, String> {
    let root = Root::at(&args.path)?;
    let unlock = if args.names.is_empty() {
        Unlock::All
    } else {
        for name in &args.names {
            super::registry::split_pack(name)?;
        }
        Unlock::Packs(args.names.iter().cloned().collect::<BTreeSet<_>>())
    };
    report_lock(&root, &args.registry, &args.dependencies, &unlock)
}

fn report_lock(
    root: &Root,
    registry: &RegistryArgs,
    dependencies: &DependencyArgs,
    unlock: &Unlock,
) -> Result<ExitCode, String> {
    match lock(root, registry, dependencies, unlock)? {
        None => eprintln!("no registry dependencies: nothing to lock"),
        Some(locked) => {
            let state = if locked.written {
                "written"
            } else {
                "up to date"
            };
            eprintln!(
                "{} {state}: {}",
                locked.path.display(),
                super::plural(locked.lock.packs.len(), "pack")
            );
            for pack in &locked.lock.packs {
                println!("{} {} {}", pack.name, pack.version, pack.checksum);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_fetch(args: FetchArgs) -> Result<ExitCode, String> {
    let root = Root::at(&args.path)?;
    let Some(locked) = lock(&root, &args.registry, &args.dependencies, &Unlock::Nothing)? else {
        eprintln!("no registry dependencies: nothing to fetch");
        return Ok(ExitCode::SUCCESS);
    };
    let fetched = fetch(&root, &locked.lock, &args.dependencies)?;
    let downloaded = fetched.iter().filter(|pack| pack.downloaded).count();
    for pack in &fetched {
        println!(
            "{} {} {}",
            pack.pack.name,
            pack.pack.version,
            pack.bundle_path.display()
        );
    }
    eprintln!(
        "fetched {}: {downloaded} downloaded, {} from the cache; every sha256 and signature verified",
        super::plural(fetched.len(), "pack"),
        fetched.len() - downloaded
    );
    Ok(ExitCode::SUCCESS)
}
