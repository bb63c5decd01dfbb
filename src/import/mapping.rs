//! The mapping tables of `threatpack import`: what the sources (MITRE's, pytm's) do not say (severities of
//! ATT&CK techniques, link strengths, STRIDE categories) and how their values become the pack
//! format's. The built-in table is `default-mapping.toml`; a user's file
//! (schema/import-mapping.schema.json) replaces any of its keys.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Control, Cost, ElementKind, Severity, Strength};
use crate::schema::{self, FileKind};
use crate::system::{Syntax, parse_document};

/// The built-in mapping, as shipped (docs/interop.md shows it).
pub const DEFAULT_MAPPING: &str = include_str!("default-mapping.toml");

/// The tables an import reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Mapping {
    pub format: u32,
    pub severity: Severity,
    pub strength: Strength,
    pub control: Control,
    pub cost: Cost,
    pub capec: CapecMapping,
    pub attack: AttackMapping,
    pub pytm: PytmMapping,
    pub tmt: TmtMapping,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CapecMapping {
    pub severities: BTreeMap<String, Severity>,
    pub scopes: BTreeMap<String, Vec<String>>,
    pub fallback: Fallback,
    pub domains: BTreeMap<String, ElementKind>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AttackMapping {
    pub tactics: BTreeMap<String, Vec<String>>,
    pub fallback: Fallback,
    pub kinds: BTreeMap<String, ElementKind>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PytmMapping {
    pub severities: BTreeMap<String, Severity>,
    pub families: BTreeMap<String, Vec<String>>,
    pub fallback: Fallback,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TmtMapping {
    pub representations: BTreeMap<String, ElementKind>,
    pub kinds: BTreeMap<String, ElementKind>,
    pub priorities: BTreeMap<String, Severity>,
    pub categories: BTreeMap<String, Vec<String>>,
    pub fallback: Fallback,
}

/// What an item gets when the tables give it no STRIDE category.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Fallback {
    pub categories: Vec<String>,
}

impl Mapping {
    /// The built-in mapping.
    pub fn default_mapping() -> Mapping {
        let json = mapping_json("built-in import mapping", DEFAULT_MAPPING)
            .expect("the built-in import mapping is valid (tested)");
        serde_json::from_value(json).expect("the built-in import mapping is complete (tested)")
    }

    /// A user's mapping file laid over the built-in one: each key it gives replaces the
    /// built-in key. Problems point into the file.
    pub fn parse(display_path: &str, text: &str) -> Result<Mapping, Vec<Diagnostic>> {
        let mut merged = mapping_json("built-in import mapping", DEFAULT_MAPPING)?;
        let user = mapping_json(display_path, text)?;
        lay_over(&mut merged, user);
        serde_json::from_value(merged).map_err(|error| {
            vec![
                Diagnostic::new(
                    Code::SchemaViolation,
                    format!("the import mapping does not fit its format: {error}"),
                )
                .at(display_path, 0..0, "here")
                .help("see docs/interop.md#mapping-tables"),
            ]
        })
    }
}

impl Mapping {
    pub(crate) fn control_name(&self) -> String {
        word(&self.control)
    }

    pub(crate) fn cost_name(&self) -> String {
        word(&self.cost)
    }
}

/// A value's name as the format writes it.
fn word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|json| json.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A mapping file as JSON, checked against its schema.
fn mapping_json(display_path: &str, text: &str) -> Result<Json, Vec<Diagnostic>> {
    let document = parse_document(display_path, text, Syntax::Toml)?;
    let json = document.to_json();
    let problems = schema::validate(FileKind::ImportMapping, display_path, &document, &json);
    if problems.is_empty() {
        Ok(json)
    } else {
        Err(problems)
    }
}

/// Tables merge key by key; anything else replaces.
fn lay_over(base: &mut Json, over: Json) {
    match (base, over) {
        (Json::Object(base), Json::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => lay_over(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// A source's word as a mapping key: lowercase, with hyphens for spaces and underscores.
pub(crate) fn key(word: &str) -> String {
    word.trim()
        .to_ascii_lowercase()
        .replace([' ', '_', '/'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_mapping_is_valid_and_complete() {
        let mapping = Mapping::default_mapping();
        assert_eq!(mapping.severity, Severity::Medium);
        assert_eq!(
            mapping.capec.scopes["confidentiality"],
            vec!["information-disclosure".to_string()]
        );
    }

    #[test]
    fn a_user_file_replaces_only_the_keys_it_gives() {
        let mapping = Mapping::parse(
            "mine.toml",
            "format = 1\nseverity = \"high\"\n[attack.tactics]\ndiscovery = [\"spoofing\"]\n",
        )
        .expect("valid");
        assert_eq!(mapping.severity, Severity::High);
        assert_eq!(mapping.attack.tactics["discovery"], vec!["spoofing"]);
        assert_eq!(
            mapping.attack.tactics["collection"],
            vec!["information-disclosure"]
        );
    }

    #[test]
    fn mistakes_in_a_user_file_point_at_their_line() {
        let text = "format = 1\nseverity = \"huge\"\n[capec.scopes]\nintegrity = [\"tampring\"]\n[attack]\ntactic = {}\n";
        let problems = Mapping::parse("mine.toml", text).expect_err("invalid");
        assert_eq!(problems.len(), 3, "{problems:#?}");
    }
}
