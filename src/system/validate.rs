//! The one validation of a system model against the items it may name: `apply` and `test`
//! check a model against a compiled knowledge base, `check` checks a pack test's model against
//! the pack's index, and both get the same code and message for the same mistake.
//!
//! A mistake is reported once: an element whose kind failed to resolve is still an element of
//! the model (flows and boundaries naming it are fine), and an entity whose ancestor failed is
//! not said to lack the properties it would have inherited (as rustc does for items that
//! failed to resolve). `fits_schema` holds what the model's JSON Schema says beyond its Rust
//! types, so that a JSON model read without the schema is refused exactly when the schema
//! would refuse it.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde_json::Value as Json;

use crate::compile::KnowledgeBase;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::value_fits;
use crate::model::{ElementKind, ImplementationStatus, MitigationStatus, PropertyDefinition};

use super::ModelFile;
use super::flat::FlatModel;

/// What an element is in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Component,
    Flow,
    Boundary,
}

impl Role {
    pub fn table(self) -> &'static str {
        match self {
            Role::Component => "component",
            Role::Flow => "flow",
            Role::Boundary => "boundary",
        }
    }

    pub fn accepts(self, kind: ElementKind) -> bool {
        match self {
            Role::Component => kind.is_component(),
            Role::Flow => kind == ElementKind::DataFlow,
            Role::Boundary => kind == ElementKind::TrustBoundary,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Role::Component => "a process, data-store or external-interactor entity",
            Role::Flow => "a data-flow entity",
            Role::Boundary => "a trust-boundary entity",
        }
    }
}

/// What a reference written in a model leads to.
#[derive(Debug, Clone)]
pub enum Resolution<T> {
    Found(T),
    /// The item exists but failed (its file or its schema), and was reported there: references
    /// to it are not reported again.
    Failed,
    Unknown(Unresolved),
}

/// Why a reference leads nowhere: the diagnostic's message, label and help.
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub message: String,
    pub label: String,
    pub help: String,
}

/// An entity as a model element of its kind sees it.
#[derive(Debug, Clone)]
pub struct EntityShape<'c> {
    /// Its index in the catalogue (`kb.entities`, or the pack index's entities).
    pub index: usize,
    /// `None` when it has no kind of its own and its parent failed.
    pub kind: Option<ElementKind>,
    /// Its properties, inherited ones included.
    pub properties: BTreeMap<&'c str, &'c PropertyDefinition>,
    /// False when an ancestor failed: properties it would have inherited are missing.
    pub complete: bool,
}

/// The items a model may name: a compiled knowledge base, or a pack being checked.
pub trait Catalogue {
    /// The pack the model is checked against, for messages.
    fn pack(&self) -> &str;
    fn entity(&self, reference: &str) -> Resolution<EntityShape<'_>>;
    fn attack_pattern(&self, reference: &str) -> Resolution<usize>;
    fn mitigation(&self, reference: &str) -> Resolution<usize>;
    /// A security activity (`[[activity-done]]`); a catalogue without activities leaves them
    /// unchecked.
    fn activity(&self, _reference: &str) -> Resolution<usize> {
        Resolution::Failed
    }
    /// The system properties a model's `[system]` may set, by name.
    fn system_properties(&self) -> BTreeMap<&str, &PropertyDefinition>;
    /// False when some system property failed (and was reported where it is declared): a
    /// name not among `system_properties` is then not reported.
    fn system_properties_complete(&self) -> bool {
        true
    }
}

/// Where the model's fields are written, for diagnostics.
pub trait ModelPlaces {
    fn display_path(&self) -> &str;
    /// The span of a model field (`["component", "3", "kind"]`), or of the nearest enclosing one.
    fn locate(&self, field: &[&str]) -> Range<usize>;
    /// The span of the key naming a model field, or of its value when there is no key.
    fn locate_key(&self, field: &[&str]) -> Range<usize>;
    /// Whether properties the knowledge base does not declare are ignored (pytm's dump holds
    /// every attribute of every element) rather than errors.
    fn ignores_undeclared_properties(&self) -> bool {
        false
    }
}

impl ModelPlaces for ModelFile {
    fn display_path(&self) -> &str {
        &self.display_path
    }

    fn locate(&self, field: &[&str]) -> Range<usize> {
        ModelFile::locate(self, field)
    }

    fn locate_key(&self, field: &[&str]) -> Range<usize> {
        ModelFile::locate_key(self, field)
    }

    fn ignores_undeclared_properties(&self) -> bool {
        self.ignores_undeclared_properties
    }
}

/// The outcome of validating a model.
#[derive(Debug)]
pub struct Validation<'m> {
    /// Every problem, unsorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Every element id the model declares, with its role and its position in its table (the
    /// first, for an id used twice); elements whose kind failed included.
    pub elements: HashMap<&'m str, (Role, usize)>,
    /// What each flow end and boundary member names, in the order `FlatModel::elements` lists
    /// them (each flow's source and target, then each boundary's members): the element's role
    /// and position, `None` when it names none. Binding reads them instead of looking every
    /// id up again.
    pub references: Vec<Option<(Role, usize)>>,
}

/// Checks `model` against `catalogue`: system values, element ids, kinds and property values,
/// flow ends and boundary members, mitigation statuses and the threats of stories.
pub fn validate<'m>(
    model: &'m FlatModel,
    catalogue: &dyn Catalogue,
    places: &dyn ModelPlaces,
) -> Validation<'m> {
    let mut validator = Validator {
        catalogue,
        places,
        diagnostics: Vec::new(),
    };
    validator.system(model);
    let elements = validator.elements(model);
    let references = validator.ends_and_members(model, &elements);
    validator.statuses_and_stories(model, &elements);
    Validation {
        diagnostics: validator.diagnostics,
        elements,
        references,
    }
}

struct Validator<'c> {
    catalogue: &'c dyn Catalogue,
    places: &'c dyn ModelPlaces,
    diagnostics: Vec<Diagnostic>,
}

impl<'c> Validator<'c> {
    fn report(
        &mut self,
        code: Code,
        message: String,
        span: Range<usize>,
        label: String,
    ) -> &mut Diagnostic {
        let diagnostic = Diagnostic::new(code, message).at(self.places.display_path(), span, label);
        self.diagnostics.push(diagnostic);
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn unresolved(&mut self, unresolved: Unresolved, field: &[&str]) {
        let span = self.places.locate(field);
        let diagnostic = self.report(
            Code::UnknownReference,
            unresolved.message,
            span,
            unresolved.label,
        );
        diagnostic.help = Some(unresolved.help);
    }

    fn system(&mut self, model: &FlatModel) {
        let declared = self.catalogue.system_properties();
        for (name, value) in &model.system {
            match declared.get(name.as_str()) {
                None if !self.catalogue.system_properties_complete() => {}
                None => {
                    let help = match crate::schema::suggest(name, declared.keys().copied()) {
                        Some(candidate) => format!("did you mean `{candidate}`?"),
                        None if declared.is_empty() => format!(
                            "`{}` and its dependencies declare no system properties; a pack declares them in `[system.properties]` of `pack.toml`",
                            self.catalogue.pack()
                        ),
                        None => format!(
                            "the system properties are {}",
                            list(declared.keys().copied())
                        ),
                    };
                    let span = self.places.locate_key(&["system", name]);
                    let diagnostic = self.report(
                        Code::InvalidModel,
                        format!("unknown system property `{name}`"),
                        span,
                        format!(
                            "not a system property of `{}` or its dependencies",
                            self.catalogue.pack()
                        ),
                    );
                    diagnostic.help = Some(help);
                }
                Some(definition) => {
                    if let Err(problem) = value_fits(definition, value) {
                        let span = self.places.locate(&["system", name]);
                        let diagnostic = self.report(
                            Code::InvalidModel,
                            format!("invalid value for the system property `{name}`"),
                            span,
                            problem,
                        );
                        diagnostic.help =
                            Some(format!("the property asks: {}", definition.question));
                    }
                }
            }
        }
    }

    /// Checks every element; returns the declared ids with their role and position.
    fn elements<'m>(&mut self, model: &'m FlatModel) -> HashMap<&'m str, (Role, usize)> {
        let catalogue = self.catalogue;
        let mut declared: HashMap<&'m str, (Role, usize)> = HashMap::new();
        // Kinds resolved once, by word: a model of 30,000 elements names a handful of kinds.
        // With each, the definition of every property name of the model (by word), unless
        // the model has so many names that a table per kind would cost more than it saves
        // (a hostile file could hold millions): then each is looked up by name.
        const MAX_WORDS_IN_TABLES: usize = 4096;
        type Definitions<'d> = Vec<Option<&'d PropertyDefinition>>;
        let mut kinds: Vec<Option<(Resolution<EntityShape<'c>>, Definitions<'c>)>> =
            vec![None; model.word_count()];
        for element in model.elements() {
            let (role, position, id, kind) =
                (element.role, element.position, element.id, element.kind);
            let table = role.table();
            // Field paths are built only for a problem: a model may hold 30,000 elements.
            let position_text = || position.to_string();
            match declared.get(id) {
                Some((first_role, first_position)) => {
                    let first = self.places.locate(&[
                        first_role.table(),
                        &first_position.to_string(),
                        "id",
                    ]);
                    let span = self.places.locate(&[table, &position_text(), "id"]);
                    let path = self.places.display_path().to_string();
                    let diagnostic = self.report(
                        Code::InvalidModel,
                        format!("the element id `{id}` is used twice in the model"),
                        span,
                        "used again here".to_string(),
                    );
                    diagnostic.secondary.push(crate::diagnostic::Label {
                        file: path,
                        span: first,
                        text: "first used here".to_string(),
                    });
                    diagnostic.help =
                        Some("give every component, flow and boundary its own id".to_string());
                }
                None => {
                    declared.insert(id, (role, position));
                }
            }
            let (resolution, definitions) = kinds[element.kind_word].get_or_insert_with(|| {
                let resolution = catalogue.entity(kind);
                let table_size = match (&resolution, model.word_count()) {
                    (Resolution::Found(_), words) if words <= MAX_WORDS_IN_TABLES => words,
                    _ => 0,
                };
                let definitions = match &resolution {
                    Resolution::Found(shape) => (0..table_size)
                        .map(|word| shape.properties.get(model.word(word)).copied())
                        .collect(),
                    _ => Vec::new(),
                };
                (resolution, definitions)
            });
            let shape = match resolution {
                Resolution::Found(shape) => &*shape,
                Resolution::Failed => continue,
                Resolution::Unknown(unresolved) => {
                    let unresolved = unresolved.clone();
                    self.unresolved(unresolved, &[table, &position_text(), "kind"]);
                    continue;
                }
            };
            if let Some(element_kind) = shape.kind
                && !role.accepts(element_kind)
            {
                let span = self.places.locate(&[table, &position_text(), "kind"]);
                let diagnostic = self.report(
                    Code::KindMismatch,
                    format!("a {table} cannot be a `{kind}`"),
                    span,
                    format!("`{kind}` is a {} entity", element_kind.as_str()),
                );
                diagnostic.help = Some(format!("a `[[{table}]]` needs {}", role.expected()));
                continue;
            }
            for (word, name, value) in element.properties() {
                let definition = match definitions.get(word) {
                    Some(definition) => *definition,
                    None => shape.properties.get(name).copied(),
                };
                match definition {
                    // Inherited from an ancestor that failed, perhaps: reported there.
                    None if !shape.complete => {}
                    None if self.places.ignores_undeclared_properties() => {}
                    None => {
                        let help =
                            match crate::schema::suggest(name, shape.properties.keys().copied()) {
                                Some(candidate) => format!("did you mean `{candidate}`?"),
                                None => format!(
                                    "`{kind}` has the properties {}",
                                    list(shape.properties.keys().copied())
                                ),
                            };
                        let span =
                            self.places
                                .locate_key(&[table, &position_text(), "properties", name]);
                        let diagnostic = self.report(
                            Code::InvalidModel,
                            format!("`{kind}` has no property `{name}`"),
                            span,
                            "unknown property".to_string(),
                        );
                        diagnostic.help = Some(help);
                    }
                    Some(definition) => {
                        if let Err(problem) = value.fits(definition) {
                            let span =
                                self.places
                                    .locate(&[table, &position_text(), "properties", name]);
                            let diagnostic = self.report(
                                Code::InvalidModel,
                                format!("invalid value for `{name}` of `{id}`"),
                                span,
                                problem,
                            );
                            diagnostic.help =
                                Some(format!("the property asks: {}", definition.question));
                        }
                    }
                }
            }
        }
        declared
    }

    /// Flow ends and boundary members: components of the model.
    fn ends_and_members(
        &mut self,
        model: &FlatModel,
        elements: &HashMap<&str, (Role, usize)>,
    ) -> Vec<Option<(Role, usize)>> {
        let mut references = Vec::with_capacity(2 * model.flows());
        for flow in model.elements() {
            let Some((source, target)) = flow.ends() else {
                continue;
            };
            let position = flow.position;
            for (field, end) in [("source", source), ("target", target)] {
                let position = || position.to_string();
                let found = elements.get(end);
                references.push(found.copied());
                match found {
                    Some((Role::Component, _)) => {}
                    Some((role, _)) => {
                        let span = self.places.locate(&["flow", &position(), field]);
                        let diagnostic = self.report(
                            Code::InvalidModel,
                            format!(
                                "the {field} `{end}` of the flow `{}` is not a component",
                                flow.id
                            ),
                            span,
                            format!("`{end}` is a {}", role.table()),
                        );
                        diagnostic.help =
                            Some("a flow goes from one `[[component]]` to another".to_string());
                    }
                    None => self.unknown_element(&["flow", &position(), field], end, elements),
                }
            }
        }
        for boundary in model.elements() {
            if boundary.role != Role::Boundary {
                continue;
            }
            for (member_position, member) in boundary.members().enumerate() {
                let position = boundary.position.to_string();
                let member_position = member_position.to_string();
                let at = [
                    "boundary",
                    position.as_str(),
                    "contains",
                    member_position.as_str(),
                ];
                let found = elements.get(member);
                references.push(found.copied());
                match found {
                    Some((Role::Component, _)) => {}
                    Some((role, _)) => {
                        let span = self.places.locate(&at);
                        let diagnostic = self.report(
                            Code::InvalidModel,
                            format!(
                                "the boundary `{}` contains `{member}`, which is not a component",
                                boundary.id
                            ),
                            span,
                            format!("`{member}` is a {}", role.table()),
                        );
                        diagnostic.help = Some("boundaries contain components; a flow crosses a boundary when its ends are in different boundaries".to_string());
                    }
                    None => self.unknown_element(&at, member, elements),
                }
            }
        }
        references
    }

    /// An `accepted-risk` is governed: it names its owner, its reason and the last day it
    /// holds. (Only there: the fields mean nothing for another status.)
    fn acceptance(&mut self, entry: &MitigationStatus, position: &str) {
        if entry.status != ImplementationStatus::AcceptedRisk {
            return;
        }
        let fields = [
            (
                "owner",
                &entry.owner,
                "who accepted the risk, e.g. `owner = \"head of e-commerce\"`",
            ),
            ("reason", &entry.reason, "why the risk is acceptable"),
            (
                "until",
                &entry.until,
                "the last day the acceptance holds, e.g. `until = \"2027-06-30\"`",
            ),
        ];
        for (field, value, what) in fields {
            match value {
                None => {
                    let span = self
                        .places
                        .locate(&["mitigation-status", position, "status"]);
                    let diagnostic = self.report(
                        Code::InvalidModel,
                        format!("an accepted risk needs `{field}`"),
                        span,
                        format!("`accepted-risk` without `{field}`"),
                    );
                    diagnostic.help = Some(format!(
                        "add `{field}` to this [[mitigation-status]]: {what} (docs/system-model.md#risk-acceptance)"
                    ));
                }
                Some(text) if text.trim().is_empty() => {
                    let span = self.places.locate(&["mitigation-status", position, field]);
                    self.report(
                        Code::InvalidModel,
                        format!("an accepted risk's `{field}` is empty"),
                        span,
                        format!("say {what}"),
                    );
                }
                Some(text) if field == "until" && !is_date(text) => {
                    let span = self.places.locate(&["mitigation-status", position, field]);
                    let diagnostic = self.report(
                        Code::InvalidModel,
                        format!("`until` is not a date: `{text}`"),
                        span,
                        "not `YYYY-MM-DD`".to_string(),
                    );
                    diagnostic.help = Some(format!("write {what}"));
                }
                Some(_) => {}
            }
        }
    }

    fn statuses_and_stories(&mut self, model: &FlatModel, elements: &HashMap<&str, (Role, usize)>) {
        for (position, entry) in model.mitigation_status.iter().enumerate() {
            let position = position.to_string();
            if let Resolution::Unknown(unresolved) = self.catalogue.mitigation(&entry.mitigation) {
                self.unresolved(unresolved, &["mitigation-status", &position, "mitigation"]);
            }
            self.acceptance(entry, &position);
            for (item, element) in entry.at.iter().enumerate() {
                if !elements.contains_key(element.as_str()) {
                    self.unknown_element(
                        &["mitigation-status", &position, "at", &item.to_string()],
                        element,
                        elements,
                    );
                }
            }
        }
        for (position, done) in model.activity_done.iter().enumerate() {
            if let Resolution::Unknown(unresolved) = self.catalogue.activity(&done.id) {
                self.unresolved(unresolved, &["activity-done", &position.to_string(), "id"]);
            }
        }
        for (story_position, story) in model.story.iter().enumerate() {
            let story_position = story_position.to_string();
            for (clause_position, clause) in story.without.iter().enumerate() {
                let clause_position = clause_position.to_string();
                for (item, threat) in clause.threats.iter().enumerate() {
                    let item = item.to_string();
                    let field = [
                        "story",
                        story_position.as_str(),
                        "without",
                        clause_position.as_str(),
                        "threats",
                        item.as_str(),
                    ];
                    let (pattern, element) = match threat.split_once('@') {
                        Some((pattern, element)) => (pattern, Some(element)),
                        None => (threat.as_str(), None),
                    };
                    if let Resolution::Unknown(unresolved) = self.catalogue.attack_pattern(pattern)
                    {
                        self.unresolved(unresolved, &field);
                    }
                    if let Some(element) = element
                        && !elements.contains_key(element)
                    {
                        self.unknown_element(&field, element, elements);
                    }
                }
            }
        }
    }

    fn unknown_element(
        &mut self,
        field: &[&str],
        id: &str,
        elements: &HashMap<&str, (Role, usize)>,
    ) {
        // Sorted, so that the suggestion does not depend on the hash map's order.
        let mut ids: Vec<&str> = elements.keys().copied().collect();
        ids.sort_unstable();
        let help = crate::schema::suggest(id, ids)
            .map(|candidate| format!("did you mean `{candidate}`?"))
            .unwrap_or_else(|| "declare it as a `[[component]]` (or `[[flow]]`) first".to_string());
        let span = self.places.locate(field);
        let diagnostic = self.report(
            Code::InvalidModel,
            format!("no element `{id}` in the model"),
            span,
            "unknown element".to_string(),
        );
        diagnostic.help = Some(help);
    }
}

/// A compiled knowledge base as a catalogue: a reference is a qualified id, or a local id of
/// the applied pack or (when unambiguous) of one of its dependencies.
pub struct KnowledgeBaseCatalogue<'kb> {
    kb: &'kb KnowledgeBase,
    entity_ids: Vec<&'kb str>,
    attack_pattern_ids: Vec<&'kb str>,
    mitigation_ids: Vec<&'kb str>,
}

impl<'kb> KnowledgeBaseCatalogue<'kb> {
    pub fn new(kb: &'kb KnowledgeBase) -> KnowledgeBaseCatalogue<'kb> {
        KnowledgeBaseCatalogue {
            kb,
            entity_ids: kb.entities.iter().map(|item| item.id.as_str()).collect(),
            attack_pattern_ids: kb
                .attack_patterns
                .iter()
                .map(|item| item.id.as_str())
                .collect(),
            mitigation_ids: kb.mitigations.iter().map(|item| item.id.as_str()).collect(),
        }
    }
}

impl Catalogue for KnowledgeBaseCatalogue<'_> {
    fn pack(&self) -> &str {
        &self.kb.pack
    }

    fn entity(&self, reference: &str) -> Resolution<EntityShape<'_>> {
        match resolve_id(self.kb, &self.entity_ids, "entity", reference) {
            Ok(index) => {
                let entity = &self.kb.entities[index];
                Resolution::Found(EntityShape {
                    index,
                    kind: Some(entity.kind),
                    properties: entity
                        .properties
                        .iter()
                        .map(|(name, property)| (name.as_str(), &property.definition))
                        .collect(),
                    complete: true,
                })
            }
            Err(unresolved) => Resolution::Unknown(unresolved),
        }
    }

    fn attack_pattern(&self, reference: &str) -> Resolution<usize> {
        match resolve_id(
            self.kb,
            &self.attack_pattern_ids,
            "attack-pattern",
            reference,
        ) {
            Ok(index) => Resolution::Found(index),
            Err(unresolved) => Resolution::Unknown(unresolved),
        }
    }

    fn mitigation(&self, reference: &str) -> Resolution<usize> {
        match resolve_id(self.kb, &self.mitigation_ids, "mitigation", reference) {
            Ok(index) => Resolution::Found(index),
            Err(unresolved) => Resolution::Unknown(unresolved),
        }
    }

    fn activity(&self, reference: &str) -> Resolution<usize> {
        let ids: Vec<&str> = self
            .kb
            .activities
            .iter()
            .map(|activity| activity.id.as_str())
            .collect();
        match resolve_id(self.kb, &ids, "activity", reference) {
            Ok(index) => Resolution::Found(index),
            Err(unresolved) => Resolution::Unknown(unresolved),
        }
    }

    fn system_properties(&self) -> BTreeMap<&str, &PropertyDefinition> {
        self.kb
            .system_properties
            .iter()
            .map(|(name, property)| (name.as_str(), &property.definition))
            .collect()
    }
}

/// Finds `reference` (qualified, or a local id) among the qualified `ids` of a kind.
pub fn resolve_id(
    kb: &KnowledgeBase,
    ids: &[&str],
    kind: &str,
    reference: &str,
) -> Result<usize, Unresolved> {
    let words = kind.replace('-', " ");
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    if reference.contains(':') {
        return ids
            .iter()
            .position(|id| *id == reference)
            .ok_or_else(|| Unresolved {
                message: format!("unknown {words} `{reference}`"),
                label: format!("not {article} {words} of `{}` {}", kb.pack, kb.version),
                help: suggestion(ids, reference),
            });
    }
    let suffix = format!(":{kind}/{reference}");
    let candidates: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| id.ends_with(&suffix))
        .map(|(index, _)| index)
        .collect();
    let own = format!("{}{suffix}", kb.pack);
    if let Some(index) = candidates.iter().find(|index| ids[**index] == own) {
        return Ok(*index);
    }
    match candidates.as_slice() {
        [index] => Ok(*index),
        [] => Err(Unresolved {
            message: format!("unknown {words} `{reference}`"),
            label: format!(
                "not {article} {words} of `{}` {} or its dependencies",
                kb.pack, kb.version
            ),
            help: suggestion(ids, reference),
        }),
        several => Err(Unresolved {
            message: format!(
                "`{reference}` names {} {}",
                several.len(),
                match words.strip_suffix('y') {
                    Some(stem) => format!("{stem}ies"),
                    None => format!("{words}s"),
                }
            ),
            label: "ambiguous".to_string(),
            help: format!(
                "qualify it: {}",
                several
                    .iter()
                    .map(|index| format!("`{}`", ids[*index]))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }),
    }
}

fn suggestion(ids: &[&str], reference: &str) -> String {
    let local = |id: &str| -> String { id.rsplit('/').next().unwrap_or(id).to_string() };
    let wanted = local(reference);
    let locals: Vec<String> = ids.iter().map(|id| local(id)).collect();
    match crate::schema::suggest(&wanted, locals.iter().map(String::as_str)) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => "`threatpack inspect` lists the ids of a bundle".to_string(),
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|name| format!("`{name}`")).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Whether a model read by the JSON fast path (`json::read`, which took only fields, shapes and
/// plain values the schema allows) satisfies the rest of schema/model.schema.json: id,
/// reference and property-name patterns, non-empty texts, unique lists. When it does not,
/// `load_model` reads the file again with the schema, whose diagnostics report the problem.
pub fn fits_schema(model: &FlatModel) -> bool {
    let values_fit = |values: &BTreeMap<String, Json>| values.values().all(is_plain_value);
    // Kinds are words of the model: each checked once.
    let mut kinds_fit: Vec<Option<bool>> = vec![None; model.word_count()];
    model.info.as_ref().is_none_or(|info| !info.name.is_empty())
        && model.system.keys().all(|name| is_system_name(name))
        && values_fit(&model.system)
        && model.plain_values_only()
        && model.elements().all(|element| {
            is_element_id(element.id)
                && *kinds_fit[element.kind_word]
                    .get_or_insert_with(|| is_item_ref(element.kind, "entity"))
                && element
                    .ends()
                    .is_none_or(|(source, target)| is_element_id(source) && is_element_id(target))
                && element.members().all(is_element_id)
                && (element.role != Role::Boundary
                    || all_unique(&element.members().collect::<Vec<_>>()))
        })
        && model.mitigation_status.iter().all(|entry| {
            is_item_ref(&entry.mitigation, "mitigation")
                && entry.at.iter().all(|element| is_element_id(element))
                && all_unique(&entry.at)
        })
        && model.story.iter().all(|story| {
            is_element_id(&story.id)
                && !story.text.is_empty()
                && story.without.iter().all(|clause| {
                    !clause.text.is_empty()
                        && all_unique(&clause.threats)
                        && clause.threats.iter().all(|threat| {
                            let (pattern, element) = match threat.split_once('@') {
                                Some((pattern, element)) => (pattern, Some(element)),
                                None => (threat.as_str(), None),
                            };
                            is_item_ref(pattern, "attack-pattern")
                                && element.is_none_or(is_element_id)
                        })
                })
        })
}

/// `#/$defs/value`: a bool, an integer, a string, or a list of strings.
fn is_plain_value(value: &Json) -> bool {
    match value {
        Json::Bool(_) | Json::String(_) => true,
        Json::Number(number) => number.is_i64() || number.is_u64(),
        Json::Array(items) => items.iter().all(Json::is_string),
        Json::Null | Json::Object(_) => false,
    }
}

fn all_unique(items: &[impl AsRef<str>]) -> bool {
    let mut seen: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    seen.sort_unstable();
    seen.windows(2).all(|pair| pair[0] != pair[1])
}

/// `^[a-z][a-z0-9_]*$`: a system property name.
fn is_system_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'_')
}

/// `[a-z][a-z0-9]*(-[a-z0-9]+)*`: an item id, a namespace or a pack name.
fn is_slug(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase)
        && text.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        })
}

/// `ID` or `NAMESPACE/PACK:KIND/ID` (common.schema.json's `*-ref`).
fn is_item_ref(reference: &str, kind: &str) -> bool {
    match reference.split_once(':') {
        None => is_slug(reference),
        Some((pack, item)) => {
            pack.split_once('/')
                .is_some_and(|(namespace, name)| is_slug(namespace) && is_slug(name))
                && item
                    .strip_prefix(kind)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(is_slug)
        }
    }
}

/// `^[a-z][a-z0-9]*([-_][a-z0-9]+)*$`, at most 64 characters (schema/model.schema.json): one
/// pass, since a model may hold 30,000 ids and more references.
fn is_element_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    if bytes.len() > 64 || !bytes.first().is_some_and(u8::is_ascii_lowercase) {
        return false;
    }
    let mut after_separator = false;
    for byte in &bytes[1..] {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' => after_separator = false,
            b'-' | b'_' if !after_separator => after_separator = true,
            _ => return false,
        }
    }
    !after_separator
}

/// Whether `text` is a calendar date `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    text.len() == 10
        && crate::time::parse_rfc3339(&format!("{text}T00:00:00Z"))
            .is_some_and(|unix| crate::time::format_rfc3339(unix).starts_with(text))
}

#[cfg(test)]
mod tests {
    use super::{is_element_id, is_item_ref, is_system_name};

    #[test]
    fn element_ids_follow_the_schema_pattern() {
        for good in ["a", "shop", "web-shop", "db_1", "a1-b2_c3"] {
            assert!(is_element_id(good), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "1a",
            "Shop",
            "a-",
            "a--b",
            "a_-b",
            "-a",
            "a b",
            "é",
            long.as_str(),
        ] {
            assert!(!is_element_id(bad), "{bad}");
        }
    }

    #[test]
    fn references_follow_the_schema_pattern() {
        for good in ["web-api", "a1", "acme/web:entity/web-api"] {
            assert!(is_item_ref(good, "entity"), "{good}");
        }
        for bad in [
            "",
            "Web",
            "web_api",
            "web-",
            "acme:entity/web",
            "acme/web:mitigation/web",
            "acme/web:entity/",
            "acme/Web:entity/web",
        ] {
            assert!(!is_item_ref(bad, "entity"), "{bad}");
        }
        assert!(is_system_name("handles_pii2"));
        assert!(!is_system_name("Handles"));
        assert!(!is_system_name("handles-pii"));
    }
}
