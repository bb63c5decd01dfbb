//! A content-addressed blob directory: `sha256/HEX` files, written atomically (temporary file,
//! fsync, rename, fsync of the directory) so a crash leaves a whole blob or none.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ct_codecs::{Encoder, Hex};

pub struct BlobDir {
    blobs: PathBuf,
    temporary: PathBuf,
}

/// A sha256 in lower-case hex: the only names a blob may have, so no path can be injected.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

impl BlobDir {
    pub fn open(root: &Path) -> Result<BlobDir, String> {
        let blobs = root.join("sha256");
        let temporary = root.join("tmp");
        for directory in [&blobs, &temporary] {
            fs::create_dir_all(directory)
                .map_err(|error| format!("cannot create `{}`: {error}", directory.display()))?;
        }
        Ok(BlobDir { blobs, temporary })
    }

    fn path(&self, sha256: &str) -> Result<PathBuf, String> {
        if !is_sha256_hex(sha256) {
            return Err(format!("`{sha256}` is not a sha256 in lower-case hex"));
        }
        Ok(self.blobs.join(sha256))
    }

    pub fn write(&self, sha256: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self.path(sha256)?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|error| format!("no random source: {error}"))?;
        let suffix = Hex::encode_to_string(suffix).map_err(|error| error.to_string())?;
        let temporary = self.temporary.join(format!("{sha256}.{suffix}"));
        let failed =
            |error: std::io::Error| format!("cannot write `{}`: {error}", temporary.display());
        let result = (|| {
            let mut file = fs::File::create(&temporary).map_err(failed)?;
            file.write_all(bytes).map_err(failed)?;
            file.sync_all().map_err(failed)?;
            fs::rename(&temporary, &path)
                .map_err(|error| format!("cannot rename to `{}`: {error}", path.display()))?;
            // The rename itself must reach the disk before the metadata names the blob.
            fs::File::open(&self.blobs)
                .and_then(|directory| directory.sync_all())
                .map_err(|error| format!("cannot sync `{}`: {error}", self.blobs.display()))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result
    }

    pub fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, String> {
        let path = self.path(sha256)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("cannot read `{}`: {error}", path.display())),
        }
    }

    /// A file can be made where blobs are written (an anonymous one, gone when closed).
    pub fn check_writable(&self) -> Result<(), String> {
        tempfile::tempfile_in(&self.temporary)
            .map(drop)
            .map_err(|error| error.to_string())
    }

    pub fn exists(&self, sha256: &str) -> bool {
        self.path(sha256).is_ok_and(|path| path.is_file())
    }

    /// Removes temporary files and every blob no version names: what a crash between writing
    /// a blob and committing its metadata leaves behind. Run before serving.
    pub fn collect_orphans(&self, referenced: &HashSet<String>) -> Result<usize, String> {
        let mut removed = 0;
        for (directory, keep_referenced) in [(&self.temporary, false), (&self.blobs, true)] {
            let entries = fs::read_dir(directory)
                .map_err(|error| format!("cannot list `{}`: {error}", directory.display()))?;
            for entry in entries {
                let entry = entry
                    .map_err(|error| format!("cannot list `{}`: {error}", directory.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep_referenced && referenced.contains(&name) {
                    continue;
                }
                let path = entry.path();
                fs::remove_file(&path)
                    .map_err(|error| format!("cannot remove `{}`: {error}", path.display()))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
