//! `threatpack.toml`: a consuming project — a team's threat model and the packs it uses.
//! Schema: schema/project.schema.json. Only `[dependencies]` is needed: without `[project]`,
//! the name is the directory's and the model is `model.toml` beside the manifest.
//!
//! ```toml
//! [project]                             # optional
//! name = "online-shop"                  # default: the directory's name
//! model = "model.toml"                  # what `threatpack apply` reads (default: model.toml)
//! registry = "http://127.0.0.1:8080"    # where dependencies come from
//!
//! [dependencies]                        # the same syntax as a pack's
//! "acme/appsec-policy" = "^1.0"
//!
//! [trust]                               # publisher keys, per namespace
//! acme = ["keys/acme.pub"]              # a .pub file (relative to this file) or the base64 key
//!
//! [registry-keys]                       # the key each registry signs its indexes with
//! "https://registry.example.com" = "registry.example.com+1a2b3c4d+AX..."
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::DependencySpec;
use crate::signing::parse_public_keys;

/// The manifest of a project.
pub const PROJECT_FILE: &str = "threatpack.toml";

/// `threatpack.toml` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProjectManifest {
    /// `[project]`, optional: every key in it has a default.
    #[serde(default)]
    pub project: ProjectSection,
    /// The registry packs the project uses: name → version requirement.
    #[serde(default)]
    pub dependencies: BTreeMap<String, DependencySpec>,
    /// Namespace → public keys (file paths relative to the manifest, or base64 keys).
    #[serde(default)]
    pub trust: BTreeMap<String, Vec<String>>,
    /// Registry URL → the key it signs its index envelopes with (`<origin>+<key id>+<base64>`,
    /// as `threatpack-registry key show` prints it). A registry listed here is checked against
    /// this key from the start; one not listed is trusted on first use.
    #[serde(default)]
    pub registry_keys: BTreeMap<String, String>,
}

/// The model file a project uses when `[project]` names none.
pub const DEFAULT_MODEL: &str = "model.toml";

/// `[project]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProjectSection {
    /// Default: the name of the directory holding `threatpack.toml` (see [`Project::name`]).
    #[serde(default)]
    pub name: Option<String>,
    /// What the project is, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The system model, relative to the manifest (default: `model.toml` if it exists; see
    /// [`Project::model`]).
    #[serde(default)]
    pub model: Option<String>,
    /// The registry dependencies come from.
    #[serde(default)]
    pub registry: Option<String>,
}

/// A publisher key a project trusts for a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredKey {
    /// The namespace whose packs it may sign.
    pub namespace: String,
    /// The key id (16 hex digits).
    pub id: String,
    /// The base64 key line.
    pub public_key: String,
}

/// A project read from disk.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `threatpack.toml`.
    pub root: PathBuf,
    /// The manifest as written.
    pub manifest: ProjectManifest,
    /// The keys `[trust]` lists, read.
    pub trusted: Vec<ConfiguredKey>,
    /// `[registry-keys]`, checked, by normalized registry URL.
    pub registry_keys: BTreeMap<String, String>,
    /// `name` under `[project]`, else the directory's name.
    pub name: String,
    /// The system model: `model` under `[project]`, else `model.toml` when it exists.
    pub model: Option<PathBuf>,
}

impl Project {
    /// Reads `DIR/threatpack.toml`; errors name the file and line and say what to do.
    pub fn read(root: &Path) -> Result<Project, String> {
        let path = root.join(PROJECT_FILE);
        let display = path.display().to_string();
        let bytes = crate::workspace::read_capped(&path, 1024 * 1024)?;
        let text = String::from_utf8(bytes).map_err(|_| format!("`{display}` is not UTF-8"))?;
        let manifest: ProjectManifest = toml::from_str(&text).map_err(|error| {
            format!(
                "{} (see `threatpack schema project`)",
                crate::source::toml_error(&display, &text, &error)
            )
        })?;
        for (name, spec) in &manifest.dependencies {
            crate::names::check_pack_name(name)
                .map_err(|error| format!("`{display}`: dependency `{name}`: {error}"))?;
            if spec.path().is_some() {
                return Err(format!(
                    "`{display}`: dependency `{name}` has a `path`; a project takes its packs from a registry (build a local pack with `threatpack build` and use `apply --bundle`)"
                ));
            }
            semver::VersionReq::parse(spec.requirement()).map_err(|error| {
                format!(
                    "`{display}`: dependency `{name}` = \"{}\" is not a version requirement: {error}",
                    spec.requirement()
                )
            })?;
        }
        let mut trusted = Vec::new();
        for (namespace, entries) in &manifest.trust {
            for entry in entries {
                let text = if entry.ends_with(".pub") || entry.contains('/') {
                    let key_path = root.join(entry);
                    std::fs::read_to_string(&key_path).map_err(|error| {
                        format!(
                            "`{display}`: [trust] `{namespace}`: cannot read `{}`: {error}",
                            key_path.display()
                        )
                    })?
                } else {
                    entry.clone()
                };
                let keys = parse_public_keys(&text).map_err(|error| {
                    format!("`{display}`: [trust] `{namespace}`: `{entry}`: {error}")
                })?;
                for key in keys {
                    trusted.push(ConfiguredKey {
                        namespace: namespace.clone(),
                        id: key.key_id.clone(),
                        public_key: base64_line(&text, &key.key_id).unwrap_or_default(),
                    });
                }
            }
        }
        let mut registry_keys = BTreeMap::new();
        for (url, key) in &manifest.registry_keys {
            let normalized = crate::wire::normalize_registry(url)
                .map_err(|error| format!("`{display}`: [registry-keys] `{url}`: {error}"))?;
            crate::transparency::key::check_vkey(key).map_err(|error| {
                format!(
                    "`{display}`: [registry-keys] `{url}`: {error}\n  help: copy the key `threatpack-registry key show` prints, or the `key` of `GET /api/v1/registry/key`"
                )
            })?;
            registry_keys.insert(normalized, key.clone());
        }
        let name = match &manifest.project.name {
            Some(name) => name.clone(),
            None => directory_name(root),
        };
        let model = match &manifest.project.model {
            Some(model) => Some(root.join(model)),
            None => Some(root.join(DEFAULT_MODEL)).filter(|path| path.is_file()),
        };
        Ok(Project {
            root: root.to_path_buf(),
            manifest,
            trusted,
            registry_keys,
            name,
            model,
        })
    }
}

/// The name of a directory as the user knows it (`.` resolved), for a project without a name.
fn directory_name(root: &Path) -> String {
    std::fs::canonicalize(root)
        .ok()
        .as_deref()
        .unwrap_or(root)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "project".to_string())
}

/// The base64 line of the key with `key_id` in a public key text.
fn base64_line(text: &str, key_id: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty() && !line.starts_with('#') && !line.starts_with("untrusted comment:")
        })
        .find(|line| {
            parse_public_keys(line)
                .ok()
                .is_some_and(|keys| keys.iter().any(|key| key.key_id == key_id))
        })
        .map(str::to_string)
}
