//! `threatpack.lock`: the exact registry packs a pack or project uses — version, registry,
//! bundle sha256, signer and tier — and the publisher keys trusted for them. Written by
//! `threatpack lock`/`update`, read by everything that fetches. Schema: schema/lockfile.schema.json.

use serde::{Deserialize, Serialize};

pub const LOCKFILE: &str = "threatpack.lock";
/// The version of the lockfile format this threatpack reads and writes.
pub const LOCK_FORMAT: u32 = 1;

const HEADER: &str = "# threatpack.lock: written by `threatpack lock` and `threatpack update`; do not edit by hand.\n\
# Commit it: it pins every registry pack to the exact bytes (sha256) and the keys that signed them.\n\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Lockfile {
    pub version: u32,
    #[serde(default, rename = "pack", skip_serializing_if = "Vec::is_empty")]
    pub packs: Vec<LockedPack>,
    #[serde(default, rename = "key", skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<LockedKey>,
    /// The registries the packs come from: the key each signs its index with, and the highest
    /// index sequence seen per pack (docs/security.md). Absent from lockfiles written before.
    #[serde(default, rename = "registry", skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<LockedRegistry>,
}

/// A registry's pinned key and the index sequences seen from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedRegistry {
    /// Its URL, as `[[pack]]` `registry` names it.
    pub url: String,
    /// The note verifier key its index envelopes must be signed with:
    /// `<origin>+<key id>+<base64>`.
    pub key: String,
    /// `first-use` (recorded from the registry when first used), `configured` (from the
    /// project's `[registry-keys]`) or `rotated` (followed from an earlier key by a rotation
    /// statement it signed).
    pub trusted: String,
    /// Pack → the highest index sequence seen when the lockfile was written; an index with a
    /// lower one is refused (rollback).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub index_sequences: std::collections::BTreeMap<String, u64>,
}

/// One registry pack at its exact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedPack {
    pub name: String,
    pub version: String,
    /// The registry it comes from (its URL).
    pub registry: String,
    /// `sha256:HEX` of the bundle.
    pub checksum: String,
    /// The id of the publisher key that signed the bundle.
    pub signer: String,
    /// The tier the bundle was built for; absent for the whole pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The packs it depends on, as `name version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// The index of its publish entry in the registry's transparency log (`client::log`);
    /// absent in lockfiles written before registries kept one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

/// A publisher key trusted for a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedKey {
    pub namespace: String,
    /// The minisign key id (16 hex digits).
    pub id: String,
    /// The minisign public key (base64).
    pub public_key: String,
    /// `first-use` (recorded from the registry when first locked) or `configured` (from the
    /// project's `[trust]`).
    pub trusted: String,
}

impl Lockfile {
    pub fn new() -> Lockfile {
        Lockfile {
            version: LOCK_FORMAT,
            packs: Vec::new(),
            keys: Vec::new(),
            registries: Vec::new(),
        }
    }

    /// Parses a lockfile; `display` names it in errors.
    pub fn parse(display: &str, text: &str) -> Result<Lockfile, String> {
        let lock: Lockfile = toml::from_str(text).map_err(|error| {
            format!(
                "{}; delete it and run `threatpack lock` to write it again",
                crate::source::toml_error(display, text, &error)
            )
        })?;
        if lock.version != LOCK_FORMAT {
            return Err(format!(
                "`{display}` is lockfile format {}, but this threatpack reads format {LOCK_FORMAT}: upgrade threatpack, or delete the file and run `threatpack lock`",
                lock.version
            ));
        }
        Ok(lock)
    }

    /// The text written to disk: packs sorted by name, keys by namespace and id.
    pub fn render(&self) -> String {
        let mut sorted = self.clone();
        sorted.packs.sort_by(|a, b| a.name.cmp(&b.name));
        sorted
            .keys
            .sort_by(|a, b| (&a.namespace, &a.id).cmp(&(&b.namespace, &b.id)));
        sorted.keys.dedup();
        sorted.registries.sort_by(|a, b| a.url.cmp(&b.url));
        // Plain structs of strings always serialize.
        let body = toml::to_string(&sorted).unwrap_or_default();
        format!("{HEADER}{body}")
    }

    pub fn pack(&self, name: &str) -> Option<&LockedPack> {
        self.packs.iter().find(|pack| pack.name == name)
    }

    /// What the lockfile records of `url`.
    pub fn registry(&self, url: &str) -> Option<&LockedRegistry> {
        self.registries.iter().find(|registry| registry.url == url)
    }

    /// The lockfile without its index sequences: two lockfiles that differ only in those pin
    /// the same things, and the newer sequences are not worth a rewrite (the cache keeps them).
    pub fn without_index_sequences(&self) -> Lockfile {
        let mut lockfile = self.clone();
        for registry in &mut lockfile.registries {
            registry.index_sequences.clear();
        }
        lockfile
    }

    /// The keys recorded for a namespace.
    pub fn keys_of<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a LockedKey> {
        self.keys
            .iter()
            .filter(move |key| key.namespace == namespace)
    }
}

impl Default for Lockfile {
    fn default() -> Lockfile {
        Lockfile::new()
    }
}

/// The namespace of `namespace/name`.
pub fn namespace_of(pack: &str) -> &str {
    pack.split_once('/')
        .map_or(pack, |(namespace, _)| namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lockfile {
        Lockfile {
            version: LOCK_FORMAT,
            packs: vec![
                LockedPack {
                    name: "threatpack/stride-core".into(),
                    version: "1.0.0".into(),
                    registry: "http://127.0.0.1:8080".into(),
                    checksum: format!("sha256:{}", "b".repeat(64)),
                    signer: "0123456789ABCDEF".into(),
                    tier: None,
                    dependencies: vec![],
                    log_index: Some(0),
                },
                LockedPack {
                    name: "acme/appsec-policy".into(),
                    version: "1.2.0".into(),
                    registry: "http://127.0.0.1:8080".into(),
                    checksum: format!("sha256:{}", "a".repeat(64)),
                    signer: "0123456789ABCDEF".into(),
                    tier: Some("top".into()),
                    dependencies: vec!["threatpack/stride-core 1.0.0".into()],
                    log_index: None,
                },
            ],
            keys: vec![LockedKey {
                namespace: "acme".into(),
                id: "0123456789ABCDEF".into(),
                public_key: "RWQ".into(),
                trusted: "first-use".into(),
            }],
            registries: vec![LockedRegistry {
                url: "http://127.0.0.1:8080".into(),
                key: "registry.example.com+1a2b3c4d+AQ==".into(),
                trusted: "first-use".into(),
                index_sequences: [("acme/appsec-policy".to_string(), 7)].into(),
            }],
        }
    }

    #[test]
    fn a_lockfile_round_trips_sorted_and_the_same_lock_renders_the_same_text() {
        let lock = sample();
        let text = lock.render();
        assert!(text.find("acme/appsec-policy") < text.find("threatpack/stride-core"));
        let parsed = Lockfile::parse("threatpack.lock", &text).expect("parses");
        assert_eq!(parsed.render(), text);
        assert_eq!(
            parsed.pack("acme/appsec-policy"),
            lock.pack("acme/appsec-policy")
        );
        assert!(
            text.ends_with("[[registry]]\nurl = \"http://127.0.0.1:8080\"\nkey = \"registry.example.com+1a2b3c4d+AQ==\"\ntrusted = \"first-use\"\n\n[registry.index-sequences]\n\"acme/appsec-policy\" = 7\n"),
            "{text}"
        );
        assert_eq!(parsed.registries, lock.registries);
        // A lockfile written before registries were recorded still reads.
        let mut old = lock.clone();
        old.registries.clear();
        assert_eq!(
            Lockfile::parse("threatpack.lock", &old.render())
                .expect("parses")
                .registries,
            vec![]
        );
        assert_eq!(
            lock.without_index_sequences().registries[0].index_sequences,
            Default::default()
        );
    }

    #[test]
    fn a_broken_lockfile_names_the_file_the_line_and_what_to_do() {
        let text = "version = 1\n\n[[pack]]\nname = \"a/b\"\nversion = 3\n";
        let error = Lockfile::parse("threatpack.lock", text).expect_err("invalid");
        assert!(error.contains("`threatpack.lock` line 5"), "{error}");
        assert!(error.contains("threatpack lock"), "{error}");
        let future = Lockfile::parse("x.lock", "version = 9\n").expect_err("future");
        assert!(future.contains("format 9"), "{future}");
    }
}
