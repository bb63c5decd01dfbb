//! Which override sets each field: every pack's overrides, in dependency order, with
//! precedence and conflicts.
//!
//! Precedence: a pack's override beats an override of the same field in a pack it depends on
//! (directly or not) — it was written knowing that one. Two packs that do not depend on each
//! other setting one field to different values is a conflict, reported with both places; the
//! pack that depends on both settles it by overriding the field itself. The same value twice is
//! no conflict.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::index::{Lookup, ResolvedTarget, TargetLookup};
use crate::model::{Override, Rating, Severity, Status, Strength};
use crate::names::ItemKind;
use crate::parse::Located;

use super::{AppliedOverride, Compiler, Source};

/// What a setting changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SettingTarget {
    Entity(usize),
    AttackPattern(usize),
    Mitigation(usize),
    /// (mitigation, attack pattern)
    Link(usize, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Text(String),
    Severity(Severity),
    Rating(Rating),
    /// The rank among the built pack's tiers, and the name as written.
    Tier(usize, String),
    Status(Status),
    Strength(Strength),
    Bool(bool),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Text(text) => format!("{text:?}"),
            Value::Severity(value) => format!("{value:?}").to_lowercase(),
            Value::Rating(value) => format!("{value:?}").to_lowercase(),
            Value::Tier(_, name) => format!("{name:?}"),
            Value::Status(value) => format!("{value:?}").to_lowercase(),
            Value::Strength(value) => format!("{value:?}").to_lowercase(),
            Value::Bool(value) => value.to_string(),
        }
    }

    /// Equal for conflict purposes: tiers compare by rank in the built pack.
    fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Tier(a, _), Value::Tier(b, _)) => a == b,
            _ => self == other,
        }
    }
}

/// One field set by one override.
struct Setting {
    target: SettingTarget,
    field: &'static str,
    value: Value,
    pack: usize,
    /// Index into `Resolution::applied`.
    applied: usize,
    /// Where the value is written, relative to the override.
    fields: Vec<String>,
}

/// The value that wins for a field, and where it came from.
pub(super) struct Winner {
    pub target: SettingTarget,
    pub field: &'static str,
    pub value: Value,
    pub source: Source,
}

pub(super) struct Resolution {
    pub winners: Vec<Winner>,
    pub applied: Vec<AppliedOverride>,
}

pub(super) fn resolve(compiler: &mut Compiler<'_, '_>) -> Resolution {
    let graph = compiler.graph;
    let mut settings: Vec<Setting> = Vec::new();
    let mut applied: Vec<AppliedOverride> = Vec::new();
    let mut locations: Vec<(usize, &Located<Override>)> = Vec::new();
    for pack in graph.dependency_order() {
        for located in &graph.packs[pack].overrides {
            let Some(target) = resolve_target(compiler, pack, located) else {
                continue;
            };
            let start = settings.len();
            collect(
                compiler,
                pack,
                located,
                target,
                applied.len(),
                &mut settings,
            );
            let source = compiler.source(pack, &located.origin, &[]);
            let mut fields: Vec<String> = settings[start..]
                .iter()
                .map(|setting| setting.fields.join("."))
                .collect();
            fields.dedup();
            applied.push(AppliedOverride {
                target: located.item.target.clone(),
                pack: source.pack,
                file: source.file,
                line: source.line,
                reason: located.item.reason.clone(),
                fields,
                superseded: Vec::new(),
                upstream_digest: located.item.upstream_digest.clone(),
            });
            locations.push((pack, located));
        }
    }

    // Which pack depends on which, once.
    let count = graph.packs.len();
    let reaches: Vec<Vec<bool>> = (0..count)
        .map(|pack| {
            (0..count)
                .map(|other| graph.depends_on(pack, other))
                .collect()
        })
        .collect();

    let mut groups: BTreeMap<(SettingTarget, &'static str), Vec<usize>> = BTreeMap::new();
    for (position, setting) in settings.iter().enumerate() {
        groups
            .entry((setting.target, setting.field))
            .or_default()
            .push(position);
    }
    let mut winners = Vec::new();
    for ((target, field), members) in groups {
        // The settings no other setting's pack depends on (they have the last word).
        let maximal: Vec<usize> = members
            .iter()
            .copied()
            .filter(|member| {
                let pack = settings[*member].pack;
                !members.iter().any(|other| {
                    let other_pack = settings[*other].pack;
                    other_pack != pack && reaches[other_pack][pack]
                })
            })
            .collect();
        let Some(&last) = maximal.last() else {
            continue;
        };
        if let Some(&different) = maximal
            .iter()
            .find(|member| !settings[**member].value.same_as(&settings[last].value))
        {
            conflict(compiler, &settings, &locations, different, last);
            continue;
        }
        for member in &members {
            if *member != last {
                let setting = &settings[*member];
                applied[setting.applied]
                    .superseded
                    .push(setting.fields.join("."));
            }
        }
        let winner = &settings[last];
        let (pack, located) = locations[winner.applied];
        let fields: Vec<&str> = winner.fields.iter().map(String::as_str).collect();
        let mut source = compiler.source(pack, &located.origin, &fields);
        source.reason = Some(located.item.reason.clone());
        winners.push(Winner {
            target,
            field,
            value: winner.value.clone(),
            source,
        });
    }
    Resolution { winners, applied }
}

/// The item an override targets, or a diagnostic when there is none.
fn resolve_target(
    compiler: &mut Compiler<'_, '_>,
    pack: usize,
    located: &Located<Override>,
) -> Option<SettingTarget> {
    let parsed = &compiler.graph.packs[pack];
    let target = &located.item.target;
    let missing = |what: String| {
        Diagnostic::new(
            Code::UnknownReference,
            format!("override target `{target}` does not exist"),
        )
        .at(
            parsed.display_path(&located.origin),
            parsed.locate(&located.origin, &["target"]),
            what,
        )
        .help("fix the target, or remove the override if the item is gone upstream")
    };
    let target_pack = target.split(':').next().unwrap_or_default();
    let problem = match compiler.index.resolve_target(pack, target) {
        TargetLookup::Found(ResolvedTarget::Item(kind, found)) => {
            return Some(match kind {
                ItemKind::Entity => SettingTarget::Entity(found),
                ItemKind::AttackPattern => SettingTarget::AttackPattern(found),
                ItemKind::Mitigation => SettingTarget::Mitigation(found),
            });
        }
        TargetLookup::Found(ResolvedTarget::Link {
            mitigation,
            attack_pattern,
            ..
        }) => return Some(SettingTarget::Link(mitigation, attack_pattern)),
        TargetLookup::Malformed => return None,
        TargetLookup::NotFound {
            lookup: Lookup::NotADependency,
            ..
        } => format!("`{target_pack}` is not a dependency"),
        TargetLookup::NotFound {
            qualified, kind, ..
        } => format!(
            "no {} `{}` in `{target_pack}`",
            kind.as_str().replace('-', " "),
            qualified.rsplit('/').next().unwrap_or_default(),
        ),
        TargetLookup::NoSuchLink { .. } => format!("no such link in `{target_pack}`"),
    };
    compiler.diagnostics.push(missing(problem));
    None
}

/// The settings of one override.
fn collect(
    compiler: &Compiler<'_, '_>,
    pack: usize,
    located: &Located<Override>,
    target: SettingTarget,
    applied: usize,
    settings: &mut Vec<Setting>,
) {
    let item = &located.item;
    let mut set =
        |target: SettingTarget, field: &'static str, value: Value, fields: Vec<String>| {
            settings.push(Setting {
                target,
                field,
                value,
                pack,
                applied,
                fields,
            });
        };
    let here = |field: &str| vec![field.to_string()];
    if let Some(disable) = item.disable {
        set(target, "disable", Value::Bool(disable), here("disable"));
    }
    for (field, text) in [
        ("name", &item.name),
        ("description", &item.description),
        ("implementation", &item.implementation),
        ("verification", &item.verification),
        ("condition", &item.condition),
    ] {
        if let Some(text) = text {
            set(target, field, Value::Text(text.clone()), here(field));
        }
    }
    if let Some(severity) = item.severity {
        set(
            target,
            "severity",
            Value::Severity(severity),
            here("severity"),
        );
    }
    if let Some(likelihood) = item.likelihood {
        set(
            target,
            "likelihood",
            Value::Rating(likelihood),
            here("likelihood"),
        );
    }
    if let Some(impact) = item.impact {
        set(target, "impact", Value::Rating(impact), here("impact"));
    }
    if let Some(tier) = &item.tier {
        let rank = compiler.tier_rank(pack, Some(tier));
        set(
            target,
            "tier",
            Value::Tier(rank, tier.clone()),
            here("tier"),
        );
    }
    if let Some(status) = item.status {
        set(target, "status", Value::Status(status), here("status"));
    }
    if let Some(strength) = item.strength {
        set(
            target,
            "strength",
            Value::Strength(strength),
            here("strength"),
        );
    }
    let SettingTarget::Mitigation(mitigation) = target else {
        return;
    };
    for (position, address) in item.add_addresses.iter().enumerate() {
        let Lookup::Found(attack_pattern) =
            compiler
                .index
                .lookup(pack, &address.attack_pattern, ItemKind::AttackPattern)
        else {
            continue; // `check` reports it.
        };
        let link = SettingTarget::Link(mitigation, attack_pattern);
        let at = |field: &str| {
            vec![
                "add-addresses".to_string(),
                position.to_string(),
                field.to_string(),
            ]
        };
        set(link, "link", Value::Bool(true), at("attack-pattern"));
        set(
            link,
            "strength",
            Value::Strength(address.strength),
            at("strength"),
        );
        if let Some(tier) = &address.tier {
            let rank = compiler.tier_rank(pack, Some(tier));
            set(link, "tier", Value::Tier(rank, tier.clone()), at("tier"));
        }
        if let Some(condition) = &address.condition {
            set(
                link,
                "condition",
                Value::Text(condition.clone()),
                at("condition"),
            );
        }
        if let Some(description) = &address.description {
            set(
                link,
                "description",
                Value::Text(description.clone()),
                at("description"),
            );
        }
    }
}

fn conflict(
    compiler: &mut Compiler<'_, '_>,
    settings: &[Setting],
    locations: &[(usize, &Located<Override>)],
    first: usize,
    second: usize,
) {
    let graph = compiler.graph;
    let place = |setting: &Setting| {
        let (pack, located) = locations[setting.applied];
        let parsed = &graph.packs[pack];
        let fields: Vec<&str> = setting.fields.iter().map(String::as_str).collect();
        (
            parsed.display_path(&located.origin).to_string(),
            parsed.locate(&located.origin, &fields),
            parsed.name().unwrap_or("?").to_string(),
            located.item.target.clone(),
        )
    };
    let (a, b) = (&settings[first], &settings[second]);
    let (file_a, span_a, pack_a, target) = place(a);
    let (file_b, span_b, pack_b, _) = place(b);
    let root = graph.packs[0].name().unwrap_or("the pack being built");
    let help = if pack_a == pack_b {
        format!("`{pack_a}` sets it twice: keep one override")
    } else {
        format!(
            "decide in `{root}`: an override of the same field there wins over both, as a pack's overrides win over those of the packs it depends on (`{root}` must list the target's pack among its own dependencies)"
        )
    };
    compiler.diagnostics.push(
        Diagnostic::new(
            Code::OverrideConflict,
            format!("conflicting overrides of `{}` on `{target}`", a.field),
        )
        .at(
            &file_a,
            span_a,
            format!("`{pack_a}` sets {}", a.value.describe()),
        )
        .also(
            &file_b,
            span_b,
            format!("`{pack_b}` sets {}", b.value.describe()),
        )
        .help(help),
    );
}
