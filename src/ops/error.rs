//! The typed error of the consuming operations (load, lock, fetch, build, test, apply): one
//! variant per failure a caller may handle differently, the rest as a message with context.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;
use crate::resolve::PackGraph;

use super::lock::LockChange;

/// Why a consuming operation failed. The message of each variant says what to do; the CLI
/// prints it (and, for [`Error::PackHasErrors`] and [`Error::ModelHasErrors`], the
/// diagnostics first) and exits 1 for those two, 2 for the others.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory holds neither `threatpack.toml` nor `pack.toml`.
    #[error(
        "`{}` holds neither threatpack.toml (a project) nor pack.toml (a pack)",
        path.display()
    )]
    NotFound {
        /// The directory looked in.
        path: PathBuf,
    },
    /// A project was asked for, and the directory is a pack.
    #[error("`{}` is a pack, not a project: load it as a pack (`--pack {0}`)", path.display())]
    NotAProject {
        /// The pack's directory.
        path: PathBuf,
    },
    /// The project declares no `[dependencies]`.
    #[error(
        "`{}` declares no [dependencies]: add the packs the project uses, e.g. \"acme/appsec-policy\" = \"^1.0\"",
        manifest.display()
    )]
    NoDependencies {
        /// The project's `threatpack.toml`.
        manifest: PathBuf,
    },
    /// `--locked`, and there is no lockfile.
    #[error(
        "`{}` is missing and --locked forbids writing it: run `threatpack lock` and commit the file",
        path.display()
    )]
    LockfileMissing {
        /// Where the lockfile should be.
        path: PathBuf,
    },
    /// `--locked`, and the lockfile does not answer the requirements any more.
    #[error(
        "`{}` needs changes and --locked forbids them: {}; run `threatpack lock` and commit the file",
        path.display(),
        super::lock::describe_changes(changes)
    )]
    LockfileWouldChange {
        /// The lockfile.
        path: PathBuf,
        /// What locking would change.
        changes: Vec<LockChange>,
    },
    /// `--offline`, and locked packs are not in the cache.
    #[error(
        "{} not in the cache ({}) and --offline forbids downloading: run `threatpack fetch` once while online",
        packs.join(", "),
        cache.display()
    )]
    NotCached {
        /// `name version` of each missing pack.
        packs: Vec<String>,
        /// The cache directory.
        cache: PathBuf,
    },
    /// Locked packs could not be downloaded, or did not verify (sha256, signature, signer).
    #[error("{}", problems.join("\n       "))]
    Fetch {
        /// One message per pack.
        problems: Vec<String>,
    },
    /// A bundle's signature did not verify against the keys given.
    #[error("refusing `{}`: {reason}", bundle.display())]
    Verify {
        /// The bundle.
        bundle: PathBuf,
        /// What did not verify.
        reason: String,
    },
    /// The pack (or the project's packs compiled together) has errors.
    #[error(
        "`{pack}` has {}; `threatpack check {pack}` shows them all",
        plural(diagnostics.len().max(1), "error")
    )]
    PackHasErrors {
        /// The pack as displayed (its directory, or the project's manifest).
        pack: String,
        /// The errors (warnings left out).
        diagnostics: Vec<Diagnostic>,
        /// The graph the diagnostics point into (for rendering them).
        graph: Box<PackGraph>,
    },
    /// The system model (or its OTM mapping) has errors.
    #[error(
        "the model `{file}` has {}",
        plural(diagnostics.len().max(1), "problem")
    )]
    ModelHasErrors {
        /// The file as displayed.
        file: String,
        /// Its text, for rendering the diagnostics.
        text: String,
        /// The problems.
        diagnostics: Vec<Diagnostic>,
    },
    /// No system model was given, and the knowledge came from no project that has one.
    #[error("{}", no_model_message(project.as_deref()))]
    NoModel {
        /// The project's directory, when the knowledge came from a project.
        project: Option<PathBuf>,
    },
    /// The pack has no tests (matching the filter).
    #[error(
        "`{pack}` has no tests{}; add files under `{pack}/tests/` (docs/pack-format.md#pack-tests)",
        filter.as_ref().map_or(String::new(), |filter| format!(" matching `{filter}`"))
    )]
    NoTests {
        /// The pack as displayed.
        pack: String,
        /// The filter given, if any.
        filter: Option<String>,
    },
    /// Any other failure: reading or writing a file, the registry, a malformed lockfile. The
    /// message names the file or address and what to do.
    #[error("{0}")]
    Other(String),
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Other(message)
    }
}

impl From<super::BundleError> for Error {
    fn from(error: super::BundleError) -> Error {
        Error::Other(error.to_string())
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Other(message.to_string())
    }
}

/// "1 error", "3 errors", "2 properties".
pub(crate) fn plural(count: usize, noun: &str) -> String {
    match (count, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{count} {stem}ies"),
        _ => format!("{count} {noun}s"),
    }
}

fn no_model_message(project: Option<&std::path::Path>) -> String {
    match project {
        Some(directory) => format!(
            "no system model: give one with --model FILE, create `{}`, or set `model = \"FILE\"` under [project] in `{}`",
            directory.join(crate::project::DEFAULT_MODEL).display(),
            directory.join(crate::project::PROJECT_FILE).display()
        ),
        None => "no system model: give one with --model FILE".to_string(),
    }
}
