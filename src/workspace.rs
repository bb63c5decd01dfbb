//! Reading packs from disk: the one place (with `scaffold::write`) where the library touches the
//! file system. It loads a pack directory and, recursively, its `path` dependencies, and hands
//! everything after it in-memory sources.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::DependencySpec;
use crate::parse::ParsedPack;
use crate::source::{MAX_FILE_BYTES, PackSources, SourceFile, join_display};

/// Packs deeper than this in a chain of path dependencies are not loaded (and reported).
const MAX_DEPENDENCY_DEPTH: usize = 32;

/// A pack and the packs its path dependencies lead to.
#[derive(Debug)]
pub struct PackGraph {
    /// Index 0 is the pack being checked; the others are its path dependencies, transitively.
    pub packs: Vec<ParsedPack>,
    /// The declared dependencies of each pack, by name: the index of the loaded pack, or `None`
    /// when it is not available locally (a registry dependency, or a path that failed).
    pub dependencies: Vec<BTreeMap<String, Option<usize>>>,
    /// Problems met while loading dependencies, reported on the root pack.
    pub problems: Vec<Diagnostic>,
}

/// A failure that stops a command before any checking: the pack itself cannot be read.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Reads every `.toml` file under `root` (hidden directories excluded), sorted by path.
pub fn read_pack_dir(root: &Path, display_root: &str) -> Result<PackSources, LoadError> {
    let metadata = fs::metadata(root).map_err(|error| {
        LoadError(format!(
            "cannot read pack directory `{display_root}`: {error}"
        ))
    })?;
    if !metadata.is_dir() {
        return Err(LoadError(format!(
            "`{display_root}` is not a directory: a pack is a directory holding `pack.toml`"
        )));
    }
    let mut sources = PackSources {
        display_root: display_root.to_string(),
        ..PackSources::default()
    };
    // Without a manifest this is not a pack: reading it (it may be `/`) would only add noise to
    // the `missing-manifest` error.
    let manifest = root.join("pack.toml");
    if fs::symlink_metadata(&manifest).is_err() {
        return Ok(sources);
    }
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries = fs::read_dir(&directory).map_err(|error| {
            LoadError(format!("cannot list `{}`: {error}", directory.display()))
        })?;
        for entry in entries {
            let entry = entry.map_err(|error| {
                LoadError(format!("cannot list `{}`: {error}", directory.display()))
            })?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            // `file_type` does not follow symlinks: a link is neither read nor followed, so a
            // pack cannot pull in files from outside its directory.
            let file_type = entry
                .file_type()
                .map_err(|error| LoadError(format!("cannot read `{}`: {error}", path.display())))?;
            if file_type.is_symlink() && name.ends_with(".toml") {
                let pack_path = relative_pack_path(root, &path);
                let display_path = join_display(display_root, &pack_path);
                sources.problems.push(
                    Diagnostic::new(Code::UnknownFile, format!("`{pack_path}` is a symbolic link and is not read"))
                        .at(&display_path, 0..0, "not followed")
                        .help("copy the file into the pack: a pack is self-contained, and links could read files outside it"),
                );
            } else if file_type.is_dir() {
                pending.push(path);
            } else if file_type.is_file() && name.ends_with(".toml") {
                let pack_path = relative_pack_path(root, &path);
                let display_path = join_display(display_root, &pack_path);
                match read_text(&path, &display_path) {
                    Ok(text) => sources.files.push(SourceFile {
                        display_path,
                        pack_path,
                        text,
                    }),
                    Err(problem) => sources.problems.push(*problem),
                }
            }
        }
    }
    sources.files.sort_by(|a, b| a.pack_path.cmp(&b.pack_path));
    Ok(sources)
}

fn relative_pack_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads a file as UTF-8 text, refusing files over the size limit without reading them whole.
fn read_text(path: &Path, display_path: &str) -> Result<String, Box<Diagnostic>> {
    let io_problem = |error: std::io::Error| {
        Diagnostic::new(
            Code::InvalidUtf8,
            format!("cannot read `{display_path}`: {error}"),
        )
        .at(display_path, 0..0, "unreadable")
    };
    let file = fs::File::open(path).map_err(io_problem)?;
    // Sized from the file's length (capped): growing by doubling would hold up to twice the text.
    let length = file
        .metadata()
        .map_or(0, |metadata| metadata.len())
        .min(MAX_FILE_BYTES + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_problem)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Box::new(
            Diagnostic::new(
                Code::FileTooLarge,
                format!("`{display_path}` is larger than 8 MiB"),
            )
            .at(display_path, 0..0, "not read")
            .help("split the content over several files in the same directory"),
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&error.as_bytes()[..valid]).into_owned();
        let line = text.matches('\n').count() + 1;
        Diagnostic::new(
            Code::InvalidUtf8,
            format!("`{display_path}` is not valid UTF-8 (byte {valid}, line {line})"),
        )
        .at(display_path, 0..0, "not read")
        .help("save the file as UTF-8")
        .into()
    })
}

/// Loads the pack at `root` and, transitively, every dependency that has a `path`.
pub fn load_graph(root: &Path, display_root: &str) -> Result<PackGraph, LoadError> {
    let sources = read_pack_dir(root, display_root)?;
    let mut graph = PackGraph {
        packs: vec![ParsedPack::parse(sources)],
        dependencies: vec![BTreeMap::new()],
        problems: Vec::new(),
    };
    let mut directories: Vec<PathBuf> = vec![canonical(root)];
    let mut depths = vec![0usize];
    let mut next = 0;
    while next < graph.packs.len() {
        let current = next;
        next += 1;
        let Some(manifest) = graph.packs[current].manifest.clone() else {
            continue;
        };
        for (name, spec) in &manifest.item.dependencies {
            let loaded = match spec {
                DependencySpec::Detailed {
                    path: Some(path), ..
                } => {
                    let directory = directories[current].join(path);
                    let display = join_display(&graph.packs[current].sources.display_root, path);
                    let canonical_directory = canonical(&directory);
                    if let Some(existing) = directories
                        .iter()
                        .position(|known| *known == canonical_directory)
                    {
                        Some(existing)
                    } else if depths[current] + 1 > MAX_DEPENDENCY_DEPTH {
                        None
                    } else {
                        match read_pack_dir(&directory, &normalize_display(&display)) {
                            Ok(sources) => {
                                graph.packs.push(ParsedPack::parse(sources));
                                graph.dependencies.push(BTreeMap::new());
                                directories.push(canonical_directory);
                                depths.push(depths[current] + 1);
                                Some(graph.packs.len() - 1)
                            }
                            Err(error) => {
                                if current == 0 {
                                    let manifest_origin = &manifest.origin;
                                    let pack = &graph.packs[0];
                                    let span = pack
                                        .locate(manifest_origin, &["dependencies", name, "path"]);
                                    graph.problems.push(
                                        Diagnostic::new(
                                            Code::DependencyUnavailable,
                                            format!("cannot load dependency `{name}`"),
                                        )
                                        .at(
                                            pack.display_path(manifest_origin),
                                            span,
                                            error.0.clone(),
                                        )
                                        .help("fix the `path`, or remove it to use the registry"),
                                    );
                                }
                                None
                            }
                        }
                    }
                }
                _ => None,
            };
            graph.dependencies[current].insert(name.clone(), loaded);
        }
    }
    Ok(graph)
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `packs/example-org/../stride-core` → `packs/stride-core`, for readable paths in messages.
fn normalize_display(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." | "" => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_display_paths() {
        assert_eq!(
            normalize_display("packs/example-org/../stride-core"),
            "packs/stride-core"
        );
        assert_eq!(normalize_display("./a/./b"), "a/b");
        assert_eq!(normalize_display("../x"), "../x");
    }
}
