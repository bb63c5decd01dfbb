//! `threatpack import FORMAT INPUT --out DIR`: reads the input and the mapping (both capped),
//! imports (`crate::import`, pure) and writes the pack whole or not at all.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::import::{
    Format, ImportOptions as PureOptions, ImportReport, MAX_INPUT_BYTES, MAX_MAPPING_BYTES, Mapping,
};
use crate::workspace::write_atomically;

/// What to import, and where to.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    pub input: PathBuf,
    /// The pack directory to write: it must not exist or be empty, unless `force`.
    pub out: PathBuf,
    pub name: Option<String>,
    pub version: Option<String>,
    /// A mapping file laid over the built-in mapping.
    pub mapping: Option<PathBuf>,
    /// Replace `out` when it holds files.
    pub force: bool,
}

/// A pack written by [`import`].
#[derive(Debug, Clone)]
pub struct ImportedPack {
    pub out: PathBuf,
    /// The files written, as paths inside the pack.
    pub files: Vec<String>,
    pub report: ImportReport,
}

/// Why an import failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The mapping file has problems, each pointing into it.
    #[error("the mapping file `{}` has problems", file.display())]
    Mapping {
        file: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
    /// Anything else: the message names the file and says what to do.
    #[error("{0}")]
    Other(String),
}

/// Imports `options.input` as a pack in `options.out`.
pub fn import(options: &ImportOptions) -> Result<ImportedPack, ImportFailure> {
    let mapping = match &options.mapping {
        Some(file) => {
            let bytes = read_capped(file, MAX_MAPPING_BYTES, "mapping file")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                ImportFailure::Other(format!(
                    "`{}`: the mapping file is not UTF-8",
                    file.display()
                ))
            })?;
            let display = file.display().to_string();
            Some(
                Mapping::parse(&display, &text).map_err(|diagnostics| ImportFailure::Mapping {
                    file: file.clone(),
                    diagnostics,
                })?,
            )
        }
        None => None,
    };
    let input = read_capped(&options.input, MAX_INPUT_BYTES, "input")?;
    let imported = crate::import::import(
        options.format,
        &input,
        &PureOptions {
            name: options.name.clone(),
            version: options.version.clone(),
            mapping,
        },
    )
    .map_err(|error| {
        ImportFailure::Other(format!(
            "cannot import `{}` as {}: {error}",
            options.input.display(),
            options.format.as_str()
        ))
    })?;
    drop(input);
    write_pack(&options.out, &imported.files, options.force)?;
    Ok(ImportedPack {
        out: options.out.clone(),
        files: imported.files.keys().cloned().collect(),
        report: imported.report,
    })
}

/// A file's bytes, refused when larger than `cap` (checked before reading, and while reading).
fn read_capped(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>, ImportFailure> {
    let fail = |error: std::io::Error| {
        ImportFailure::Other(format!(
            "cannot read the {what} `{}`: {error}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let metadata = file.metadata().map_err(fail)?;
    if !metadata.is_file() {
        return Err(ImportFailure::Other(format!(
            "the {what} `{}` is not a regular file",
            path.display()
        )));
    }
    let too_large = || {
        ImportFailure::Other(format!(
            "the {what} `{}` is larger than {cap} bytes, the most an import reads; is it the right file?",
            path.display()
        ))
    };
    if metadata.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes).map_err(fail)?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Writes the files into a new directory beside `out`, then puts it in `out`'s place: a
/// failure leaves `out` as it was.
fn write_pack(
    out: &Path,
    files: &std::collections::BTreeMap<String, String>,
    force: bool,
) -> Result<(), ImportFailure> {
    let other = |message: String| ImportFailure::Other(message);
    let holds_files = match std::fs::read_dir(out) {
        Ok(mut entries) => entries.next().is_some(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            return Err(other(format!("cannot read `{}`: {error}", out.display())));
        }
    };
    if holds_files && !force {
        return Err(other(format!(
            "`{}` exists and is not empty: choose another --out, or give --force to replace it",
            out.display()
        )));
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| other(format!("`{}` names no directory", out.display())))?;
    std::fs::create_dir_all(&parent)
        .map_err(|error| other(format!("cannot create `{}`: {error}", parent.display())))?;
    let staging = parent.join(format!(".{file_name}.import-{}", std::process::id()));
    let result = (|| {
        for (path, text) in files {
            let target = staging.join(path);
            if let Some(directory) = target.parent() {
                std::fs::create_dir_all(directory).map_err(|error| {
                    other(format!("cannot create `{}`: {error}", directory.display()))
                })?;
            }
            write_atomically(&target, text.as_bytes(), 0o644).map_err(other)?;
        }
        if out.exists() {
            let old = parent.join(format!(".{file_name}.old-{}", std::process::id()));
            std::fs::rename(out, &old).map_err(|error| {
                other(format!("cannot move `{}` aside: {error}", out.display()))
            })?;
            if let Err(error) = std::fs::rename(&staging, out) {
                // Put the old pack back: a failed import leaves `out` as it was.
                let _ = std::fs::rename(&old, out);
                return Err(other(format!(
                    "cannot put the pack in `{}`: {error}",
                    out.display()
                )));
            }
            std::fs::remove_dir_all(&old).map_err(|error| {
                other(format!(
                    "cannot remove the old pack `{}`: {error}",
                    old.display()
                ))
            })?;
        } else {
            std::fs::rename(&staging, out).map_err(|error| {
                other(format!(
                    "cannot put the pack in `{}`: {error}",
                    out.display()
                ))
            })?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}
