//! The registry key as the client pins it, and the check of every index answer's signed
//! envelope (`transparency::envelope::check_index`) against what the client saw before.
//!
//! A registry's key is pinned from, in this order: the project's `[registry-keys]`, the
//! lockfile's `[[registry]]`, the cache (an earlier first use), else the registry's own
//! `GET /api/v1/registry/key` on first use (then recorded in the cache and the lockfile). When
//! an answer is signed by another key, the client reads the registry's key and its rotations
//! and moves the pin only along statements each signed by the pinned key and the key it
//! introduces. The highest sequence seen per pack comes from the lockfile, the cache and this
//! run; an index below it is a rollback.

use std::collections::{BTreeMap, BTreeSet};

use super::cache::Cache;
use super::http::{Client, Request};
use crate::lockfile::{LockedRegistry, Lockfile};
use crate::time::format_rfc3339;
use crate::transparency::envelope::{IndexExpectation, IndexRefusal, check_index};
use crate::transparency::key::{check_vkey, follow_rotations, vkey_id, vkey_origin};
use crate::wire::RegistryKeyInfo;

/// The largest answer to `GET /registry/key`: a key and its rotations, a few hundred bytes each.
const MAX_KEY_ANSWER_BYTES: u64 = 1024 * 1024;

/// How a registry key came to be trusted, as the lockfile records it.
pub const TRUSTED_CONFIGURED: &str = "configured";
pub const TRUSTED_FIRST_USE: &str = "first-use";
pub const TRUSTED_ROTATED: &str = "rotated";

/// A registry's pinned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `<origin>+<key id>+<base64>`.
    pub vkey: String,
    /// `configured`, `first-use` or `rotated`.
    pub trusted: String,
}

/// The pins and sequences of one run, and what to tell the user about them.
#[derive(Debug, Clone, Default)]
pub struct IndexTrust {
    /// Registry URL → key, from the project's `[registry-keys]`.
    configured: BTreeMap<String, String>,
    /// The lockfile's registries.
    locked: Vec<LockedRegistry>,
    allow_expired: bool,
    pins: BTreeMap<String, Pin>,
    /// (registry, pack) → the highest sequence checked in this run.
    seen: BTreeMap<(String, String), u64>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

impl IndexTrust {
    /// `configured`: registry URL (normalized) → key; `lockfile`: the project's, if any;
    /// `allow_expired`: accept an expired envelope with a warning (an offline mirror).
    pub fn new(
        configured: BTreeMap<String, String>,
        lockfile: Option<&Lockfile>,
        allow_expired: bool,
    ) -> IndexTrust {
        IndexTrust {
            configured,
            locked: lockfile
                .map(|lock| lock.registries.clone())
                .unwrap_or_default(),
            allow_expired,
            ..IndexTrust::default()
        }
    }

    /// The key pinned for `registry`, found (or trusted on first use) on the first call.
    pub fn pin(&mut self, registry: &str, cache: &Cache, client: &Client) -> Result<Pin, String> {
        if let Some(pin) = self.pins.get(registry) {
            return Ok(pin.clone());
        }
        let locked = self.locked.iter().find(|locked| locked.url == registry);
        let pin = if let Some(vkey) = self.configured.get(registry) {
            Pin {
                vkey: vkey.clone(),
                trusted: TRUSTED_CONFIGURED.to_string(),
            }
        } else if let Some(locked) = locked {
            check_vkey(&locked.key).map_err(|error| {
                format!(
                    "threatpack.lock: the key of the registry {registry}: {error}\n  help: restore the lockfile from version control"
                )
            })?;
            Pin {
                vkey: locked.key.clone(),
                trusted: locked.trusted.clone(),
            }
        } else if let Some(vkey) = cache
            .read_registry_key(registry)
            .filter(|vkey| check_vkey(vkey).is_ok())
        {
            Pin {
                vkey,
                trusted: TRUSTED_FIRST_USE.to_string(),
            }
        } else {
            let info = registry_key(client)?;
            cache.write_registry_key(registry, &info.key)?;
            self.notes.push(format!(
                "trusting the key `{}` of the registry {registry} on first use: every index it serves must be signed by it; it is recorded in threatpack.lock (to check it from the start, pin it in threatpack.toml: `[registry-keys]` \"{registry}\" = \"{}\")",
                vkey_id(&info.key),
                info.key
            ));
            Pin {
                vkey: info.key,
                trusted: TRUSTED_FIRST_USE.to_string(),
            }
        };
        self.pins.insert(registry.to_string(), pin.clone());
        Ok(pin)
    }

    /// Checks an index answer of `pack` from `registry` (`note`: its envelope header) and
    /// records its sequence; an `Err` says what happened and what to do.
    pub fn check(
        &mut self,
        registry: &str,
        pack: &str,
        note: Option<&[u8]>,
        body: &[u8],
        cache: &Cache,
        client: &Client,
    ) -> Result<(), String> {
        let pin = self.pin(registry, cache, client)?;
        let key = (registry.to_string(), pack.to_string());
        let seen = [
            self.seen.get(&key).copied(),
            cache.read_index_sequence(registry, pack),
            self.locked
                .iter()
                .find(|locked| locked.url == registry)
                .and_then(|locked| locked.index_sequences.get(pack).copied()),
        ]
        .into_iter()
        .flatten()
        .max();
        let expectation = IndexExpectation {
            registry,
            vkey: &pin.vkey,
            pack,
            seen_sequence: seen,
            now: crate::time::now(),
            allow_expired: self.allow_expired,
        };
        let checked = match check_index(note, body, &expectation) {
            Ok(checked) => checked,
            Err(refusal @ IndexRefusal::WrongKey { .. }) => {
                // The registry may have rotated its key since it was pinned.
                let Some(rotated) = self.follow_rotation(registry, &pin, cache, client) else {
                    return Err(refusal.to_string());
                };
                check_index(
                    note,
                    body,
                    &IndexExpectation {
                        vkey: &rotated.vkey,
                        ..expectation
                    },
                )
                .map_err(|refusal| refusal.to_string())?
            }
            Err(refusal) => return Err(refusal.to_string()),
        };
        if checked.expired {
            self.warnings.push(format!(
                "the index of `{pack}` from {registry} expired at {} and is used anyway (--allow-expired-index): it may hide versions and yanks published since",
                format_rfc3339(checked.envelope.expires)
            ));
        }
        let sequence = checked.envelope.sequence;
        if seen.is_none_or(|seen| sequence > seen) {
            cache.write_index_sequence(registry, pack, sequence)?;
        }
        self.seen
            .insert(key, seen.map_or(sequence, |seen| seen.max(sequence)));
        Ok(())
    }

    /// The registry's current key, when a chain of rotation statements leads to it from `pin`;
    /// it becomes the pin. `None` when it cannot be read or no such chain exists.
    fn follow_rotation(
        &mut self,
        registry: &str,
        pin: &Pin,
        cache: &Cache,
        client: &Client,
    ) -> Option<Pin> {
        let info = registry_key(client).ok()?;
        if info.key == pin.vkey {
            return None;
        }
        let newest = follow_rotations(&pin.vkey, &info.rotations).ok()?;
        if newest != info.key {
            return None;
        }
        let mut note = format!(
            "the registry {registry} rotated its key from `{}` to `{}` in a statement the old key signed; the new key is pinned in threatpack.lock",
            vkey_id(&pin.vkey),
            vkey_id(&newest)
        );
        if pin.trusted == TRUSTED_CONFIGURED {
            note.push_str(&format!(
                "; update `[registry-keys]` in threatpack.toml to \"{newest}\""
            ));
        }
        self.notes.push(note);
        let rotated = Pin {
            vkey: newest,
            trusted: TRUSTED_ROTATED.to_string(),
        };
        // The cache follows too; a failure to write it only means the rotation is followed again.
        let _ = cache.write_registry_key(registry, &rotated.vkey);
        self.pins.insert(registry.to_string(), rotated.clone());
        Some(rotated)
    }

    /// The `[[registry]]` entries of `lock`: for each registry its packs come from, the key
    /// pinned (in this run, else as `previous` recorded it) and the highest sequence of each
    /// of its packs seen in this run or recorded before.
    pub fn lock_registries(
        &self,
        previous: Option<&Lockfile>,
        lock: &Lockfile,
    ) -> Vec<LockedRegistry> {
        let urls: BTreeSet<&str> = lock
            .packs
            .iter()
            .map(|pack| pack.registry.as_str())
            .collect();
        let mut registries = Vec::new();
        for url in urls {
            let recorded = previous.and_then(|previous| previous.registry(url));
            let pin = self.pins.get(url).cloned().or_else(|| {
                recorded.map(|recorded| Pin {
                    vkey: recorded.key.clone(),
                    trusted: recorded.trusted.clone(),
                })
            });
            let Some(pin) = pin else {
                continue;
            };
            // Sequences recorded under another key are kept: a rotation does not reset them.
            let mut index_sequences = BTreeMap::new();
            for pack in lock.packs.iter().filter(|pack| pack.registry == url) {
                let sequence = [
                    self.seen
                        .get(&(url.to_string(), pack.name.clone()))
                        .copied(),
                    recorded.and_then(|recorded| recorded.index_sequences.get(&pack.name).copied()),
                ]
                .into_iter()
                .flatten()
                .max();
                if let Some(sequence) = sequence {
                    index_sequences.insert(pack.name.clone(), sequence);
                }
            }
            registries.push(LockedRegistry {
                url: url.to_string(),
                key: pin.vkey,
                trusted: pin.trusted,
                index_sequences,
            });
        }
        registries
    }

    /// What the user should know (keys trusted on first use, rotations followed), once.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// What the user must be warned of (expired indexes used), once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

/// `GET /api/v1/registry/key`, checked: a well-formed key of the origin it names.
fn registry_key(client: &Client) -> Result<RegistryKeyInfo, String> {
    let mut request = Request::new("GET", "/registry/key");
    request.max_body_bytes = MAX_KEY_ANSWER_BYTES;
    let response = client.send(&request)?;
    if response.status != 200 {
        return Err(format!(
            "cannot read the signing key of the registry {} ({}): {}\n  help: a registry that does not sign its indexes cannot be used safely: upgrade it; or pin its key in threatpack.toml `[registry-keys]`",
            client.registry(),
            response.status,
            response.detail()
        ));
    }
    let info: RegistryKeyInfo = response.json()?;
    check_vkey(&info.key).map_err(|error| {
        format!(
            "the registry {} answered an unusable signing key: {error}",
            client.registry()
        )
    })?;
    if vkey_origin(&info.key) != info.origin {
        return Err(format!(
            "the registry {} answered a key of origin `{}` for origin `{}`",
            client.registry(),
            crate::render::visible(vkey_origin(&info.key)),
            crate::render::visible(&info.origin)
        ));
    }
    Ok(info)
}
