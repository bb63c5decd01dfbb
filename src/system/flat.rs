//! A system model laid out flat, as validation and binding read it: every string in one text,
//! elements in one table (components, flows, boundaries), property values in another, kinds and
//! property names interned. A JSON model is read straight into it (`json`); a model read any
//! other way (TOML, Open Threat Model, a pack test) is converted from the typed `Model`.
//!
//! A model of 30,000 elements is then a handful of allocations instead of a map and a string
//! per property, so reading and binding it take milliseconds.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::model::{
    ActivityDone, MitigationStatus, Model, ModelBoundary, ModelElement, ModelFlow, ModelInfo,
    OutOfScope, PropertyValue, Story, TextList, TextRange,
};

use super::validate::Role;

/// A system model, flat. Built by `FlatModel::from_model` or `json::read`.
#[derive(Debug, Clone, Default)]
pub struct FlatModel {
    pub info: Option<ModelInfo>,
    pub system: BTreeMap<String, Json>,
    pub mitigation_status: Vec<MitigationStatus>,
    pub story: Vec<Story>,
    pub activity_done: Vec<ActivityDone>,
    /// Every string of the elements, one after the other.
    text: String,
    /// Kinds and property names, each once.
    words: Vec<TextRange>,
    elements: Vec<FlatElement>,
    /// Boundary members.
    members: Vec<TextRange>,
    properties: Vec<(u32, FlatValue)>,
    /// The strings of list values.
    items: Vec<TextRange>,
    /// Values of no plain shape (kept for validation to describe; only a model read from a
    /// typed `Model` has them: the JSON reader refuses them and leaves them to the schema).
    others: Vec<Json>,
    components: usize,
    flows: usize,
    boundaries: usize,
}

#[derive(Debug, Clone)]
struct FlatElement {
    role: Role,
    position: u32,
    id: TextRange,
    name: Option<TextRange>,
    description: Option<TextRange>,
    kind: u32,
    /// Flows: source and target.
    ends: Option<(TextRange, TextRange)>,
    /// Boundaries: a range of `members`.
    members: (u32, u32),
    /// A range of `properties`, in the order written.
    properties: (u32, u32),
    /// Out of scope, with the reason (an empty range when none was given).
    out_of_scope: Option<TextRange>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum FlatValue {
    Bool(bool),
    Int(i64),
    String(TextRange),
    /// A range of `items`.
    List(u32, u32),
    /// An index into `others`.
    Other(u32),
}

/// One element of a flat model.
#[derive(Debug, Clone, Copy)]
pub struct ElementRef<'m> {
    pub role: Role,
    /// Its index in its table (`[[component]]` number).
    pub position: usize,
    pub id: &'m str,
    pub name: Option<&'m str>,
    pub kind: &'m str,
    /// The kind as a word of the model (`FlatModel::word_count`): equal kinds, equal words.
    pub kind_word: usize,
    model: &'m FlatModel,
    element: &'m FlatElement,
}

impl<'m> ElementRef<'m> {
    /// A flow's source and target.
    pub fn ends(&self) -> Option<(&'m str, &'m str)> {
        let text = &self.model.text;
        self.element
            .ends
            .map(|(source, target)| (source.of(text), target.of(text)))
    }

    /// Out of scope: the reason (`""` when none was given); `None` when in scope.
    pub fn out_of_scope(&self) -> Option<&'m str> {
        self.element
            .out_of_scope
            .map(|reason| reason.of(&self.model.text))
    }

    /// A boundary's members (empty for other elements).
    pub fn members(&self) -> impl Iterator<Item = &'m str> + use<'m> {
        let text = self.model.text.as_str();
        let (start, end) = self.element.members;
        self.model.members[start as usize..end as usize]
            .iter()
            .map(move |member| member.of(text))
    }

    /// Its property values as written: the name's word (`FlatModel::word_count`), the name,
    /// the value.
    pub fn properties(
        &self,
    ) -> impl Iterator<Item = (usize, &'m str, PropertyValue<'m>)> + use<'m> {
        let model = self.model;
        let (start, end) = self.element.properties;
        model.properties[start as usize..end as usize]
            .iter()
            .map(move |(word, value)| {
                (
                    *word as usize,
                    model.word(*word as usize),
                    model.value(*value),
                )
            })
    }
}

impl FlatModel {
    /// Every element, in the order validation and the engine number them: components, flows,
    /// boundaries.
    pub fn elements(&self) -> impl Iterator<Item = ElementRef<'_>> {
        self.elements.iter().map(|element| ElementRef {
            role: element.role,
            position: element.position as usize,
            id: element.id.of(&self.text),
            name: element.name.map(|name| name.of(&self.text)),
            kind: self.word(element.kind as usize),
            kind_word: element.kind as usize,
            model: self,
            element,
        })
    }

    pub fn components(&self) -> usize {
        self.components
    }

    pub fn flows(&self) -> usize {
        self.flows
    }

    pub fn boundaries(&self) -> usize {
        self.boundaries
    }

    /// Whether every property value is plain (a bool, an integer, a string or a list of
    /// strings): always so for a model the JSON reader read.
    pub fn plain_values_only(&self) -> bool {
        self.others.is_empty()
    }

    /// How many distinct kinds and property names the model holds (words are numbered from 0).
    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// The text of a word.
    pub fn word(&self, word: usize) -> &str {
        self.words
            .get(word)
            .map_or("", |range| range.of(&self.text))
    }

    fn value(&self, value: FlatValue) -> PropertyValue<'_> {
        match value {
            FlatValue::Bool(boolean) => PropertyValue::Bool(boolean),
            FlatValue::Int(integer) => PropertyValue::Int(integer),
            FlatValue::String(range) => PropertyValue::String(range.of(&self.text)),
            FlatValue::List(start, end) => PropertyValue::List(TextList {
                text: &self.text,
                items: &self.items[start as usize..end as usize],
            }),
            FlatValue::Other(index) => match self.others.get(index as usize) {
                Some(json) => PropertyValue::Json(json),
                None => PropertyValue::Json(&Json::Null),
            },
        }
    }

    /// The flat form of a typed model.
    pub fn from_model(model: &Model) -> FlatModel {
        let mut builder = Builder::default();
        for component in &model.component {
            let ModelElement {
                id,
                name,
                description,
                kind,
                properties,
                out_of_scope,
            } = component;
            builder.typed_element(
                Role::Component,
                [id, kind],
                [name, description],
                None,
                &[],
                properties,
                out_of_scope,
            );
        }
        for flow in &model.flow {
            let ModelFlow {
                id,
                name,
                description,
                kind,
                source,
                target,
                properties,
                out_of_scope,
            } = flow;
            builder.typed_element(
                Role::Flow,
                [id, kind],
                [name, description],
                Some((source, target)),
                &[],
                properties,
                out_of_scope,
            );
        }
        for boundary in &model.boundary {
            let ModelBoundary {
                id,
                name,
                description,
                kind,
                contains,
                properties,
                out_of_scope,
            } = boundary;
            builder.typed_element(
                Role::Boundary,
                [id, kind],
                [name, description],
                None,
                contains,
                properties,
                out_of_scope,
            );
        }
        let mut flat = builder.finish();
        flat.info = model.model.clone();
        flat.system = model.system.clone();
        flat.mitigation_status = model.mitigation_status.clone();
        flat.story = model.story.clone();
        flat.activity_done = model.activity_done.clone();
        flat
    }

    /// The typed model this flat one holds (properties sorted by name, as in `Model`).
    pub fn to_model(&self) -> Model {
        let mut model = Model {
            model: self.info.clone(),
            system: self.system.clone(),
            mitigation_status: self.mitigation_status.clone(),
            story: self.story.clone(),
            activity_done: self.activity_done.clone(),
            ..Model::default()
        };
        for (element, flat) in self.elements().zip(&self.elements) {
            let properties: BTreeMap<String, Json> = element
                .properties()
                .map(|(_, name, value)| (name.to_string(), value_to_json(value)))
                .collect();
            let id = element.id.to_string();
            let name = element.name.map(str::to_string);
            let description = flat.description.map(|text| text.of(&self.text).to_string());
            let kind = element.kind.to_string();
            let out_of_scope = element.out_of_scope().map(|reason| match reason {
                "" => OutOfScope::Flag(true),
                reason => OutOfScope::Reason(reason.to_string()),
            });
            match element.role {
                Role::Component => model.component.push(ModelElement {
                    id,
                    name,
                    description,
                    kind,
                    properties,
                    out_of_scope,
                }),
                Role::Flow => {
                    let (source, target) = element.ends().unwrap_or_default();
                    model.flow.push(ModelFlow {
                        id,
                        name,
                        description,
                        kind,
                        source: source.to_string(),
                        target: target.to_string(),
                        properties,
                        out_of_scope,
                    });
                }
                Role::Boundary => model.boundary.push(ModelBoundary {
                    id,
                    name,
                    description,
                    kind,
                    contains: element.members().map(str::to_string).collect(),
                    properties,
                    out_of_scope,
                }),
            }
        }
        model
    }
}

fn value_to_json(value: PropertyValue<'_>) -> Json {
    match value {
        PropertyValue::Bool(boolean) => Json::Bool(boolean),
        PropertyValue::Int(integer) => Json::from(integer),
        PropertyValue::String(text) => Json::from(text),
        PropertyValue::List(items) => Json::Array(items.iter().map(Json::from).collect()),
        PropertyValue::Json(json) => json.clone(),
    }
}

/// Builds a `FlatModel` element by element (the JSON reader drives it as it reads).
#[derive(Debug, Default)]
pub(crate) struct Builder {
    flat: FlatModel,
    word_index: HashMap<Box<str>, u32>,
    /// Words recently seen (plus one; 0: none), by a cheap hash of their text: the same names
    /// come element after element, and this spares hashing each with the map's hasher.
    recent_words: Vec<u32>,
    /// Per word, the number (plus one) of the last element that set it: a name given twice
    /// in one element is seen without a set per element.
    last_set_by: Vec<u32>,
}

impl Builder {
    pub(crate) fn text(&mut self, text: &str) -> TextRange {
        let start = self.flat.text.len() as u32;
        self.flat.text.push_str(text);
        TextRange {
            start,
            end: self.flat.text.len() as u32,
        }
    }

    pub(crate) fn word(&mut self, text: &str) -> u32 {
        const RECENT: usize = 1024;
        if self.recent_words.is_empty() {
            self.recent_words = vec![0; RECENT];
        }
        let recent = quick_hash(text) as usize % RECENT;
        if let Some(word) = self.recent_words[recent].checked_sub(1)
            && self.flat.word(word as usize) == text
        {
            return word;
        }
        if let Some(word) = self.word_index.get(text) {
            self.recent_words[recent] = word + 1;
            return *word;
        }
        let word = self.flat.words.len() as u32;
        let range = self.text(text);
        self.flat.words.push(range);
        self.last_set_by.push(0);
        self.word_index.insert(text.into(), word);
        self.recent_words[recent] = word + 1;
        word
    }

    pub(crate) fn item(&mut self, range: TextRange) {
        self.flat.items.push(range);
    }

    pub(crate) fn items_len(&self) -> u32 {
        self.flat.items.len() as u32
    }

    pub(crate) fn member(&mut self, range: TextRange) {
        self.flat.members.push(range);
    }

    pub(crate) fn members_len(&self) -> u32 {
        self.flat.members.len() as u32
    }

    pub(crate) fn properties_len(&self) -> u32 {
        self.flat.properties.len() as u32
    }

    /// Adds a property value of the element being read; false when that element already set
    /// the name.
    pub(crate) fn property(&mut self, word: u32, value: FlatValue) -> bool {
        let element = self.flat.elements.len() as u32 + 1;
        let last = &mut self.last_set_by[word as usize];
        if *last == element {
            return false;
        }
        *last = element;
        self.flat.properties.push((word, value));
        true
    }

    /// Adds an element whose properties (`properties`) and members were added since the
    /// previous one.
    #[expect(clippy::too_many_arguments, reason = "the fields of one element")]
    pub(crate) fn element(
        &mut self,
        role: Role,
        id: TextRange,
        kind: u32,
        name: Option<TextRange>,
        description: Option<TextRange>,
        ends: Option<(TextRange, TextRange)>,
        members: (u32, u32),
        properties: (u32, u32),
        out_of_scope: Option<TextRange>,
    ) {
        let count = match role {
            Role::Component => &mut self.flat.components,
            Role::Flow => &mut self.flat.flows,
            Role::Boundary => &mut self.flat.boundaries,
        };
        let position = *count as u32;
        *count += 1;
        self.flat.elements.push(FlatElement {
            role,
            position,
            id,
            name,
            description,
            kind,
            ends,
            members,
            properties,
            out_of_scope,
        });
    }

    pub(crate) fn model(&mut self) -> &mut FlatModel {
        &mut self.flat
    }

    pub(crate) fn finish(mut self) -> FlatModel {
        // Elements are numbered components, flows, boundaries, whatever order a file lists
        // the tables in (each element keeps its own ranges, so moving it moves nothing else).
        let table = |element: &FlatElement| match element.role {
            Role::Component => 0,
            Role::Flow => 1,
            Role::Boundary => 2,
        };
        if !self.flat.elements.is_sorted_by_key(table) {
            self.flat.elements.sort_by_key(table);
        }
        self.flat
    }

    #[expect(clippy::too_many_arguments, reason = "the fields of one element")]
    fn typed_element(
        &mut self,
        role: Role,
        [id, kind]: [&String; 2],
        [name, description]: [&Option<String>; 2],
        ends: Option<(&String, &String)>,
        contains: &[String],
        properties: &BTreeMap<String, Json>,
        out_of_scope: &Option<OutOfScope>,
    ) {
        let id = self.text(id);
        let kind = self.word(kind);
        let name = name.as_deref().map(|name| self.text(name));
        let description = description
            .as_deref()
            .map(|description| self.text(description));
        let ends = ends.map(|(source, target)| (self.text(source), self.text(target)));
        let members_start = self.members_len();
        for member in contains {
            let range = self.text(member);
            self.member(range);
        }
        let members = (members_start, self.members_len());
        let properties_start = self.properties_len();
        for (name, json) in properties {
            let word = self.word(name);
            let value = match PropertyValue::of_json(json) {
                PropertyValue::Bool(boolean) => FlatValue::Bool(boolean),
                PropertyValue::Int(integer) => FlatValue::Int(integer),
                PropertyValue::String(text) => FlatValue::String(self.text(text)),
                _ => match json.as_array() {
                    Some(items) if items.iter().all(Json::is_string) => {
                        let start = self.items_len();
                        for item in items.iter().filter_map(Json::as_str) {
                            let range = self.text(item);
                            self.item(range);
                        }
                        FlatValue::List(start, self.items_len())
                    }
                    _ => {
                        self.flat.others.push(json.clone());
                        FlatValue::Other(self.flat.others.len() as u32 - 1)
                    }
                },
            };
            // A map holds each name once.
            self.property(word, value);
        }
        let properties = (properties_start, self.properties_len());
        let out_of_scope = out_of_scope
            .as_ref()
            .and_then(OutOfScope::reason)
            .map(|reason| self.text(reason));
        self.element(
            role,
            id,
            kind,
            name,
            description,
            ends,
            members,
            properties,
            out_of_scope,
        );
    }
}

/// A hash of a property name or kind from its length and its first and last 8 bytes: a few
/// instructions whatever the length (names share long prefixes, `implements_…`, and differ at
/// either end). A collision only costs a lookup in `word_index`, whose hasher resists chosen
/// collisions.
fn quick_hash(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let word = |part: &[u8]| {
        let mut padded = [0u8; 8];
        padded[..part.len()].copy_from_slice(part);
        u64::from_le_bytes(padded)
    };
    let head = word(&bytes[..bytes.len().min(8)]);
    let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
    let mixed =
        (head ^ tail.rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 40) as u32
}
