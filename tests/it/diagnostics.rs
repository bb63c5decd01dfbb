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
