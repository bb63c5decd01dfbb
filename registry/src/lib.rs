//! The threatpack registry: signed bundles published into namespaces, served by digest, with an
//! index per pack, yanking, search and scoped API tokens.
//!
//! `store` keeps the data (the `Store` trait; SQLite plus a blob directory), `tokens` says who
//! may do what, `api` is the HTTP interface (with `index_cache`, the index bodies it serves from
//! memory), `openapi` its OpenAPI description (generated from the handlers and `threatpack::wire`),
//! `semver` the versioning gate of publish, `registry_key` the key
//! the registry signs its index envelopes with (kept in the data directory, rotated), `server` opens the store and serves it,
//! `backup` takes and restores backups of a data directory, `config` gathers the server's
//! settings (flags, environment, configuration file), `connections` accepts connections under
//! limits and timeouts and shuts down gracefully, `metrics` counts what `/metrics` shows, and
//! `web` is the registry's HTML face for people (docs/web.md), beside the API.

pub mod api;
pub mod backup;
pub mod config;
pub mod connections;
mod index_cache;
pub mod metrics;
pub mod openapi;
pub mod registry_key;
pub mod semver;
pub mod server;
pub mod store;
pub mod tokens;
pub mod web;
