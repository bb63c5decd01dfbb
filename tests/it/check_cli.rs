//! `threatpack check` as a user runs it: exit codes, both output formats, and the acceptance
//! case of ten planted mistakes in five files reported in one run, each at its line.

use std::collections::BTreeSet;
use std::fs;

use crate::support::{repository, threatpack, write_fixture};

#[test]
fn reports_ten_planted_mistakes_at_their_lines_in_one_run() {
    let text =
        fs::read_to_string(repository().join("tests/fixtures/ten-mistakes.txt")).expect("fixture");
    // Expected (code, file, line) from the `# MISTAKE code` markers.
    let mut expected = BTreeSet::new();
    let mut file = String::new();
    let mut line_in_file = 0;
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("--- ") {
            file = path.to_string();
            line_in_file = 0;
            continue;
        }
        line_in_file += 1;
        if file.is_empty() {
            continue; // The fixture's description.
        }
        if let Some((_, code)) = line.split_once("# MISTAKE ") {
            expected.insert((code.trim().to_string(), file.clone(), line_in_file));
        }
    }
    assert_eq!(expected.len(), 10);
    assert_eq!(
        expected
            .iter()
            .map(|(_, file, _)| file)
            .collect::<BTreeSet<_>>()
            .len(),
        5
    );

    let directory = write_fixture(&text);
    let json = threatpack(directory.path(), &["check", "pack", "--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let found: BTreeSet<(String, String, usize)> = json
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("each line is a JSON object")
        })
        // The misspelled link also leaves `sql-injection` unmitigated: a true consequence,
        // reported as a warning.
        .filter(|diagnostic| diagnostic["severity"] == "error")
        .map(|diagnostic| {
            (
                diagnostic["code"].as_str().expect("code").to_string(),
                diagnostic["file"].as_str().expect("file").to_string(),
                diagnostic["start"]["line"].as_u64().expect("line") as usize,
            )
        })
        .collect();
    assert_eq!(found, expected);

    let human = threatpack(directory.path(), &["check", "pack"]);
    assert_eq!(human.code, 1);
    for (code, file, line) in &expected {
        assert!(
            human.stderr.contains(&format!("[{code}]")),
            "{code} missing:\n{}",
            human.stderr
        );
        assert!(
            human.stderr.contains(&format!("--> {file}:{line}:")),
            "{file}:{line} missing:\n{}",
            human.stderr
        );
    }
    assert!(
        human.stderr.contains(
            "warning[unmitigated-attack-pattern]: no mitigation addresses `sql-injection`"
        )
    );
    assert!(
        human
            .stderr
            .ends_with("error: `acme/web-threats` has 10 errors and 1 warning\n"),
        "{}",
        human.stderr
    );
}

#[test]
fn exit_codes() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let missing = threatpack(directory.path(), &["check", "no-such-pack"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("cannot read pack directory `no-such-pack`"),
        "{}",
        missing.stderr
    );

    let usage = threatpack(directory.path(), &["check", "--format", "xml"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);

    let bad_deny = threatpack(directory.path(), &["check", "--deny", "duplicate-id"]);
    assert_eq!(bad_deny.code, 2, "{}", bad_deny.stderr);
    assert!(
        bad_deny.stderr.contains("not a lint"),
        "{}",
        bad_deny.stderr
    );

    // Warnings alone exit 0, and 1 once denied.
    let created = threatpack(directory.path(), &["new", "acme/demo", "demo"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    fs::write(directory.path().join("demo/entity.toml"), "").expect("write");
    let warned = threatpack(directory.path(), &["check", "demo"]);
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    assert!(
        warned.stderr.contains("warning[unknown-file]"),
        "{}",
        warned.stderr
    );
    let denied = threatpack(
        directory.path(),
        &["check", "demo", "--deny", "unknown-file"],
    );
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert!(
        denied.stderr.contains("error[unknown-file]"),
        "{}",
        denied.stderr
    );
}

#[test]
fn schema_command_prints_the_committed_schemas() {
    let root = repository();
    for kind in threatpack::schema::SchemaKind::ALL {
        let run = threatpack(&root, &["schema", kind.name()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let committed =
            fs::read_to_string(root.join("schema").join(kind.file_name())).expect("schema file");
        assert_eq!(run.stdout, committed, "{}", kind.name());
    }
    let directory = tempfile::tempdir().expect("a temporary directory");
    let out = directory.path().join("schemas");
    let run = threatpack(
        &root,
        &["schema", "--out", out.to_str().expect("utf-8 path")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fs::read_dir(&out).expect("written").count(),
        threatpack::schema::SchemaKind::ALL.len()
    );
    let unknown = threatpack(&root, &["schema", "entity"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("unknown schema `entity`"),
        "{}",
        unknown.stderr
    );
}
