//! `unknown-file`: a `.toml` file that is not `pack.toml` and not under a content directory
//! (`entities/`, `attack-patterns/`, `mitigations/`, `overrides/`, `tests/`).
//!
//! Why: such a file is never read, so its items silently do not exist, often because of a
//! misspelled directory (`entity/` for `entities/`). Files that are not TOML (README.md,
//! NOTICE) are ignored without a warning.

use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::schema::{FileKind, suggest};

pub(crate) fn lint(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let directories: Vec<&str> = FileKind::ALL
        .iter()
        .filter_map(|kind| kind.directory())
        .collect();
    for file in &index.root().sources.files {
        if FileKind::of_pack_path(&file.pack_path).is_some() {
            continue;
        }
        let top = file.pack_path.split('/').next().unwrap_or(&file.pack_path);
        let help = match suggest(top, directories.iter().copied()) {
            Some(directory) if top != file.pack_path => {
                format!("did you mean the directory `{directory}/`?")
            }
            _ => format!(
                "pack content lives in `pack.toml` and under {}",
                directories
                    .iter()
                    .map(|directory| format!("`{directory}/`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        diagnostics.push(
            Diagnostic::new(
                Code::UnknownFile,
                format!("`{}` is not a pack file and is ignored", file.pack_path),
            )
            .at(&file.display_path, 0..0, "never read")
            .help(help),
        );
    }
}
