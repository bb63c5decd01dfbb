//! Operations: one function per thing a user does (cargo's `ops`). Each takes an options
//! struct and a [`Progress`] reporter and returns typed results and typed errors; the CLI
//! (`src/bin/threatpack`) parses flags into the options, makes one call and prints (`apply`
//! and `questions` make two: load the knowledge, then apply it, so that a tool can load once
//! and apply to many models), and a consuming tool calls the same functions. Operations never
//! print: progress and notes go to the [`Progress`] reporter, problems into the [`Error`].
//!
//! The consuming side, as a tool embeds it (examples/consuming_tool.rs):
//!
//! ```no_run
//! use threatpack::ops::{self, ApplyOptions, KnowledgeOptions, NoProgress};
//!
//! let options = KnowledgeOptions::locked_project(std::path::Path::new("examples/online-shop"));
//! let knowledge = ops::load_knowledge(&options, &NoProgress)?;
//! let report = ops::apply(&knowledge, &ApplyOptions::default())?;
//! for threat in &report.threats {
//!     println!("{} on {}", threat.name, threat.element);
//! }
//! # Ok::<(), ops::Error>(())
//! ```

// The consuming side reads registry packs through the client: the `client` feature.
#[cfg(feature = "client")]
mod apply;
#[cfg(feature = "client")]
mod authoring;
#[cfg(feature = "client")]
mod build;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
mod export;
#[cfg(feature = "client")]
mod impact;
#[cfg(feature = "client")]
mod knowledge;
#[cfg(feature = "client")]
mod lock;
#[cfg(feature = "client")]
pub mod report;
#[cfg(feature = "client")]
mod versions;

#[cfg(feature = "client")]
pub use apply::{
    AppliedModel, ApplyOptions, apply, apply_to, apply_with_model, explain, questions, read_model,
    write_report_json,
};
#[cfg(feature = "client")]
pub use authoring::{
    NewPack, PackCheck, RefreshedOverrides, check, new_pack, refresh_overrides, schema,
    schema_names, write_schemas,
};
#[cfg(feature = "client")]
pub use build::{BuildOptions, BuiltBundle, TestOptions, build, test};
#[cfg(feature = "client")]
pub use error::Error;
#[cfg(feature = "client")]
pub use export::{ExportFormat, ExportOptions, ExportedFile, export};
#[cfg(feature = "client")]
pub use impact::{
    IMPACT_FORMAT, Impact, ImpactOptions, ImpactProjects, ImpactTotals, ProjectImpact,
    ReportFileError, UpdateImpact, diff_report_files, impact, read_report_view, update_impact,
};
#[cfg(feature = "client")]
pub use knowledge::{
    Knowledge, KnowledgeOptions, KnowledgeSource, load_bundle, load_knowledge, load_pack,
};
#[cfg(feature = "client")]
pub use lock::{
    DEFAULT_REGISTRY, DependencyOptions, FetchedPacks, LockChange, LockOptions, Locked,
    OverriddenItem, REGISTRY_ENV, Root, Unlock, UpstreamChanges, cached_pack_graph,
    describe_changes, fetch, lock,
};
#[cfg(feature = "client")]
pub use versions::{
    Comparison, SemverCheck, SemverCheckOptions, Verdict, VersionSpec, compare,
    comparison_registry, load_published, load_version, semver_check, split_pack_version,
};

// Keys, signing, verifying and inspecting bundles need no registry.
mod bundles;
// Importing MITRE CAPEC and ATT&CK as packs needs no registry either.
mod import;

pub use import::{ImportFailure, ImportOptions, ImportedPack, import};

pub use bundles::{
    BundleError, Counts, GenerateKeyOptions, GeneratedKeyFiles, InspectOptions, Inspection,
    ItemProvenance, PasswordSource, SignOptions, SignatureStatus, Signed, TierCounts,
    VerifiedBundle, VerifyOptions, bundle_trusted_comment, counts, generate_key_files, inspect,
    name_of, provenance, read_public_keys, read_secret_key, sign, signature_path, verify,
};

// Publishing, yanking, owners, keys, namespaces, search, info and login: the `client` feature.
#[cfg(feature = "client")]
pub mod registry;

/// What an operation tells its caller while it works. The CLI draws progress bars and status
/// lines; a library caller may ignore everything ([`NoProgress`]) or log it.
pub trait Progress: Sync {
    /// A step begins, e.g. "fetching" with the number of units it will take (0 if unknown).
    fn start(&self, _step: &str, _total: u64) {}
    /// One unit of the current step is done; `what` names it (a pack, a file).
    fn advance(&self, _what: &str) {}
    /// The current step is over.
    fn finish(&self) {}
    /// A note the user should see (a yanked version kept, a key trusted on first use).
    fn note(&self, _message: &str) {}
    /// A warning: something was accepted that weakens a guarantee (an expired index used
    /// with `--allow-expired-index`). By default shown as a note.
    fn warn(&self, message: &str) {
        self.note(message);
    }
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
