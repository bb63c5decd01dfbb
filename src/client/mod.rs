//! The registry client: HTTP (`http`), the local cache (`cache`), indexes and keys
//! (`index`), the registry's pinned key and the check of every index's signed envelope
//! (`registry_key`), choosing what `threatpack.lock` pins (`resolve`), downloading and verifying
//! (`fetch`), checking versions against the registry's transparency log (`log`), and fetched
//! packs as a `PackSource` for builds (`source`); `published` reads a published version for
//! comparing (`diff`, `semver-check`), sha256-checked, never cached.
//!
//! Data flow: requirements (a pack's or a project's `[dependencies]`) → `resolve_lock` (indexes
//! through the cache) → `Lockfile` → `fetch_locked` (sha256 + signature against trusted keys) →
//! cache → `LockedSource` → `resolve::resolve` → compile, or the bundle's `kb.json` directly.

pub mod cache;
pub mod fetch;
pub mod http;
pub mod index;
pub mod log;
pub mod published;
pub mod registry_key;
pub mod resolve;
pub mod source;
