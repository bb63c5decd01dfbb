//! Writing a bundle, deterministically: entries sorted by path with `manifest.json` first,
//! ustar headers with fixed mode, owner and time, and a gzip header without time or name.
//! Nothing depends on the clock, the locale, the umask or the order of a directory listing.

use std::io::Write;

use flate2::{Compression, GzBuilder};

use super::{BundleManifest, MANIFEST_PATH, check_entry_path};

/// One file to put in a bundle.
#[derive(Debug, Clone)]
pub struct BundleFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub struct WriteError(pub String);

impl std::fmt::Display for WriteError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for WriteError {}

/// gzip's own default: about 4× on knowledge-base JSON (docs/benchmarks.md).
const COMPRESSION_LEVEL: u32 = 6;

/// "Unknown" operating system in the gzip header (RFC 1952), the same on every machine.
const GZIP_OS_UNKNOWN: u8 = 255;

/// Writes the bundle of `files` (not including the manifest) into bytes, filling in the
/// manifest's `files` digests.
pub fn write_bundle(
    mut manifest: BundleManifest,
    mut files: Vec<BundleFile>,
) -> Result<(BundleManifest, Vec<u8>), WriteError> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in files.windows(2) {
        if pair[0].path == pair[1].path {
            return Err(WriteError(format!(
                "two files would be `{}` in the bundle",
                pair[0].path
            )));
        }
    }
    manifest.files = files
        .iter()
        .map(|file| (file.path.clone(), crate::digest::sha256(&file.bytes)))
        .collect();
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|error| WriteError(format!("cannot serialize the manifest: {error}")))?;
    manifest_bytes.push(b'\n');

    let estimate: usize = files.iter().map(|file| file.bytes.len()).sum::<usize>() / 4;
    let encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(
            Vec::with_capacity(estimate),
            Compression::new(COMPRESSION_LEVEL),
        );
    let mut archive = tar::Builder::new(encoder);
    append(&mut archive, MANIFEST_PATH, &manifest_bytes)?;
    for file in &files {
        append(&mut archive, &file.path, &file.bytes)?;
    }
    let encoder = archive
        .into_inner()
        .map_err(|error| WriteError(format!("cannot finish the archive: {error}")))?;
    let bytes = encoder
        .finish()
        .map_err(|error| WriteError(format!("cannot finish compression: {error}")))?;
    Ok((manifest, bytes))
}

fn append(
    archive: &mut tar::Builder<impl Write>,
    path: &str,
    bytes: &[u8],
) -> Result<(), WriteError> {
    check_entry_path(path).map_err(|problem| {
        WriteError(format!(
            "`{path}` cannot go in a bundle: {problem}; rename the file"
        ))
    })?;
    let mut header = tar::Header::new_ustar();
    header
        .set_path(path)
        .map_err(|error| WriteError(format!("`{path}` cannot go in a bundle: {error}")))?;
    header.set_size(bytes.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    archive
        .append(&header, bytes)
        .map_err(|error| WriteError(format!("cannot add `{path}` to the bundle: {error}")))
}
