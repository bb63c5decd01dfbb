//! The semver bump a diff requires, with one reason per change, and whether a declared version
//! is bumped enough over a baseline. The rules and why: docs/versioning.md.
//!
//! The levels are about meaning, whatever the version: a `Major` change breaks what consumers
//! rely on. How a level maps onto version numbers follows cargo for 0.x versions: in `0.y.z`, a
//! major change needs `0.(y+1).0` and anything else `0.y.(z+1)`; in `0.0.z` every release may
//! break.
//!
//! `rules.rs`: every rule with its level, and which rule a changed field falls under;
//! `reasons.rs`: one reason per change of a diff; `messages.rs`: how a change reads;
//! `versions.rs`: version arithmetic (permitted bump, minimum version, baseline).

mod messages;
mod reasons;
mod rules;
mod versions;

use serde::Serialize;

pub use messages::{applicability_message, field_message};
pub use reasons::{Reason, SubjectKind, required_bump};
pub use rules::{Rule, field_rule};
pub use versions::{
    VersionCheck, baseline_version, check_version, minimum_version, permitted_bump,
};

/// A semver level, smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bump {
    /// Nothing changed.
    None,
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

/// The bump a diff requires and every reason, most severe first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BumpReport {
    pub required: Bump,
    pub reasons: Vec<Reason>,
}

#[cfg(test)]
mod tests {
    use semver::Version;
    use serde_json::Value as Json;

    use super::rules::property_field_rule;
    use super::*;
    use crate::versioning::diff::FieldChange;

    fn version(text: &str) -> Version {
        Version::parse(text).expect("a version")
    }

    #[test]
    fn permitted_bumps_follow_semver_and_cargo_for_zero_versions() {
        let cases = [
            ("1.2.3", "1.2.4", Some(Bump::Patch)),
            ("1.2.3", "1.3.0", Some(Bump::Minor)),
            ("1.2.3", "2.0.0", Some(Bump::Major)),
            ("1.2.3", "2.0.0-rc.1", Some(Bump::Major)),
            ("1.2.3", "1.2.3", None),
            ("1.2.3", "1.2.2", None),
            ("1.2.3", "1.2.3-rc.1", None),
            ("0.2.3", "0.2.4", Some(Bump::Minor)),
            ("0.2.3", "0.3.0", Some(Bump::Major)),
            ("0.2.3", "1.0.0", Some(Bump::Major)),
            ("0.0.3", "0.0.4", Some(Bump::Major)),
            ("2.0.0-rc.1", "2.0.0-rc.2", Some(Bump::Major)),
            ("2.0.0-rc.1", "2.0.0", Some(Bump::Major)),
            ("2.0.0-rc.1", "2.0.1", Some(Bump::Patch)),
        ];
        for (baseline, declared, expected) in cases {
            assert_eq!(
                permitted_bump(&version(baseline), &version(declared)),
                expected,
                "{baseline} → {declared}"
            );
        }
    }

    #[test]
    fn minimum_versions() {
        let cases = [
            ("1.2.3", Bump::Major, "2.0.0"),
            ("1.2.3", Bump::Minor, "1.3.0"),
            ("1.2.3", Bump::Patch, "1.2.4"),
            ("1.2.3", Bump::None, "1.2.3"),
            ("0.2.3", Bump::Major, "0.3.0"),
            ("0.2.3", Bump::Minor, "0.2.4"),
            ("0.0.3", Bump::Patch, "0.0.4"),
            ("2.0.0-rc.1", Bump::Major, "2.0.0"),
        ];
        for (baseline, required, expected) in cases {
            let minimum = minimum_version(&version(baseline), required);
            assert_eq!(minimum.to_string(), expected, "{baseline} {required:?}");
            // The minimum always passes its own check.
            assert!(
                check_version(&version(baseline), &minimum, required).ok,
                "{baseline} {required:?}"
            );
        }
    }

    #[test]
    fn under_bumped_versions_fail() {
        let check = |baseline: &str, declared: &str, required| {
            check_version(&version(baseline), &version(declared), required).ok
        };
        assert!(!check("1.0.0", "1.0.1", Bump::Major));
        assert!(!check("1.0.0", "1.0.1", Bump::Minor));
        assert!(!check("1.0.0", "1.0.0", Bump::Patch));
        assert!(check("1.0.0", "1.0.0", Bump::None));
        assert!(!check("1.0.0", "0.9.0", Bump::None));
        assert!(check("1.0.0", "1.1.0", Bump::Minor));
        assert!(!check("0.1.0", "0.1.1", Bump::Major));
        assert!(check("0.1.0", "0.1.1", Bump::Minor));
    }

    #[test]
    fn the_baseline_is_the_highest_release_below() {
        let published: Vec<Version> = ["1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0"]
            .iter()
            .map(|text| version(text))
            .collect();
        let baseline = |declared: &str| {
            baseline_version(&published, &version(declared)).map(|found| found.to_string())
        };
        assert_eq!(baseline("1.2.0").as_deref(), Some("1.1.0"));
        assert_eq!(baseline("1.0.1").as_deref(), Some("1.0.0"));
        assert_eq!(baseline("3.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(baseline("1.0.0"), None);
        let only_pre = [version("1.0.0-rc.1")];
        assert_eq!(
            baseline_version(&only_pre, &version("1.0.0")).map(|found| found.to_string()),
            Some("1.0.0-rc.1".to_string())
        );
    }

    /// Every field of the compiled items is classified: a field added to `kb.json` without a
    /// rule here would be judged `unclassified-change` (major) in every diff.
    #[test]
    fn every_field_of_the_compiled_items_has_a_rule() {
        use crate::versioning::diff::{
            ACTIVITY_SKIP, ATTACK_PATTERN_SKIP, ENTITY_SKIP, LINK_SKIP, MITIGATION_SKIP,
        };
        let kb = crate::versioning::test_support::kb(&[
            (
                "entities/e.toml",
                r#"[[entity]]
id = "service"
name = "Service"
description = "A service."
kind = "process"

[entity.properties.port]
type = "int"
default = 443
min = 1
max = 65535
description = "D."
question = "Q?"
rationale = "R."

[[entity]]
id = "api"
name = "API"
description = "An API."
parent = "service"
"#,
            ),
            (
                "attack-patterns/a.toml",
                r#"[[attack-pattern]]
id = "x"
name = "X"
description = "An attack."
categories = ["tampering"]
applies-to = ["service"]
condition = "self.port > 1024"
severity = "low"
likelihood = "high"
impact = "low"
tier = "top"
status = "deprecated"
replaced-by = "y"

[attack-pattern.references]
cwe = [20]

[[attack-pattern]]
id = "y"
name = "Y"
description = "An attack."
categories = ["tampering"]
applies-to = ["service"]
severity = "low"
"#,
            ),
            (
                "mitigations/m.toml",
                r#"[[mitigation]]
id = "m"
name = "M"
description = "A control."
control = "preventive"
cost = "low"
implementation = "Do it."
verification = "Check it."
events = [{ id = "m.done", description = "Done." }]
tier = "top"

[mitigation.references]
cwe = [20]

[[mitigation.addresses]]
attack-pattern = "y"
strength = "strong"
tier = "standard"
condition = "self.port > 1"
"#,
            ),
            (
                "activities/a.toml",
                r#"[[activity]]
id = "dast"
name = "DAST"
kind = "dast"
description = "Scan it."
when = "report.threats > 0"
"#,
            ),
        ]);
        let keys = |value: Json, skip: &[&str]| -> Vec<String> {
            value
                .as_object()
                .expect("an object")
                .keys()
                .filter(|key| !skip.contains(&key.as_str()))
                .cloned()
                .collect()
        };
        fn to_json<T: Serialize>(value: &T) -> Json {
            serde_json::to_value(value).expect("items serialize")
        }
        let samples = [
            (SubjectKind::Entity, to_json(&kb.entities[0]), ENTITY_SKIP),
            (
                SubjectKind::AttackPattern,
                to_json(&kb.attack_patterns[0]),
                ATTACK_PATTERN_SKIP,
            ),
            (
                SubjectKind::Mitigation,
                to_json(&kb.mitigations[0]),
                MITIGATION_SKIP,
            ),
            (SubjectKind::Link, to_json(&kb.links[0]), LINK_SKIP),
            (
                SubjectKind::Activity,
                to_json(&kb.activities[0]),
                ACTIVITY_SKIP,
            ),
        ];
        for (kind, json, skip) in samples {
            for key in keys(json, skip) {
                assert_ne!(
                    field_rule(kind, &key),
                    Some(Rule::UnclassifiedChange),
                    "{kind:?} `{key}` has no rule"
                );
            }
        }
        let service = kb
            .entities
            .iter()
            .find(|entity| entity.id.ends_with("/service"))
            .expect("the service");
        let definition = to_json(&service.properties["port"].definition);
        for key in keys(definition, &["values"])
            .into_iter()
            .chain(["declared-by".to_string()])
        {
            let change = FieldChange {
                field: key.clone(),
                old: Json::Null,
                new: Json::Null,
            };
            assert_ne!(
                property_field_rule(&change),
                Rule::UnclassifiedChange,
                "property `{key}` has no rule"
            );
        }
    }

    /// One activity per kind of change: `kept` gets a new name and description (patch),
    /// `rule` a new `when` (minor), `layout` the same `when` laid out otherwise (patch), `kind`
    /// another kind (minor), `gone` is removed (major), `new` added (minor).
    #[test]
    fn security_activities_follow_their_rules() {
        let activity = |id: &str, name: &str, kind: &str, when: &str| {
            format!(
                "[[activity]]\nid = \"{id}\"\nname = \"{name}\"\nkind = \"{kind}\"\ndescription = \"{name}.\"\nwhen = '{when}'\n\n"
            )
        };
        let old = [
            activity("kept", "Kept", "sast", "report.threats > 0"),
            activity("rule", "Rule", "dast", "report.threats > 0"),
            activity("layout", "Layout", "dast", "report.threats > 0"),
            activity("kind", "Kind", "design-review", "report.threats > 0"),
            activity("gone", "Gone", "custom", "report.threats > 0"),
        ]
        .concat();
        let new = [
            activity("kept", "Kept and renamed", "sast", "report.threats > 0"),
            activity("rule", "Rule", "dast", "report.threats > 5"),
            activity("layout", "Layout", "dast", "(report.threats  >  0)"),
            activity("kind", "Kind", "penetration-test", "report.threats > 0"),
            activity("new", "New", "custom", "report.threats > 0"),
        ]
        .concat();
        let diff = crate::versioning::diff(
            &crate::versioning::test_support::kb(&[("activities/a.toml", &old)]),
            &crate::versioning::test_support::kb(&[("activities/a.toml", &new)]),
        );
        let changed: Vec<&str> = diff
            .activities
            .iter()
            .map(|change| change.id.as_str())
            .collect();
        assert_eq!(
            changed,
            [
                "test/pack:activity/gone",
                "test/pack:activity/kept",
                "test/pack:activity/kind",
                "test/pack:activity/layout",
                "test/pack:activity/new",
                "test/pack:activity/rule",
            ]
        );
        let report = required_bump(&diff);
        assert_eq!(report.required, Bump::Major);
        let mut rules: Vec<(&str, Rule)> = report
            .reasons
            .iter()
            .map(|reason| {
                assert_eq!(reason.kind, SubjectKind::Activity, "{reason:?}");
                (
                    reason.item.trim_start_matches("test/pack:activity/"),
                    reason.rule,
                )
            })
            .collect();
        rules.sort();
        assert_eq!(
            rules,
            [
                ("gone", Rule::ItemRemoved),
                ("kept", Rule::DocumentationChanged),
                ("kept", Rule::DocumentationChanged),
                ("kind", Rule::ActivityKindChanged),
                ("layout", Rule::RewrittenSameEffect),
                ("new", Rule::ItemAdded),
                ("rule", Rule::ActivityRuleChanged),
            ]
        );
        // Without the removal, the rest needs a minor bump.
        let mut kept = diff.clone();
        kept.activities
            .retain(|change| change.id != "test/pack:activity/gone");
        assert_eq!(required_bump(&kept).required, Bump::Minor);
    }

    #[test]
    fn every_rule_has_a_distinct_code() {
        let mut codes: Vec<&str> = Rule::ALL.iter().map(|rule| rule.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
    }
}
