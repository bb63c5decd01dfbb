//! OWASP pytm, cross-checked against real pytm 1.4.0 (installed by `.ci/run`; the Python that
//! has it is `THREATPACK_PYTHON`, else `python3`): pytm's threat library imported, applied to
//! pytm's dump of two hand-written models (tests/fixtures/pytm/*/tm.py) must give pytm's own
//! findings one by one; the pack exported back must make pytm find what `apply` finds. And what
//! cannot be translated either way is reported, item by item.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::import::{file_digests, file_heads};
use crate::support::{Run, repository, threatpack, write_fixture};

/// The hand-written pytm models (directories of tests/fixtures/pytm holding a tm.py).
const MODELS: [&str; 2] = ["shop", "assistant"];

fn fixtures() -> PathBuf {
    repository().join("tests/fixtures/pytm")
}

/// The Python with pytm 1.4.0; a missing pytm fails the test, saying how to install it.
fn python() -> PathBuf {
    let python = std::env::var_os("THREATPACK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let output = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, pytm; print(m.version('pytm'))",
        ])
        .output();
    let version = output
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    assert_eq!(
        version.as_deref(),
        Some("1.4.0"),
        "these tests need OWASP pytm 1.4.0 in `{}`: `.ci/run` installs it in a virtual environment \
         (target/pytm-venv); or run `python3 -m pip install --user pytm==1.4.0`, or set \
         THREATPACK_PYTHON to a Python that has it",
        python.display()
    );
    python
}

/// Runs pytm on a model script: its JSON dump (with pytm's findings) in `out`.
fn pytm_dump(python: &Path, model: &str, threats: Option<&Path>, out: &Path) -> Json {
    let mut command = Command::new(python);
    command
        .arg(fixtures().join(model).join("tm.py"))
        .arg("--json")
        .arg(out)
        .current_dir(out.parent().expect("a directory"))
        .env_remove("PYTM_THREATS");
    if let Some(threats) = threats {
        command.env("PYTM_THREATS", threats);
    }
    let output = command.output().expect("python runs");
    assert!(
        output.status.success(),
        "pytm failed on {model}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&fs::read(out).expect("pytm wrote its dump"))
        .expect("pytm's dump is JSON")
}

/// pytm's findings: (threat id in lowercase, element name).
fn pytm_findings(dump: &Json) -> BTreeSet<(String, String)> {
    dump["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            (
                finding["threat_id"]
                    .as_str()
                    .expect("threat_id")
                    .to_ascii_lowercase(),
                finding["target"].as_str().expect("target").to_string(),
            )
        })
        .collect()
}

/// `threatpack apply`'s findings: (attack pattern id, element name).
fn apply_findings(directory: &Path, pack: &str, model: &Path) -> BTreeSet<(String, String)> {
    let model = model.to_string_lossy().into_owned();
    let run = threatpack(
        directory,
        &[
            "apply", "--pack", pack, "--model", &model, "--format", "json",
        ],
    );
    assert_eq!(run.code, 0, "apply failed: {}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("a JSON report");
    report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .map(|threat| {
            let id = threat["attack-pattern"].as_str().expect("attack-pattern");
            (
                id.rsplit('/').next().unwrap_or(id).to_string(),
                threat["element-name"]
                    .as_str()
                    .expect("element-name")
                    .to_string(),
            )
        })
        .collect()
}

fn assert_same(
    what: &str,
    pytm: &BTreeSet<(String, String)>,
    threatpack: &BTreeSet<(String, String)>,
) {
    let only_pytm: Vec<_> = pytm.difference(threatpack).collect();
    let only_threatpack: Vec<_> = threatpack.difference(pytm).collect();
    assert!(
        only_pytm.is_empty() && only_threatpack.is_empty(),
        "{what}: {} findings by pytm, {} by threatpack\nonly pytm: {only_pytm:?}\nonly threatpack: {only_threatpack:?}",
        pytm.len(),
        threatpack.len()
    );
}

fn import_library(directory: &Path) -> Run {
    let input = fixtures()
        .join("threats.json")
        .to_string_lossy()
        .into_owned();
    threatpack(
        directory,
        &[
            "import", "pytm", &input, "--out", "pack", "--format", "json",
        ],
    )
}

#[test]
fn pytms_library_imported_finds_what_pytm_finds_on_its_own_dumps() {
    let python = python();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let run = import_library(directory.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["attack-patterns"], 113, "{report:#}");
    // The one threat left out is the one pytm skips too.
    assert_eq!(
        report["not-translated"],
        serde_json::json!([{"reason": "marked DEPRECATED (pytm skips it too): left out", "items": ["AC22"]}])
    );
    let check = threatpack(directory.path(), &["check", "--deny", "warnings", "pack"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    for model in MODELS {
        let dump_path = directory.path().join(format!("{model}.json"));
        let dump = pytm_dump(&python, model, None, &dump_path);
        let pytm = pytm_findings(&dump);
        assert!(pytm.len() > 100, "{model}: pytm found only {}", pytm.len());
        let found = apply_findings(directory.path(), "pack", &dump_path);
        assert_same(model, &pytm, &found);
    }
    // pytm's `inScope = False` is out of scope: no threats on it, in either tool.
    let dump_path = directory.path().join("shop.json");
    let found = apply_findings(directory.path(), "pack", &dump_path);
    assert!(!found.iter().any(|(_, element)| element == "Legacy reports"));
}

#[test]
fn a_pack_exported_to_pytm_makes_pytm_find_what_apply_finds() {
    let python = python();
    let directory = tempfile::tempdir().expect("a temporary directory");
    assert_eq!(import_library(directory.path()).code, 0);
    let run = threatpack(
        directory.path(),
        &[
            "export",
            "pytm",
            "pack",
            "--out",
            "exported.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["written"]["threats"], 113, "{report:#}");
    assert_eq!(report["not-exported"], serde_json::json!([]));
    let exported = directory.path().join("exported.json");
    for model in MODELS {
        let dump_path = directory.path().join(format!("{model}-exported.json"));
        let dump = pytm_dump(&python, model, Some(&exported), &dump_path);
        let pytm = pytm_findings(&dump);
        let found = apply_findings(directory.path(), "pack", &dump_path);
        assert_same(model, &pytm, &found);
    }
}

#[test]
fn conditions_that_cannot_be_translated_are_reported_one_by_one() {
    let directory = write_fixture(
        r#"
--- threats.json
[
  {"SID": "OK01", "target": ["Server"], "description": "Fine", "details": "d", "severity": "High",
   "condition": "target.controls.sanitizesInput is False", "mitigations": "m", "references": "https://cwe.mitre.org/data/definitions/20.html"},
  {"SID": "LEN01", "target": ["Server"], "description": "A call", "details": "d", "severity": "High",
   "condition": "len(target.inputs) > 2", "mitigations": "m", "references": ""},
  {"SID": "ATTR01", "target": ["Datastore"], "description": "No such attribute", "details": "d", "severity": "Low",
   "condition": "target.usesXMLParser is True", "mitigations": "m", "references": ""},
  {"SID": "CLS01", "target": ["Router"], "description": "No such class", "details": "d", "severity": "Low",
   "condition": "target.inScope", "mitigations": "m", "references": ""}
]
"#,
    );
    let run = threatpack(
        directory.path(),
        &[
            "import",
            "pytm",
            "threats.json",
            "--out",
            "pack",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["attack-patterns"], 1);
    let reasons: Vec<(String, Vec<String>)> = report["not-translated"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            (
                entry["reason"].as_str().expect("reason").to_string(),
                serde_json::from_value(entry["items"].clone()).expect("items"),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    let items: Vec<&String> = reasons.iter().flat_map(|(_, items)| items).collect();
    for sid in ["LEN01", "ATTR01", "CLS01"] {
        assert!(
            items.iter().any(|item| item.starts_with(sid)),
            "{sid} not reported: {reasons:#?}"
        );
    }
    assert!(
        reasons
            .iter()
            .any(|(reason, _)| reason.contains("the call len")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(reason, _)| reason.contains("`Datastore` has no attribute `usesXMLParser`")),
        "{reasons:#?}"
    );
    // Same input, same bytes.
    let again = threatpack(
        directory.path(),
        &["import", "pytm", "threats.json", "--out", "again"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    for file in [
        "pack.toml",
        "entities/pytm.toml",
        "attack-patterns/001.toml",
        "mitigations/001.toml",
        "LICENSE",
        "NOTICE",
    ] {
        assert_eq!(
            fs::read(directory.path().join("pack").join(file)).expect("written"),
            fs::read(directory.path().join("again").join(file)).expect("written"),
            "{file}"
        );
    }
}

#[test]
fn what_pytm_cannot_express_is_reported_not_dropped() {
    let directory = write_fixture(
        r#"
--- pack/pack.toml
[pack]
format = 1
name = "acme/mixed"
version = "1.0.0"
description = "pytm classes and one that is not."
license = "MIT"
authors = ["Acme"]
tiers = ["full"]

--- pack/entities/entities.toml
[[entity]]
id = "server"
name = "Server"
description = "pytm's Server."
kind = "process"

[entity.properties.protocol]
type = "string"
default = ""
description = "pytm `protocol`."
question = "Which protocol?"
rationale = "Plain HTTP can be read on the way."

[[entity]]
id = "mainframe"
name = "Mainframe"
description = "Not a pytm class."
kind = "process"

--- pack/attack-patterns/patterns.toml
[[attack-pattern]]
id = "plain-http"
name = "Plain HTTP"
description = "Traffic read on the way."
categories = ["information-disclosure"]
applies-to = ["server"]
condition = 'self.protocol == "HTTP"'
severity = "high"

[[attack-pattern]]
id = "http-family"
name = "Any HTTP"
description = "A prefix test."
categories = ["information-disclosure"]
applies-to = ["server"]
condition = 'self.protocol.startsWith("HTTP")'
severity = "low"

[[attack-pattern]]
id = "mainframe-takeover"
name = "Mainframe takeover"
description = "Not a pytm class."
categories = ["elevation-of-privilege"]
applies-to = ["mainframe"]
severity = "critical"

--- pack/mitigations/mitigations.toml
[[mitigation]]
id = "use-tls"
name = "Use TLS"
description = "Encrypt."
control = "preventive"
cost = "low"
implementation = "Serve HTTPS only."
verification = "Scan for plain HTTP."

[[mitigation.addresses]]
attack-pattern = "plain-http"
strength = "strong"

[[mitigation.addresses]]
attack-pattern = "http-family"
strength = "strong"

[[mitigation.addresses]]
attack-pattern = "mainframe-takeover"
strength = "weak"
"#,
    );
    let run = threatpack(
        directory.path(),
        &[
            "export",
            "pytm",
            "pack",
            "--out",
            "threats.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["written"]["threats"], 1, "{report:#}");
    let text = report["not-exported"].to_string();
    assert!(
        text.contains("http-family") && text.contains("startsWith"),
        "{text}"
    );
    assert!(
        text.contains("mainframe-takeover") && text.contains("no pytm class"),
        "{text}"
    );
    let threats: Json =
        serde_json::from_slice(&fs::read(directory.path().join("threats.json")).expect("written"))
            .expect("JSON");
    assert_eq!(threats[0]["SID"], "PLAIN-HTTP");
    assert_eq!(threats[0]["condition"], "target.protocol == 'HTTP'");
    assert_eq!(threats[0]["target"], serde_json::json!(["Server"]));
    assert_eq!(threats[0]["mitigations"], "Serve HTTPS only.");
}

#[test]
fn a_file_that_is_not_a_pytm_library_is_refused_and_nothing_is_written() {
    let directory = write_fixture("--- threats.json\n{\"not\": \"a list\"}\n");
    let run = threatpack(
        directory.path(),
        &["import", "pytm", "threats.json", "--out", "pack"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("threats.json") && run.stderr.contains("not a pytm threat library"),
        "{}",
        run.stderr
    );
    assert!(!directory.path().join("pack").exists());
}

#[test]
fn pytms_library_becomes_a_pack_that_builds_with_pytms_licence() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let input = fixtures()
        .join("threats.json")
        .to_string_lossy()
        .into_owned();
    let run = threatpack(
        directory.path(),
        &["import", "pytm", &input, "--out", "pack"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let build = threatpack(directory.path(), &["build", "pack"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let pack = directory.path().join("pack");
    let license = fs::read_to_string(pack.join("LICENSE")).expect("LICENSE");
    assert!(license.contains("Copyright (c) 2018 Main Project Contributors"));
    let bundle = threatpack::bundle::read::read_bundle(
        &fs::read(directory.path().join("dist/owasp_pytm-1.4.0-all.tar.gz")).expect("a bundle"),
        &threatpack::bundle::read::ReadLimits::default(),
    )
    .expect("a valid bundle");
    assert_eq!(bundle.kb.packs[0].attribution.len(), 2);
    let mut snapshot = format!(
        "----- report (stderr) -----\n{}\n----- files -----\n",
        run.stderr.replace(&*pack.to_string_lossy(), "[PACK]")
    );
    snapshot.push_str(&file_digests(&pack));
    snapshot.push_str(&file_heads(
        &pack,
        &[
            ("pack.toml", 30),
            ("entities/pytm.toml", 80),
            ("attack-patterns/001.toml", 60),
            ("mitigations/001.toml", 30),
        ],
    ));
    insta::with_settings!({ snapshot_path => "snapshots/import", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("pytm", snapshot);
    });
}

#[test]
fn a_pytm_dump_with_unknown_classes_or_clashing_names_is_refused_at_its_place() {
    let directory = write_fixture(
        r#"
--- tm.json
{
  "name": "broken", "description": "", "threatsFile": "threats.json",
  "actors": [{"__class__": "Actor", "name": "User", "inScope": true}],
  "assets": [
    {"__class__": "Router", "name": "Edge"},
    {"__class__": "Server", "name": "user", "minTLSVersion": "TLSVersion.TLSv99"}
  ],
  "flows": [{"name": "Call", "source": "User", "sink": "Nowhere"}],
  "boundaries": [], "data": []
}
"#,
    );
    assert_eq!(import_library(directory.path()).code, 0);
    let run = threatpack(
        directory.path(),
        &["apply", "--pack", "pack", "--model", "tm.json"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    for expected in [
        "pytm class `Router`",
        "`User` and `user` both become `user`",
        "`minTLSVersion` has a value threatpack cannot read",
        "its sink `Nowhere` is not an actor or asset",
        "tm.json:",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected} missing:\n{}",
            run.stderr
        );
    }
}
