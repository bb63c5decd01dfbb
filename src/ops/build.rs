//! Building a pack into a bundle on disk ([`build`], optionally signed) and running a pack's
//! own tests ([`test`]).

use std::path::{Path, PathBuf};

use super::lock::{DependencyOptions, display_path, load_pack_graph};
use super::{Error, Progress};
use crate::build::check_and_compile;
use crate::check::CheckOptions;
use crate::compile::KnowledgeBase;
use crate::diagnostic::{Diagnostic, Severity};
use crate::resolve::PackGraph;
use crate::signing::{SigningKey, sign_bundle};
use crate::testing::{TestOutcome, run_pack_tests};
use crate::workspace::write_files_atomically;

/// Options of [`build`].
#[derive(Default)]
pub struct BuildOptions {
    /// How registry dependencies are locked and fetched.
    pub dependencies: DependencyOptions,
    /// Keep only the items and links of this tier or smaller (`None`: everything).
    pub tier: Option<String>,
    /// Lints reported as errors: `warnings` for all, or lint codes.
    pub deny: Vec<String>,
    /// The directory the bundle is written to.
    pub out: PathBuf,
    /// Sign the bundle with this key (writes `BUNDLE.minisig`).
    pub signing_key: Option<SigningKey>,
}

/// A bundle written by [`build`].
#[derive(Debug)]
pub struct BuiltBundle {
    /// The bundle's path.
    pub path: PathBuf,
    /// `sha256:` and the hex digest of the bundle's bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: usize,
    /// The knowledge base it holds.
    pub kb: KnowledgeBase,
    /// The signature written, and the id of the key that made it.
    pub signature: Option<(PathBuf, String)>,
    /// The warnings the pack has (errors stop the build).
    pub warnings: Vec<Diagnostic>,
    /// The graph the warnings point into (for rendering them).
    pub graph: PackGraph,
}

/// Checks, compiles and writes the pack at `path` as a deterministic bundle under
/// `options.out` (and its signature). [`Error::PackHasErrors`] when it has errors (or denied
/// warnings): nothing is written.
pub fn build(
    path: &Path,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuiltBundle, Error> {
    let display = display_path(path);
    let graph = load_pack_graph(path, &options.dependencies, progress)?;
    // Dependencies' bundle digests are kept in the cache by what they are built from, so a
    // pack building on an unchanged dependency does not build that dependency's bundle again.
    // The cache only saves time: without one, every dependency is built.
    let cache = options.dependencies.cache().ok();
    let report = crate::build::build_with_known_digests(
        &graph,
        &crate::build::BuildOptions {
            tier: options.tier.clone(),
            check: CheckOptions {
                deny: options.deny.clone(),
            },
        },
        |key| cache.as_ref().and_then(|cache| cache.build_digest(key)),
    );
    if let Some(cache) = &cache {
        for (key, digest) in &report.dependency_digests {
            if cache.build_digest(key).as_deref() != Some(digest.as_str()) {
                // A cache that cannot be written only costs the next build some time.
                let _ = cache.store_build_digest(key, digest);
            }
        }
    }
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = report
        .diagnostics
        .into_iter()
        .partition(|diagnostic| diagnostic.severity == Severity::Error);
    let Some(built) = report.built else {
        let pack = graph.packs[0].name().unwrap_or(&display).to_string();
        return Err(Error::PackHasErrors {
            pack,
            diagnostics: errors,
            graph: Box::new(graph),
        });
    };
    let bundle_path = options.out.join(&built.file_name);
    // Signed before anything is written (a damaged key writes nothing), then the bundle and
    // its signature are written and flushed together: one wait for the disk, not two.
    let signature = match &options.signing_key {
        Some(key) => Some((
            super::signature_path(&bundle_path),
            sign_bundle(&built.bytes, &built.manifest, key)?,
            key.key_id.clone(),
        )),
        None => None,
    };
    let mut files: Vec<(&Path, &[u8])> = vec![(&bundle_path, &built.bytes)];
    if let Some((path, text, _)) = &signature {
        files.push((path, text.as_bytes()));
    }
    write_files_atomically(&files, 0o644)?;
    let signature = signature.map(|(path, _, key_id)| (path, key_id));
    Ok(BuiltBundle {
        path: bundle_path,
        sha256: crate::digest::sha256(&built.bytes),
        size: built.bytes.len(),
        kb: built.kb,
        signature,
        warnings,
        graph,
    })
}

/// Options of [`test()`].
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// How registry dependencies are locked and fetched.
    pub dependencies: DependencyOptions,
    /// Run only the tests whose file name contains this text.
    pub filter: Option<String>,
}

/// Runs the tests of the pack at `path` (`tests/*.toml`), in file order. A test that fails is
/// an outcome, not an error; [`Error::PackHasErrors`] when the pack does not compile,
/// [`Error::NoTests`] when no test matches.
pub fn test(
    path: &Path,
    options: &TestOptions,
    progress: &dyn Progress,
) -> Result<Vec<TestOutcome>, Error> {
    let display = display_path(path);
    let graph = load_pack_graph(path, &options.dependencies, progress)?;
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect();
    let Some(kb) = kb.filter(|_| errors.is_empty()) else {
        return Err(Error::PackHasErrors {
            pack: display,
            diagnostics: errors,
            graph: Box::new(graph),
        });
    };
    let mut outcomes = run_pack_tests(&graph, &kb);
    if let Some(filter) = &options.filter {
        outcomes.retain(|outcome| outcome.file.contains(filter.as_str()));
    }
    if outcomes.is_empty() {
        return Err(Error::NoTests {
            pack: display,
            filter: options.filter.clone(),
        });
    }
    Ok(outcomes)
}
