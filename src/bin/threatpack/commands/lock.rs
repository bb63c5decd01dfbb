//! `threatpack lock`, `threatpack update` and `threatpack fetch`: keep `threatpack.lock` in
//! step with a pack's or project's registry dependencies, and bring the locked bundles into the
//! cache, verified.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::client::cache::Cache;
use threatpack::client::fetch::{FetchOptions, fetch_locked, read_fetched};
use threatpack::client::resolve::Unlock;
use threatpack::lockfile::{LockedPack, Lockfile};
use threatpack::names::{Target, parse_target};
use threatpack::versioning::bump::{applicability_message, field_message};
use threatpack::versioning::diff;
use threatpack::versioning::diff::Change;
use threatpack::workspace::load_graph;

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
            if let (Root::Pack { path, display }, Some(previous)) = (root, &locked.previous) {
                report_upstream_changes(path, display, previous, &locked.lock, dependencies)?;
            }
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

/// For a pack whose overrides target registry packs that moved to another version: what
/// changed upstream in each overridden item, between the version locked before and now.
fn report_upstream_changes(
    path: &std::path::Path,
    display: &str,
    previous: &Lockfile,
    current: &Lockfile,
    dependencies: &DependencyArgs,
) -> Result<(), String> {
    let moved: Vec<(&LockedPack, &LockedPack)> = current
        .packs
        .iter()
        .filter_map(|new| {
            let old = previous.pack(&new.name)?;
            (old.version != new.version).then_some((old, new))
        })
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    let graph = load_graph(path, display).map_err(|error| error.to_string())?;
    let root = &graph.packs[0];
    for (old, new) in moved {
        let overrides: Vec<_> = root
            .overrides
            .iter()
            .filter(|located| {
                parse_target(&located.item.target).is_some_and(|target| target.pack() == new.name)
            })
            .collect();
        if overrides.is_empty() {
            continue;
        }
        let old_kb = fetched_kb(old, previous, dependencies)?;
        let new_kb = fetched_kb(new, current, dependencies)?;
        let changes = diff(&old_kb, &new_kb);
        println!(
            "{} {} -> {}: upstream changes to the {} this pack overrides",
            new.name,
            old.version,
            new.version,
            super::plural(overrides.len(), "item")
        );
        for located in overrides {
            let target = &located.item.target;
            let span = root.locate(&located.origin, &["target"]);
            let line = threatpack::source::line_column(
                &root.sources.files[located.origin.file].text,
                span.start,
            )
            .line;
            let at = format!("{}:{line}", root.display_path(&located.origin));
            let change = match parse_target(target) {
                Some(Target::Item { .. }) => changes.item(target).map(|item| &item.change),
                Some(Target::Link {
                    pack,
                    mitigation,
                    attack_pattern,
                }) => changes
                    .link(
                        &qualify(pack, "mitigation", mitigation),
                        &qualify(pack, "attack-pattern", attack_pattern),
                    )
                    .map(|link| &link.change),
                None => None,
            };
            println!("  {target} (overridden at {at})");
            for line in describe(change) {
                println!("    {line}");
            }
        }
    }
    Ok(())
}

/// `pack:KIND/ID` unless `id` is qualified already.
fn qualify(pack: &str, kind: &str, id: &str) -> String {
    if id.contains(':') {
        id.to_string()
    } else {
        format!("{pack}:{kind}/{id}")
    }
}

fn describe(change: Option<&Change>) -> Vec<String> {
    match change {
        None => vec!["unchanged upstream".to_string()],
        Some(Change::Added) => vec!["added upstream".to_string()],
        Some(Change::Removed {
            deprecated,
            replaced_by,
        }) => vec![format!(
            "removed upstream{}{}: the override no longer applies",
            if *deprecated {
                " (it was deprecated)"
            } else {
                ""
            },
            replaced_by
                .as_ref()
                .map(|replacement| format!("; its replacement is `{replacement}`"))
                .unwrap_or_default()
        )],
        Some(Change::Modified(modification)) => {
            let mut lines: Vec<String> = modification.fields.iter().map(field_message).collect();
            if let Some(applicability) = &modification.applicability {
                lines.push(applicability_message(applicability));
            }
            if !modification.properties.is_empty() {
                lines.push(format!(
                    "{} changed",
                    super::plural(modification.properties.len(), "property")
                ));
            }
            if lines.is_empty() {
                lines.push("changed upstream (see `threatpack diff`)".to_string());
            }
            lines
        }
    }
}

/// The knowledge base of one locked pack, fetched and verified with the keys of `lock`.
fn fetched_kb(
    pack: &LockedPack,
    lock: &Lockfile,
    dependencies: &DependencyArgs,
) -> Result<threatpack::compile::KnowledgeBase, String> {
    let single = Lockfile {
        packs: vec![pack.clone()],
        keys: lock.keys.clone(),
        ..Lockfile::new()
    };
    let fetched = fetch_locked(
        &single,
        &[],
        &Cache::from_env()?,
        &FetchOptions {
            offline: dependencies.offline,
            jobs: 1,
        },
        &|_| {},
    )
    .map_err(|problems| problems.join("; "))?;
    let first = fetched.first().ok_or("nothing was fetched")?;
    Ok(read_fetched(first)?.kb)
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
