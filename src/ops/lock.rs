//! Registry dependencies: find the requirements of a project or of a pack (and of the packs on
//! disk it depends on), keep `threatpack.lock` in step with them (`locked`, `offline`), and
//! bring the locked bundles into the cache, verified (`lock`, `update`, `fetch`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Error, Progress};
use crate::client::cache::Cache;
use crate::client::fetch::{DEFAULT_JOBS, FetchOptions, Fetched, fetch_locked, read_fetched};
use crate::client::index::{IndexSource, RegistryIndexes};
use crate::client::registry_key::IndexTrust;
use crate::client::resolve::{LockRequest, RootRequirement, lock_satisfies, resolve_lock};
use crate::client::source::LockedSource;
use crate::lockfile::{LOCKFILE, LockedPack, Lockfile};
use crate::names::{Target, parse_target};
use crate::project::{ConfiguredKey, PROJECT_FILE, Project};
use crate::resolve::{PackGraph, PackLocation};
use crate::versioning::bump::{applicability_message, field_message};
use crate::versioning::diff::Change;
use crate::workspace::{load_graph, load_graph_with, read_capped, write_atomically};

pub use crate::client::resolve::Unlock;

pub use crate::wire::{DEFAULT_REGISTRY, REGISTRY_ENV};

/// How registry dependencies are found, locked and fetched.
#[derive(Debug, Clone, Default)]
pub struct DependencyOptions {
    /// The registry, overriding a project's `registry`. `None`: the project's, else
    /// `THREATPACK_REGISTRY`, else [`DEFAULT_REGISTRY`].
    pub registry: Option<String>,
    /// Fail ([`Error::LockfileMissing`], [`Error::LockfileWouldChange`]) instead of writing
    /// `threatpack.lock`.
    pub locked: bool,
    /// Use only the cache: no index reads, no downloads ([`Error::NotCached`]).
    pub offline: bool,
    /// The cache directory. `None`: `THREATPACK_CACHE_DIR`, `$XDG_CACHE_HOME/threatpack` or
    /// `~/.cache/threatpack`.
    pub cache: Option<PathBuf>,
    /// Accept an index whose signed envelope has expired, with a warning (an offline mirror);
    /// otherwise it is refused (freeze protection).
    pub allow_expired_index: bool,
}

impl DependencyOptions {
    pub(crate) fn cache(&self) -> Result<Cache, Error> {
        match &self.cache {
            Some(root) => Ok(Cache::new(root.clone())),
            None => Ok(Cache::from_env()?),
        }
    }
}

/// What declares registry dependencies: a pack directory or a project.
#[derive(Debug)]
pub enum Root {
    /// A pack directory (`pack.toml`).
    Pack {
        /// The directory.
        path: PathBuf,
        /// The directory as shown in messages.
        display: String,
    },
    /// A consuming project (`threatpack.toml`).
    Project(Box<Project>),
}

impl Root {
    /// The project or pack at `path`: `threatpack.toml` makes it a project.
    pub fn at(path: &Path) -> Result<Root, Error> {
        if path.join(PROJECT_FILE).is_file() {
            return Ok(Root::Project(Box::new(Project::read(path)?)));
        }
        if path.join("pack.toml").is_file() {
            return Ok(Root::Pack {
                path: path.to_path_buf(),
                display: display_path(path),
            });
        }
        Err(Error::NotFound {
            path: path.to_path_buf(),
        })
    }

    /// The directory holding the manifest.
    pub fn directory(&self) -> &Path {
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

    /// The registry keys the project pins (`[registry-keys]`).
    fn registry_keys(&self) -> std::collections::BTreeMap<String, String> {
        match self {
            Root::Pack { .. } => std::collections::BTreeMap::new(),
            Root::Project(project) => project.registry_keys.clone(),
        }
    }

    /// The registry: the options', else the project's, else the environment's or the default.
    fn registry(&self, options: &DependencyOptions) -> Result<String, Error> {
        let project_registry = match self {
            Root::Project(project) => project.manifest.project.registry.clone(),
            Root::Pack { .. } => None,
        };
        let url = options
            .registry
            .clone()
            .or(project_registry)
            .unwrap_or_else(|| {
                std::env::var(REGISTRY_ENV).unwrap_or_else(|_| DEFAULT_REGISTRY.to_string())
            });
        Ok(crate::client::http::normalize_registry(&url)?)
    }

    /// The registry requirements: a project's dependencies, or those without `path` of the
    /// pack and of every pack on disk its `path` dependencies lead to.
    pub(crate) fn requirements(&self) -> Result<Vec<RootRequirement>, Error> {
        match self {
            Root::Project(project) => Ok(project
                .manifest
                .dependencies
                .iter()
                .map(|(name, spec)| RootRequirement {
                    name: name.clone(),
                    requirement: spec.requirement().to_string(),
                    tier: spec.tier().map(str::to_string),
                    declared_by: format!("the project `{}`", project.name),
                })
                .collect()),
            Root::Pack { path, display } => {
                let graph = load_graph(path, display).map_err(|error| error.to_string())?;
                Ok(registry_requirements(&graph))
            }
        }
    }
}

/// A path as shown in messages: as given, without a trailing `/`.
pub(crate) fn display_path(path: &Path) -> String {
    let shown = path.to_string_lossy().trim_end_matches('/').to_string();
    if shown.is_empty() {
        ".".to_string()
    } else {
        shown
    }
}

/// One change to the lockfile: a pack locked (`from` is `None`), moved, removed (`to` is
/// `None`), or its entry changed at the same version (`from == to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockChange {
    /// The pack.
    pub name: String,
    /// The version locked before.
    pub from: Option<String>,
    /// The version locked now.
    pub to: Option<String>,
}

/// Options of [`lock`].
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// Where dependencies come from, and what may change.
    pub dependencies: DependencyOptions,
    /// Which locked versions may move: [`Unlock::Nothing`] for `lock`, others for `update`.
    pub unlock: Unlock,
    /// Also fetch every locked pack into the cache, verified (what `update` does).
    pub fetch: bool,
}

/// What [`lock`] did.
#[derive(Debug)]
pub struct Locked {
    /// The lockfile's path.
    pub path: PathBuf,
    /// The lockfile now.
    pub lockfile: Lockfile,
    /// Whether the file was written.
    pub written: bool,
    /// What changed (empty when nothing did).
    pub changes: Vec<LockChange>,
    /// For a pack whose overrides target packs that moved: what changed upstream.
    pub upstream: Vec<UpstreamChanges>,
    /// The packs fetched, when [`LockOptions::fetch`] asked for it.
    pub fetched: Vec<Fetched>,
}

/// What changed upstream in the items a pack overrides, for one dependency that moved.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamChanges {
    /// The dependency.
    pub name: String,
    /// The version locked before.
    pub from: String,
    /// The version locked now.
    pub to: String,
    /// Each overridden item, with what changed in it.
    pub items: Vec<OverriddenItem>,
}

/// One override's target, and what changed in it upstream.
#[derive(Debug, Clone, Serialize)]
pub struct OverriddenItem {
    /// The target (`pack:kind/id`, or a link).
    pub target: String,
    /// `FILE:LINE` of the override.
    pub at: String,
    /// The changes, one sentence each ("unchanged upstream" when none).
    pub changes: Vec<String>,
}

/// Brings `threatpack.lock` of the project or pack at `path` in step with its registry
/// requirements: kept as it is when it answers them (and `unlock` is [`Unlock::Nothing`]),
/// else resolved again and written only when its content changes. `None` when there are no
/// registry dependencies (and no lockfile). Resolution notes (a key trusted on first use, a
/// yanked version kept) go to `progress`.
pub fn lock(
    path: &Path,
    options: &LockOptions,
    progress: &dyn Progress,
) -> Result<Option<Locked>, Error> {
    let root = Root::at(path)?;
    let requirements = root.requirements()?;
    let Some(mut locked) = lock_root(
        &root,
        requirements,
        &options.dependencies,
        &options.unlock,
        progress,
    )?
    else {
        return Ok(None);
    };
    if let (Root::Pack { path, display }, Some(previous)) = (&root, &locked.previous) {
        locked.outcome.upstream = upstream_changes(
            path,
            display,
            previous,
            &locked.outcome.lockfile,
            &options.dependencies,
        )?;
    }
    if options.fetch {
        let mut fetched = fetch_lockfile(
            &root,
            &locked.outcome.lockfile,
            &options.dependencies,
            progress,
        )?;
        // What the dependency check downloaded a moment ago was downloaded by this run too.
        for pack in &mut fetched {
            pack.downloaded |= locked
                .checked
                .iter()
                .any(|checked| checked.downloaded && checked.pack.checksum == pack.pack.checksum);
        }
        locked.outcome.fetched = fetched;
    }
    Ok(Some(locked.outcome))
}

/// A warning for each locked version its publisher deprecated, as the indexes `indexes` gives
/// say (those the resolution read, or the cache's). A deprecated version is still used: this
/// only tells. An index that cannot be read tells nothing.
fn warn_deprecated(lockfile: &Lockfile, indexes: &mut dyn IndexSource, progress: &dyn Progress) {
    for pack in &lockfile.packs {
        let Ok(index) = indexes.index(&pack.registry, &pack.name) else {
            continue;
        };
        let deprecation = index
            .versions
            .iter()
            .find(|entry| entry.version == pack.version && entry.digest == pack.checksum)
            .and_then(|entry| entry.deprecated.as_ref());
        if let Some(deprecation) = deprecation {
            progress.warn(&deprecation_warning(pack, deprecation));
        }
    }
}

/// "`acme/web` 1.0.0 is deprecated by its publisher: MESSAGE; use 1.1.0 instead (...)"; the
/// registry's text made visible.
fn deprecation_warning(pack: &LockedPack, deprecation: &crate::wire::VersionDeprecation) -> String {
    let visible = crate::render::visible;
    let mut warning = format!(
        "`{}` {} is deprecated by its publisher: {}",
        pack.name,
        pack.version,
        visible(&deprecation.message)
    );
    match &deprecation.replacement {
        Some(replacement) => warning.push_str(&format!(
            "; use {} instead (change the requirement if it does not match, then `threatpack update {}`)",
            visible(replacement),
            pack.name
        )),
        None => warning.push_str(&format!(
            "; `threatpack info {}` lists its other versions",
            pack.name
        )),
    }
    warning
}

/// What [`fetch`] brought into the cache.
#[derive(Debug)]
pub struct FetchedPacks {
    /// The lockfile (brought in step first).
    pub locked: Locked,
    /// Every locked pack, verified, in the lockfile's order.
    pub packs: Vec<Fetched>,
}

/// Locks (as [`lock`] with [`Unlock::Nothing`]), then makes every locked pack available in the
/// cache: downloaded in parallel unless there already, its sha256 and signature verified
/// against the lockfile and the trusted keys. `None` when there are no registry dependencies.
pub fn fetch(
    path: &Path,
    options: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<Option<FetchedPacks>, Error> {
    let root = Root::at(path)?;
    let requirements = root.requirements()?;
    let Some(locked) = lock_root(&root, requirements, options, &Unlock::Nothing, progress)? else {
        return Ok(None);
    };
    let packs = fetch_lockfile(&root, &locked.outcome.lockfile, options, progress)?;
    Ok(Some(FetchedPacks {
        locked: locked.outcome,
        packs,
    }))
}

/// A lock outcome, and the lockfile as it was before.
pub(crate) struct RootLocked {
    pub(crate) outcome: Locked,
    pub(crate) previous: Option<Lockfile>,
    /// The packs fetched to check their signed dependencies before the lockfile was written.
    pub(crate) checked: Vec<Fetched>,
}

/// [`lock`] for a root whose requirements are gathered.
pub(crate) fn lock_root(
    root: &Root,
    requirements: Vec<RootRequirement>,
    options: &DependencyOptions,
    unlock: &Unlock,
    progress: &dyn Progress,
) -> Result<Option<RootLocked>, Error> {
    lock_root_with(root, requirements, options, unlock, progress, true)
}

/// [`lock_root`]; with `write` false the new lockfile is worked out and its packs checked
/// (and cached), but the file is left as it is (`update --dry-run`).
pub(crate) fn lock_root_with(
    root: &Root,
    requirements: Vec<RootRequirement>,
    options: &DependencyOptions,
    unlock: &Unlock,
    progress: &dyn Progress,
    write: bool,
) -> Result<Option<RootLocked>, Error> {
    let path = root.directory().join(LOCKFILE);
    let display = path.display().to_string();
    let existing_text = match read_capped(&path, 16 * 1024 * 1024) {
        Ok(bytes) => {
            Some(String::from_utf8(bytes).map_err(|_| format!("`{display}` is not UTF-8"))?)
        }
        Err(_) if !path.exists() => None,
        Err(error) => return Err(error.into()),
    };
    let existing = match &existing_text {
        Some(text) => Some(Lockfile::parse(&display, text)?),
        None => None,
    };
    if requirements.is_empty() && existing.is_none() {
        return Ok(None);
    }
    let registry = root.registry(options)?;
    let unchanged = |lockfile: Lockfile, previous: Option<Lockfile>| RootLocked {
        outcome: Locked {
            path: path.clone(),
            lockfile,
            written: false,
            changes: Vec::new(),
            upstream: Vec::new(),
            fetched: Vec::new(),
        },
        previous,
        checked: Vec::new(),
    };
    if let Some(lockfile) = &existing
        && *unlock == Unlock::Nothing
        && lock_satisfies(lockfile, &registry, &requirements)
    {
        // Nothing asks the registry here: the indexes the cache holds (from the last `lock`,
        // `update` or download) say which locked versions are deprecated.
        if let Ok(cache) = options.cache() {
            warn_deprecated(lockfile, &mut RegistryIndexes::new(cache, true), progress);
        }
        return Ok(Some(unchanged(lockfile.clone(), existing.clone())));
    }
    if options.locked && existing.is_none() {
        return Err(Error::LockfileMissing { path });
    }
    let mut indexes =
        RegistryIndexes::new(options.cache()?, options.offline).with_trust(IndexTrust::new(
            root.registry_keys(),
            existing.as_ref(),
            options.allow_expired_index,
        ));
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
    let mut resolution = resolution;
    for note in &resolution.notes {
        progress.note(note);
    }
    for note in indexes.trust_mut().take_notes() {
        progress.note(&note);
    }
    for warning in indexes.trust_mut().take_warnings() {
        progress.warn(&warning);
    }
    warn_deprecated(&resolution.lock, &mut indexes, progress);
    resolution.lock.registries = indexes
        .trust_mut()
        .lock_registries(existing.as_ref(), &resolution.lock);
    let text = resolution.lock.render();
    if existing_text.as_deref() == Some(text.as_str()) {
        return Ok(Some(unchanged(resolution.lock, existing)));
    }
    // Newer index sequences alone are no reason to rewrite the file (nor to fail `--locked`):
    // the cache keeps them, and the lockfile records them with its next change.
    if let Some(existing) = &existing
        && existing.without_index_sequences() == resolution.lock.without_index_sequences()
    {
        return Ok(Some(unchanged(existing.clone(), Some(existing.clone()))));
    }
    let changes = lock_changes(existing.as_ref(), &resolution.lock);
    if options.locked {
        return Err(Error::LockfileWouldChange { path, changes });
    }
    let checked =
        check_listed_dependencies(root, &resolution, existing.as_ref(), options, progress)?;
    if write {
        write_atomically(&path, text.as_bytes(), 0o644)?;
    }
    Ok(Some(RootLocked {
        outcome: Locked {
            path,
            lockfile: resolution.lock,
            written: write,
            changes,
            upstream: Vec::new(),
            fetched: Vec::new(),
        },
        previous: existing,
        checked,
    }))
}

/// Resolution followed the dependencies the index lists; they must be the ones each bundle's
/// signed manifest records, or a registry could pull any pack (and, on first use, its
/// namespace's key) into a project. Every pack newly chosen or changed is fetched into the cache,
/// verified against the new lockfile's keys, and its manifest compared, before the lockfile is
/// written.
fn check_listed_dependencies(
    root: &Root,
    resolution: &crate::client::resolve::Resolution,
    previous: Option<&Lockfile>,
    options: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<Vec<Fetched>, Error> {
    let chosen = Lockfile {
        packs: resolution
            .lock
            .packs
            .iter()
            .filter(|pack| previous.and_then(|previous| previous.pack(&pack.name)) != Some(pack))
            .cloned()
            .collect(),
        ..resolution.lock.clone()
    };
    if chosen.packs.is_empty() {
        return Ok(Vec::new());
    }
    let fetched = fetch_lockfile(root, &chosen, options, progress)?;
    let mut problems = Vec::new();
    for fetched in &fetched {
        let name = &fetched.pack.name;
        let manifest = read_fetched(fetched)?.manifest;
        let mut signed: Vec<crate::wire::IndexDependency> =
            manifest.dependencies.iter().map(Into::into).collect();
        let mut listed = resolution.listed.get(name).cloned().unwrap_or_default();
        signed.sort_by(|a, b| a.name.cmp(&b.name));
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        if signed != listed {
            let names = |dependencies: &[crate::wire::IndexDependency]| {
                let names: Vec<String> = dependencies
                    .iter()
                    .map(|dependency| {
                        crate::render::visible(&format!(
                            "{} {}",
                            dependency.name, dependency.version
                        ))
                    })
                    .collect();
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            };
            problems.push(format!(
                "the registry lists the dependencies of `{name}` {} as {}, but its signed manifest has {}: refusing the index; threatpack.lock was not changed",
                fetched.pack.version,
                names(&listed),
                names(&signed)
            ));
        }
    }
    if problems.is_empty() {
        Ok(fetched)
    } else {
        Err(Error::Fetch { problems })
    }
}

/// The changes from `old` to `new`, in the order of `new`, then the removed packs.
fn lock_changes(old: Option<&Lockfile>, new: &Lockfile) -> Vec<LockChange> {
    let mut changes = Vec::new();
    for pack in &new.packs {
        let previous = old.and_then(|old| old.pack(&pack.name));
        if previous != Some(pack) {
            changes.push(LockChange {
                name: pack.name.clone(),
                from: previous.map(|previous| previous.version.clone()),
                to: Some(pack.version.clone()),
            });
        }
    }
    for pack in old.map(|old| old.packs.as_slice()).unwrap_or_default() {
        if new.pack(&pack.name).is_none() {
            changes.push(LockChange {
                name: pack.name.clone(),
                from: Some(pack.version.clone()),
                to: None,
            });
        }
    }
    changes
}

/// "locking acme/web 1.2.0; updating threatpack/stride-core 1.0.0 -> 1.1.0; removing x/y 1.0.0".
pub fn describe_changes(changes: &[LockChange]) -> String {
    if changes.is_empty() {
        return "rewriting it (trusted keys or format)".to_string();
    }
    let described: Vec<String> = changes
        .iter()
        .map(|change| match (&change.from, &change.to) {
            (None, Some(to)) => format!("locking {} {to}", change.name),
            (Some(from), None) => format!("removing {} {from}", change.name),
            (Some(from), Some(to)) if from == to => {
                format!("changing the entry of {} {to}", change.name)
            }
            (Some(from), Some(to)) => format!("updating {} {from} -> {to}", change.name),
            (None, None) => change.name.clone(),
        })
        .collect();
    described.join("; ")
}

/// Fetches every pack of `lockfile` into the cache, verified, reporting each to `progress`.
pub(crate) fn fetch_lockfile(
    root: &Root,
    lockfile: &Lockfile,
    options: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<Vec<Fetched>, Error> {
    let cache = options.cache()?;
    if options.offline {
        let missing: Vec<String> = lockfile
            .packs
            .iter()
            .filter(|pack| {
                cache
                    .bundle_path(&pack.checksum)
                    .is_ok_and(|path| !path.is_file())
            })
            .map(|pack| format!("`{}` {}", pack.name, pack.version))
            .collect();
        if !missing.is_empty() {
            return Err(Error::NotCached {
                packs: missing,
                cache: cache.root().to_path_buf(),
            });
        }
    }
    progress.start("fetching", lockfile.packs.len() as u64);
    let on_done = |fetched: &Fetched| {
        progress.advance(&format!("{} {}", fetched.pack.name, fetched.pack.version));
    };
    let result = fetch_locked(
        lockfile,
        root.configured(),
        &cache,
        &FetchOptions {
            offline: options.offline,
            jobs: DEFAULT_JOBS,
        },
        &on_done,
    );
    progress.finish();
    result.map_err(|problems| Error::Fetch { problems })
}

/// The registry requirements of a graph's packs on disk.
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
                    tier: spec.tier().map(str::to_string),
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

/// A pack and its dependencies: registry ones locked and fetched first.
pub(crate) fn load_pack_graph(
    path: &Path,
    options: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<PackGraph, Error> {
    let display = display_path(path);
    let root = Root::Pack {
        path: path.to_path_buf(),
        display: display.clone(),
    };
    // The graph from the disk alone says which registry packs are needed; for a pack that needs
    // none (and has no lockfile) it is the graph itself, read once.
    let graph = load_graph(path, &display).map_err(|error| error.to_string())?;
    let requirements = registry_requirements(&graph);
    let Some(locked) = lock_root(&root, requirements, options, &Unlock::Nothing, progress)? else {
        return Ok(graph);
    };
    let fetched = fetch_lockfile(&root, &locked.outcome.lockfile, options, progress)?;
    Ok(
        load_graph_with(path, &display, &mut LockedSource::new(fetched))
            .map_err(|error| error.to_string())?,
    )
}

/// For a pack whose overrides target registry packs that moved to another version: what
/// changed upstream in each overridden item, between the version locked before and now.
fn upstream_changes(
    path: &Path,
    display: &str,
    previous: &Lockfile,
    current: &Lockfile,
    options: &DependencyOptions,
) -> Result<Vec<UpstreamChanges>, Error> {
    let moved: Vec<(&LockedPack, &LockedPack)> = current
        .packs
        .iter()
        .filter_map(|new| {
            let old = previous.pack(&new.name)?;
            (old.version != new.version).then_some((old, new))
        })
        .collect();
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    let graph = load_graph(path, display).map_err(|error| error.to_string())?;
    let root = &graph.packs[0];
    let mut reports = Vec::new();
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
        let old_kb = fetched_kb(old, previous, options)?;
        let new_kb = fetched_kb(new, current, options)?;
        let changes = crate::versioning::diff(&old_kb, &new_kb);
        let mut items = Vec::new();
        for located in overrides {
            let target = &located.item.target;
            let span = root.locate(&located.origin, &["target"]);
            let line = crate::source::line_column(
                &root.sources.files[located.origin.file].text,
                span.start,
            )
            .line;
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
            items.push(OverriddenItem {
                target: target.clone(),
                at: format!("{}:{line}", root.display_path(&located.origin)),
                changes: describe_change(change),
            });
        }
        reports.push(UpstreamChanges {
            name: new.name.clone(),
            from: old.version.clone(),
            to: new.version.clone(),
            items,
        });
    }
    Ok(reports)
}

/// `pack:KIND/ID` unless `id` is qualified already.
fn qualify(pack: &str, kind: &str, id: &str) -> String {
    if id.contains(':') {
        id.to_string()
    } else {
        format!("{pack}:{kind}/{id}")
    }
}

fn describe_change(change: Option<&Change>) -> Vec<String> {
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
                    super::error::plural(modification.properties.len(), "property")
                ));
            }
            if lines.is_empty() {
                lines.push("changed upstream (see `threatpack diff`)".to_string());
            }
            lines
        }
    }
}

/// The knowledge base of one locked pack, fetched and verified with the keys of `lockfile`.
fn fetched_kb(
    pack: &LockedPack,
    lockfile: &Lockfile,
    options: &DependencyOptions,
) -> Result<crate::compile::KnowledgeBase, Error> {
    let single = Lockfile {
        packs: vec![pack.clone()],
        keys: lockfile.keys.clone(),
        ..Lockfile::new()
    };
    let fetched = fetch_locked(
        &single,
        &[],
        &options.cache()?,
        &FetchOptions {
            offline: options.offline,
            jobs: 1,
        },
        &|_| {},
    )
    .map_err(|problems| Error::Fetch { problems })?;
    let first = fetched.first().ok_or("nothing was fetched")?;
    Ok(read_fetched(first)?.kb)
}

/// For `check`: registry packs come from the cache when threatpack.lock pins them and every one
/// of them is there and verifies, so references into them are checked too. Never the network,
/// never a write; otherwise the pack is read without them (and `check` says so).
pub fn cached_pack_graph(path: &Path, display: &str) -> Result<PackGraph, Error> {
    let fetched = (|| {
        let lock_path = path.join(LOCKFILE);
        let text = std::fs::read_to_string(&lock_path).ok()?;
        let lockfile = Lockfile::parse(&lock_path.display().to_string(), &text).ok()?;
        let cache = Cache::from_env().ok()?;
        let options = FetchOptions {
            offline: true,
            jobs: DEFAULT_JOBS,
        };
        fetch_locked(&lockfile, &[], &cache, &options, &|_| {}).ok()
    })();
    Ok(match fetched {
        Some(fetched) => load_graph_with(path, display, &mut LockedSource::new(fetched)),
        None => load_graph(path, display),
    }
    .map_err(|error| error.to_string())?)
}

#[cfg(test)]
mod tests {
    use super::{describe_changes, lock_changes};
    use crate::lockfile::{LockedPack, Lockfile};

    /// A lockfile of `name version` entries (checksum and signer derived from them).
    fn lockfile(packs: &[(&str, &str)]) -> Lockfile {
        Lockfile {
            packs: packs
                .iter()
                .map(|(name, version)| LockedPack {
                    name: name.to_string(),
                    version: version.to_string(),
                    registry: "http://127.0.0.1:1".to_string(),
                    checksum: format!("sha256:{name}{version}"),
                    signer: "0000000000000000".to_string(),
                    tier: None,
                    dependencies: Vec::new(),
                    log_index: None,
                })
                .collect(),
            ..Lockfile::new()
        }
    }

    fn check(old: Option<&[(&str, &str)]>, new: &[(&str, &str)], expect: &str) {
        let old = old.map(lockfile);
        let changes = lock_changes(old.as_ref(), &lockfile(new));
        assert_eq!(describe_changes(&changes), expect);
    }

    #[test]
    fn changes_are_listed_in_the_new_order_then_the_removals() {
        check(None, &[("a/x", "1.0.0")], "locking a/x 1.0.0");
        check(
            Some(&[("a/x", "1.0.0"), ("a/gone", "2.0.0")]),
            &[("a/new", "0.1.0"), ("a/x", "1.1.0")],
            "locking a/new 0.1.0; updating a/x 1.0.0 -> 1.1.0; removing a/gone 2.0.0",
        );
        check(
            Some(&[("a/x", "1.0.0")]),
            &[("a/x", "1.0.0")],
            "rewriting it (trusted keys or format)",
        );
    }

    #[test]
    fn an_entry_changed_at_the_same_version_is_a_change() {
        let old = lockfile(&[("a/x", "1.0.0")]);
        let mut new = old.clone();
        new.packs[0].signer = "1111111111111111".to_string();
        let changes = lock_changes(Some(&old), &new);
        assert_eq!(
            describe_changes(&changes),
            "changing the entry of a/x 1.0.0"
        );
    }
}
