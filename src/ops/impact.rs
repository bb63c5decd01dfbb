//! What a change of knowledge does to threat models: two report files compared
//! ([`diff_report_files`]), a candidate pack version applied to many projects' models next to
//! the version they use ([`impact`]: models in a directory, or the registry's dependents and
//! their latest stored models), and an update of one project ([`update_impact`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::apply::{ApplyOptions, apply_to, read_mapping};
use super::knowledge::{
    Knowledge, KnowledgeOptions, KnowledgeSource, load_knowledge, project_knowledge,
};
use super::lock::{DependencyOptions, LockChange, LockOptions, Root, lock_root_with};
use super::registry::{ModelReader, RegistryOptions, dependents};
use super::{Error, Progress};
use crate::analysis::Detail;
use crate::analysis::diff::{PackView, ReportDiff, ReportView, ThreatField, diff};
use crate::lockfile::LOCKFILE;
use crate::project::{PROJECT_FILE, Project};
use crate::system::otm::Mapping;
use crate::system::{MAX_MODEL_BYTES, load_model_or_text};
use crate::wire::PackClaim;
use crate::workspace::read_capped;

/// Why a report file could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum ReportFileError {
    /// The file could not be opened or read (an operational failure).
    #[error("cannot read `{}`: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    /// The file is not a threatpack JSON report (bad input).
    #[error(
        "`{}` is not a threatpack JSON report: {reason}\n       help: make it with `threatpack apply --format json`",
        path.display()
    )]
    Invalid { path: PathBuf, reason: String },
}

/// Reads a JSON report (`apply --format json`) in one streaming pass, keeping only what a
/// diff needs ([`ReportView`]; caps in `analysis::diff`).
pub fn read_report_view(path: &Path) -> Result<ReportView, ReportFileError> {
    let file = std::fs::File::open(path).map_err(|error| ReportFileError::Read {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    ReportView::read(std::io::BufReader::with_capacity(1 << 16, file)).map_err(|error| {
        if error.is_io() {
            ReportFileError::Read {
                path: path.to_path_buf(),
                reason: error.to_string(),
            }
        } else {
            ReportFileError::Invalid {
                path: path.to_path_buf(),
                reason: error.to_string(),
            }
        }
    })
}

/// `report diff OLD NEW`: threat instances new, gone and changed, backlog items added,
/// removed and changed, by stable id.
pub fn diff_report_files(old: &Path, new: &Path) -> Result<ReportDiff, ReportFileError> {
    // Each file is read on its own thread: parsing is most of the time.
    let (old_view, new_view) = std::thread::scope(|scope| {
        let reading = scope.spawn(|| read_report_view(old));
        let new_view = read_report_view(new);
        let old_view = reading.join().unwrap_or_else(|_| {
            Err(ReportFileError::Invalid {
                path: old.to_path_buf(),
                reason: "internal error while reading".to_string(),
            })
        });
        (old_view, new_view)
    });
    Ok(diff(&old_view?, &new_view?))
}

/// Options of [`impact`].
#[derive(Debug, Clone)]
pub struct ImpactOptions {
    /// The candidate: a pack directory or a bundle (not yet published).
    pub candidate: KnowledgeSource,
    /// The knowledge the projects use now. `None`: each project directory's own
    /// `threatpack.toml` and `threatpack.lock` (loaded `--locked`).
    pub baseline: Option<KnowledgeSource>,
    /// Where the projects and their models come from.
    pub projects: ImpactProjects,
    /// For OTM, Threat Dragon and .tm7 models: the mapping table.
    pub mapping: Option<PathBuf>,
    /// The tier, as `apply --tier` (`None`: each model's default).
    pub tier: Option<String>,
    /// How registry dependencies are locked and fetched (for a pack's or a project's).
    pub dependencies: DependencyOptions,
    /// Models applied at once (0: one per core).
    pub jobs: usize,
}

/// The projects [`impact`] compares.
#[derive(Debug, Clone)]
pub enum ImpactProjects {
    /// A directory of projects: `PROJECT/model.*` (any model syntax `apply` reads), or
    /// `PROJECT/threatpack.toml` naming its model.
    Directory(PathBuf),
    /// The registry: every project whose latest report uses the candidate's pack (its
    /// dependents), with the latest model pushed for it and, as its baseline, the version it
    /// uses, fetched and verified as `apply` fetches packs. Needs a `portfolio` token.
    Registry(RegistryOptions),
}

/// What a candidate does to every project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Impact {
    pub format: u32,
    /// The candidate's name and version.
    pub candidate: PackView,
    pub totals: ImpactTotals,
    /// Every project, by name.
    pub projects: Vec<ProjectImpact>,
}

/// Sums over the projects compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImpactTotals {
    pub projects: usize,
    /// Projects where something changes.
    pub changed_projects: usize,
    /// Projects that could not be compared (their `error` says why).
    pub failed_projects: usize,
    pub threats_new: usize,
    pub threats_gone: usize,
    /// Threats in both whose severity, residual risk or state changes.
    pub threats_changed: usize,
    pub severity_changed: usize,
    pub residual_changed: usize,
    pub backlog_added: usize,
    pub backlog_removed: usize,
    pub backlog_changed: usize,
}

/// One project: its diff from the knowledge it uses to the candidate, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProjectImpact {
    pub project: String,
    /// The model file, as displayed.
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<ReportDiff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The version of the impact format (schema/impact.schema.json).
pub const IMPACT_FORMAT: u32 = 1;

/// Applies the candidate and the knowledge each project uses now to each project's model,
/// and compares the two reports ([`crate::analysis::diff`]). Each knowledge base is loaded
/// and compiled once (a project baseline once per distinct lockfile), models are applied on
/// every core. A project whose model or knowledge fails is listed with its error; the other
/// projects are still compared.
pub fn impact(options: &ImpactOptions, progress: &dyn Progress) -> Result<Impact, Error> {
    let candidate = load_knowledge(
        &KnowledgeOptions {
            source: options.candidate.clone(),
            dependencies: options.dependencies.clone(),
        },
        progress,
    )?;
    let shared_baseline = match &options.baseline {
        Some(source) => Some(load_knowledge(
            &KnowledgeOptions {
                source: source.clone(),
                dependencies: options.dependencies.clone(),
            },
            progress,
        )?),
        None => None,
    };
    // Without a shared baseline: each project's own knowledge, loaded once per lockfile (a
    // directory) or once per version in use (the registry).
    let mut baselines: Vec<Knowledge> = Vec::new();
    let mut baseline_of: Vec<Result<usize, String>> = Vec::new();
    let projects = match &options.projects {
        ImpactProjects::Directory(models) => {
            let projects = find_projects(models)?;
            if shared_baseline.is_none() {
                let mut by_lockfile: BTreeMap<String, usize> = BTreeMap::new();
                for project in &projects {
                    baseline_of.push(project_baseline(
                        project,
                        options,
                        &mut by_lockfile,
                        &mut baselines,
                        progress,
                    ));
                }
            }
            projects
        }
        ImpactProjects::Registry(registry) => {
            let users = dependents(registry, &candidate.kb.pack)
                .map_err(|error| Error::Other(error.to_string()))?;
            if users.dependents.is_empty() {
                return Err(Error::Other(format!(
                    "no project's latest report on {} uses `{}` (or the token reads none of them): push reports with `threatpack apply --push`",
                    registry.url, candidate.kb.pack
                )));
            }
            let mut by_version: BTreeMap<String, Result<usize, String>> = BTreeMap::new();
            let mut projects = Vec::new();
            for user in users.dependents {
                if shared_baseline.is_none() {
                    let position = by_version
                        .entry(user.version.clone())
                        .or_insert_with(|| {
                            let knowledge = registry_baseline(
                                &candidate.kb.pack,
                                &user.version,
                                registry,
                                options,
                                progress,
                            )?;
                            baselines.push(knowledge);
                            Ok(baselines.len() - 1)
                        })
                        .clone();
                    baseline_of.push(position);
                }
                projects.push(ImpactProject {
                    name: user.project,
                    model: ProjectModelSource::Registry,
                });
            }
            projects
        }
    };
    let mapping = match &options.mapping {
        Some(path) => Some(read_mapping(path)?),
        None => None,
    };
    // One HTTP client for every model read, shared by the workers.
    let reader = match &options.projects {
        ImpactProjects::Registry(registry) => {
            Some(ModelReader::open(registry).map_err(|error| Error::Other(error.to_string()))?)
        }
        ImpactProjects::Directory(_) => None,
    };
    let apply_options = ApplyOptions {
        model: None,
        mapping: options.mapping.clone(),
        tier: options.tier.clone(),
        detail: Detail::Full,
        project_name: None,
        revision: None,
    };
    let jobs = match options.jobs {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        jobs => jobs,
    }
    .min(projects.len().max(1));
    progress.start("applying", projects.len() as u64);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<ProjectImpact>>> =
        projects.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(project) = projects.get(index) else {
                        break;
                    };
                    let baseline = match (&shared_baseline, baseline_of.get(index)) {
                        (Some(shared), _) => Ok(shared),
                        (None, Some(Ok(position))) => Ok(&baselines[*position]),
                        (None, Some(Err(error))) => Err(error.clone()),
                        (None, None) => Err("no baseline".to_string()),
                    };
                    let outcome = baseline.and_then(|baseline| {
                        compare_project(
                            baseline,
                            &candidate,
                            project,
                            reader.as_ref(),
                            mapping.as_ref(),
                            &apply_options,
                        )
                    });
                    let (diff, error) = match outcome {
                        Ok(diff) => (Some(diff), None),
                        Err(error) => (None, Some(error)),
                    };
                    if let Ok(mut slot) = results[index].lock() {
                        *slot = Some(ProjectImpact {
                            project: project.name.clone(),
                            model: project.model_display(reader.as_ref()),
                            diff,
                            error,
                        });
                    }
                    progress.advance(&project.name);
                }
            });
        }
    });
    progress.finish();
    let projects: Vec<ProjectImpact> = results
        .into_iter()
        .filter_map(|slot| slot.into_inner().ok().flatten())
        .collect();
    let mut totals = ImpactTotals {
        projects: projects.len(),
        ..ImpactTotals::default()
    };
    for project in &projects {
        let Some(diff) = &project.diff else {
            totals.failed_projects += 1;
            continue;
        };
        if !diff.is_empty() {
            totals.changed_projects += 1;
        }
        totals.threats_new += diff.threats.new.len();
        totals.threats_gone += diff.threats.gone.len();
        totals.threats_changed += diff.threats.changed.len();
        for change in &diff.threats.changed {
            totals.severity_changed += usize::from(change.changes.contains(&ThreatField::Severity));
            totals.residual_changed += usize::from(change.changes.contains(&ThreatField::Residual));
        }
        totals.backlog_added += diff.backlog.added.len();
        totals.backlog_removed += diff.backlog.removed.len();
        totals.backlog_changed += diff.backlog.changed.len();
    }
    Ok(Impact {
        format: IMPACT_FORMAT,
        candidate: PackView {
            name: candidate.kb.pack.clone(),
            version: candidate.kb.version.clone(),
        },
        totals,
        projects,
    })
}

/// A project [`impact`] compares, and where its model is.
#[derive(Debug, Clone)]
struct ImpactProject {
    name: String,
    model: ProjectModelSource,
}

#[derive(Debug, Clone)]
enum ProjectModelSource {
    /// Found under `--models`: the project's directory and its model file.
    File { directory: PathBuf, model: PathBuf },
    /// The latest model pushed for the project, fetched (with `impact`'s `ModelReader`) when
    /// it is compared.
    Registry,
}

/// A project's model as read: its name for people, its text, and (from the registry) the
/// packs the project's latest report claims.
struct ModelText {
    display: String,
    text: String,
    packs: Vec<PackClaim>,
}

impl ImpactProject {
    fn model_display(&self, reader: Option<&ModelReader<'_>>) -> String {
        match (&self.model, reader) {
            (ProjectModelSource::File { model, .. }, _) => model.display().to_string(),
            (ProjectModelSource::Registry, Some(reader)) => reader.model_url(&self.name),
            (ProjectModelSource::Registry, None) => self.name.clone(),
        }
    }

    /// The model, read from its file or fetched from the registry.
    fn model_text(&self, reader: Option<&ModelReader<'_>>) -> Result<ModelText, String> {
        match (&self.model, reader) {
            (ProjectModelSource::File { model, .. }, _) => {
                let bytes = read_capped(model, MAX_MODEL_BYTES)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("`{}` is not UTF-8 text", model.display()))?;
                Ok(ModelText {
                    display: model.display().to_string(),
                    text,
                    packs: Vec::new(),
                })
            }
            (ProjectModelSource::Registry, Some(reader)) => {
                let stored = reader
                    .model(&self.name)
                    .map_err(|error| error.to_string())?;
                // The name it was pushed under only chooses the syntax (by its extension).
                Ok(ModelText {
                    display: format!("{}: {}", self.name, stored.file),
                    text: stored.text,
                    packs: stored.packs,
                })
            }
            (ProjectModelSource::Registry, None) => Err("no registry to read it from".into()),
        }
    }
}

/// The projects of a directory, by name: each subdirectory holding a `threatpack.toml`
/// (its model as the project names it) or exactly one `model.*` file.
fn find_projects(models: &Path) -> Result<Vec<ImpactProject>, Error> {
    let entries = std::fs::read_dir(models)
        .map_err(|error| format!("cannot read `{}`: {error}", models.display()))?;
    let mut projects = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|error| format!("cannot read `{}`: {error}", models.display()))?;
        let directory = entry.path();
        // Symbolic links and hidden entries are skipped, as in pack directories.
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let model = if directory.join(PROJECT_FILE).is_file() {
            Project::read(&directory)
                .ok()
                .and_then(|project| project.model)
        } else {
            None
        };
        let model = match model {
            Some(model) => model,
            None => {
                let mut candidates: Vec<PathBuf> = std::fs::read_dir(&directory)
                    .map_err(|error| format!("cannot read `{}`: {error}", directory.display()))?
                    .filter_map(Result::ok)
                    .filter(|file| file.file_type().is_ok_and(|kind| kind.is_file()))
                    .map(|file| file.path())
                    .filter(|path| path.file_stem().is_some_and(|stem| stem == "model"))
                    .collect();
                candidates.sort();
                match candidates.as_slice() {
                    [only] => only.clone(),
                    [] => continue,
                    _ => {
                        return Err(Error::Other(format!(
                            "`{}` holds several model files ({}): keep one, or name it in threatpack.toml",
                            directory.display(),
                            candidates
                                .iter()
                                .filter_map(|path| path.file_name())
                                .map(|name| name.to_string_lossy().into_owned())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
        };
        projects.push(ImpactProject {
            name,
            model: ProjectModelSource::File { directory, model },
        });
    }
    if projects.is_empty() {
        return Err(Error::Other(format!(
            "`{}` holds no projects: put each project's model in `DIR/PROJECT/model.toml` (or any model syntax `apply` reads)",
            models.display()
        )));
    }
    projects.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(projects)
}

/// The knowledge a project uses now (its locked packs), loaded once per distinct lockfile.
fn project_baseline(
    project: &ImpactProject,
    options: &ImpactOptions,
    by_lockfile: &mut BTreeMap<String, usize>,
    baselines: &mut Vec<Knowledge>,
    progress: &dyn Progress,
) -> Result<usize, String> {
    let ProjectModelSource::File { directory, .. } = &project.model else {
        return Err("not a project directory".to_string());
    };
    let manifest = directory.join(PROJECT_FILE);
    let lockfile = directory.join(LOCKFILE);
    if !manifest.is_file() || !lockfile.is_file() {
        return Err(format!(
            "`{}` has no threatpack.toml and threatpack.lock to say which version it uses: add them, or give --baseline-pack",
            directory.display()
        ));
    }
    let manifest_text = read_capped(&manifest, 1024 * 1024)?;
    let lockfile_text = read_capped(&lockfile, 16 * 1024 * 1024)?;
    let key = format!(
        "{}:{}",
        crate::digest::sha256_hex(&manifest_text),
        crate::digest::sha256_hex(&lockfile_text)
    );
    if let Some(position) = by_lockfile.get(&key) {
        return Ok(*position);
    }
    let knowledge = load_knowledge(
        &KnowledgeOptions {
            source: KnowledgeSource::Project(directory.clone()),
            dependencies: DependencyOptions {
                locked: true,
                ..options.dependencies.clone()
            },
        },
        progress,
    )
    .map_err(|error| error.to_string())?;
    baselines.push(knowledge);
    by_lockfile.insert(key, baselines.len() - 1);
    Ok(baselines.len() - 1)
}

/// One project's model under both knowledge bases, compared.
fn compare_project(
    baseline: &Knowledge,
    candidate: &Knowledge,
    project: &ImpactProject,
    reader: Option<&ModelReader<'_>>,
    mapping: Option<&Mapping>,
    options: &ApplyOptions,
) -> Result<ReportDiff, String> {
    // The model is read (or fetched) once; applying consumes it, so it is loaded twice.
    let ModelText {
        display,
        text,
        packs,
    } = project.model_text(reader)?;
    // A project on other packs as well would lose their threats in both runs: not compared.
    let others: Vec<String> = packs
        .iter()
        .filter(|claim| {
            !baseline
                .packs
                .iter()
                .any(|origin| origin.name == claim.name)
        })
        .map(|claim| format!("{} {}", claim.name, claim.version))
        .collect();
    if !others.is_empty() {
        return Err(format!(
            "it uses other packs as well ({}): impact compares a pack on its own; compare this project with `threatpack update --dry-run` in its directory",
            others.join(", ")
        ));
    }
    let report_with = |knowledge: &Knowledge| -> Result<ReportView, String> {
        let file = load_model_or_text(&display, text.clone(), mapping).map_err(
            |(diagnostics, text)| {
                error_text(Error::ModelHasErrors {
                    file: display.clone(),
                    text,
                    diagnostics,
                })
            },
        )?;
        let report = apply_to(knowledge, Some(file), options).map_err(error_text)?;
        Ok(ReportView::of(&report))
    };
    Ok(diff(&report_with(baseline)?, &report_with(candidate)?))
}

/// The knowledge of `pack` `version` as the registry serves it: a throwaway project pinning
/// that version (`=VERSION`), locked and fetched as `apply` does (index signature, digest and
/// publisher signature checked; the cache is shared).
fn registry_baseline(
    pack: &str,
    version: &str,
    registry: &RegistryOptions,
    options: &ImpactOptions,
    progress: &dyn Progress,
) -> Result<Knowledge, String> {
    let directory = tempfile::tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
    let mut project = toml::Table::new();
    project.insert("name".into(), "impact-baseline".into());
    project.insert("registry".into(), registry.url.clone().into());
    let mut dependencies = toml::Table::new();
    dependencies.insert(pack.into(), format!("={version}").into());
    let mut manifest = toml::Table::new();
    manifest.insert("project".into(), project.into());
    manifest.insert("dependencies".into(), dependencies.into());
    let text = toml::to_string(&manifest)
        .map_err(|error| format!("cannot write a project manifest: {error}"))?;
    std::fs::write(directory.path().join(PROJECT_FILE), text).map_err(|error| {
        format!(
            "cannot write `{}`: {error}",
            directory.path().join(PROJECT_FILE).display()
        )
    })?;
    load_knowledge(
        &KnowledgeOptions {
            source: KnowledgeSource::Project(directory.path().to_path_buf()),
            dependencies: DependencyOptions {
                registry: Some(registry.url.clone()),
                locked: false,
                ..options.dependencies.clone()
            },
        },
        progress,
    )
    .map_err(|error| format!("{pack} {version} from {}: {error}", registry.url))
}

/// An error in one line, with a model's problems spelled out (the CLI has no file to point
/// into for every project).
fn error_text(error: Error) -> String {
    match &error {
        Error::ModelHasErrors { diagnostics, .. } => format!(
            "{error}: {}",
            diagnostics
                .iter()
                .map(|diagnostic| diagnostic.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        _ => error.to_string(),
    }
}

/// What `update --dry-run` would do to a project: the lockfile's changes, and the threat
/// model's diff from the packs locked now to the packs the update would lock.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct UpdateImpact {
    /// The lockfile's path (left as it is).
    pub lockfile: PathBuf,
    /// What the update would change in it (empty: nothing to update).
    pub changes: Vec<LockChange>,
    /// The project's model under the packs locked now and after the update, compared.
    pub diff: ReportDiff,
}

/// `update --dry-run`: works out the lockfile the update would write (its packs fetched and
/// verified into the cache), applies the knowledge of the lockfile on disk and of that one to
/// the project's model, and compares them. `threatpack.lock` is not written. Only for a
/// project (a pack has no model).
pub fn update_impact(
    path: &Path,
    options: &LockOptions,
    apply: &ApplyOptions,
    progress: &dyn Progress,
) -> Result<UpdateImpact, Error> {
    let root = Root::at(path)?;
    let Root::Project(project) = &root else {
        return Err(Error::Other(format!(
            "`{}` is a pack: `update --dry-run` shows the threat-model diff of a project (holding threatpack.toml); for a pack, compare versions with `threatpack impact`",
            path.display()
        )));
    };
    let project = (**project).clone();
    // What is locked now, as `apply --locked` uses it.
    let current_options = DependencyOptions {
        locked: true,
        ..options.dependencies.clone()
    };
    let current = load_knowledge(
        &KnowledgeOptions {
            source: KnowledgeSource::Project(path.to_path_buf()),
            dependencies: current_options,
        },
        progress,
    )?;
    let requirements = root.requirements()?;
    let locked = lock_root_with(
        &root,
        requirements,
        &DependencyOptions {
            locked: false,
            ..options.dependencies.clone()
        },
        &options.unlock,
        progress,
        false,
    )?
    .ok_or("the project has no registry dependencies")?;
    let updated = project_knowledge(
        project,
        &locked.outcome.lockfile,
        &options.dependencies,
        progress,
    )?;
    let old = ReportView::of(&apply_to(&current, None, apply)?);
    let new = ReportView::of(&apply_to(&updated, None, apply)?);
    Ok(UpdateImpact {
        lockfile: locked.outcome.path,
        changes: locked.outcome.changes,
        diff: diff(&old, &new),
    })
}
