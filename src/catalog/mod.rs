//! Catalogs: the ids of MITRE CAPEC and ATT&CK (read from the packs `threatpack import` makes)
//! and of OWASP ASVS (built in), against which `check` validates a pack's `references`.
//!
//! Pure: a catalog is made from a parsed pack; loading the packs a `[catalogs]` table names is
//! the workspace's job (`workspace::load_graph_with`).

use std::collections::BTreeMap;

use crate::model::Status;
use crate::parse::ParsedPack;

/// What a catalog pack catalogues: `catalog = "..."` in its `[pack]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CatalogKind {
    Capec,
    AttackEnterprise,
    AttackIcs,
    AttackMobile,
}

impl CatalogKind {
    pub const ALL: [CatalogKind; 4] = [
        CatalogKind::Capec,
        CatalogKind::AttackEnterprise,
        CatalogKind::AttackIcs,
        CatalogKind::AttackMobile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Capec => "capec",
            CatalogKind::AttackEnterprise => "attack-enterprise",
            CatalogKind::AttackIcs => "attack-ics",
            CatalogKind::AttackMobile => "attack-mobile",
        }
    }

    pub fn from_name(name: &str) -> Option<CatalogKind> {
        CatalogKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The catalog an ATT&CK reference's matrix prefix names (none: Enterprise), and the id.
    pub fn of_attack_reference(reference: &str) -> (CatalogKind, &str) {
        match reference.split_once(':') {
            Some(("ics", id)) => (CatalogKind::AttackIcs, id),
            Some(("mobile", id)) => (CatalogKind::AttackMobile, id),
            Some((_, id)) => (CatalogKind::AttackEnterprise, id),
            None => (CatalogKind::AttackEnterprise, reference),
        }
    }
}

/// The ids of one catalog, as `references` write them.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub kind: CatalogKind,
    /// The catalog pack's name and version (`mitre/capec`, `3.9.0`).
    pub name: String,
    pub version: String,
    /// By id as written in `references` (`66`, `T1059.001`, `M1036`).
    pub ids: BTreeMap<String, Entry>,
}

/// A `[catalogs]` entry as loaded: the catalog, or why not.
#[derive(Debug, Clone)]
pub enum LoadedCatalog {
    Found(Catalog),
    /// Its directory does not exist (e.g. a copy of the pack without its catalogs): the
    /// references are checked by format only, and `check` warns.
    Missing(String),
    /// Its directory holds no usable catalog pack: an error.
    Unusable(String),
}

/// One id of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub deprecated: bool,
    /// The replacement the catalog names, as `references` write it.
    pub replaced_by: Option<String>,
}

impl Catalog {
    /// The catalog a pack is, when its `pack.toml` says `catalog = "..."`; `Err` says why a
    /// pack named as a catalog is not one.
    pub fn of_pack(pack: &ParsedPack) -> Result<Catalog, String> {
        let manifest = pack
            .manifest
            .as_ref()
            .ok_or_else(|| "its `pack.toml` cannot be read".to_string())?;
        let metadata = &manifest.item.pack;
        let name = metadata.catalog.as_deref().ok_or_else(|| {
            format!(
                "`{}` is not a catalog pack: its `pack.toml` has no `catalog` (packs made by `threatpack import` have one)",
                metadata.name
            )
        })?;
        let kind = CatalogKind::from_name(name)
            .ok_or_else(|| format!("`{}` names an unknown catalog `{name}`", metadata.name))?;
        let mut ids = BTreeMap::new();
        let attack_patterns = pack.attack_patterns.iter().map(|item| {
            (
                &item.item.id,
                item.item.status,
                item.item.replaced_by.as_deref(),
            )
        });
        let mitigations = pack.mitigations.iter().map(|item| {
            (
                &item.item.id,
                item.item.status,
                item.item.replaced_by.as_deref(),
            )
        });
        for (id, status, replaced_by) in attack_patterns.chain(mitigations) {
            if let Some(reference) = reference_of(kind, id) {
                ids.insert(
                    reference,
                    Entry {
                        deprecated: status == Status::Deprecated,
                        replaced_by: replaced_by.and_then(|id| reference_of(kind, id)),
                    },
                );
            }
        }
        Ok(Catalog {
            kind,
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            ids,
        })
    }

    /// `mitre/capec` 3.9.0, for messages.
    pub fn label(&self) -> String {
        format!("`{}` {}", self.name, self.version)
    }

    /// How an id of this catalog is shown: `CAPEC-66`, `T1059.001`.
    pub fn display(&self, id: &str) -> String {
        match self.kind {
            CatalogKind::Capec => format!("CAPEC-{id}"),
            _ => id.to_string(),
        }
    }
}

/// The `references` id of a catalog pack's item id: `capec-66` is `66`, `t1059-001` is
/// `T1059.001`, `m1036` is `M1036`; `None` for ids that are not the catalog's own (e.g. the
/// importer's `no-mitigation-in-source`, CAPEC's courses of action).
fn reference_of(kind: CatalogKind, id: &str) -> Option<String> {
    match kind {
        CatalogKind::Capec => {
            let number = id.strip_prefix("capec-")?;
            (number.parse::<u32>().ok()? > 0).then(|| number.to_string())
        }
        _ => {
            let (letter, rest) = id.split_at_checked(1)?;
            let (number, sub) = match rest.split_once('-') {
                Some((number, sub)) => (number, Some(sub)),
                None => (rest, None),
            };
            let digits = |text: &str, count: usize| {
                text.len() == count && text.bytes().all(|byte| byte.is_ascii_digit())
            };
            let valid = matches!(letter, "t" | "m")
                && digits(number, 4)
                && sub.is_none_or(|sub| letter == "t" && digits(sub, 3));
            valid.then(|| match sub {
                Some(sub) => format!("{}{number}.{sub}", letter.to_ascii_uppercase()),
                None => format!("{}{number}", letter.to_ascii_uppercase()),
            })
        }
    }
}

/// The ASVS versions whose ids `check` knows.
pub const ASVS_VERSIONS: [&str; 2] = ["4.0.3", "5.0.0"];

/// An ASVS reference, as written in `references.asvs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsvsReference<'a> {
    /// OWASP's citation format `v4.0.3-2.1.1`: the version and the id (`2.1.1`).
    Versioned { version: &'a str, id: &'a str },
    /// `V2.1.1`: which ASVS it means is unknown (4.0.3 and 5.0.0 reuse ids for other things).
    Unversioned { id: &'a str },
}

impl AsvsReference<'_> {
    pub fn parse(reference: &str) -> Option<AsvsReference<'_>> {
        if let Some(id) = reference.strip_prefix('V') {
            return Some(AsvsReference::Unversioned { id });
        }
        let (version, id) = reference.strip_prefix('v')?.split_once('-')?;
        Some(AsvsReference::Versioned { version, id })
    }
}

/// Whether ASVS `version` has section or requirement `id` (`2.1.1`); `None` when the version
/// is not one `check` knows.
pub fn asvs_has(version: &str, id: &str) -> Option<bool> {
    let list = match version {
        "4.0.3" => include_str!("asvs-4.0.3.txt"),
        "5.0.0" => include_str!("asvs-5.0.0.txt"),
        _ => return None,
    };
    Some(list.lines().any(|line| line.strip_prefix('V') == Some(id)))
}

/// How a backlog or report shows an ASVS reference: `ASVS 4.0.3 V2.1.1`, or `ASVS V2.1.1`.
pub fn asvs_display(reference: &str) -> String {
    match AsvsReference::parse(reference) {
        Some(AsvsReference::Versioned { version, id }) => format!("ASVS {version} V{id}"),
        _ => format!("ASVS {reference}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_become_reference_ids() {
        let attack = CatalogKind::AttackEnterprise;
        assert_eq!(
            reference_of(attack, "t1059-001").as_deref(),
            Some("T1059.001")
        );
        assert_eq!(reference_of(attack, "t1059").as_deref(), Some("T1059"));
        assert_eq!(reference_of(attack, "m1036").as_deref(), Some("M1036"));
        assert_eq!(reference_of(attack, "m1036-001"), None);
        assert_eq!(reference_of(attack, "no-mitigation-in-source"), None);
        assert_eq!(
            reference_of(CatalogKind::Capec, "capec-66").as_deref(),
            Some("66")
        );
        assert_eq!(reference_of(CatalogKind::Capec, "coa-66-0"), None);
    }

    #[test]
    fn asvs_references_carry_their_version() {
        assert_eq!(
            AsvsReference::parse("v4.0.3-2.1.1"),
            Some(AsvsReference::Versioned {
                version: "4.0.3",
                id: "2.1.1"
            })
        );
        assert_eq!(
            AsvsReference::parse("V2.1.1"),
            Some(AsvsReference::Unversioned { id: "2.1.1" })
        );
        assert_eq!(asvs_has("4.0.3", "2.1.1"), Some(true));
        assert_eq!(asvs_has("4.0.3", "2.1"), Some(true));
        assert_eq!(asvs_has("4.0.3", "99.1.1"), Some(false));
        // 4.0.3 has 14 chapters, 5.0.0 has 17.
        assert_eq!(asvs_has("5.0.0", "17.1.1"), Some(true));
        assert_eq!(asvs_has("4.0.3", "17.1.1"), Some(false));
        assert_eq!(asvs_has("4.0.2", "2.1.1"), None);
        assert_eq!(asvs_display("v4.0.3-2.1.1"), "ASVS 4.0.3 V2.1.1");
        assert_eq!(asvs_display("V2.1.1"), "ASVS V2.1.1");
    }
}
