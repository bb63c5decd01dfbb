//! Pack sources held in memory: the files of one pack directory, with their text.
//!
//! Everything after loading works on these, so checks run without touching the disk.

use crate::diagnostic::Diagnostic;

/// The largest pack file `check` reads: far above any hand-written file, low enough that a
/// stray dump cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// One file of a pack.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user (relative to where the command ran, `/`-separated).
    pub display_path: String,
    /// The path inside the pack, `/`-separated, e.g. `entities/web.toml`.
    pub pack_path: String,
    pub text: String,
}

/// The files of one pack directory, plus the problems met while reading them.
#[derive(Debug, Clone, Default)]
pub struct PackSources {
    /// The pack directory as shown to the user.
    pub display_root: String,
    /// Files sorted by `pack_path`, so that every later step sees the same order on every machine.
    pub files: Vec<SourceFile>,
    /// Files that could not be read as text (not UTF-8, too large).
    pub problems: Vec<Diagnostic>,
    /// Files at the pack's root that are not pack content but travel with it, sorted by path:
    /// licence and notice files, and `upstream.lock`.
    pub attached: Vec<AttachedFile>,
}

/// A non-TOML file of a pack (see `PackSources::attached`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    /// The file name at the pack's root.
    pub pack_path: String,
    pub bytes: Vec<u8>,
}

/// The file at a pack's root that records the upstream items its overrides were written
/// against (written by `threatpack overrides refresh`).
pub const UPSTREAM_LOCK: &str = "upstream.lock";

/// Whether a file at a pack's root is a licence or notice file, which bundles carry along.
pub fn is_attribution_file(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "NOTICE", "COPYING", "AUTHORS"]
        .iter()
        .any(|prefix| upper.starts_with(prefix))
}

impl PackSources {
    /// The licence and notice files.
    pub fn attribution(&self) -> impl Iterator<Item = &AttachedFile> {
        self.attached
            .iter()
            .filter(|file| is_attribution_file(&file.pack_path))
    }

    pub fn attached(&self, name: &str) -> Option<&AttachedFile> {
        self.attached.iter().find(|file| file.pack_path == name)
    }
}

impl PackSources {
    /// Builds sources from `(pack_path, text)` pairs, e.g. in tests or from a registry upload.
    pub fn from_memory(display_root: &str, files: Vec<(String, String)>) -> PackSources {
        let mut files: Vec<SourceFile> = files
            .into_iter()
            .map(|(pack_path, text)| SourceFile {
                display_path: join_display(display_root, &pack_path),
                pack_path,
                text,
            })
            .collect();
        files.sort_by(|a, b| a.pack_path.cmp(&b.pack_path));
        PackSources {
            display_root: display_root.to_string(),
            files,
            problems: Vec::new(),
            attached: Vec::new(),
        }
    }

    pub fn file(&self, pack_path: &str) -> Option<&SourceFile> {
        self.files.iter().find(|file| file.pack_path == pack_path)
    }
}

/// A serde TOML error as `` `FILE` line N: MESSAGE `` (the line when the error has a span).
pub fn toml_error(display: &str, text: &str, error: &toml::de::Error) -> String {
    let at = error
        .span()
        .map(|span| format!(" line {}", line_column(text, span.start).line))
        .unwrap_or_default();
    format!("`{display}`{at}: {}", error.message().trim())
}

/// `root` + `/` + `path`, without a leading `./`.
pub fn join_display(root: &str, path: &str) -> String {
    if root.is_empty() || root == "." {
        path.to_string()
    } else {
        format!("{}/{}", root.trim_end_matches('/'), path)
    }
}

/// A 1-based line and column (in characters) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

/// Converts a byte offset into a line and column. Offsets past the end clamp to the end.
pub fn line_column(text: &str, offset: usize) -> LineColumn {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = text[line_start..offset].chars().count() + 1;
    LineColumn { line, column }
}

/// The start offset of every line of a text, for many offset-to-line lookups in one file.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(offset, _)| offset + 1));
        LineIndex { starts }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_not_bytes() {
        let text = "a = 1\nb = \"é\" x\n";
        assert_eq!(line_column(text, 0), LineColumn { line: 1, column: 1 });
        assert_eq!(line_column(text, 6), LineColumn { line: 2, column: 1 });
        let x = text.find('x').expect("x is in the text");
        assert_eq!(line_column(text, x), LineColumn { line: 2, column: 9 });
        assert_eq!(line_column(text, 10_000), LineColumn { line: 3, column: 1 });
    }

    #[test]
    fn line_index_agrees_with_line_column() {
        let text = "a\n\nbb\nc";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() {
            assert_eq!(
                index.line(offset),
                line_column(text, offset).line,
                "offset {offset}"
            );
        }
    }
}
