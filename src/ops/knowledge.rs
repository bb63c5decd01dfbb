//! Loading a knowledge base: a project's locked registry packs (locked, fetched and verified
//! first), a pack directory (checked and compiled, its registry dependencies locked and
//! fetched), or a bundle (read as hostile input, its signature checked against given keys).

use std::path::{Path, PathBuf};

use super::bundles::{read_public_keys, signature_path};
use super::lock::{DependencyOptions, Root, Unlock, display_path, fetch_lockfile, lock_root};
use super::{Error, Progress};
use crate::analysis::report::{PackOrigin, PackSource};
use crate::build::check_and_compile;
use crate::bundle::{ReadLimits, read_bundle};
use crate::check::CheckOptions;
use crate::client::fetch::{Fetched, read_fetched};
use crate::client::source::LockedSource;
use crate::compile::{CompileOptions, KnowledgeBase, compile};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lockfile::{LOCKFILE, LockedPack, Lockfile};
use crate::project::{PROJECT_FILE, Project};
use crate::resolve::{PackGraph, PackLocation, resolve};
use crate::signing::verify_bundle;
use crate::source::PackSources;
use crate::workspace::read_capped;

/// Where a knowledge base comes from.
#[derive(Debug, Clone)]
pub enum KnowledgeSource {
    /// A project directory (holding `threatpack.toml`): its locked registry packs.
    Project(PathBuf),
    /// A pack directory: checked and compiled whole, or only `tier`.
    Pack {
        /// The directory holding `pack.toml`.
        path: PathBuf,
        /// Compile only the items of this tier and smaller.
        tier: Option<String>,
    },
    /// A built bundle.
    Bundle {
        /// The `.tar.gz` file.
        path: PathBuf,
        /// Public key files: when not empty, `BUNDLE.minisig` must verify against one of them.
        keys: Vec<PathBuf>,
    },
}

/// Options of [`load_knowledge`].
#[derive(Debug, Clone)]
pub struct KnowledgeOptions {
    /// Where the knowledge comes from.
    pub source: KnowledgeSource,
    /// How registry dependencies are locked and fetched (not used for a bundle).
    pub dependencies: DependencyOptions,
}

impl KnowledgeOptions {
    /// The locked packs of the project in `directory`: the lockfile must answer the project's
    /// dependencies as it is (`--locked`); packs missing from the cache are downloaded.
    pub fn locked_project(directory: &Path) -> KnowledgeOptions {
        KnowledgeOptions {
            source: KnowledgeSource::Project(directory.to_path_buf()),
            dependencies: DependencyOptions {
                locked: true,
                ..DependencyOptions::default()
            },
        }
    }
}

/// A knowledge base ready to apply, and the model its project names.
#[derive(Debug)]
pub struct Knowledge {
    /// The compiled knowledge base.
    pub kb: KnowledgeBase,
    /// The project, when the knowledge came from one.
    pub project: Option<Project>,
    /// Every pack compiled in, where it came from, its digest and signer: the report's
    /// provenance. Sorted by name.
    pub packs: Vec<PackOrigin>,
}

impl Knowledge {
    /// The system model to apply: `explicit` if given, else the project's
    /// ([`Project::model`]), else [`Error::NoModel`].
    pub fn model(&self, explicit: Option<&Path>) -> Result<PathBuf, Error> {
        if let Some(path) = explicit {
            return Ok(path.to_path_buf());
        }
        self.project
            .as_ref()
            .and_then(|project| project.model.clone())
            .ok_or_else(|| Error::NoModel {
                project: self.project.as_ref().map(|project| project.root.clone()),
            })
    }
}

/// Loads a knowledge base. For a project: `threatpack.lock` brought in step (or checked, with
/// `locked`), every locked pack fetched and verified; one pack is used as its signed
/// knowledge base, several are compiled together as the project's own root pack (one version
/// of each, overrides applied). For a pack: checked and compiled, [`Error::PackHasErrors`]
/// when it has errors. For a bundle: read and, with keys, verified ([`Error::Verify`]).
pub fn load_knowledge(
    options: &KnowledgeOptions,
    progress: &dyn Progress,
) -> Result<Knowledge, Error> {
    match &options.source {
        KnowledgeSource::Project(directory) => {
            load_project(directory, &options.dependencies, progress)
        }
        KnowledgeSource::Pack { path, tier } => {
            let kb = load_pack(path, tier.as_deref(), &options.dependencies, progress)?;
            // The registry dependencies are those of the pack's lockfile (just brought in step).
            let locked = match read_capped(&path.join(LOCKFILE), 16 * 1024 * 1024) {
                Ok(bytes) => {
                    let display = path.join(LOCKFILE).display().to_string();
                    Lockfile::parse(&display, &String::from_utf8_lossy(&bytes))?.packs
                }
                Err(_) => Vec::new(),
            };
            let root = (PackSource::Directory, None, None);
            let packs = pack_origins(&kb, &locked, root, PackSource::Directory);
            Ok(Knowledge {
                kb,
                project: None,
                packs,
            })
        }
        KnowledgeSource::Bundle { path, keys } => {
            let (kb, sha256, signer) = load_bundle_verified(path, keys)?;
            let root = (PackSource::Bundle, Some(sha256), signer);
            let packs = pack_origins(&kb, &[], root, PackSource::Bundle);
            Ok(Knowledge {
                kb,
                project: None,
                packs,
            })
        }
    }
}

/// The provenance of every pack in `kb`: a locked registry pack as locked; the built pack
/// itself as `root` says; any other (a dependency compiled in) from `others`, without digest.
fn pack_origins(
    kb: &KnowledgeBase,
    locked: &[LockedPack],
    root: (PackSource, Option<String>, Option<String>),
    others: PackSource,
) -> Vec<PackOrigin> {
    let mut packs: Vec<PackOrigin> = kb
        .packs
        .iter()
        .map(|pack| {
            let registry = locked
                .iter()
                .find(|locked| locked.name == pack.name && locked.version == pack.version);
            let (source, sha256, signer) = match registry {
                Some(locked) => (
                    PackSource::Registry,
                    Some(
                        locked
                            .checksum
                            .strip_prefix("sha256:")
                            .unwrap_or(&locked.checksum)
                            .to_string(),
                    ),
                    Some(locked.signer.clone()),
                ),
                None if pack.name == kb.pack && pack.version == kb.version => root.clone(),
                None => (others, None, None),
            };
            PackOrigin {
                name: pack.name.clone(),
                version: pack.version.clone(),
                sha256,
                signer,
                source,
            }
        })
        .collect();
    packs.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    packs
}

/// A pack directory checked and compiled (registry dependencies locked and fetched first):
/// whole, or only `tier`.
pub fn load_pack(
    path: &Path,
    tier: Option<&str>,
    dependencies: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<KnowledgeBase, Error> {
    let graph = super::lock::load_pack_graph(path, dependencies, progress)?;
    let display = display_path(path);
    // Checked and compiled whole first, so that its errors are reported as `check` does.
    let whole = compile_graph(graph, &display)?;
    let Some(tier) = tier else {
        return Ok(whole.1);
    };
    let graph = whole.0;
    let compiled = compile(
        &graph,
        &CompileOptions {
            tier: Some(tier.to_string()),
        },
    );
    match compiled.kb {
        Some(kb) => Ok(kb),
        None => Err(Error::PackHasErrors {
            pack: display,
            diagnostics: compiled.diagnostics,
            graph: Box::new(graph),
        }),
    }
}

/// A bundle's knowledge base, read as hostile input; with `keys`, only if its signature
/// (`BUNDLE.minisig`) verifies against one of them.
pub fn load_bundle(path: &Path, keys: &[PathBuf]) -> Result<KnowledgeBase, Error> {
    load_bundle_verified(path, keys).map(|(kb, _, _)| kb)
}

/// [`load_bundle`], with the bundle's hex sha256 and, when verified, its signer's key id.
fn load_bundle_verified(
    path: &Path,
    keys: &[PathBuf],
) -> Result<(KnowledgeBase, String, Option<String>), Error> {
    let limits = ReadLimits::default();
    let bytes = read_capped(path, limits.max_bundle_bytes)?;
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{}` is not a valid bundle: {error}", path.display()))?;
    let mut signer = None;
    if !keys.is_empty() {
        let signature_path = signature_path(path);
        let signature = read_capped(&signature_path, 1024 * 1024).map_err(|error| {
            format!("cannot read the signature of `{}`: {error}", path.display())
        })?;
        let trusted = read_public_keys(keys)?;
        let verified = verify_bundle(
            &bytes,
            Some(&bundle.manifest),
            &String::from_utf8_lossy(&signature),
            &trusted,
        )
        .map_err(|error| Error::Verify {
            bundle: path.to_path_buf(),
            reason: error.to_string(),
        })?;
        signer = Some(verified.key_id);
    }
    Ok((bundle.kb, crate::digest::sha256_hex(&bytes), signer))
}

/// Checks and compiles a graph; its errors as [`Error::PackHasErrors`].
fn compile_graph(graph: PackGraph, display: &str) -> Result<(PackGraph, KnowledgeBase), Error> {
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    match kb {
        Some(kb) if errors.is_empty() => Ok((graph, kb)),
        _ => Err(Error::PackHasErrors {
            pack: display.to_string(),
            diagnostics: errors,
            graph: Box::new(graph),
        }),
    }
}

/// A project's knowledge: its one pack's signed `kb.json` as fetched, or — when it uses
/// several packs — those packs compiled together.
fn load_project(
    directory: &Path,
    dependencies: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<Knowledge, Error> {
    let root = Root::at(directory)?;
    let Root::Project(project) = root else {
        return Err(Error::NotAProject {
            path: directory.to_path_buf(),
        });
    };
    let direct: Vec<String> = project.manifest.dependencies.keys().cloned().collect();
    if direct.is_empty() {
        return Err(Error::NoDependencies {
            manifest: project.root.join(PROJECT_FILE),
        });
    }
    let root = Root::Project(project.clone());
    let requirements = root.requirements()?;
    let Some(locked) = lock_root(
        &root,
        requirements,
        dependencies,
        &Unlock::Nothing,
        progress,
    )?
    else {
        return Err("the project has no registry dependencies".into());
    };
    project_knowledge(*project, &locked.outcome.lockfile, dependencies, progress)
}

/// The knowledge of a project under `lockfile` (the one on disk, or one not yet written):
/// every pack in it fetched and verified, then used or compiled as [`load_project`] says.
pub(crate) fn project_knowledge(
    project: Project,
    lockfile: &crate::lockfile::Lockfile,
    dependencies: &DependencyOptions,
    progress: &dyn Progress,
) -> Result<Knowledge, Error> {
    let direct: Vec<String> = project.manifest.dependencies.keys().cloned().collect();
    let root = Root::Project(Box::new(project.clone()));
    let fetched = fetch_lockfile(&root, lockfile, dependencies, progress)?;
    let locked_packs: Vec<LockedPack> = fetched.iter().map(|one| one.pack.clone()).collect();
    if let [only] = direct.as_slice() {
        let pack = fetched
            .iter()
            .find(|fetched| &fetched.pack.name == only)
            .ok_or_else(|| format!("`{only}` was not fetched"))?;
        let bundle = read_fetched(pack)?;
        let root = (PackSource::Registry, None, None);
        let packs = pack_origins(&bundle.kb, &locked_packs, root, PackSource::Registry);
        return Ok(Knowledge {
            kb: bundle.kb,
            project: Some(project),
            packs,
        });
    }
    let (display, sources) = project_root_pack(&project, &fetched)?;
    let location = PackLocation::Directory {
        canonical: project.root.clone(),
        display: display.clone(),
    };
    let graph = resolve(location, sources, &mut LockedSource::new(fetched));
    let (_, kb) = compile_graph(graph, &display)?;
    // The project's own root pack has no items: only the packs it uses are listed.
    let root = (PackSource::Directory, None, None);
    let mut packs = pack_origins(&kb, &locked_packs, root, PackSource::Registry);
    packs.retain(|pack| !(pack.name == kb.pack && pack.version == kb.version));
    Ok(Knowledge {
        kb,
        project: Some(project),
        packs,
    })
}

/// A valid pack name part from any project name: its ASCII words, lowercased, joined by `-`,
/// starting with a letter and at most 64 characters.
fn project_slug(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut slug = words.join("-");
    if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        slug.insert_str(0, "project-");
    }
    slug.truncate(64);
    slug.trim_end_matches('-').to_string()
}

/// A project that uses several packs is compiled as a pack of its own with no items of its
/// own: `project/NAME` 0.0.0, depending on the project's packs, with the tiers of the first.
fn project_root_pack(
    project: &Project,
    fetched: &[Fetched],
) -> Result<(String, PackSources), Error> {
    let slug = project_slug(&project.name);
    let first = project
        .manifest
        .dependencies
        .keys()
        .next()
        .and_then(|name| fetched.iter().find(|pack| &pack.pack.name == name))
        .ok_or("no pack was fetched")?;
    let tiers = read_fetched(first)?.kb.tiers;
    // Serialized, never formatted by hand: a project's name may hold quotes, backslashes or
    // any Unicode, and only the TOML serializer escapes them as TOML requires.
    let mut pack = toml::Table::new();
    pack.insert("format".into(), toml::Value::Integer(1));
    pack.insert("name".into(), format!("project/{slug}").into());
    pack.insert("version".into(), "0.0.0".into());
    pack.insert(
        "description".into(),
        format!("The packs of the project {}", project.name).into(),
    );
    pack.insert("license".into(), "CC0-1.0".into());
    if !tiers.is_empty() {
        pack.insert(
            "tiers".into(),
            toml::Value::Array(tiers.iter().map(|tier| tier.clone().into()).collect()),
        );
    }
    let dependencies: toml::Table = project
        .manifest
        .dependencies
        .iter()
        .map(|(name, spec)| (name.clone(), spec.requirement().to_string().into()))
        .collect();
    let mut manifest = toml::Table::new();
    manifest.insert("pack".into(), toml::Value::Table(pack));
    manifest.insert("dependencies".into(), toml::Value::Table(dependencies));
    let text = toml::to_string(&manifest)
        .map_err(|error| format!("cannot write the project's root manifest: {error}"))?;
    let display = project.root.join(PROJECT_FILE).display().to_string();
    Ok((
        display.clone(),
        PackSources::from_memory(&display, vec![("pack.toml".to_string(), text)]),
    ))
}
