//! Importers: MITRE CAPEC and ATT&CK, OWASP pytm's threat library and Threat Modeling Tool
//! templates, turned into packs, with a report of what did not fit.
//!
//! Pure: an importer reads the bytes of one input and returns the files of a pack (and the
//! report); `ops::import` reads the input and writes the files. One file per format
//! (`capec.rs` for CAPEC's STIX bundles and XML, `attack.rs` for ATT&CK's STIX bundles),
//! `pytm.rs` for pytm's `threats.json` (and pytm's classes, which the pytm model reader and
//! exporter share), `tmt.rs` for Threat Modeling Tool templates, `stix.rs` for the STIX types they share, `mapping.rs` for the tables that say what the
//! sources do not (docs/interop.md), `pack.rs` for the pack they build and write.

mod attack;
mod capec;
mod mapping;
mod markup;
mod pack;
pub(crate) mod pytm;
mod stix;
pub(crate) mod tmt;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::view::STRIDE;

pub use mapping::{DEFAULT_MAPPING, Mapping};
pub(crate) use pack::GAP_MITIGATION;

/// The largest input read: ATT&CK Enterprise, the largest source, is 45 MB today.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;
/// The largest mapping file read.
pub const MAX_MAPPING_BYTES: u64 = 1024 * 1024;
/// The longest text kept from one field of the source; longer texts are cut (and reported),
/// so that no pack file can outgrow what `check` reads (8 MiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// A format `threatpack import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// MITRE CAPEC: a STIX 2.1 bundle, or the official XML.
    Capec,
    /// MITRE ATT&CK (Enterprise, ICS or Mobile): a STIX 2.0 or 2.1 bundle.
    Attack,
    /// OWASP pytm's threat library (`threats.json`).
    Pytm,
    /// A Microsoft Threat Modeling Tool template (`.tb7`).
    Tmt,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Capec, Format::Attack, Format::Pytm, Format::Tmt];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Capec => "capec",
            Format::Attack => "attack",
            Format::Pytm => "pytm",
            Format::Tmt => "tmt",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
    }
}

/// What the caller chooses about the pack.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The pack's name; `None`: `mitre/capec`, `mitre/attack-enterprise`, ...
    pub name: Option<String>,
    /// The pack's version; `None`: the source's release (e.g. CAPEC 3.9 gives 3.9.0).
    pub version: Option<String>,
    /// The mapping; `None`: [`DEFAULT_MAPPING`].
    pub mapping: Option<Mapping>,
}

/// An imported pack: its files by path inside the pack directory, and the report.
#[derive(Debug, Clone)]
pub struct Imported {
    pub files: BTreeMap<String, String>,
    pub report: ImportReport,
}

/// Why an input could not be imported at all. Everything smaller is in the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not the format asked for (or not well-formed).
    #[error("{0}")]
    Malformed(String),
    /// The input is well-formed but something the pack needs is not in it, or not valid.
    #[error("{0}")]
    Invalid(String),
}

/// What an import made, and every part of the source it did not translate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImportReport {
    /// `capec` or `attack`.
    pub format: String,
    /// What the input is, e.g. "CAPEC 3.9 (STIX 2.1 bundle)".
    pub source: String,
    /// The sha256 of the input.
    pub input_sha256: String,
    pub pack: String,
    pub version: String,
    pub entities: usize,
    pub attack_patterns: usize,
    pub mitigations: usize,
    pub links: usize,
    /// Parts of the source left out, grouped by reason: each with the source items concerned.
    pub not_translated: Vec<ReportEntry>,
    /// Values the source does not give, taken from the mapping: each with the items concerned.
    pub defaults: Vec<ReportEntry>,
    /// Threat Modeling Tool templates: how many generation filters were translated exactly
    /// (the others are in `not_translated`, one by one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<FilterReport>,
}

/// Generation filters (`Include` and `Exclude`) of a template, and how many became exactly
/// equivalent conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterReport {
    pub total: usize,
    pub exact: usize,
}

/// One reason, and the source items it concerns (their ids as the source names them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportEntry {
    pub reason: String,
    pub items: Vec<String>,
}

/// Collects report entries by reason, each item once, in a stable order.
#[derive(Debug, Default)]
pub struct Notes {
    entries: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Notes {
    pub(crate) fn add(&mut self, reason: impl Into<String>, item: impl Into<String>) {
        self.entries
            .entry(reason.into())
            .or_default()
            .insert(item.into());
    }

    pub(crate) fn into_entries(self) -> Vec<ReportEntry> {
        self.entries
            .into_iter()
            .map(|(reason, items)| {
                let mut items: Vec<String> = items.into_iter().collect();
                items.sort_by(|a, b| pack::by_id(a, b));
                ReportEntry { reason, items }
            })
            .collect()
    }
}

/// Imports `input` (the bytes of one file) as `format`.
pub fn import(
    format: Format,
    input: &[u8],
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    if input.len() as u64 > MAX_INPUT_BYTES {
        return Err(ImportError::Invalid(format!(
            "the input is {} bytes, more than the {MAX_INPUT_BYTES} an import reads",
            input.len()
        )));
    }
    let default_mapping;
    let mapping = match &options.mapping {
        Some(mapping) => mapping,
        None => {
            default_mapping = Mapping::default_mapping();
            &default_mapping
        }
    };
    let mut filters = None;
    let mut built = match format {
        Format::Capec => capec::import(input, mapping)?,
        Format::Attack => attack::import(input, mapping)?,
        // pytm's packs are not MITRE's: their own files, licence and notice.
        Format::Pytm => return pytm::import(input, mapping, options),
        Format::Tmt => {
            let (built, count) = tmt::import(input, mapping)?;
            filters = Some(FilterReport {
                total: count.total,
                exact: count.exact,
            });
            built
        }
    };
    if let Some(name) = &options.name {
        crate::names::check_pack_name(name)
            .map_err(|error| ImportError::Invalid(format!("--name `{name}`: {error}")))?;
        built.pack.name = name.clone();
    }
    if let Some(version) = &options.version {
        crate::names::parse_version(version)
            .map_err(|error| ImportError::Invalid(format!("--version `{version}`: {error}")))?;
        built.pack.version = version.clone();
    } else if let Some(reason) = &built.unversioned {
        built.defaults.add(reason.clone(), "pack.toml");
    }
    built
        .pack
        .finish(mapping, &mut built.notes, &mut built.defaults);
    let files = built.pack.files(&built.source)?;
    let report = ImportReport {
        format: format.as_str().to_string(),
        source: built.source.clone(),
        input_sha256: crate::digest::sha256_hex(input),
        pack: built.pack.name.clone(),
        version: built.pack.version.clone(),
        entities: built.pack.entities.len(),
        attack_patterns: built.pack.attack_patterns.len(),
        mitigations: built.pack.mitigations.len(),
        links: built
            .pack
            .mitigations
            .iter()
            .map(|mitigation| mitigation.addresses.len())
            .sum(),
        not_translated: built.notes.into_entries(),
        defaults: built.defaults.into_entries(),
        filters,
    };
    Ok(Imported { files, report })
}

/// What a format's importer hands back: the pack, what it is, and its notes.
pub(crate) struct Built {
    pub pack: pack::Pack,
    /// What the input is, e.g. "CAPEC 3.9 (STIX 2.1 bundle)".
    pub source: String,
    pub notes: Notes,
    pub defaults: Notes,
    /// Why the source gives no version (reported unless `--version` gives one).
    pub unversioned: Option<String>,
}

/// A source text made fit for a pack: trimmed, cut at [`MAX_TEXT_BYTES`] (noted).
pub(crate) fn text(value: &str, item: &str, notes: &mut Notes) -> String {
    let trimmed = value.trim();
    if trimmed.len() <= MAX_TEXT_BYTES {
        return trimmed.to_string();
    }
    let mut end = MAX_TEXT_BYTES;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    notes.add(
        format!("a text longer than {MAX_TEXT_BYTES} bytes was cut"),
        item,
    );
    format!("{}…", &trimmed[..end])
}

/// Categories in order (STRIDE's first, then the rest sorted); when none is a STRIDE category,
/// the mapping's fallback ones are added (noted with `why`).
pub(crate) fn finish_categories(
    mut categories: std::collections::BTreeSet<String>,
    fallback: &[String],
    item: &str,
    defaults: &mut Notes,
    why: &str,
) -> Vec<String> {
    if !categories
        .iter()
        .any(|category| STRIDE.contains(&category.as_str()))
    {
        defaults.add(
            format!(
                "{why}: categories {} from the mapping's fallback",
                fallback.join(", ")
            ),
            item,
        );
        categories.extend(fallback.iter().cloned());
    }
    let mut ordered: Vec<String> = STRIDE
        .iter()
        .filter(|category| categories.contains(**category))
        .map(|category| (*category).to_string())
        .collect();
    ordered.extend(
        categories
            .into_iter()
            .filter(|category| !STRIDE.contains(&category.as_str())),
    );
    ordered
}

/// A pack id made of free text: lowercase letters and digits, single hyphens, at most 64
/// characters, starting with a letter (`prefix` is put first when it does not).
pub(crate) fn slug(text: &str, prefix: &str) -> String {
    let mut slug = String::new();
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let mut slug = if slug.starts_with(|character: char| character.is_ascii_lowercase()) {
        slug.to_string()
    } else if slug.is_empty() {
        prefix.trim_end_matches('-').to_string()
    } else {
        format!("{prefix}{slug}")
    };
    if slug.len() > 64 {
        slug.truncate(64);
        let trimmed = slug.trim_end_matches('-').len();
        slug.truncate(trimmed);
    }
    slug
}

/// A display name made of a description: its first sentence, cut at a word near 80
/// characters (CAPEC's courses of action have opaque names such as "coa-102-0").
pub(crate) fn name_of_description(description: &str) -> String {
    let first_line = description.lines().next().unwrap_or_default().trim();
    let sentence = match first_line.find(". ") {
        Some(end) => &first_line[..end],
        None => first_line.trim_end_matches('.'),
    };
    if sentence.chars().count() <= 80 {
        return sentence.to_string();
    }
    let mut name = String::new();
    for word in sentence.split_whitespace() {
        if name.chars().count() + word.chars().count() > 78 {
            break;
        }
        if !name.is_empty() {
            name.push(' ');
        }
        name.push_str(word);
    }
    format!("{name}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(slug("Network Devices", "platform-"), "network-devices");
        assert_eq!(
            slug("Human-Machine Interface (HMI)", "x-"),
            "human-machine-interface-hmi"
        );
        assert_eq!(slug("3D printer", "asset-"), "asset-3d-printer");
        assert_eq!(slug("***", "asset-"), "asset");
        assert!(slug(&"a".repeat(100), "x-").len() <= 64);
    }

    #[test]
    fn names_come_from_the_first_sentence() {
        assert_eq!(name_of_description("Use HTTPS. Or a VPN."), "Use HTTPS");
        let long = "word ".repeat(40);
        let name = name_of_description(&long);
        assert!(name.chars().count() <= 80 && name.ends_with('…'), "{name}");
    }
}
