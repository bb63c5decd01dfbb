//! Checks of `pack.toml` that its schema cannot express: the name rules, semver, SPDX, and
//! whether path dependencies are the packs and versions required.

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::document::string_content_offset;
use crate::index::Index;
use crate::names::{check_pack_name, parse_version};

pub(crate) fn check(index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let Some(manifest) = &root.manifest else {
        return;
    };
    let origin = &manifest.origin;
    let file = root.display_path(origin);
    let pack = &manifest.item.pack;

    if let Err(problem) = check_pack_name(&pack.name) {
        diagnostics.push(
            Diagnostic::new(Code::InvalidName, format!("invalid pack name `{}`", pack.name))
                .at(file, root.locate(origin, &["pack", "name"]), problem)
                .help("a pack name is `namespace/name`: lowercase ASCII letters, digits and single `-`, each part starting with a letter and at most 64 characters"),
        );
    }
    if let Err(problem) = parse_version(&pack.version) {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidVersion,
                format!("invalid version `{}`", pack.version),
            )
            .at(file, root.locate(origin, &["pack", "version"]), problem)
            .help("write a semantic version such as `1.0.0` or `2.1.0-rc.1`"),
        );
    }
    if let Err(error) = spdx::Expression::parse(&pack.license) {
        // Underline the offending term when the string has no escapes to shift offsets.
        let value_span = root.locate(origin, &["pack", "license"]);
        let span = root
            .node(origin, &["pack", "license"])
            .and_then(|node| {
                let text = root.text(origin);
                let start = string_content_offset(text, node, error.span.start)?;
                let end = string_content_offset(text, node, error.span.end)?;
                (start < end).then_some(start..end)
            })
            .unwrap_or(value_span);
        // The spdx crate's lenient mode knows common misspellings ("Apache 2", "GPLv3").
        let help = match spdx::Expression::canonicalize(&pack.license) {
            Ok(Some(canonical)) => format!("did you mean `{canonical}`?"),
            _ => "use SPDX identifiers, e.g. `CC-BY-4.0`, `Apache-2.0 OR MIT`; see https://spdx.org/licenses/".to_string(),
        };
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidLicense,
                format!("invalid SPDX licence expression `{}`", pack.license),
            )
            .at(file, span, error.reason.to_string())
            .help(help),
        );
    }

    diagnostics.extend(crate::check::tier_problem(
        root,
        pack.default_tier.as_deref(),
        origin,
        &["pack", "default-tier"],
    ));

    for (name, spec) in &manifest.item.dependencies {
        let key_span = root.locate_key(origin, &["dependencies", name]);
        if let Err(problem) = check_pack_name(name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidName,
                    format!("invalid dependency name `{name}`"),
                )
                .at(file, key_span.clone(), problem)
                .help("name the dependency by its pack name, `namespace/name`"),
            );
            continue;
        }
        if *name == pack.name {
            diagnostics.push(
                Diagnostic::new(
                    Code::DependencyMismatch,
                    format!("`{name}` depends on itself"),
                )
                .at(file, key_span, "this is the pack's own name")
                .help("remove this dependency"),
            );
            continue;
        }
        let requirement_fields: &[&str] = if spec.path().is_some() {
            &["dependencies", name, "version"]
        } else {
            &["dependencies", name]
        };
        let requirement_span = root.locate(origin, requirement_fields);
        let requirement = match semver::VersionReq::parse(spec.requirement()) {
            Ok(requirement) => requirement,
            Err(error) => {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidRequirement,
                        format!("invalid version requirement `{}`", spec.requirement()),
                    )
                    .at(file, requirement_span, error.to_string())
                    .help("write a semver requirement such as `^1.2`, `~1.2.3` or `>=1.0, <3`"),
                );
                continue;
            }
        };
        let Some(Some(loaded)) = index.graph.dependencies[0].get(name) else {
            continue;
        };
        if let Some(cycle) = cycle_back_to_root(index, *loaded) {
            diagnostics.push(
                Diagnostic::new(Code::DependencyMismatch, format!("dependency cycle: {}", cycle.join(" → ")))
                    .at(file, key_span.clone(), "leads back to this pack")
                    .help("packs form a hierarchy: a vendor pack cannot depend on the packs that adapt it; move the shared items into a third pack"),
            );
            continue;
        }
        let dependency = index.pack(*loaded);
        let path = spec.path().unwrap_or_default();
        let path_span = root.locate(origin, &["dependencies", name, "path"]);
        let Some(found_name) = dependency.name() else {
            diagnostics.push(
                Diagnostic::new(
                    Code::DependencyUnavailable,
                    format!("`{path}` holds no readable pack"),
                )
                .at(file, path_span, "no valid `pack.toml` there")
                .help(format!(
                    "run `threatpack check {}` to see why",
                    dependency.sources.display_root
                )),
            );
            continue;
        };
        if found_name != name {
            diagnostics.push(
                Diagnostic::new(
                    Code::DependencyMismatch,
                    format!("`{path}` holds `{found_name}`, not `{name}`"),
                )
                .at(file, path_span, format!("this is `{found_name}`"))
                .help("point `path` at the right pack, or rename the dependency"),
            );
            continue;
        }
        let found_version = dependency
            .manifest
            .as_ref()
            .map(|manifest| manifest.item.pack.version.as_str())
            .unwrap_or_default();
        if let Ok(version) = parse_version(found_version)
            && !requirement.matches(&version)
        {
            diagnostics.push(
                    Diagnostic::new(
                        Code::DependencyMismatch,
                        format!("`{}` {} requires `{name}` {requirement}, but `{name}` at `{path}` is {version}", pack.name, pack.version),
                    )
                    .at(file, requirement_span, format!("{version} does not match"))
                    .help(format!("change the requirement to match {version}, or point `path` at a matching version")),
                );
        }
        let errors = dependency
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count();
        if errors > 0 {
            diagnostics.push(
                Diagnostic::new(
                    Code::DependencyUnavailable,
                    format!("dependency `{name}` has {errors} error(s)"),
                )
                .at(file, key_span, "this dependency does not parse cleanly")
                .help(format!(
                    "run `threatpack check {}` and fix it first",
                    dependency.sources.display_root
                )),
            );
        }
    }
}

/// The names along a dependency path from `start` back to the root pack, if there is one.
fn cycle_back_to_root(index: &Index<'_>, start: usize) -> Option<Vec<String>> {
    let name = |pack: usize| index.pack(pack).name().unwrap_or("?").to_string();
    let mut came_from: Vec<Option<usize>> = vec![None; index.graph.packs.len()];
    let mut seen = vec![false; index.graph.packs.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    seen[start] = true;
    while let Some(pack) = queue.pop_front() {
        for next in index.graph.dependencies[pack].values().flatten() {
            if *next == 0 {
                let mut path = vec![pack];
                while let Some(previous) = came_from[*path.last().unwrap_or(&start)] {
                    path.push(previous);
                }
                let mut names = vec![name(0)];
                names.extend(path.iter().rev().map(|pack| name(*pack)));
                names.push(name(0));
                return Some(names);
            }
            if !seen[*next] {
                seen[*next] = true;
                came_from[*next] = Some(pack);
                queue.push_back(*next);
            }
        }
    }
    None
}
