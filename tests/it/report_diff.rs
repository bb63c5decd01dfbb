//! `threatpack report diff OLD NEW`: two JSON reports compared by stable id. The reports are
//! a real `apply --format json` of the online shop, edited by hand into the cases.

use std::fs;
use std::path::Path;

use serde_json::Value as Json;
use threatpack::schema::{SchemaKind, compile};

use crate::support::{Run, repository, threatpack};

/// The online shop's report under stride-core, as `apply --format json` writes it.
fn shop_report() -> Json {
    let root = repository();
    let run = threatpack(
        &root,
        &[
            "apply",
            "--pack",
            "packs/stride-core",
            "--model",
            "examples/online-shop/model.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("a JSON report")
}

fn diff(directory: &Path, old: &Json, new: &Json, format: &str) -> Run {
    fs::write(directory.join("old.json"), old.to_string()).expect("written");
    fs::write(directory.join("new.json"), new.to_string()).expect("written");
    threatpack(
        directory,
        &["report", "diff", "old.json", "new.json", "--format", format],
    )
}

fn diff_json(directory: &Path, old: &Json, new: &Json) -> Json {
    let run = diff(directory, old, new, "json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Json = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let validator = compile(SchemaKind::ReportDiff).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    json
}

fn ids(list: &Json) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().expect("an id"))
        .collect()
}

#[test]
fn a_report_compared_with_itself_has_nothing_new_gone_or_changed() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let report = shop_report();
    let threats = report["threats"].as_array().expect("threats").len();
    let json = diff_json(directory.path(), &report, &report);
    assert_eq!(json["threats"]["unchanged"], threats);
    for list in ["new", "gone", "changed"] {
        assert_eq!(json["threats"][list], Json::Array(vec![]), "{list}");
    }
    for list in ["added", "removed", "changed"] {
        assert_eq!(json["backlog"][list], Json::Array(vec![]), "{list}");
    }
    let human = diff(directory.path(), &report, &report, "human");
    assert!(
        human.stdout.starts_with(&format!(
            "threats: 0 new, 0 gone, 0 changed, {threats} unchanged\n"
        )),
        "{}",
        human.stdout
    );
}

#[test]
fn threats_and_backlog_items_new_gone_and_changed_are_found_by_id() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let old = shop_report();
    let mut new = old.clone();
    let threats = new["threats"].as_array_mut().expect("threats");
    // Gone: the first threat of the old report. New: one the old report lacks.
    let gone = threats.remove(0);
    let mut old = old;
    let appeared = old["threats"].as_array_mut().expect("threats").remove(5);
    let threats = new["threats"].as_array_mut().expect("threats");
    let changed_id = threats[0]["id"].clone();
    threats[0]["severity"] = "low".into();
    threats[0]["residual"] = serde_json::json!({"score": 0, "severity": null});
    threats[0]["state"] = "mitigated".into();
    let only_state_id = threats[1]["id"].clone();
    let state = if threats[1]["state"] == "planned" {
        "accepted"
    } else {
        "planned"
    };
    threats[1]["state"] = state.into();
    let backlog = new["backlog"].as_array_mut().expect("backlog");
    let removed = backlog.remove(0);
    let priority_id = backlog[0]["id"].clone();
    let priority = backlog[0]["priority"].as_u64().expect("a priority");
    backlog[0]["priority"] = (if priority == 5 { 4 } else { priority + 1 }).into();
    let places_id = backlog[1]["id"].clone();
    backlog[1]["places"]
        .as_array_mut()
        .expect("places")
        .push(serde_json::json!({"element": "a-new-element", "status": "missing"}));

    let json = diff_json(directory.path(), &old, &new);
    assert_eq!(
        ids(&json["threats"]["gone"]),
        [gone["id"].as_str().expect("an id")]
    );
    assert_eq!(
        ids(&json["threats"]["new"]),
        [appeared["id"].as_str().expect("an id")]
    );
    let changed = &json["threats"]["changed"];
    let mut changed_ids = ids(changed);
    changed_ids.sort();
    let mut expected = vec![
        changed_id.as_str().expect("an id"),
        only_state_id.as_str().expect("an id"),
    ];
    expected.sort();
    assert_eq!(changed_ids, expected);
    for change in changed.as_array().expect("a list") {
        if change["id"] == changed_id {
            assert_eq!(
                change["changes"],
                serde_json::json!(["severity", "residual", "state"])
            );
            assert_eq!(change["new"]["residual"]["score"], 0);
        } else {
            assert_eq!(change["changes"], serde_json::json!(["state"]));
            assert_eq!(change["new"]["state"], state);
        }
    }
    assert_eq!(
        ids(&json["backlog"]["removed"]),
        [removed["id"].as_str().expect("an id")]
    );
    assert_eq!(json["backlog"]["added"], Json::Array(vec![]));
    let backlog_changed = &json["backlog"]["changed"];
    let mut backlog_ids = ids(backlog_changed);
    backlog_ids.sort();
    let mut expected = vec![
        priority_id.as_str().expect("an id"),
        places_id.as_str().expect("an id"),
    ];
    expected.sort();
    assert_eq!(backlog_ids, expected);
    for change in backlog_changed.as_array().expect("a list") {
        if change["id"] == places_id {
            assert_eq!(change["places-added"], serde_json::json!(["a-new-element"]));
        } else {
            assert_ne!(change["old"]["priority"], change["new"]["priority"]);
        }
    }

    let human = diff(directory.path(), &old, &new, "human");
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains("threats: 1 new, 1 gone, 2 changed"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains(&format!("  - {} ", gone["id"].as_str().expect("an id")))
    );
    assert!(
        human
            .stdout
            .contains(&format!("  + {} ", appeared["id"].as_str().expect("an id")))
    );
    assert!(human.stdout.contains("-> none, "), "{}", human.stdout);
    assert!(
        human
            .stdout
            .contains("backlog: 0 added, 1 removed, 2 changed"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("+1 place"), "{}", human.stdout);
}

#[test]
fn fields_of_a_newer_report_format_are_skipped() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let old = shop_report();
    let mut new = old.clone();
    new["provenance"] = serde_json::json!({"tool": {"name": "threatpack", "version": "9.9.9"}});
    new["threats"][0]["fingerprint"] = "anything".into();
    let json = diff_json(directory.path(), &old, &new);
    assert_eq!(json["threats"]["changed"], Json::Array(vec![]));
}

#[test]
fn a_file_that_is_not_a_report_is_bad_input_and_a_missing_one_an_operational_failure() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let report = shop_report();
    let not_a_report = serde_json::json!({"threats": "many"});
    let run = diff(directory.path(), &report, &not_a_report, "human");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`new.json` is not a threatpack JSON report")
            && run.stderr.contains("line 1"),
        "{}",
        run.stderr
    );
    let mut huge_name = report.clone();
    huge_name["threats"][0]["name"] = "x".repeat(70 * 1024).into();
    let run = diff(directory.path(), &huge_name, &report, "human");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("`old.json`") && run.stderr.contains("65536 bytes"),
        "{}",
        run.stderr
    );

    let run = threatpack(
        directory.path(),
        &["report", "diff", "missing.json", "new.json"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read `missing.json`"),
        "{}",
        run.stderr
    );
}
