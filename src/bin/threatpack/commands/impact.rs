//! `threatpack impact CANDIDATE [--models DIR | --registry URL]`: what a candidate pack version changes in every
//! project's threat model, next to the version each uses now.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::analysis::diff::human;
use threatpack::ops::{self, ImpactOptions, ImpactProjects, KnowledgeSource};
use threatpack::render::visible;

use super::Format;
use super::dependencies::{DependencyArgs, TerminalProgress, report_error};
use super::registry::RegistryArgs;

#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// The candidate: a pack directory or a built bundle
    candidate: PathBuf,
    /// A directory of projects: `PROJECT/model.*` (any model syntax `apply` reads), or a
    /// project directory with threatpack.toml and threatpack.lock. Without it, the projects
    /// come from the registry (--registry): every project whose latest report uses the
    /// candidate's pack, with the model pushed with it (needs a `portfolio` token)
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// The version the projects use now, for all of them: a pack directory or a bundle.
    /// Default: each project's own threatpack.toml and threatpack.lock
    #[arg(long, value_name = "PACK_DIR|BUNDLE")]
    baseline_pack: Option<PathBuf>,
    /// Public keys a bundle's signature (BUNDLE.minisig) must verify against
    #[arg(long = "key", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// For OTM, Threat Dragon and .tm7 models: the table mapping their types to entity kinds
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// A tier name, `auto` or `all`, as `apply --tier` (default: each model's)
    #[arg(long)]
    tier: Option<String>,
    /// Models applied at once (default: one per core)
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// `human` (a line per changed project, `-v`: every change), or `json`
    /// (schema/impact.schema.json)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    dependencies: DependencyArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: ImpactArgs) -> Result<ExitCode, String> {
    let source = |path: &PathBuf| {
        if path.is_dir() {
            KnowledgeSource::Pack {
                path: path.clone(),
                tier: None,
            }
        } else {
            KnowledgeSource::Bundle {
                path: path.clone(),
                keys: args.keys.clone(),
            }
        }
    };
    let options = ImpactOptions {
        candidate: source(&args.candidate),
        baseline: args.baseline_pack.as_ref().map(source),
        projects: match &args.models {
            Some(models) => ImpactProjects::Directory(models.clone()),
            None => ImpactProjects::Registry(args.registry.authenticated()?),
        },
        mapping: args.mapping.clone(),
        tier: args.tier.clone(),
        dependencies: args.dependencies.options(&args.registry),
        jobs: args.jobs,
    };
    let impact = match ops::impact(&options, &TerminalProgress::default()) {
        Ok(impact) => impact,
        Err(error) => return Ok(report_error(&error)),
    };
    if args.format == Format::Json {
        println!(
            "{}",
            serde_json::to_string(&impact)
                .map_err(|error| format!("cannot write the impact: {error}"))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let detailed = crate::output::verbosity() == crate::output::Verbosity::Verbose;
    for project in &impact.projects {
        let name = visible(&project.project);
        match (&project.diff, &project.error) {
            (_, Some(error)) => println!("{name}: not compared: {}", visible(error)),
            (Some(diff), None) if !diff.is_empty() => {
                let threats = &diff.threats;
                let backlog = &diff.backlog;
                println!(
                    "{name}: threats +{} -{} ~{}, backlog +{} -{} ~{}",
                    threats.new.len(),
                    threats.gone.len(),
                    threats.changed.len(),
                    backlog.added.len(),
                    backlog.removed.len(),
                    backlog.changed.len()
                );
                if detailed {
                    for line in human(diff, None).lines() {
                        println!("    {line}");
                    }
                }
            }
            _ => {}
        }
    }
    let totals = &impact.totals;
    println!(
        "{} {}: {} of {} projects change ({} not compared); threats {} new, {} gone, {} changed ({} in severity, {} in residual risk); backlog items {} added, {} removed, {} changed",
        visible(&impact.candidate.name),
        visible(&impact.candidate.version),
        totals.changed_projects,
        totals.projects,
        totals.failed_projects,
        totals.threats_new,
        totals.threats_gone,
        totals.threats_changed,
        totals.severity_changed,
        totals.residual_changed,
        totals.backlog_added,
        totals.backlog_removed,
        totals.backlog_changed
    );
    Ok(ExitCode::SUCCESS)
}
