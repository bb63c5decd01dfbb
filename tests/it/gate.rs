//! `apply` for CI: the report's provenance, the gate (`--fail-on`, `--baseline`, `--policy`,
//! exit code 3), governed risk acceptance, SARIF and `test --format junit`.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value as Json;

use crate::support::{Run, repository, threatpack, threatpack_with};

/// The example shop with example-org, offline: the model and pack as the docs show them.
const SHOP: [&str; 4] = [
    "--model",
    "examples/online-shop/model.toml",
    "--pack",
    "packs/example-org",
];

fn shop(extra: &[&str]) -> Run {
    let mut args = vec!["apply"];
    args.extend_from_slice(&SHOP);
    args.extend_from_slice(extra);
    threatpack(&repository(), &args)
}

fn json(run: &Run) -> Json {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stderr))
}

#[test]
fn the_json_report_records_its_provenance() {
    let run = shop(&["--format", "json", "--offline"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run);
    let provenance = &report["provenance"];
    assert_eq!(report["format"], 2);
    assert_eq!(provenance["tool"]["name"], "threatpack");
    assert_eq!(provenance["tool"]["version"], env!("CARGO_PKG_VERSION"));
    // SOURCE_DATE_EPOCH (set by the test support) is the time.
    assert_eq!(provenance["generated-at"], "2026-12-08T00:00:00Z");
    let model = fs::read(repository().join("examples/online-shop/model.toml")).expect("model");
    assert_eq!(
        provenance["model"]["sha256"],
        threatpack::digest::sha256_hex(&model)
    );
    assert_eq!(
        provenance["model"]["file"],
        "examples/online-shop/model.toml"
    );
    let packs = provenance["packs"].as_array().expect("packs");
    let names: Vec<&str> = packs
        .iter()
        .filter_map(|pack| pack["name"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");
    assert!(names.contains(&"threatpack/stride-core"), "{names:?}");
    assert!(names.contains(&"acme/appsec-policy"), "{names:?}");
    for pack in packs {
        assert_eq!(pack["source"], "directory", "{pack}");
        assert_eq!(pack["sha256"], Json::Null);
    }
    // No flag, no threatpack.toml name, no CI: no project.
    assert!(provenance.get("project").is_none(), "{provenance}");
}

#[test]
fn the_project_comes_from_the_flag_else_the_ci_system() {
    let ci = |variables: &[(&str, &str)], extra: &[&str]| -> Json {
        let mut args = vec!["apply"];
        args.extend_from_slice(&SHOP);
        args.extend_from_slice(&["--format", "json", "--offline"]);
        args.extend_from_slice(extra);
        let run = threatpack_with(&repository(), &args, |command| {
            for (name, value) in variables {
                command.env(name, value);
            }
        });
        assert_eq!(run.code, 0, "{}", run.stderr);
        json(&run)["provenance"]["project"].clone()
    };
    let github = [("GITHUB_REPOSITORY", "acme/shop"), ("GITHUB_SHA", "9f1c")];
    assert_eq!(
        ci(&github, &[]),
        serde_json::json!({"name": "acme/shop", "revision": "9f1c", "source": "github-actions"})
    );
    assert_eq!(
        ci(
            &github,
            &["--project-name", "acme/other", "--revision", "abc"]
        ),
        serde_json::json!({"name": "acme/other", "revision": "abc", "source": "flag"})
    );
    let gitlab = [("CI_PROJECT_PATH", "acme/gl"), ("CI_COMMIT_SHA", "c0ffee")];
    assert_eq!(ci(&gitlab, &[])["source"], "gitlab-ci");
    let azure = [
        ("BUILD_REPOSITORY_NAME", "acme/az"),
        ("BUILD_SOURCEVERSION", "beef"),
    ];
    assert_eq!(ci(&azure, &[])["revision"], "beef");
    let jenkins = [("JOB_NAME", "acme/jk"), ("GIT_COMMIT", "f00d")];
    assert_eq!(ci(&jenkins, &[])["source"], "jenkins");
    // A name without a revision: the revision is left out, not made up.
    assert_eq!(
        ci(&[], &["--project-name", "acme/shop"]),
        serde_json::json!({"name": "acme/shop", "source": "flag"})
    );
}

#[test]
fn a_bundle_is_recorded_with_its_digest_and_verified_signer() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let root = directory.path();
    let build = threatpack(
        &repository(),
        &[
            "build",
            "packs/stride-core",
            "--out",
            &root.join("dist").to_string_lossy(),
        ],
    );
    assert_eq!(build.code, 0, "{}", build.stderr);
    let bundle = fs::read_dir(root.join("dist"))
        .expect("dist")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle");
    let key = threatpack(root, &["key", "generate", "--unencrypted", "--out", "k"]);
    assert_eq!(key.code, 0, "{}", key.stderr);
    let sign = threatpack(root, &["sign", &bundle.to_string_lossy(), "--key", "k.key"]);
    assert_eq!(sign.code, 0, "{}", sign.stderr);
    let model = repository().join("examples/online-shop/model.toml");
    let args = |key: bool| {
        let mut args = vec![
            "apply".to_string(),
            "--model".to_string(),
            model.to_string_lossy().to_string(),
            "--bundle".to_string(),
            bundle.to_string_lossy().to_string(),
            "--format".to_string(),
            "json".to_string(),
        ];
        if key {
            args.extend(["--key".to_string(), "k.pub".to_string()]);
        }
        args
    };
    let run = |key: bool| {
        let args = args(key);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = threatpack(root, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        json(&run)["provenance"]["packs"][0].clone()
    };
    let digest = threatpack::digest::sha256_hex(&fs::read(&bundle).expect("the bundle"));
    let unchecked = run(false);
    assert_eq!(unchecked["name"], "threatpack/stride-core");
    assert_eq!(unchecked["source"], "bundle");
    assert_eq!(unchecked["sha256"], digest.as_str());
    assert_eq!(
        unchecked["signer"],
        Json::Null,
        "not verified: no signer claimed"
    );
    let signer = run(true)["signer"].clone();
    let key_id = signer.as_str().expect("the verified signer");
    assert_eq!(key_id.len(), 16);
    let public = fs::read_to_string(root.join("k.pub")).expect("k.pub");
    assert!(public.contains(key_id), "{public}");
}

/// `apply` on the example shop's model as changed by `change`, in a directory of its own
/// (which also holds what `files` names), with `extra` flags.
fn shop_changed(change: impl Fn(String) -> String, files: &[(&str, &str)], extra: &[&str]) -> Run {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let model = fs::read_to_string(repository().join("examples/online-shop/model.toml"))
        .expect("the shop's model");
    fs::write(directory.path().join("model.toml"), change(model)).expect("write the model");
    for (name, text) in files {
        fs::write(directory.path().join(name), text).expect("write a file");
    }
    let pack = repository().join("packs/example-org");
    let pack = pack.to_string_lossy();
    let mut args = vec![
        "apply",
        "--model",
        "model.toml",
        "--pack",
        &pack,
        "--offline",
    ];
    args.extend_from_slice(extra);
    threatpack(directory.path(), &args)
}

fn unchanged(model: String) -> String {
    model
}

#[test]
fn fail_on_fails_with_exit_code_3_and_says_why() {
    let run = shop(&["--offline", "--fail-on", "critical"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: the gate failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("fail-on: `"), "{}", run.stderr);
    assert!(
        run.stderr.contains("residual risk critical"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("Online shop"),
        "the summary is still printed"
    );
    // The JSON report is written whole, as without the gate.
    let json_run = shop(&["--offline", "--fail-on", "critical", "--format", "json"]);
    assert_eq!(json_run.code, 3);
    let plain = shop(&["--offline", "--format", "json"]);
    assert_eq!(json_run.stdout, plain.stdout);
    let criticals = json(&plain)["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .filter(|threat| threat["residual"]["severity"] == "critical")
        .count();
    assert!(criticals > 0);
    assert!(
        run.stderr.contains(&format!("fail-on: {criticals}")),
        "{criticals}: {}",
        run.stderr
    );
    // Nothing is at or above... nothing higher than critical: `info` fails on every residual.
    let info = shop(&["--offline", "--fail-on", "info"]);
    assert_eq!(info.code, 3);
}

#[test]
fn a_baseline_fails_only_on_what_is_new_or_worse() {
    let plain = shop(&["--offline", "--format", "json"]);
    let baseline = plain.stdout.clone();
    let same = shop_changed(
        unchanged,
        &[("baseline.json", &baseline)],
        &["--fail-on", "high", "--baseline", "baseline.json"],
    );
    assert_eq!(same.code, 0, "nothing new: {}", same.stderr);
    // A threat that was lower in the baseline has risen.
    let mut lowered = json(&plain);
    let risen = lowered["threats"][0].clone();
    lowered["threats"][0]["residual"]["score"] = 0.into();
    let lowered = serde_json::to_string(&lowered).expect("JSON");
    let rose = shop_changed(
        unchanged,
        &[("baseline.json", &lowered)],
        &["--fail-on", "high", "--baseline", "baseline.json"],
    );
    assert_eq!(rose.code, 3, "{}", rose.stderr);
    assert!(
        rose.stderr.contains("1 violation new or worse"),
        "{}",
        rose.stderr
    );
    assert!(
        rose.stderr.contains(risen["id"].as_str().expect("id")),
        "{}",
        rose.stderr
    );
    // A new component brings new threats: only they fail.
    let new_component = |model: String| {
        model
            + "\n[[component]]\nid = \"reports\"\nname = \"Reports\"\nkind = \"web-application\"\nproperties = { internet_facing = true, authentication = \"none\" }\n"
    };
    let grown = shop_changed(
        new_component,
        &[("baseline.json", &baseline)],
        &["--fail-on", "high", "--baseline", "baseline.json"],
    );
    assert_eq!(grown.code, 3, "{}", grown.stderr);
    assert!(grown.stderr.contains("on `reports`"), "{}", grown.stderr);
    let lines: Vec<&str> = grown
        .stderr
        .lines()
        .filter(|line| line.starts_with("  fail-on:"))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|line| line.contains("on `reports`")),
        "{lines:#?}"
    );
    // A baseline that is not a report is bad input.
    let broken = shop_changed(
        unchanged,
        &[("baseline.json", "{\"threats\": 3}")],
        &["--fail-on", "high", "--baseline", "baseline.json"],
    );
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    assert!(
        broken
            .stderr
            .contains("`baseline.json` is not a threatpack JSON report"),
        "{}",
        broken.stderr
    );
}

#[test]
fn a_policy_file_sets_the_rules() {
    let policy = |text: &str, extra: &[&str]| {
        let mut args = vec!["--policy", "policy.toml"];
        args.extend_from_slice(extra);
        shop_changed(unchanged, &[("policy.toml", text)], &args)
    };
    let top = policy("no-unmitigated-top = true\n", &[]);
    assert_eq!(top.code, 3, "{}", top.stderr);
    assert!(
        top.stderr.contains("no-unmitigated-top: `"),
        "{}",
        top.stderr
    );
    assert!(top.stderr.contains("of the `top` tier"), "{}", top.stderr);
    // The shop handles personal data: `top` is not enough where `deep` is asked.
    let tier = "min-tier-when-personal-data = \"standard\"\n";
    let low = policy(tier, &["--tier", "top"]);
    assert_eq!(low.code, 3, "{}", low.stderr);
    assert!(low.stderr.contains("min-tier-when-personal-data: the system handles personal data but the tier applied is `top`, below `standard`"), "{}", low.stderr);
    assert_eq!(policy(tier, &["--tier", "standard"]).code, 0);
    assert_eq!(policy(tier, &["--tier", "all"]).code, 0);
    // --fail-on overrides the file's.
    let file = policy("fail-on = \"critical\"\n", &["--fail-on", "info"]);
    assert!(
        file.stderr.contains("(at or above info)"),
        "{}",
        file.stderr
    );
    // A mistake in the policy names the file and line: bad input.
    let typo = policy("fail-on = \"high\"\nno-unmitigated-tops = true\n", &[]);
    assert_eq!(typo.code, 1, "{}", typo.stderr);
    assert!(typo.stderr.contains("policy.toml"), "{}", typo.stderr);
    assert!(typo.stderr.contains("line 2"), "{}", typo.stderr);
}

#[test]
fn the_gate_can_require_the_activities_the_results_call_for() {
    let policy = |text: &str, change: &dyn Fn(String) -> String| {
        shop_changed(
            change,
            &[("policy.toml", text)],
            &["--policy", "policy.toml"],
        )
    };
    // The shop owes stride-core's five default activities.
    let all = policy("require-activities = true\n", &unchanged);
    assert_eq!(all.code, 3, "{}", all.stderr);
    assert_eq!(
        all.stderr
            .matches("  require-activities: activity `")
            .count(),
        5,
        "{}",
        all.stderr
    );
    assert!(
        all.stderr
            .contains("(threatpack/stride-core:activity/penetration-test): required by `"),
        "{}",
        all.stderr
    );
    // Only the one named, by its plain id; recorded done, it passes.
    let named = "require-activities = [\"penetration-test\"]\n";
    let owed = policy(named, &unchanged);
    assert_eq!(owed.code, 3, "{}", owed.stderr);
    assert_eq!(
        owed.stderr.matches("  require-activities: ").count(),
        1,
        "{}",
        owed.stderr
    );
    let done = |model: String| {
        format!(
            "{model}\n[[activity-done]]\nid = \"penetration-test\"\ndate = \"2026-11-30\"\nevidence = \"https://tracker.example/SEC-1\"\n"
        )
    };
    let passed = policy(named, &done);
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert_eq!(policy("require-activities = false\n", &unchanged).code, 0);
}

#[test]
fn the_policy_schema_accepts_the_documented_policy_and_refuses_a_typo() {
    let schema: Json = serde_json::from_str(
        &fs::read_to_string(repository().join("schema/policy.schema.json")).expect("the schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let documented = serde_json::json!({
        "fail-on": "high",
        "no-unmitigated-top": true,
        "min-tier-when-personal-data": "standard",
        "no-expired-acceptance": true,
        "require-activities": ["penetration-test"]
    });
    assert!(validator.is_valid(&documented));
    assert!(!validator.is_valid(&serde_json::json!({"fail-on": "severe"})));
    assert!(!validator.is_valid(&serde_json::json!({"no-unmitigated-tops": true})));
    assert!(validator.is_valid(&serde_json::json!({"require-activities": true})));
    assert!(!validator.is_valid(&serde_json::json!({"require-activities": "all"})));
    // The policy the docs show parses as the gate reads it.
    let docs = fs::read_to_string(repository().join("docs/ci.md")).expect("docs/ci.md");
    let start = docs
        .find("```toml\n# policy.toml")
        .expect("a policy in docs/ci.md");
    let text = &docs[start + 8..];
    let text = &text[..text.find("```").expect("the block's end")];
    threatpack::analysis::gate::Policy::parse("docs/ci.md", text).expect("the documented policy");
}

/// The shop's accepted risk, its `until` replaced.
fn accepted_until(until: &str) -> impl Fn(String) -> String {
    let until = until.to_string();
    move |model: String| model.replace("until = \"2027-03-31\"", &format!("until = \"{until}\""))
}

#[test]
fn an_expired_acceptance_counts_as_unmitigated_and_fails_the_gate() {
    let valid = shop_changed(accepted_until("2099-01-01"), &[], &["--format", "json"]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    let expired = shop_changed(accepted_until("2020-01-01"), &[], &["--format", "json"]);
    assert_eq!(expired.code, 0, "{}", expired.stderr);
    let at = |run: &Run| -> (Json, Json) {
        let report = json(run);
        let threat = report["threats"]
            .as_array()
            .expect("threats")
            .iter()
            .find(|threat| {
                threat["element"] == "orders-queue"
                    && threat["mitigations"]
                        .as_array()
                        .is_some_and(|all| all.iter().any(|m| m.get("acceptance").is_some()))
            })
            .expect("a threat with the acceptance")
            .clone();
        let mitigation = threat["mitigations"]
            .as_array()
            .expect("mitigations")
            .iter()
            .find(|m| m.get("acceptance").is_some())
            .expect("the accepted mitigation")
            .clone();
        (threat, mitigation)
    };
    let (_, mitigation) = at(&valid);
    assert_eq!(mitigation["status"], "accepted-risk");
    assert_eq!(mitigation["acceptance"]["owner"], "head of e-commerce");
    assert_eq!(mitigation["acceptance"]["expired"], false);
    let (threat, mitigation) = at(&expired);
    assert_eq!(mitigation["status"], "missing");
    assert_eq!(mitigation["acceptance"]["expired"], true);
    assert_ne!(threat["state"], "accepted");
    // The gate's rule.
    let policy = [("policy.toml", "no-expired-acceptance = true\n")];
    let flags = ["--policy", "policy.toml"];
    let gate = shop_changed(accepted_until("2020-01-01"), &policy, &flags);
    assert_eq!(gate.code, 3, "{}", gate.stderr);
    assert!(
        gate.stderr.contains("acceptance expired on 2020-01-01"),
        "{}",
        gate.stderr
    );
    assert_eq!(
        shop_changed(accepted_until("2099-01-01"), &policy, &flags).code,
        0
    );
    // SOURCE_DATE_EPOCH is 2026-12-08: the last day still holds.
    assert_eq!(
        shop_changed(accepted_until("2026-12-08"), &policy, &flags).code,
        0
    );
    assert_eq!(
        shop_changed(accepted_until("2026-12-07"), &policy, &flags).code,
        3
    );
}

#[test]
fn an_acceptance_without_owner_reason_or_date_is_a_model_error_at_its_line() {
    let no_owner = |model: String| model.replace("owner = \"head of e-commerce\"\n", "");
    let run = shop_changed(no_owner, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The model's schema says it first, at the entry's line.
    assert!(
        run.stderr.contains("`owner` is required here"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("model.toml:325"), "{}", run.stderr);
    let bad_date = shop_changed(accepted_until("next spring"), &[], &[]);
    assert_eq!(bad_date.code, 1, "{}", bad_date.stderr);
    assert!(bad_date.stderr.contains("`until`"), "{}", bad_date.stderr);
    assert!(
        bad_date.stderr.contains("model.toml:331"),
        "{}",
        bad_date.stderr
    );
    let impossible = shop_changed(accepted_until("2027-02-30"), &[], &[]);
    // The schema's pattern passes it; the calendar does not.
    assert_eq!(impossible.code, 1, "{}", impossible.stderr);
    assert!(
        impossible
            .stderr
            .contains("`until` is not a date: `2027-02-30`"),
        "{}",
        impossible.stderr
    );
}

/// The OASIS SARIF 2.1.0 schema (tests/fixtures/sarif/LICENSE says where it comes from).
fn sarif_validator() -> jsonschema::Validator {
    // The schema's `language` patterns (of `run` and `toolComponent`) have a stray `]`
    // (ECMA 262 reads it as a literal); the crate's regex engine refuses them, so they (for
    // fields threatpack never writes) are replaced in memory by the pattern intended; the
    // fixture stays byte for byte.
    let text =
        fs::read_to_string(repository().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"))
            .expect("the SARIF schema");
    let stray = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    assert_eq!(text.matches(stray).count(), 2);
    let text = text.replace(stray, "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    let schema: Json = serde_json::from_str(&text).expect("JSON");
    jsonschema::validator_for(&schema).expect("a valid schema")
}

#[test]
fn sarif_validates_against_the_oasis_schema_and_places_each_threat() {
    let run = shop(&["--offline", "--format", "sarif"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = json(&run);
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema can fail: a result without a message is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .expect("a result")
        .remove("message");
    assert!(!validator.is_valid(&broken));

    let report = json(&shop(&["--offline", "--format", "json"]));
    let threats = report["threats"].as_array().expect("threats");
    let run0 = &log["runs"][0];
    let results = run0["results"].as_array().expect("results");
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(results.len(), threats.len(), "a result per threat instance");
    let patterns: BTreeSet<&str> = threats
        .iter()
        .filter_map(|threat| threat["attack-pattern"].as_str())
        .collect();
    assert_eq!(rules.len(), patterns.len(), "a rule per attack pattern");
    let model = fs::read_to_string(repository().join("examples/online-shop/model.toml"))
        .expect("the model");
    let lines: Vec<&str> = model.lines().collect();
    for (result, threat) in results.iter().zip(threats) {
        assert_eq!(
            result["partialFingerprints"]["threatpackThreatId/v1"],
            threat["id"]
        );
        assert_eq!(result["ruleId"], threat["attack-pattern"]);
        let index = result["ruleIndex"].as_u64().expect("an index") as usize;
        assert_eq!(rules[index]["id"], threat["attack-pattern"]);
        let expected = match threat["residual"]["severity"].as_str() {
            Some("critical" | "high") => "error",
            Some("medium") => "warning",
            Some(_) => "note",
            None => "none",
        };
        assert_eq!(result["level"], expected, "{result}");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            "examples/online-shop/model.toml"
        );
        // The line is the element's table, whose next line names its id.
        let line = location["region"]["startLine"].as_u64().expect("a line") as usize;
        let element = threat["element"].as_str().expect("an element");
        assert!(
            lines[line - 1].starts_with("[["),
            "{line}: {}",
            lines[line - 1]
        );
        assert_eq!(
            lines[line],
            format!("id = \"{element}\""),
            "{element} at {line}"
        );
    }
    // Rules carry the pattern's description and the mitigations as help.
    let with_help = rules
        .iter()
        .filter(|rule| {
            rule["help"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("- "))
        })
        .count();
    assert!(with_help > 0);
    assert!(
        rules
            .iter()
            .all(|rule| rule["fullDescription"]["text"].is_string())
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).expect("create a directory");
    for entry in fs::read_dir(from).expect("read a directory") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}

#[test]
fn pack_tests_as_junit_name_each_test_and_its_failure() {
    let passing = threatpack(
        &repository(),
        &["test", "packs/example-org", "--format", "junit"],
    );
    assert_eq!(passing.code, 0, "{}", passing.stderr);
    let document = roxmltree::Document::parse(&passing.stdout).expect("well-formed XML");
    let suite = document
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .expect("a testsuite");
    assert_eq!(suite.attribute("name"), Some("packs/example-org"));
    assert_eq!(suite.attribute("failures"), Some("0"));
    let cases = suite
        .children()
        .filter(|node| node.has_tag_name("testcase"))
        .count();
    assert!(cases > 0);
    assert_eq!(suite.attribute("tests"), Some(cases.to_string().as_str()));

    // A broken condition fails a named test, with what is missing and why.
    let copy = tempfile::tempdir().expect("temporary directory");
    copy_dir(
        &repository().join("packs/stride-core"),
        &copy.path().join("stride-core"),
    );
    let file = copy
        .path()
        .join("stride-core/attack-patterns/injection.toml");
    let text = fs::read_to_string(&file).expect("read");
    let broken = text.replacen(
        r#"self.query_construction in ["string-building", "unknown"]"#,
        r#"self.query_construction in ["unknown"]"#,
        1,
    );
    assert_ne!(text, broken);
    fs::write(&file, broken).expect("write");
    let failing = threatpack(copy.path(), &["test", "stride-core", "--format", "junit"]);
    assert_eq!(failing.code, 1, "{}", failing.stderr);
    let document = roxmltree::Document::parse(&failing.stdout).expect("well-formed XML");
    let failures: Vec<roxmltree::Node<'_, '_>> = document
        .descendants()
        .filter(|node| node.has_tag_name("failure"))
        .collect();
    assert!(!failures.is_empty(), "{}", failing.stdout);
    let case = failures[0].parent().expect("its testcase");
    assert!(
        case.attribute("name")
            .is_some_and(|name| name.starts_with("stride-core/tests/")),
        "{case:?}"
    );
    let details = failures[0].text().unwrap_or_default();
    assert!(details.contains("- sql-injection@"), "{details}");
    assert!(
        details.contains("`self.query_construction in [\"unknown\"]` is false"),
        "{details}"
    );
    let suite = document
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .expect("a testsuite");
    assert_eq!(
        suite.attribute("failures"),
        Some(failures.len().to_string().as_str())
    );
}

#[test]
fn junit_escapes_what_xml_cannot_hold() {
    let outcome = threatpack::testing::TestOutcome {
        file: "tests/<a & b>.toml".to_string(),
        description: "quotes \" and ' and a bell \u{7}".to_string(),
        tier: None,
        missing: vec![("x@y".to_string(), "]]> <b>".to_string())],
        unexpected: Vec::new(),
        wrong_tier: None,
        errors: Vec::new(),
        diagnostics: Vec::new(),
    };
    let xml = threatpack::testing::junit_xml("p\u{1}", &[outcome]);
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let case = document
        .descendants()
        .find(|node| node.has_tag_name("testcase"))
        .expect("a testcase");
    assert_eq!(case.attribute("name"), Some("tests/<a & b>.toml"));
    let failure = case.first_element_child().expect("a failure");
    assert!(
        failure
            .attribute("message")
            .is_some_and(|m| m.contains("a bell \u{FFFD}"))
    );
    assert!(failure.text().is_some_and(|text| text.contains("]]> <b>")));
}
