//! The flags that say where `apply` and `questions` take their knowledge from (a project, a
//! pack or a bundle), as [`KnowledgeOptions`].

use std::path::PathBuf;

use clap::Args;
use threatpack::ops::{KnowledgeOptions, KnowledgeSource};

use super::dependencies::DependencyArgs;
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
