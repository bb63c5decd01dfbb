//! The index bodies the API serves, kept in memory: an index GET is answered from here without
//! touching the store, serializing or hashing, and a change to a pack's versions drops that
//! pack's entry.
//!
//! Correctness rests on two rules:
//! - every handler that changes a pack's versions (publish, yank, unyank) calls `invalidate` for
//!   the pack after its store call returns, whether the call succeeded or not, on the same
//!   blocking thread (`api::changing_versions`): before the change is acknowledged, so whoever
//!   saw it acknowledged reads the new index, and even when the client has gone away and the
//!   handler was dropped;
//! - a body built from the store is kept only if no invalidation happened since just before the
//!   store was read (`generation`, then `insert`): a slow reader never puts back an index older
//!   than a change that has already been acknowledged.
//!
//! The registry process is the only writer of versions (orphan collection at start already
//! assumes so); `threatpack-registry token create` writes tokens only.
//!
//! Each body is cached with its signed envelope (`IndexBody::note`), re-signed on read once half
//! its lifetime has passed: the envelope's sequence is the body's, so it is dropped with it.
//!
//! The cache holds at most `MAX_CACHED_BYTES` of bodies; past that, arbitrary entries are
//! dropped to make room, and they are rebuilt from the store when asked for again.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Bytes;
use axum::http::HeaderValue;

/// The most bytes of index bodies kept at once.
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

/// One pack's index as served: the JSON body, its strong ETag, and its signed envelope.
#[derive(Debug)]
pub struct IndexBody {
    pub body: Bytes,
    /// The sha256 of `body` in hex, quoted: `"…"`.
    pub etag: HeaderValue,
    /// The pack's index sequence when `body` was read.
    pub sequence: u64,
    /// The envelope served with it, signed once and re-signed only when half its lifetime has
    /// passed, so that an index GET costs no signature.
    pub note: RwLock<SignedNote>,
}

/// A signed envelope (`threatpack::transparency::envelope`) as the header carries it.
#[derive(Debug, Clone)]
pub struct SignedNote {
    /// The `Threatpack-Index-Note` header's value.
    pub header: HeaderValue,
    /// Unix seconds from which it is re-signed (half its lifetime).
    pub refresh_at: i64,
}

#[derive(Debug, Default)]
pub struct IndexCache {
    state: RwLock<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// Counts invalidations: a body read from the store at one generation is stale at another.
    generation: u64,
    bodies: HashMap<String, Arc<IndexBody>>,
    bytes: usize,
}

impl IndexCache {
    /// The body of `pack`'s index, if it is cached.
    pub fn get(&self, pack: &str) -> Option<Arc<IndexBody>> {
        // A panic while the lock was held cannot have left the map half-changed (it only
        // inserts and removes whole entries), so a poisoned lock is still usable.
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.bodies.get(pack).cloned()
    }

    /// Read before reading the store; hand it back to `insert`.
    pub fn generation(&self) -> u64 {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    /// Keeps `body` as `pack`'s index, unless something was invalidated since `generation`.
    pub fn insert(&self, pack: &str, generation: u64, body: Arc<IndexBody>) {
        let size = body.body.len();
        if size > MAX_CACHED_BYTES {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if state.generation != generation {
            return;
        }
        if let Some(previous) = state.bodies.remove(pack) {
            state.bytes -= previous.body.len();
        }
        while state.bytes + size > MAX_CACHED_BYTES {
            let Some(victim) = state.bodies.keys().next().cloned() else {
                break;
            };
            if let Some(removed) = state.bodies.remove(&victim) {
                state.bytes -= removed.body.len();
            }
        }
        state.bytes += size;
        state.bodies.insert(pack.to_string(), body);
    }

    /// Drops `pack`'s index: its versions have changed, or may have.
    pub fn invalidate(&self, pack: &str) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.generation = state.generation.wrapping_add(1);
        if let Some(removed) = state.bodies.remove(pack) {
            state.bytes -= removed.body.len();
        }
    }
}

impl IndexCache {
    /// Drops the index of every pack of `namespace`: a publisher key was removed or restored,
    /// which changes how the versions it signed are marked.
    pub fn invalidate_namespace(&self, namespace: &str) {
        let prefix = format!("{namespace}/");
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.generation = state.generation.wrapping_add(1);
        let packs: Vec<String> = state
            .bodies
            .keys()
            .filter(|pack| pack.starts_with(&prefix))
            .cloned()
            .collect();
        for pack in packs {
            if let Some(removed) = state.bodies.remove(&pack) {
                state.bytes -= removed.body.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &'static str) -> Arc<IndexBody> {
        Arc::new(IndexBody {
            body: Bytes::from_static(text.as_bytes()),
            etag: HeaderValue::from_static("\"x\""),
            sequence: 1,
            note: RwLock::new(SignedNote {
                header: HeaderValue::from_static("x"),
                refresh_at: 0,
            }),
        })
    }

    #[test]
    fn a_body_read_before_an_invalidation_is_not_kept() {
        let cache = IndexCache::default();
        let before = cache.generation();
        cache.invalidate("acme/web");
        cache.insert("acme/web", before, body("old"));
        assert!(cache.get("acme/web").is_none());

        let now = cache.generation();
        cache.insert("acme/web", now, body("new"));
        assert_eq!(
            cache.get("acme/web").map(|cached| cached.body.clone()),
            Some(Bytes::from_static(b"new"))
        );
    }

    #[test]
    fn invalidate_drops_only_its_pack_and_keeps_the_byte_count() {
        let cache = IndexCache::default();
        let generation = cache.generation();
        cache.insert("acme/web", generation, body("web"));
        cache.insert("acme/api", generation, body("api!"));
        cache.invalidate("acme/web");
        assert!(cache.get("acme/web").is_none());
        assert!(cache.get("acme/api").is_some());
        let state = cache.state.read().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(state.bytes, 4);
    }
}
