//! `build`: check, compile and write one bundle. Pure: the caller reads the pack from disk and
//! writes the bytes where it wants.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use crate::bundle::{
    BUNDLE_FORMAT, BundleFile, BundleManifest, KB_PATH, ResolvedDependency, SOURCE_DIR,
    write_bundle,
};
use crate::check::{CheckOptions, check_graph};
use crate::compile::{CompileOptions, KnowledgeBase, attribution_path, compile};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::resolve::PackGraph;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub tier: Option<String>,
    pub check: CheckOptions,
}

/// A bundle in memory.
#[derive(Debug)]
pub struct Built {
    pub manifest: BundleManifest,
    pub kb: KnowledgeBase,
    pub bytes: Vec<u8>,
    pub file_name: String,
}

/// Everything a build found, and the bundle unless an error stopped it.
#[derive(Debug)]
pub struct BuildReport {
    pub diagnostics: Vec<Diagnostic>,
    pub built: Option<Built>,
    /// The bundle digest of every dependency read from a directory, by [`bundle_key`]: what a
    /// caller may keep for the next [`build_with_known_digests`].
    pub dependency_digests: BTreeMap<String, String>,
}

/// The builder recorded in every manifest.
pub fn builder() -> String {
    format!("threatpack {}", env!("CARGO_PKG_VERSION"))
}

/// Checks the root pack of `graph`, then compiles and bundles it.
pub fn build(graph: &PackGraph, options: &BuildOptions) -> BuildReport {
    build_with_known_digests(graph, options, |_| None)
}

/// [`build`], where `known` gives the bundle digest of a dependency built before by its
/// [`bundle_key`]: such a dependency is not built again (its bundle would be the same bytes).
pub fn build_with_known_digests(
    graph: &PackGraph,
    options: &BuildOptions,
    known: impl Fn(&str) -> Option<String>,
) -> BuildReport {
    // Dependencies built before are known by their key; the others' own bundles (whose
    // digests the manifest records) build on another core while the root pack is checked:
    // they need nothing from it.
    let keys = directory_dependency_keys(graph);
    let known: HashMap<String, String> = keys
        .iter()
        .filter_map(|(name, key)| known(key).map(|digest| (name.clone(), digest)))
        .collect();
    let (mut diagnostics, mut digests) = std::thread::scope(|scope| {
        let dependencies = scope.spawn(|| dependency_digests(graph, known));
        let diagnostics = check_graph(graph, &options.check).diagnostics;
        let digests = dependencies
            .join()
            // A panic is a bug: re-raise it.
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (diagnostics, digests)
    });
    diagnostics.extend(unresolved_dependencies(graph));
    if diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
    {
        return BuildReport {
            diagnostics,
            built: None,
            dependency_digests: BTreeMap::new(),
        };
    }
    let mut result = build_checked(graph, options.tier.as_deref(), &mut digests);
    let dependency_digests = keys
        .into_iter()
        .filter_map(|(name, key)| digests.get(&name).map(|digest| (key, digest.clone())))
        .collect();
    options.check.apply_deny(&mut result.diagnostics);
    let denied = result
        .diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error);
    diagnostics.extend(result.diagnostics);
    crate::diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    BuildReport {
        diagnostics,
        // A denied warning fails the build like an error: nothing is written.
        built: if denied { None } else { result.built },
        dependency_digests,
    }
}

/// What the bundle of `pack` (built on its own, every tier) is made of, as one sha256: the
/// builder, and for it and each pack it depends on, its name and version, and its files (a
/// registry pack: where it came from and its bundle's sha256). Builds are deterministic, so
/// equal keys mean equal bundles.
pub fn bundle_key(graph: &PackGraph, pack: usize) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(builder().as_bytes());
    for member in graph.subgraph_members(pack) {
        match &graph.locations[member] {
            crate::resolve::PackLocation::Registry {
                name,
                version,
                registry,
                checksum,
                ..
            } => {
                for text in ["registry", name, version, registry, checksum] {
                    field(text.as_bytes());
                }
            }
            crate::resolve::PackLocation::Directory { .. } => {
                let sources = &graph.packs[member].sources;
                field(b"directory");
                for file in &sources.files {
                    field(file.pack_path.as_bytes());
                    field(file.text.as_bytes());
                }
                for file in &sources.attached {
                    field(file.pack_path.as_bytes());
                    field(&file.bytes);
                }
            }
        }
        // Which pack each of its dependency names resolved to, by position in the subgraph.
        for (name, loaded) in &graph.dependencies[member] {
            field(name.as_bytes());
            field(loaded.map_or(String::new(), |at| at.to_string()).as_bytes());
        }
    }
    format!("sha256:{}", crate::digest::hex(&hasher.finalize()))
}

/// `name@version` and [`bundle_key`] of every dependency read from a directory.
fn directory_dependency_keys(graph: &PackGraph) -> Vec<(String, String)> {
    (1..graph.packs.len())
        .filter(|pack| {
            matches!(
                graph.locations[*pack],
                crate::resolve::PackLocation::Directory { .. }
            )
        })
        .filter_map(|pack| {
            let manifest = graph.packs[pack].manifest.as_ref()?;
            let name = format!("{}@{}", manifest.item.pack.name, manifest.item.pack.version);
            Some((name, bundle_key(graph, pack)))
        })
        .collect()
}

/// Checks the root pack of `graph` and compiles it whole (every tier), without bundling: what
/// `apply --pack` and `test` run on.
pub fn check_and_compile(
    graph: &PackGraph,
    options: &CheckOptions,
) -> (Vec<Diagnostic>, Option<KnowledgeBase>) {
    let mut diagnostics = check_graph(graph, options).diagnostics;
    diagnostics.extend(unresolved_dependencies(graph));
    if diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
    {
        return (diagnostics, None);
    }
    let compiled = compile(graph, &CompileOptions::default());
    diagnostics.extend(compiled.diagnostics);
    crate::diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    (diagnostics, compiled.kb)
}

/// Compiles and bundles a graph that passed `check`. `digests` memoizes the bundle digest of
/// each dependency (`name@version`).
fn build_checked(
    graph: &PackGraph,
    tier: Option<&str>,
    digests: &mut HashMap<String, String>,
) -> BuildReport {
    let compiled = compile(
        graph,
        &CompileOptions {
            tier: tier.map(str::to_string),
        },
    );
    let mut diagnostics = compiled.diagnostics;
    let Some(kb) = compiled.kb else {
        return BuildReport {
            diagnostics,
            built: None,
            dependency_digests: BTreeMap::new(),
        };
    };
    let dependencies = match resolved_dependencies(graph, digests) {
        Ok(dependencies) => dependencies,
        Err(mut problems) => {
            diagnostics.append(&mut problems);
            return BuildReport {
                diagnostics,
                built: None,
                dependency_digests: BTreeMap::new(),
            };
        }
    };
    let root = &graph.packs[0];
    let mut files = vec![BundleFile {
        path: KB_PATH.to_string(),
        bytes: kb_bytes(&kb),
    }];
    for file in &root.sources.files {
        files.push(BundleFile {
            path: format!("{SOURCE_DIR}/{}", file.pack_path),
            bytes: file.text.as_bytes().to_vec(),
        });
    }
    if let Some(lock) = root.sources.attached(crate::source::UPSTREAM_LOCK) {
        files.push(BundleFile {
            path: format!("{SOURCE_DIR}/{}", lock.pack_path),
            bytes: lock.bytes.clone(),
        });
    }
    for pack in &graph.packs {
        let Some(name) = pack.name() else { continue };
        for file in pack.sources.attribution() {
            files.push(BundleFile {
                path: attribution_path(name, &file.pack_path),
                bytes: file.bytes.clone(),
            });
        }
    }
    let own = kb.packs.iter().find(|pack| pack.name == kb.pack);
    let manifest = BundleManifest {
        bundle_format: BUNDLE_FORMAT,
        pack: kb.pack.clone(),
        version: kb.version.clone(),
        tier: kb.tier.clone(),
        description: own.map(|pack| pack.description.clone()).unwrap_or_default(),
        license: own.map(|pack| pack.license.clone()).unwrap_or_default(),
        dependencies,
        files: Default::default(),
        builder: builder(),
    };
    match write_bundle(manifest, files) {
        Ok((manifest, bytes)) => BuildReport {
            diagnostics,
            built: Some(Built {
                file_name: crate::bundle::file_name(
                    &manifest.pack,
                    &manifest.version,
                    manifest.tier.as_deref(),
                ),
                manifest,
                kb,
                bytes,
            }),
            dependency_digests: BTreeMap::new(),
        },
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(Code::DependencyUnavailable, error.0)
                    .help("bundle paths are plain ASCII names"),
            );
            BuildReport {
                diagnostics,
                built: None,
                dependency_digests: BTreeMap::new(),
            }
        }
    }
}

/// `kb.json`: compact (it is for programs; `inspect` is for people), newline-terminated.
fn kb_bytes(kb: &KnowledgeBase) -> Vec<u8> {
    // Serializing plain structs and maps with string keys cannot fail.
    let mut bytes = serde_json::to_vec(kb).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A build needs every dependency in hand: one that could not be loaded is an error here
/// (`check` only notes that it cannot verify references into it).
fn unresolved_dependencies(graph: &PackGraph) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (pack, dependencies) in graph.dependencies.iter().enumerate() {
        let parsed = &graph.packs[pack];
        let Some(manifest) = &parsed.manifest else {
            continue;
        };
        for (name, loaded) in dependencies {
            if loaded.is_some() {
                continue;
            }
            let spec = manifest.item.dependencies.get(name);
            if spec.and_then(|spec| spec.path()).is_some() {
                continue; // `check` already reported why the path failed.
            }
            problems.push(
                Diagnostic::new(
                    Code::DependencyUnavailable,
                    format!("cannot build without `{name}`: it has no `path` and was not fetched from a registry"),
                )
                .at(
                    parsed.display_path(&manifest.origin),
                    parsed.locate_key(&manifest.origin, &["dependencies", name]),
                    "no local copy",
                )
                .help(format!("run `threatpack lock` and `threatpack fetch` (or drop --offline), or add `path = \"…\"` pointing at a copy of `{name}`")),
            );
        }
    }
    problems
}

/// The bundle digest of every dependency read from a directory that builds on its own, by
/// `name@version`. A dependency that does not build is left out: `resolved_dependencies` builds
/// it again and reports why.
fn dependency_digests(
    graph: &PackGraph,
    known: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut digests = known;
    for pack in 1..graph.packs.len() {
        let Some(manifest) = &graph.packs[pack].manifest else {
            continue;
        };
        if !matches!(
            graph.locations[pack],
            crate::resolve::PackLocation::Directory { .. }
        ) {
            continue;
        }
        let key = format!("{}@{}", manifest.item.pack.name, manifest.item.pack.version);
        if digests.contains_key(&key) {
            continue;
        }
        let own = build_checked(&graph.subgraph(pack), None, &mut digests);
        if let Some(built) = own.built {
            digests.insert(key, crate::digest::sha256(&built.bytes));
        }
    }
    digests
}

/// Every dependency in the graph with the exact version, the requirement and source that
/// chose it, and the digest of its own bundle.
fn resolved_dependencies(
    graph: &PackGraph,
    digests: &mut HashMap<String, String>,
) -> Result<Vec<ResolvedDependency>, Vec<Diagnostic>> {
    let mut dependencies = Vec::new();
    for pack in 1..graph.packs.len() {
        let parsed = &graph.packs[pack];
        let Some(manifest) = &parsed.manifest else {
            continue;
        };
        let name = &manifest.item.pack.name;
        let version = &manifest.item.pack.version;
        // The first declaration (in load order) is the one that chose this pack.
        let declaration = graph
            .dependencies
            .iter()
            .enumerate()
            .find_map(|(declaring, dependencies)| {
                (dependencies.get(name) == Some(&Some(pack))).then_some(declaring)
            })
            .and_then(|declaring| graph.packs[declaring].manifest.as_ref())
            .and_then(|declaring| declaring.item.dependencies.get(name));
        let (requirement, source) = match declaration {
            Some(spec) => (
                spec.requirement().to_string(),
                spec.path()
                    .map_or_else(|| "registry".to_string(), |path| format!("path:{path}")),
            ),
            None => (String::new(), String::new()),
        };
        let key = format!("{name}@{version}");
        // A registry pack is pinned by the sha256 of its published bundle.
        let (source, registry_digest) = match &graph.locations[pack] {
            crate::resolve::PackLocation::Registry {
                registry, checksum, ..
            } => (format!("registry:{registry}"), Some(checksum.clone())),
            crate::resolve::PackLocation::Directory { .. } => (source, None),
        };
        let digest = match registry_digest.or_else(|| digests.get(&key).cloned()) {
            Some(digest) => digest,
            None => {
                let own = build_checked(&graph.subgraph(pack), None, digests);
                let Some(built) = own.built else {
                    let mut problems = own.diagnostics;
                    problems.push(Diagnostic::new(
                        Code::DependencyUnavailable,
                        format!("dependency `{name}` {version} does not build on its own"),
                    ));
                    return Err(problems);
                };
                let digest = crate::digest::sha256(&built.bytes);
                digests.insert(key, digest.clone());
                digest
            }
        };
        dependencies.push(ResolvedDependency {
            name: name.clone(),
            version: version.clone(),
            requirement,
            source,
            digest,
        });
    }
    dependencies.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(dependencies)
}
