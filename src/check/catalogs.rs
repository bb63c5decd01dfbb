//! `references` checked against catalogs: CAPEC and ATT&CK ids against the catalog packs the
//! pack names in `[catalogs]` (or depends on), ASVS ids against the built-in lists of the
//! versions `check` knows. A reference to an id the catalog lacks is `unknown-catalog-reference`,
//! to one it deprecated `deprecated-catalog-reference` (naming the catalog's replacement), an
//! ASVS id without a version `unversioned-asvs-reference`. Without a catalog of a kind, its
//! references are checked by format only (the schema).
//!
//! ```toml
//! [catalogs]
//! "mitre/capec" = { version = "^3.9", path = "../mitre-capec" }
//!
//! [attack-pattern.references]
//! capec = [999999]          # error: `CAPEC-999999` is not in `mitre/capec` 3.9.0
//! asvs = ["V2.1.1"]         # warning: which ASVS? write `v4.0.3-2.1.1`
//! ```

use std::collections::BTreeMap;

use crate::catalog::{AsvsReference, Catalog, CatalogKind, LoadedCatalog, asvs_has};
use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::model::{References, Status};
use crate::names::parse_version;
use crate::parse::{Origin, ParsedPack};

pub(crate) fn check(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let mut catalogs: BTreeMap<CatalogKind, Catalog> = BTreeMap::new();
    // Dependencies that are catalog packs count as catalogs too.
    for pack in index.graph.packs.iter().skip(1) {
        if pack
            .manifest
            .as_ref()
            .is_some_and(|manifest| manifest.item.pack.catalog.is_some())
            && let Ok(catalog) = Catalog::of_pack(pack)
        {
            catalogs.insert(catalog.kind, catalog);
        }
    }
    for (name, loaded) in &index.graph.catalogs {
        if let Some(catalog) = declared_catalog(root, name, loaded, diagnostics) {
            catalogs.insert(catalog.kind, catalog.clone());
        }
    }
    let items = root
        .attack_patterns
        .iter()
        .map(|item| (&item.item.references, item.item.status, &item.origin))
        .chain(
            root.mitigations
                .iter()
                .map(|item| (&item.item.references, item.item.status, &item.origin)),
        );
    for (references, status, origin) in items {
        // A deprecated item keeps the references it was written with.
        if status == Status::Deprecated {
            continue;
        }
        check_references(root, &catalogs, references, origin, diagnostics);
    }
}

/// The catalog a `[catalogs]` entry names, or the diagnostic saying why it cannot be used.
fn declared_catalog<'c>(
    root: &ParsedPack,
    name: &str,
    loaded: &'c LoadedCatalog,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'c Catalog> {
    let manifest = root.manifest.as_ref()?;
    let origin = &manifest.origin;
    let file = root.display_path(origin);
    let spec = manifest.item.catalogs.get(name)?;
    let path_span = if spec.path().is_some() {
        root.locate(origin, &["catalogs", name, "path"])
    } else {
        root.locate(origin, &["catalogs", name])
    };
    let catalog = match loaded {
        LoadedCatalog::Found(catalog) => catalog,
        LoadedCatalog::Missing(problem) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::CatalogUnavailable,
                    format!("catalog `{name}` is not read: {problem}"),
                )
                .at(file, path_span, "not read")
                .help(if spec.path().is_some() {
                    format!("the `capec`/`attack` references are checked by format only; put `{name}` there (the shipped catalogs are in the repository's `packs/`), or correct `path`")
                } else {
                    format!("the `capec`/`attack` references are checked by format only; give `{name}` a `path` to the catalog pack (the shipped catalogs are in the repository's `packs/`)")
                }),
            );
            return None;
        }
        LoadedCatalog::Unusable(problem) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::DependencyUnavailable,
                    format!("catalog `{name}` cannot be used"),
                )
                .at(file, path_span, "no catalog pack here")
                .help(problem.clone()),
            );
            return None;
        }
    };
    if catalog.name != name {
        diagnostics.push(
            Diagnostic::new(
                Code::DependencyMismatch,
                format!(
                    "catalog `{name}`'s path holds `{}`, not `{name}`",
                    catalog.name
                ),
            )
            .at(file, path_span, format!("this is `{}`", catalog.name))
            .help("point `path` at the right pack, or rename the catalog"),
        );
        return None;
    }
    let requirement_span = root.locate(origin, &["catalogs", name, "version"]);
    match semver::VersionReq::parse(spec.requirement()) {
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidRequirement,
                    format!("invalid version requirement `{}`", spec.requirement()),
                )
                .at(file, requirement_span, error.to_string())
                .help("write a semver requirement such as `^3.9`"),
            );
            return None;
        }
        Ok(requirement) => {
            if let Ok(version) = parse_version(&catalog.version)
                && !requirement.matches(&version)
            {
                diagnostics.push(
                    Diagnostic::new(
                        Code::DependencyMismatch,
                        format!("this pack cites `{name}` {requirement}, but the catalog is {version}"),
                    )
                    .at(file, requirement_span, format!("{version} does not match"))
                    .help(format!("check the references against {version} and change the requirement, or point `path` at a matching version")),
                );
                return None;
            }
        }
    }
    Some(catalog)
}

fn check_references(
    root: &ParsedPack,
    catalogs: &BTreeMap<CatalogKind, Catalog>,
    references: &References,
    origin: &Origin,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let file = root.display_path(origin);
    let mut report_id = |catalog: &Catalog, id: &str, written: &str, fields: [&str; 3]| {
        let span = root.locate(origin, &fields);
        match catalog.ids.get(id) {
            None => diagnostics.push(
                Diagnostic::new(
                    Code::UnknownCatalogReference,
                    format!("`{}` is not in {}", catalog.display(id), catalog.label()),
                )
                .at(file, span, "not in the catalog")
                .help(format!(
                    "correct the id, or remove it: {} has no such id",
                    catalog.label()
                )),
            ),
            Some(entry) if entry.deprecated => {
                let help = match &entry.replaced_by {
                    Some(replacement) => format!(
                        "the catalog replaces it by `{}`: cite `{}` instead",
                        catalog.display(replacement),
                        written.replace(id, replacement)
                    ),
                    None => {
                        "the catalog names no replacement: cite a current id instead, or remove it"
                            .to_string()
                    }
                };
                diagnostics.push(
                    Diagnostic::new(
                        Code::DeprecatedCatalogReference,
                        format!(
                            "`{}` is deprecated in {}",
                            catalog.display(id),
                            catalog.label()
                        ),
                    )
                    .at(file, span, "deprecated")
                    .help(help),
                );
            }
            Some(_) => {}
        }
    };
    if let Some(catalog) = catalogs.get(&CatalogKind::Capec) {
        for (position, number) in references.capec.iter().enumerate() {
            let id = number.to_string();
            report_id(
                catalog,
                &id,
                &id,
                ["references", "capec", &position.to_string()],
            );
        }
    }
    for (position, reference) in references.attack.iter().enumerate() {
        let (kind, id) = CatalogKind::of_attack_reference(reference);
        if let Some(catalog) = catalogs.get(&kind) {
            report_id(
                catalog,
                id,
                reference,
                ["references", "attack", &position.to_string()],
            );
        }
    }
    for (position, reference) in references.asvs.iter().enumerate() {
        let span = root.locate(origin, &["references", "asvs", &position.to_string()]);
        match AsvsReference::parse(reference) {
            Some(AsvsReference::Unversioned { id }) => diagnostics.push(
                Diagnostic::new(
                    Code::UnversionedAsvsReference,
                    format!("`{reference}` does not say which ASVS it cites"),
                )
                .at(file, span, "no ASVS version")
                .help(format!(
                    "write OWASP's citation form with the version, e.g. `v4.0.3-{id}` or `v5.0.0-{id}`: ASVS 5.0 gave most 4.0.3 ids to other requirements"
                )),
            ),
            Some(AsvsReference::Versioned { version, id })
                if asvs_has(version, id) == Some(false) =>
            {
                diagnostics.push(
                    Diagnostic::new(
                        Code::UnknownCatalogReference,
                        format!("`V{id}` is not in ASVS {version}"),
                    )
                    .at(file, span, "not in the standard")
                    .help(format!(
                        "correct the id, or the version: ASVS {version} has no section or requirement V{id}"
                    )),
                );
            }
            _ => {}
        }
    }
}
