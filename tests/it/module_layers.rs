//! The library's top-level modules import each other without circles (issue 12 broke `check` ↔
//! `lints` ↔ `upstream` and `engine` ↔ `system::bind`): read from `use crate::…` paths in
//! `src/` (the CLI in `src/bin` excluded), so a new circle fails here with the files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::support::repository;

#[test]
fn top_level_modules_import_each_other_without_circles() {
    let source = repository().join("src");
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut pending = vec![source.clone()];
    while let Some(directory) = pending.pop() {
        for entry in fs::read_dir(&directory).expect("a readable source directory") {
            let path = entry.expect("an entry").path();
            let relative = path.strip_prefix(&source).expect("under src");
            if path.is_dir() {
                if relative != Path::new("bin") {
                    pending.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|extension| extension != "rs") {
                continue;
            }
            let module = relative
                .components()
                .next()
                .and_then(|first| first.as_os_str().to_str())
                .expect("a UTF-8 file name")
                .trim_end_matches(".rs")
                .to_string();
            let text = fs::read_to_string(&path).expect("a readable source file");
            for (at, _) in text.match_indices("crate::") {
                let name: String = text[at + "crate::".len()..]
                    .chars()
                    .take_while(|character| character.is_ascii_lowercase() || *character == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .entry(name)
                        .or_default()
                        .insert(relative.display().to_string());
                }
            }
        }
    }
    // Depth-first search for a path that comes back to a module on the stack.
    fn visit(
        module: &str,
        edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = stack.iter().position(|on_stack| on_stack == module) {
            let mut circle = stack[start..].to_vec();
            circle.push(module.to_string());
            return Some(circle);
        }
        if !done.insert(module.to_string()) {
            return None;
        }
        stack.push(module.to_string());
        for next in edges.get(module).into_iter().flat_map(BTreeMap::keys) {
            if let Some(circle) = visit(next, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(circle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            let files: Vec<String> = circle
                .windows(2)
                .map(|pair| {
                    format!(
                        "{} -> {}: {:?}",
                        pair[0], pair[1], edges[&pair[0]][&pair[1]]
                    )
                })
                .collect();
            panic!(
                "import circle {}\n{}",
                circle.join(" -> "),
                files.join("\n")
            );
        }
    }
    assert!(edges.contains_key("check"), "the walk found the modules");
}
