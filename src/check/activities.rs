//! Checks of `[[activity]]` in `activities/*.toml`: ids are unique among the pack's activities
//! and each `when` is a bool over `system` and `report` only.

use std::collections::BTreeMap;

use crate::check::conditions::{self, Subjects};
use crate::diagnostic::{Code, Diagnostic};
use crate::index::Index;
use crate::lints::Facts;
use crate::parse::Origin;

pub(crate) fn check(index: &Index<'_>, facts: &mut Facts, diagnostics: &mut Vec<Diagnostic>) {
    let root = index.root();
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for activity in &root.activities {
        let id = activity.item.id.as_str();
        if let Some(first) = seen.get(id) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateId,
                    format!("the activity id `{id}` is used twice"),
                )
                .at(
                    root.display_path(&activity.origin),
                    root.locate(&activity.origin, &["id"]),
                    "this activity reuses it",
                )
                .also(
                    root.display_path(first),
                    root.locate(first, &["id"]),
                    "first used by this activity",
                )
                .help("activity ids are unique across the pack's activities; rename one"),
            );
        } else {
            seen.insert(id, &activity.origin);
        }
        conditions::check(
            index,
            facts,
            diagnostics,
            &activity.item.when,
            &activity.origin,
            &["when"],
            Subjects::SystemAndReport,
        );
    }
}
