//! `threatpack export FORMAT PACK|BUNDLE --out FILE`: loads the knowledge (a pack directory,
//! checked and compiled, or a bundle), exports it (`crate::export`, pure) and writes the file
//! whole or not at all.

use std::path::PathBuf;

use super::{DependencyOptions, Error, Progress, load_bundle, load_pack};
use crate::export::ExportReport;
use crate::workspace::write_atomically;

/// A format `threatpack export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// An OWASP pytm threat library (`threats.json`).
    Pytm,
    /// A Microsoft Threat Modeling Tool template (`.tb7`).
    Tmt,
}

/// What to export, and where to.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// A pack directory or a bundle file.
    pub input: PathBuf,
    /// The file to write (replaced when it exists).
    pub out: PathBuf,
    /// How a pack's registry dependencies are locked and fetched.
    pub dependencies: DependencyOptions,
}

/// A file written by [`export`].
#[derive(Debug, Clone)]
pub struct ExportedFile {
    pub out: PathBuf,
    pub report: ExportReport,
}

/// Exports `options.input` to `options.out`.
pub fn export(options: &ExportOptions, progress: &dyn Progress) -> Result<ExportedFile, Error> {
    let kb = if options.input.is_dir() {
        load_pack(&options.input, None, &options.dependencies, progress)?
    } else {
        load_bundle(&options.input, &[])?
    };
    let exported = match options.format {
        ExportFormat::Pytm => Ok(crate::export::pytm::export(&kb)),
        ExportFormat::Tmt => crate::export::tmt::export(&kb),
    }
    .map_err(|error| {
        Error::Other(format!(
            "cannot export `{}`: {error}",
            options.input.display()
        ))
    })?;
    write_atomically(&options.out, exported.text.as_bytes(), 0o644)?;
    Ok(ExportedFile {
        out: options.out.clone(),
        report: exported.report,
    })
}
