//! What `diff`, `semver-check` and `changelog` share: the flags that say where published
//! versions come from, and the output formats. Loading and comparing versions is the
//! library's (`threatpack::ops::{compare, semver_check}`).

use clap::{Args, ValueEnum};
use threatpack::ops::DependencyOptions;

use super::dependencies::DependencyArgs;
use super::registry::RegistryArgs;

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

impl SourceArgs {
    /// The options of the comparing operations.
    pub fn options(&self) -> DependencyOptions {
        self.dependencies.options(&self.registry)
    }
}
