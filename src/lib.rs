//! threatpack: threat-modeling knowledge bases as software.
//!
//! A tool that consumes knowledge bases starts at [`ops`]: one function per thing a user does
//! (load a project's locked and verified knowledge, lock, fetch, build, apply, publish, ...),
//! each taking an options struct and a [`ops::Progress`] reporter and returning typed results.
//! The modules below it are the pipeline those operations are made of, grouped by stage; they
//! are public so that the registry service and tools with other needs can reuse a stage.

// Operations: what the CLI and consuming tools call.
pub mod ops;

// Reading packs: the I/O edge, then pure functions over files in memory.
pub mod document;
pub mod names;
pub mod resolve;
pub mod source;
pub mod workspace;

// Checking: schemas, the typed model, semantic checks and lints, and what users see of them.
pub mod catalog;
pub mod check;
pub(crate) mod condition;
pub mod diagnostic;
pub mod index;
pub(crate) mod lints;
pub mod model;
pub(crate) mod parse;
pub mod render;
pub mod schema;
pub mod upstream;

// Compiling and distributing: the knowledge base, bundles, signatures.
pub mod build;
pub mod bundle;
pub mod compile;
pub mod digest;
pub mod scaffold;
pub mod signing;
pub mod time;
pub mod transparency;

// Consuming: the registry client (the `client` feature, on by default; the registry server
// builds without it), the registry API's wire types, projects and their lockfile.
#[cfg(feature = "client")]
pub mod client;
pub mod lockfile;
pub mod project;
pub mod wire;

// Applying: system models, the rule engine, and what a threat model reports.
pub mod analysis;
pub mod engine;
pub mod system;
pub mod testing;

// Importing other formats' knowledge (MITRE CAPEC, ATT&CK, Threat Modeling Tool) as packs.
pub mod import;

// Exporting knowledge bases to other tools' formats (pytm, Threat Modeling Tool templates).
pub mod export;

// Comparing versions of a knowledge base.
pub mod versioning;

// Entry points for fuzzers: every parser of untrusted bytes, driven as its real caller does.
pub mod fuzz;
