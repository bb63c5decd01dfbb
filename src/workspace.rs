//! The file system edge: the one place (with `scaffold::write`) where the library touches the
//! disk. It loads a pack directory and, recursively, its `path` dependencies, handing
//! everything after it in-memory sources; and it writes outputs (bundles, signatures, keys)
//! atomically, with exact permissions.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::resolve::{Candidate, PackGraph, PackLocation, PackSource, Request, resolve};
use crate::source::{
    AttachedFile, MAX_FILE_BYTES, PackSources, SourceFile, UPSTREAM_LOCK, is_attribution_file,
    join_display,
};

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
            } else if file_type.is_file()
                && directory == root
                && (is_attribution_file(&name) || name == UPSTREAM_LOCK)
            {
                let display_path = join_display(display_root, &name);
                match read_bytes(&path, &display_path) {
                    Ok(bytes) => sources.attached.push(AttachedFile {
                        pack_path: name.into_owned(),
                        bytes,
                    }),
                    Err(problem) => sources.problems.push(*problem),
                }
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
    sources
        .attached
        .sort_by(|a, b| a.pack_path.cmp(&b.pack_path));
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
    let bytes = read_bytes(path, display_path)?;
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

/// Reads a file, refusing files over the size limit without reading them whole.
fn read_bytes(path: &Path, display_path: &str) -> Result<Vec<u8>, Box<Diagnostic>> {
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
    Ok(bytes)
}

/// Loads the pack at `root` and, transitively, every dependency that has a `path`.
pub fn load_graph(root: &Path, display_root: &str) -> Result<PackGraph, LoadError> {
    load_graph_with(root, display_root, &mut PathSource)
}

/// Loads the pack at `root` and its dependencies from `source` (e.g. registry packs pinned by
/// `threatpack.lock`, with `path` dependencies from the disk).
pub fn load_graph_with(
    root: &Path,
    display_root: &str,
    source: &mut dyn PackSource,
) -> Result<PackGraph, LoadError> {
    let sources = read_pack_dir(root, display_root)?;
    let location = PackLocation::Directory {
        canonical: canonical(root),
        display: display_root.to_string(),
    };
    let mut graph = resolve(location, sources, source);
    graph.catalogs = load_catalogs(root, display_root, &graph);
    Ok(graph)
}

/// The catalogs the root's `[catalogs]` names, read from their `path` and made into id tables
/// (only their ids and deprecations are kept: a catalog is never compiled in).
fn load_catalogs(
    root: &Path,
    display_root: &str,
    graph: &PackGraph,
) -> Vec<(String, crate::catalog::LoadedCatalog)> {
    use crate::catalog::{Catalog, LoadedCatalog};
    let Some(manifest) = &graph.packs[0].manifest else {
        return Vec::new();
    };
    manifest
        .item
        .catalogs
        .iter()
        .map(|(name, spec)| {
            let Some(path) = spec.path() else {
                return (
                    name.clone(),
                    LoadedCatalog::Missing(
                        "it has no `path`, and catalogs are not read from a registry yet"
                            .to_string(),
                    ),
                );
            };
            let directory = root.join(path);
            let display = normalize_display(&join_display(display_root, path));
            if !directory.is_dir() {
                return (
                    name.clone(),
                    LoadedCatalog::Missing(format!("no directory `{display}`")),
                );
            }
            let loaded = match read_pack_dir(&directory, &display) {
                Err(error) => LoadedCatalog::Unusable(error.0),
                Ok(sources) => {
                    let pack = crate::parse::ParsedPack::parse(sources);
                    if pack.complete {
                        Catalog::of_pack(&pack)
                            .map_or_else(LoadedCatalog::Unusable, LoadedCatalog::Found)
                    } else {
                        LoadedCatalog::Unusable(format!(
                            "the catalog pack at `{display}` has errors: run `threatpack check {display}`"
                        ))
                    }
                }
            };
            (name.clone(), loaded)
        })
        .collect()
}

/// Packs from `path` dependencies: the directory a dependency's `path` names, relative to the
/// pack that declares it.
#[derive(Debug, Default)]
pub struct PathSource;

impl PackSource for PathSource {
    fn candidates(&mut self, request: &Request<'_>) -> Result<Vec<Candidate>, String> {
        let Some(path) = request.spec.path() else {
            return Err(format!(
                "`{}` has no `path` and is not in threatpack.lock: run `threatpack lock` to take it from a registry",
                request.name
            ));
        };
        let PackLocation::Directory {
            canonical: base,
            display,
        } = request.declared_at
        else {
            return Err(format!(
                "`{}` is declared by a pack from a registry, whose dependencies come from the registry",
                request.name
            ));
        };
        let directory = base.join(path);
        let display = normalize_display(&join_display(display, path));
        if let Err(error) = fs::metadata(&directory) {
            return Err(format!("cannot read pack directory `{display}`: {error}"));
        }
        // An unreadable manifest leaves the version unknown; loading the pack reports why.
        let manifest = directory.join("pack.toml");
        let version = read_text(&manifest, &display)
            .ok()
            .and_then(|text| manifest_version(&text));
        Ok(vec![Candidate {
            version,
            location: PackLocation::Directory {
                canonical: canonical(&directory),
                display,
            },
        }])
    }

    fn load(&mut self, candidate: &Candidate) -> Result<PackSources, String> {
        let PackLocation::Directory { canonical, display } = &candidate.location else {
            return Err(format!(
                "`{}` comes from a registry, not from a directory",
                candidate.location.describe()
            ));
        };
        read_pack_dir(canonical, display).map_err(|error| error.0)
    }
}

/// The version a manifest declares, when it is readable (the full parse reports the rest).
fn manifest_version(text: &str) -> Option<semver::Version> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let version = table.get("pack")?.get("version")?.as_str()?;
    crate::names::parse_version(version).ok()
}

/// Writes a file whole or not at all: into a temporary file beside it, flushed to disk, then
/// renamed over the target. A crash leaves the old file or the new one, never half of one.
/// `mode` sets the Unix permissions (the umask does not apply).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    write_atomically_with(path, mode, |file| file.write_all(bytes))
}

/// Writes files that belong together (a bundle and its signature) as `write_atomically` writes
/// one, each whole or not at all, with fewer waits for the disk: all are written and flushed
/// at the same time (one flush waits for the disk's commit, the others join it), then renamed
/// in order, then each directory is synced once. When one cannot be written or flushed, none
/// is renamed and no temporary file is left.
pub fn write_files_atomically(files: &[(&Path, &[u8])], mode: u32) -> Result<(), String> {
    use std::io::Write;
    let mut temporaries = Vec::with_capacity(files.len());
    for (path, _) in files {
        let (directory, temporary) = temporary_beside(path)?;
        temporaries.push((directory, temporary));
    }
    let write = |temporary: &Path, bytes: &[u8]| -> std::io::Result<()> {
        let mut file = open_with_mode(temporary, mode, true)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    let written: Vec<std::io::Result<()>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = files
            .iter()
            .zip(&temporaries)
            .skip(1)
            .map(|((_, bytes), (_, temporary))| scope.spawn(move || write(temporary, bytes)))
            .collect();
        let mut written = Vec::with_capacity(files.len());
        if let (Some((_, bytes)), Some((_, temporary))) = (files.first(), temporaries.first()) {
            written.push(write(temporary, bytes));
        }
        for helper in helpers {
            // A panic is a bug: re-raise it.
            written.push(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        written
    });
    let remove_all = |from: usize| {
        for (_, temporary) in &temporaries[from..] {
            let _ = fs::remove_file(temporary);
        }
    };
    if let Some((index, error)) = written
        .into_iter()
        .enumerate()
        .find_map(|(index, result)| result.err().map(|error| (index, error)))
    {
        remove_all(0);
        return Err(format!(
            "cannot write `{}`: {error}",
            files[index].0.display()
        ));
    }
    for (index, ((path, _), (_, temporary))) in files.iter().zip(&temporaries).enumerate() {
        if let Err(error) = fs::rename(temporary, path) {
            remove_all(index);
            return Err(format!("cannot write `{}`: {error}", path.display()));
        }
    }
    // The renames are durable once their directories are synced.
    let mut directories: Vec<&PathBuf> =
        temporaries.iter().map(|(directory, _)| directory).collect();
    directories.dedup();
    for directory in directories {
        if let Ok(directory) = fs::File::open(directory) {
            let _ = directory.sync_all();
        }
    }
    Ok(())
}

/// The directory of `path` (created if missing) and a temporary file name beside `path`.
fn temporary_beside(path: &Path) -> Result<(PathBuf, PathBuf), String> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create `{}`: {error}", directory.display()))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    Ok((directory, temporary))
}

/// Writes a file atomically as `write_atomically` does, with what `write` streams into it
/// (through a buffer): a large output is never held in memory whole. Returns what `write`
/// returns; if it fails, the file is left as it was.
pub fn write_atomically_with<T>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<T>,
) -> Result<T, String> {
    use std::io::Write;
    let (directory, temporary) = temporary_beside(path)?;
    let result = (|| {
        let file = open_with_mode(&temporary, mode, true)?;
        let mut buffered = std::io::BufWriter::with_capacity(
            1 << 20,
            EarlyWritebackFile::new(file, WRITEBACK_EVERY),
        );
        let written = write(&mut buffered)?;
        buffered.flush()?;
        let writing = buffered.into_inner().map_err(|error| error.into_error())?;
        let file = writing.finish();
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        // The rename is durable once the directory is synced.
        if let Ok(directory) = fs::File::open(&directory) {
            let _ = directory.sync_all();
        }
        Ok::<T, std::io::Error>(written)
    })();
    result.map_err(|error| {
        let _ = fs::remove_file(&temporary);
        format!("cannot write `{}`: {error}", path.display())
    })
}

/// Bytes written between two early flushes of a large file.
const WRITEBACK_EVERY: u64 = 64 << 20;

/// A file being written that, once large, is flushed to disk on a helper thread while it is
/// still being written: the final `sync_all` then waits for the last part only (a 2 GB report
/// took about a second to flush at the end). Small files never start the helper.
struct EarlyWritebackFile {
    file: fs::File,
    /// Bytes between two flushes, and bytes since the last one.
    every: u64,
    unsynced: u64,
    /// Asks the helper to flush (one request waiting at most), and the helper.
    helper: Option<(std::sync::mpsc::SyncSender<()>, std::thread::JoinHandle<()>)>,
}

impl EarlyWritebackFile {
    fn new(file: fs::File, every: u64) -> EarlyWritebackFile {
        EarlyWritebackFile {
            file,
            every,
            unsynced: 0,
            helper: None,
        }
    }

    fn request_writeback(&mut self) {
        if self.helper.is_none()
            && let Ok(clone) = self.file.try_clone()
        {
            let (request, requests) = std::sync::mpsc::sync_channel::<()>(1);
            let helper = std::thread::spawn(move || {
                while requests.recv().is_ok() {
                    // An error here shows again in the final `sync_all`.
                    let _ = clone.sync_data();
                }
            });
            self.helper = Some((request, helper));
        }
        if let Some((request, _)) = &self.helper {
            // Dropped while a flush runs: the next one takes these bytes too.
            let _ = request.try_send(());
        }
    }

    /// The file, once the helper has stopped.
    fn finish(self) -> fs::File {
        if let Some((request, helper)) = self.helper {
            drop(request);
            let _ = helper.join();
        }
        self.file
    }
}

impl std::io::Write for EarlyWritebackFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.unsynced += written as u64;
        if self.unsynced >= self.every {
            self.unsynced = 0;
            self.request_writeback();
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Writes a file that must not exist yet (unless `force`), with `mode` permissions; with
/// `force`, replaces it atomically.
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<(), String> {
    if force {
        return write_atomically(path, bytes, mode);
    }
    use std::io::Write;
    let mut file = open_with_mode(path, mode, false).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            format!("`{}` exists; pass `--force` to replace it", path.display())
        } else {
            format!("cannot create `{}`: {error}", path.display())
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            let _ = fs::remove_file(path);
            format!("cannot write `{}`: {error}", path.display())
        })
}

fn open_with_mode(path: &Path, mode: u32, truncate: bool) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if truncate {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(mode);
        let file = options.open(path)?;
        // `mode` at creation is filtered by the umask; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        options.open(path)
    }
}

/// Reads a file of at most `limit` bytes, refusing larger ones without reading them.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = fs::File::open(path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    // Sized from the file's length (the cap still holds if it grows): one allocation instead
    // of doubling, which for a model of 22 MB touched 33 MB.
    let expected = file
        .metadata()
        .map_or(0, |metadata| metadata.len().min(limit));
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!("`{}` is larger than {limit} bytes", path.display()));
    }
    Ok(bytes)
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

    /// A file flushed early while it is written (as a report of gigabytes is) holds exactly
    /// what was written, and the helper stops.
    #[test]
    fn a_file_flushed_while_written_holds_every_byte() {
        use std::io::Write;
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("report.json");
        let file = fs::File::create(&path).expect("a file");
        let mut writing = EarlyWritebackFile::new(file, 1000);
        let mut expected = Vec::new();
        for line in 0..2000 {
            let text = format!("line {line}\n");
            writing.write_all(text.as_bytes()).expect("written");
            expected.extend_from_slice(text.as_bytes());
        }
        assert!(writing.helper.is_some(), "the helper started");
        writing.finish().sync_all().expect("synced");
        assert_eq!(fs::read(&path).expect("readable"), expected);
    }

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
