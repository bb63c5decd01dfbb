//! Exporters: a compiled knowledge base written in another tool's format, with a report of
//! what that format cannot hold. Pure: the caller reads the knowledge and writes the file.

pub mod pytm;
