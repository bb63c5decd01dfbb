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
