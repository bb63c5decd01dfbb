//! Registry packs as a `PackSource`: each dependency without a `path` (and every dependency of
//! a pack that itself came from a registry) is the locked version, loaded from its fetched
//! bundle's `source/` files. `path` dependencies of packs on disk still come from the disk.

use std::collections::BTreeMap;

use super::fetch::{Fetched, read_fetched};
use crate::bundle::SOURCE_DIR;
use crate::compile::attribution_path;
use crate::resolve::{Candidate, PackLocation, PackSource, Request};
use crate::source::{AttachedFile, PackSources, UPSTREAM_LOCK};
use crate::workspace::PathSource;

#[derive(Debug, Default)]
pub struct LockedSource {
    fetched: BTreeMap<String, Fetched>,
    disk: PathSource,
}

impl LockedSource {
    pub fn new(fetched: Vec<Fetched>) -> LockedSource {
        LockedSource {
            fetched: fetched
                .into_iter()
                .map(|fetched| (fetched.pack.name.clone(), fetched))
                .collect(),
            disk: PathSource,
        }
    }
}

impl PackSource for LockedSource {
    fn candidates(&mut self, request: &Request<'_>) -> Result<Vec<Candidate>, String> {
        let on_disk = matches!(request.declared_at, PackLocation::Directory { .. });
        if on_disk && request.spec.path().is_some() {
            return self.disk.candidates(request);
        }
        let Some(fetched) = self.fetched.get(request.name) else {
            return Err(format!(
                "`{}` is not in threatpack.lock: run `threatpack lock`",
                request.name
            ));
        };
        let pack = &fetched.pack;
        Ok(vec![Candidate {
            version: semver::Version::parse(&pack.version).ok(),
            location: PackLocation::Registry {
                name: pack.name.clone(),
                version: pack.version.clone(),
                registry: pack.registry.clone(),
                checksum: pack.checksum.clone(),
                display: format!("{}@{} ({})", pack.name, pack.version, pack.registry),
            },
        }])
    }

    fn load(&mut self, candidate: &Candidate) -> Result<PackSources, String> {
        let PackLocation::Registry { name, display, .. } = &candidate.location else {
            return self.disk.load(candidate);
        };
        let fetched = self
            .fetched
            .get(name)
            .ok_or_else(|| format!("`{name}` was not fetched"))?;
        let bundle = read_fetched(fetched)?;
        let source_prefix = format!("{SOURCE_DIR}/");
        let legal_prefix = attribution_path(name, "");
        let mut files = Vec::new();
        let mut attached = Vec::new();
        for (path, bytes) in bundle.files {
            if let Some(pack_path) = path.strip_prefix(&source_prefix) {
                if pack_path == UPSTREAM_LOCK {
                    attached.push(AttachedFile {
                        pack_path: pack_path.to_string(),
                        bytes,
                    });
                } else {
                    let text = String::from_utf8(bytes)
                        .map_err(|_| format!("`{path}` in {display} is not UTF-8"))?;
                    files.push((pack_path.to_string(), text));
                }
            } else if let Some(file) = path.strip_prefix(&legal_prefix) {
                attached.push(AttachedFile {
                    pack_path: file.to_string(),
                    bytes,
                });
            }
        }
        if files.is_empty() {
            return Err(format!(
                "{display} holds no sources (`{SOURCE_DIR}/`): it cannot be built upon"
            ));
        }
        let mut sources = PackSources::from_memory(display, files);
        attached.sort_by(|a, b| a.pack_path.cmp(&b.pack_path));
        sources.attached = attached;
        Ok(sources)
    }
}
