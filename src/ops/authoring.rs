//! The author's operations on a pack directory: check it, create a new one, refresh its
//! overrides after reviewing upstream changes, and write the JSON Schemas of its files.

use std::path::{Path, PathBuf};

use super::Error;
use super::lock::display_path;
use crate::check::{CheckOptions, CheckedPack, check_graph};
use crate::schema::SchemaKind;
use crate::source::UPSTREAM_LOCK;
use crate::upstream::Refresh;
use crate::workspace::{load_graph, write_atomically};

/// A pack checked: its graph, its report, and its name.
#[derive(Debug)]
pub struct PackCheck {
    /// The pack's name (`namespace/name`), or its directory as displayed when `pack.toml` has
    /// no readable name.
    pub name: String,
    /// The graph (whose sources the diagnostics point into) and the report.
    pub checked: CheckedPack,
}

/// Checks the pack at `path` and its dependencies (path dependencies from disk, registry
/// dependencies from the cache as `threatpack.lock` names them): TOML syntax, schemas,
/// references, conditions, overrides, tests and lints, `options.deny` lints as errors. The
/// problems are in the report; [`Error`] only when the pack cannot be read at all.
pub fn check(path: &Path, options: &CheckOptions) -> Result<PackCheck, Error> {
    let display = display_path(path);
    let graph = super::cached_pack_graph(path, &display)?;
    let checked = CheckedPack {
        report: check_graph(&graph, options),
        graph,
    };
    let name = checked.graph.packs[0]
        .name()
        .unwrap_or(&display)
        .to_string();
    Ok(PackCheck { name, checked })
}

/// A pack created by [`new_pack`].
#[derive(Debug, Clone)]
pub struct NewPack {
    /// Its directory.
    pub directory: PathBuf,
    /// The files written, relative to the directory.
    pub files: Vec<String>,
}

/// Creates the pack `name` (`namespace/name`) in `directory` (default: the name's last part),
/// one file of each kind, passing `check`. The directory must be empty or absent.
pub fn new_pack(name: &str, directory: Option<&Path>) -> Result<NewPack, Error> {
    let directory = directory.map_or_else(
        || PathBuf::from(name.rsplit('/').next().unwrap_or(name)),
        Path::to_path_buf,
    );
    let files = crate::scaffold::write(&directory, name)?;
    Ok(NewPack { directory, files })
}

/// What [`refresh_overrides`] did.
#[derive(Debug)]
pub struct RefreshedOverrides {
    /// The overrides stamped, acknowledged, unchanged and unresolved (and the files
    /// rewritten).
    pub refresh: Refresh,
    /// The `upstream.lock` written.
    pub lock: PathBuf,
}

/// Records, in each override of the pack at `path`, the digest of its target as it is now
/// (and its content in `upstream.lock`), rewriting the override files that change:
/// acknowledges the upstream changes reviewed. Targets not found are listed, left as they are.
pub fn refresh_overrides(path: &Path) -> Result<RefreshedOverrides, Error> {
    let display = display_path(path);
    let graph = load_graph(path, &display).map_err(|error| error.to_string())?;
    let refresh = crate::upstream::refresh(&graph)?;
    for (pack_path, text) in &refresh.files {
        write_atomically(&path.join(pack_path), text.as_bytes(), 0o644)?;
    }
    let lock = path.join(UPSTREAM_LOCK);
    write_atomically(&lock, &refresh.lock, 0o644)?;
    Ok(RefreshedOverrides { refresh, lock })
}

/// The JSON Schema named `name` (`pack`, `entities`, ... [`SchemaKind::ALL`]).
pub fn schema(name: &str) -> Result<SchemaKind, Error> {
    SchemaKind::from_name(name).ok_or_else(|| {
        Error::Other(format!(
            "unknown schema `{name}`; the schemas are {}",
            schema_names()
        ))
    })
}

/// The schemas' names, comma-separated, for messages.
pub fn schema_names() -> String {
    SchemaKind::ALL
        .iter()
        .map(|kind| kind.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes every JSON Schema into `directory` (created if needed); returns how many.
pub fn write_schemas(directory: &Path) -> Result<usize, Error> {
    std::fs::create_dir_all(directory)
        .map_err(|error| format!("cannot create `{}`: {error}", directory.display()))?;
    for kind in SchemaKind::ALL {
        let path = directory.join(kind.file_name());
        write_atomically(&path, kind.text().as_bytes(), 0o644)?;
    }
    Ok(SchemaKind::ALL.len())
}
