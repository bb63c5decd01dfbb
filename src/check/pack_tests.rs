//! Checks of pack tests: the model is consistent with the pack's entities and system
//! properties, and the expected findings name real attack patterns and elements. (Running them is the rule engine's job.)

use std::collections::{BTreeMap, BTreeSet};

use crate::check::{Index, Lookup, reference_problem, tier_problem};
use crate::condition::value_fits;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{ElementKind, PackTest};
use crate::names::ItemKind;
use crate::parse::Located;

pub(crate) fn check(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    for located in &index.root().tests {
        check_test(index, diagnostics, located);
    }
}

/// The model element kinds: which DFD kinds each may have.
#[derive(Clone, Copy)]
enum ElementRole {
    Component,
    Flow,
    Boundary,
}

impl ElementRole {
    fn table(self) -> &'static str {
        match self {
            ElementRole::Component => "component",
            ElementRole::Flow => "flow",
            ElementRole::Boundary => "boundary",
        }
    }

    fn accepts(self, kind: ElementKind) -> bool {
        match self {
            ElementRole::Component => kind.is_component(),
            ElementRole::Flow => kind == ElementKind::DataFlow,
            ElementRole::Boundary => kind == ElementKind::TrustBoundary,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            ElementRole::Component => "a process, data-store or external-interactor entity",
            ElementRole::Flow => "a data-flow entity",
            ElementRole::Boundary => "a trust-boundary entity",
        }
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

    // System facts: values of the system properties of the pack and its dependencies.
    for (name, value) in &model.system {
        match index.system_properties.get(name.as_str()) {
            None => {
                let declared = &index.system_properties;
                let help = match crate::schema::suggest(name, declared.keys().copied()) {
                    Some(candidate) => format!("did you mean `{candidate}`?"),
                    None if declared.is_empty() => "the pack and its dependencies declare no system properties; declare one in `[system.properties]` of `pack.toml`".to_string(),
                    None => format!(
                        "the system properties are {}",
                        declared
                            .keys()
                            .map(|known| format!("`{known}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                diagnostics.push(
                    Diagnostic::new(Code::InvalidModel, format!("no system property `{name}`"))
                        .at(
                            file,
                            root.locate_key(origin, &["system", name]),
                            "unknown system property",
                        )
                        .help(help),
                );
            }
            Some(info) => {
                if let Err(problem) = value_fits(info.definition, value) {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidModel,
                            format!("invalid value for the system property `{name}`"),
                        )
                        .at(file, root.locate(origin, &["system", name]), problem)
                        .help(info.definition.question.clone()),
                    );
                }
            }
        }
    }

    // Element ids, unique across the model, with their role.
    let mut elements: BTreeMap<&str, ElementRole> = BTreeMap::new();
    let all = model
        .component
        .iter()
        .enumerate()
        .map(|(position, element)| {
            (
                ElementRole::Component,
                position,
                element.id.as_str(),
                element.kind.as_str(),
                &element.properties,
            )
        })
        .chain(model.flow.iter().enumerate().map(|(position, flow)| {
            (
                ElementRole::Flow,
                position,
                flow.id.as_str(),
                flow.kind.as_str(),
                &flow.properties,
            )
        }))
        .chain(
            model
                .boundary
                .iter()
                .enumerate()
                .map(|(position, boundary)| {
                    (
                        ElementRole::Boundary,
                        position,
                        boundary.id.as_str(),
                        boundary.kind.as_str(),
                        &boundary.properties,
                    )
                }),
        );
    for (role, position, id, kind, properties) in all {
        let position = position.to_string();
        let at = |field: &str| root.locate(origin, &[role.table(), &position, field]);
        if elements.insert(id, role).is_some() {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidModel,
                    format!("the element id `{id}` is used twice in the model"),
                )
                .at(file, at("id"), "already used")
                .help("give every component, flow and boundary its own id"),
            );
        }
        let lookup = index.lookup(0, kind, ItemKind::Entity);
        if let Some(problem) =
            reference_problem(index, &lookup, kind, ItemKind::Entity, file, at("kind"))
        {
            diagnostics.push(problem);
            continue;
        }
        let Lookup::Found(entity) = lookup else {
            continue;
        };
        let resolved = &index.resolved[entity];
        if let Some(element_kind) = resolved.kind
            && !role.accepts(element_kind)
        {
            diagnostics.push(
                Diagnostic::new(
                    Code::KindMismatch,
                    format!("a {} cannot be a `{kind}`", role.table()),
                )
                .at(
                    file,
                    at("kind"),
                    format!("`{kind}` is a {}", element_kind.as_str()),
                )
                .help(format!("a {} needs {}", role.table(), role.expected())),
            );
        }
        for (name, value) in properties {
            let value_span = root.locate(origin, &[role.table(), &position, "properties", name]);
            match resolved.properties.get(name.as_str()) {
                None => {
                    let help =
                        match crate::schema::suggest(name, resolved.properties.keys().copied()) {
                            Some(candidate) => format!("did you mean `{candidate}`?"),
                            None => format!(
                                "`{kind}` has: {}",
                                resolved
                                    .properties
                                    .keys()
                                    .map(|known| format!("`{known}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                    diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidModel,
                            format!("`{kind}` has no property `{name}`"),
                        )
                        .at(
                            file,
                            root.locate_key(origin, &[role.table(), &position, "properties", name]),
                            "unknown property",
                        )
                        .help(help),
                    );
                }
                Some(info) => {
                    if let Err(problem) = value_fits(info.definition, value) {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidModel,
                                format!("invalid value for `{name}`"),
                            )
                            .at(file, value_span, problem)
                            .help(info.definition.question.clone()),
                        );
                    }
                }
            }
        }
    }
    for (position, flow) in model.flow.iter().enumerate() {
        for (field, end) in [("source", &flow.source), ("target", &flow.target)] {
            if !matches!(elements.get(end.as_str()), Some(ElementRole::Component)) {
                let label = match elements.get(end.as_str()) {
                    Some(role) => format!("`{end}` is a {}", role.table()),
                    None => "no such component".to_string(),
                };
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidModel,
                        format!("the flow's {field} `{end}` is not a component of the model"),
                    )
                    .at(
                        file,
                        root.locate(origin, &["flow", &position.to_string(), field]),
                        label,
                    )
                    .help("a flow goes from one `[[component]]` to another"),
                );
            }
        }
    }
    for (position, boundary) in model.boundary.iter().enumerate() {
        for (member_position, member) in boundary.contains.iter().enumerate() {
            if !matches!(elements.get(member.as_str()), Some(ElementRole::Component)) {
                let label = match elements.get(member.as_str()) {
                    Some(role) => format!("`{member}` is a {}", role.table()),
                    None => "no such component".to_string(),
                };
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidModel,
                        format!("the boundary contains `{member}`, which is not a component"),
                    )
                    .at(
                        file,
                        root.locate(
                            origin,
                            &[
                                "boundary",
                                &position.to_string(),
                                "contains",
                                &member_position.to_string(),
                            ],
                        ),
                        label,
                    )
                    .help("list the ids of `[[component]]` tables"),
                );
            }
        }
    }

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
                    Diagnostic::new(Code::InvalidModel, format!("`{element}` is not an element of the model"))
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
