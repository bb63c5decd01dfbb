//! The registry's signing key on disk: `DATA/registry-key` (or `THREATPACK_REGISTRY_KEY_FILE`),
//! mode 0600, made at first start, and its rotation (`threatpack-registry key rotate`).
//!
//! A rotation writes the new key beside the old (`<key file>.next`), records the statement
//! signed by both keys in the database, then renames the new key over the old. A crash between
//! two steps is finished at the next start: a `.next` key that the last recorded statement
//! introduces replaces the old one; any other `.next` file is left over from a rotation that
//! was never recorded, and is removed.

use std::path::{Path, PathBuf};

use threatpack::transparency::RegistryKey;
use threatpack::transparency::key::random_origin;

use crate::config::{KEY_FILE_ENV, ORIGIN_ENV};
use crate::store::Store;

/// The key file's name in the data directory, unless `THREATPACK_REGISTRY_KEY_FILE` says
/// otherwise.
pub const REGISTRY_KEY_FILE: &str = "registry-key";

/// The largest key file read: one line of about 100 characters.
const MAX_KEY_FILE_BYTES: u64 = 4 * 1024;

/// The key the registry signs with, and whether this start created it.
pub struct LoadedKey {
    pub key: RegistryKey,
    /// Where the key was created at this start (first start), for the start message.
    pub created: Option<PathBuf>,
    /// The key was created for a registry that already served packs (its key was lost):
    /// clients that pinned the old key refuse this one.
    pub replaced_lost_key: bool,
}

/// Where the key of the registry whose data directory is `data` is kept.
pub fn key_path(data: &Path) -> PathBuf {
    std::env::var_os(KEY_FILE_ENV)
        .filter(|path| !path.is_empty())
        .map_or_else(|| data.join(REGISTRY_KEY_FILE), PathBuf::from)
}

/// Reads the registry key, creating it on first start with `origin` (default
/// `threatpack-registry/<16 random hex>`); a later start with a different `origin` is refused.
pub fn load_or_create(
    data: &Path,
    origin: Option<&str>,
    store: &dyn Store,
) -> Result<LoadedKey, String> {
    let path = key_path(data);
    if path.exists() || next_path(&path).exists() {
        let key = load_existing(&path, store)?;
        if let Some(origin) = origin
            && origin != key.origin()
        {
            return Err(format!(
                "the registry key `{}` is for the origin `{}`, not `{origin}`\n  help: a registry's origin is fixed when its key is made: drop `--origin` ({ORIGIN_ENV}) or give `{}`",
                path.display(),
                key.origin(),
                key.origin()
            ));
        }
        return Ok(LoadedKey {
            key,
            created: None,
            replaced_lost_key: false,
        });
    }
    let origin = match origin {
        Some(origin) => origin.to_string(),
        None => random_origin().map_err(|error| error.to_string())?,
    };
    let key = RegistryKey::generate(&origin).map_err(|error| error.to_string())?;
    let (packs, _) = store
        .search("", 0, 1)
        .map_err(|error| format!("cannot count the packs: {error}"))?;
    write_key(&path, &key)?;
    Ok(LoadedKey {
        key,
        created: Some(path),
        replaced_lost_key: packs > 0,
    })
}

/// Reads the key at `path` (after finishing an interrupted rotation).
pub fn load_existing(path: &Path, store: &dyn Store) -> Result<RegistryKey, String> {
    finish_rotation(path, store)?;
    if !path.exists() {
        return Err(format!(
            "no registry key at `{}`: it is made at the server's first start\n  help: start the registry once, or set {KEY_FILE_ENV} to where its key is",
            path.display()
        ));
    }
    read_key(path)
}

/// Makes a new key for the registry in `data`: the old key and the new sign the rotation
/// statement, which is recorded, then the new key replaces the old in the key file. Returns the
/// old and the new key. The server signs with the key it read at start: restart it.
pub fn rotate(data: &Path, store: &dyn Store) -> Result<(RegistryKey, RegistryKey), String> {
    let path = key_path(data);
    let old = load_existing(&path, store)?;
    let new = RegistryKey::generate(old.origin()).map_err(|error| error.to_string())?;
    let statement = old
        .sign_rotation(&new)
        .map_err(|error| format!("cannot sign the rotation: {error}"))?;
    let statement = String::from_utf8(statement)
        .map_err(|_| "the rotation statement is not UTF-8".to_string())?;
    let next = next_path(&path);
    write_key(&next, &new)?;
    store
        .add_registry_key_rotation(&statement, "admin (threatpack-registry key rotate)")
        .map_err(|error| format!("cannot record the rotation: {error}"))?;
    rename(&next, &path)?;
    Ok((old, new))
}

/// Completes or discards a rotation a crash interrupted (see the module's doc).
fn finish_rotation(path: &Path, store: &dyn Store) -> Result<(), String> {
    let next = next_path(path);
    if !next.exists() {
        return Ok(());
    }
    let next_key = read_key(&next)?;
    let rotations = store
        .registry_key_rotations()
        .map_err(|error| format!("cannot read the key rotations: {error}"))?;
    let recorded = rotations.last().is_some_and(|statement| {
        statement
            .lines()
            .nth(2)
            .is_some_and(|line| line == format!("new {}", next_key.vkey()))
    });
    if recorded {
        rename(&next, path)
    } else {
        std::fs::remove_file(&next)
            .map_err(|error| format!("cannot remove `{}`: {error}", next.display()))
    }
}

fn next_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    path.with_file_name(name)
}

fn read_key(path: &Path) -> Result<RegistryKey, String> {
    let bytes = threatpack::workspace::read_capped(path, MAX_KEY_FILE_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "the registry key `{}` is not UTF-8: restore it from where you keep your secrets",
            path.display()
        )
    })?;
    RegistryKey::parse(&text).map_err(|error| {
        format!(
            "the registry key `{}` cannot be read: {error}\n  help: restore it from where you keep your secrets; making a new one would make every client that pinned the old one refuse this registry",
            path.display()
        )
    })
}

fn write_key(path: &Path, key: &RegistryKey) -> Result<(), String> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create `{}`: {error}", parent.display()))?;
    }
    threatpack::workspace::write_atomically(
        path,
        format!("{}\n", key.private_text()).as_bytes(),
        0o600,
    )
}

fn rename(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::rename(from, to).map_err(|error| {
        format!(
            "cannot rename `{}` to `{}`: {error}",
            from.display(),
            to.display()
        )
    })
}
