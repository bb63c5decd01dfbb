//! What makes distribution tamper-evident (issue 14, docs/security.md): the registry's own
//! signing key (`key`), with which it signs C2SP signed notes: the envelope of every index
//! answer and the statements that rotate the key. The registry signs with this code and the
//! client verifies with it. And the transparency log (`log`): entries, the Merkle tree,
//! checkpoints and proofs, shared by the registry, the client and the monitor.

pub mod envelope;
pub mod key;
pub mod log;

pub use envelope::{IndexEnvelope, IndexExpectation, IndexRefusal, check_index};
pub use key::{KeyError, NoteError, RegistryKey, check_origin, verify_note};
