//! Checks of pack tests: the model passes the one model validation (`system::validate`, the
//! one `apply` and `test` run) against the pack being checked, the tiers are declared, and the
//! expected findings name real attack patterns and elements. (Running them is `testing`'s job.)

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::check::{reference_problem, tier_problem};
use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Index, Lookup};
use crate::model::{PackTest, PropertyDefinition};
use crate::names::ItemKind;
use crate::parse::{Located, Origin, ParsedPack};
use crate::system::validate::{
    Catalogue, EntityShape, ModelPlaces, Resolution, Unresolved, validate,
};

pub(crate) fn check(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    for located in &index.root().tests {
        check_test(index, diagnostics, located);
    }
}

/// The pack being checked as the catalogue of its tests' models: local references name the
/// root pack's items, qualified ones a direct dependency's (as everywhere in a pack).
struct PackCatalogue<'i, 'g> {
    index: &'i Index<'g>,
}

impl PackCatalogue<'_, '_> {
    fn resolve(&self, reference: &str, kind: ItemKind) -> Resolution<usize> {
        let lookup = self.index.lookup(0, reference, kind);
        match lookup {
            Lookup::Found(found) => Resolution::Found(found),
            Lookup::Unverifiable => Resolution::Failed,
            Lookup::Missing { .. } | Lookup::NotADependency => {
                match reference_problem(self.index, &lookup, reference, kind, "", 0..0) {
                    Some(problem) => Resolution::Unknown(Unresolved {
                        message: problem.message,
                        label: problem.primary.map(|label| label.text).unwrap_or_default(),
                        help: problem.help.unwrap_or_default(),
                    }),
                    None => Resolution::Failed,
                }
            }
        }
    }
}

impl Catalogue for PackCatalogue<'_, '_> {
    fn pack(&self) -> &str {
        self.index.root().name().unwrap_or("this pack")
    }

    fn entity(&self, reference: &str) -> Resolution<EntityShape<'_>> {
        match self.resolve(reference, ItemKind::Entity) {
            Resolution::Found(entity) => {
                let resolved = &self.index.resolved[entity];
                Resolution::Found(EntityShape {
                    index: entity,
                    kind: resolved.kind,
                    properties: resolved
                        .properties
                        .iter()
                        .map(|(name, info)| (*name, info.definition))
                        .collect(),
                    complete: resolved.complete,
                })
            }
            Resolution::Failed => Resolution::Failed,
            Resolution::Unknown(unresolved) => Resolution::Unknown(unresolved),
        }
    }

    fn attack_pattern(&self, reference: &str) -> Resolution<usize> {
        self.resolve(reference, ItemKind::AttackPattern)
    }

    fn mitigation(&self, reference: &str) -> Resolution<usize> {
        self.resolve(reference, ItemKind::Mitigation)
    }

    fn system_properties(&self) -> BTreeMap<&str, &PropertyDefinition> {
        self.index
            .system_properties
            .iter()
            .map(|(name, info)| (*name, info.definition))
            .collect()
    }

    fn system_properties_complete(&self) -> bool {
        self.index.system_complete
    }
}

/// A pack test's file, where its model's fields are written.
struct TestPlaces<'a> {
    root: &'a ParsedPack,
    origin: &'a Origin,
}

impl ModelPlaces for TestPlaces<'_> {
    fn display_path(&self) -> &str {
        self.root.display_path(self.origin)
    }

    fn locate(&self, field: &[&str]) -> Range<usize> {
        self.root.locate(self.origin, field)
    }

    fn locate_key(&self, field: &[&str]) -> Range<usize> {
        self.root.locate_key(self.origin, field)
    }
}

fn check_test(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>, located: &Located<PackTest>) {
    let root = index.root();
    let origin = &located.origin;
    let file = root.display_path(origin);
    let model = &located.item.model;
    let tier = located.item.test.tier.as_deref();
    // `auto`: the pack's tier rules choose, from the model's `[system]` facts.
    diagnostics.extend(tier_problem(
        root,
        tier.filter(|tier| *tier != "auto"),
        origin,
        &["test", "tier"],
    ));
    diagnostics.extend(tier_problem(
        root,
        located.item.test.expect_tier.as_deref(),
        origin,
        &["test", "expect-tier"],
    ));

    // The model: the validation `apply` and `test` run, against the pack being checked.
    let model = crate::system::flat::FlatModel::from_model(model);
    let validation = validate(
        &model,
        &PackCatalogue { index },
        &TestPlaces { root, origin },
    );
    diagnostics.extend(validation.diagnostics);
    let elements = validation.elements;

    // Expected findings.
    let expectations = &located.item.test;
    let expected: BTreeSet<&str> = expectations.expect.iter().map(String::as_str).collect();
    for (field, findings) in [
        ("expect", &expectations.expect),
        ("expect-absent", &expectations.expect_absent),
    ] {
        for (position, finding) in findings.iter().enumerate() {
            let span = root.locate(origin, &["test", field, &position.to_string()]);
            let Some((attack_pattern, element)) = finding.rsplit_once('@') else {
                continue; // The schema reported it.
            };
            let lookup = index.lookup(0, attack_pattern, ItemKind::AttackPattern);
            if let Some(problem) = reference_problem(
                index,
                &lookup,
                attack_pattern,
                ItemKind::AttackPattern,
                file,
                span.clone(),
            ) {
                diagnostics.push(problem);
            }
            if !elements.contains_key(element) {
                diagnostics.push(
                    Diagnostic::new(Code::InvalidModel, format!("no element `{element}` in the model"))
                        .at(file, span.clone(), "unknown element")
                        .help("write `ATTACK-PATTERN@ELEMENT` with the id of a component, flow or boundary of this test"),
                );
            }
            if field == "expect-absent" && expected.contains(finding.as_str()) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidModel,
                        format!("`{finding}` is both expected and expected absent"),
                    )
                    .at(file, span, "contradicts `expect`")
                    .help("keep it in one of the two lists"),
                );
            }
        }
    }
}
