//! threatpack: threat-modeling knowledge bases as software.
//!
//! The pipeline, in module order: `workspace` (read a pack and its path dependencies from disk)
//! → `source` (files in memory) → `document` (TOML with spans) → `schema` (JSON Schema
//! validation) → `parse` (typed model) → `index` (references resolved) → `check` (semantic
//! checks, with `condition` for CEL) → `lints` → `diagnostic`/`render` (what the user sees).
//! A system model: `system` (read, converted, `system::validate`d) → `engine` (`engine::bind`
//! into slots, then evaluated) → `analysis` (the report). Registry packs come in through
//! `client` (lock, fetch, cache) as `threatpack.lock` (`lockfile`) pins them for a pack or a
//! project (`project`). `versioning` compares two compiled knowledge bases and computes the
//! semver bump between them. Only `workspace`, `scaffold::write` and `client` touch the file
//! system.

pub mod analysis;
pub mod build;
pub mod bundle;
pub mod check;
pub mod client;
pub mod compile;
pub mod condition;
pub mod diagnostic;
pub mod digest;
pub mod document;
pub mod engine;
pub mod index;
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
pub mod workspace;
