//! Upstream drift: each override records the content digest of the item it was reviewed
//! against (`upstream-digest`), and `upstream.lock` at the pack's root keeps that content, so
//! that when the dependency changes the item, `check` and `build` can say what changed.
//!
//! The digest is of the target as its own pack writes it (canonical JSON of its TOML table; a
//! mitigation without its `addresses`, which are targets of their own), so reformatting or
//! comments upstream are not drift.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::digest::json_digest;
use crate::index::{Index, ResolvedTarget, TargetLookup};
use crate::names::ItemKind;
use crate::render::short_json;
use crate::resolve::PackGraph;
use crate::source::UPSTREAM_LOCK;

/// The content of an override's target now, and the version of the pack holding it.
#[derive(Debug, Clone)]
pub struct UpstreamItem {
    pub content: Json,
    pub digest: String,
    pub pack: String,
    pub version: String,
}

/// Finds what `target` (an override target written in `from_pack`) is now.
pub fn upstream_item(index: &Index<'_>, from_pack: usize, target: &str) -> Option<UpstreamItem> {
    let TargetLookup::Found(resolved) = index.resolve_target(from_pack, target) else {
        return None;
    };
    let (pack, origin, fields) = match resolved {
        ResolvedTarget::Link {
            mitigation,
            position,
            ..
        } => {
            let mitigation = &index.mitigations[mitigation];
            (
                mitigation.pack,
                &mitigation.located.origin,
                vec!["addresses".to_string(), position.to_string()],
            )
        }
        ResolvedTarget::Item(ItemKind::Entity, found) => {
            let item = &index.entities[found];
            (item.pack, &item.located.origin, Vec::new())
        }
        ResolvedTarget::Item(ItemKind::AttackPattern, found) => {
            let item = &index.attack_patterns[found];
            (item.pack, &item.located.origin, Vec::new())
        }
        ResolvedTarget::Item(ItemKind::Mitigation, found) => {
            let item = &index.mitigations[found];
            (item.pack, &item.located.origin, Vec::new())
        }
    };
    let parsed = index.pack(pack);
    let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let mut content = parsed.node(origin, &field_refs)?.to_json();
    if let (ResolvedTarget::Item(ItemKind::Mitigation, _), Json::Object(map)) =
        (resolved, &mut content)
    {
        map.remove("addresses");
    }
    let manifest = &parsed.manifest.as_ref()?.item.pack;
    Some(UpstreamItem {
        digest: json_digest(&content),
        content,
        pack: manifest.name.clone(),
        version: manifest.version.clone(),
    })
}

/// `upstream.lock`: the content of each reviewed upstream item, by digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UpstreamLock {
    pub format: u32,
    pub items: BTreeMap<String, LockedItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedItem {
    pub target: String,
    /// The version of the pack that held it.
    pub version: String,
    pub content: Json,
}

impl UpstreamLock {
    pub fn parse(bytes: &[u8]) -> Option<UpstreamLock> {
        serde_json::from_slice(bytes).ok()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// Field-by-field changes between two versions of an item, one line each.
pub fn describe_changes(old: &Json, new: &Json) -> Vec<String> {
    let (Json::Object(old), Json::Object(new)) = (old, new) else {
        return vec![format!("{} → {}", short_json(old, 80), short_json(new, 80))];
    };
    let mut changes = Vec::new();
    for (key, old_value) in old {
        match new.get(key) {
            None => changes.push(format!(
                "`{key}` removed (was {})",
                short_json(old_value, 80)
            )),
            Some(new_value) if new_value != old_value => changes.push(format!(
                "`{key}`: {} → {}",
                short_json(old_value, 80),
                short_json(new_value, 80)
            )),
            Some(_) => {}
        }
    }
    for (key, new_value) in new {
        if !old.contains_key(key) {
            changes.push(format!("`{key}` added: {}", short_json(new_value, 80)));
        }
    }
    changes
}

/// The files `overrides refresh` rewrites: every root override stamped with its target's
/// current digest, and the new `upstream.lock`.
#[derive(Debug)]
pub struct Refresh {
    /// (path inside the pack, new text) of each override file that changes.
    pub files: Vec<(String, String)>,
    pub lock: Vec<u8>,
    /// Overrides stamped for the first time, and re-stamped after an upstream change.
    pub stamped: Vec<String>,
    pub acknowledged: Vec<String>,
    pub unchanged: usize,
    /// Overrides whose target cannot be found (reported; left as they are).
    pub unresolved: Vec<String>,
}

/// Stamps every override of the root pack with the current digest of its target.
pub fn refresh(graph: &PackGraph) -> Result<Refresh, String> {
    let index = Index::build(graph);
    let root = &graph.packs[0];
    let mut documents: BTreeMap<usize, toml_edit::DocumentMut> = BTreeMap::new();
    let mut lock = UpstreamLock {
        format: 1,
        items: BTreeMap::new(),
    };
    let mut result = Refresh {
        files: Vec::new(),
        lock: Vec::new(),
        stamped: Vec::new(),
        acknowledged: Vec::new(),
        unchanged: 0,
        unresolved: Vec::new(),
    };
    for located in &root.overrides {
        let target = &located.item.target;
        let Some(upstream) = upstream_item(&index, 0, target) else {
            result.unresolved.push(target.clone());
            continue;
        };
        lock.items.insert(
            upstream.digest.clone(),
            LockedItem {
                target: target.clone(),
                version: upstream.version.clone(),
                content: upstream.content.clone(),
            },
        );
        match &located.item.upstream_digest {
            Some(recorded) if *recorded == upstream.digest => {
                result.unchanged += 1;
                continue;
            }
            Some(_) => result.acknowledged.push(target.clone()),
            None => result.stamped.push(target.clone()),
        }
        let file = located.origin.file;
        let source = &root.sources.files[file];
        if let std::collections::btree_map::Entry::Vacant(entry) = documents.entry(file) {
            let document = source
                .text
                .parse::<toml_edit::DocumentMut>()
                .map_err(|error| format!("cannot edit `{}`: {error}", source.display_path))?;
            entry.insert(document);
        }
        let Some(document) = documents.get_mut(&file) else {
            continue;
        };
        let position: usize = located
            .origin
            .pointer
            .get(1)
            .and_then(|position| position.parse().ok())
            .unwrap_or(0);
        stamp(document, position, &upstream.digest).ok_or_else(|| {
            format!(
                "cannot find override {} of `{}` to stamp it",
                position + 1,
                source.display_path
            )
        })?;
    }
    for (file, document) in documents {
        result.files.push((
            root.sources.files[file].pack_path.clone(),
            document.to_string(),
        ));
    }
    result.lock = lock.to_bytes();
    Ok(result)
}

/// Sets `upstream-digest` on the `position`th override of a document, keeping its formatting.
fn stamp(document: &mut toml_edit::DocumentMut, position: usize, digest: &str) -> Option<()> {
    let overrides = document.get_mut("override")?;
    if let Some(tables) = overrides.as_array_of_tables_mut() {
        let table = tables.get_mut(position)?;
        table.insert("upstream-digest", toml_edit::value(digest));
        return Some(());
    }
    let array = overrides.as_array_mut()?;
    let table = array.get_mut(position)?.as_inline_table_mut()?;
    table.insert("upstream-digest", digest.into());
    Some(())
}

/// What the root pack's `upstream.lock` recorded for a digest, if anything.
pub fn locked_item(graph: &PackGraph, digest: &str) -> Option<LockedItem> {
    let lock = graph.packs[0].sources.attached(UPSTREAM_LOCK)?;
    let lock = UpstreamLock::parse(&lock.bytes)?;
    lock.items.get(digest).cloned()
}
