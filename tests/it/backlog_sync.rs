//! A backlog that syncs (issue 16, section 6): `apply --format backlog-csv --tracker T` has each
//! importer's columns, and `--since REPORT` exports only what is new, changed or no longer
//! needed, so importing every run into a tracker never duplicates an item.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::support::{repository, threatpack};

/// Copies the example shop's model into a temporary directory, with `extra` appended.
fn shop(directory: &Path, name: &str, extra: &str) {
    let model = std::fs::read_to_string(repository().join("examples/online-shop/model.toml"))
        .expect("the example model");
    std::fs::write(directory.join(name), format!("{model}\n{extra}")).expect("write the model");
}

fn apply(directory: &Path, model: &str, extra: &[&str]) -> String {
    let pack = repository().join("packs/stride-core");
    let pack = pack.to_str().expect("a UTF-8 path");
    let mut args = vec!["apply", "--model", model, "--pack", pack];
    args.extend(extra);
    let run = threatpack(directory, &args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    run.stdout
}

/// The rows of a CSV, each as column → cell (repeated columns joined with `|`).
fn rows(csv_text: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            let mut row: BTreeMap<String, String> = BTreeMap::new();
            for (column, cell) in header.iter().zip(record.expect("a record").iter()) {
                row.entry(column.clone())
                    .and_modify(|cells| {
                        cells.push('|');
                        cells.push_str(cell);
                    })
                    .or_insert_with(|| cell.to_string());
            }
            row
        })
        .collect();
    (header, rows)
}

#[test]
fn each_tracker_gets_its_importers_columns() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    shop(directory.path(), "model.toml", "");
    let header = |tracker: &str, extra: &[&str]| {
        let mut args = vec!["--format", "backlog-csv", "--tracker", tracker];
        args.extend(extra);
        rows(&apply(directory.path(), "model.toml", &args))
    };
    let (columns, azure) = header("azure-devops", &[]);
    assert_eq!(
        columns,
        [
            "Work Item Type",
            "Title",
            "Description",
            "Priority",
            "Tags",
            "Threatpack Id",
            "Threatpack Change"
        ]
    );
    assert!(azure[0]["Description"].starts_with("<p>"), "{:?}", azure[0]);
    assert!(azure[0]["Description"].contains("<ul><li>"));
    let (columns, _) = header("azure-devops", &["--work-item-type", "User Story"]);
    assert!(
        columns.contains(&"Acceptance Criteria".to_string()),
        "{columns:?}"
    );
    let (columns, jira) = header("jira", &[]);
    assert_eq!(
        &columns[..4],
        ["Issue Type", "Summary", "Description", "Priority"]
    );
    assert!(
        columns[4..columns.len() - 2]
            .iter()
            .all(|column| column == "Labels")
    );
    assert_eq!(
        &columns[columns.len() - 2..],
        ["Threatpack Id", "Threatpack Change"]
    );
    assert!(
        jira.iter()
            .all(|row| ["Highest", "High", "Medium", "Low", "Lowest"]
                .contains(&row["Priority"].as_str())),
        "{jira:?}"
    );
    assert_eq!(jira[0]["Priority"], "Highest");
    assert!(
        jira[0]["Labels"]
            .split('|')
            .any(|label| label == jira[0]["Threatpack Id"])
    );
    let (columns, github) = header("github", &[]);
    assert_eq!(
        columns,
        [
            "title",
            "body",
            "labels",
            "Threatpack Id",
            "Threatpack Change"
        ]
    );
    assert!(
        github[0]["labels"].contains("priority-1"),
        "{:?}",
        github[0]
    );
    // Without `--tracker` and `--since`: the one layout of before.
    let (columns, _) = rows(&apply(
        directory.path(),
        "model.toml",
        &["--format", "backlog-csv"],
    ));
    assert_eq!(
        columns,
        threatpack::analysis::backlog::CSV_COLUMNS
            .map(String::from)
            .to_vec()
    );
}

/// A tracker that creates, updates and closes work items by the rows' `Threatpack Id` and
/// `Threatpack Change`, refusing to create an item it already has.
#[derive(Default)]
struct FakeTracker {
    open: BTreeMap<String, String>,
    closed: Vec<String>,
    created: usize,
}

impl FakeTracker {
    fn import(&mut self, csv_text: &str, title_column: &str) {
        for row in rows(csv_text).1 {
            let id = row["Threatpack Id"].clone();
            match row["Threatpack Change"].as_str() {
                "new" => {
                    assert!(!self.open.contains_key(&id), "{id} would be duplicated");
                    self.open.insert(id, row[title_column].clone());
                    self.created += 1;
                }
                "changed" => {
                    assert!(
                        self.open.contains_key(&id),
                        "{id} changed but never created"
                    );
                    self.open.insert(id, row[title_column].clone());
                }
                "removed" => {
                    assert!(self.open.remove(&id).is_some(), "{id} removed but not open");
                    self.closed.push(id);
                }
                other => panic!("unknown change {other}"),
            }
        }
    }
}

#[test]
fn importing_every_run_since_the_last_never_duplicates_an_item() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let dir = directory.path();
    shop(dir, "full.toml", "");
    let full: Json = serde_json::from_str(&apply(dir, "full.toml", &["--format", "json"]))
        .expect("a JSON report");
    // The top item's mitigation put in place everywhere: one item fewer.
    let first = &full["backlog"][0];
    let mitigation = first["mitigation"].as_str().expect("a mitigation");
    let gone = first["id"].as_str().expect("an id").to_string();
    shop(
        dir,
        "less.toml",
        &format!("[[mitigation-status]]\nmitigation = \"{mitigation}\"\nstatus = \"existing\"\n"),
    );
    for (tracker, title) in [
        ("jira", "Summary"),
        ("azure-devops", "Title"),
        ("github", "title"),
    ] {
        let mut board = FakeTracker::default();
        // Run 1 (the less model): everything is new.
        let run1 = apply(
            dir,
            "less.toml",
            &["--format", "backlog-csv", "--tracker", tracker],
        );
        board.import(&run1, title);
        let first_import = board.created;
        assert_eq!(
            first_import,
            full["backlog"].as_array().map_or(0, Vec::len) - 1
        );
        assert!(!board.open.contains_key(&gone));
        std::fs::write(
            dir.join("less.json"),
            apply(dir, "less.toml", &["--format", "json"]),
        )
        .expect("write");
        // The same model again: nothing to import.
        let again = apply(
            dir,
            "less.toml",
            &[
                "--format",
                "backlog-csv",
                "--tracker",
                tracker,
                "--since",
                "less.json",
            ],
        );
        assert!(rows(&again).1.is_empty(), "{again}");
        // Run 2 (the mitigation went missing again): its item is new, nothing else is created.
        let run2 = apply(
            dir,
            "full.toml",
            &[
                "--format",
                "backlog-csv",
                "--tracker",
                tracker,
                "--since",
                "less.json",
            ],
        );
        board.import(&run2, title);
        assert_eq!(board.created, first_import + 1, "{tracker}");
        assert!(board.open.contains_key(&gone));
        // Run 3 (in place again): the item is closed, not duplicated or left open.
        std::fs::write(
            dir.join("full.json"),
            apply(dir, "full.toml", &["--format", "json"]),
        )
        .expect("write");
        let run3 = apply(
            dir,
            "less.toml",
            &[
                "--format",
                "backlog-csv",
                "--tracker",
                tracker,
                "--since",
                "full.json",
            ],
        );
        board.import(&run3, title);
        assert_eq!(board.closed, std::slice::from_ref(&gone), "{tracker}");
        assert_eq!(board.created, first_import + 1);
    }
    // The JSON form says the same, and validates.
    let json: Json = serde_json::from_str(&apply(
        dir,
        "less.toml",
        &["--format", "backlog-json", "--since", "full.json"],
    ))
    .expect("a JSON backlog");
    let validator =
        threatpack::schema::compile(threatpack::schema::SchemaKind::Backlog).expect("schema");
    let violations: Vec<String> = validator
        .iter_errors(&json)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(json["since"]["removed"][0]["id"], gone.as_str());
    // An earlier report that is not one is refused with its path.
    std::fs::write(dir.join("bad.json"), "{\"threats\": []}").expect("write");
    let pack = repository().join("packs/stride-core");
    let run = threatpack(
        dir,
        &[
            "apply",
            "--model",
            "less.toml",
            "--pack",
            pack.to_str().expect("utf-8"),
            "--format",
            "backlog-csv",
            "--since",
            "bad.json",
        ],
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("bad.json"), "{}", run.stderr);
    assert!(
        run.stderr.contains("not a threatpack JSON report"),
        "{}",
        run.stderr
    );
}
