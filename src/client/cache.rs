//! The local cache: bundles and signatures by sha256 (shared by every registry and project),
//! and the last index read of each pack (for `--offline` and `If-None-Match`).

use std::path::{Path, PathBuf};

use crate::workspace::{read_capped, write_atomically};

pub const CACHE_DIR_ENV: &str = "THREATPACK_CACHE_DIR";

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// `THREATPACK_CACHE_DIR`, else `$XDG_CACHE_HOME/threatpack`, else `~/.cache/threatpack`.
    pub fn from_env() -> Result<Cache, String> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let root = if let Some(directory) = non_empty(CACHE_DIR_ENV) {
            PathBuf::from(directory)
        } else if let Some(directory) = non_empty("XDG_CACHE_HOME") {
            PathBuf::from(directory).join("threatpack")
        } else if let Some(home) = non_empty("HOME") {
            PathBuf::from(home).join(".cache/threatpack")
        } else {
            return Err(format!(
                "cannot find a cache directory: set {CACHE_DIR_ENV}, XDG_CACHE_HOME or HOME"
            ));
        };
        Ok(Cache { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the bundle with `checksum` (`sha256:HEX`) is kept.
    pub fn bundle_path(&self, checksum: &str) -> Result<PathBuf, String> {
        let hex = checksum_hex(checksum)?;
        Ok(self.root.join("bundles").join(format!("{hex}.tar.gz")))
    }

    pub fn signature_path(&self, checksum: &str) -> Result<PathBuf, String> {
        let hex = checksum_hex(checksum)?;
        Ok(self
            .root
            .join("bundles")
            .join(format!("{hex}.tar.gz.minisig")))
    }

    /// The bundle digest recorded for a dependency's `build::bundle_key`, if any. An entry
    /// that is not a `sha256:HEX` digest followed by its seal (see [`build_digest_seal`]) for
    /// this key, such as an edited, truncated or moved one, is ignored: the dependency is then
    /// built again and the entry rewritten.
    pub fn build_digest(&self, key: &str) -> Option<String> {
        let path = self.build_digest_path(key).ok()?;
        let bytes = read_capped(&path, 256).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        let (digest, seal) = (lines.next()?, lines.next()?);
        checksum_hex(digest).ok()?;
        (lines.next().is_none() && seal == build_digest_seal(key, digest))
            .then(|| digest.to_string())
    }

    /// Records the bundle digest of a dependency by its `build::bundle_key`, with its seal.
    pub fn store_build_digest(&self, key: &str, digest: &str) -> Result<(), String> {
        checksum_hex(digest)?;
        let path = self.build_digest_path(key)?;
        let seal = build_digest_seal(key, digest);
        write_atomically(&path, format!("{digest}\n{seal}\n").as_bytes(), 0o644)
    }

    fn build_digest_path(&self, key: &str) -> Result<PathBuf, String> {
        let hex = checksum_hex(key)?;
        Ok(self.root.join("build-digests").join(hex))
    }

    fn index_path(&self, registry: &str, name: &str) -> PathBuf {
        let registry = file_name_of(registry);
        // Pack names are checked (`namespace/name`, ASCII letters, digits, `-`, `_`).
        self.root
            .join("index")
            .join(registry)
            .join(format!("{name}.json"))
    }

    /// The cached index of a pack and its `ETag`, if any.
    pub fn read_index(&self, registry: &str, name: &str) -> Option<(Vec<u8>, Option<String>)> {
        let path = self.index_path(registry, name);
        let body = read_capped(&path, 64 * 1024 * 1024).ok()?;
        let etag = std::fs::read_to_string(path.with_extension("etag")).ok();
        Some((body, etag))
    }

    pub fn write_index(
        &self,
        registry: &str,
        name: &str,
        body: &[u8],
        etag: Option<&str>,
    ) -> Result<(), String> {
        let path = self.index_path(registry, name);
        write_atomically(&path, body, 0o644)?;
        let etag_path = path.with_extension("etag");
        match etag {
            Some(etag) => write_atomically(&etag_path, etag.as_bytes(), 0o644),
            None => {
                let _ = std::fs::remove_file(etag_path);
                Ok(())
            }
        }
    }
}

/// The registry key pinned on first use and the index sequences seen, per registry. Like the
/// rest of the cache they are not trusted more than the cache is: a project's
/// `[registry-keys]` and its lockfile take precedence (docs/security.md).
impl Cache {
    fn registry_key_path(&self, registry: &str) -> PathBuf {
        self.root
            .join("registry-keys")
            .join(format!("{}.vkey", file_name_of(registry)))
    }

    /// The registry key pinned for `registry`, if any.
    pub fn read_registry_key(&self, registry: &str) -> Option<String> {
        let bytes = read_capped(&self.registry_key_path(registry), 4096).ok()?;
        Some(String::from_utf8(bytes).ok()?.trim().to_string())
    }

    pub fn write_registry_key(&self, registry: &str, vkey: &str) -> Result<(), String> {
        write_atomically(
            &self.registry_key_path(registry),
            format!("{vkey}\n").as_bytes(),
            0o644,
        )
    }

    /// The highest index sequence of `name` seen from `registry`, if any.
    pub fn read_index_sequence(&self, registry: &str, name: &str) -> Option<u64> {
        let path = self.index_path(registry, name).with_extension("sequence");
        let bytes = read_capped(&path, 64).ok()?;
        String::from_utf8(bytes).ok()?.trim().parse().ok()
    }

    pub fn write_index_sequence(
        &self,
        registry: &str,
        name: &str,
        sequence: u64,
    ) -> Result<(), String> {
        let path = self.index_path(registry, name).with_extension("sequence");
        write_atomically(&path, format!("{sequence}\n").as_bytes(), 0o644)
    }
}

/// A registry URL as a file name: its first 64 characters with every one but ASCII letters and
/// digits as `_` (readable), then 16 hex digits of the URL's sha256, so that two registries never
/// share a pinned key, sequences or indexes (`reg.example.com` and `reg-example.com` would both
/// be `reg_example_com`).
fn file_name_of(registry: &str) -> String {
    let readable: String = registry
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let digest = crate::digest::sha256_hex(registry.as_bytes());
    format!("{readable}-{}", &digest[..16])
}

/// The second line of a build-digest entry: the sha256 of the entry's key and digest. An entry
/// whose digest was edited, or that was copied under another key, does not match it and is not
/// used. It is a checksum, not a signature: whoever can write the cache can compute it, as they
/// can edit the pack sources beside it, so a cache must not be shared with untrusted writers
/// (docs/bundles.md).
pub fn build_digest_seal(key: &str, digest: &str) -> String {
    crate::digest::sha256(format!("threatpack build digest\n{key}\n{digest}\n").as_bytes())
}

/// The hex of `sha256:HEX`, refused unless it is exactly 64 lowercase hex digits (it becomes a
/// file name).
pub fn checksum_hex(checksum: &str) -> Result<&str, String> {
    checksum
        .strip_prefix("sha256:")
        .filter(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        })
        .ok_or_else(|| {
            format!(
                "`{checksum}` is not a checksum: expected `sha256:` and 64 lowercase hex digits"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_whose_urls_differ_only_in_punctuation_get_different_files() {
        let (dot, dash) = (
            file_name_of("https://reg.example.com"),
            file_name_of("https://reg-example.com"),
        );
        assert_ne!(dot, dash);
        assert!(dot.starts_with("https___reg_example_com-"), "{dot}");
        assert_eq!(dot, file_name_of("https://reg.example.com"));
    }

    #[test]
    fn only_well_formed_checksums_become_file_names() {
        let cache = Cache::new(PathBuf::from("/cache"));
        let good = format!("sha256:{}", "0a".repeat(32));
        assert!(cache.bundle_path(&good).is_ok());
        for bad in [
            "sha256:../../etc/passwd".to_string(),
            format!("sha256:{}", "0A".repeat(32)),
            format!("sha512:{}", "0a".repeat(32)),
            "0a".repeat(32),
        ] {
            assert!(cache.bundle_path(&bad).is_err(), "{bad}");
        }
    }
}
