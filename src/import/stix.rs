//! The STIX 2.0 and 2.1 objects MITRE publishes CAPEC and ATT&CK in: only the fields the
//! importers read (serde skips the rest), and the bundle with its objects by id.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::ImportError;

/// A STIX bundle.
#[derive(Debug, Deserialize)]
pub(crate) struct Bundle {
    #[serde(rename = "type")]
    pub kind: String,
    /// STIX 2.0 bundles say it here; 2.1 objects say it each.
    #[serde(default)]
    pub spec_version: Option<String>,
    pub objects: Vec<Object>,
}

/// One STIX object: the common properties, and the CAPEC and ATT&CK extensions read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Object {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub spec_version: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub revoked: Option<bool>,
    pub external_references: Vec<ExternalReference>,
    pub kill_chain_phases: Vec<KillChainPhase>,
    pub relationship_type: Option<String>,
    pub source_ref: Option<String>,
    pub target_ref: Option<String>,
    /// A marking definition's statement (the copyright).
    pub definition: Option<Definition>,
    // ATT&CK
    pub x_mitre_deprecated: Option<bool>,
    pub x_mitre_is_subtechnique: Option<bool>,
    pub x_mitre_platforms: Vec<String>,
    pub x_mitre_domains: Vec<String>,
    pub x_mitre_shortname: Option<String>,
    pub x_mitre_version: Option<String>,
    pub x_mitre_detection: Option<IgnoredAny>,
    // CAPEC
    pub x_capec_abstraction: Option<String>,
    pub x_capec_status: Option<String>,
    pub x_capec_version: Option<String>,
    pub x_capec_typical_severity: Option<String>,
    pub x_capec_likelihood_of_attack: Option<String>,
    pub x_capec_extended_description: Option<String>,
    pub x_capec_consequences: BTreeMap<String, Vec<String>>,
    pub x_capec_domains: Vec<String>,
    pub x_capec_child_of_refs: Vec<String>,
    /// CAPEC fields the pack format has no place for: only whether they are there.
    pub x_capec_execution_flow: Option<IgnoredAny>,
    pub x_capec_prerequisites: Option<IgnoredAny>,
    pub x_capec_skills_required: Option<IgnoredAny>,
    pub x_capec_resources_required: Option<IgnoredAny>,
    pub x_capec_example_instances: Option<IgnoredAny>,
    pub x_capec_alternate_terms: Option<IgnoredAny>,
    pub x_capec_can_precede_refs: Option<IgnoredAny>,
    pub x_capec_can_follow_refs: Option<IgnoredAny>,
    pub x_capec_peer_of_refs: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExternalReference {
    pub source_name: String,
    pub external_id: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct KillChainPhase {
    pub kill_chain_name: String,
    pub phase_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Definition {
    pub statement: Option<String>,
}

impl Object {
    /// The id the source gives in `external_references` under `source_name`.
    pub fn external_id(&self, source_name: &str) -> Option<&str> {
        self.external_references
            .iter()
            .find(|reference| reference.source_name == source_name)
            .and_then(|reference| reference.external_id.as_deref())
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked == Some(true)
    }

    pub fn is_deprecated(&self) -> bool {
        self.x_mitre_deprecated == Some(true)
    }

    /// How the report names the object: its external id, else its name, else its STIX id.
    pub fn label(&self) -> String {
        let external = self
            .external_references
            .iter()
            .find_map(|reference| reference.external_id.as_deref());
        match (external, &self.name) {
            (Some(id), _) => id.to_string(),
            (None, Some(name)) => format!("{name} ({})", self.id),
            (None, None) => self.id.clone(),
        }
    }
}

/// Reads a STIX bundle; `what` names the format expected in errors.
pub(crate) fn read_bundle(input: &[u8], what: &str) -> Result<Bundle, ImportError> {
    let bundle: Bundle = serde_json::from_slice(input).map_err(|error| {
        ImportError::Malformed(format!(
            "not a STIX bundle of {what}: {error}; give the bundle as MITRE publishes it (a JSON object with \"type\": \"bundle\" and \"objects\")"
        ))
    })?;
    if bundle.kind != "bundle" {
        return Err(ImportError::Malformed(format!(
            "not a STIX bundle of {what}: its \"type\" is `{}`, not `bundle`",
            bundle.kind
        )));
    }
    Ok(bundle)
}

/// The STIX version of a bundle: the bundle's (2.0), else its objects' (2.1).
pub(crate) fn spec_version(bundle: &Bundle) -> String {
    bundle
        .spec_version
        .clone()
        .or_else(|| {
            bundle
                .objects
                .iter()
                .find_map(|object| object.spec_version.clone())
        })
        .unwrap_or_else(|| "2.x".to_string())
}

/// The copyright statements of a bundle's marking definitions, sorted.
pub(crate) fn statements(bundle: &Bundle) -> String {
    let mut statements: Vec<&str> = bundle
        .objects
        .iter()
        .filter(|object| object.kind == "marking-definition")
        .filter_map(|object| object.definition.as_ref()?.statement.as_deref())
        .collect();
    statements.sort_unstable();
    statements.dedup();
    statements.join("\n\n")
}
