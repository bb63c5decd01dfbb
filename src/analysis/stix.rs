//! The knowledge behind a report as a STIX 2.1 bundle (`apply --format stix`): an
//! `attack-pattern` for each attack pattern found, a `course-of-action` for each mitigation that
//! addresses one of them there, and a `mitigates` relationship for each such pair, with the
//! link's text when the pack gives one.
//!
//! The same input gives the same bytes: ids are UUIDv5 (RFC 9562) of the item's threatpack id in
//! a fixed namespace, `created` and `modified` are one fixed time (a pack carries no dates), and
//! objects come sorted by id. CAPEC, CWE, ATT&CK and ASVS references become
//! `external_references`, and so does the threatpack id itself (`source_name: threatpack`), so a
//! STIX consumer can come back to the pack. Threat instances (which element), residual risk and
//! mitigation status are the model's, not the knowledge's, and are left out: they are in the
//! JSON, OTM and HTML reports.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use sha1::{Digest, Sha1};

use crate::analysis::report::Report;
use crate::compile::{CompiledAttackPattern, CompiledMitigation, KnowledgeBase};
use crate::model::References;

/// The namespace of threatpack's STIX ids (a UUIDv4 drawn once).
const NAMESPACE: [u8; 16] = [
    0xcd, 0xe9, 0x54, 0xcd, 0xef, 0xb4, 0x44, 0x30, 0xb8, 0x84, 0xc6, 0x2c, 0x40, 0xf2, 0x6c, 0xea,
];

/// `created` and `modified` of every object: fixed, so that a bundle depends only on the pack
/// and the model (STIX requires both; a pack has no date to take them from).
pub const TIMESTAMP: &str = "1970-01-01T00:00:00.000Z";

#[derive(Debug, Serialize)]
struct Bundle {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    objects: Vec<Object>,
}

#[derive(Debug, Serialize)]
struct Object {
    #[serde(rename = "type")]
    kind: &'static str,
    spec_version: &'static str,
    id: String,
    created: &'static str,
    modified: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_ref: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    kill_chain_phases: Vec<KillChainPhase>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
}

#[derive(Debug, Serialize)]
struct KillChainPhase {
    kill_chain_name: String,
    phase_name: String,
}

#[derive(Debug, Serialize)]
struct ExternalReference {
    source_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// The STIX 2.1 bundle of what `report` found, described from `kb` (the knowledge base it was
/// made with), as pretty JSON.
pub fn stix(report: &Report, kb: &KnowledgeBase) -> String {
    let patterns: BTreeMap<&str, &CompiledAttackPattern> = kb
        .attack_patterns
        .iter()
        .map(|pattern| (pattern.id.as_str(), pattern))
        .collect();
    let mitigations: BTreeMap<&str, &CompiledMitigation> = kb
        .mitigations
        .iter()
        .map(|mitigation| (mitigation.id.as_str(), mitigation))
        .collect();
    let mut found_patterns = BTreeSet::new();
    let mut found_mitigations = BTreeSet::new();
    let mut pairs = BTreeSet::new();
    for threat in &report.threats {
        found_patterns.insert(threat.attack_pattern.as_str());
        for mitigation in &threat.mitigations {
            found_mitigations.insert(mitigation.mitigation.as_str());
            pairs.insert((
                mitigation.mitigation.as_str(),
                threat.attack_pattern.as_str(),
            ));
        }
    }
    let mut objects = Vec::new();
    for id in found_patterns {
        let Some(pattern) = patterns.get(id) else {
            continue;
        };
        objects.push(Object {
            name: Some(pattern.name.clone()),
            description: non_empty(&pattern.description),
            kill_chain_phases: pattern
                .categories
                .iter()
                .map(|category| match category.split_once(':') {
                    Some((chain, phase)) => KillChainPhase {
                        kill_chain_name: chain.to_string(),
                        phase_name: phase.to_string(),
                    },
                    None => KillChainPhase {
                        kill_chain_name: "stride".to_string(),
                        phase_name: category.clone(),
                    },
                })
                .collect(),
            external_references: references(id, &pattern.references),
            ..object("attack-pattern", stix_id("attack-pattern", id))
        });
    }
    for id in found_mitigations {
        let Some(mitigation) = mitigations.get(id) else {
            continue;
        };
        let mut description = mitigation.description.trim().to_string();
        for (label, text) in [
            ("Implementation", &mitigation.implementation),
            ("Verification", &mitigation.verification),
        ] {
            if !text.trim().is_empty() {
                description.push_str(&format!("\n\n{label}: {}", text.trim()));
            }
        }
        objects.push(Object {
            name: Some(mitigation.name.clone()),
            description: non_empty(&description),
            external_references: references(id, &mitigation.references),
            ..object("course-of-action", stix_id("course-of-action", id))
        });
    }
    // A link's text, by its ends (the first link of a pair that has one).
    let mut texts: HashMap<(&str, &str), &str> = HashMap::new();
    for link in &kb.links {
        if let Some(description) = &link.description {
            texts
                .entry((link.mitigation.as_str(), link.attack_pattern.as_str()))
                .or_insert(description.as_str());
        }
    }
    for (mitigation, pattern) in pairs {
        let description = texts
            .get(&(mitigation, pattern))
            .map(|text| text.to_string());
        objects.push(Object {
            description,
            relationship_type: Some("mitigates"),
            source_ref: Some(stix_id("course-of-action", mitigation)),
            target_ref: Some(stix_id("attack-pattern", pattern)),
            ..object(
                "relationship",
                stix_id("relationship", &format!("{mitigation} mitigates {pattern}")),
            )
        });
    }
    objects.sort_by(|a, b| a.id.cmp(&b.id));
    // The bundle is named by what it holds.
    let contents: Vec<&str> = objects.iter().map(|object| object.id.as_str()).collect();
    let bundle = Bundle {
        kind: "bundle",
        id: stix_id("bundle", &contents.join(" ")),
        objects,
    };
    let mut text = serde_json::to_string_pretty(&bundle).unwrap_or_default();
    text.push('\n');
    text
}

fn object(kind: &'static str, id: String) -> Object {
    Object {
        kind,
        spec_version: "2.1",
        id,
        created: TIMESTAMP,
        modified: TIMESTAMP,
        name: None,
        description: None,
        relationship_type: None,
        source_ref: None,
        target_ref: None,
        kill_chain_phases: Vec::new(),
        external_references: Vec::new(),
    }
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `TYPE--UUID`, the UUID version 5 of `TYPE:NAME` in threatpack's namespace.
pub fn stix_id(kind: &str, name: &str) -> String {
    format!(
        "{kind}--{}",
        uuid_v5(&NAMESPACE, format!("{kind}:{name}").as_bytes())
    )
}

/// The UUID version 5 (RFC 9562: SHA-1 of the namespace and the name) of `name`.
fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(namespace);
    hasher.update(name);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The item's own id, then its CAPEC, CWE, ATT&CK and ASVS references and URLs, as STIX
/// external references (MITRE's source names and URLs).
fn references(id: &str, references: &References) -> Vec<ExternalReference> {
    let mut out = vec![ExternalReference {
        source_name: "threatpack".to_string(),
        external_id: Some(id.to_string()),
        url: None,
    }];
    for number in &references.capec {
        out.push(ExternalReference {
            source_name: "capec".to_string(),
            external_id: Some(format!("CAPEC-{number}")),
            url: Some(format!(
                "https://capec.mitre.org/data/definitions/{number}.html"
            )),
        });
    }
    for number in &references.cwe {
        out.push(ExternalReference {
            source_name: "cwe".to_string(),
            external_id: Some(format!("CWE-{number}")),
            url: Some(format!(
                "https://cwe.mitre.org/data/definitions/{number}.html"
            )),
        });
    }
    for reference in &references.attack {
        let (matrix, attack_id) = reference
            .split_once(':')
            .unwrap_or(("enterprise", reference.as_str()));
        let source_name = match matrix {
            "ics" => "mitre-ics-attack",
            "mobile" => "mitre-mobile-attack",
            _ => "mitre-attack",
        };
        let path = if attack_id.starts_with('M') {
            format!("mitigations/{attack_id}")
        } else {
            format!("techniques/{}", attack_id.replace('.', "/"))
        };
        out.push(ExternalReference {
            source_name: source_name.to_string(),
            external_id: Some(attack_id.to_string()),
            url: Some(format!("https://attack.mitre.org/{path}/")),
        });
    }
    for requirement in &references.asvs {
        out.push(ExternalReference {
            source_name: "owasp-asvs".to_string(),
            external_id: Some(requirement.clone()),
            url: None,
        });
    }
    for url in &references.url {
        out.push(ExternalReference {
            source_name: "url".to_string(),
            external_id: None,
            url: Some(url.clone()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_the_rfc_example() {
        // Python's uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com").
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&dns, b"www.example.com"),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn ids_are_version_5_uuids_of_the_name() {
        let id = stix_id("attack-pattern", "acme/web:attack-pattern/sql-injection");
        assert_eq!(
            id,
            stix_id("attack-pattern", "acme/web:attack-pattern/sql-injection")
        );
        assert_ne!(id, stix_id("attack-pattern", "acme/web:attack-pattern/xss"));
        let uuid = id.strip_prefix("attack-pattern--").expect("prefix");
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|part| part.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'), "{id}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
    }

    #[test]
    fn attack_references_name_their_matrix() {
        let refs = references(
            "x",
            &References {
                attack: vec!["T1059.001".into(), "ics:T0866".into(), "M1032".into()],
                ..References::default()
            },
        );
        let urls: Vec<(&str, &str)> = refs[1..]
            .iter()
            .map(|r| (r.source_name.as_str(), r.url.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            urls,
            [
                (
                    "mitre-attack",
                    "https://attack.mitre.org/techniques/T1059/001/"
                ),
                (
                    "mitre-ics-attack",
                    "https://attack.mitre.org/techniques/T0866/"
                ),
                (
                    "mitre-attack",
                    "https://attack.mitre.org/mitigations/M1032/"
                ),
            ]
        );
    }
}
