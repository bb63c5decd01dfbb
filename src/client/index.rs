//! A pack's index (`GET /api/v1/packs/{namespace}/{name}`) and the publisher keys of a
//! namespace, read through the cache: `If-None-Match` when online, the cached copy alone when
//! offline.
//!
//! The cache is not trusted (a shared CI cache can be written by others): the registry's ETag
//! is the sha256 of the index body, so a cached body is offered with `If-None-Match` only when
//! it hashes to its cached ETag, and a 304 then means exactly that body is current. A planted
//! body whose ETag does not match is dropped and the index fetched whole.
//!
//! Every index answer, 200 or 304, is checked against its signed envelope before it is used or
//! cached (`registry_key::IndexTrust`: the registry's pinned key, the pack, the body's hash,
//! the sequence seen before, the expiry), and read under `MAX_INDEX_BYTES`.

use std::collections::HashMap;

use super::cache::Cache;
use super::http::{Client, Request};
use super::log::{LogChecker, LoggedVersion};
use super::registry_key::IndexTrust;

pub use crate::wire::{Index, IndexDependency, IndexVersion, PublisherKey};

/// The largest index body read: tens of thousands of versions; anything larger is refused
/// before it is parsed (endless data).
pub const MAX_INDEX_BYTES: u64 = 16 * 1024 * 1024;

/// Where indexes and keys come from (the registry through the cache, in practice).
pub trait IndexSource {
    fn index(&mut self, registry: &str, name: &str) -> Result<Index, String>;
    fn keys(&mut self, registry: &str, namespace: &str) -> Result<Vec<PublisherKey>, String>;
    /// Checks that a chosen version is in the registry's transparency log (`super::log`);
    /// returns its log index, `None` from a registry that keeps no log.
    fn check_logged(
        &mut self,
        registry: &str,
        version: &LoggedVersion<'_>,
    ) -> Result<Option<u64>, String>;
}

/// Indexes from registries, through the cache; each index is read once per run.
pub struct RegistryIndexes {
    cache: Cache,
    offline: bool,
    clients: HashMap<String, Client>,
    read: HashMap<(String, String), Index>,
    log: LogChecker,
    trust: IndexTrust,
}

impl RegistryIndexes {
    pub fn new(cache: Cache, offline: bool) -> RegistryIndexes {
        RegistryIndexes {
            log: LogChecker::new(cache.clone()),
            cache,
            offline,
            clients: HashMap::new(),
            read: HashMap::new(),
            trust: IndexTrust::default(),
        }
    }

    /// Checks every index with `trust`'s pins and sequences (by default: the cache's, else the
    /// registry's key on first use).
    pub fn with_trust(mut self, trust: IndexTrust) -> RegistryIndexes {
        self.trust = trust;
        self
    }

    /// The pins and sequences of this run, and the notes and warnings they left.
    pub fn trust_mut(&mut self) -> &mut IndexTrust {
        &mut self.trust
    }

    fn client(&mut self, registry: &str) -> Result<&Client, String> {
        if !self.clients.contains_key(registry) {
            let client = Client::new(registry)?;
            self.clients.insert(registry.to_string(), client);
        }
        self.clients
            .get(registry)
            .ok_or_else(|| format!("no client for {registry}"))
    }

    fn fetch_index(&mut self, registry: &str, name: &str) -> Result<Index, String> {
        let cached = self.cache.read_index(registry, name);
        if self.offline {
            // Offline, the cached copy is all there is (nothing can confirm it).
            return match cached {
                Some((body, _)) => parse_index(&body, registry, name),
                None => Err(format!(
                    "`{name}` is not in the cache and --offline forbids asking {registry}: run once without --offline"
                )),
            };
        }
        // Only a body that is what its ETag names may be confirmed by a 304.
        let cached = cached.and_then(|(body, etag)| {
            let etag = etag?.trim().to_string();
            body_matches_etag(&body, &etag).then_some((body, etag))
        });
        self.request_index(registry, name, cached)
    }

    /// `GET` the index, with `If-None-Match` when `cached` holds a body and its ETag.
    fn request_index(
        &mut self,
        registry: &str,
        name: &str,
        cached: Option<(Vec<u8>, String)>,
    ) -> Result<Index, String> {
        let path = format!("/packs/{name}");
        let mut request = Request::new("GET", &path);
        request.max_body_bytes = MAX_INDEX_BYTES;
        if let Some((_, etag)) = &cached {
            request.headers.push(("If-None-Match", etag.clone()));
        }
        let client = self.client(registry)?.clone();
        let response = client.send(&request).map_err(|error| {
            format!("cannot read the index of `{name}` from {registry}: {error}")
        })?;
        let parse = |body: &[u8]| parse_index(body, registry, name);
        let note = response.index_note.as_deref();
        match response.status {
            304 => match cached {
                // The registry confirms the ETag sent (and says no other).
                Some((body, etag))
                    if response
                        .etag
                        .as_deref()
                        .is_none_or(|answered| answered.trim() == etag) =>
                {
                    self.trust
                        .check(registry, name, note, &body, &self.cache, &client)?;
                    parse(&body)
                }
                // A 304 for nothing sent, or for another ETag: ask for the whole index.
                Some(_) => self.request_index(registry, name, None),
                None => Err(format!(
                    "{registry} answered 304 for `{name}` without being offered a cached copy"
                )),
            },
            200 => {
                self.trust
                    .check(registry, name, note, &response.body, &self.cache, &client)?;
                let index = parse(&response.body)?;
                if index.name != name {
                    return Err(format!(
                        "{registry} answered the index of `{}` when asked for `{name}`",
                        crate::render::visible(&index.name)
                    ));
                }
                // Cached with its ETag only when the two agree; else without one, never sent.
                let etag = response
                    .etag
                    .as_deref()
                    .filter(|etag| body_matches_etag(&response.body, etag));
                self.cache
                    .write_index(registry, name, &response.body, etag)?;
                Ok(index)
            }
            404 => Err(format!(
                "no pack `{name}` on {registry}: check the name (`threatpack search`) and the registry"
            )),
            status => Err(format!(
                "{registry} answered {status} for the index of `{name}`: {}",
                response.detail()
            )),
        }
    }
}

fn parse_index(body: &[u8], registry: &str, name: &str) -> Result<Index, String> {
    serde_json::from_slice::<Index>(body)
        .map_err(|error| format!("the index of `{name}` from {registry} cannot be read: {error}"))
}

/// Whether `etag` is the registry's strong ETag of `body`: its sha256 in hex, quoted.
fn body_matches_etag(body: &[u8], etag: &str) -> bool {
    etag.trim()
        .strip_prefix('"')
        .and_then(|etag| etag.strip_suffix('"'))
        .is_some_and(|hex| hex == crate::digest::sha256_hex(body))
}

impl IndexSource for RegistryIndexes {
    fn index(&mut self, registry: &str, name: &str) -> Result<Index, String> {
        let key = (registry.to_string(), name.to_string());
        if let Some(index) = self.read.get(&key) {
            return Ok(index.clone());
        }
        let index = self.fetch_index(registry, name)?;
        self.read.insert(key, index.clone());
        Ok(index)
    }

    fn keys(&mut self, registry: &str, namespace: &str) -> Result<Vec<PublisherKey>, String> {
        if self.offline {
            return Err(format!(
                "the publisher keys of `{namespace}` must be read from {registry} to trust them on first use, and --offline forbids it"
            ));
        }
        let path = format!("/namespaces/{namespace}/keys");
        let response = self.client(registry)?.send(&Request::new("GET", &path))?;
        if response.status != 200 {
            return Err(format!(
                "cannot read the publisher keys of `{namespace}` from {registry} ({}): {}",
                response.status,
                response.detail()
            ));
        }
        serde_json::from_slice::<crate::wire::Keys>(&response.body)
            .map(|keys| keys.keys)
            .map_err(|error| format!("the key list of `{namespace}` cannot be read: {error}"))
    }

    fn check_logged(
        &mut self,
        registry: &str,
        version: &LoggedVersion<'_>,
    ) -> Result<Option<u64>, String> {
        if self.offline {
            // Nothing can be asked of the log offline: what the cached index names is kept,
            // and checked by the next lock or download that is online.
            return Ok(version.log_index);
        }
        let client = self.client(registry)?.clone();
        // The key the index envelopes are checked with signs the log's checkpoints too.
        let pin = self.trust.pin(registry, &self.cache, &client)?;
        self.log.check(&client, Some(&pin.vkey), version)
    }
}
