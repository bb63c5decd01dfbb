//! What `diff`, `semver-check` and `changelog` share: a version of a pack to compare — a pack
//! directory (checked and compiled), a bundle file, or `namespace/name@version` on the registry
//! (the bundle the index names, its sha256 checked) — and the output formats.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::client::cache::Cache;
use threatpack::client::index::RegistryIndexes;
use threatpack::client::published::fetch_published;
use threatpack::compile::KnowledgeBase;

use super::dependencies::DependencyArgs;
use super::knowledge::{load_bundle, load_pack};
use super::registry::{RegistryArgs, split_pack_version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For a terminal
    Human,
    /// For a pull request or a release page
    Markdown,
    /// For tools
    Json,
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    #[command(flatten)]
    pub dependencies: DependencyArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// A version of a pack: `spec` is a pack directory, a bundle file or `namespace/name@version`.
/// Prints a pack's errors and returns the exit code when it does not compile.
pub fn load(spec: &str, source: &SourceArgs) -> Result<Result<KnowledgeBase, ExitCode>, String> {
    let path = Path::new(spec);
    if path.is_dir() {
        return load_pack(path, &source.registry, &source.dependencies, None);
    }
    if path.is_file() {
        return load_bundle(path, &[]).map(Ok);
    }
    if spec.contains('@') {
        let (name, version) = split_pack_version(spec)?;
        return load_published(name, version, source).map(Ok);
    }
    Err(format!(
        "`{spec}` is neither a pack directory, a bundle file nor `namespace/name@version` on the registry"
    ))
}

/// A published version from the registry (`--registry`, `THREATPACK_REGISTRY`).
pub fn load_published(
    name: &str,
    version: &str,
    source: &SourceArgs,
) -> Result<KnowledgeBase, String> {
    let registry = source.registry.url()?;
    let cache = Cache::from_env()?;
    let offline = source.dependencies.offline;
    let mut indexes = RegistryIndexes::new(cache.clone(), offline);
    Ok(fetch_published(&mut indexes, &cache, &registry, name, version, offline)?.kb)
}
