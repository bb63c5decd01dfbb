//! Operations: one function per thing a user does (cargo's `ops`). Each takes an options
//! struct and a [`Progress`] reporter and returns typed results and typed errors; the CLI
//! (`src/bin/threatpack`) parses flags into the options, makes one call and prints, and a
//! consuming tool calls the same functions.

// Publishing, yanking, owners, keys, namespaces, search, info and login: the `client` feature.
#[cfg(feature = "client")]
pub mod registry;

/// What an operation tells its caller while it works. The CLI draws progress bars and status
/// lines; a library caller may ignore everything ([`NoProgress`]) or log it.
pub trait Progress: Sync {
    /// A step begins, e.g. "fetching" with the number of units it will take (0 if unknown).
    fn start(&self, _step: &str, _total: u64) {}
    /// One unit of the current step is done; `what` names it (a pack, a file).
    fn advance(&self, _what: &str) {}
    /// The current step is over.
    fn finish(&self) {}
    /// A note the user should see (a yanked version kept, a key trusted on first use).
    fn note(&self, _message: &str) {}
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
