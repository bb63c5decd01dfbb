//! Parsing a pack: TOML syntax, JSON Schema validation and deserialization into the typed model.
//!
//! Pure: works on `PackSources` in memory. Every problem becomes a diagnostic; an item that
//! breaks its schema is left out of the model (so later checks do not pile up errors on it) but
//! its id is remembered (so references to it are not reported as unknown).

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::document::{self, Node, Place};
use crate::model::{
    Activity, AttackPattern, Entity, Manifest, Mitigation, Override, PackTest, PropertyDefinition,
    SystemProperty, TierRule,
};
use crate::names::ItemKind;
use crate::schema::{self, FileKind};
use crate::source::{PackSources, SourceFile};

/// The stack of each thread that parses files (only touched pages use memory).
const PARSE_STACK_BYTES: usize = 256 * 1024 * 1024;

/// The most TOML syntax errors reported for one file.
const MAX_SYNTAX_ERRORS_PER_FILE: usize = 20;

/// Where an item was written: its file (index into `PackSources::files`) and JSON pointer segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: usize,
    pub pointer: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Located<T> {
    pub item: T,
    pub origin: Origin,
}

/// A pack after parsing: its sources, their documents, the typed items and what went wrong.
#[derive(Debug)]
pub struct ParsedPack {
    pub sources: PackSources,
    /// The parsed document of each file, by file index; `None` for files that are not pack content.
    pub documents: Vec<Option<Node>>,
    pub manifest: Option<Located<Manifest>>,
    /// `[system.properties]` of `pack.toml`, by name (each located at its own table).
    pub system_properties: Vec<Located<SystemProperty>>,
    /// `[[system.tier-rule]]` of `pack.toml`, in order.
    pub tier_rules: Vec<Located<TierRule>>,
    pub entities: Vec<Located<Entity>>,
    pub attack_patterns: Vec<Located<AttackPattern>>,
    pub mitigations: Vec<Located<Mitigation>>,
    pub overrides: Vec<Located<Override>>,
    pub tests: Vec<Located<PackTest>>,
    /// `[[activity]]` of `activities/*.toml`, file by file in order.
    pub activities: Vec<Located<Activity>>,
    /// Items left out because they break their schema: their kind and id. They are known to
    /// have failed, so references to them are not reported again.
    pub unparsed_ids: BTreeSet<(ItemKind, String)>,
    /// What the root's mitigations that broke their schema address (`attack-pattern` as
    /// written), so that an attack pattern they may mitigate is not called unmitigated; `None`
    /// when one of them has `addresses` that cannot be read.
    pub unparsed_addresses: Option<BTreeSet<String>>,
    /// Kinds of item of which some file could not be read or parsed: any id of that kind may
    /// exist in it, so a reference not found is not reported as unknown.
    pub unreadable_kinds: BTreeSet<ItemKind>,
    /// False when `pack.toml` could not be read or parsed, or one of its system properties
    /// broke its schema: a system property not found may exist.
    pub system_complete: bool,
    /// False when a content file could not be read or parsed: its items are unknown, so
    /// "unknown reference" and whole-pack lints would be guesses.
    pub complete: bool,
    pub diagnostics: Vec<Diagnostic>,
}

impl ParsedPack {
    pub fn parse(sources: PackSources) -> ParsedPack {
        let mut pack = ParsedPack {
            documents: vec![None; sources.files.len()],
            diagnostics: sources.problems.clone(),
            sources,
            manifest: None,
            system_properties: Vec::new(),
            tier_rules: Vec::new(),
            entities: Vec::new(),
            attack_patterns: Vec::new(),
            mitigations: Vec::new(),
            overrides: Vec::new(),
            tests: Vec::new(),
            activities: Vec::new(),
            unparsed_ids: BTreeSet::new(),
            unreadable_kinds: BTreeSet::new(),
            unparsed_addresses: Some(BTreeSet::new()),
            system_complete: false,
            complete: true,
        };
        pack.complete = pack.sources.problems.is_empty();
        let display_prefix = format!("{}/", pack.sources.display_root);
        for problem in &pack.sources.problems {
            let pack_path = problem
                .file()
                .map(|file| file.strip_prefix(&display_prefix).unwrap_or(file));
            pack.unreadable_kinds.extend(
                pack_path
                    .and_then(FileKind::of_pack_path)
                    .and_then(item_kind),
            );
        }
        // Files are independent: parse them on every core, then merge in file order so the
        // result does not depend on scheduling.
        let files = &pack.sources.files;
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(files.len())
            .max(1);
        let chunk = files.len().div_ceil(threads).max(1);
        let parse_chunk = |number: usize, chunk_files: &[SourceFile]| -> Vec<FileParse> {
            chunk_files
                .iter()
                .enumerate()
                .map(|(offset, file)| parse_file(file, number * chunk + offset))
                .collect()
        };
        let parsed: Vec<FileParse> = std::thread::scope(|scope| {
            let workers: Vec<_> = files
                .chunks(chunk)
                .enumerate()
                .map(|(number, chunk_files)| {
                    // The TOML parser recurses up to its own nesting limit, and so does freeing
                    // what it built: a hostile file needs more than a default thread's stack.
                    let worker = std::thread::Builder::new()
                        .stack_size(PARSE_STACK_BYTES)
                        .spawn_scoped(scope, move || parse_chunk(number, chunk_files));
                    (number, chunk_files, worker)
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|(number, chunk_files, worker)| match worker {
                    Ok(handle) => handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    // No thread to be had: parse the chunk here instead.
                    Err(_) => parse_chunk(number, chunk_files),
                })
                .collect()
        });
        for (index, file) in parsed.into_iter().enumerate() {
            pack.documents[index] = file.document;
            pack.complete &= file.complete;
            if !file.complete {
                let kind = FileKind::of_pack_path(&pack.sources.files[index].pack_path);
                pack.unreadable_kinds.extend(kind.and_then(item_kind));
            }
            pack.diagnostics.extend(file.diagnostics);
            if file.manifest.is_some() {
                pack.manifest = file.manifest;
            }
            pack.system_complete |= file.system_complete;
            pack.system_properties.extend(file.system_properties);
            pack.tier_rules.extend(file.tier_rules);
            pack.entities.extend(file.entities);
            pack.attack_patterns.extend(file.attack_patterns);
            pack.mitigations.extend(file.mitigations);
            pack.overrides.extend(file.overrides);
            pack.tests.extend(file.tests);
            pack.activities.extend(file.activities);
            pack.unparsed_ids.extend(file.unparsed_ids);
            pack.unparsed_addresses =
                match (pack.unparsed_addresses.take(), file.unparsed_addresses) {
                    (Some(mut known), Some(more)) => {
                        known.extend(more);
                        Some(known)
                    }
                    _ => None,
                };
        }
        if pack.sources.file("pack.toml").is_none() && !pack.has_error_with("pack.toml") {
            pack.diagnostics.push(
                Diagnostic::new(
                    Code::MissingManifest,
                    format!("no `pack.toml` in `{}`", pack.sources.display_root),
                )
                .help("a pack directory starts with `pack.toml`; `threatpack new NAMESPACE/NAME DIR` creates one"),
            );
        }
        pack
    }

    fn has_error_with(&self, pack_path: &str) -> bool {
        let display = crate::source::join_display(&self.sources.display_root, pack_path);
        self.sources.problems.iter().any(|problem| {
            problem.file() == Some(display.as_str())
                && problem.severity == crate::diagnostic::Severity::Error
        })
    }

    /// The pack's name, when its manifest could be read.
    pub fn name(&self) -> Option<&str> {
        self.manifest
            .as_ref()
            .map(|manifest| manifest.item.pack.name.as_str())
    }

    /// The pack's version, when its manifest could be read and it is valid.
    pub fn version(&self) -> Option<semver::Version> {
        let manifest = self.manifest.as_ref()?;
        crate::names::parse_version(&manifest.item.pack.version).ok()
    }

    /// The declared tiers, smallest first (empty when the manifest could not be read).
    pub fn tiers(&self) -> &[String] {
        self.manifest
            .as_ref()
            .map_or(&[], |manifest| manifest.item.pack.tiers.as_slice())
    }

    /// The rank of a tier (0 = the smallest selection). An item without a tier takes the
    /// pack's `default-tier`, else the last tier; an undeclared tier (reported by `check`)
    /// counts as the last.
    pub fn tier_rank(&self, tier: Option<&str>) -> usize {
        let tiers = self.tiers();
        let last = tiers.len().saturating_sub(1);
        let default = self
            .manifest
            .as_ref()
            .and_then(|manifest| manifest.item.pack.default_tier.as_deref());
        tier.or(default)
            .and_then(|tier| tiers.iter().position(|known| known == tier))
            .unwrap_or(last)
    }

    pub fn display_path(&self, origin: &Origin) -> &str {
        &self.sources.files[origin.file].display_path
    }

    /// The span of a field of an item (`fields` relative to the item), or of the nearest
    /// enclosing value that exists.
    pub fn locate(&self, origin: &Origin, fields: &[&str]) -> Range<usize> {
        self.place(origin, fields)
            .map_or(0..0, |place| place.node.span.clone())
    }

    /// The span of the key naming a field, falling back to its value's span.
    pub fn locate_key(&self, origin: &Origin, fields: &[&str]) -> Range<usize> {
        self.place(origin, fields).map_or(0..0, |place| {
            place.key_span.unwrap_or(place.node.span.clone())
        })
    }

    /// The document node of a field, when it exists exactly.
    pub fn node(&self, origin: &Origin, fields: &[&str]) -> Option<&Node> {
        self.place(origin, fields)
            .filter(|place| place.exact)
            .map(|place| place.node)
    }

    fn place(&self, origin: &Origin, fields: &[&str]) -> Option<Place<'_>> {
        let document = self.documents.get(origin.file)?.as_ref()?;
        let path: Vec<&str> = origin
            .pointer
            .iter()
            .map(String::as_str)
            .chain(fields.iter().copied())
            .collect();
        Some(document.locate(&path))
    }

    pub fn text(&self, origin: &Origin) -> &str {
        &self.sources.files[origin.file].text
    }
}

/// What one file contributes to a pack.
#[derive(Default)]
struct FileParse {
    document: Option<Node>,
    complete: bool,
    /// A `pack.toml` whose every system property was read.
    system_complete: bool,
    diagnostics: Vec<Diagnostic>,
    manifest: Option<Located<Manifest>>,
    system_properties: Vec<Located<SystemProperty>>,
    tier_rules: Vec<Located<TierRule>>,
    entities: Vec<Located<Entity>>,
    attack_patterns: Vec<Located<AttackPattern>>,
    mitigations: Vec<Located<Mitigation>>,
    overrides: Vec<Located<Override>>,
    tests: Vec<Located<PackTest>>,
    activities: Vec<Located<Activity>>,
    unparsed_ids: BTreeSet<(ItemKind, String)>,
    unparsed_addresses: Option<BTreeSet<String>>,
}

fn parse_file(file: &SourceFile, index: usize) -> FileParse {
    let mut out = FileParse {
        complete: true,
        unparsed_addresses: Some(BTreeSet::new()),
        ..FileParse::default()
    };
    let Some(kind) = FileKind::of_pack_path(&file.pack_path) else {
        return out; // Reported by the `unknown-file` lint.
    };
    let (document, syntax_errors) = document::parse(&file.text);
    if !syntax_errors.is_empty() {
        out.complete = false;
        let total = syntax_errors.len();
        // What the file declares is unknown until it parses, so references into it are not
        // checked either (they would all be "unknown").
        let help = match kind.directory().filter(|_| item_kind(kind).is_some()) {
            Some(directory) => format!(
                "fix the TOML syntax; the file's other checks, and references to the {directory} it declares, run once it parses"
            ),
            None => "fix the TOML syntax; the file's other checks run once it parses".to_string(),
        };
        for (shown, error) in syntax_errors.into_iter().enumerate() {
            // A binary or garbage file would give one error per byte: keep a screenful.
            if shown == MAX_SYNTAX_ERRORS_PER_FILE {
                let last = out.diagnostics.pop().map(|last| {
                    last.note(format!(
                        "{} more TOML errors in this file are not shown",
                        total - MAX_SYNTAX_ERRORS_PER_FILE + 1
                    ))
                });
                out.diagnostics.extend(last);
                break;
            }
            out.diagnostics.push(
                Diagnostic::new(Code::TomlSyntax, "invalid TOML")
                    .at(&file.display_path, error.span, error.message.clone())
                    .help(help.clone()),
            );
        }
        return out;
    }
    let json = document.to_json();
    let schema_errors = schema::validate(kind, &file.display_path, &document, &json);
    // Items (array entries at the root) that have a schema error are left out of the model.
    let broken_items: BTreeSet<(String, usize)> = schema_errors
        .iter()
        .filter_map(|diagnostic| diagnostic.primary.as_ref())
        .filter_map(|label| item_at(&document, &label.span))
        .collect();
    let file_has_errors = !schema_errors.is_empty();
    out.diagnostics.extend(schema_errors);

    match kind {
        FileKind::Manifest => {
            // `[system]` part by part: a broken system property or tier rule is left out alone.
            let system = json.get("system");
            let properties = system.and_then(|system| system.get("properties"));
            out.system_complete = true;
            if let Some(Json::Object(properties)) = properties {
                for (name, value) in properties {
                    let definition = PropertyDefinition::deserialize(value);
                    out.system_complete &= definition.is_ok();
                    if let Ok(definition) = definition {
                        out.system_properties.push(Located {
                            item: SystemProperty {
                                name: name.clone(),
                                definition,
                            },
                            origin: Origin {
                                file: index,
                                pointer: vec![
                                    "system".to_string(),
                                    "properties".to_string(),
                                    name.clone(),
                                ],
                            },
                        });
                    }
                }
            }
            if let Some(Json::Array(rules)) = system.and_then(|system| system.get("tier-rule")) {
                for (position, value) in rules.iter().enumerate() {
                    if let Ok(rule) = TierRule::deserialize(value) {
                        out.tier_rules.push(Located {
                            item: rule,
                            origin: Origin {
                                file: index,
                                pointer: vec![
                                    "system".to_string(),
                                    "tier-rule".to_string(),
                                    position.to_string(),
                                ],
                            },
                        });
                    }
                }
            }
            // Deserialized even with schema errors when possible: its name and tiers let the
            // other checks run instead of failing everywhere.
            if let Ok(manifest) = serde_json::from_value::<Manifest>(json) {
                out.manifest = Some(Located {
                    item: manifest,
                    origin: Origin {
                        file: index,
                        pointer: Vec::new(),
                    },
                });
            }
        }
        FileKind::PackTest => {
            if !file_has_errors && let Ok(test) = PackTest::from_json(json) {
                out.tests.push(Located {
                    item: test,
                    origin: Origin {
                        file: index,
                        pointer: Vec::new(),
                    },
                });
            }
        }
        FileKind::Entities => out.entities.extend(items(
            &json,
            "entity",
            index,
            &broken_items,
            &mut out.unparsed_ids,
        )),
        FileKind::AttackPatterns => out.attack_patterns.extend(items(
            &json,
            "attack-pattern",
            index,
            &broken_items,
            &mut out.unparsed_ids,
        )),
        FileKind::Mitigations => {
            out.mitigations.extend(items(
                &json,
                "mitigation",
                index,
                &broken_items,
                &mut out.unparsed_ids,
            ));
            let parsed: BTreeSet<&str> = out
                .mitigations
                .iter()
                .filter_map(|mitigation| mitigation.origin.pointer.get(1))
                .map(String::as_str)
                .collect();
            out.unparsed_addresses = unparsed_addresses(&json, &parsed);
        }
        FileKind::Overrides => out.overrides.extend(items(
            &json,
            "override",
            index,
            &broken_items,
            &mut out.unparsed_ids,
        )),
        FileKind::Activities => out.activities.extend(items(
            &json,
            "activity",
            index,
            &broken_items,
            &mut out.unparsed_ids,
        )),
        // `of_pack_path` never yields it: system models live outside packs.
        FileKind::Model | FileKind::OtmMapping | FileKind::ImportMapping => {}
    }
    out.document = Some(document);
    out
}

/// The attack patterns the mitigations left out of the model address, as written; `None`
/// when some of those cannot be read.
fn unparsed_addresses(json: &Json, parsed: &BTreeSet<&str>) -> Option<BTreeSet<String>> {
    let mut addressed = BTreeSet::new();
    let Some(Json::Array(entries)) = json.get("mitigation") else {
        return Some(addressed);
    };
    for (index, entry) in entries.iter().enumerate() {
        if parsed.contains(index.to_string().as_str()) {
            continue;
        }
        match entry.get("addresses") {
            None => {}
            Some(Json::Array(links)) => {
                for link in links {
                    addressed.insert(link.get("attack-pattern")?.as_str()?.to_string());
                }
            }
            Some(_) => return None,
        }
    }
    Some(addressed)
}

/// The kind of item a file of `kind` declares, for the files that declare items with ids.
fn item_kind(kind: FileKind) -> Option<ItemKind> {
    match kind {
        FileKind::Entities => Some(ItemKind::Entity),
        FileKind::AttackPatterns => Some(ItemKind::AttackPattern),
        FileKind::Mitigations => Some(ItemKind::Mitigation),
        _ => None,
    }
}

/// The root array and index of the item whose table contains `span`, if any.
fn item_at(document: &Node, span: &Range<usize>) -> Option<(String, usize)> {
    let crate::document::NodeValue::Table(entries) = &document.value else {
        return None;
    };
    for entry in entries {
        if let crate::document::NodeValue::Array(items) = &entry.value.value {
            for (index, item) in items.iter().enumerate() {
                if item.span.start <= span.start
                    && span.end <= item.span.end
                    && !item.span.is_empty()
                {
                    return Some((entry.key.clone(), index));
                }
            }
        }
    }
    None
}

fn items<T: DeserializeOwned>(
    json: &Json,
    key: &str,
    file: usize,
    broken: &BTreeSet<(String, usize)>,
    unparsed_ids: &mut BTreeSet<(ItemKind, String)>,
) -> Vec<Located<T>> {
    let Some(Json::Array(entries)) = json.get(key) else {
        return Vec::new();
    };
    let mut parsed = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let item = if broken.contains(&(key.to_string(), index)) {
            None
        } else {
            // Deserialized from the borrowed JSON: no copy of the item.
            T::deserialize(entry).ok()
        };
        match item {
            Some(item) => parsed.push(Located {
                item,
                origin: Origin {
                    file,
                    pointer: vec![key.to_string(), index.to_string()],
                },
            }),
            None => {
                let kind = ItemKind::from_name(key);
                if let (Some(kind), Some(id)) = (kind, entry.get("id").and_then(Json::as_str)) {
                    unparsed_ids.insert((kind, id.to_string()));
                }
            }
        }
    }
    parsed
}
