//! A content-addressed blob directory: `sha256/HEX` files, written atomically (temporary file,
//! fsync, rename, fsync of the directory) so a crash leaves a whole blob or none. Beside each
//! blob, `signatures/HEX.json` keeps what was published with it (signature, signer's public
//! key), so that the blobs describe themselves and can be re-indexed without the database
//! (`--adopt-blobs`). Nothing here deletes a blob it is unsure of: a damaged blob is moved to
//! `quarantine/`, and only the store's journal says which blobs an interrupted publish left.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ct_codecs::{Encoder, Hex};
use serde::{Deserialize, Serialize};

pub struct BlobDir {
    blobs: PathBuf,
    signatures: PathBuf,
    temporary: PathBuf,
    quarantine: PathBuf,
}

/// What a publish kept beside its blob (`signatures/HEX.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// 1 for this layout.
    pub format: u32,
    /// The detached minisign signature, as published.
    pub signature: String,
    /// The publisher key that verified it, as registered in the namespace then.
    pub public_key: String,
    /// Unix seconds.
    pub published_at: i64,
}

/// A blob read back and checked against its name.
#[derive(Debug, PartialEq, Eq)]
pub enum BlobRead {
    Found(Vec<u8>),
    Missing,
    /// Its bytes did not hash to its name: it was moved to `quarantine/`.
    Damaged,
}

/// The largest sidecar (a signature and a key are a few hundred bytes).
const MAX_SIDECAR_BYTES: u64 = 64 * 1024;

/// A sha256 in lower-case hex: the only names a blob may have, so no path can be injected.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

impl BlobDir {
    pub fn open(root: &Path) -> Result<BlobDir, String> {
        let directory = BlobDir {
            blobs: root.join("sha256"),
            signatures: root.join("signatures"),
            temporary: root.join("tmp"),
            quarantine: root.join("quarantine"),
        };
        for path in [
            &directory.blobs,
            &directory.signatures,
            &directory.temporary,
            &directory.quarantine,
        ] {
            fs::create_dir_all(path)
                .map_err(|error| format!("cannot create `{}`: {error}", path.display()))?;
        }
        Ok(directory)
    }

    fn path(&self, sha256: &str) -> Result<PathBuf, String> {
        if !is_sha256_hex(sha256) {
            return Err(format!("`{sha256}` is not a sha256 in lower-case hex"));
        }
        Ok(self.blobs.join(sha256))
    }

    fn sidecar_path(&self, sha256: &str) -> Result<PathBuf, String> {
        if !is_sha256_hex(sha256) {
            return Err(format!("`{sha256}` is not a sha256 in lower-case hex"));
        }
        Ok(self.signatures.join(format!("{sha256}.json")))
    }

    pub fn write(&self, sha256: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self.path(sha256)?;
        self.write_atomically(&path, bytes)
    }

    pub fn write_sidecar(&self, sha256: &str, sidecar: &Sidecar) -> Result<(), String> {
        let path = self.sidecar_path(sha256)?;
        let text = serde_json::to_vec_pretty(sidecar).map_err(|error| error.to_string())?;
        self.write_atomically(&path, &text)
    }

    /// Writes `path` through a temporary file in `tmp/`, synced before and after the rename.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|error| format!("no random source: {error}"))?;
        let suffix = Hex::encode_to_string(suffix).map_err(|error| error.to_string())?;
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = self.temporary.join(format!("{name}.{suffix}"));
        let failed =
            |error: std::io::Error| format!("cannot write `{}`: {error}", temporary.display());
        let result = (|| {
            let mut file = fs::File::create(&temporary).map_err(failed)?;
            file.write_all(bytes).map_err(failed)?;
            file.sync_all().map_err(failed)?;
            fs::rename(&temporary, path)
                .map_err(|error| format!("cannot rename to `{}`: {error}", path.display()))?;
            // The rename itself must reach the disk before the metadata names the blob.
            let parent = path.parent().unwrap_or(&self.blobs);
            fs::File::open(parent)
                .and_then(|directory| directory.sync_all())
                .map_err(|error| format!("cannot sync `{}`: {error}", parent.display()))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result
    }

    /// The blob's bytes, unchecked.
    pub fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, String> {
        let path = self.path(sha256)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("cannot read `{}`: {error}", path.display())),
        }
    }

    /// The blob's bytes if they hash to its name; a blob that does not is moved to
    /// `quarantine/` (never served, never deleted) so that a republish can put it back.
    pub fn read_verified(&self, sha256: &str) -> Result<BlobRead, String> {
        let Some(bytes) = self.read(sha256)? else {
            return Ok(BlobRead::Missing);
        };
        if threatpack::digest::sha256_hex(&bytes) == sha256 {
            return Ok(BlobRead::Found(bytes));
        }
        self.quarantine(sha256)?;
        Ok(BlobRead::Damaged)
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

    pub fn has_sidecar(&self, sha256: &str) -> bool {
        self.sidecar_path(sha256).is_ok_and(|path| path.is_file())
    }

    pub fn sidecar(&self, sha256: &str) -> Result<Option<Sidecar>, String> {
        let path = self.sidecar_path(sha256)?;
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = threatpack::workspace::read_capped(&path, MAX_SIDECAR_BYTES)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| format!("`{}` cannot be read: {error}", path.display()))
    }

    /// The names of the blobs present (sha256 hex; other files are not blobs and are left).
    pub fn list(&self) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        let entries = fs::read_dir(&self.blobs)
            .map_err(|error| format!("cannot list `{}`: {error}", self.blobs.display()))?;
        for entry in entries {
            let entry = entry
                .map_err(|error| format!("cannot list `{}`: {error}", self.blobs.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_sha256_hex(&name) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes a blob and its sidecar: only for a blob the journal shows an interrupted
    /// publish wrote and no version names.
    pub fn remove(&self, sha256: &str) -> Result<(), String> {
        for path in [self.path(sha256)?, self.sidecar_path(sha256)?] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(format!("cannot remove `{}`: {error}", path.display()));
                }
            }
        }
        Ok(())
    }

    /// Moves a blob to `quarantine/HEX.UNIXTIME`, out of the way of a repair.
    pub fn quarantine(&self, sha256: &str) -> Result<(), String> {
        let path = self.path(sha256)?;
        let target = self
            .quarantine
            .join(format!("{sha256}.{}", threatpack::time::now()));
        match fs::rename(&path, &target) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(format!(
                "cannot move `{}` to `{}`: {error}",
                path.display(),
                target.display()
            )),
        }
    }

    /// Removes the temporary files a crash can leave mid-write; returns how many.
    pub fn clear_temporary(&self) -> Result<usize, String> {
        let mut removed = 0;
        let entries = fs::read_dir(&self.temporary)
            .map_err(|error| format!("cannot list `{}`: {error}", self.temporary.display()))?;
        for entry in entries {
            let entry = entry
                .map_err(|error| format!("cannot list `{}`: {error}", self.temporary.display()))?;
            let path = entry.path();
            fs::remove_file(&path)
                .map_err(|error| format!("cannot remove `{}`: {error}", path.display()))?;
            removed += 1;
        }
        Ok(removed)
    }
}
