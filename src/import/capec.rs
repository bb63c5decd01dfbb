//! MITRE CAPEC to a pack, from its STIX 2.1 bundle or its official XML: both are read into
//! one [`Catalog`], which becomes the pack (docs/interop.md#capec).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::mapping::{Mapping, key};
use super::pack::{AttackPattern, Entity, Link, Mitigation, Pack};
use super::{Built, ImportError, Notes, markup, stix, text};
use crate::model::{ElementKind, Rating, References, Status};

/// Elements an XML input may have: CAPEC 3.9's full catalogue has about 300,000 nodes.
const XML_NODES_LIMIT: u32 = 5_000_000;

/// CAPEC's abstraction levels, smallest selection first: the pack's tiers.
const TIERS: [&str; 3] = ["meta", "standard", "detailed"];

/// CAPEC as both formats give it.
struct Catalog {
    /// The release, e.g. "3.9".
    version: String,
    /// What the input is, e.g. "CAPEC 3.9 (STIX 2.1 bundle)".
    source: String,
    copyright: String,
    patterns: BTreeMap<u32, Pattern>,
    /// Courses of action by pack id, with their text.
    mitigations: BTreeMap<String, String>,
    /// (mitigation id, attack pattern number).
    links: BTreeSet<(String, u32)>,
}

#[derive(Default)]
struct Pattern {
    name: String,
    description: String,
    abstraction: Option<String>,
    status: String,
    severity: Option<String>,
    likelihood: Option<String>,
    /// Consequence scopes, as mapping keys.
    scopes: BTreeSet<String>,
    /// Domains of attack, as mapping keys.
    domains: BTreeSet<String>,
    parents: BTreeSet<u32>,
    cwe: BTreeSet<u32>,
    attack: BTreeSet<String>,
    urls: BTreeSet<String>,
}

pub(crate) fn import(input: &[u8], mapping: &Mapping) -> Result<Built, ImportError> {
    let mut notes = Notes::default();
    let catalog = match input.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{') => from_stix(input, mapping, &mut notes)?,
        Some(b'<') => from_xml(input, mapping, &mut notes)?,
        _ => {
            return Err(ImportError::Malformed(
                "neither a CAPEC STIX bundle (JSON) nor CAPEC XML; download one from https://capec.mitre.org/data/downloads.html or github.com/mitre/cti (capec/2.1)".to_string(),
            ));
        }
    };
    to_pack(catalog, mapping, notes)
}

fn from_stix(input: &[u8], mapping: &Mapping, notes: &mut Notes) -> Result<Catalog, ImportError> {
    let bundle = stix::read_bundle(input, "CAPEC")?;
    let spec = stix::spec_version(&bundle);
    let mut numbers: BTreeMap<&str, u32> = BTreeMap::new();
    for object in bundle.objects.iter().filter(|o| o.kind == "attack-pattern") {
        match object
            .external_id("capec")
            .and_then(|id| id.strip_prefix("CAPEC-"))
            .and_then(|number| number.parse::<u32>().ok())
        {
            Some(number) => {
                if numbers.values().any(|known| *known == number) {
                    notes.add(
                        "a second attack pattern with the same CAPEC id was left out",
                        object.id.clone(),
                    );
                } else {
                    numbers.insert(&object.id, number);
                }
            }
            None => notes.add(
                "an attack pattern without a CAPEC id (external reference `capec`) was left out",
                object.label(),
            ),
        }
    }
    let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
    let mut patterns = BTreeMap::new();
    let mut mitigations = BTreeMap::new();
    let mut mitigation_ids: BTreeMap<&str, String> = BTreeMap::new();
    for object in &bundle.objects {
        if let Some(version) = &object.x_capec_version {
            *versions.entry(version).or_default() += 1;
        }
        match object.kind.as_str() {
            "attack-pattern" => {
                let Some(&number) = numbers.get(object.id.as_str()) else {
                    continue;
                };
                let item = format!("CAPEC-{number}");
                let mut description =
                    markup::fragment_text(object.description.as_deref().unwrap_or_default());
                if let Some(extended) = &object.x_capec_extended_description {
                    push_paragraph(&mut description, &markup::fragment_text(extended));
                }
                let mut pattern = Pattern {
                    name: object.name.clone().unwrap_or_default(),
                    description: text(&description, &item, notes),
                    abstraction: object.x_capec_abstraction.clone(),
                    status: object.x_capec_status.clone().unwrap_or_default(),
                    severity: object.x_capec_typical_severity.clone(),
                    likelihood: object.x_capec_likelihood_of_attack.clone(),
                    scopes: object.x_capec_consequences.keys().map(|k| key(k)).collect(),
                    domains: object.x_capec_domains.iter().map(|d| key(d)).collect(),
                    parents: object
                        .x_capec_child_of_refs
                        .iter()
                        .filter_map(|parent| numbers.get(parent.as_str()).copied())
                        .collect(),
                    ..Pattern::default()
                };
                for reference in &object.external_references {
                    let id = reference.external_id.as_deref().unwrap_or_default();
                    match reference.source_name.as_str() {
                        "capec" => {}
                        "cwe" => match id.strip_prefix("CWE-").and_then(|n| n.parse().ok()) {
                            Some(number) => {
                                pattern.cwe.insert(number);
                            }
                            None => notes.add(
                                format!(
                                    "a CWE reference `{id}` that is not CWE-NUMBER was left out"
                                ),
                                &item,
                            ),
                        },
                        "ATTACK" => add_attack(&mut pattern, id, &item, notes),
                        _ => {
                            if reference.url.is_none() {
                                notes.add(
                                    format!(
                                        "a `{}` reference without a URL was left out",
                                        reference.source_name
                                    ),
                                    &item,
                                );
                            }
                        }
                    }
                    // CWE and ATT&CK pages are named by their typed references.
                    if let Some(url) = &reference.url
                        && !matches!(reference.source_name.as_str(), "cwe" | "ATTACK")
                    {
                        add_url(&mut pattern, url, &item, notes);
                    }
                }
                let unsupported = [
                    ("execution flow", object.x_capec_execution_flow.is_some()),
                    ("prerequisites", object.x_capec_prerequisites.is_some()),
                    ("skills required", object.x_capec_skills_required.is_some()),
                    (
                        "resources required",
                        object.x_capec_resources_required.is_some(),
                    ),
                    (
                        "example instances",
                        object.x_capec_example_instances.is_some(),
                    ),
                    ("alternate terms", object.x_capec_alternate_terms.is_some()),
                    (
                        "CanPrecede, CanFollow and PeerOf relations",
                        object.x_capec_can_precede_refs.is_some()
                            || object.x_capec_can_follow_refs.is_some()
                            || object.x_capec_peer_of_refs.is_some(),
                    ),
                ];
                note_unsupported(&unsupported, &item, notes);
                patterns.insert(number, pattern);
            }
            "course-of-action" => {
                let name = object.name.clone().unwrap_or_default();
                let id = super::slug(&name, "coa-");
                if mitigations.contains_key(&id) {
                    notes.add(
                        "a course of action whose name gives the same id as another's was left out",
                        object.label(),
                    );
                    continue;
                }
                let description =
                    markup::fragment_text(object.description.as_deref().unwrap_or_default());
                mitigations.insert(id.clone(), text(&description, &name, notes));
                mitigation_ids.insert(&object.id, id);
            }
            "relationship" | "identity" | "marking-definition" => {}
            other => notes.add(
                format!("objects of type `{other}` are not part of a pack"),
                object.label(),
            ),
        }
    }
    let mut links = BTreeSet::new();
    for object in bundle.objects.iter().filter(|o| o.kind == "relationship") {
        let (source, target) = (
            object.source_ref.as_deref().unwrap_or_default(),
            object.target_ref.as_deref().unwrap_or_default(),
        );
        match (
            object.relationship_type.as_deref(),
            mitigation_ids.get(source),
            numbers.get(target),
        ) {
            (Some("mitigates"), Some(mitigation), Some(number)) => {
                links.insert((mitigation.clone(), *number));
            }
            (Some("mitigates"), _, _) => notes.add(
                "a \"mitigates\" relationship whose ends are not both in the bundle was left out",
                object.id.clone(),
            ),
            (kind, _, _) => notes.add(
                format!(
                    "relationships of type `{}` have no place in a pack",
                    kind.unwrap_or("(none)")
                ),
                object.id.clone(),
            ),
        }
    }
    // Every object of a release carries its version; the most common one is the release.
    let version = versions
        .iter()
        .max_by_key(|(version, count)| (**count, **version))
        .map(|(version, _)| (*version).to_string())
        .unwrap_or_default();
    let _ = mapping;
    Ok(Catalog {
        source: format!("CAPEC {version} (STIX {spec} bundle)"),
        version,
        copyright: stix::statements(&bundle),
        patterns,
        mitigations,
        links,
    })
}

fn from_xml(input: &[u8], mapping: &Mapping, notes: &mut Notes) -> Result<Catalog, ImportError> {
    let text_input = std::str::from_utf8(input).map_err(|error| {
        ImportError::Malformed(format!(
            "the CAPEC XML is not UTF-8 ({error}); CAPEC publishes its XML in UTF-8: download it again"
        ))
    })?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: XML_NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(text_input, options).map_err(|error| {
        ImportError::Malformed(format!(
            "not well-formed CAPEC XML: {error}; give the catalogue as https://capec.mitre.org/data/downloads.html publishes it (no DTD)"
        ))
    })?;
    let root = document.root_element();
    if root.tag_name().name() != "Attack_Pattern_Catalog" {
        return Err(ImportError::Malformed(format!(
            "not CAPEC XML: the root element is `{}`, not `Attack_Pattern_Catalog`",
            root.tag_name().name()
        )));
    }
    let version = root.attribute("Version").unwrap_or_default().to_string();
    let mut patterns = BTreeMap::new();
    let mut mitigations = BTreeMap::new();
    let mut links = BTreeSet::new();
    let mut members: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for section in root.children().filter(|node| node.is_element()) {
        match section.tag_name().name() {
            "Attack_Patterns" => {
                for node in children(section, "Attack_Pattern") {
                    let Some(number) = node.attribute("ID").and_then(|id| id.parse::<u32>().ok())
                    else {
                        notes.add(
                            "an Attack_Pattern without a numeric ID was left out",
                            node.attribute("Name").unwrap_or("(no name)"),
                        );
                        continue;
                    };
                    if patterns.contains_key(&number) {
                        notes.add(
                            "a second Attack_Pattern with the same ID was left out",
                            format!("CAPEC-{number}"),
                        );
                        continue;
                    }
                    let pattern = xml_pattern(node, number, &mut mitigations, &mut links, notes);
                    patterns.insert(number, pattern);
                }
            }
            "Categories" => {
                for category in children(section, "Category") {
                    let name = category.attribute("Name").unwrap_or_default();
                    let domain = key(name);
                    if !mapping.capec.domains.contains_key(&domain) {
                        notes.add(
                            "categories other than CAPEC's domains of attack are not part of a pack",
                            format!("CAPEC-{} ({name})", category.attribute("ID").unwrap_or("?")),
                        );
                        continue;
                    }
                    for member in category
                        .descendants()
                        .filter(|node| node.tag_name().name() == "Has_Member")
                    {
                        if let Some(number) = member.attribute("CAPEC_ID").and_then(|id| id.parse().ok()) {
                            members.entry(number).or_default().insert(domain.clone());
                        }
                    }
                }
            }
            "Views" => notes.add("views are not part of a pack", "Views"),
            "External_References" => notes.add(
                "the catalogue's bibliography is not part of a pack (each attack pattern keeps its CAPEC URL)",
                "External_References",
            ),
            other => notes.add("catalogue sections of this kind are not part of a pack", other),
        }
    }
    for (number, domains) in members {
        if let Some(pattern) = patterns.get_mut(&number) {
            pattern.domains.extend(domains);
        }
    }
    Ok(Catalog {
        source: format!("CAPEC {version} (XML)"),
        version,
        copyright:
            "CAPEC is a trademark of The MITRE Corporation. Copyright © The MITRE Corporation."
                .to_string(),
        patterns,
        mitigations,
        links,
    })
}

fn xml_pattern(
    node: roxmltree::Node<'_, '_>,
    number: u32,
    mitigations: &mut BTreeMap<String, String>,
    links: &mut BTreeSet<(String, u32)>,
    notes: &mut Notes,
) -> Pattern {
    let item = format!("CAPEC-{number}");
    let mut pattern = Pattern {
        name: node.attribute("Name").unwrap_or_default().to_string(),
        abstraction: node.attribute("Abstraction").map(str::to_string),
        status: node.attribute("Status").unwrap_or_default().to_string(),
        ..Pattern::default()
    };
    pattern.urls.insert(format!(
        "https://capec.mitre.org/data/definitions/{number}.html"
    ));
    let mut description = String::new();
    for child in node.children().filter(|child| child.is_element()) {
        match child.tag_name().name() {
            "Description" => description = markup::element_text(child),
            "Extended_Description" => {
                let extended = markup::element_text(child);
                push_paragraph(&mut description, &extended);
            }
            "Likelihood_Of_Attack" => pattern.likelihood = child.text().map(str::to_string),
            "Typical_Severity" => pattern.severity = child.text().map(str::to_string),
            "Related_Attack_Patterns" => {
                for related in children(child, "Related_Attack_Pattern") {
                    let target = related.attribute("CAPEC_ID").and_then(|id| id.parse().ok());
                    match (related.attribute("Nature"), target) {
                        (Some("ChildOf"), Some(parent)) => {
                            pattern.parents.insert(parent);
                        }
                        _ => notes.add(
                            "CanPrecede, CanFollow, CanAlsoBe and PeerOf relations have no place in a pack",
                            &item,
                        ),
                    }
                }
            }
            "Consequences" => {
                for scope in child
                    .descendants()
                    .filter(|node| node.tag_name().name() == "Scope")
                {
                    pattern.scopes.insert(key(scope.text().unwrap_or_default()));
                }
            }
            "Mitigations" => {
                for (position, mitigation) in children(child, "Mitigation").enumerate() {
                    let id = format!("coa-{number}-{position}");
                    let description = text(&markup::element_text(mitigation), &id, notes);
                    links.insert((id.clone(), number));
                    mitigations.insert(id, description);
                }
            }
            "Related_Weaknesses" => {
                for weakness in children(child, "Related_Weakness") {
                    match weakness.attribute("CWE_ID").and_then(|id| id.parse().ok()) {
                        Some(cwe) => {
                            pattern.cwe.insert(cwe);
                        }
                        None => notes.add(
                            "a Related_Weakness without a numeric CWE_ID was left out",
                            &item,
                        ),
                    }
                }
            }
            "Taxonomy_Mappings" => {
                for mapping in children(child, "Taxonomy_Mapping") {
                    let entry = mapping
                        .children()
                        .find(|node| node.tag_name().name() == "Entry_ID")
                        .and_then(|node| node.text())
                        .unwrap_or_default()
                        .trim();
                    if mapping.attribute("Taxonomy_Name") == Some("ATTACK") {
                        add_attack(&mut pattern, entry, &item, notes);
                    } else {
                        notes.add(
                            format!(
                                "taxonomy mappings to `{}` have no place in a pack",
                                mapping.attribute("Taxonomy_Name").unwrap_or("?")
                            ),
                            &item,
                        );
                    }
                }
            }
            other => {
                let what = match other {
                    "Execution_Flow" => "execution flow",
                    "Prerequisites" => "prerequisites",
                    "Skills_Required" => "skills required",
                    "Resources_Required" => "resources required",
                    "Example_Instances" => "example instances",
                    "Alternate_Terms" => "alternate terms",
                    "Indicators" => "indicators",
                    "Notes" => "notes",
                    "References" => "references to the bibliography",
                    "Content_History" => "content history",
                    _ => other,
                };
                note_unsupported(&[(what, true)], &item, notes);
            }
        }
    }
    pattern.description = text(&description, &item, notes);
    pattern
}

/// The pack of a catalogue.
fn to_pack(catalog: Catalog, mapping: &Mapping, mut notes: Notes) -> Result<Built, ImportError> {
    let mut defaults = Notes::default();
    if catalog.patterns.is_empty() {
        return Err(ImportError::Invalid(format!(
            "{} holds no attack pattern: is it the right file?",
            catalog.source
        )));
    }
    let version = release_version(&catalog.version);
    let unversioned = version.is_none().then(|| no_release(&catalog.version));
    // Domains, and from them entities: every domain an attack pattern names or inherits.
    let mut entities: BTreeMap<String, Entity> = BTreeMap::new();
    let all_domains: BTreeSet<String> = mapping.capec.domains.keys().cloned().collect();
    let mut attack_patterns = Vec::new();
    for (&number, pattern) in &catalog.patterns {
        let item = format!("CAPEC-{number}");
        let id = format!("capec-{number}");
        let deprecated = matches!(pattern.status.as_str(), "Deprecated" | "Obsolete");
        let mut domains = nearest(&catalog.patterns, number, |p| &p.domains);
        if domains.is_empty() {
            defaults.add(
                "no domain of attack, own or inherited: applies to every domain's entity",
                &item,
            );
            domains = all_domains.clone();
        }
        let mut applies_to = Vec::new();
        for domain in &domains {
            let entity_id = format!("domain-{}", super::slug(domain, "d-"));
            let kind = match mapping.capec.domains.get(domain) {
                Some(kind) => *kind,
                None => {
                    defaults.add(
                        format!("domain `{domain}` is not in the mapping: its entity is a process"),
                        &item,
                    );
                    ElementKind::Process
                }
            };
            entities.entry(entity_id.clone()).or_insert_with(|| Entity {
                id: entity_id.clone(),
                name: format!("CAPEC domain: {}", title_case(domain)),
                description: format!(
                    "What CAPEC's \"{}\" domain of attack targets. Attack patterns of the domain apply to it.",
                    title_case(domain)
                ),
                kind,
                parent: None,
                properties: std::collections::BTreeMap::new(),
            });
            applies_to.push(entity_id);
        }
        let categories = categories(&catalog.patterns, number, mapping, &item, &mut defaults);
        let severity = match pattern.severity.as_deref().map(key) {
            Some(severity) => match mapping.capec.severities.get(&severity) {
                Some(mapped) => *mapped,
                None => {
                    defaults.add(
                        format!("Typical_Severity `{severity}` is not in the mapping: the default severity"),
                        &item,
                    );
                    mapping.severity
                }
            },
            None => {
                defaults.add(
                    format!(
                        "no Typical_Severity: severity `{}` from the mapping",
                        mapping.severity.as_str()
                    ),
                    &item,
                );
                mapping.severity
            }
        };
        let likelihood = pattern.likelihood.as_deref().and_then(|likelihood| {
            let rating = rating(&key(likelihood));
            if rating.is_none() {
                notes.add(
                    format!("Likelihood_Of_Attack `{likelihood}` is not a rating and was left out"),
                    &item,
                );
            }
            rating
        });
        let tier = match pattern.abstraction.as_deref().map(key) {
            Some(abstraction) if TIERS.contains(&abstraction.as_str()) => abstraction,
            other => {
                defaults.add(
                    format!(
                        "abstraction `{}` is not Meta, Standard or Detailed: tier `detailed`",
                        other.unwrap_or_default()
                    ),
                    &item,
                );
                "detailed".to_string()
            }
        };
        let replaced_by = if deprecated {
            replacement(&catalog.patterns, number, &mut notes)
        } else {
            None
        };
        let mut urls = pattern.urls.clone();
        urls.insert(format!(
            "https://capec.mitre.org/data/definitions/{number}.html"
        ));
        attack_patterns.push(AttackPattern {
            id,
            name: if pattern.name.trim().is_empty() {
                item.clone()
            } else {
                pattern.name.trim().to_string()
            },
            description: pattern.description.clone(),
            categories,
            applies_to,
            condition: None,
            severity,
            likelihood,
            tier,
            status: if deprecated {
                Status::Deprecated
            } else {
                Status::Stable
            },
            replaced_by,
            references: References {
                capec: vec![number],
                cwe: pattern.cwe.iter().copied().collect(),
                attack: pattern.attack.iter().cloned().collect(),
                asvs: Vec::new(),
                url: urls.into_iter().collect(),
            },
        });
    }
    let mut by_mitigation: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (mitigation, number) in &catalog.links {
        by_mitigation.entry(mitigation).or_default().push(*number);
    }
    let mut mitigations = Vec::new();
    for (id, description) in &catalog.mitigations {
        let Some(numbers) = by_mitigation.get(id.as_str()) else {
            notes.add(
                "a course of action that mitigates no attack pattern was left out",
                id.clone(),
            );
            continue;
        };
        if description.is_empty() {
            notes.add("a course of action without text was left out", id.clone());
            continue;
        }
        mitigations.push(Mitigation {
            id: id.clone(),
            name: super::name_of_description(description),
            description: description.clone(),
            control: mapping.control,
            cost: mapping.cost,
            implementation: String::new(),
            verification: String::new(),
            tier: TIERS[2].to_string(),
            status: Status::Stable,
            references: References::default(),
            addresses: numbers
                .iter()
                .map(|number| Link {
                    attack_pattern: format!("capec-{number}"),
                    strength: mapping.strength,
                    description: None,
                })
                .collect(),
        });
    }
    if !mitigations.is_empty() {
        defaults.add(
            format!(
                "CAPEC rates no mitigation: control `{}`, cost `{}` and link strength `{}` from the mapping; implementation and verification left empty",
                mapping.control_name(),
                mapping.cost_name(),
                mapping.strength.as_str()
            ),
            "every course of action",
        );
    }
    let pack = Pack {
        name: "mitre/capec".to_string(),
        version: version.unwrap_or_else(|| "0.1.0".to_string()),
        catalog: Some("capec".to_string()),
        description: format!(
            "MITRE CAPEC (Common Attack Pattern Enumeration and Classification) {}: attack patterns \
             with their abstraction as tiers (meta, standard, detailed), domains of attack as \
             entities, courses of action as mitigations, and CWE and ATT&CK references. Imported by \
             `threatpack import capec` from {}. © The MITRE Corporation: terms of use in LICENSE, \
             attribution in NOTICE.",
            catalog.version, catalog.source
        ),
        license: "LicenseRef-MITRE-CAPEC-Terms-of-Use".to_string(),
        homepage: "https://capec.mitre.org/".to_string(),
        tags: vec!["capec".to_string(), "mitre".to_string()],
        tiers: TIERS.iter().map(|tier| (*tier).to_string()).collect(),
        copyright: catalog.copyright.clone(),
        source_name: "CAPEC".to_string(),
        entities: entities.into_values().collect(),
        attack_patterns,
        mitigations,
        attribution: None,
    };
    Ok(Built {
        pack,
        source: catalog.source,
        notes,
        defaults,
        unversioned,
    })
}

/// The nearest non-empty set among a pattern and its ancestors (ChildOf), breadth first.
fn nearest(
    patterns: &BTreeMap<u32, Pattern>,
    number: u32,
    field: impl Fn(&Pattern) -> &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut queue = VecDeque::from([number]);
    let mut seen = BTreeSet::from([number]);
    while let Some(current) = queue.pop_front() {
        let Some(pattern) = patterns.get(&current) else {
            continue;
        };
        let values = field(pattern);
        if !values.is_empty() {
            return values.clone();
        }
        for parent in &pattern.parents {
            if seen.insert(*parent) {
                queue.push_back(*parent);
            }
        }
    }
    BTreeSet::new()
}

/// STRIDE categories of a pattern: its consequence scopes (or its nearest ancestor's) mapped.
fn categories(
    patterns: &BTreeMap<u32, Pattern>,
    number: u32,
    mapping: &Mapping,
    item: &str,
    defaults: &mut Notes,
) -> Vec<String> {
    let scopes = nearest(patterns, number, |pattern| &pattern.scopes);
    let mut categories = BTreeSet::new();
    for scope in &scopes {
        match mapping.capec.scopes.get(scope) {
            Some(mapped) => categories.extend(mapped.iter().cloned()),
            None => defaults.add(
                format!("consequence scope `{scope}` is not in the mapping and gives no category"),
                item,
            ),
        }
    }
    super::finish_categories(
        categories,
        &mapping.capec.fallback.categories,
        item,
        defaults,
        "no consequence scope, own or inherited, maps to a STRIDE category",
    )
}

/// The replacement CAPEC names in a deprecated pattern's description ("Please refer to
/// CAPEC-407"), followed while it is deprecated too.
fn replacement(
    patterns: &BTreeMap<u32, Pattern>,
    number: u32,
    notes: &mut Notes,
) -> Option<String> {
    let mut current = number;
    for _ in 0..16 {
        let pattern = patterns.get(&current)?;
        let named: BTreeSet<u32> = capec_numbers(&pattern.description)
            .into_iter()
            .filter(|named| *named != current)
            .collect();
        let next = match named.len() {
            0 if current == number => {
                notes.add(
                    "deprecated, and CAPEC names no replacement",
                    format!("CAPEC-{number}"),
                );
                return None;
            }
            1 => *named.iter().next()?,
            _ if current == number => {
                notes.add(
                    "deprecated, and CAPEC names several patterns: no `replaced-by`",
                    format!("CAPEC-{number}"),
                );
                return None;
            }
            _ => return None,
        };
        let Some(found) = patterns.get(&next) else {
            notes.add(
                format!("deprecated in favour of CAPEC-{next}, which is not in the input: no `replaced-by`"),
                format!("CAPEC-{number}"),
            );
            return None;
        };
        if !matches!(found.status.as_str(), "Deprecated" | "Obsolete") {
            return Some(format!("capec-{next}"));
        }
        current = next;
    }
    None
}

/// The numbers of `CAPEC-N` mentions in a text.
fn capec_numbers(text: &str) -> Vec<u32> {
    let mut numbers = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("CAPEC-") {
        rest = &rest[start + "CAPEC-".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(number) = digits.parse() {
            numbers.push(number);
        }
    }
    numbers
}

fn add_attack(pattern: &mut Pattern, id: &str, item: &str, notes: &mut Notes) {
    let id = id.trim();
    let id = if id.starts_with('T') {
        id.to_string()
    } else {
        format!("T{id}")
    };
    if super::attack::is_technique_id(&id) {
        pattern.attack.insert(id);
    } else {
        notes.add(
            format!("an ATT&CK reference `{id}` that is not a technique id was left out"),
            item,
        );
    }
}

fn add_url(pattern: &mut Pattern, url: &str, item: &str, notes: &mut Notes) {
    let url = url.trim();
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(char::is_whitespace);
    if valid {
        pattern.urls.insert(url.to_string());
    } else {
        notes.add(
            format!("a reference URL `{url}` that is not http(s) was left out"),
            item,
        );
    }
}

fn note_unsupported(fields: &[(&str, bool)], item: &str, notes: &mut Notes) {
    for (what, present) in fields {
        if *present {
            notes.add(
                format!("{what}: no place for them in the pack format"),
                item,
            );
        }
    }
}

fn push_paragraph(text: &mut String, paragraph: &str) {
    if paragraph.trim().is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(paragraph.trim());
}

fn children<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

/// A release such as "3.9" as a pack version "3.9.0"; `None` when the source names none that
/// makes a version (the caller says so in the report unless `--version` was given).
pub(crate) fn release_version(release: &str) -> Option<String> {
    let parts: Vec<&str> = release.trim().split('.').collect();
    let padded = match parts.len() {
        1 => format!("{}.0.0", parts[0]),
        2 => format!("{}.{}.0", parts[0], parts[1]),
        _ => release.trim().to_string(),
    };
    crate::names::parse_version(&padded).ok().map(|_| padded)
}

/// The report line for a source without a usable release.
pub(crate) fn no_release(release: &str) -> String {
    format!(
        "the source names no release usable as a version (`{release}`): version 0.1.0; give --version"
    )
}

fn rating(word: &str) -> Option<Rating> {
    match word {
        "very-low" => Some(Rating::VeryLow),
        "low" => Some(Rating::Low),
        "medium" => Some(Rating::Medium),
        "high" => Some(Rating::High),
        "very-high" => Some(Rating::VeryHigh),
        _ => None,
    }
}

fn title_case(key: &str) -> String {
    key.split('-')
        .map(|word| {
            let mut characters = word.chars();
            match characters.next() {
                Some(first) => first.to_uppercase().chain(characters).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capec_mentions_are_found() {
        assert_eq!(
            capec_numbers("a duplicate of \"CAPEC-407 : Pretexting\". See CAPEC-1x."),
            vec![407, 1]
        );
    }

    #[test]
    fn releases_become_versions() {
        assert_eq!(release_version("3.9").as_deref(), Some("3.9.0"));
        assert_eq!(release_version("18.1").as_deref(), Some("18.1.0"));
        assert_eq!(release_version(""), None);
    }
}
