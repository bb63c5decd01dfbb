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
    /// Project attributes copied into `[system]` facts.
    pub system_attributes: BTreeMap<String, AttributeMapping>,
    /// Properties a component of an entity kind gets when a flow reaches it from an untrusted
    /// zone, unless it already has them (docs/system-model.md#what-the-diagram-shows).
    pub exposed: BTreeMap<String, BTreeMap<String, Json>>,
    /// Properties an untrusted zone gets, unless it already has them.
    pub untrusted_zone: BTreeMap<String, Json>,
    /// By entity kind: the properties a component gets, unless it has them, when the system
    /// handles personal data (the `[system]` fact `personal_data_fact` is not false).
    pub personal_data: BTreeMap<String, BTreeMap<String, Json>>,
    pub personal_data_fact: Option<String>,
    /// The user's mapping file, named in help messages; `None` for the built-in mapping alone.
    pub file: Option<String>,
    /// The user's mapping text, to lay it over another format's built-in mapping.
    user_text: Option<String>,
}

/// What an OTM element of some type becomes: an entity kind and property values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ElementMapping {
    pub kind: String,
    #[serde(default)]
    pub properties: BTreeMap<String, Json>,
    /// Attribute mappings for elements of this type only, over the global ones.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeMapping>,
    /// Elements of this type are out of scope, for this reason (an OTM `code-class` is part of
    /// its parent's code, not a service of its own), unless the element says otherwise.
    #[serde(default, rename = "out-of-scope")]
    pub out_of_scope: Option<String>,
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
    /// Value translation: a value (as text: `true`, `Yes`, `Android`) found here becomes the
    /// value it maps to; one not listed leaves the property unset (TMT's `Select`). Without
    /// `values`, the value is copied as it is.
    #[serde(default)]
    pub values: Option<BTreeMap<String, Json>>,
}

/// Properties set on an element (`[untrusted-zone]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PropertySet {
    #[serde(default)]
    pub properties: BTreeMap<String, Json>,
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
    #[serde(default)]
    system_attributes: BTreeMap<String, AttributeMapping>,
    #[serde(default)]
    exposed: BTreeMap<String, BTreeMap<String, Json>>,
    untrusted_zone: Option<PropertySet>,
    #[serde(default)]
    personal_data: BTreeMap<String, BTreeMap<String, Json>>,
    personal_data_fact: Option<String>,
}

impl Mapping {
    /// The built-in mapping (src/system/otm/builtin-mapping.toml).
    pub fn builtin() -> &'static Mapping {
        static BUILTIN: OnceLock<Mapping> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Mapping::from_builtin_text("built-in OTM mapping", BUILTIN_MAPPING, Mapping::bare())
        })
    }

    /// A built-in mapping of some format from its text, over `base`; it is tested to be valid.
    pub(crate) fn from_builtin_text(name: &str, text: &str, base: Mapping) -> Mapping {
        let file = read_mapping_file(name, text).expect("a built-in mapping is valid (tested)");
        file.over(base, None)
    }

    /// Reads a user's mapping file (TOML), layered over the built-in mapping unless it says
    /// `include-builtin = false`.
    pub fn parse(display_path: &str, text: &str) -> Result<Mapping, Vec<Diagnostic>> {
        let mut mapping = Mapping::parse_over(display_path, text, Mapping::builtin())?;
        mapping.user_text = Some(text.to_string());
        Ok(mapping)
    }

    fn parse_over(
        display_path: &str,
        text: &str,
        builtin: &Mapping,
    ) -> Result<Mapping, Vec<Diagnostic>> {
        let file = read_mapping_file(display_path, text)?;
        let base = if file.include_builtin.unwrap_or(true) {
            builtin.clone()
        } else {
            Mapping::bare()
        };
        Ok(file.over(base, Some(display_path.to_string())))
    }

    /// This mapping for another format (Threat Dragon, TMT): that format's built-in mapping
    /// when the user gave none, else the user's file laid over it instead of over OTM's.
    pub(crate) fn for_format(
        user: Option<&Mapping>,
        builtin: &'static Mapping,
    ) -> Result<std::borrow::Cow<'static, Mapping>, Vec<Diagnostic>> {
        match user
            .and_then(|mapping| Some((mapping.file.as_deref()?, mapping.user_text.as_deref()?)))
        {
            Some((file, text)) => Ok(std::borrow::Cow::Owned(Mapping::parse_over(
                file, text, builtin,
            )?)),
            None => Ok(std::borrow::Cow::Borrowed(builtin)),
        }
    }

    /// No types, tags or attributes; zones and flows are the generic local entities.
    pub(crate) fn bare() -> Mapping {
        let local = |kind: &str| ElementMapping {
            kind: kind.to_string(),
            properties: BTreeMap::new(),
            attributes: BTreeMap::new(),
            out_of_scope: None,
        };
        Mapping {
            trust_zone: local("trust-boundary"),
            dataflow: local("data-flow"),
            types: BTreeMap::new(),
            trust_zone_types: BTreeMap::new(),
            tags: BTreeMap::new(),
            attributes: BTreeMap::new(),
            system_attributes: BTreeMap::new(),
            exposed: BTreeMap::new(),
            untrusted_zone: BTreeMap::new(),
            personal_data: BTreeMap::new(),
            personal_data_fact: None,
            file: None,
            user_text: None,
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
        base.system_attributes.extend(self.system_attributes);
        base.exposed.extend(self.exposed);
        base.personal_data.extend(self.personal_data);
        if self.personal_data_fact.is_some() {
            base.personal_data_fact = self.personal_data_fact;
        }
        if let Some(untrusted_zone) = self.untrusted_zone {
            base.untrusted_zone = untrusted_zone.properties;
        }
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
