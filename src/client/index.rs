//! A pack's index (`GET /api/v1/packs/{namespace}/{name}`) and the publisher keys of a
//! namespace, read through the cache: `If-None-Match` when online, the cached copy alone when
//! offline.

use std::collections::HashMap;

use super::cache::Cache;
use super::http::{Client, Request};

pub use crate::wire::{Index, IndexDependency, IndexVersion, PublisherKey};

/// Where indexes and keys come from (the registry through the cache, in practice).
pub trait IndexSource {
    fn index(&mut self, registry: &str, name: &str) -> Result<Index, String>;
    fn keys(&mut self, registry: &str, namespace: &str) -> Result<Vec<PublisherKey>, String>;
}

/// Indexes from registries, through the cache; each index is read once per run.
pub struct RegistryIndexes {
    cache: Cache,
    offline: bool,
    clients: HashMap<String, Client>,
    read: HashMap<(String, String), Index>,
}

impl RegistryIndexes {
    pub fn new(cache: Cache, offline: bool) -> RegistryIndexes {
        RegistryIndexes {
            cache,
            offline,
            clients: HashMap::new(),
            read: HashMap::new(),
        }
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
        let parse = |body: &[u8]| {
            serde_json::from_slice::<Index>(body).map_err(|error| {
                format!("the index of `{name}` from {registry} cannot be read: {error}")
            })
        };
        if self.offline {
            return match cached {
                Some((body, _)) => parse(&body),
                None => Err(format!(
                    "`{name}` is not in the cache and --offline forbids asking {registry}: run once without --offline"
                )),
            };
        }
        let path = format!("/packs/{name}");
        let mut request = Request::new("GET", &path);
        if let Some((_, Some(etag))) = &cached {
            request
                .headers
                .push(("If-None-Match", etag.trim().to_string()));
        }
        let response = self.client(registry)?.send(&request)?;
        match response.status {
            304 => match cached {
                Some((body, _)) => parse(&body),
                None => Err(format!(
                    "{registry} answered 304 for `{name}` without a cached copy"
                )),
            },
            200 => {
                let index = parse(&response.body)?;
                if index.name != name {
                    return Err(format!(
                        "{registry} answered the index of `{}` when asked for `{name}`",
                        index.name
                    ));
                }
                self.cache
                    .write_index(registry, name, &response.body, response.etag.as_deref())?;
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
}
