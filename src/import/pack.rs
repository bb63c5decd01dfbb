//! The pack an importer builds, the rules every imported pack follows (no unmitigated attack
//! pattern, links only between items that exist), and its files: TOML, LICENSE and NOTICE.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::mapping::Mapping;
use super::{ImportError, Notes};
use crate::model::{
    Control, Cost, ElementKind, PropertyDefinition, Rating, References, Severity, Status, Strength,
};

/// MITRE's terms of use for CAPEC and ATT&CK (mitre/cti LICENSE.txt), copied into every
/// imported pack as its LICENSE, as the terms require.
const MITRE_LICENSE: &str = include_str!("LICENSE-MITRE-cti.txt");

/// The id of the mitigation that marks the attack patterns the source gives no mitigation.
pub(crate) const GAP_MITIGATION: &str = "no-mitigation-in-source";

/// Attack patterns per file (files stay far below the 8 MiB a pack file may have).
const ATTACK_PATTERNS_PER_FILE: usize = 100;

#[derive(Debug, Clone)]
pub(crate) struct Pack {
    pub name: String,
    pub version: String,
    /// What the pack is a catalog of (`capec`, `attack-enterprise`, ...): `check` validates
    /// the `references` of packs that depend on it against its ids. `None`: not a catalog.
    pub catalog: Option<String>,
    pub description: String,
    /// SPDX: MITRE's terms have no SPDX id, so a `LicenseRef-` naming the LICENSE file.
    pub license: String,
    pub homepage: String,
    pub tags: Vec<String>,
    pub tiers: Vec<String>,
    /// The source's own copyright statement, for NOTICE.
    pub copyright: String,
    /// What the source is called in generated texts: "CAPEC", "ATT&CK".
    pub source_name: String,
    pub entities: Vec<Entity>,
    pub attack_patterns: Vec<AttackPattern>,
    pub mitigations: Vec<Mitigation>,
    /// Licence, authors and notice of a source that is not MITRE's; `None`: MITRE's.
    pub attribution: Option<Attribution>,
}

/// What a pack says about a source other than MITRE's.
#[derive(Debug, Clone)]
pub(crate) struct Attribution {
    pub license_text: String,
    pub authors: Vec<String>,
    pub notice: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Entity {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: ElementKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, PropertyDefinition>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct AttackPattern {
    pub id: String,
    pub name: String,
    pub description: String,
    pub categories: Vec<String>,
    pub applies_to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<Rating>,
    pub tier: String,
    #[serde(skip_serializing_if = "is_stable")]
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    pub references: References,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Mitigation {
    pub id: String,
    pub name: String,
    pub description: String,
    pub control: Control,
    pub cost: Cost,
    pub implementation: String,
    pub verification: String,
    pub tier: String,
    #[serde(skip_serializing_if = "is_stable")]
    pub status: Status,
    #[serde(skip_serializing_if = "references_empty")]
    pub references: References,
    pub addresses: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Link {
    pub attack_pattern: String,
    pub strength: Strength,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn is_stable(status: &Status) -> bool {
    *status == Status::Stable
}

fn references_empty(references: &References) -> bool {
    *references == References::default()
}

impl Pack {
    /// Sorts everything, drops links to attack patterns that are not in the pack, makes
    /// mitigations that address only deprecated attack patterns deprecated too, and links
    /// every other attack pattern without a mitigation to [`GAP_MITIGATION`], so the gap shows
    /// in a threat model instead of passing unnoticed.
    pub fn finish(&mut self, mapping: &Mapping, notes: &mut Notes, defaults: &mut Notes) {
        // `empty-description` would fail the pack; the name is the best the source gives.
        let mut describe = |description: &mut String, name: &str, id: &str| {
            if description.trim().is_empty() {
                *description = name.to_string();
                notes.add(
                    "no description in the source: the name stands for it",
                    id.to_string(),
                );
            }
        };
        for pattern in &mut self.attack_patterns {
            describe(&mut pattern.description, &pattern.name, &pattern.id);
        }
        for mitigation in &mut self.mitigations {
            describe(
                &mut mitigation.description,
                &mitigation.name,
                &mitigation.id,
            );
        }
        for entity in &mut self.entities {
            describe(&mut entity.description, &entity.name, &entity.id);
        }
        self.entities.sort_by(|a, b| a.id.cmp(&b.id));
        self.attack_patterns.sort_by(|a, b| by_id(&a.id, &b.id));
        self.mitigations.sort_by(|a, b| by_id(&a.id, &b.id));
        let deprecated: BTreeMap<&str, bool> = self
            .attack_patterns
            .iter()
            .map(|pattern| (pattern.id.as_str(), pattern.status == Status::Deprecated))
            .collect();
        let tier_rank = |tier: &str| self.tiers.iter().position(|known| known == tier);
        let tiers_of: BTreeMap<&str, &str> = self
            .attack_patterns
            .iter()
            .map(|pattern| (pattern.id.as_str(), pattern.tier.as_str()))
            .collect();
        let mut addressed = BTreeSet::new();
        for mitigation in &mut self.mitigations {
            mitigation.addresses.retain(|link| {
                let known = deprecated.contains_key(link.attack_pattern.as_str());
                if !known {
                    notes.add(
                        "a link to an attack pattern that is not in the pack was left out",
                        format!("{} -> {}", mitigation.id, link.attack_pattern),
                    );
                }
                known
            });
            mitigation.addresses.sort_by(|a, b| {
                by_id(&a.attack_pattern, &b.attack_pattern)
                    .then_with(|| a.description.cmp(&b.description))
            });
            mitigation
                .addresses
                .dedup_by(|a, b| a.attack_pattern == b.attack_pattern);
            if !mitigation.addresses.is_empty()
                && mitigation.status == Status::Stable
                && mitigation
                    .addresses
                    .iter()
                    .all(|link| deprecated[link.attack_pattern.as_str()])
            {
                mitigation.status = Status::Deprecated;
                notes.add(
                    "a mitigation that addresses only deprecated attack patterns is deprecated with them",
                    mitigation.id.clone(),
                );
            }
            // A mitigation is in the smallest tier of what it addresses, so each link is in
            // its attack pattern's tier.
            if let Some(tier) = mitigation
                .addresses
                .iter()
                .filter_map(|link| tiers_of.get(link.attack_pattern.as_str()))
                .min_by_key(|tier| tier_rank(tier))
            {
                mitigation.tier = (*tier).to_string();
            }
            addressed.extend(
                mitigation
                    .addresses
                    .iter()
                    .map(|link| link.attack_pattern.clone()),
            );
        }
        let gaps: Vec<String> = self
            .attack_patterns
            .iter()
            .filter(|pattern| pattern.status == Status::Stable && !addressed.contains(&pattern.id))
            .map(|pattern| pattern.id.clone())
            .collect();
        for gap in &gaps {
            defaults.add(
                format!(
                    "{} names no mitigation: linked to `{GAP_MITIGATION}` (strength negligible)",
                    self.source_name
                ),
                gap.clone(),
            );
        }
        if !gaps.is_empty() {
            self.mitigations.push(Mitigation {
                id: GAP_MITIGATION.to_string(),
                name: format!("No mitigation named by {}", self.source_name),
                description: format!(
                    "{} names no mitigation for the attack patterns linked here. The link is not a \
                     defence: it makes the gap visible in threat models, so that a team decides what \
                     to do instead of missing the threat's lack of advice. Added by `threatpack import`.",
                    self.source_name
                ),
                control: mapping.control,
                cost: mapping.cost,
                implementation: String::new(),
                verification: String::new(),
                tier: self.tiers.first().cloned().unwrap_or_default(),
                status: Status::Stable,
                references: References::default(),
                addresses: gaps
                    .into_iter()
                    .map(|attack_pattern| Link {
                        attack_pattern,
                        strength: Strength::Negligible,
                        description: None,
                    })
                    .collect(),
            });
        }
    }

    /// The pack's files by path.
    pub fn files(&self, source: &str) -> Result<BTreeMap<String, String>, ImportError> {
        let mut files = BTreeMap::new();
        files.insert("pack.toml".to_string(), self.manifest()?);
        files.insert(
            "entities/entities.toml".to_string(),
            to_toml("entity", &self.entities)?,
        );
        let mut groups: BTreeMap<String, Vec<&AttackPattern>> = BTreeMap::new();
        for (position, pattern) in self.attack_patterns.iter().enumerate() {
            groups
                .entry(format!(
                    "attack-patterns/{:03}.toml",
                    position / ATTACK_PATTERNS_PER_FILE + 1
                ))
                .or_default()
                .push(pattern);
        }
        for (path, patterns) in groups {
            files.insert(path, to_toml("attack-pattern", &patterns)?);
        }
        files.insert(
            "mitigations/mitigations.toml".to_string(),
            to_toml("mitigation", &self.mitigations)?,
        );
        match &self.attribution {
            Some(attribution) => {
                files.insert("LICENSE".to_string(), attribution.license_text.clone());
                files.insert("NOTICE".to_string(), attribution.notice.clone());
            }
            None => {
                files.insert("LICENSE".to_string(), MITRE_LICENSE.to_string());
                files.insert("NOTICE".to_string(), self.notice(source));
            }
        }
        Ok(files)
    }

    fn manifest(&self) -> Result<String, ImportError> {
        #[derive(Serialize)]
        #[serde(rename_all = "kebab-case")]
        struct Manifest<'a> {
            format: u32,
            name: &'a str,
            version: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            catalog: Option<&'a str>,
            description: &'a str,
            license: &'a str,
            authors: Vec<&'a str>,
            homepage: &'a str,
            tags: &'a [String],
            tiers: &'a [String],
        }
        #[derive(Serialize)]
        struct File<'a> {
            pack: Manifest<'a>,
        }
        let text = toml::to_string(&File {
            pack: Manifest {
                format: 1,
                name: &self.name,
                version: &self.version,
                catalog: self.catalog.as_deref(),
                description: &self.description,
                license: &self.license,
                authors: match &self.attribution {
                    Some(attribution) => attribution.authors.iter().map(String::as_str).collect(),
                    None => vec!["The MITRE Corporation"],
                },
                homepage: &self.homepage,
                tags: &self.tags,
                tiers: &self.tiers,
            },
        })
        .map_err(|error| ImportError::Invalid(format!("cannot write pack.toml: {error}")))?;
        Ok(format!("{HEADER}{text}"))
    }

    fn notice(&self, source: &str) -> String {
        format!(
            "{name} {version}\n\n\
             This pack is {source_name} data, imported by `threatpack import` from {source}.\n\n\
             {copyright}\n\n\
             © The MITRE Corporation. This work is reproduced and distributed with the permission of\n\
             The MITRE Corporation. Its terms of use are in LICENSE: any copy must reproduce MITRE's\n\
             copyright designation and that licence.\n\n\
             threatpack changed the form, not the content: identifiers became pack ids, markup became\n\
             Markdown, and what {source_name} does not say (STRIDE categories, severities where it\n\
             gives none, link strengths, control types and costs) came from the import mapping\n\
             (docs/interop.md). The mitigation `{GAP_MITIGATION}` is threatpack's, not MITRE's.\n",
            name = self.name,
            version = self.version,
            source_name = self.source_name,
            copyright = self.copyright.trim(),
        )
    }
}

const HEADER: &str =
    "# Generated by `threatpack import`: regenerate rather than edit (docs/interop.md).\n";

fn to_toml<T: Serialize>(table: &str, items: &[T]) -> Result<String, ImportError> {
    let mut wrapper = BTreeMap::new();
    wrapper.insert(table, items);
    let text = toml::to_string(&wrapper)
        .map_err(|error| ImportError::Invalid(format!("cannot write the pack: {error}")))?;
    Ok(format!("{HEADER}{text}"))
}

/// Ids in natural order, then as text (so equal keys cannot keep the input's order).
pub(crate) fn by_id(a: &str, b: &str) -> std::cmp::Ordering {
    natural(a).cmp(&natural(b)).then_with(|| a.cmp(b))
}

/// A sort key that orders `capec-9` before `capec-10` and `t1059-002` before `t1059-010`.
fn natural(id: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut number: Option<u64> = None;
    for character in id.chars() {
        if let Some(digit) = character.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(digit)),
            );
        } else {
            if let Some(value) = number.take() {
                key.push((std::mem::take(&mut text), value));
            }
            text.push(character);
        }
    }
    key.push((text, number.unwrap_or(0)));
    key
}
