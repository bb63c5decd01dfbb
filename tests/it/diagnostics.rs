//! Every diagnostic code has a fixture that triggers it, and a snapshot of the rendered output
//! (human and JSON). Fixtures: `tests/fixtures/check/<code>.txt`, plus optional variants
//! `<code>.<variant>.txt` for further ways to the same code (e.g. `unknown-tier.tier-rule.txt`),
//! each with its own snapshot.

use std::fs;

use threatpack::diagnostic::Code;

use crate::support::{check_snapshot, repository, write_fixture};

fn fixture_directory() -> std::path::PathBuf {
    repository().join("tests/fixtures/check")
}

/// The fixtures of a code: `(snapshot name, text)`, the main one first, then its variants.
fn fixtures(code: Code) -> Vec<(String, String)> {
    let main = fixture_directory().join(format!("{}.txt", code.as_str()));
    let text = fs::read_to_string(&main).unwrap_or_else(|error| {
        panic!("missing fixture `{}` for `{code}`: {error}", main.display())
    });
    let mut found = vec![(code.as_str().to_string(), text)];
    let mut variants: Vec<String> = fs::read_dir(fixture_directory())
        .expect("fixture directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| {
            let stem = name.strip_suffix(".txt")?;
            let (fixture_code, _) = stem.split_once('.')?;
            (fixture_code == code.as_str()).then(|| stem.to_string())
        })
        .collect();
    variants.sort();
    for variant in variants {
        let path = fixture_directory().join(format!("{variant}.txt"));
        let text = fs::read_to_string(&path).expect("a readable fixture");
        found.push((variant, text));
    }
    found
}

#[test]
fn every_code_has_a_fixture_that_triggers_it() {
    let mut failures = Vec::new();
    for code in Code::ALL {
        for (name, text) in fixtures(*code) {
            run_fixture(*code, &name, &text, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs one fixture of `code`, snapshots its output as `name`, and records what went wrong.
fn run_fixture(code: Code, name: &str, text: &str, failures: &mut Vec<String>) {
    let directory = write_fixture(text);
    // `# command: build --tier top` runs that instead of `check` (codes only `build` finds).
    let command: Vec<&str> = text
        .lines()
        .find_map(|line| line.strip_prefix("# command: "))
        .map_or_else(
            || vec!["check"],
            |command| command.split_whitespace().collect(),
        );
    let (run, snapshot) = check_snapshot(directory.path(), &command);
    let snapshot = without_bundle_digests(&snapshot);
    let tag = format!("[{}]", code.as_str());
    if !run.stderr.contains(&tag) {
        failures.push(format!(
            "`{name}` fixture does not trigger `{code}`:\n{}",
            run.stderr
        ));
        return;
    }
    let expected_exit = if code.default_severity() == threatpack::diagnostic::Severity::Error {
        1
    } else {
        0
    };
    if run.code != expected_exit {
        failures.push(format!(
            "`{name}` fixture exits {} instead of {expected_exit}",
            run.code
        ));
    }
    insta::with_settings!({ snapshot_path => "snapshots/diagnostics", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, snapshot);
    });
}

#[test]
fn no_fixture_without_a_code() {
    for entry in fs::read_dir(repository().join("tests/fixtures/check")).expect("fixture directory")
    {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let stem = name.trim_end_matches(".txt");
        // `CODE.txt`, or a variant `CODE.VARIANT.txt`.
        let code = stem.split_once('.').map_or(stem, |(code, _)| code);
        assert!(
            Code::from_name(code).is_some(),
            "fixture `{name}` names no diagnostic code"
        );
    }
}

#[test]
fn every_code_is_documented() {
    let docs =
        fs::read_to_string(repository().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    for code in Code::ALL {
        assert!(
            docs.contains(&format!("| `{}` |", code.as_str())),
            "`{code}` is not in docs/diagnostics.md"
        );
    }
}

/// The lines naming a written bundle, with its size and digest replaced: they change with the
/// builder's version (recorded in the manifest), which is not what these snapshots are about.
fn without_bundle_digests(snapshot: &str) -> String {
    snapshot
        .split_inclusive('\n')
        .map(|line| {
            if line.contains(".tar.gz") {
                scrub_bundle_line(line)
            } else {
                line.to_string()
            }
        })
        .collect()
}

fn scrub_bundle_line(line: &str) -> String {
    let mut scrubbed = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("sha256:") {
        scrubbed.push_str(&rest[..at]);
        scrubbed.push_str("sha256:[digest]");
        rest = rest[at + "sha256:".len()..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    scrubbed.push_str(rest);
    for (prefix, suffix) in [("(", " bytes"), ("\"size\":", "")] {
        if let Some(start) = scrubbed.find(prefix) {
            let digits_start = start + prefix.len();
            let digits = scrubbed[digits_start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .count();
            if digits > 0 && scrubbed[digits_start + digits..].starts_with(suffix) {
                scrubbed.replace_range(digits_start..digits_start + digits, "[size]");
            }
        }
    }
    scrubbed
}

/// The fixtures where one mistake used to cascade (issue 12): each must give exactly one
/// diagnostic, the mistake itself.
#[test]
fn a_mistake_is_reported_once() {
    for name in [
        "toml-syntax.attack-patterns",
        "toml-syntax.entities",
        "schema-violation.parent",
        "schema-violation.mitigation",
        "schema-violation.link-condition",
        "unknown-reference.inherited",
        "unknown-reference.model-kind",
        "kind-mismatch.model",
        "dependency-unavailable.broken-link",
    ] {
        let text = fs::read_to_string(fixture_directory().join(format!("{name}.txt")))
            .expect("a readable fixture");
        let directory = write_fixture(&text);
        let run = crate::support::threatpack(directory.path(), &["check", "pack"]);
        let reported: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("error[") || line.starts_with("warning["))
            .collect();
        assert_eq!(reported.len(), 1, "{name}:\n{}", run.stderr);
    }
}

/// A pack whose test model holds one typo in a component's kind, and the same model given to
/// `apply`: the flow, the boundary and the expectation that name the component are not
/// reported (issue 12: 15 errors, 14 of them asking to declare elements that are declared),
/// and `check`, `test` and `apply` report the mistake with the same code and message.
#[test]
fn a_model_mistake_is_one_diagnostic_alike_in_check_test_and_apply() {
    let fixture = fs::read_to_string(fixture_directory().join("unknown-reference.model-kind.txt"))
        .expect("a readable fixture");
    let (pack, test) = fixture
        .split_once("--- pack/tests/public-api.toml\n")
        .expect("the fixture has a pack test");
    let model: String = test
        .lines()
        .skip_while(|line| !line.starts_with("[[component]]"))
        .map(|line| format!("{line}\n"))
        .collect();
    // A pack whose own test passes (so `apply --pack` runs), and the broken model beside it.
    let correct_test = test.replace("kind = \"servce\"", "kind = \"service\"");
    let directory = write_fixture(&format!(
        "{pack}--- pack/tests/public-api.toml\n{correct_test}--- model.toml\n{model}"
    ));
    let apply = crate::support::threatpack(
        directory.path(),
        &["apply", "--pack", "pack", "--model", "model.toml"],
    );
    let broken = write_fixture(&fixture);
    let check = crate::support::threatpack(broken.path(), &["check", "pack"]);
    let test_run = crate::support::threatpack(broken.path(), &["test", "pack"]);
    let first_error = |stderr: &str| {
        stderr
            .lines()
            .filter(|line| line.starts_with("error["))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        first_error(&apply.stderr),
        ["error[unknown-reference]: unknown entity `servce`"]
    );
    assert_eq!(first_error(&check.stderr), first_error(&apply.stderr));
    assert_eq!(first_error(&test_run.stderr), first_error(&apply.stderr));
    let snapshot = format!(
        "exit code: {}\n----- apply (stderr) -----\n{}----- test (stderr) -----\n{}",
        apply.code, apply.stderr, test_run.stderr
    );
    insta::with_settings!({ snapshot_path => "snapshots/diagnostics", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("model-mistake-in-apply-and-test", snapshot);
    });
}

/// A JSON model is read without its schema when it deserializes (the fast path); whatever the
/// schema refuses must still be refused, with the schema's message. YAML reads the same text
/// through the schema, so the two must report alike.
#[test]
fn a_json_model_is_refused_whenever_the_schema_refuses_it() {
    let fixture = fs::read_to_string(fixture_directory().join("invalid-model.txt"))
        .expect("a readable fixture");
    let (pack, _) = fixture
        .split_once("--- pack/tests/")
        .expect("the fixture has a pack test");
    let valid = r#"{
  "model": {"name": "Shop"},
  "component": [
    {"id": "browser", "kind": "client"},
    {"id": "api", "kind": "service", "properties": {"public": true}}
  ],
  "boundary": [{"id": "internet", "kind": "network-zone", "contains": ["browser"]}],
  "flow": [{"id": "browser-to-api", "kind": "request", "source": "browser", "target": "api"}],
  "mitigation-status": [{"mitigation": "authentication", "status": "planned", "at": ["api"]}],
  "story": [{"id": "login", "text": "As a user I log in", "without": [{"text": "being impersonated", "threats": ["spoofing@api"]}]}]
}
"#;
    let directory = write_fixture(pack);
    let apply = |name: &str, text: &str| {
        fs::write(directory.path().join(name), text).expect("write the model");
        let run = crate::support::threatpack(
            directory.path(),
            &["apply", "--pack", "pack", "--model", name],
        );
        (run.code, run.stderr.replace(name, "MODEL"))
    };
    let (code, stderr) = apply("model.json", valid);
    assert_eq!(code, 0, "{stderr}");
    for (what, from, to) in [
        (
            "an element id against its pattern",
            "\"id\": \"api\"",
            "\"id\": \"Api\"",
        ),
        (
            "a flow end against the id pattern",
            "\"target\": \"api\"",
            "\"target\": \"API\"",
        ),
        (
            "a kind against the reference pattern",
            "\"kind\": \"service\"",
            "\"kind\": \"Service\"",
        ),
        ("a float value", "{\"public\": true}", "{\"public\": 1.5}"),
        ("a null value", "{\"public\": true}", "{\"public\": null}"),
        (
            "a table value",
            "{\"public\": true}",
            "{\"public\": {\"yes\": true}}",
        ),
        (
            "a duplicate property",
            "{\"public\": true}",
            "{\"public\": true, \"public\": false}",
        ),
        ("an empty name", "{\"name\": \"Shop\"}", "{\"name\": \"\"}"),
        (
            "a system property name",
            "\"model\": {",
            "\"system\": {\"Bad-Name\": true}, \"model\": {",
        ),
        (
            "a boundary member twice",
            "[\"browser\"]",
            "[\"browser\", \"browser\"]",
        ),
        (
            "a mitigation reference",
            "\"authentication\"",
            "\"Authentication\"",
        ),
        (
            "a threat reference",
            "\"spoofing@api\"",
            "\"spoofing@@api\"",
        ),
        ("an empty story", "\"As a user I log in\"", "\"\""),
    ] {
        assert!(valid.contains(from), "{what}: `{from}` is not in the model");
        let broken = valid.replacen(from, to, 1);
        let (json_code, json) = apply("model.json", &broken);
        let (yaml_code, yaml) = apply("model.yaml", &broken);
        let yaml = yaml.replace("valid YAML", "valid JSON");
        assert_eq!(yaml_code, 1, "{what}: the schema accepts it\n{yaml}");
        assert_eq!(
            (json_code, &json),
            (1, &yaml),
            "{what}: JSON and YAML differ\n{json}\n{yaml}"
        );
    }
}

/// A JSON model is read straight into the engine's flat form (`system::json`, the fast path);
/// YAML takes the general path (document tree, schema, typed model). Every mistake the schema
/// accepts and the model validation refuses must give the same diagnostics either way: same
/// codes, messages, help and source lines (issue 12: one model validation).
#[test]
fn the_json_fast_path_and_the_general_path_give_the_same_diagnostics() {
    let pack = r#"--- pack/pack.toml
[pack]
format = 1
name = "test/fixture"
version = "1.0.0"
description = "A fixture pack."
license = "MIT"
tiers = ["top", "standard"]

[system.properties.handles_pii]
type = "bool"
default = true
description = "The system handles personal data."
question = "Does the system handle personal data?"
rationale = "Personal data raises the stakes."
--- pack/entities/service.toml
[[entity]]
id = "service"
name = "Service"
description = "A network service."
kind = "process"

[entity.properties.public]
type = "bool"
default = false
description = "Reachable from the internet."
question = "Can the internet reach it?"
rationale = "Public services face anonymous attackers."

[entity.properties.tls]
type = "int"
default = 3
min = 0
max = 7
description = "The lowest TLS version it accepts."
question = "Which TLS version does it accept at least?"
rationale = "Old versions are broken."

[entity.properties.protocol]
type = "enum"
values = ["http", "https"]
default = "https"
description = "Its protocol."
question = "Which protocol does it speak?"
rationale = "Plain HTTP is readable on the way."

[entity.properties.traits]
type = "list"
values = ["pii", "credentials"]
default = []
description = "What it holds."
question = "What does it hold?"
rationale = "Some data is worth more."

[[entity]]
id = "client"
name = "Client"
description = "A program that calls services."
kind = "external-interactor"

[[entity]]
id = "request"
name = "Request"
description = "A call from one component to another."
kind = "data-flow"

[[entity]]
id = "network-zone"
name = "Network zone"
description = "A part of the network with one level of trust."
kind = "trust-boundary"
--- pack/attack-patterns/spoofing.toml
[[attack-pattern]]
id = "spoofing"
name = "Spoofing"
description = "Someone pretends to be someone else."
categories = ["spoofing"]
applies-to = ["service"]
condition = "self.public && self.tls < 4 && self.protocol == 'http' && 'pii' in self.traits"
severity = "high"
--- pack/mitigations/authentication.toml
[[mitigation]]
id = "authentication"
name = "Authentication"
description = "Callers prove who they are."
control = "preventive"
cost = "low"
implementation = "Verify a token on every request."
verification = "Call without a token and expect 401."

[[mitigation.addresses]]
attack-pattern = "spoofing"
strength = "strong"
"#;
    // Tables in another order than the engine numbers them, and escapes in strings.
    let valid = r#"{
  "system": {"handles_pii": true},
  "boundary": [{"id": "internet", "kind": "network-zone", "contains": ["browser"]}],
  "model": {"name": "Sh\u006fp \"one\""},
  "flow": [{"id": "browser-to-api", "kind": "request", "source": "browser", "target": "api"}],
  "component": [
    {"id": "browser", "name": "Caf\u00e9", "kind": "client"},
    {"id": "api", "kind": "service", "properties": {"public": true, "tls": 2, "protocol": "http", "traits": ["pii"]}}
  ],
  "mitigation-status": [{"mitigation": "authentication", "status": "planned", "at": ["api"]}],
  "story": [{"id": "login", "text": "As a user I log in", "without": [{"text": "being impersonated", "threats": ["spoofing@api"]}]}]
}
"#;
    let directory = write_fixture(pack);
    let apply = |name: &str, text: &str| {
        fs::write(directory.path().join(name), text).expect("write the model");
        let run = crate::support::threatpack(
            directory.path(),
            &["apply", "--pack", "pack", "--model", name, "--tier", "all"],
        );
        (run.code, run.stdout, run.stderr.replace(name, "MODEL"))
    };
    let fast = |text: &str| {
        threatpack::system::json::read(text)
            .is_ok_and(|model| threatpack::system::validate::fits_schema(&model))
    };
    assert!(fast(valid), "the fast path reads the valid model");
    let (code, json_summary, stderr) = apply("model.json", valid);
    assert_eq!(code, 0, "{stderr}");
    assert!(json_summary.contains("Spoofing"), "{json_summary}");
    let (_, yaml_summary, _) = apply("model.yaml", valid);
    assert_eq!(
        json_summary.replace("model.json", "MODEL"),
        yaml_summary.replace("model.yaml", "MODEL")
    );
    let mistakes = [
        (
            "an unknown kind",
            "\"kind\": \"service\"",
            "\"kind\": \"servic\"",
        ),
        (
            "a kind of another table",
            "\"kind\": \"client\"",
            "\"kind\": \"request\"",
        ),
        (
            "an unknown property",
            "\"public\": true",
            "\"publik\": true",
        ),
        (
            "a value of another type",
            "\"public\": true",
            "\"public\": \"yes\"",
        ),
        ("an integer below its minimum", "\"tls\": 2", "\"tls\": -1"),
        ("an integer above its maximum", "\"tls\": 2", "\"tls\": 70"),
        (
            "a value not among the enum's",
            "\"protocol\": \"http\"",
            "\"protocol\": \"ft\\u0070\"",
        ),
        (
            "a list item not among the values",
            "[\"pii\"]",
            "[\"pii\", \"secrets\"]",
        ),
        (
            "a list where a bool goes",
            "\"public\": true",
            "\"public\": [\"pii\"]",
        ),
        ("an id used twice", "\"id\": \"browser\"", "\"id\": \"api\""),
        (
            "a flow from a boundary",
            "\"source\": \"browser\"",
            "\"source\": \"internet\"",
        ),
        (
            "a flow to nowhere",
            "\"target\": \"api\"",
            "\"target\": \"apj\"",
        ),
        (
            "a boundary holding a flow",
            "[\"browser\"]",
            "[\"browser-to-api\"]",
        ),
        (
            "an unknown mitigation",
            "\"authentication\"",
            "\"authentification\"",
        ),
        (
            "a status at nowhere",
            "\"at\": [\"api\"]",
            "\"at\": [\"apx\"]",
        ),
        ("an unknown threat", "\"spoofing@api\"", "\"spoofng@api\""),
        (
            "a threat at nowhere",
            "\"spoofing@api\"",
            "\"spoofing@apx\"",
        ),
        (
            "an unknown system property",
            "\"handles_pii\"",
            "\"handles_pi\"",
        ),
        (
            "a system value of another type",
            "\"handles_pii\": true",
            "\"handles_pii\": 3",
        ),
    ];
    let mut all = valid.to_string();
    for (what, from, to) in mistakes {
        assert!(valid.contains(from), "{what}: `{from}` is not in the model");
        let broken = valid.replacen(from, to, 1);
        assert!(fast(&broken), "{what}: the fast path reads it");
        let (json_code, _, json) = apply("model.json", &broken);
        let (yaml_code, _, yaml) = apply("model.yaml", &broken);
        assert_eq!(yaml_code, 1, "{what}: the general path accepts it\n{yaml}");
        assert_eq!(
            (json_code, &json),
            (1, &yaml),
            "{what}: the two paths differ\n{json}\n{yaml}"
        );
        if all.contains(from) {
            all = all.replacen(from, to, 1);
        }
    }
    // Many mistakes at once: the same diagnostics, in the same order.
    let (json_code, _, json) = apply("model.json", &all);
    let (_, _, yaml) = apply("model.yaml", &all);
    assert_eq!(json_code, 1);
    assert!(json.matches("error").count() > 5, "{json}");
    assert_eq!(json, yaml);
    // A model with thousands of property names (here on an element of an unknown kind, whose
    // properties are not checked) is validated without a table per kind: the same diagnostics.
    let names: Vec<String> = (0..5000).map(|name| format!("\"p{name}\": true")).collect();
    let many = valid
        .replacen("\"tls\": 2", "\"tls\": 70", 1)
        .replacen("\"public\": true", "\"publik\": true", 1)
        .replacen(
            "\"component\": [",
            &format!(
                "\"component\": [{{\"id\": \"many\", \"kind\": \"nothing\", \"properties\": {{{}}}}},",
                names.join(", ")
            ),
            1,
        );
    assert!(fast(&many));
    let (json_code, _, json) = apply("model.json", &many);
    let (_, _, yaml) = apply("model.yaml", &many);
    assert_eq!(json_code, 1);
    for message in [
        "publik",
        "70 is above the maximum 7",
        "unknown entity `nothing`",
    ] {
        assert!(json.contains(message), "{message}: {json}");
    }
    assert_eq!(json, yaml);
}
