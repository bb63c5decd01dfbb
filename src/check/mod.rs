//! Semantic checks of a pack: what a schema cannot say. Duplicate ids, references that lead
//! nowhere, parent cycles, conditions, system properties and tier rules, overrides and pack
//! tests; then the lints.
//!
//! Pure: works on a `PackGraph` already in memory. Only the root pack (index 0) is reported on;
//! its path dependencies are there to resolve references into them.

mod activities;
mod catalogs;
mod conditions;
mod items;
mod manifest;
mod overrides;
mod pack_tests;
mod system;

use std::collections::BTreeSet;

use crate::diagnostic::{self, Code, Diagnostic, Severity};
use crate::index::{Index, Lookup};
use crate::lints::{self, Facts};
use crate::names::ItemKind;
use crate::parse::{Origin, ParsedPack};
use crate::resolve::PackGraph;
use crate::schema::suggest;

/// Options of a check run.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Lint codes to report as errors; `warnings` denies every lint (`--deny warnings`).
    pub deny: Vec<String>,
}

impl CheckOptions {
    fn denies(&self, code: diagnostic::Code) -> bool {
        self.deny
            .iter()
            .any(|denied| denied == "warnings" || denied == code.as_str())
    }

    /// Turns the denied warnings into errors.
    pub fn apply_deny(&self, diagnostics: &mut [Diagnostic]) {
        for diagnostic in diagnostics {
            if diagnostic.severity == Severity::Warning && self.denies(diagnostic.code) {
                diagnostic.severity = Severity::Error;
                diagnostic
                    .notes
                    .push(format!("`{}` is denied by `--deny`", diagnostic.code));
            }
        }
    }
}

/// A pack read from disk and checked: the graph holds the sources the diagnostics point into.
#[derive(Debug)]
pub struct CheckedPack {
    pub graph: PackGraph,
    pub report: CheckReport,
}

/// Reads the pack at `path` (and its path dependencies) and checks it.
pub fn check_dir(
    path: &std::path::Path,
    display_root: &str,
    options: &CheckOptions,
) -> Result<CheckedPack, crate::workspace::LoadError> {
    let graph = crate::workspace::load_graph(path, display_root)?;
    let report = check_graph(&graph, options);
    Ok(CheckedPack { graph, report })
}

/// The outcome of checking a pack.
#[derive(Debug)]
pub struct CheckReport {
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == severity)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

/// Checks the root pack of a graph: every problem, sorted by file and position.
pub fn check_graph(graph: &PackGraph, options: &CheckOptions) -> CheckReport {
    let root = &graph.packs[0];
    let mut diagnostics = root.diagnostics.clone();
    diagnostics.extend(graph.problems.iter().cloned());
    let index = Index::build(graph);
    let mut facts = Facts {
        constant_conditions: Vec::new(),
        property_reads: BTreeSet::new(),
        all_reads_known: true,
    };
    manifest::check(&index, &mut diagnostics);
    catalogs::check(&index, &mut diagnostics);
    system::check(&index, &mut facts, &mut diagnostics);
    activities::check(&index, &mut facts, &mut diagnostics);
    items::check(&index, &mut facts, &mut diagnostics);
    overrides::check(&index, &mut facts, &mut diagnostics);
    pack_tests::check(&index, &mut diagnostics);
    diagnostics.extend(lints::run(&index, &facts));
    options.apply_deny(&mut diagnostics);
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    CheckReport { diagnostics }
}

/// The diagnostic for a reference that `lookup` could not resolve, or `None` when there is
/// nothing to report (found, or not verifiable here).
pub(crate) fn reference_problem(
    index: &Index<'_>,
    lookup: &Lookup,
    reference: &str,
    kind: ItemKind,
    file: &str,
    span: std::ops::Range<usize>,
) -> Option<Diagnostic> {
    match lookup {
        Lookup::Found(_) | Lookup::Unverifiable => None,
        Lookup::NotADependency => {
            let pack = reference.split(':').next().unwrap_or(reference);
            Some(
                Diagnostic::new(Code::UnknownReference, format!("`{pack}` is not a dependency of this pack"))
                    .at(file, span, "unknown pack")
                    .help(format!("add `\"{pack}\" = \"<version requirement>\"` to `[dependencies]` in `pack.toml`")),
            )
        }
        Lookup::Missing { pack } => {
            let id = reference.rsplit('/').next().unwrap_or(reference);
            let where_ = if *pack == 0 {
                "this pack".to_string()
            } else {
                format!("`{}`", index.pack(*pack).name().unwrap_or("the dependency"))
            };
            let ids = index.ids(*pack, kind);
            let help = match suggest(id, ids.iter().copied()) {
                Some(candidate) => format!("did you mean `{candidate}`?"),
                None => format!(
                    "no {} with this id exists in {where_}",
                    kind.as_str().replace('-', " ")
                ),
            };
            Some(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!("unknown {} `{reference}`", kind.as_str().replace('-', " ")),
                )
                .at(
                    file,
                    span,
                    format!("not {} of {where_}", kind.article_name()),
                )
                .help(help),
            )
        }
    }
}

/// An `unknown-tier` diagnostic when `tier` is not declared by the root pack.
pub(crate) fn tier_problem(
    root: &ParsedPack,
    tier: Option<&str>,
    origin: &Origin,
    fields: &[&str],
) -> Option<Diagnostic> {
    let tier = tier?;
    let tiers = root.tiers();
    if tiers.is_empty() || tiers.iter().any(|known| known == tier) {
        return None;
    }
    let declared = tiers
        .iter()
        .map(|known| format!("`{known}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match crate::schema::suggest(tier, tiers.iter().map(String::as_str)) {
        Some(candidate) => format!("did you mean `{candidate}`? `pack.toml` declares {declared}"),
        None => format!("`pack.toml` declares {declared}; add the tier there or use one of them"),
    };
    Some(
        Diagnostic::new(Code::UnknownTier, format!("unknown tier `{tier}`"))
            .at(
                root.display_path(origin),
                root.locate(origin, fields),
                "not declared in `pack.toml`",
            )
            .help(help),
    )
}
