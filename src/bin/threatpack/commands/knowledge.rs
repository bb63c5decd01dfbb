//! What `apply`, `questions` and `test` share: loading the knowledge base (a pack directory,
//! checked and compiled; or a bundle, read as hostile input and optionally verified) and the
//! system model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::build::check_and_compile;
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::check::CheckOptions;
use threatpack::client::fetch::read_fetched;
use threatpack::client::resolve::Unlock;
use threatpack::compile::KnowledgeBase;
use threatpack::diagnostic::{Diagnostic, Severity};
use threatpack::project::PROJECT_FILE;
use threatpack::render::{SourceMap, render_human};
use threatpack::resolve::PackGraph;
use threatpack::signing::verify_bundle;
use threatpack::system::{MAX_MODEL_BYTES, ModelFile};
use threatpack::workspace::read_capped;

use super::dependencies::{DependencyArgs, Root, fetch, load_pack_graph, lock};
use super::registry::RegistryArgs;
use super::{display_root, plural, print_diagnostics};

#[derive(Debug, Args)]
#[group(required = false, multiple = false, id = "knowledge")]
pub struct KnowledgeArgs {
    /// A built bundle (`threatpack build`) to apply
    #[arg(long, value_name = "FILE", group = "knowledge")]
    pub bundle: Option<PathBuf>,
    /// A pack directory to check, compile and apply
    #[arg(long, value_name = "DIR", group = "knowledge")]
    pub pack: Option<PathBuf>,
    /// A project directory (holding threatpack.toml): its locked registry packs, and its
    /// model unless --model says otherwise. The default when neither --bundle nor --pack is given
    #[arg(long, value_name = "DIR", group = "knowledge")]
    pub project: Option<PathBuf>,
    #[command(flatten)]
    pub dependencies: DependencyArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The knowledge base, and the model a project names.
pub struct Loaded {
    pub kb: KnowledgeBase,
    pub project_model: Option<PathBuf>,
}

impl Loaded {
    /// `--model`, else the project's `model`.
    pub fn model(&self, model: Option<&std::path::Path>) -> Result<PathBuf, String> {
        model
            .map(std::path::Path::to_path_buf)
            .or_else(|| self.project_model.clone())
            .ok_or_else(|| {
                "give the system model with --model FILE (or set `model` under [project] in threatpack.toml)".to_string()
            })
    }
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// With --bundle: refuse it unless BUNDLE.minisig verifies against this public key
    /// (repeatable)
    #[arg(long, value_name = "PUB")]
    pub key: Vec<PathBuf>,
}

/// Loads the knowledge base, or prints why not and returns the exit code.
pub fn load(
    knowledge: &KnowledgeArgs,
    trust: &TrustArgs,
) -> Result<Result<Loaded, ExitCode>, String> {
    let loaded = |kb| {
        Ok(Ok(Loaded {
            kb,
            project_model: None,
        }))
    };
    if knowledge.bundle.is_none() && knowledge.pack.is_none() {
        if !trust.key.is_empty() {
            return Err("--key checks a --bundle's signature; a project's packs are checked against its [trust] and threatpack.lock".to_string());
        }
        let directory = knowledge
            .project
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        return load_project(&directory, knowledge);
    }
    if let Some(path) = &knowledge.bundle {
        return loaded(load_bundle(path, &trust.key)?);
    }
    let Some(path) = &knowledge.pack else {
        return Err("give --pack DIR, --bundle FILE or --project DIR".to_string());
    };
    if !trust.key.is_empty() {
        return Err("--key checks a bundle's signature; it cannot be used with --pack".to_string());
    }
    Ok(
        load_pack(path, &knowledge.registry, &knowledge.dependencies, None)?.map(|kb| Loaded {
            kb,
            project_model: None,
        }),
    )
}

/// A bundle's knowledge base, read as hostile input; with `keys`, only if its signature
/// (BUNDLE.minisig) verifies against one of them.
pub fn load_bundle(path: &std::path::Path, keys: &[PathBuf]) -> Result<KnowledgeBase, String> {
    let limits = ReadLimits::default();
    let bytes = read_capped(path, limits.max_bundle_bytes)?;
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{}` is not a valid bundle: {error}", path.display()))?;
    if !keys.is_empty() {
        let signature_path = super::sign::signature_path(path);
        let signature = read_capped(&signature_path, 1024 * 1024).map_err(|error| {
            format!("cannot read the signature of `{}`: {error}", path.display())
        })?;
        let trusted = super::verify::trusted_keys(keys, None)?;
        verify_bundle(
            &bytes,
            Some(&bundle.manifest),
            &String::from_utf8_lossy(&signature),
            &trusted,
        )
        .map_err(|error| format!("refusing `{}`: {error}", path.display()))?;
    }
    Ok(bundle.kb)
}

/// A pack directory checked and compiled (registry dependencies locked and fetched first):
/// whole, or only `tier`; its errors printed, and the exit code returned, when it has any.
pub fn load_pack(
    path: &std::path::Path,
    registry: &RegistryArgs,
    dependencies: &DependencyArgs,
    tier: Option<&str>,
) -> Result<Result<KnowledgeBase, ExitCode>, String> {
    let display = display_root(path);
    let graph = load_pack_graph(path, &display, registry, dependencies)?;
    let whole = compile_graph(&graph, &display, |kb| {
        Ok(Ok(Loaded {
            kb,
            project_model: None,
        }))
    })?;
    // Checked and compiled whole first, so that its errors are reported as `check` does.
    let (Ok(_), Some(tier)) = (&whole, tier) else {
        return Ok(whole.map(|loaded| loaded.kb));
    };
    let compiled = threatpack::compile::compile(
        &graph,
        &threatpack::compile::CompileOptions {
            tier: Some(tier.to_string()),
        },
    );
    match compiled.kb {
        Some(kb) => Ok(Ok(kb)),
        None => {
            print_diagnostics(&compiled.diagnostics, &graph, super::Format::Human)?;
            eprintln!("error: `{display}` does not compile for tier `{tier}`");
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// Checks and compiles a graph; prints the errors if any.
fn compile_graph(
    graph: &PackGraph,
    display: &str,
    loaded: impl Fn(KnowledgeBase) -> Result<Result<Loaded, ExitCode>, String>,
) -> Result<Result<Loaded, ExitCode>, String> {
    let (diagnostics, kb) = check_and_compile(graph, &CheckOptions::default());
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    match kb {
        Some(kb) if errors.is_empty() => loaded(kb),
        _ => {
            print_diagnostics(&errors, graph, super::Format::Human)?;
            eprintln!(
                "error: `{display}` has {}; `threatpack check {display}` shows them all",
                plural(errors.len().max(1), "error")
            );
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// A project's knowledge: its one pack's signed `kb.json` as fetched, or — when it uses
/// several packs — those packs compiled together (one version each, overrides applied).
fn load_project(
    directory: &std::path::Path,
    knowledge: &KnowledgeArgs,
) -> Result<Result<Loaded, ExitCode>, String> {
    let root = Root::at(directory).map_err(|error| {
        format!("{error}: give --pack DIR, --bundle FILE, or run where {PROJECT_FILE} is (or --project DIR)")
    })?;
    let Root::Project(project) = &root else {
        return Err(format!(
            "`{}` is a pack: use --pack {0}",
            display_root(directory)
        ));
    };
    let project_model = project
        .manifest
        .project
        .model
        .as_ref()
        .map(|model| project.root.join(model));
    let direct: Vec<&String> = project.manifest.dependencies.keys().collect();
    if direct.is_empty() {
        return Err(format!(
            "`{}` declares no [dependencies]: add the packs the project uses, e.g. \"acme/appsec-policy\" = \"^1.0\"",
            directory.join(PROJECT_FILE).display()
        ));
    }
    let Some(locked) = lock(
        &root,
        &knowledge.registry,
        &knowledge.dependencies,
        &Unlock::Nothing,
    )?
    else {
        return Err("the project has no registry dependencies".to_string());
    };
    let fetched = fetch(&root, &locked.lock, &knowledge.dependencies)?;
    if let [only] = direct.as_slice() {
        let pack = fetched
            .iter()
            .find(|fetched| &&fetched.pack.name == only)
            .ok_or_else(|| format!("`{only}` was not fetched"))?;
        let bundle = read_fetched(pack)?;
        return Ok(Ok(Loaded {
            kb: bundle.kb,
            project_model,
        }));
    }
    let (display, sources) = project_root_pack(project, &fetched)?;
    let location = threatpack::resolve::PackLocation::Directory {
        canonical: project.root.clone(),
        display: display.clone(),
    };
    let graph = threatpack::resolve::resolve(
        location,
        sources,
        &mut threatpack::client::source::LockedSource::new(fetched),
    );
    compile_graph(&graph, &display, |kb| {
        Ok(Ok(Loaded {
            kb,
            project_model: project_model.clone(),
        }))
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
    project: &threatpack::project::Project,
    fetched: &[threatpack::client::fetch::Fetched],
) -> Result<(String, threatpack::source::PackSources), String> {
    let slug = project_slug(&project.manifest.project.name);
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
        format!("The packs of the project {}", project.manifest.project.name).into(),
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
        threatpack::source::PackSources::from_memory(
            &display,
            vec![("pack.toml".to_string(), text)],
        ),
    ))
}

/// Reads a model file (native TOML/JSON/YAML or Open Threat Model).
pub fn read_model(
    path: &std::path::Path,
    mapping: Option<&std::path::Path>,
) -> Result<Result<ModelFile, ExitCode>, String> {
    let display = path.display().to_string();
    let bytes = read_capped(path, MAX_MODEL_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("`{display}` is not UTF-8 text"))?;
    let mapping = match mapping {
        Some(mapping_path) => {
            let mapping_display = mapping_path.display().to_string();
            let bytes = read_capped(mapping_path, MAX_MODEL_BYTES)?;
            let mapping_text = String::from_utf8(bytes)
                .map_err(|_| format!("`{mapping_display}` is not UTF-8 text"))?;
            match threatpack::system::otm::Mapping::parse(&mapping_display, &mapping_text) {
                Ok(mapping) => Some(mapping),
                Err(diagnostics) => {
                    print_model_diagnostics(&diagnostics, &mapping_display, &mapping_text);
                    return Ok(Err(ExitCode::from(1)));
                }
            }
        }
        None => None,
    };
    match threatpack::system::load_model(&display, text.clone(), mapping.as_ref()) {
        Ok(file) => Ok(Ok(file)),
        Err(diagnostics) => {
            print_model_diagnostics(&diagnostics, &display, &text);
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// Prints diagnostics about a model file.
pub fn print_model_diagnostics(diagnostics: &[Diagnostic], display_path: &str, text: &str) {
    let mut sources = SourceMap::new();
    sources.add_file(display_path, text);
    for diagnostic in diagnostics {
        eprintln!("{}\n", render_human(diagnostic, &sources, false));
    }
    eprintln!(
        "error: the model `{display_path}` has {}",
        plural(diagnostics.len().max(1), "problem")
    );
}
