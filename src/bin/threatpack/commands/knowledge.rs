//! The flags that say where `apply` and `questions` take their knowledge from (a project, a
//! pack or a bundle), as [`KnowledgeOptions`]; and the loaders `diff`, `semver-check` and
//! `changelog` use.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use threatpack::compile::KnowledgeBase;
use threatpack::ops::{KnowledgeOptions, KnowledgeSource};

use super::dependencies::{DependencyArgs, report_error};
use super::registry::RegistryArgs;

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

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// With --bundle: refuse it unless BUNDLE.minisig verifies against this public key
    /// (repeatable)
    #[arg(long, value_name = "PUB")]
    pub key: Vec<PathBuf>,
}

impl KnowledgeArgs {
    /// The options of `ops::load_knowledge`; a usage error when `--key` does not fit.
    pub fn options(&self, trust: &TrustArgs) -> Result<KnowledgeOptions, String> {
        let source = match (&self.bundle, &self.pack) {
            (Some(path), _) => KnowledgeSource::Bundle {
                path: path.clone(),
                keys: trust.key.clone(),
            },
            (None, Some(_)) if !trust.key.is_empty() => {
                return Err(
                    "--key checks a bundle's signature; it cannot be used with --pack".to_string(),
                );
            }
            (None, Some(path)) => KnowledgeSource::Pack {
                path: path.clone(),
                tier: None,
            },
            (None, None) if !trust.key.is_empty() => {
                return Err("--key checks a --bundle's signature; a project's packs are checked against its [trust] and threatpack.lock".to_string());
            }
            (None, None) => {
                KnowledgeSource::Project(self.project.clone().unwrap_or_else(|| PathBuf::from(".")))
            }
        };
        Ok(KnowledgeOptions {
            source,
            dependencies: self.dependencies.options(&self.registry),
        })
    }
}

/// A pack directory checked and compiled, whole or only `tier`; its errors printed and the
/// exit code returned when it has any.
pub fn load_pack(
    path: &Path,
    registry: &RegistryArgs,
    dependencies: &DependencyArgs,
    tier: Option<&str>,
) -> Result<Result<KnowledgeBase, ExitCode>, String> {
    let options = dependencies.options(registry);
    let progress = super::dependencies::TerminalProgress::default();
    match threatpack::ops::load_pack(path, tier, &options, &progress) {
        Ok(kb) => Ok(Ok(kb)),
        Err(error) => Ok(Err(report_error(&error))),
    }
}

/// A bundle's knowledge base; with `keys`, only if its signature verifies against one.
pub fn load_bundle(path: &Path, keys: &[PathBuf]) -> Result<KnowledgeBase, String> {
    threatpack::ops::load_bundle(path, keys).map_err(|error| error.to_string())
}

/// Loads the knowledge the flags name, with progress on the terminal.
pub fn load(
    knowledge: &KnowledgeArgs,
    trust: &TrustArgs,
) -> Result<threatpack::ops::Knowledge, threatpack::ops::Error> {
    let options = knowledge.options(trust)?;
    let progress = super::dependencies::TerminalProgress::default();
    threatpack::ops::load_knowledge(&options, &progress).map_err(|error| match error {
        threatpack::ops::Error::NotFound { .. } => threatpack::ops::Error::Other(format!(
            "{error}\nhelp: give --pack DIR or --bundle FILE, or run where threatpack.toml is (or --project DIR)"
        )),
        error => error,
    })
}
