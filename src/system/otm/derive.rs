//! What a diagram shows without saying it in a property: which trust zones are untrusted (the
//! internet), which components a flow from such a zone reaches (internet-facing), and which
//! zones hold nothing. Rules: docs/system-model.md#what-the-diagram-shows.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::mapping::Mapping;
use crate::model::{Model, OutOfScope};

/// What the converter knows of a trust zone beyond its boundary: its OTM id, type and name,
/// and where it is in the file.
pub(super) struct ZoneFacts {
    pub names: Vec<String>,
    pub path: Vec<String>,
}

/// The id IriusRisk gives its Internet trust zone in every OTM file it writes.
const IRIUSRISK_INTERNET_ZONE: &str = "f0ba7722-39b6-4c81-8290-a30a248bb8d9";

/// The reason given to a zone that holds no component.
pub const EMPTY_ZONE_REASON: &str = "no component is inside this zone (derived from the diagram)";

/// Applies the derivation rules to a converted model (boundaries in the order of `zones`).
/// `public_flows` are flows marked as crossing a public network (Threat Dragon's
/// `isPublicNetwork`). Returns the origins of every value set: model field, document path.
pub(super) fn diagram(
    model: &mut Model,
    mapping: &Mapping,
    zones: &[ZoneFacts],
    public_flows: &[usize],
    flow_paths: &[Vec<String>],
) -> Vec<(Vec<String>, Vec<String>)> {
    let mut origins = Vec::new();
    let mut untrusted_members: BTreeSet<String> = BTreeSet::new();
    for (index, (boundary, facts)) in model.boundary.iter_mut().zip(zones).enumerate() {
        if boundary.contains.is_empty() && boundary.out_of_scope.is_none() {
            boundary.out_of_scope = Some(OutOfScope::Reason(EMPTY_ZONE_REASON.to_string()));
        }
        if !is_untrusted(&boundary.properties, mapping, facts) {
            continue;
        }
        untrusted_members.extend(boundary.contains.iter().cloned());
        for (name, value) in &mapping.untrusted_zone {
            if !boundary.properties.contains_key(name) {
                boundary.properties.insert(name.clone(), value.clone());
                origins.push((
                    field(&["boundary", &index.to_string(), "properties", name]),
                    facts.path.clone(),
                ));
            }
        }
    }
    let mut reached: BTreeMap<String, usize> = BTreeMap::new();
    for (index, flow) in model.flow.iter().enumerate() {
        let from_untrusted =
            untrusted_members.contains(&flow.source) && !untrusted_members.contains(&flow.target);
        if from_untrusted || public_flows.contains(&index) {
            reached.entry(flow.target.clone()).or_insert(index);
        }
    }
    let personal_data = mapping
        .personal_data_fact
        .as_ref()
        .is_some_and(|fact| model.system.get(fact) != Some(&Json::Bool(false)));
    for component in &mut model.component {
        let assumed = mapping.personal_data.get(&component.kind);
        if let (true, Some(assumed)) = (personal_data, assumed) {
            for (name, value) in assumed {
                component
                    .properties
                    .entry(name.clone())
                    .or_insert_with(|| value.clone());
            }
        }
    }
    for (index, component) in model.component.iter_mut().enumerate() {
        let Some(&flow) = reached.get(&component.id) else {
            continue;
        };
        let Some(exposed) = mapping.exposed.get(&component.kind) else {
            continue;
        };
        for (name, value) in exposed {
            if component.properties.contains_key(name) {
                continue;
            }
            component.properties.insert(name.clone(), value.clone());
            if let Some(flow_path) = flow_paths.get(flow) {
                origins.push((
                    field(&["component", &index.to_string(), "properties", name]),
                    flow_path.clone(),
                ));
            }
        }
    }
    origins
}

/// A zone is untrusted when its properties say so (every property of `[untrusted-zone]` set,
/// to those values), else when its id, type or name is the internet (or IriusRisk's Internet
/// zone id). A zone whose properties set one of those to another value is trusted. OTM trust
/// ratings are not read: real files rate a DMZ ("Public", 1) or a public cloud (10) as low as
/// the internet, and everything such a zone calls would become internet-facing.
fn is_untrusted(properties: &BTreeMap<String, Json>, mapping: &Mapping, zone: &ZoneFacts) -> bool {
    let marker = &mapping.untrusted_zone;
    if !marker.is_empty() && marker.keys().any(|name| properties.contains_key(name)) {
        return marker
            .iter()
            .all(|(name, value)| properties.get(name) == Some(value));
    }
    zone.names
        .iter()
        .any(|name| is_internet(name) || name == IRIUSRISK_INTERNET_ZONE)
}

/// `Internet`, `internet`, `Public Internet`, `the-internet`: letters only, lowercased.
pub fn is_internet(name: &str) -> bool {
    let letters: String = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|character| character.to_ascii_lowercase())
        .collect();
    matches!(
        letters.as_str(),
        "internet" | "publicinternet" | "theinternet"
    )
}

fn field(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| part.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::is_internet;

    #[test]
    fn internet_names() {
        for name in [
            "Internet",
            "internet",
            "Public Internet",
            "the-internet",
            " INTERNET ",
        ] {
            assert!(is_internet(name), "{name}");
        }
        for name in ["Intranet", "Public Cloud", "internet-gateway", ""] {
            assert!(!is_internet(name), "{name}");
        }
    }
}
