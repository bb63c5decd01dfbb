//! The registry's integration tests: the real server on `127.0.0.1:0` with a temporary data
//! directory, in-process, talked to over HTTP; bundles built and signed by the threatpack
//! library. `config`, `crash` and `data` run the `threatpack-registry` binary as a child process
//! (its settings; SIGKILL during publishes; lost databases, damaged blobs, backups).

mod api;
mod config;
mod crash;
mod data;
mod openapi;
mod owners;
mod revocation;
mod support;
mod tiers;
