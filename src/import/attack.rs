//! MITRE ATT&CK (Enterprise, ICS, Mobile) to a pack, from a STIX 2.0 or 2.1 bundle
//! (docs/interop.md#attck).

use std::collections::{BTreeMap, BTreeSet};

use super::mapping::{Mapping, key};
use super::pack::{AttackPattern, Entity, Link, Mitigation, Pack};
use super::stix::{self, Object};
use super::{Built, ImportError, Notes, slug, text};
use crate::model::{ElementKind, References, Status};

/// The pack's tiers: techniques, then their sub-techniques.
const TIERS: [&str; 2] = ["technique", "sub-technique"];

/// The matrix a bundle holds.
struct Matrix {
    /// `enterprise`, `ics` or `mobile`: the prefix of ids in `references.attack`.
    name: &'static str,
    title: &'static str,
    kill_chain: &'static str,
}

const MATRICES: [(&str, Matrix); 3] = [
    (
        "enterprise-attack",
        Matrix {
            name: "enterprise",
            title: "Enterprise",
            kill_chain: "mitre-attack",
        },
    ),
    (
        "ics-attack",
        Matrix {
            name: "ics",
            title: "ICS",
            kill_chain: "mitre-ics-attack",
        },
    ),
    (
        "mobile-attack",
        Matrix {
            name: "mobile",
            title: "Mobile",
            kill_chain: "mitre-mobile-attack",
        },
    ),
];

/// `T1234`, `T1234.567` (what `references.attack` accepts, without a matrix).
pub(crate) fn is_technique_id(id: &str) -> bool {
    let Some(number) = id.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = match number.split_once('.') {
        Some((main, sub)) => (main, Some(sub)),
        None => (number, None),
    };
    digits(main, 4) && sub.is_none_or(|sub| digits(sub, 3))
}

/// An object's ATT&CK id: `mitre-attack`'s, or, in older ICS and Mobile objects,
/// `mitre-ics-attack`'s or `mitre-mobile-attack`'s.
fn attack_id(object: &Object) -> Option<&str> {
    ["mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"]
        .into_iter()
        .find_map(|source| object.external_id(source))
}

fn is_mitigation_id(id: &str) -> bool {
    id.strip_prefix('M').is_some_and(|number| digits(number, 4))
}

fn digits(text: &str, count: usize) -> bool {
    text.len() == count && text.bytes().all(|byte| byte.is_ascii_digit())
}

pub(crate) fn import(input: &[u8], mapping: &Mapping) -> Result<Built, ImportError> {
    let bundle = stix::read_bundle(input, "ATT&CK")?;
    let spec = stix::spec_version(&bundle);
    let mut notes = Notes::default();
    let mut defaults = Notes::default();

    // The matrix: the domain most techniques are in.
    let mut domains: BTreeMap<&str, usize> = BTreeMap::new();
    for object in bundle.objects.iter().filter(|o| o.kind == "attack-pattern") {
        for domain in &object.x_mitre_domains {
            *domains.entry(domain).or_default() += 1;
        }
    }
    let domain = domains
        .iter()
        .max_by_key(|(domain, count)| (**count, std::cmp::Reverse(**domain)))
        .map(|(domain, _)| *domain)
        .ok_or_else(|| {
            ImportError::Invalid(
                "the bundle holds no ATT&CK technique (no attack-pattern with x_mitre_domains): is it an ATT&CK bundle from github.com/mitre/cti or mitre-attack/attack-stix-data?".to_string(),
            )
        })?;
    let matrix = MATRICES
        .iter()
        .find(|(name, _)| *name == domain)
        .map(|(_, matrix)| matrix)
        .ok_or_else(|| {
            ImportError::Invalid(format!(
                "the bundle's techniques are of the domain `{domain}`, not enterprise-attack, ics-attack or mobile-attack"
            ))
        })?;
    let prefix = if matrix.name == "enterprise" {
        String::new()
    } else {
        format!("{}:", matrix.name)
    };

    let by_id: BTreeMap<&str, &Object> = bundle
        .objects
        .iter()
        .map(|object| (object.id.as_str(), object))
        .collect();
    let release = bundle
        .objects
        .iter()
        .find(|object| object.kind == "x-mitre-collection")
        .and_then(|object| object.x_mitre_version.clone())
        .unwrap_or_default();
    let version = super::capec::release_version(&release);
    let unversioned = version.is_none().then(|| {
        if release.is_empty() {
            "the bundle names no ATT&CK release (STIX 2.0 bundles have no x-mitre-collection): version 0.1.0; give --version".to_string()
        } else {
            super::capec::no_release(&release)
        }
    });

    // Techniques, by STIX id, with their ATT&CK id; a second object with the same ATT&CK id
    // is left out, preferring the one that is neither revoked nor deprecated.
    let mut techniques: BTreeMap<&str, String> = BTreeMap::new();
    let mut by_attack_id: BTreeMap<String, &Object> = BTreeMap::new();
    for object in bundle.objects.iter().filter(|o| o.kind == "attack-pattern") {
        let Some(attack_id) = attack_id(object).filter(|id| is_technique_id(id)) else {
            notes.add(
                "an attack pattern without an ATT&CK technique id was left out",
                object.label(),
            );
            continue;
        };
        let retired = |o: &Object| o.is_revoked() || o.is_deprecated();
        match by_attack_id.get(attack_id) {
            Some(known) if !retired(known) || retired(object) => {
                notes.add(
                    "a second technique with the same ATT&CK id was left out",
                    format!("{attack_id} ({})", object.id),
                );
                continue;
            }
            Some(known) => {
                notes.add(
                    "a second technique with the same ATT&CK id was left out",
                    format!("{attack_id} ({})", known.id),
                );
                techniques.remove(known.id.as_str());
            }
            None => {}
        }
        by_attack_id.insert(attack_id.to_string(), object);
        techniques.insert(&object.id, attack_id.to_string());
    }

    // Relationships.
    let mut revoked_by: BTreeMap<&str, &str> = BTreeMap::new();
    let mut targets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut mitigates: Vec<&Object> = Vec::new();
    for object in bundle.objects.iter().filter(|o| o.kind == "relationship") {
        let source = object.source_ref.as_deref().unwrap_or_default();
        let target = object.target_ref.as_deref().unwrap_or_default();
        let kind = object.relationship_type.as_deref().unwrap_or_default();
        if object.is_revoked() || object.is_deprecated() {
            notes.add(
                "revoked or deprecated relationships were left out",
                object.id.clone(),
            );
            continue;
        }
        match kind {
            "revoked-by" => {
                revoked_by.insert(source, target);
            }
            "targets" if techniques.contains_key(source) => {
                targets.entry(source).or_default().insert(target);
            }
            "mitigates" => mitigates.push(object),
            "subtechnique-of" => {} // a sub-technique's ATT&CK id names its parent
            other => notes.add(
                format!("relationships of type `{other}` have no place in a pack"),
                object.id.clone(),
            ),
        }
    }

    // Mitigations: courses of action with an M-id, and any other that mitigates something.
    let mut linked_sources: BTreeSet<&str> = BTreeSet::new();
    for relationship in &mitigates {
        linked_sources.insert(relationship.source_ref.as_deref().unwrap_or_default());
    }
    let mut mitigation_ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut mitigations: Vec<Mitigation> = Vec::new();
    for object in bundle
        .objects
        .iter()
        .filter(|o| o.kind == "course-of-action")
    {
        let external = attack_id(object).unwrap_or_default();
        if !linked_sources.contains(object.id.as_str()) {
            notes.add(
                "a mitigation that mitigates no technique was left out (ATT&CK's pre-2019 mitigations are all such)",
                object.label(),
            );
            continue;
        }
        let id = if is_mitigation_id(external) {
            external.to_ascii_lowercase()
        } else {
            slug(
                if external.is_empty() {
                    object.name.as_deref().unwrap_or_default()
                } else {
                    external
                },
                "mitigation-",
            )
        };
        let id = if id.starts_with('m') && is_mitigation_id(external) {
            id
        } else {
            format!("mitigation-{id}")
        };
        if mitigation_ids.values().any(|known| *known == id) {
            notes.add(
                "a second mitigation with the same id was left out",
                object.label(),
            );
            continue;
        }
        let label = object.label();
        let mut references = References::default();
        if is_mitigation_id(external) {
            references.attack.push(format!("{prefix}{external}"));
        }
        references.url = urls(object, &label, &mut notes);
        mitigation_ids.insert(&object.id, id.clone());
        mitigations.push(Mitigation {
            id,
            name: object.name.clone().unwrap_or_else(|| label.clone()),
            description: text(
                object.description.as_deref().unwrap_or_default(),
                &label,
                &mut notes,
            ),
            control: mapping.control,
            cost: mapping.cost,
            implementation: String::new(),
            verification: String::new(),
            tier: TIERS[0].to_string(),
            status: if object.is_revoked() || object.is_deprecated() {
                Status::Deprecated
            } else {
                Status::Stable
            },
            references,
            addresses: Vec::new(),
        });
    }

    // Entities: the platforms (and, for ICS, the assets techniques target).
    let mut entities: BTreeMap<String, Entity> = BTreeMap::new();
    let mut entity = |name: &str, prefix: &str, description: String, defaults: &mut Notes| {
        let id = format!("{prefix}{}", slug(name, "x-"));
        let kind = match mapping.attack.kinds.get(&key(name)) {
            Some(kind) => *kind,
            None => ElementKind::Process,
        };
        entities.entry(id.clone()).or_insert_with(|| {
            if kind == ElementKind::Process && !mapping.attack.kinds.contains_key(&key(name)) {
                defaults.add(
                    "platforms and assets the mapping does not list are processes",
                    name,
                );
            }
            Entity {
                id: id.clone(),
                name: name.to_string(),
                description,
                kind,
                parent: None,
                properties: std::collections::BTreeMap::new(),
            }
        });
        id
    };

    let technique_name = |attack_id: &str| -> Option<String> {
        by_attack_id
            .get(attack_id)
            .and_then(|object| object.name.clone())
    };
    let mut attack_patterns = Vec::new();
    for (stix_id, attack_id) in &techniques {
        let object = by_id[stix_id];
        let id = slug(&attack_id.replace('.', "-"), "t");
        let mut name = object.name.clone().unwrap_or_else(|| attack_id.clone());
        let subtechnique = attack_id.contains('.');
        if let Some((parent, _)) = attack_id.split_once('.') {
            match technique_name(parent) {
                Some(parent_name) => name = format!("{parent_name}: {name}"),
                None => notes.add(
                    "a sub-technique whose technique is not in the bundle keeps its own name",
                    attack_id.clone(),
                ),
            }
        }
        let mut applies_to = Vec::new();
        for target in targets.get(stix_id).into_iter().flatten() {
            match by_id.get(target) {
                Some(asset) if asset.kind == "x-mitre-asset" => {
                    let asset_name = asset.name.clone().unwrap_or_else(|| asset.label());
                    let description = text(
                        asset.description.as_deref().unwrap_or(&asset_name),
                        &asset.label(),
                        &mut notes,
                    );
                    applies_to.push(entity(&asset_name, "asset-", description, &mut defaults));
                }
                _ => notes.add(
                    "a \"targets\" relationship to something other than an asset was left out",
                    attack_id.clone(),
                ),
            }
        }
        if applies_to.is_empty() {
            for platform in &object.x_mitre_platforms {
                if platform == "None" {
                    continue;
                }
                let description = format!(
                    "Systems of the ATT&CK {} platform \"{platform}\". Techniques for the platform apply to it.",
                    matrix.title
                );
                applies_to.push(entity(platform, "platform-", description, &mut defaults));
            }
        }
        if applies_to.is_empty() {
            defaults.add(
                "no platform and no targeted asset: applies to the entity `platform-unspecified`",
                attack_id.clone(),
            );
            applies_to.push(entity(
                "unspecified",
                "platform-",
                format!(
                    "Any system: ATT&CK {} techniques that name no platform or asset apply to it.",
                    matrix.title
                ),
                &mut defaults,
            ));
        }
        applies_to.sort();
        applies_to.dedup();

        let mut categories = BTreeSet::new();
        for phase in &object.kill_chain_phases {
            if phase.kill_chain_name != matrix.kill_chain {
                notes.add(
                    format!(
                        "tactics of the kill chain `{}` were left out",
                        phase.kill_chain_name
                    ),
                    attack_id.clone(),
                );
                continue;
            }
            match mapping.attack.tactics.get(&phase.phase_name) {
                Some(mapped) => categories.extend(mapped.iter().cloned()),
                None => defaults.add(
                    format!(
                        "tactic `{}` is not in the mapping and gives no category",
                        phase.phase_name
                    ),
                    attack_id.clone(),
                ),
            }
            let tactic = format!("attack:{}", slug(&phase.phase_name, "t-"));
            categories.insert(tactic);
        }
        let categories = super::finish_categories(
            categories,
            &mapping.attack.fallback.categories,
            attack_id,
            &mut defaults,
            "no tactic maps to a STRIDE category",
        );

        let retired = object.is_revoked() || object.is_deprecated();
        let replaced_by = if object.is_revoked() {
            replacement(
                stix_id,
                &revoked_by,
                &by_id,
                &techniques,
                attack_id,
                &mut notes,
            )
        } else {
            if object.is_deprecated() {
                notes.add(
                    "deprecated, and ATT&CK names no replacement",
                    attack_id.clone(),
                );
            }
            None
        };
        if object.x_mitre_detection.is_some() {
            notes.add(
                "detection texts (x_mitre_detection): no place for them in the pack format",
                attack_id.clone(),
            );
        }
        let mut references = References {
            attack: vec![format!("{prefix}{attack_id}")],
            url: urls(object, attack_id, &mut notes),
            ..References::default()
        };
        for reference in &object.external_references {
            if reference.source_name == "capec" {
                match reference
                    .external_id
                    .as_deref()
                    .and_then(|id| id.strip_prefix("CAPEC-"))
                    .and_then(|number| number.parse().ok())
                {
                    Some(number) => references.capec.push(number),
                    None => notes.add(
                        "a CAPEC reference that is not CAPEC-NUMBER was left out",
                        attack_id.clone(),
                    ),
                }
            }
        }
        references.capec.sort_unstable();
        references.capec.dedup();
        attack_patterns.push(AttackPattern {
            id,
            name,
            description: text(
                object.description.as_deref().unwrap_or_default(),
                attack_id,
                &mut notes,
            ),
            categories,
            applies_to,
            condition: None,
            severity: mapping.severity,
            likelihood: None,
            tier: TIERS[usize::from(subtechnique)].to_string(),
            status: if retired {
                Status::Deprecated
            } else {
                Status::Stable
            },
            replaced_by,
            references,
        });
    }
    defaults.add(
        format!(
            "ATT&CK rates no technique: severity `{}` from the mapping",
            mapping.severity.as_str()
        ),
        "every technique",
    );

    // Links, with the text of each "mitigates" relationship.
    let pattern_ids: BTreeMap<&str, String> = techniques
        .iter()
        .map(|(stix_id, attack_id)| (*stix_id, slug(&attack_id.replace('.', "-"), "t")))
        .collect();
    let mut links: BTreeMap<String, Vec<Link>> = BTreeMap::new();
    for relationship in mitigates {
        let source = relationship.source_ref.as_deref().unwrap_or_default();
        let target = relationship.target_ref.as_deref().unwrap_or_default();
        match (mitigation_ids.get(source), pattern_ids.get(target)) {
            (Some(mitigation), Some(attack_pattern)) => {
                let description = relationship
                    .description
                    .as_deref()
                    .map(|description| text(description, &relationship.id, &mut notes))
                    .filter(|description| !description.is_empty());
                links.entry(mitigation.clone()).or_default().push(Link {
                    attack_pattern: attack_pattern.clone(),
                    strength: mapping.strength,
                    description,
                });
            }
            _ => notes.add(
                "a \"mitigates\" relationship whose ends are not both imported was left out",
                relationship.id.clone(),
            ),
        }
    }
    for mitigation in &mut mitigations {
        mitigation.addresses = links.remove(&mitigation.id).unwrap_or_default();
    }
    if !mitigations.is_empty() {
        defaults.add(
            format!(
                "ATT&CK rates no mitigation: control `{}`, cost `{}` and link strength `{}` from the mapping; implementation and verification left empty (each link carries MITRE's text)",
                mapping.control_name(),
                mapping.cost_name(),
                mapping.strength.as_str()
            ),
            "every mitigation",
        );
    }
    for object in &bundle.objects {
        match object.kind.as_str() {
            "attack-pattern" | "course-of-action" | "relationship" | "x-mitre-asset"
            | "x-mitre-collection" | "identity" | "marking-definition" => {}
            "x-mitre-tactic" | "x-mitre-matrix" => notes.add(
                "tactics and matrices are not items: each technique's tactics are its `attack:` categories",
                object.label(),
            ),
            other => notes.add(
                format!("objects of type `{other}` have no place in a pack"),
                object.label(),
            ),
        }
    }

    let source = format!(
        "ATT&CK {} {} (STIX {spec} bundle)",
        matrix.title,
        if release.is_empty() {
            "(release not named)"
        } else {
            &release
        }
    );
    let pack = Pack {
        name: format!("mitre/attack-{}", matrix.name),
        version: version.unwrap_or_else(|| "0.1.0".to_string()),
        catalog: Some(format!("attack-{}", matrix.name)),
        description: format!(
            "MITRE ATT&CK® {title}{release}: techniques and sub-techniques (tiers `technique` and \
             `sub-technique`) with their tactics as STRIDE and `attack:` categories, the platforms{assets} \
             they apply to as entities, and mitigations linked with MITRE's text for each. Imported \
             by `threatpack import attack` from {source}. © The MITRE Corporation: terms of use in \
             LICENSE, attribution in NOTICE.",
            title = matrix.title,
            release = if release.is_empty() {
                String::new()
            } else {
                format!(" {release}")
            },
            assets = if matrix.name == "ics" {
                " and assets"
            } else {
                ""
            },
        ),
        license: "LicenseRef-MITRE-ATTACK-Terms-of-Use".to_string(),
        homepage: "https://attack.mitre.org/".to_string(),
        tags: vec![
            "attack".to_string(),
            "mitre".to_string(),
            matrix.name.to_string(),
        ],
        tiers: TIERS.iter().map(|tier| (*tier).to_string()).collect(),
        copyright: stix::statements(&bundle),
        source_name: "ATT&CK".to_string(),
        entities: entities.into_values().collect(),
        attack_patterns,
        mitigations,
        attribution: None,
    };
    Ok(Built {
        pack,
        source,
        notes,
        defaults,
        unversioned,
    })
}

/// The technique a revoked one was revoked by, followed while that one is revoked too.
fn replacement(
    stix_id: &str,
    revoked_by: &BTreeMap<&str, &str>,
    by_id: &BTreeMap<&str, &Object>,
    techniques: &BTreeMap<&str, String>,
    attack_id: &str,
    notes: &mut Notes,
) -> Option<String> {
    let mut current = stix_id;
    for _ in 0..16 {
        let Some(next) = revoked_by.get(current) else {
            notes.add(
                "revoked, and the bundle has no \"revoked-by\" relationship: no `replaced-by`",
                attack_id,
            );
            return None;
        };
        let Some(attack_id_of_next) = techniques.get(next) else {
            notes.add(
                "revoked by an object that is not an imported technique: no `replaced-by`",
                attack_id,
            );
            return None;
        };
        if by_id.get(next).is_some_and(|object| object.is_revoked()) {
            current = next;
            continue;
        }
        return Some(slug(&attack_id_of_next.replace('.', "-"), "t"));
    }
    None
}

/// The http(s) URLs of an object's external references: its ATT&CK page and its citations.
fn urls(object: &Object, item: &str, notes: &mut Notes) -> Vec<String> {
    let mut urls = BTreeSet::new();
    for reference in &object.external_references {
        let Some(url) = reference.url.as_deref() else {
            continue;
        };
        let url = url.trim();
        if (url.starts_with("https://") || url.starts_with("http://"))
            && !url.chars().any(char::is_whitespace)
        {
            urls.insert(url.to_string());
        } else {
            notes.add(
                format!("a reference URL `{url}` that is not http(s) was left out"),
                item,
            );
        }
    }
    urls.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_and_mitigation_ids() {
        assert!(is_technique_id("T1059"));
        assert!(is_technique_id("T1059.001"));
        assert!(!is_technique_id("T105"));
        assert!(!is_technique_id("T1059.01"));
        assert!(is_mitigation_id("M1032"));
        assert!(!is_mitigation_id("T1032"));
    }
}
