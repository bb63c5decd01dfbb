//! Exporters: a compiled knowledge base written in another tool's format, with a report of
//! what that format cannot express. Pure: `ops::export` loads the knowledge and writes the file.

pub mod pytm;
pub mod tmt;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::import::ReportEntry;

/// An exported file's text, and its report.
#[derive(Debug, Clone)]
pub struct Exported {
    pub text: String,
    pub report: ExportReport,
}

/// What an export wrote, and everything it left out or changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExportReport {
    /// The format written, e.g. `tmt`.
    pub format: String,
    pub pack: String,
    pub version: String,
    /// What was written, counted by kind (`threat-types`, ...).
    pub written: BTreeMap<String, usize>,
    /// Conditions of the knowledge base, and how many the format expresses exactly.
    pub conditions: usize,
    pub exact_conditions: usize,
    /// Everything left out or changed, by reason, with the items concerned.
    pub not_exported: Vec<ReportEntry>,
}
