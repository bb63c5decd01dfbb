//! threatpack: threat-modeling knowledge bases as software.
//!
//! The pipeline, in module order: `source` (files in memory) → `document` (TOML with spans) →
//! `schema` (JSON Schema validation) → `parse` (typed model) → `check` (semantic checks and
//! lints, with `condition` for CEL) → `diagnostic`/`render` (what the user sees). Only
//! `workspace` (reading packs from disk) and `scaffold::write` touch the file system.


pub mod condition;
pub mod diagnostic;
pub mod document;

pub mod model;
pub mod names;
pub mod parse;
pub mod render;

pub mod schema;
pub mod source;

