//! Reading a bundle that may come from anyone: into memory only, with caps on every size,
//! and each way a tar or gzip stream can lie rejected with its own error.
//!
//! Never `tar::Archive::unpack`: the entries are read raw (no GNU or PAX preprocessing), only
//! regular files with clean relative paths are accepted, and every file must be listed in the
//! manifest with its digest.

use std::collections::BTreeMap;
use std::io::Read;

use super::{BUNDLE_FORMAT, Bundle, BundleManifest, KB_PATH, MANIFEST_PATH, check_entry_path};
use crate::compile::KnowledgeBase;

/// Caps on what reading a bundle may cost.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// The bundle file itself.
    pub max_bundle_bytes: u64,
    /// Everything decompressed, tar headers included.
    pub max_unpacked_bytes: u64,
    /// One entry.
    pub max_entry_bytes: u64,
    pub max_entries: usize,
    /// Decompressed bytes per compressed byte, checked once past `ratio_grace_bytes`.
    pub max_ratio: u64,
    pub ratio_grace_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        // A 10,000-attack-pattern knowledge base is ~60 MB of JSON at ~10×; these leave room
        // while keeping a hostile bundle from taking more than about half a gigabyte.
        ReadLimits {
            max_bundle_bytes: 128 * 1024 * 1024,
            max_unpacked_bytes: 512 * 1024 * 1024,
            max_entry_bytes: 256 * 1024 * 1024,
            max_entries: 100_000,
            max_ratio: 100,
            ratio_grace_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why a bundle was rejected. Each way of lying has its own variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    TooLarge {
        size: u64,
        limit: u64,
    },
    NotGzip(String),
    DecompressionBomb {
        unpacked: u64,
        compressed: u64,
    },
    UnpackedTooLarge {
        limit: u64,
    },
    TrailingData,
    CorruptTar(String),
    TooManyEntries {
        limit: usize,
    },
    UnsafePath {
        path: String,
        problem: String,
    },
    NotARegularFile {
        path: String,
        kind: String,
    },
    HeaderExtension {
        path: String,
        kind: String,
    },
    NotUstar {
        path: String,
    },
    EntryTooLarge {
        path: String,
        size: u64,
        limit: u64,
    },
    DuplicateEntry {
        path: String,
    },
    MissingManifest,
    InvalidManifest(String),
    UnsupportedFormat {
        found: u32,
    },
    UnlistedFile {
        path: String,
    },
    MissingFile {
        path: String,
    },
    DigestMismatch {
        path: String,
        listed: String,
        actual: String,
    },
    InvalidKnowledgeBase(String),
    Inconsistent(String),
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::TooLarge { size, limit } => {
                write!(f, "the bundle is {size} bytes, over the limit of {limit}")
            }
            BundleError::NotGzip(error) => write!(f, "not a gzip stream: {error}"),
            BundleError::DecompressionBomb {
                unpacked,
                compressed,
            } => write!(
                f,
                "decompression bomb: {compressed} compressed bytes expand past {unpacked} bytes (ratio over the limit)"
            ),
            BundleError::UnpackedTooLarge { limit } => {
                write!(f, "the bundle expands to more than {limit} bytes")
            }
            BundleError::TrailingData => write!(
                f,
                "data after the end of the archive (a second gzip member or bytes past the tar end): other readers would see other content"
            ),
            BundleError::CorruptTar(error) => write!(f, "corrupt tar archive: {error}"),
            BundleError::TooManyEntries { limit } => write!(f, "more than {limit} entries"),
            BundleError::UnsafePath { path, problem } => write!(
                f,
                "entry `{}` has an unsafe path: {problem}",
                path.escape_debug()
            ),
            BundleError::NotARegularFile { path, kind } => write!(
                f,
                "entry `{}` is a {kind}, not a regular file",
                path.escape_debug()
            ),
            BundleError::HeaderExtension { path, kind } => write!(
                f,
                "entry `{}` is a {kind}: bundles use plain ustar headers, extensions could rename or resize entries for other readers",
                path.escape_debug()
            ),
            BundleError::NotUstar { path } => write!(
                f,
                "entry `{}` does not have a ustar header",
                path.escape_debug()
            ),
            BundleError::EntryTooLarge { path, size, limit } => write!(
                f,
                "entry `{}` is {size} bytes, over the limit of {limit}",
                path.escape_debug()
            ),
            BundleError::DuplicateEntry { path } => {
                write!(f, "entry `{}` appears twice", path.escape_debug())
            }
            BundleError::MissingManifest => write!(f, "no `manifest.json`"),
            BundleError::InvalidManifest(error) => write!(f, "invalid `manifest.json`: {error}"),
            BundleError::UnsupportedFormat { found } => write!(
                f,
                "bundle format {found} is not supported by this threatpack (it reads format {BUNDLE_FORMAT}); upgrade threatpack"
            ),
            BundleError::UnlistedFile { path } => write!(
                f,
                "entry `{}` is not listed in the manifest",
                path.escape_debug()
            ),
            BundleError::MissingFile { path } => write!(
                f,
                "the manifest lists `{}`, but the bundle does not hold it",
                path.escape_debug()
            ),
            BundleError::DigestMismatch {
                path,
                listed,
                actual,
            } => write!(
                f,
                "`{}` does not match its digest in the manifest (listed {listed}, actual {actual}): the bundle was modified",
                path.escape_debug()
            ),
            BundleError::InvalidKnowledgeBase(error) => write!(f, "invalid `kb.json`: {error}"),
            BundleError::Inconsistent(problem) => write!(f, "inconsistent bundle: {problem}"),
        }
    }
}

impl std::error::Error for BundleError {}

/// Reads and verifies a bundle held in memory.
pub fn read_bundle(bytes: &[u8], limits: &ReadLimits) -> Result<Bundle, BundleError> {
    let size = bytes.len() as u64;
    if size > limits.max_bundle_bytes {
        return Err(BundleError::TooLarge {
            size,
            limit: limits.max_bundle_bytes,
        });
    }
    let data = decompress(bytes, limits)?;
    let files = entries(&data, limits)?;
    let manifest_bytes = files
        .get(MANIFEST_PATH)
        .ok_or(BundleError::MissingManifest)?;
    let manifest = parse_manifest(manifest_bytes)?;
    if manifest.files.contains_key(MANIFEST_PATH) {
        return Err(BundleError::InvalidManifest(
            "it lists `manifest.json` itself in `files`".to_string(),
        ));
    }
    for (path, content) in &files {
        if path == MANIFEST_PATH {
            continue;
        }
        let Some(listed) = manifest.files.get(path) else {
            return Err(BundleError::UnlistedFile { path: path.clone() });
        };
        let actual = crate::digest::sha256(content);
        if *listed != actual {
            return Err(BundleError::DigestMismatch {
                path: path.clone(),
                listed: listed.clone(),
                actual,
            });
        }
    }
    if let Some(path) = manifest
        .files
        .keys()
        .find(|path| !files.contains_key(*path))
    {
        return Err(BundleError::MissingFile { path: path.clone() });
    }
    let kb_bytes = files.get(KB_PATH).ok_or(BundleError::MissingFile {
        path: KB_PATH.to_string(),
    })?;
    let kb: KnowledgeBase = serde_json::from_slice(kb_bytes)
        .map_err(|error| BundleError::InvalidKnowledgeBase(error.to_string()))?;
    if kb.pack != manifest.pack || kb.version != manifest.version || kb.tier != manifest.tier {
        let describe = |pack: &str, version: &str, tier: &Option<String>| {
            format!(
                "`{pack}` {version} (tier {})",
                tier.as_deref().unwrap_or("all")
            )
        };
        return Err(BundleError::Inconsistent(format!(
            "the manifest is {} but `kb.json` is {}",
            describe(&manifest.pack, &manifest.version, &manifest.tier),
            describe(&kb.pack, &kb.version, &kb.tier)
        )));
    }
    Ok(Bundle {
        manifest,
        kb,
        files,
        digest: crate::digest::sha256(bytes),
        size,
    })
}

/// Reads `manifest.json`: its format version first, so that a newer bundle says so.
pub fn parse_manifest(bytes: &[u8]) -> Result<BundleManifest, BundleError> {
    // The format version first, so that a newer bundle says so instead of "unknown field".
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Format {
        bundle_format: u32,
    }
    let format: Format = serde_json::from_slice(bytes)
        .map_err(|error| BundleError::InvalidManifest(error.to_string()))?;
    if format.bundle_format != BUNDLE_FORMAT {
        return Err(BundleError::UnsupportedFormat {
            found: format.bundle_format,
        });
    }
    serde_json::from_slice(bytes).map_err(|error| BundleError::InvalidManifest(error.to_string()))
}

/// Decompresses one gzip member, with the size and ratio caps, refusing trailing bytes.
fn decompress(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<u8>, BundleError> {
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut data = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = decoder
            .read(&mut buffer)
            .map_err(|error| BundleError::NotGzip(error.to_string()))?;
        if read == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..read]);
        let unpacked = data.len() as u64;
        if unpacked > limits.ratio_grace_bytes
            && unpacked > limits.max_ratio.saturating_mul(bytes.len() as u64)
        {
            return Err(BundleError::DecompressionBomb {
                unpacked,
                compressed: bytes.len() as u64,
            });
        }
        if unpacked > limits.max_unpacked_bytes {
            return Err(BundleError::UnpackedTooLarge {
                limit: limits.max_unpacked_bytes,
            });
        }
    }
    if !decoder.into_inner().is_empty() {
        return Err(BundleError::TrailingData);
    }
    Ok(data)
}

/// The files of a tar archive held in memory, each checked.
fn entries(data: &[u8], limits: &ReadLimits) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let corrupt = |error: std::io::Error| BundleError::CorruptTar(error.to_string());
    let mut archive = tar::Archive::new(data);
    let mut files = BTreeMap::new();
    let mut end = 0u64;
    for entry in archive.entries().map_err(corrupt)?.raw(true) {
        let mut entry = entry.map_err(corrupt)?;
        if files.len() >= limits.max_entries {
            return Err(BundleError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let raw_path = entry.path_bytes().into_owned();
        let path = String::from_utf8_lossy(&raw_path).into_owned();
        let kind = entry.header().entry_type();
        let extension = match kind {
            tar::EntryType::XHeader => Some("PAX extended header"),
            tar::EntryType::XGlobalHeader => Some("PAX global header"),
            tar::EntryType::GNULongName => Some("GNU long-name header"),
            tar::EntryType::GNULongLink => Some("GNU long-link header"),
            tar::EntryType::GNUSparse => Some("GNU sparse file"),
            _ => None,
        };
        if let Some(extension) = extension {
            return Err(BundleError::HeaderExtension {
                path,
                kind: extension.to_string(),
            });
        }
        if kind != tar::EntryType::Regular {
            let kind = match kind {
                tar::EntryType::Symlink => "symbolic link",
                tar::EntryType::Link => "hard link",
                tar::EntryType::Char => "character device",
                tar::EntryType::Block => "block device",
                tar::EntryType::Fifo => "named pipe",
                tar::EntryType::Directory => "directory",
                _ => "special entry",
            };
            return Err(BundleError::NotARegularFile {
                path,
                kind: kind.to_string(),
            });
        }
        if entry.header().as_ustar().is_none() {
            return Err(BundleError::NotUstar { path });
        }
        if std::str::from_utf8(&raw_path).is_err() {
            return Err(BundleError::UnsafePath {
                path,
                problem: "bytes that are not UTF-8 text".to_string(),
            });
        }
        if let Err(problem) = check_entry_path(&path) {
            return Err(BundleError::UnsafePath { path, problem });
        }
        let size = entry.header().size().map_err(corrupt)?;
        if size > limits.max_entry_bytes {
            return Err(BundleError::EntryTooLarge {
                path,
                size,
                limit: limits.max_entry_bytes,
            });
        }
        // Reserve no more than the archive still holds: the header's size is a claim.
        let left = data
            .len()
            .saturating_sub(usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX));
        let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(left));
        (&mut entry)
            .take(size)
            .read_to_end(&mut content)
            .map_err(corrupt)?;
        if content.len() as u64 != size {
            return Err(BundleError::CorruptTar(format!(
                "entry `{}` is cut short",
                path.escape_debug()
            )));
        }
        end = entry.raw_file_position() + size.div_ceil(512) * 512;
        if files.insert(path.clone(), content).is_some() {
            return Err(BundleError::DuplicateEntry { path });
        }
    }
    // Past the last entry, only the zero blocks that end an archive may follow.
    let rest = data
        .get(usize::try_from(end).unwrap_or(usize::MAX)..)
        .unwrap_or_default();
    if rest.iter().any(|byte| *byte != 0) {
        return Err(BundleError::TrailingData);
    }
    Ok(files)
}
