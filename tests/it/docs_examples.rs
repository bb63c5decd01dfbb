//! The examples in README.md and docs/ are true: every TOML example is valid TOML and, when it
//! is a whole file of a kind threatpack reads, valid against that kind's schema; the README's
//! excerpts of stride-core say what stride-core says; the README's diagnostic is real output
//! (issue 12: the pack snippet and the diagnostic had drifted from the code).

use std::collections::BTreeMap;
use std::fs;

use threatpack::schema::{SchemaKind, compile};
use toml::Value;

use crate::support::repository;

/// A fenced code block: the file, the line of its opening fence, the info string, the text.
struct Block {
    file: String,
    line: usize,
    info: String,
    text: String,
}

fn blocks(file: &str) -> Vec<Block> {
    let text = fs::read_to_string(repository().join(file)).expect("a documentation file");
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    file: file.to_string(),
                    line: index + 1,
                    info: info.trim().to_string(),
                    text: String::new(),
                })
            }
            (Some(_), Some("")) => found.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "{file}: a code block is never closed");
    found
}

/// README.md, every page of docs/, and the registry's API reference.
fn documentation() -> Vec<String> {
    let mut files = vec!["README.md".to_string(), "registry/API.md".to_string()];
    let mut pages: Vec<String> = fs::read_dir(repository().join("docs"))
        .expect("docs/")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

/// The kind of file a TOML example is, from its top-level keys; `None` for a fragment.
fn kind_of(table: &toml::Table) -> Option<SchemaKind> {
    let keys: Vec<&str> = table.keys().map(String::as_str).collect();
    let only = |allowed: &[&str]| keys.iter().all(|key| allowed.contains(key));
    if keys.contains(&"pack") && only(&["pack", "dependencies", "system"]) {
        Some(SchemaKind::Pack)
    } else if keys.contains(&"project")
        && only(&["project", "dependencies", "trust", "registry-keys"])
    {
        Some(SchemaKind::Project)
    } else if keys == ["entity"] {
        Some(SchemaKind::Entities)
    } else if keys == ["attack-pattern"] {
        Some(SchemaKind::AttackPatterns)
    } else if keys == ["mitigation"] {
        Some(SchemaKind::Mitigations)
    } else if keys == ["override"] {
        Some(SchemaKind::Overrides)
    } else {
        None
    }
}

/// An example that says it is an excerpt (a comment naming it so, or a `# ...` line) leaves
/// out required fields on purpose.
fn is_excerpt(text: &str) -> bool {
    text.lines().map(str::trim_start).any(|line| {
        line.starts_with("# ...") || (line.starts_with('#') && line.contains("excerpt"))
    })
}

#[test]
fn every_toml_example_parses_and_whole_files_match_their_schema() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in documentation() {
        for block in blocks(&file)
            .into_iter()
            .filter(|block| block.info == "toml")
        {
            let table: toml::Table = match toml::from_str(&block.text) {
                Ok(table) => table,
                Err(error) => {
                    problems.push(format!("{}:{}: {error}", block.file, block.line));
                    continue;
                }
            };
            let Some(kind) = kind_of(&table).filter(|_| !is_excerpt(&block.text)) else {
                continue;
            };
            let json = serde_json::to_value(&table).expect("TOML converts to JSON");
            let validator = compile(kind).expect("the schema compiles");
            for error in validator.iter_errors(&json) {
                problems.push(format!(
                    "{}:{}: not a valid {} file: {} at `{}`",
                    block.file,
                    block.line,
                    kind.name(),
                    error,
                    error.instance_path()
                ));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked >= 10, "only {checked} whole files were checked");
}

/// Every attack pattern and mitigation of a pack directory, by id.
fn items(pack: &str, key: &str) -> BTreeMap<String, toml::Table> {
    let directory = repository().join(pack);
    let mut found = BTreeMap::new();
    for sub in ["attack-patterns", "mitigations"] {
        for entry in fs::read_dir(directory.join(sub)).expect("a pack directory") {
            let text = fs::read_to_string(entry.expect("an entry").path()).expect("a file");
            let table: toml::Table = toml::from_str(&text).expect("the shipped pack parses");
            for item in table
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let item = item.as_table().expect("an item is a table").clone();
                let id = item["id"].as_str().expect("an id").to_string();
                found.insert(id, item);
            }
        }
    }
    found
}

#[test]
fn the_readme_excerpts_of_stride_core_say_what_stride_core_says() {
    let mut compared = 0;
    for block in blocks("README.md")
        .into_iter()
        .filter(|block| block.info == "toml" && block.text.contains("[[attack-pattern]]"))
    {
        let table: toml::Table = toml::from_str(&block.text).expect("the example parses");
        for key in ["attack-pattern", "mitigation"] {
            let shipped = items("packs/stride-core", key);
            for item in table
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let item = item.as_table().expect("a table");
                let id = item["id"].as_str().expect("an id");
                let real = shipped
                    .get(id)
                    .unwrap_or_else(|| panic!("README.md:{}: no {key} `{id}`", block.line));
                for (field, value) in item {
                    match (field.as_str(), value) {
                        // Links: each one shown is one of the real ones.
                        ("addresses", Value::Array(shown)) => {
                            let links = real[field].as_array().expect("addresses");
                            for link in shown {
                                assert!(
                                    links.contains(link),
                                    "README.md:{}: `{id}` has no link {link}",
                                    block.line
                                );
                            }
                        }
                        _ => assert_eq!(
                            Some(value),
                            real.get(field),
                            "README.md:{}: `{id}`.{field}",
                            block.line
                        ),
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(compared >= 10, "only {compared} fields were compared");
}

#[test]
fn the_readme_diagnostic_is_what_check_prints() {
    let snapshots = repository().join("tests/it/snapshots/diagnostics");
    let outputs: Vec<String> = fs::read_dir(&snapshots)
        .expect("the diagnostics snapshots")
        .map(|entry| fs::read_to_string(entry.expect("an entry").path()).expect("a snapshot"))
        .collect();
    let shown: Vec<Block> = blocks("README.md")
        .into_iter()
        .filter(|block| block.info == "text" && block.text.starts_with("error["))
        .collect();
    assert!(!shown.is_empty(), "the README shows a diagnostic");
    for block in shown {
        assert!(
            outputs.iter().any(|output| output.contains(&block.text)),
            "README.md:{}: not the output of any diagnostic fixture (tests/it/snapshots/diagnostics):\n{}",
            block.line,
            block.text
        );
    }
}
