//! The registry's integration tests: the real server on `127.0.0.1:0` with a temporary data
//! directory, in-process, talked to over HTTP; bundles built and signed by the threatpack
//! library. `config`, `crash`, `hardening` and `operations` run the `threatpack-registry`
//! binary as a child process (its settings; SIGKILL during publishes; attacks before
//! authentication, measured by its memory; request log, metrics, SIGTERM during a publish).

mod api;
mod config;
mod crash;
mod hardening;
mod openapi;
mod operations;
mod owners;
mod support;
