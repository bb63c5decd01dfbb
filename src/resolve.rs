//! Dependency resolution: which pack, at which version, answers each `[dependencies]` entry of a
//! pack and, transitively, of its dependencies.
//!
//! The algorithm is pure; packs come from a `PackSource`: the disk (`path` dependencies,
//! `workspace::PathSource`), or bundles fetched from a registry as `threatpack.lock` pins them
//! (`client::LockedSource`, which falls back to the disk for `path` dependencies).
//!
//! One version of each pack name is in a graph (as in npm's peer dependencies, unlike Cargo):
//! overrides and qualified ids name a pack, not a pack at a version, so two versions of one
//! pack could not be told apart. The first request for a name picks the newest candidate that
//! satisfies it; every later request for the name must be satisfied by that choice, or it is
//! an error naming both chains of requirements.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::DependencySpec;
use crate::parse::ParsedPack;
use crate::source::PackSources;

/// Packs deeper than this in a chain of dependencies are not loaded (and reported).
pub const MAX_DEPENDENCY_DEPTH: usize = 32;

/// Where a pack was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackLocation {
    /// A directory on disk: its canonical path, and the path as shown to the user.
    Directory {
        canonical: std::path::PathBuf,
        display: String,
    },
    /// A bundle fetched from a registry, pinned by `threatpack.lock`.
    Registry {
        name: String,
        version: String,
        registry: String,
        /// `sha256:HEX` of the bundle.
        checksum: String,
        display: String,
    },
}

impl PackLocation {
    pub fn describe(&self) -> &str {
        match self {
            PackLocation::Directory { display, .. } | PackLocation::Registry { display, .. } => {
                display
            }
        }
    }
}

/// A dependency as a pack declares it.
#[derive(Debug)]
pub struct Request<'a> {
    pub name: &'a str,
    pub spec: &'a DependencySpec,
    /// Where the declaring pack was found (a relative `path` is relative to it).
    pub declared_at: &'a PackLocation,
}

/// A pack a source can provide for a request.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The version its manifest declares, when it can be read.
    pub version: Option<Version>,
    pub location: PackLocation,
}

/// Where packs come from.
pub trait PackSource {
    /// The packs that could answer `request` (any version; the resolver filters). An `Err` is
    /// a message saying why none can be looked up.
    fn candidates(&mut self, request: &Request<'_>) -> Result<Vec<Candidate>, String>;
    /// The files of a candidate.
    fn load(&mut self, candidate: &Candidate) -> Result<PackSources, String>;
}

/// A pack and every pack its dependencies lead to.
#[derive(Debug)]
pub struct PackGraph {
    /// Index 0 is the pack being checked or built; the others are its dependencies.
    pub packs: Vec<ParsedPack>,
    /// Where each pack was found.
    pub locations: Vec<PackLocation>,
    /// The declared dependencies of each pack, by name: the index of the loaded pack, or `None`
    /// when it could not be loaded (a registry dependency today, or a path that failed).
    pub dependencies: Vec<BTreeMap<String, Option<usize>>>,
    /// Problems met while resolving, reported on the root pack.
    pub problems: Vec<Diagnostic>,
    /// The root's `[catalogs]`, by name as declared: the catalog, or why it could not be read
    /// (`check` reports it on the entry).
    pub catalogs: Vec<(String, crate::catalog::LoadedCatalog)>,
}

impl PackGraph {
    /// `name version` of a pack, for messages.
    pub fn label(&self, pack: usize) -> String {
        let parsed = &self.packs[pack];
        match &parsed.manifest {
            Some(manifest) => format!(
                "`{}` {}",
                manifest.item.pack.name, manifest.item.pack.version
            ),
            None => format!("the pack at `{}`", self.locations[pack].describe()),
        }
    }

    /// The packs in dependency order: every pack after all the packs it depends on (the root
    /// last). Packs in a cycle keep their load order.
    pub fn dependency_order(&self) -> Vec<usize> {
        let count = self.packs.len();
        let mut order = Vec::with_capacity(count);
        let mut state = vec![0u8; count]; // 0 new, 1 on the stack, 2 done
        for start in 0..count {
            if state[start] != 0 {
                continue;
            }
            // Iterative post-order walk: (pack, whether its dependencies were pushed).
            let mut stack = vec![(start, false)];
            while let Some((pack, expanded)) = stack.pop() {
                if expanded {
                    state[pack] = 2;
                    order.push(pack);
                    continue;
                }
                if state[pack] != 0 {
                    continue;
                }
                state[pack] = 1;
                stack.push((pack, true));
                for dependency in self.dependencies[pack].values().flatten().rev() {
                    if state[*dependency] == 0 {
                        stack.push((*dependency, false));
                    }
                }
            }
        }
        order
    }

    /// The graph of `pack` and what it depends on, with `pack` as the root (re-parsed from the
    /// same sources), as if it were being built on its own.
    pub fn subgraph(&self, pack: usize) -> PackGraph {
        let members = self.subgraph_members(pack);
        let mut position = vec![None; self.packs.len()];
        for (at, member) in members.iter().enumerate() {
            position[*member] = Some(at);
        }
        PackGraph {
            packs: members
                .iter()
                .map(|member| ParsedPack::parse(self.packs[*member].sources.clone()))
                .collect(),
            locations: members
                .iter()
                .map(|member| self.locations[*member].clone())
                .collect(),
            dependencies: members
                .iter()
                .map(|member| {
                    self.dependencies[*member]
                        .iter()
                        .map(|(name, loaded)| {
                            (name.clone(), loaded.and_then(|loaded| position[loaded]))
                        })
                        .collect()
                })
                .collect(),
            problems: Vec::new(),
            catalogs: Vec::new(),
        }
    }

    /// `pack` and every pack it depends on, directly or transitively, in the order of
    /// [`PackGraph::subgraph`]'s packs (breadth first, `pack` first).
    pub fn subgraph_members(&self, pack: usize) -> Vec<usize> {
        let mut members = vec![pack];
        let mut seen = vec![false; self.packs.len()];
        seen[pack] = true;
        let mut next = 0;
        while next < members.len() {
            let current = members[next];
            next += 1;
            for dependency in self.dependencies[current].values().flatten() {
                if !seen[*dependency] {
                    seen[*dependency] = true;
                    members.push(*dependency);
                }
            }
        }
        members
    }

    /// Whether `pack` depends on `other`, directly or transitively.
    pub fn depends_on(&self, pack: usize, other: usize) -> bool {
        let mut seen = vec![false; self.packs.len()];
        let mut pending = vec![pack];
        while let Some(current) = pending.pop() {
            for next in self.dependencies[current].values().flatten() {
                if *next == other {
                    return true;
                }
                if !seen[*next] {
                    seen[*next] = true;
                    pending.push(*next);
                }
            }
        }
        false
    }
}

/// The pack chosen for a name, and the chain of the request that chose it.
struct Choice {
    pack: usize,
    chain: String,
}

/// Resolves the dependencies of the pack at `root` transitively.
pub fn resolve(
    root: PackLocation,
    root_sources: PackSources,
    source: &mut dyn PackSource,
) -> PackGraph {
    let mut graph = PackGraph {
        packs: vec![ParsedPack::parse(root_sources)],
        locations: vec![root],
        dependencies: vec![BTreeMap::new()],
        problems: Vec::new(),
        catalogs: Vec::new(),
    };
    let mut depths = vec![0usize];
    // The chain of requirements that led to each pack, for messages.
    let mut chains = vec![graph.label(0)];
    let mut chosen: BTreeMap<String, Choice> = BTreeMap::new();
    if let Some(name) = graph.packs[0].name() {
        chosen.insert(
            name.to_string(),
            Choice {
                pack: 0,
                chain: format!("{} is the pack being built", chains[0]),
            },
        );
    }
    let mut next = 0;
    while next < graph.packs.len() {
        let current = next;
        next += 1;
        let Some(manifest) = graph.packs[current].manifest.clone() else {
            continue;
        };
        for (name, spec) in &manifest.item.dependencies {
            let requirement = VersionReq::parse(spec.requirement()).ok();
            let request = Request {
                name,
                spec,
                declared_at: &graph.locations[current],
            };
            let declaring = format!(
                "{} requires `{name}` {}",
                chains[current],
                spec.requirement()
            );
            if let Some(choice) = chosen.get(name) {
                let chosen_pack = choice.pack;
                // A path must lead to the pack already chosen, and its version must do.
                if let Some(problem) =
                    conflicting_path(source, &request, &graph, chosen_pack, &declaring, choice)
                {
                    report(&mut graph, current, name, problem);
                } else if let (Some(requirement), Some(version)) =
                    (&requirement, graph.packs[chosen_pack].version())
                    && !requirement.matches(&version)
                    && current != 0
                {
                    let message = format!(
                        "{declaring}, but {}, which chose `{name}` {version}",
                        choice.chain
                    );
                    report(&mut graph, current, name, message);
                }
                graph.dependencies[current].insert(name.clone(), Some(chosen_pack));
                continue;
            }
            if depths[current] + 1 > MAX_DEPENDENCY_DEPTH {
                graph.dependencies[current].insert(name.clone(), None);
                continue;
            }
            let loaded = match source.candidates(&request) {
                Err(message) => {
                    if spec.path().is_some() {
                        report_unavailable(&mut graph, current, name, message);
                    }
                    None
                }
                Ok(candidates) => {
                    let pick = pick(&candidates, requirement.as_ref());
                    match pick {
                        None => None,
                        Some(candidate) => {
                            if let (Some(requirement), Some(version)) =
                                (&requirement, &candidate.version)
                                && !requirement.matches(version)
                                && current != 0
                            {
                                // Direct dependencies of the root are reported by the
                                // manifest check, on the requirement itself.
                                let message = format!(
                                    "{declaring}, but `{name}` at `{}` is {version}",
                                    candidate.location.describe()
                                );
                                report(&mut graph, current, name, message);
                            }
                            match source.load(candidate) {
                                Ok(sources) => {
                                    graph.packs.push(ParsedPack::parse(sources));
                                    graph.locations.push(candidate.location.clone());
                                    graph.dependencies.push(BTreeMap::new());
                                    depths.push(depths[current] + 1);
                                    let loaded = graph.packs.len() - 1;
                                    chains.push(format!(
                                        "{} → {}",
                                        chains[current],
                                        graph.label(loaded)
                                    ));
                                    chosen.insert(
                                        name.clone(),
                                        Choice {
                                            pack: loaded,
                                            chain: declaring.clone(),
                                        },
                                    );
                                    Some(loaded)
                                }
                                Err(message) => {
                                    report_unavailable(&mut graph, current, name, message);
                                    None
                                }
                            }
                        }
                    }
                }
            };
            graph.dependencies[current].insert(name.clone(), loaded);
        }
    }
    graph
}

/// The newest candidate that satisfies the requirement, or else the newest of all (so that
/// references can still be checked while the mismatch is reported).
fn pick<'c>(
    candidates: &'c [Candidate],
    requirement: Option<&VersionReq>,
) -> Option<&'c Candidate> {
    let matching = candidates
        .iter()
        .filter(|candidate| match (requirement, &candidate.version) {
            (Some(requirement), Some(version)) => requirement.matches(version),
            _ => true,
        });
    matching
        .max_by(|a, b| a.version.cmp(&b.version))
        .or_else(|| candidates.iter().max_by(|a, b| a.version.cmp(&b.version)))
}

/// When `request` has a path leading somewhere else than the pack already chosen for its name.
fn conflicting_path(
    source: &mut dyn PackSource,
    request: &Request<'_>,
    graph: &PackGraph,
    chosen_pack: usize,
    declaring: &str,
    choice: &Choice,
) -> Option<String> {
    request.spec.path()?;
    let candidates = source.candidates(request).ok()?;
    let candidate = candidates.first()?;
    if candidate.location == graph.locations[chosen_pack] {
        return None;
    }
    Some(format!(
        "{declaring} at `{}`, but {}, found at `{}`: a build holds one copy of each pack",
        candidate.location.describe(),
        choice.chain,
        graph.locations[chosen_pack].describe(),
    ))
}

/// A resolution problem, pointed at the dependency's entry in the declaring pack's manifest.
fn report(graph: &mut PackGraph, declaring: usize, name: &str, message: String) {
    let pack = &graph.packs[declaring];
    let Some(manifest) = &pack.manifest else {
        return;
    };
    let diagnostic = Diagnostic::new(Code::DependencyMismatch, message)
        .at(
            pack.display_path(&manifest.origin),
            pack.locate_key(&manifest.origin, &["dependencies", name]),
            "this requirement",
        )
        .help("make the requirements agree: one version of each pack is in a build");
    graph.problems.push(diagnostic);
}

fn report_unavailable(graph: &mut PackGraph, declaring: usize, name: &str, message: String) {
    let pack = &graph.packs[declaring];
    let Some(manifest) = &pack.manifest else {
        return;
    };
    let diagnostic = Diagnostic::new(
        Code::DependencyUnavailable,
        format!("cannot load dependency `{name}`"),
    )
    .at(
        pack.display_path(&manifest.origin),
        pack.locate(&manifest.origin, &["dependencies", name, "path"]),
        message,
    )
    .help("fix the `path`, or remove it to use the registry");
    graph.problems.push(diagnostic);
}
