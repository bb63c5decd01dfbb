//! The threat model as an Open Threat Model file (`apply --format otm`, OTM 0.2.0): the model
//! with every threat instance attached to its component, dataflow or trust zone, and the
//! threats and mitigations defined at the top.
//!
//! A model read from an OTM file is given back as it was (ids, trust zones, representations,
//! assets, anything else it held), threats added to its elements: the elements are found by
//! where the conversion took them from (`ModelFile::origins`), not by their ids. Any other model
//! is built into OTM: components, dataflows, a trust zone per boundary (nested as the diagram
//! nests them, see `diagram`), a trust zone for the components outside every boundary, and the
//! diagram's layout as a representation.
//!
//! Each threat instance is one OTM threat (id `T-...`, as in every report): its risk is the
//! attack pattern's likelihood and impact before mitigations (OTM tools take the mitigations'
//! `riskReduction` and state into account themselves), the residual is in its attributes.
//! Mapping and losses: docs/interop.md.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value as Json, json};

use crate::analysis::diagram::{Diagram, Rect};
use crate::analysis::report::{Report, ThreatInstance, ThreatState};
use crate::analysis::view::{residual_name, state_name};
use crate::compile::{CompiledAttackPattern, KnowledgeBase};
use crate::model::{ImplementationStatus, Model, Rating};
use crate::system::flat::FlatModel;
use crate::system::validate::Role;

/// An OTM file a model was converted from: the file as read, and where each model field came
/// from in it (`ModelFile::origins`).
#[derive(Debug, Clone)]
pub struct OtmSource {
    pub document: Json,
    pub origins: Vec<(Vec<String>, Vec<String>)>,
}

/// The OTM version written when the model was not an OTM file.
pub const OTM_VERSION: &str = "0.2.0";

/// The id of the diagram representation of a model built into OTM.
const REPRESENTATION: &str = "threatpack-diagram";

/// The OTM file of `report` on `model` (drawn as `diagram`), as pretty JSON; `source` is the
/// OTM file the model came from, if it did.
///
/// The model's part is built as a JSON tree; the threats (a large model has millions) are
/// written from the report as the tree is, never copied into it.
pub fn otm(
    report: &Report,
    kb: &KnowledgeBase,
    model: &FlatModel,
    diagram: &Diagram,
    source: Option<&OtmSource>,
) -> String {
    let mut by_element: HashMap<&str, Vec<&ThreatInstance>> = HashMap::new();
    for threat in &report.threats {
        by_element
            .entry(threat.element.as_str())
            .or_default()
            .push(threat);
    }
    // Each OTM element (array, position) and the threats found on it.
    let mut attached: HashMap<(&'static str, usize), Vec<&ThreatInstance>> = HashMap::new();
    let mut skeleton = match source {
        Some(source) => {
            for (place, element) in source_places(source, model) {
                if let Some(threats) = by_element.remove(element) {
                    attached.insert(place, threats);
                }
            }
            source.document.clone()
        }
        None => {
            for (place, element) in model_places(model) {
                if let Some(threats) = by_element.remove(element) {
                    attached.insert(place, threats);
                }
            }
            from_model(report, model, diagram)
        }
    };
    // The keys the threats go under, where the file has none yet.
    for (array, position) in attached.keys() {
        if let Some(Json::Object(item)) = skeleton
            .get_mut(*array)
            .and_then(|items| items.get_mut(*position))
        {
            item.entry("threats").or_insert(Json::Null);
        }
    }
    let patterns: HashMap<&str, &CompiledAttackPattern> = kb
        .attack_patterns
        .iter()
        .map(|pattern| (pattern.id.as_str(), pattern))
        .collect();
    let definitions: Vec<Definition<'_>> = report
        .threats
        .iter()
        .map(|threat| Definition {
            threat,
            pattern: patterns.get(threat.attack_pattern.as_str()).copied(),
        })
        .collect();
    let mitigations = mitigations(report, kb);
    if let Json::Object(top) = &mut skeleton {
        if !definitions.is_empty() {
            top.entry("threats").or_insert(Json::Null);
        }
        if !mitigations.is_empty() {
            top.entry("mitigations").or_insert(Json::Null);
        }
    }
    let document = Document {
        skeleton: &skeleton,
        attached: &attached,
        definitions: &definitions,
        mitigations: &mitigations,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

/// The OTM arrays whose items may carry threats, and the model table each comes from.
const ELEMENT_ARRAYS: [(&str, &str); 3] = [
    ("components", "component"),
    ("dataflows", "flow"),
    ("trustZones", "boundary"),
];

fn table_of(role: Role) -> &'static str {
    match role {
        Role::Component => "component",
        Role::Flow => "flow",
        Role::Boundary => "boundary",
    }
}

/// Where each model element is in the OTM file it came from (by the conversion's origins).
fn source_places<'m>(
    source: &OtmSource,
    model: &'m FlatModel,
) -> Vec<((&'static str, usize), &'m str)> {
    let places: HashMap<(&str, &str), (&'static str, usize)> = source
        .origins
        .iter()
        .filter_map(
            |(field, place)| match (field.as_slice(), place.as_slice()) {
                ([table, position], [array, index]) => {
                    let (array, _) = ELEMENT_ARRAYS
                        .iter()
                        .find(|(name, expected)| name == array && expected == table)?;
                    Some((
                        (table.as_str(), position.as_str()),
                        (*array, index.parse().ok()?),
                    ))
                }
                _ => None,
            },
        )
        .collect();
    model
        .elements()
        .filter_map(|element| {
            let position = element.position.to_string();
            let place = places.get(&(table_of(element.role), position.as_str()))?;
            Some((*place, element.id))
        })
        .collect()
}

/// Where each model element is in the OTM built from the model: the same position in its
/// array as in its table.
fn model_places(model: &FlatModel) -> Vec<((&'static str, usize), &str)> {
    model
        .elements()
        .filter_map(|element| {
            let table = table_of(element.role);
            let (array, _) = ELEMENT_ARRAYS.iter().find(|(_, name)| *name == table)?;
            Some(((*array, element.position), element.id))
        })
        .collect()
}

/// The OTM file: the skeleton's JSON, with the threats attached to its elements and the threat
/// and mitigation definitions added at the top (after those the file had, without repeating an
/// id it has).
struct Document<'a> {
    skeleton: &'a Json,
    attached: &'a HashMap<(&'static str, usize), Vec<&'a ThreatInstance>>,
    definitions: &'a [Definition<'a>],
    mitigations: &'a [Json],
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Json::Object(top) = self.skeleton else {
            return self.skeleton.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(top.len()))?;
        for (key, value) in top {
            match (key.as_str(), value) {
                ("threats", existing) => map.serialize_entry(
                    key,
                    &Appended {
                        existing,
                        added: self.definitions,
                    },
                )?,
                ("mitigations", existing) => map.serialize_entry(
                    key,
                    &Appended {
                        existing,
                        added: self.mitigations,
                    },
                )?,
                (name, Json::Array(items)) => {
                    match ELEMENT_ARRAYS.iter().find(|(array, _)| *array == name) {
                        Some((array, _)) => map.serialize_entry(
                            key,
                            &Elements {
                                array,
                                items,
                                attached: self.attached,
                            },
                        )?,
                        None => map.serialize_entry(key, value)?,
                    }
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

/// An OTM array of elements, each with the threats found on it.
struct Elements<'a> {
    array: &'static str,
    items: &'a [Json],
    attached: &'a HashMap<(&'static str, usize), Vec<&'a ThreatInstance>>,
}

impl Serialize for Elements<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.items.len()))?;
        for (position, item) in self.items.iter().enumerate() {
            match (self.attached.get(&(self.array, position)), item) {
                (Some(threats), Json::Object(entries)) => {
                    sequence.serialize_element(&Element { entries, threats })?
                }
                _ => sequence.serialize_element(item)?,
            }
        }
        sequence.end()
    }
}

struct Element<'a> {
    entries: &'a Map<String, Json>,
    threats: &'a [&'a ThreatInstance],
}

impl Serialize for Element<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in self.entries {
            if key == "threats" {
                let attached: Vec<Attached<'_>> =
                    self.threats.iter().map(|threat| Attached(threat)).collect();
                map.serialize_entry(
                    key,
                    &Appended {
                        existing: value,
                        added: &attached,
                    },
                )?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The items of an array the file may already have (`existing`: an array, or null), then the
/// `added` ones whose id it does not hold (its items' `id`, or `threat` for a threat on an
/// element).
struct Appended<'a, T> {
    existing: &'a Json,
    added: &'a [T],
}

/// What an added item is known by.
trait Identified {
    fn identity(&self) -> &str;
}

impl Identified for Json {
    fn identity(&self) -> &str {
        self.get("id").and_then(Json::as_str).unwrap_or_default()
    }
}

impl Identified for Definition<'_> {
    fn identity(&self) -> &str {
        &self.threat.id
    }
}

impl Identified for Attached<'_> {
    fn identity(&self) -> &str {
        &self.0.id
    }
}

impl<T: Serialize + Identified> Serialize for Appended<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let existing: &[Json] = self.existing.as_array().map_or(&[], Vec::as_slice);
        let held: HashSet<&str> = existing
            .iter()
            .filter_map(|item| item.get("id").or_else(|| item.get("threat")))
            .filter_map(Json::as_str)
            .collect();
        let mut sequence = serializer.serialize_seq(None)?;
        for item in existing {
            sequence.serialize_element(item)?;
        }
        for item in self.added {
            if !held.contains(item.identity()) {
                sequence.serialize_element(item)?;
            }
        }
        sequence.end()
    }
}

/// A threat instance on its element: the threat's id, its state, its mitigations' states.
struct Attached<'a>(&'a ThreatInstance);

impl Serialize for Attached<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Instance<'a> {
            threat: &'a str,
            state: &'static str,
            mitigations: Vec<MitigationState<'a>>,
        }
        #[derive(Serialize)]
        struct MitigationState<'a> {
            mitigation: &'a str,
            state: &'static str,
        }
        let threat = self.0;
        Instance {
            threat: &threat.id,
            state: threat_state(threat.state),
            mitigations: threat
                .mitigations
                .iter()
                .map(|mitigation| MitigationState {
                    mitigation: &mitigation.mitigation,
                    state: mitigation_state(mitigation.status),
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

/// The top-level definition of a threat instance.
struct Definition<'a> {
    threat: &'a ThreatInstance,
    pattern: Option<&'a CompiledAttackPattern>,
}

impl Serialize for Definition<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Threat<'a> {
            id: &'a str,
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            description: Option<&'a str>,
            categories: Vec<String>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            cwes: Vec<String>,
            risk: Risk,
            tags: [&'a str; 1],
            attributes: Attributes<'a>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Risk {
            likelihood: u32,
            likelihood_comment: String,
            impact: u32,
            impact_comment: String,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "kebab-case")]
        struct Attributes<'a> {
            attack_pattern: &'a str,
            element: &'a str,
            severity: &'static str,
            residual_score: u32,
            residual_severity: &'static str,
            state: &'static str,
            tier: &'a str,
        }
        let threat = self.threat;
        let severity = threat.severity.score();
        let from = |rating: Option<Rating>, what: &str| match rating {
            Some(_) => format!("the attack pattern's {what}"),
            None => format!(
                "the attack pattern's severity ({}): it rates no {what}",
                threat.severity.as_str()
            ),
        };
        Threat {
            id: &threat.id,
            name: &threat.name,
            description: self
                .pattern
                .map(|pattern| pattern.description.trim())
                .filter(|description| !description.is_empty()),
            categories: threat.categories.iter().map(|c| category(c)).collect(),
            cwes: self
                .pattern
                .map(|pattern| {
                    pattern
                        .references
                        .cwe
                        .iter()
                        .map(|cwe| format!("CWE-{cwe}"))
                        .collect()
                })
                .unwrap_or_default(),
            risk: Risk {
                likelihood: threat.likelihood.map_or(severity, rating_score),
                likelihood_comment: format!(
                    "Before mitigations, from {}.",
                    from(threat.likelihood, "likelihood")
                ),
                impact: threat.impact.map_or(severity, rating_score),
                impact_comment: format!(
                    "Before mitigations, from {}. Residual risk with the mitigations in place: {} ({}).",
                    from(threat.impact, "impact"),
                    residual_name(threat.residual),
                    threat.residual.score
                ),
            },
            tags: [&threat.attack_pattern],
            attributes: Attributes {
                attack_pattern: &threat.attack_pattern,
                element: &threat.element,
                severity: threat.severity.as_str(),
                residual_score: threat.residual.score,
                residual_severity: residual_name(threat.residual),
                state: state_name(threat.state),
                tier: &threat.tier,
            },
        }
        .serialize(serializer)
    }
}

/// A threatpack model as OTM.
fn from_model(report: &Report, model: &FlatModel, diagram: &Diagram) -> Json {
    let typed: Model = model.to_model();
    let name = typed
        .model
        .as_ref()
        .map_or(report.model.name.clone(), |info| info.name.clone());
    let mut project = json!({"name": name, "id": slug(&name)});
    if let Some(description) = typed
        .model
        .as_ref()
        .and_then(|info| info.description.clone())
    {
        project["description"] = json!(description);
    }
    if !typed.system.is_empty() {
        project["attributes"] = json!(typed.system);
    }
    // Components outside every boundary need a trust zone: OTM requires a parent.
    let zone_ids: Vec<&str> = diagram.zones.iter().map(|zone| zone.id.as_str()).collect();
    let mut outside = "threatpack-outside".to_string();
    while zone_ids.contains(&outside.as_str()) {
        outside.push('-');
        outside.push('x');
    }
    let mut trust_zones = Vec::new();
    for (boundary, zone) in typed.boundary.iter().zip(&diagram.zones) {
        let mut item = element_base(&boundary.id, &boundary.name, &boundary.description);
        item.insert("type".into(), json!(boundary.kind));
        let rating = boundary
            .properties
            .get("trust_rating")
            .and_then(Json::as_u64)
            .filter(|rating| *rating <= 100)
            .unwrap_or(50);
        item.insert("risk".into(), json!({"trustRating": rating}));
        if let Some(parent) = zone.parent {
            item.insert("parent".into(), json!({"trustZone": zone_ids[parent]}));
        }
        item.insert(
            "representations".into(),
            representation(&zone.id, zone.rect),
        );
        attributes(&mut item, &boundary.properties);
        trust_zones.push(Json::Object(item));
    }
    if diagram.nodes.iter().any(|node| node.zone.is_none()) {
        trust_zones.push(json!({
            "id": outside,
            "name": "Outside every boundary",
            "description": "The components the threatpack model puts in no boundary.",
            "risk": {"trustRating": 0},
        }));
    }
    let mut components = Vec::new();
    for (component, node) in typed.component.iter().zip(&diagram.nodes) {
        let mut item = element_base(&component.id, &component.name, &component.description);
        item.insert("type".into(), json!(component.kind));
        let parent = node.zone.map_or(outside.as_str(), |zone| zone_ids[zone]);
        item.insert("parent".into(), json!({"trustZone": parent}));
        item.insert(
            "representations".into(),
            representation(&component.id, node.rect),
        );
        attributes(&mut item, &component.properties);
        components.push(Json::Object(item));
    }
    let mut dataflows = Vec::new();
    for flow in &typed.flow {
        let mut item = element_base(&flow.id, &flow.name, &flow.description);
        item.insert("source".into(), json!(flow.source));
        item.insert("destination".into(), json!(flow.target));
        item.insert("tags".into(), json!([flow.kind]));
        attributes(&mut item, &flow.properties);
        dataflows.push(Json::Object(item));
    }
    json!({
        "otmVersion": OTM_VERSION,
        "project": project,
        "representations": [{
            "name": "Data-flow diagram (threatpack)",
            "id": REPRESENTATION,
            "type": "diagram",
            "size": {"width": diagram.width, "height": diagram.height},
        }],
        "trustZones": trust_zones,
        "components": components,
        "dataflows": dataflows,
    })
}

/// `id`, `name` (the id when the model gives none) and `description` when there is one.
fn element_base(
    id: &str,
    name: &Option<String>,
    description: &Option<String>,
) -> Map<String, Json> {
    let mut item = Map::new();
    item.insert("id".into(), json!(id));
    item.insert("name".into(), json!(name.as_deref().unwrap_or(id)));
    if let Some(description) = description {
        item.insert("description".into(), json!(description));
    }
    item
}

fn attributes(item: &mut Map<String, Json>, properties: &BTreeMap<String, Json>) {
    if !properties.is_empty() {
        item.insert("attributes".into(), json!(properties));
    }
}

fn representation(id: &str, rect: Rect) -> Json {
    json!([{
        "representation": REPRESENTATION,
        "id": format!("{id}-shape"),
        "position": {"x": rect.x, "y": rect.y},
        "size": {"width": rect.width, "height": rect.height},
    }])
}

/// OTM threat states, as IriusRisk names them.
pub fn threat_state(state: ThreatState) -> &'static str {
    match state {
        ThreatState::Unmitigated | ThreatState::Planned => "exposed",
        ThreatState::Accepted => "accepted",
        ThreatState::PartiallyMitigated => "partly-mitigated",
        ThreatState::Mitigated => "mitigated",
    }
}

/// OTM mitigation (countermeasure) states, as IriusRisk names them.
pub fn mitigation_state(status: ImplementationStatus) -> &'static str {
    match status {
        ImplementationStatus::Existing => "implemented",
        ImplementationStatus::Planned => "required",
        ImplementationStatus::Missing => "recommended",
        ImplementationStatus::NotApplicable => "not-applicable",
        ImplementationStatus::AcceptedRisk => "rejected",
    }
}

/// A 1–5 rating on the 0–100 scale severities use (docs/pack-format.md).
fn rating_score(rating: Rating) -> u32 {
    match rating {
        Rating::VeryLow => 1,
        Rating::Low => 25,
        Rating::Medium => 50,
        Rating::High => 75,
        Rating::VeryHigh => 100,
    }
}

/// A STRIDE category as the OTM examples write it (`Information Disclosure`); others as they
/// are.
fn category(category: &str) -> String {
    match category {
        "spoofing" => "Spoofing",
        "tampering" => "Tampering",
        "repudiation" => "Repudiation",
        "information-disclosure" => "Information Disclosure",
        "denial-of-service" => "Denial of Service",
        "elevation-of-privilege" => "Elevation of Privilege",
        other => other,
    }
    .to_string()
}

/// The top-level mitigations: each one a threat instance names, its `riskReduction` the
/// strongest of its links there.
fn mitigations(report: &Report, kb: &KnowledgeBase) -> Vec<Json> {
    let mut strongest: BTreeMap<&str, u32> = BTreeMap::new();
    for threat in &report.threats {
        for mitigation in &threat.mitigations {
            let entry = strongest.entry(mitigation.mitigation.as_str()).or_default();
            *entry = (*entry).max(mitigation.strength.percent());
        }
    }
    let known: HashMap<&str, _> = kb
        .mitigations
        .iter()
        .map(|mitigation| (mitigation.id.as_str(), mitigation))
        .collect();
    strongest
        .into_iter()
        .filter_map(|(id, reduction)| {
            let mitigation = known.get(id)?;
            let mut item = json!({
                "id": id,
                "name": mitigation.name,
                "riskReduction": reduction,
                "attributes": {
                    "control": mitigation.control,
                    "cost": mitigation.cost,
                    "implementation": mitigation.implementation,
                    "verification": mitigation.verification,
                },
            });
            if !mitigation.description.trim().is_empty() {
                item["description"] = json!(mitigation.description.trim());
            }
            Some(item)
        })
        .collect()
}

/// A project id from its name: lowercase letters and digits, `-` between words.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "threat-model".to_string()
    } else {
        slug
    }
}
