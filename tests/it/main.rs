//! Integration tests: one binary, a module per area (as in cargo and uv). They run the real
//! `threatpack` binary on real files.

mod apply_cli;
mod build_cli;
mod bundle_schemas;
mod bundles;
mod check_cli;
mod cli_conventions;
mod columnar;
mod diagnostics;
mod docs_examples;
mod fuzz_corpora;
mod hostile;
mod import;
mod module_layers;
mod ops;
mod otm;
mod pytm;
mod readme_quickstart;
mod registry_client;
mod registry_lock;
mod registry_log;
mod registry_namespace;
mod registry_ops;
mod registry_owner;
mod registry_portfolio;
mod registry_trust;
mod report_formats;
mod report_outputs;
mod shipped_packs;
mod signing;
mod support;
mod threat_dragon;
mod tm7;
mod versioning;
