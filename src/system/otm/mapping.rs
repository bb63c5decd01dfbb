//! The mapping table of OTM conversion: which entity kind and property values an OTM component
//! or trust-zone type becomes, and which properties tags and attributes set
//! (schema/otm-mapping.schema.json). The built-in table maps to threatpack/stride-core; a
//! user's TOML file is laid over it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::schema::{self, FileKind};
use crate::system::{Syntax, parse_document};

/// How OTM elements become model elements (schema/otm-mapping.schema.json).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Every trust zone whose type is not in `trust_zone_types`.
    pub trust_zone: ElementMapping,
    /// Every dataflow.
    pub dataflow: ElementMapping,
    /// OTM component types, matched exactly.
    pub types: BTreeMap<String, ElementMapping>,
    pub trust_zone_types: BTreeMap<String, ElementMapping>,
    pub tags: BTreeMap<String, TagMapping>,
    pub attributes: BTreeMap<String, AttributeMapping>,
    /// The user's mapping file, named in help messages; `None` for the built-in mapping alone.
    pub file: Option<String>,
}

/// What an OTM element of some type becomes: an entity kind and property values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ElementMapping {
    pub kind: String,
    #[serde(default)]
    pub properties: BTreeMap<String, Json>,
}

/// The properties an element carrying an OTM tag gets.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TagMapping {
    pub properties: BTreeMap<String, Json>,
}

/// The property an OTM attribute's value is copied into.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttributeMapping {
    pub property: String,
}

/// The mapping that ships with threatpack: OTM types to threatpack/stride-core entities.
const BUILTIN_MAPPING: &str = include_str!("builtin-mapping.toml");

/// A mapping file as written; `format` is checked by the schema.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MappingFile {
    include_builtin: Option<bool>,
    trust_zone: Option<ElementMapping>,
    dataflow: Option<ElementMapping>,
    #[serde(default)]
    types: BTreeMap<String, ElementMapping>,
    #[serde(default)]
    trust_zone_types: BTreeMap<String, ElementMapping>,
    #[serde(default)]
    tags: BTreeMap<String, TagMapping>,
    #[serde(default)]
    attributes: BTreeMap<String, AttributeMapping>,
}

impl Mapping {
    /// The built-in mapping (src/system/otm/builtin-mapping.toml).
    pub fn builtin() -> &'static Mapping {
        static BUILTIN: OnceLock<Mapping> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let file = read_mapping_file("built-in OTM mapping", BUILTIN_MAPPING)
                .expect("the built-in OTM mapping is valid (tested)");
            file.over(Mapping::bare(), None)
        })
    }

    /// Reads a user's mapping file (TOML), layered over the built-in mapping unless it says
    /// `include-builtin = false`.
    pub fn parse(display_path: &str, text: &str) -> Result<Mapping, Vec<Diagnostic>> {
        let file = read_mapping_file(display_path, text)?;
        let base = if file.include_builtin.unwrap_or(true) {
            Mapping::builtin().clone()
        } else {
            Mapping::bare()
        };
        Ok(file.over(base, Some(display_path.to_string())))
    }

    /// No types, tags or attributes; zones and flows are the generic local entities.
    fn bare() -> Mapping {
        let local = |kind: &str| ElementMapping {
            kind: kind.to_string(),
            properties: BTreeMap::new(),
        };
        Mapping {
            trust_zone: local("trust-boundary"),
            dataflow: local("data-flow"),
            types: BTreeMap::new(),
            trust_zone_types: BTreeMap::new(),
            tags: BTreeMap::new(),
            attributes: BTreeMap::new(),
            file: None,
        }
    }
}

impl MappingFile {
    fn over(self, mut base: Mapping, file: Option<String>) -> Mapping {
        if let Some(trust_zone) = self.trust_zone {
            base.trust_zone = trust_zone;
        }
        if let Some(dataflow) = self.dataflow {
            base.dataflow = dataflow;
        }
        base.types.extend(self.types);
        base.trust_zone_types.extend(self.trust_zone_types);
        base.tags.extend(self.tags);
        base.attributes.extend(self.attributes);
        base.file = file;
        base
    }
}

fn read_mapping_file(display_path: &str, text: &str) -> Result<MappingFile, Vec<Diagnostic>> {
    let document = parse_document(display_path, text, Syntax::Toml)?;
    let json = document.to_json();
    let problems = schema::validate(FileKind::OtmMapping, display_path, &document, &json);
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_json::from_value(json).map_err(|error| {
        vec![
            Diagnostic::new(
                Code::SchemaViolation,
                format!("the OTM mapping does not fit its format: {error}"),
            )
            .at(display_path, 0..0, "here")
            .help("see docs/system-model.md#the-mapping-file"),
        ]
    })
}
