//! threatpack: threat-modeling knowledge bases as software.
//!
//! The pipeline, in module order: `workspace` (read a pack and its path dependencies from disk)
//! → `source` (files in memory) → `document` (TOML with spans) → `schema` (JSON Schema
//! validation) → `parse` (typed model) → `check` (semantic checks, with `condition` for CEL)
//! → `lints` → `diagnostic`/`render` (what the user sees). Registry packs come in through
//! `client` (lock, fetch, cache) as `threatpack.lock` (`lockfile`) pins them for a pack or a
//! project (`project`). `versioning` compares two compiled knowledge bases and computes the
//! semver bump between them. `wire` holds the registry API's JSON types, which the server and the
//! client share; `ops` the operations a user does, one call each. The `client` feature (on by
//! default) brings the registry client (`client`, `ops::registry`); the registry server builds
//! without it. Only `workspace`, `scaffold::write` and `client` touch the file
//! system.

pub mod analysis;
pub mod build;
pub mod bundle;
pub mod check;
#[cfg(feature = "client")]
pub mod client;
pub mod compile;
pub mod condition;
pub mod diagnostic;
pub mod digest;
pub mod document;
pub mod engine;
pub mod lints;
pub mod lockfile;
pub mod model;
pub mod names;
pub mod ops;
pub mod parse;
pub mod project;
pub mod render;
pub mod resolve;
pub mod scaffold;
pub mod schema;
pub mod signing;
pub mod source;
pub mod system;
pub mod testing;
pub mod upstream;
pub mod versioning;
pub mod wire;
pub mod workspace;
