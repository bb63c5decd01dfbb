//! Checks of overrides: the target is a dependency's item that exists (when the dependency is
//! available by path), and every operation fits the kind of item it changes.

use crate::check::conditions::Subjects;
use crate::check::{conditions, reference_problem, tier_problem};
use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Index, Lookup, ResolvedTarget, TargetLookup};
use crate::lints::Facts;
use crate::model::Override;
use crate::names::{ItemKind, Target, parse_target};
use crate::parse::Located;
use crate::upstream::{describe_changes, locked_item, upstream_item};

/// The target kinds an operation applies to, by its key.
fn allowed_kinds(operation: &str) -> &'static [&'static str] {
    match operation {
        "disable" => &["entity", "attack-pattern", "mitigation", "link"],
        "name" | "description" | "status" => &["entity", "attack-pattern", "mitigation"],
        "severity" | "likelihood" | "impact" => &["attack-pattern"],
        "tier" => &["attack-pattern", "mitigation", "link"],
        "implementation" | "verification" | "add-addresses" => &["mitigation"],
        "strength" => &["link"],
        "condition" => &["attack-pattern", "link"],
        _ => &[],
    }
}

/// The operations an override sets, by key.
fn operations(item: &Override) -> Vec<&'static str> {
    let set = [
        ("disable", item.disable.is_some()),
        ("name", item.name.is_some()),
        ("description", item.description.is_some()),
        ("implementation", item.implementation.is_some()),
        ("verification", item.verification.is_some()),
        ("severity", item.severity.is_some()),
        ("likelihood", item.likelihood.is_some()),
        ("impact", item.impact.is_some()),
        ("tier", item.tier.is_some()),
        ("status", item.status.is_some()),
        ("strength", item.strength.is_some()),
        ("condition", item.condition.is_some()),
        ("add-addresses", !item.add_addresses.is_empty()),
    ];
    set.into_iter()
        .filter(|(_, present)| *present)
        .map(|(key, _)| key)
        .collect()
}

pub(crate) fn check(index: &Index<'_>, facts: &mut Facts, diagnostics: &mut Vec<Diagnostic>) {
    for located in &index.root().overrides {
        check_override(index, facts, diagnostics, located);
    }
}

fn check_override(
    index: &Index<'_>,
    facts: &mut Facts,
    diagnostics: &mut Vec<Diagnostic>,
    located: &Located<Override>,
) {
    let root = index.root();
    let origin = &located.origin;
    let file = root.display_path(origin);
    let item = &located.item;
    let target_span = root.locate(origin, &["target"]);
    let Some(target) = parse_target(&item.target) else {
        return; // The schema already reported the malformed target.
    };
    let (kind_name, kind_article) = match &target {
        Target::Item { kind, .. } => (kind.as_str(), kind.article_name()),
        Target::Link { .. } => ("link", "a link"),
    };
    if operations(item).is_empty() {
        diagnostics.push(
            Diagnostic::new(Code::InvalidOverride, "this override changes nothing")
                .at(file, target_span.clone(), "no operation on this target")
                .help("add what to change, such as `severity`, `tier`, `strength` or `disable = true`; or remove the override"),
        );
    }
    for operation in operations(item) {
        if !allowed_kinds(operation).contains(&kind_name) {
            let allowed = allowed_kinds(operation).join(", ");
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidOverride,
                    format!("`{operation}` cannot be overridden on {kind_name} targets"),
                )
                .at(
                    file,
                    root.locate_key(origin, &[operation]),
                    format!("not a field of {kind_article}"),
                )
                .also(
                    file,
                    target_span.clone(),
                    format!("the target is {kind_article}"),
                )
                .help(format!("`{operation}` applies to: {allowed}")),
            );
        }
    }
    if root.name() == Some(target.pack()) {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidOverride,
                "an override cannot target its own pack",
            )
            .at(file, target_span, "this pack's own item")
            .help("change the item directly; overrides adapt a dependency's items"),
        );
        return;
    }
    diagnostics.extend(tier_problem(root, item.tier.as_deref(), origin, &["tier"]));

    // Resolve the target within the dependency.
    let resolved = match index.resolve_target(0, &item.target) {
        TargetLookup::Found(resolved) => resolved,
        TargetLookup::NotFound {
            lookup,
            qualified,
            kind,
        } => {
            if let Some(problem) =
                reference_problem(index, &lookup, &qualified, kind, file, target_span.clone())
            {
                diagnostics.push(problem.note("an override's target must exist in the dependency"));
            }
            return; // Otherwise not verifiable here (a registry dependency).
        }
        TargetLookup::NoSuchLink { .. } => {
            if let Target::Link {
                pack,
                mitigation,
                attack_pattern,
            } = &target
            {
                diagnostics.push(
                    Diagnostic::new(Code::UnknownReference, format!("`{pack}` has no link from `{mitigation}` to `{attack_pattern}`"))
                        .at(file, target_span.clone(), "no such link")
                        .help(format!("the links of `{mitigation}` are its `addresses`; to add one, use `add-addresses` on `{pack}:mitigation/{mitigation}`")),
                );
            }
            return;
        }
        TargetLookup::Malformed => return,
    };
    check_drift(index, diagnostics, located);
    let subjects = match resolved {
        ResolvedTarget::Item(ItemKind::AttackPattern, found) => Some(index.applies_to(found)),
        ResolvedTarget::Link { attack_pattern, .. } => Some(index.applies_to(attack_pattern)),
        ResolvedTarget::Item(..) => None,
    };
    if let (Some(condition), Some(subjects)) = (&item.condition, &subjects) {
        conditions::check(
            index,
            facts,
            diagnostics,
            condition,
            origin,
            &["condition"],
            Subjects::Elements(subjects),
        );
    }
    for (position, address) in item.add_addresses.iter().enumerate() {
        let position = position.to_string();
        let fields = ["add-addresses", position.as_str(), "attack-pattern"];
        let lookup = index.lookup(0, &address.attack_pattern, ItemKind::AttackPattern);
        if let Some(problem) = reference_problem(
            index,
            &lookup,
            &address.attack_pattern,
            ItemKind::AttackPattern,
            file,
            root.locate(origin, &fields),
        ) {
            diagnostics.push(problem);
        } else if let Lookup::Found(attack_pattern) = lookup
            && let Some(condition) = &address.condition
        {
            let subjects = index.applies_to(attack_pattern);
            conditions::check(
                index,
                facts,
                diagnostics,
                condition,
                origin,
                &["add-addresses", &position, "condition"],
                Subjects::Elements(&subjects),
            );
        }
        diagnostics.extend(tier_problem(
            root,
            address.tier.as_deref(),
            origin,
            &["add-addresses", &position, "tier"],
        ));
    }
}

/// Warns when the override's target changed upstream since it was reviewed, or when the
/// override records nothing to tell.
fn check_drift(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>, located: &Located<Override>) {
    let root = index.root();
    let origin = &located.origin;
    let file = root.display_path(origin);
    let target = &located.item.target;
    let Some(upstream) = upstream_item(index, 0, target) else {
        return;
    };
    match &located.item.upstream_digest {
        None => diagnostics.push(
            Diagnostic::new(
                Code::UnstampedOverride,
                format!("the override of `{target}` records no upstream digest"),
            )
            .at(file, root.locate(origin, &["target"]), "drift of this target cannot be detected")
            .help("run `threatpack overrides refresh` to record what it was written against; `check` and `build` then warn when upstream changes it"),
        ),
        Some(recorded) if *recorded != upstream.digest => {
            let mut diagnostic = Diagnostic::new(
                Code::UpstreamDrift,
                format!("`{target}` changed upstream since this override was reviewed"),
            )
            .at(
                file,
                root.locate(origin, &["upstream-digest"]),
                format!("reviewed against this; `{}` {} has another", upstream.pack, upstream.version),
            );
            match locked_item(index.graph, recorded) {
                Some(old) => {
                    diagnostic = diagnostic.note(format!(
                        "reviewed against `{}` {}, now {}",
                        upstream.pack, old.version, upstream.version
                    ));
                    for change in describe_changes(&old.content, &upstream.content) {
                        diagnostic = diagnostic.note(format!("upstream: {change}"));
                    }
                }
                None => {
                    diagnostic = diagnostic.note(format!(
                        "`{}` does not hold the reviewed content, so the change cannot be shown",
                        crate::source::UPSTREAM_LOCK
                    ));
                }
            }
            diagnostics.push(diagnostic.help(
                "check that the override still makes sense, then run `threatpack overrides refresh` to acknowledge the change",
            ));
        }
        Some(_) => {}
    }
}
