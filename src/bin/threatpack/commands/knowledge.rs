//! What `apply`, `questions` and `test` share: loading the knowledge base (a pack directory,
//! checked and compiled; or a bundle, read as hostile input and optionally verified) and the
//! system model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::build::check_and_compile;
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::check::CheckOptions;
use threatpack::compile::KnowledgeBase;
use threatpack::diagnostic::{Diagnostic, Severity};
use threatpack::render::{SourceMap, render_human};
use threatpack::signing::verify_bundle;
use threatpack::system::{MAX_MODEL_BYTES, ModelFile};
use threatpack::workspace::{load_graph, read_capped};

use super::{display_root, plural, print_diagnostics};

#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "knowledge")]
pub struct KnowledgeArgs {
    /// A built bundle (`threatpack build`) to apply
    #[arg(long, value_name = "FILE", group = "knowledge")]
    pub bundle: Option<PathBuf>,
    /// A pack directory to check, compile and apply
    #[arg(long, value_name = "DIR", group = "knowledge")]
    pub pack: Option<PathBuf>,
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
) -> Result<Result<KnowledgeBase, ExitCode>, String> {
    if let Some(path) = &knowledge.bundle {
        let limits = ReadLimits::default();
        let bytes = read_capped(path, limits.max_bundle_bytes)?;
        let bundle = read_bundle(&bytes, &limits)
            .map_err(|error| format!("`{}` is not a valid bundle: {error}", path.display()))?;
        if !trust.key.is_empty() {
            let signature_path = super::sign::signature_path(path);
            let signature = read_capped(&signature_path, 1024 * 1024).map_err(|error| {
                format!("cannot read the signature of `{}`: {error}", path.display())
            })?;
            let trusted = super::verify::trusted_keys(&trust.key, None)?;
            verify_bundle(
                &bytes,
                Some(&bundle.manifest),
                &String::from_utf8_lossy(&signature),
                &trusted,
            )
            .map_err(|error| format!("refusing `{}`: {error}", path.display()))?;
        }
        return Ok(Ok(bundle.kb));
    }
    let Some(path) = &knowledge.pack else {
        return Err("give --pack DIR or --bundle FILE".to_string());
    };
    if !trust.key.is_empty() {
        return Err("--key checks a bundle's signature; it cannot be used with --pack".to_string());
    }
    let display = display_root(path);
    let graph = load_graph(path, &display).map_err(|error| error.to_string())?;
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    match kb {
        Some(kb) if errors.is_empty() => Ok(Ok(kb)),
        _ => {
            print_diagnostics(&errors, &graph, super::Format::Human)?;
            eprintln!(
                "error: `{display}` has {}; `threatpack check {display}` shows them all",
                plural(errors.len().max(1), "error")
            );
            Ok(Err(ExitCode::from(1)))
        }
    }
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
