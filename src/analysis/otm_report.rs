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

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json, json};

use crate::analysis::diagram::{Diagram, Rect};
use crate::analysis::report::{Report, ThreatInstance, ThreatState};
use crate::analysis::view::{residual_name, state_name};
use crate::compile::KnowledgeBase;
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
pub fn otm(
    report: &Report,
    kb: &KnowledgeBase,
    model: &FlatModel,
    diagram: &Diagram,
    source: Option<&OtmSource>,
) -> String {
    let mut attached: HashMap<&str, Vec<Json>> = HashMap::new();
    for threat in &report.threats {
        attached
            .entry(threat.element.as_str())
            .or_default()
            .push(threat_instance(threat));
    }
    let mut document = match source {
        Some(source) => from_source(source, model, &mut attached),
        None => from_model(report, model, diagram, &mut attached),
    };
    if let Json::Object(top) = &mut document {
        append(top, "threats", threats(report, kb));
        append(top, "mitigations", mitigations(report, kb));
    }
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

/// The OTM file as read, each element given the threats found on it.
fn from_source(
    source: &OtmSource,
    model: &FlatModel,
    attached: &mut HashMap<&str, Vec<Json>>,
) -> Json {
    let mut document = source.document.clone();
    // Model element (table, position) → OTM array and position.
    let places: HashMap<(&str, &str), (&str, usize)> = source
        .origins
        .iter()
        .filter_map(
            |(field, place)| match (field.as_slice(), place.as_slice()) {
                ([table, position], [array, index]) => Some((
                    (table.as_str(), position.as_str()),
                    (array.as_str(), index.parse().ok()?),
                )),
                _ => None,
            },
        )
        .collect();
    for element in model.elements() {
        let table = match element.role {
            Role::Component => "component",
            Role::Flow => "flow",
            Role::Boundary => "boundary",
        };
        let position = element.position.to_string();
        let Some((array, index)) = places.get(&(table, position.as_str())) else {
            continue;
        };
        let Some(threats) = attached.remove(element.id) else {
            continue;
        };
        if let Some(Json::Object(item)) = document
            .get_mut(*array)
            .and_then(|items| items.get_mut(*index))
        {
            append(item, "threats", threats);
        }
    }
    document
}

/// A threatpack model as OTM.
fn from_model(
    report: &Report,
    model: &FlatModel,
    diagram: &Diagram,
    attached: &mut HashMap<&str, Vec<Json>>,
) -> Json {
    let typed: Model = model.to_model();
    let mut threats_of = |id: &str| attached.remove(id).unwrap_or_default();
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
        let threats = threats_of(&boundary.id);
        if !threats.is_empty() {
            item.insert("threats".into(), json!(threats));
        }
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
        let threats = threats_of(&component.id);
        if !threats.is_empty() {
            item.insert("threats".into(), json!(threats));
        }
        components.push(Json::Object(item));
    }
    let mut dataflows = Vec::new();
    for flow in &typed.flow {
        let mut item = element_base(&flow.id, &flow.name, &flow.description);
        item.insert("source".into(), json!(flow.source));
        item.insert("destination".into(), json!(flow.target));
        item.insert("tags".into(), json!([flow.kind]));
        attributes(&mut item, &flow.properties);
        let threats = threats_of(&flow.id);
        if !threats.is_empty() {
            item.insert("threats".into(), json!(threats));
        }
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

/// Adds `items` to the array `key` of `object` (made when absent or null), skipping those
/// whose `id` (or `threat`) is there already.
fn append(object: &mut Map<String, Json>, key: &str, items: Vec<Json>) {
    if items.is_empty() {
        return;
    }
    let slot = object.entry(key).or_insert(Json::Null);
    if !slot.is_array() {
        *slot = Json::Array(Vec::new());
    }
    if let Json::Array(existing) = slot {
        let identity = |item: &Json| {
            item.get("id")
                .or_else(|| item.get("threat"))
                .and_then(Json::as_str)
                .map(str::to_string)
        };
        let mut seen: Vec<String> = existing.iter().filter_map(identity).collect();
        for item in items {
            match identity(&item) {
                Some(id) if seen.contains(&id) => {}
                Some(id) => {
                    seen.push(id);
                    existing.push(item);
                }
                None => existing.push(item),
            }
        }
    }
}

/// A threat instance on its element: the threat's id, its state, its mitigations' states.
fn threat_instance(threat: &ThreatInstance) -> Json {
    let mitigations: Vec<Json> = threat
        .mitigations
        .iter()
        .map(|mitigation| {
            json!({
                "mitigation": mitigation.mitigation,
                "state": mitigation_state(mitigation.status),
            })
        })
        .collect();
    json!({
        "threat": threat.id,
        "state": threat_state(threat.state),
        "mitigations": mitigations,
    })
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

/// The top-level threats: one per threat instance.
fn threats(report: &Report, kb: &KnowledgeBase) -> Vec<Json> {
    let patterns: HashMap<&str, _> = kb
        .attack_patterns
        .iter()
        .map(|pattern| (pattern.id.as_str(), pattern))
        .collect();
    report
        .threats
        .iter()
        .map(|threat| {
            let pattern = patterns.get(threat.attack_pattern.as_str());
            let severity = threat.severity.score();
            let likelihood = threat.likelihood.map_or(severity, rating_score);
            let impact = threat.impact.map_or(severity, rating_score);
            let from = |rating: Option<Rating>, what: &str| match rating {
                Some(_) => format!("the attack pattern's {what}"),
                None => format!(
                    "the attack pattern's severity ({}): it rates no {what}",
                    threat.severity.as_str()
                ),
            };
            let mut item = json!({
                "id": threat.id,
                "name": threat.name,
                "categories": threat.categories.iter().map(|c| category(c)).collect::<Vec<_>>(),
                "risk": {
                    "likelihood": likelihood,
                    "likelihoodComment": format!("Before mitigations, from {}.", from(threat.likelihood, "likelihood")),
                    "impact": impact,
                    "impactComment": format!(
                        "Before mitigations, from {}. Residual risk with the mitigations in place: {} ({}).",
                        from(threat.impact, "impact"),
                        residual_name(threat.residual),
                        threat.residual.score
                    ),
                },
                "tags": [threat.attack_pattern],
                "attributes": {
                    "attack-pattern": threat.attack_pattern,
                    "element": threat.element,
                    "severity": threat.severity.as_str(),
                    "residual-score": threat.residual.score,
                    "residual-severity": residual_name(threat.residual),
                    "state": state_name(threat.state),
                    "tier": threat.tier,
                },
            });
            if let Some(pattern) = pattern {
                if !pattern.description.trim().is_empty() {
                    item["description"] = json!(pattern.description.trim());
                }
                if !pattern.references.cwe.is_empty() {
                    item["cwes"] = json!(
                        pattern
                            .references
                            .cwe
                            .iter()
                            .map(|cwe| format!("CWE-{cwe}"))
                            .collect::<Vec<_>>()
                    );
                }
            }
            item
        })
        .collect()
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
