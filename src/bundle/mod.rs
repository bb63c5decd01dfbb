//! Bundles: one gzipped tar per build, holding `manifest.json`, the compiled `kb.json`, the
//! built pack's sources and every pack's licence and notice files.
//!
//! `write` makes the same bytes from the same input on any machine; `read` treats a bundle as
//! hostile input and never touches the disk.

pub mod read;
mod write;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use read::{BundleError, ReadLimits, read_bundle};
pub use write::{BundleFile, WriteError, write_bundle};

use crate::compile::KnowledgeBase;

/// The version of the bundle layout and of `manifest.json`.
pub const BUNDLE_FORMAT: u32 = 1;

pub const MANIFEST_PATH: &str = "manifest.json";
pub const KB_PATH: &str = "kb.json";
/// The built pack's own files (TOML sources and `upstream.lock`) are under this directory.
pub const SOURCE_DIR: &str = "source";

/// `manifest.json` (schema/manifest.schema.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BundleManifest {
    pub bundle_format: u32,
    pub pack: String,
    pub version: String,
    /// The tier selected at build time; `None` for the whole pack.
    pub tier: Option<String>,
    pub description: String,
    pub license: String,
    pub dependencies: Vec<ResolvedDependency>,
    /// The sha256 of every other file in the bundle, by path.
    #[serde(deserialize_with = "unique_keys")]
    pub files: BTreeMap<String, String>,
    /// The program and version that built the bundle.
    pub builder: String,
}

/// A dependency as it was resolved for the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ResolvedDependency {
    pub name: String,
    /// The exact version compiled in.
    pub version: String,
    /// The requirement that chose it (from the pack that declared it first).
    pub requirement: String,
    /// Where it came from: `path:DIR` as declared, relative to the declaring pack, or
    /// `registry:URL`.
    pub source: String,
    /// The sha256 of the dependency's own whole bundle: as this builder makes it for a `path`
    /// dependency, as published for a registry one.
    pub digest: String,
}

/// A bundle read back: its manifest, knowledge base and every file, verified.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub manifest: BundleManifest,
    pub kb: KnowledgeBase,
    pub files: BTreeMap<String, Vec<u8>>,
    /// `sha256:` of the whole bundle file.
    pub digest: String,
    pub size: u64,
}

/// A JSON object as a map, refusing a key given twice: readers that keep the first value and
/// readers that keep the last would otherwise see different digests.
fn unique_keys<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("an object of paths to digests")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut access: A,
        ) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, String>()? {
                if map.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("`{key}` is listed twice")));
                }
                map.insert(key, value);
            }
            Ok(map)
        }
    }
    deserializer.deserialize_map(Visitor)
}

/// The file name of a bundle: `namespace_name-VERSION-TIER.tar.gz`, `all` for no tier.
/// (`_` cannot occur in pack names, so the parts stay apart.)
pub fn file_name(pack: &str, version: &str, tier: Option<&str>) -> String {
    format!(
        "{}-{version}-{}.tar.gz",
        pack.replace('/', "_"),
        tier.unwrap_or("all")
    )
}

/// Whether `path` may name a file in a bundle: relative, `/`-separated, no `.` or `..`
/// components, and only ASCII letters, digits and `._+-` (no control or look-alike
/// characters, no backslashes), at most 255 bytes (what a ustar header holds).
pub fn check_entry_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("an empty path".to_string());
    }
    if path.len() > 255 {
        return Err(format!("a path of {} bytes (at most 255)", path.len()));
    }
    if path.starts_with('/') {
        return Err("an absolute path".to_string());
    }
    for component in path.split('/') {
        match component {
            "" => return Err("an empty path component (`//` or a trailing `/`)".to_string()),
            "." | ".." => return Err(format!("a `{component}` component")),
            _ => {}
        }
        if let Some(bad) = component
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')))
        {
            return Err(format!("the character {bad:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths() {
        assert!(check_entry_path("kb.json").is_ok());
        assert!(check_entry_path("legal/threatpack/stride-core/NOTICE.md").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "a/\u{202e}b",
            "a b",
        ] {
            assert!(check_entry_path(bad).is_err(), "{bad:?} is accepted");
        }
    }

    #[test]
    fn file_names_tell_pack_version_and_tier() {
        assert_eq!(
            file_name("acme/appsec-policy", "1.0.0", Some("top")),
            "acme_appsec-policy-1.0.0-top.tar.gz"
        );
        assert_eq!(
            file_name("acme/web", "2.0.0-rc.1", None),
            "acme_web-2.0.0-rc.1-all.tar.gz"
        );
    }
}
