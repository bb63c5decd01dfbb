//! Security activities triggered by risk (issue 16, section 5): a pack's `activities/*.toml`,
//! checked like conditions, required by `apply` exactly when their rule holds, and done when
//! the model records them.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value as Json;

use crate::support::{repository, threatpack, write_fixture};

const PACK: &str = r#"
--- act/pack.toml
[pack]
format = 1
name = "test/act"
version = "1.0.0"
description = "A pack for activity tests."
license = "MIT"
tiers = ["top"]

[system.properties.internet_facing]
type = "bool"
default = false
description = "Reachable from the internet."
question = "Is the system reachable from the internet?"
rationale = "Anonymous attackers."

[system.properties.handles_personal_data]
type = "bool"
default = false
description = "Holds personal data."
question = "Does the system hold personal data?"
rationale = "Breaches harm people."
--- act/entities/all.toml
[[entity]]
id = "service"
name = "Service"
description = "A service."
kind = "process"

[entity.properties.internet_facing]
type = "bool"
default = false
description = "Reachable from the internet."
question = "Is it reachable from the internet?"
rationale = "Anonymous attackers."
--- act/attack-patterns/all.toml
[[attack-pattern]]
id = "exposed"
name = "Exposed service"
description = "Attacked from the internet."
categories = ["spoofing"]
applies-to = ["service"]
condition = "self.internet_facing"
severity = "critical"
tier = "top"
--- act/mitigations/all.toml
[[mitigation]]
id = "gateway"
name = "Gateway"
description = "A gateway in front."
control = "preventive"
cost = "low"
implementation = "Put a gateway in front."
verification = "Reach the service directly."
tier = "top"

[[mitigation.addresses]]
attack-pattern = "exposed"
strength = "maximum"
--- act/activities/testing.toml
[[activity]]
id = "dast"
name = "DAST"
description = "Scan the running system."
kind = "dast"
when = "system.internet_facing || report.internet_facing_components > 0"

[[activity]]
id = "deeper"
name = "Deeper threat model"
description = "A specialist's threat model."
kind = "deeper-threat-model"
when = "report.residual.critical > 0"

[[activity]]
id = "pentest"
name = "Penetration test"
description = "Manual testing."
kind = "penetration-test"
when = """
report.internet_facing_components > 0
  && system.handles_personal_data"""
"#;

/// Applies the pack to `model` (TOML written as `model.toml`): the exit code and the JSON.
fn apply(directory: &Path, model: &str) -> (i32, Json, String) {
    std::fs::write(directory.join("model.toml"), model).expect("write the model");
    let run = threatpack(
        directory,
        &[
            "apply",
            "--model",
            "model.toml",
            "--pack",
            "act",
            "--format",
            "json",
        ],
    );
    let json = serde_json::from_str(&run.stdout).unwrap_or(Json::Null);
    (run.code, json, run.stderr)
}

fn required(report: &Json) -> BTreeSet<String> {
    report["activities"]["activities"]
        .as_array()
        .expect("activities listed")
        .iter()
        .map(|activity| {
            let id = activity["id"].as_str().expect("an id");
            id.rsplit('/').next().unwrap_or(id).to_string()
        })
        .collect()
}

fn model(system: &str, exposed: bool, done: &str) -> String {
    format!(
        "[model]\nname = \"m\"\n\n[system]\n{system}\n\n[[component]]\nid = \"api\"\nkind = \"service\"\nproperties = {{ internet_facing = {exposed} }}\n{done}"
    )
}

#[test]
fn an_activity_is_required_exactly_when_its_rule_holds() {
    let directory = write_fixture(PACK);
    let cases: [(&str, bool, &[&str]); 5] = [
        ("", false, &[]),
        ("internet_facing = true", false, &["dast"]),
        ("handles_personal_data = true", false, &[]),
        ("", true, &["dast", "deeper"]),
        (
            "handles_personal_data = true",
            true,
            &["dast", "deeper", "pentest"],
        ),
    ];
    for (system, exposed, expected) in cases {
        let (code, report, stderr) = apply(directory.path(), &model(system, exposed, ""));
        assert_eq!(code, 0, "{system} {exposed}: {stderr}");
        let expected: BTreeSet<String> = expected.iter().map(|id| id.to_string()).collect();
        assert_eq!(required(&report), expected, "{system} exposed={exposed}");
        assert_eq!(report["activities"]["required"], expected.len());
        assert_eq!(report["activities"]["owed"], expected.len());
    }
    // Why: the rule and the values it read.
    let (_, report, _) = apply(
        directory.path(),
        &model("handles_personal_data = true", true, ""),
    );
    let pentest = report["activities"]["activities"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|activity| activity["kind"] == "penetration-test")
        })
        .expect("the penetration test is required")
        .clone();
    assert_eq!(pentest["status"], "owed");
    assert_eq!(
        pentest["values"],
        serde_json::json!({
            "report.internet_facing_components": 1,
            "system.handles_personal_data": true,
        })
    );
    assert_eq!(
        pentest["source"], "test/act activities/testing.toml:15",
        "{pentest}"
    );
    // A critical threat mitigated in full leaves no critical residual risk: no deeper model.
    let (_, report, _) = apply(
        directory.path(),
        &model(
            "",
            true,
            "\n[[mitigation-status]]\nmitigation = \"gateway\"\nstatus = \"existing\"\n",
        ),
    );
    assert_eq!(required(&report), BTreeSet::from(["dast".to_string()]));
}

#[test]
fn activities_done_are_no_longer_owed() {
    let directory = write_fixture(PACK);
    let done = "\n[[activity-done]]\nid = \"dast\"\ndate = \"2026-11-30\"\nevidence = \"https://ci.example/zap/42\"\n";
    let (code, report, stderr) = apply(
        directory.path(),
        &model("handles_personal_data = true", true, done),
    );
    assert_eq!(code, 0, "{stderr}");
    let activities = &report["activities"];
    assert_eq!(
        (
            &activities["required"],
            &activities["done"],
            &activities["owed"]
        ),
        (&Json::from(3), &Json::from(1), &Json::from(2))
    );
    let dast = &activities["activities"][0];
    assert_eq!(dast["id"], "test/act:activity/dast");
    assert_eq!(dast["status"], "done");
    assert_eq!(dast["done"]["evidence"], "https://ci.example/zap/42");
    // The summary says so too.
    std::fs::write(
        directory.path().join("model.toml"),
        model("handles_personal_data = true", true, done),
    )
    .expect("write");
    let run = threatpack(
        directory.path(),
        &["apply", "--model", "model.toml", "--pack", "act"],
    );
    assert!(
        run.stdout
            .contains("activities: 3 required, 1 done, 2 owed"),
        "{}",
        run.stdout
    );
    // An activity the knowledge base does not have is a mistake in the model.
    let unknown = "\n[[activity-done]]\nid = \"dats\"\ndate = \"2026-11-30\"\nevidence = \"x\"\n";
    let (code, _, stderr) = apply(directory.path(), &model("", true, unknown));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unknown activity `dats`"), "{stderr}");
    assert!(stderr.contains("model.toml:"), "{stderr}");
}

#[test]
fn a_mistake_in_an_activity_rule_is_reported_at_its_line() {
    let broken = PACK
        .replace(
            "when = \"report.residual.critical > 0\"",
            "when = \"report.residual.critcal > 0\"",
        )
        .replace(
            "when = \"system.internet_facing || report.internet_facing_components > 0\"",
            "when = \"self.internet_facing\"",
        )
        .replace(
            "report.internet_facing_components > 0\n  && system.handles_personal_data",
            "report.internet_facing_components",
        );
    let directory = write_fixture(&broken);
    let run = threatpack(directory.path(), &["check", "act"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Line 6: `self` in `dast`; line 13: the typo in `deeper`; line 20: an int, not a bool.
    for expected in [
        "act/activities/testing.toml:6:",
        "`self` does not exist in activity rules",
        "act/activities/testing.toml:13:",
        "`report.residual` has no field `critcal`",
        "did you mean `critical`?",
        "act/activities/testing.toml:20:",
        "must be a bool",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    // And a schema mistake: an unknown kind.
    let directory = write_fixture(&PACK.replace("kind = \"dast\"", "kind = \"fuzzing\""));
    let run = threatpack(directory.path(), &["check", "act"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("act/activities/testing.toml:5:"),
        "{}",
        run.stderr
    );
}

#[test]
fn stride_core_requires_its_default_activities_on_the_example_shop() {
    let root = repository();
    let run = threatpack(
        &root,
        &[
            "apply",
            "--model",
            "examples/online-shop/model.toml",
            "--pack",
            "packs/stride-core",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("json");
    let validator =
        threatpack::schema::compile(threatpack::schema::SchemaKind::Report).expect("schema");
    let violations: Vec<String> = validator
        .iter_errors(&report)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
    // Internet-facing, personal data, critical residual risks, PCI DSS: every default applies.
    assert_eq!(
        required(&report),
        [
            "deeper-threat-model",
            "sast",
            "dast",
            "penetration-test",
            "design-review"
        ]
        .into_iter()
        .map(String::from)
        .collect::<BTreeSet<_>>()
    );
    assert_eq!(report["activities"]["owed"], 5);
    let deeper = &report["activities"]["activities"][0];
    assert_eq!(deeper["kind"], "deeper-threat-model");
    let critical = report["totals"]["by-residual"]["critical"].clone();
    assert_eq!(deeper["values"]["report.residual.critical"], critical);
    // The built knowledge base carries them, and validates.
    let run = threatpack(
        &root,
        &[
            "apply",
            "--model",
            "examples/online-shop/model.toml",
            "--pack",
            "packs/stride-core",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("## Security activities"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("5 required, 0 done, 5 owed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_pack_test_states_the_activities_it_expects() {
    let tests = r#"
--- act/tests/exposed.toml
[test]
description = "An exposed service with personal data requires every activity."
expect-activities = ["dast", "deeper", "pentest"]

[system]
handles_personal_data = true

[[component]]
id = "api"
kind = "service"
properties = { internet_facing = true }
--- act/tests/internal.toml
[test]
description = "Wrong on purpose: an internal service requires no DAST."
expect-activities = ["dast"]

[[component]]
id = "api"
kind = "service"
"#;
    let directory = write_fixture(&format!("{PACK}{tests}"));
    let run = threatpack(directory.path(), &["test", "act"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("ok    act/tests/exposed.toml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("FAIL  act/tests/internal.toml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("activity test/act:activity/dast"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("not required: `system.internet_facing || report.internet_facing_components > 0` does not hold"),
        "{}",
        run.stdout
    );
}
