//! The registry's integration tests: the real server on `127.0.0.1:0` with a temporary data
//! directory, in-process, talked to over HTTP; bundles built and signed by the threatpack
//! library. `config`, `crash`, `data`, `hardening` and `operations` run the
//! `threatpack-registry` binary as a child process (its settings; SIGKILL during publishes;
//! lost databases, damaged blobs, backups; attacks before authentication, measured by its
//! memory; request log, metrics, SIGTERM during a publish). `signed_index` runs it too (its
//! key, its rotation, and the index's signed envelopes), and `man_in_the_middle` runs it behind
//! `proxy`, a man-in-the-middle on loopback, against the client library (TUF's attacks).

mod api;
mod browser;
mod config;
mod crash;
mod data;
mod hardening;
mod log;
mod man_in_the_middle;
mod openapi;
mod operations;
mod owners;
mod portfolio_pages;
mod proxy;
mod reports;
mod revocation;
mod signed_index;
mod support;
mod tiers;
mod web;
