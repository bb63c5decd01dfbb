//! Registry dependencies for the commands: find the requirements of a pack (and of the packs
//! on disk it depends on) or of a project, keep `threatpack.lock` in step (`--locked`,
//! `--offline`), fetch into the cache with a progress bar on a terminal, and load the graph
//! with the fetched packs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use threatpack::client::cache::Cache;
use threatpack::client::fetch::{DEFAULT_JOBS, FetchOptions, Fetched, fetch_locked};
use threatpack::client::index::RegistryIndexes;
use threatpack::client::resolve::{
    LockRequest, RootRequirement, Unlock, lock_satisfies, resolve_lock,
};
use threatpack::client::source::LockedSource;
use threatpack::lockfile::{LOCKFILE, Lockfile};
use threatpack::project::{ConfiguredKey, PROJECT_FILE, Project};
use threatpack::resolve::{PackGraph, PackLocation};
use threatpack::workspace::{load_graph, load_graph_with, read_capped, write_atomically};

use super::registry::RegistryArgs;

#[derive(Debug, Args, Clone, Default)]
pub struct DependencyArgs {
    /// Fail instead of changing threatpack.lock
    #[arg(long)]
    pub locked: bool,
    /// Use only the cache: no index reads, no downloads
    #[arg(long)]
    pub offline: bool,
}

/// What declares registry dependencies: a pack directory or a project.
pub enum Root {
    Pack { path: PathBuf, display: String },
    Project(Box<Project>),
}

impl Root {
    /// The pack or project at `path`: `threatpack.toml` makes it a project.
    pub fn at(path: &Path) -> Result<Root, String> {
        if path.join(PROJECT_FILE).is_file() {
            return Ok(Root::Project(Box::new(Project::read(path)?)));
        }
        if path.join("pack.toml").is_file() {
            return Ok(Root::Pack {
                path: path.to_path_buf(),
                display: super::display_root(path),
            });
        }
        Err(format!(
            "`{}` holds neither {PROJECT_FILE} (a project) nor pack.toml (a pack)",
            super::display_root(path)
        ))
    }

    fn directory(&self) -> &Path {
        match self {
            Root::Pack { path, .. } => path,
            Root::Project(project) => &project.root,
        }
    }

    fn configured(&self) -> &[ConfiguredKey] {
        match self {
            Root::Pack { .. } => &[],
            Root::Project(project) => &project.trusted,
        }
    }

    /// The registry dependencies come from: the project's `registry`, else `--registry`,
    /// `THREATPACK_REGISTRY` or the default.
    fn registry(&self, registry: &RegistryArgs) -> Result<String, String> {
        match self {
            Root::Project(project) if registry.registry.is_none() => {
                match &project.manifest.project.registry {
                    Some(url) => threatpack::client::http::normalize_registry(url),
                    None => registry.url(),
                }
            }
            _ => registry.url(),
        }
    }

    /// The registry requirements: a project's dependencies, or those without `path` of the
    /// pack and of every pack on disk its `path` dependencies lead to.
    fn requirements(&self) -> Result<Vec<RootRequirement>, String> {
        match self {
            Root::Project(project) => Ok(project
                .manifest
                .dependencies
                .iter()
                .map(|(name, spec)| RootRequirement {
                    name: name.clone(),
                    requirement: spec.requirement().to_string(),
                    declared_by: format!("the project `{}`", project.manifest.project.name),
                })
                .collect()),
            Root::Pack { path, display } => {
                let graph = load_graph(path, display).map_err(|error| error.to_string())?;
                Ok(registry_requirements(&graph))
            }
        }
    }
}

fn registry_requirements(graph: &PackGraph) -> Vec<RootRequirement> {
    let mut requirements = Vec::new();
    for (at, pack) in graph.packs.iter().enumerate() {
        if !matches!(graph.locations[at], PackLocation::Directory { .. }) {
            continue;
        }
        let Some(manifest) = &pack.manifest else {
            continue;
        };
        for (name, spec) in &manifest.item.dependencies {
            if spec.path().is_none() {
                requirements.push(RootRequirement {
                    name: name.clone(),
                    requirement: spec.requirement().to_string(),
                    declared_by: format!(
                        "{} ({})",
                        graph.label(at),
                        graph.locations[at].describe()
                    ),
                });
            }
        }
    }
    requirements
}

/// The outcome of bringing the lockfile up to date.
pub struct Locked {
    pub lock: Lockfile,
    /// The lockfile as it was before, if there was one.
    pub previous: Option<Lockfile>,
    /// Whether the file was written.
    pub written: bool,
    pub path: PathBuf,
}

/// Makes `threatpack.lock` answer the requirements: kept as it is when it does (and `unlock`
/// is `Nothing`), else resolved again and written only when it changes. `None` when there
/// are no registry requirements (and no lockfile is needed).
pub fn lock(
    root: &Root,
    registry: &RegistryArgs,
    dependencies: &DependencyArgs,
    unlock: &Unlock,
) -> Result<Option<Locked>, String> {
    lock_requirements(root, root.requirements()?, registry, dependencies, unlock)
}

/// `lock`, with the requirements already gathered.
fn lock_requirements(
    root: &Root,
    requirements: Vec<RootRequirement>,
    registry: &RegistryArgs,
    dependencies: &DependencyArgs,
    unlock: &Unlock,
) -> Result<Option<Locked>, String> {
    let path = root.directory().join(LOCKFILE);
    let display = path.display().to_string();
    let existing_text = match read_capped(&path, 16 * 1024 * 1024) {
        Ok(bytes) => {
            Some(String::from_utf8(bytes).map_err(|_| format!("`{display}` is not UTF-8"))?)
        }
        Err(_) if !path.exists() => None,
        Err(error) => return Err(error),
    };
    let existing = match &existing_text {
        Some(text) => Some(Lockfile::parse(&display, text)?),
        None => None,
    };
    if requirements.is_empty() && existing.is_none() {
        return Ok(None);
    }
    let registry = root.registry(registry)?;
    if let Some(lock) = &existing
        && *unlock == Unlock::Nothing
        && lock_satisfies(lock, &registry, &requirements)
    {
        return Ok(Some(Locked {
            lock: lock.clone(),
            previous: existing.clone(),
            written: false,
            path,
        }));
    }
    if dependencies.locked && existing.is_none() {
        return Err(format!(
            "`{display}` is missing and --locked forbids writing it: run `threatpack lock` and commit the file"
        ));
    }
    let cache = Cache::from_env()?;
    let mut indexes = RegistryIndexes::new(cache, dependencies.offline);
    let resolution = resolve_lock(
        &LockRequest {
            registry: &registry,
            requirements: &requirements,
            previous: existing.as_ref(),
            unlock,
            configured: root.configured(),
        },
        &mut indexes,
    )?;
    for note in &resolution.notes {
        eprintln!("note: {note}");
    }
    let text = resolution.lock.render();
    if existing_text.as_deref() == Some(text.as_str()) {
        return Ok(Some(Locked {
            lock: resolution.lock,
            previous: existing,
            written: false,
            path,
        }));
    }
    if dependencies.locked {
        let changes = describe_changes(existing.as_ref(), &resolution.lock);
        return Err(format!(
            "`{display}` needs changes and --locked forbids them: {changes}; run `threatpack lock` and commit the file"
        ));
    }
    write_atomically(&path, text.as_bytes(), 0o644)?;
    for change in describe_changes(existing.as_ref(), &resolution.lock).split("; ") {
        eprintln!("    {change}");
    }
    Ok(Some(Locked {
        lock: resolution.lock,
        previous: existing,
        written: true,
        path,
    }))
}

/// "locking acme/web 1.2.0; updating threatpack/stride-core 1.0.0 -> 1.1.0; removing x/y 1.0.0".
fn describe_changes(old: Option<&Lockfile>, new: &Lockfile) -> String {
    let mut changes = Vec::new();
    for pack in &new.packs {
        match old.and_then(|old| old.pack(&pack.name)) {
            None => changes.push(format!("locking {} {}", pack.name, pack.version)),
            Some(previous) if previous.version != pack.version => changes.push(format!(
                "updating {} {} -> {}",
                pack.name, previous.version, pack.version
            )),
            Some(previous) if previous != pack => {
                changes.push(format!(
                    "changing the entry of {} {}",
                    pack.name, pack.version
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(old) = old {
        for pack in &old.packs {
            if new.pack(&pack.name).is_none() {
                changes.push(format!("removing {} {}", pack.name, pack.version));
            }
        }
        if old.keys != new.keys {
            changes.push("changing the trusted keys".to_string());
        }
    }
    if changes.is_empty() {
        "rewriting it in the current format".to_string()
    } else {
        changes.join("; ")
    }
}

/// Fetches every locked pack into the cache, verified; a progress bar on a terminal.
pub fn fetch(
    root: &Root,
    lock: &Lockfile,
    dependencies: &DependencyArgs,
) -> Result<Vec<Fetched>, String> {
    let cache = Cache::from_env()?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(lock.packs.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} fetching {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let on_done = |fetched: &Fetched| {
        bar.set_message(format!("{} {}", fetched.pack.name, fetched.pack.version));
        bar.inc(1);
    };
    let result = fetch_locked(
        lock,
        root.configured(),
        &cache,
        &FetchOptions {
            offline: dependencies.offline,
            jobs: DEFAULT_JOBS,
        },
        &on_done,
    );
    bar.finish_and_clear();
    result.map_err(|problems| problems.join("\n       "))
}

/// Loads a pack and its dependencies: registry ones locked and fetched first.
pub fn load_pack_graph(
    path: &Path,
    display: &str,
    registry: &RegistryArgs,
    dependencies: &DependencyArgs,
) -> Result<PackGraph, String> {
    let root = Root::Pack {
        path: path.to_path_buf(),
        display: display.to_string(),
    };
    // The graph from the disk alone says which registry packs are needed; for a pack that needs
    // none (and has no lockfile) it is the graph itself, read once.
    let graph = load_graph(path, display).map_err(|error| error.to_string())?;
    let requirements = registry_requirements(&graph);
    let Some(locked) = lock_requirements(
        &root,
        requirements,
        registry,
        dependencies,
        &Unlock::Nothing,
    )?
    else {
        return Ok(graph);
    };
    let fetched = fetch(&root, &locked.lock, dependencies)?;
    load_graph_with(path, display, &mut LockedSource::new(fetched))
        .map_err(|error| error.to_string())
}

/// For `check`: registry packs come from the cache when threatpack.lock pins them and every one
/// of them is there and verifies, so references into them are checked too. Never the network,
/// never a write; otherwise the pack is checked without them (as it says).
pub fn cached_pack_graph(path: &Path, display: &str) -> Result<PackGraph, String> {
    let fetched = (|| {
        let lock_path = path.join(LOCKFILE);
        let text = std::fs::read_to_string(&lock_path).ok()?;
        let lock = Lockfile::parse(&lock_path.display().to_string(), &text).ok()?;
        let cache = Cache::from_env().ok()?;
        let options = FetchOptions {
            offline: true,
            jobs: DEFAULT_JOBS,
        };
        fetch_locked(&lock, &[], &cache, &options, &|_| {}).ok()
    })();
    match fetched {
        Some(fetched) => load_graph_with(path, display, &mut LockedSource::new(fetched)),
        None => load_graph(path, display),
    }
    .map_err(|error| error.to_string())
}
