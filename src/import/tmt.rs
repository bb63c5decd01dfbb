//! Microsoft Threat Modeling Tool templates (`.tb7`) to a pack: element types as entities with
//! their hierarchy, attributes as enum properties, threat types as attack patterns whose
//! generation filters become CEL conditions over the flow (docs/interop.md#threat-modeling-tool).
//!
//! The filter language (`Filter`) is shared with the exporter (src/export/tmt.rs), which
//! writes filters back from CEL.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::mapping::{Mapping, key};
use super::pack::{AttackPattern, Attribution, Entity, Link, Mitigation, Pack};
use super::{Built, ImportError, Notes, text};
use crate::model::{Cost, ElementKind, PropertyDefinition, PropertyType, References, Status};

/// Elements an XML input may have: Microsoft's own templates have about 20,000 nodes.
pub(crate) const XML_NODES_LIMIT: u32 = 1_000_000;
/// The longest generation filter read; longer ones are reported, not parsed.
const MAX_FILTER_BYTES: usize = 16 * 1024;
/// How deeply a filter may nest parentheses and `not`.
const MAX_FILTER_DEPTH: usize = 48;
/// The property that holds an element's Threat Modeling Tool type (its element type ID):
/// `target is 'X'` reads it. Each entity declares it with its own type as the default.
pub(crate) const TYPE_PROPERTY: &str = "tmt_type";
/// The single tier of an imported template.
const TIER: &str = "template";

/// A generation filter (`Include` or `Exclude` of a threat type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    /// `source is 'GE.P'`: the element's type is this one or descends from it.
    Is(Subject, String),
    /// `flow crosses 'GE.TB.B'`.
    Crosses(String),
    /// `target.Attribute is 'Value'`.
    Attribute(Subject, String, String),
}

/// What a filter test is about: the flow's two ends, or the flow itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Subject {
    Source,
    Target,
    Flow,
}

impl Subject {
    fn word(self) -> &'static str {
        match self {
            Subject::Source => "source",
            Subject::Target => "target",
            Subject::Flow => "flow",
        }
    }

    /// The CEL variable: `self` is the flow.
    fn variable(self) -> &'static str {
        match self {
            Subject::Source => "source",
            Subject::Target => "target",
            Subject::Flow => "self",
        }
    }
}

impl Filter {
    /// The filter in the template's syntax.
    pub(crate) fn to_tmt(&self) -> String {
        self.write(0)
    }

    /// `level`: 0 at the top or inside `or`, 1 inside `and`, 2 inside `not`.
    fn write(&self, level: u8) -> String {
        let quote = |text: &str| format!("'{text}'");
        match self {
            Filter::Or(items) => {
                let text = items
                    .iter()
                    .map(|item| item.write(0))
                    .collect::<Vec<_>>()
                    .join(" or ");
                if level > 0 { format!("({text})") } else { text }
            }
            Filter::And(items) => {
                let text = items
                    .iter()
                    .map(|item| item.write(1))
                    .collect::<Vec<_>>()
                    .join(" and ");
                if level > 1 { format!("({text})") } else { text }
            }
            Filter::Not(inner) => format!("not {}", inner.write(2)),
            Filter::Is(subject, id) => format!("{} is {}", subject.word(), quote(id)),
            Filter::Crosses(id) => format!("flow crosses {}", quote(id)),
            Filter::Attribute(subject, name, value) => {
                format!("{}.{name} is {}", subject.word(), quote(value))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
    Text(String),
}

fn tokens(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut characters = filter.chars().peekable();
    while let Some(&character) = characters.peek() {
        match character {
            c if c.is_whitespace() => {
                characters.next();
            }
            '(' => {
                characters.next();
                tokens.push(Token::Open);
            }
            ')' => {
                characters.next();
                tokens.push(Token::Close);
            }
            '\'' | '"' => {
                characters.next();
                let mut text = String::new();
                loop {
                    match characters.next() {
                        Some(c) if c == character => break,
                        Some(c) => text.push(c),
                        None => return Err("a quoted value is not closed".to_string()),
                    }
                }
                tokens.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = characters.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '\'' | '"') {
                        break;
                    }
                    word.push(c);
                    characters.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// Parses a generation filter. Keywords are case-insensitive; `not` binds tighter than `and`,
/// which binds tighter than `or`.
pub(crate) fn parse_filter(filter: &str) -> Result<Filter, String> {
    if filter.len() > MAX_FILTER_BYTES {
        return Err(format!("longer than {MAX_FILTER_BYTES} bytes"));
    }
    let tokens = tokens(filter)?;
    let mut parser = Parser {
        tokens,
        position: 0,
    };
    let parsed = parser.or(0)?;
    match parser.tokens.get(parser.position) {
        None => Ok(parsed),
        Some(token) => Err(format!(
            "unexpected {} after a complete filter",
            describe(token)
        )),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "`(`".to_string(),
        Token::Close => "`)`".to_string(),
        Token::Word(word) => format!("`{word}`"),
        Token::Text(text) => format!("'{text}'"),
    }
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.position), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize) -> Result<Filter, String> {
        let mut items = vec![self.and(depth)?];
        while self.keyword("or") {
            self.position += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Filter, String> {
        let mut items = vec![self.unary(depth)?];
        while self.keyword("and") {
            self.position += 1;
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, String> {
        if depth > MAX_FILTER_DEPTH {
            return Err(format!("nested more than {MAX_FILTER_DEPTH} levels deep"));
        }
        if self.keyword("not") {
            self.position += 1;
            return Ok(Filter::Not(Box::new(self.unary(depth + 1)?)));
        }
        match self.tokens.get(self.position).cloned() {
            Some(Token::Open) => {
                self.position += 1;
                let inner = self.or(depth + 1)?;
                match self.tokens.get(self.position) {
                    Some(Token::Close) => {
                        self.position += 1;
                        Ok(inner)
                    }
                    _ => Err("a `(` is not closed".to_string()),
                }
            }
            Some(Token::Word(word)) => {
                self.position += 1;
                self.test(&word)
            }
            Some(token) => Err(format!("unexpected {}", describe(&token))),
            None => Err("the filter ends where a test was expected".to_string()),
        }
    }

    fn test(&mut self, word: &str) -> Result<Filter, String> {
        let (head, attribute) = match word.split_once('.') {
            Some((head, attribute)) => (head, Some(attribute)),
            None => (word, None),
        };
        let subject = match head.to_ascii_lowercase().as_str() {
            "source" => Subject::Source,
            "target" => Subject::Target,
            "flow" => Subject::Flow,
            _ => {
                return Err(format!(
                    "`{word}` is not `source`, `target` or `flow` (or one of their attributes)"
                ));
            }
        };
        let operator = match self.tokens.get(self.position) {
            Some(Token::Word(operator)) => operator.to_ascii_lowercase(),
            Some(token) => {
                return Err(format!(
                    "expected `is` after `{word}`, found {}",
                    describe(token)
                ));
            }
            None => return Err(format!("the filter ends after `{word}`")),
        };
        self.position += 1;
        let value = match self.tokens.get(self.position) {
            Some(Token::Text(value)) => value.clone(),
            _ => return Err(format!("expected a quoted value after `{word} {operator}`")),
        };
        self.position += 1;
        match (operator.as_str(), attribute) {
            ("is", None) => Ok(Filter::Is(subject, value)),
            ("is", Some(attribute)) if !attribute.is_empty() => {
                Ok(Filter::Attribute(subject, attribute.to_string(), value))
            }
            ("crosses", None) if subject == Subject::Flow => Ok(Filter::Crosses(value)),
            _ => Err(format!(
                "`{word} {operator}` is not a test the importer knows"
            )),
        }
    }
}

/// A CEL string literal.
pub(crate) fn cel_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

// ---------------------------------------------------------------------------------------------
// The template.

struct Template {
    name: String,
    id: String,
    version: String,
    author: String,
    types: Vec<ElementType>,
    /// Threat category Id ("S") to name ("Spoofing").
    categories: BTreeMap<String, String>,
    threats: Vec<ThreatType>,
}

struct ElementType {
    id: String,
    name: String,
    description: String,
    parent: Option<String>,
    representation: String,
    attributes: Vec<Attribute>,
}

struct Attribute {
    name: String,
    display: String,
    kind: String,
    values: Vec<String>,
}

#[derive(Default)]
struct ThreatType {
    id: String,
    title: String,
    category: String,
    description: String,
    include: String,
    exclude: String,
    /// Properties by name (Priority, PossibleMitigations, ...): the first value of each.
    properties: BTreeMap<String, String>,
}

fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    child(node, name)
        .and_then(|child| child.text())
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn elements<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

/// Parses the template's XML: no DTD (so no entity expansion), a node limit.
pub(crate) fn parse_xml(input: &str) -> Result<roxmltree::Document<'_>, ImportError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: XML_NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(input, options).map_err(|error| {
        ImportError::Malformed(format!(
            "not a well-formed Threat Modeling Tool template: {error}; give the .tb7 file as the tool saves it (XML, no DTD)"
        ))
    })
}

fn read_template(input: &[u8], notes: &mut Notes) -> Result<Template, ImportError> {
    // The tool writes UTF-8, sometimes with a byte order mark.
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text_input = std::str::from_utf8(input).map_err(|error| {
        ImportError::Malformed(format!(
            "the template is not UTF-8 ({error}); the Threat Modeling Tool saves templates in UTF-8"
        ))
    })?;
    let document = parse_xml(text_input)?;
    let root = document.root_element();
    if root.tag_name().name() != "KnowledgeBase" {
        return Err(ImportError::Malformed(format!(
            "not a Threat Modeling Tool template: the root element is `{}`, not `KnowledgeBase`",
            root.tag_name().name()
        )));
    }
    let manifest = child(root, "Manifest");
    let attribute = |name: &str| {
        manifest
            .and_then(|node| node.attribute(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let mut template = Template {
        name: attribute("name"),
        id: attribute("id"),
        version: attribute("version"),
        author: attribute("author"),
        types: Vec::new(),
        categories: BTreeMap::new(),
        threats: Vec::new(),
    };
    for section in root.children().filter(|node| node.is_element()) {
        match section.tag_name().name() {
            "Manifest" => {}
            "ThreatMetaData" => notes.add(
                "the template's threat property definitions (ThreatMetaData) are not part of a pack; the properties a pack has a place for are read from each threat type",
                "ThreatMetaData",
            ),
            "GenericElements" | "StandardElements" => {
                for node in elements(section, "ElementType") {
                    template.types.push(element_type(node, notes));
                }
            }
            "ThreatCategories" => {
                for node in elements(section, "ThreatCategory") {
                    template
                        .categories
                        .insert(child_text(node, "Id"), child_text(node, "Name"));
                }
            }
            "ThreatTypes" => {
                for node in elements(section, "ThreatType") {
                    template.threats.push(threat_type(node));
                }
            }
            other => notes.add("template sections of this kind are not part of a pack", other),
        }
    }
    Ok(template)
}

fn element_type(node: roxmltree::Node<'_, '_>, notes: &mut Notes) -> ElementType {
    let id = child_text(node, "ID");
    let parent = Some(child_text(node, "ParentElement"))
        .filter(|parent| !parent.is_empty() && !parent.eq_ignore_ascii_case("ROOT"));
    let mut attributes = Vec::new();
    if let Some(list) = child(node, "Attributes") {
        for attribute in elements(list, "Attribute") {
            attributes.push(Attribute {
                name: child_text(attribute, "Name"),
                display: child_text(attribute, "DisplayName"),
                kind: child_text(attribute, "Type"),
                values: child(attribute, "AttributeValues")
                    .map(|values| {
                        elements(values, "Value")
                            .map(|value| value.text().unwrap_or_default().trim().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    if !child_text(node, "Image").is_empty() {
        notes.add(
            "stencil images and drawing settings (Image, StrokeThickness, ImageLocation) have no place in a pack",
            id.clone(),
        );
    }
    if child(node, "StencilConstraints").is_some_and(|constraints| {
        elements(constraints, "StencilConstraint").any(|constraint| {
            child_text(constraint, "SelectedStencilType") != "Any"
                || child_text(constraint, "SelectedStencilConnection") != "Any"
        })
    }) {
        notes.add(
            "stencil constraints (which elements may connect) have no place in a pack",
            id.clone(),
        );
    }
    ElementType {
        name: child_text(node, "Name"),
        description: child_text(node, "Description"),
        representation: child_text(node, "Representation"),
        parent,
        attributes,
        id,
    }
}

fn threat_type(node: roxmltree::Node<'_, '_>) -> ThreatType {
    let filters = child(node, "GenerationFilters");
    let filter = |name: &str| filters.map(|f| child_text(f, name)).unwrap_or_default();
    let mut properties = BTreeMap::new();
    if let Some(list) = child(node, "PropertiesMetaData") {
        for datum in elements(list, "ThreatMetaDatum") {
            let value = child(datum, "Values")
                .and_then(|values| elements(values, "Value").find_map(|value| value.text()))
                .unwrap_or_default()
                .trim()
                .to_string();
            if !value.is_empty() {
                properties.insert(child_text(datum, "Name"), value);
            }
        }
    }
    ThreatType {
        id: child_text(node, "Id"),
        title: child_text(node, "ShortTitle"),
        category: child_text(node, "Category"),
        description: child_text(node, "Description"),
        include: filter("Include"),
        exclude: filter("Exclude"),
        properties,
    }
}

// ---------------------------------------------------------------------------------------------
// Element types as entities.

/// The element types that became entities, and what filters need to know of them.
struct Types {
    /// Element type ID to its entity.
    entities: BTreeMap<String, TypeEntity>,
    /// Attribute name to its property.
    attributes: BTreeMap<String, AttributeProperty>,
}

struct TypeEntity {
    entity: String,
    kind: ElementKind,
    /// `/ROOT/.../ID/`: the type and its ancestors, what `tmt_type` holds.
    path: String,
    /// The type and its descendants, by ID.
    descendants: BTreeSet<String>,
}

struct AttributeProperty {
    property: String,
    /// The template's value to the property's.
    values: BTreeMap<String, String>,
    /// Element type IDs declaring it.
    declared_by: BTreeSet<String>,
    /// Attack patterns (threat types) whose filters read it.
    read_by: BTreeSet<String>,
}

fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(position, character)| {
            if matches!(position, 8 | 13 | 18 | 23) {
                character == '-'
            } else {
                character.is_ascii_hexdigit()
            }
        })
}

/// `ShowAzureServiceThreat` as `show_azure_service_threat`.
fn snake_case(text: &str) -> String {
    // CamelCase names are split at their humps (`CosmosDBFirewall`: cosmos, db, firewall);
    // display names with spaces only at spaces.
    let camel = !text.contains(char::is_whitespace);
    let characters: Vec<char> = text.chars().collect();
    let mut name = String::new();
    for (at, character) in characters.iter().enumerate() {
        if character.is_ascii_alphanumeric() {
            let previous = at.checked_sub(1).map(|before| characters[before]);
            let next = characters.get(at + 1);
            let hump = character.is_ascii_uppercase()
                && (previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                    || (previous.is_some_and(|p| p.is_ascii_uppercase())
                        && next.is_some_and(|n| n.is_ascii_lowercase())));
            if camel && hump && !name.is_empty() && !name.ends_with('_') {
                name.push('_');
            }
            name.push(character.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('_') {
            name.push('_');
        }
    }
    let mut name = name.trim_end_matches('_').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("attribute_{name}");
    }
    name.truncate(64);
    name.trim_end_matches('_').to_string()
}

/// A template value as an enum value: `Not Applicable` as `not-applicable`.
pub(crate) fn value_slug(value: &str) -> String {
    let mut slug = String::new();
    for character in value.chars() {
        let character = character.to_ascii_lowercase();
        if character.is_ascii_alphanumeric() || character == '.' {
            slug.push(character);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches(|c| c == '-' || c == '.').to_string();
    if slug.is_empty() {
        "empty".to_string()
    } else {
        slug
    }
}

fn build_types(
    template: &Template,
    mapping: &Mapping,
    used: &mut BTreeSet<String>,
    notes: &mut Notes,
    defaults: &mut Notes,
) -> Types {
    let mut by_id: BTreeMap<&str, &ElementType> = BTreeMap::new();
    for element in &template.types {
        if element.id.is_empty() {
            notes.add(
                "an element type without an ID was left out",
                element.name.clone(),
            );
        } else if element.representation.eq_ignore_ascii_case("Annotation") {
            notes.add(
                "annotations are not elements of a data-flow diagram",
                element.id.clone(),
            );
        } else if by_id.insert(&element.id, element).is_some() {
            notes.add(
                "a second element type with the same ID was left out",
                element.id.clone(),
            );
        }
    }
    // Each type's root, following ParentElement; an unknown parent or a loop makes a root.
    let mut parents: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for (id, element) in &by_id {
        let parent = match element.parent.as_deref() {
            Some(parent) if by_id.contains_key(parent) => Some(parent),
            Some(parent) => {
                notes.add(
                    format!("a ParentElement that is not an element type of the template (`{parent}`) was ignored: the type is a root"),
                    (*id).to_string(),
                );
                None
            }
            None => None,
        };
        parents.insert(id, parent);
    }
    let ids: Vec<&str> = by_id.keys().copied().collect();
    for id in &ids {
        let mut seen = BTreeSet::from([*id]);
        let mut current = *id;
        while let Some(Some(parent)) = parents.get(current) {
            if !seen.insert(parent) {
                notes.add(
                    "a loop of ParentElement was broken: the type is a root",
                    (*id).to_string(),
                );
                parents.insert(id, None);
                break;
            }
            current = parent;
        }
    }
    let root_of = |id: &str| -> String {
        let mut current = id.to_string();
        while let Some(Some(parent)) = parents.get(current.as_str()) {
            current = (*parent).to_string();
        }
        current
    };
    // Entity ids: the name, else the ID, made an id; in template order.
    let mut entity_ids: BTreeMap<&str, String> = BTreeMap::new();
    for element in &template.types {
        if !by_id
            .get(element.id.as_str())
            .is_some_and(|found| std::ptr::eq(*found, element))
        {
            continue;
        }
        let mut id = super::slug(&element.name, "element-");
        if used.contains(&id) {
            id = super::slug(&element.id, "element-");
        }
        let mut number = 2;
        let base = id.clone();
        while used.contains(&id) {
            id = format!("{base}-{number}");
            number += 1;
        }
        used.insert(id.clone());
        entity_ids.insert(&element.id, id);
    }
    let mut entities = BTreeMap::new();
    for (id, element) in &by_id {
        let root = by_id[root_of(id).as_str()];
        let kind = match mapping
            .tmt
            .kinds
            .get(&key(&root.id))
            .or_else(|| mapping.tmt.representations.get(&key(&root.representation)))
        {
            Some(kind) => *kind,
            None => {
                defaults.add(
                    format!(
                        "the representation `{}` of its generic type is not in the mapping: a process",
                        root.representation
                    ),
                    (*id).to_string(),
                );
                ElementKind::Process
            }
        };
        let descendants = ids
            .iter()
            .filter(|other| {
                let mut current = Some(**other);
                while let Some(at) = current {
                    if at == *id {
                        return true;
                    }
                    current = parents.get(at).copied().flatten();
                }
                false
            })
            .map(|other| (*other).to_string())
            .collect();
        let _ = element;
        let mut chain = vec![(*id).to_string()];
        while let Some(Some(parent)) = parents.get(chain[chain.len() - 1].as_str()) {
            chain.push((*parent).to_string());
        }
        chain.reverse();
        entities.insert(
            (*id).to_string(),
            TypeEntity {
                entity: entity_ids[id].clone(),
                kind,
                path: format!("/{}/", chain.join("/")),
                descendants,
            },
        );
    }
    // Attributes: one property per attribute name.
    let mut attributes: BTreeMap<String, AttributeProperty> = BTreeMap::new();
    let mut property_names: BTreeMap<String, String> = BTreeMap::new();
    for (id, element) in &by_id {
        for attribute in &element.attributes {
            let item = format!("{id}: {}", attribute.name);
            if !attribute.kind.eq_ignore_ascii_case("List") {
                notes.add(
                    format!(
                        "attributes of type `{}` (not a List) have no translation",
                        attribute.kind
                    ),
                    item,
                );
                continue;
            }
            if attribute.values.is_empty() {
                notes.add("an attribute without values was left out", item);
                continue;
            }
            let mut values = BTreeMap::new();
            let mut slugs = BTreeSet::new();
            let mut clash = false;
            for value in &attribute.values {
                let slug = value_slug(value);
                if !slugs.insert(slug.clone()) {
                    clash = true;
                }
                values.insert(value.clone(), slug);
            }
            if clash {
                notes.add(
                    "an attribute two of whose values differ only in case or punctuation was left out",
                    item,
                );
                continue;
            }
            if let Some(existing) = attributes.get_mut(&attribute.name) {
                if existing.values != values {
                    notes.add(
                        "an attribute declared again with other values was left out (the first declaration is kept)",
                        item,
                    );
                } else {
                    existing.declared_by.insert((*id).to_string());
                }
                continue;
            }
            let readable = if is_guid(&attribute.name) {
                &attribute.display
            } else {
                &attribute.name
            };
            let mut property = snake_case(readable);
            if property == TYPE_PROPERTY || property_names.contains_key(&property) {
                property = snake_case(&format!("{readable} {}", attribute.name));
            }
            property_names.insert(property.clone(), attribute.name.clone());
            attributes.insert(
                attribute.name.clone(),
                AttributeProperty {
                    property,
                    values,
                    declared_by: BTreeSet::from([(*id).to_string()]),
                    read_by: BTreeSet::new(),
                },
            );
        }
    }
    Types {
        entities,
        attributes,
    }
}

// ---------------------------------------------------------------------------------------------
// Filters to CEL.

/// What translating the filters found out: which properties they read, and every filter they
/// could not translate exactly.
#[derive(Default)]
struct Reads {
    /// Whether `source is` / `target is` and `flow is` occur.
    component_types: bool,
    flow_types: bool,
    /// Attributes read on the flow (`flow.X`).
    flow_attributes: BTreeSet<String>,
}

struct Translator<'t> {
    types: &'t mut Types,
    reads: &'t mut Reads,
    /// Every boundary type: `flow crosses` is exact only for a type all of them descend from.
    boundaries: BTreeSet<String>,
    /// The types at the flow's ends that a condition can be about.
    threat: String,
    /// Why the filter is not exact, if it is not.
    losses: Vec<String>,
}

impl Translator<'_> {
    fn lookup(&self, id: &str) -> Option<String> {
        if self.types.entities.contains_key(id) {
            return Some(id.to_string());
        }
        self.types
            .entities
            .keys()
            .find(|known| known.eq_ignore_ascii_case(id))
            .cloned()
    }

    /// The items of an `and` or `or`, each once (`crosses_boundary` stands for several tests).
    fn each(&mut self, items: &[Filter], level: u8) -> Vec<String> {
        let mut texts: Vec<String> = Vec::new();
        for item in items {
            let text = self.cel(item, level);
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
        texts
    }

    fn cel(&mut self, filter: &Filter, level: u8) -> String {
        match filter {
            Filter::Or(items) => {
                let texts = self.each(items, 0);
                if texts.len() == 1 {
                    return texts.join("");
                }
                let text = texts.join(" || ");
                if level > 0 { format!("({text})") } else { text }
            }
            Filter::And(items) => {
                let text = self.each(items, 1).join(" && ");
                if level > 1 { format!("({text})") } else { text }
            }
            Filter::Not(inner) => format!("!{}", self.cel(inner, 3)),
            Filter::Is(subject, id) => {
                let Some(found) = self.lookup(id) else {
                    self.losses.push(format!(
                        "`{} is '{id}'` names an element type the template does not define: never true",
                        subject.word()
                    ));
                    return "false".to_string();
                };
                if found.contains('/') {
                    self.losses.push(format!(
                        "`{} is '{id}'`: an element type ID with `/` cannot be told apart in the type path",
                        subject.word()
                    ));
                }
                let test = format!(".contains({})", cel_string(&format!("/{found}/")));
                let text = match subject {
                    Subject::Flow => {
                        self.reads.flow_types = true;
                        format!("self.{TYPE_PROPERTY}{test}")
                    }
                    _ => {
                        self.reads.component_types = true;
                        let variable = subject.variable();
                        format!(
                            "has({variable}.{TYPE_PROPERTY}) && {variable}.{TYPE_PROPERTY}{test}"
                        )
                    }
                };
                if level > 0 { format!("({text})") } else { text }
            }
            Filter::Crosses(id) => match self.lookup(id) {
                // Every boundary of the template is of this type: any crossing is one.
                Some(found)
                    if self.boundaries.iter().all(|boundary| {
                        self.types.entities[&found].descendants.contains(boundary)
                    }) =>
                {
                    "crosses_boundary".to_string()
                }
                // `crossed_boundaries` holds the crossed boundaries' entities and ancestors.
                Some(found) => format!(
                    "{} in crossed_boundaries",
                    cel_string(&self.types.entities[&found].entity)
                ),
                None => {
                    self.losses.push(format!(
                        "`flow crosses '{id}'` names an element type the template does not define: never true"
                    ));
                    "false".to_string()
                }
            },
            Filter::Attribute(subject, name, value) => {
                let name = match self.types.attributes.get(name.as_str()) {
                    Some(_) => name.clone(),
                    None => match self
                        .types
                        .attributes
                        .keys()
                        .find(|known| known.eq_ignore_ascii_case(name))
                    {
                        Some(known) => known.clone(),
                        None => {
                            self.losses.push(format!(
                                "`{}.{name}`: no element type declares the attribute: never true",
                                subject.word()
                            ));
                            return "false".to_string();
                        }
                    },
                };
                let threat = self.threat.clone();
                let Some(attribute) = self.types.attributes.get_mut(&name) else {
                    return "false".to_string();
                };
                let Some(slug) = attribute
                    .values
                    .get(value)
                    .or_else(|| {
                        attribute
                            .values
                            .iter()
                            .find(|(known, _)| known.eq_ignore_ascii_case(value))
                            .map(|(_, slug)| slug)
                    })
                    .cloned()
                else {
                    self.losses.push(format!(
                        "`{}.{name} is '{value}'`: the attribute has no such value: never true",
                        subject.word()
                    ));
                    return "false".to_string();
                };
                attribute.read_by.insert(threat);
                if *subject == Subject::Flow {
                    self.reads.flow_attributes.insert(name.clone());
                }
                let variable = subject.variable();
                let text = format!(
                    "has({variable}.{property}) && {variable}.{property} == {}",
                    cel_string(&slug),
                    property = attribute.property
                );
                if level > 0 { format!("({text})") } else { text }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The pack.

/// How many generation filters there were, and how many were translated exactly.
pub(crate) struct FilterCount {
    pub total: usize,
    pub exact: usize,
}

pub(crate) fn import(input: &[u8], mapping: &Mapping) -> Result<(Built, FilterCount), ImportError> {
    let mut notes = Notes::default();
    let mut defaults = Notes::default();
    let template = read_template(input, &mut notes)?;
    if template.threats.is_empty() && template.types.is_empty() {
        return Err(ImportError::Invalid(
            "the template defines no element type and no threat type: is it the right file?"
                .to_string(),
        ));
    }
    let mut used = BTreeSet::new();
    let mut types = build_types(&template, mapping, &mut used, &mut notes, &mut defaults);
    let flow_roots: Vec<String> = template
        .types
        .iter()
        .filter(|element| {
            types
                .entities
                .get(&element.id)
                .is_some_and(|entity| entity.kind == ElementKind::DataFlow)
                && !types
                    .entities
                    .get(element.parent.as_deref().unwrap_or_default())
                    .is_some_and(|parent| parent.kind == ElementKind::DataFlow)
        })
        .map(|element| types.entities[&element.id].entity.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if flow_roots.is_empty() && !template.threats.is_empty() {
        return Err(ImportError::Invalid(
            "the template defines no data flow element type (Representation `Line`), so its threat types, which the tool generates for flows, apply to nothing".to_string(),
        ));
    }
    let boundaries: BTreeSet<String> = types
        .entities
        .iter()
        .filter(|(_, entity)| entity.kind == ElementKind::TrustBoundary)
        .map(|(id, _)| id.clone())
        .collect();
    let mut reads = Reads::default();
    let mut count = FilterCount { total: 0, exact: 0 };
    // Threat types: ids first, so that they never take an entity's id.
    let mut attack_patterns = Vec::new();
    let mut mitigation_texts: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    let mut seen_threats = BTreeSet::new();
    for threat in &template.threats {
        if threat.id.is_empty() || !seen_threats.insert(threat.id.clone()) {
            notes.add(
                "a threat type without an Id, or with the Id of another, was left out",
                format!("{} ({})", threat.id, threat.title),
            );
            continue;
        }
        let item = threat.id.clone();
        let mut id = super::slug(&threat.id, "tmt-");
        let base = id.clone();
        let mut number = 2;
        while used.contains(&id) {
            id = format!("{base}-{number}");
            number += 1;
        }
        used.insert(id.clone());
        let mut parts = Vec::new();
        for (which, filter) in [("Include", &threat.include), ("Exclude", &threat.exclude)] {
            if filter.is_empty() {
                continue;
            }
            count.total += 1;
            let parsed = match parse_filter(filter) {
                Ok(parsed) => parsed,
                Err(error) => {
                    notes.add(
                        format!("a generation filter that is not valid ({error}) was not translated: the threat type applies to every flow"),
                        format!("{item} {which}: {filter}"),
                    );
                    continue;
                }
            };
            let mut translator = Translator {
                types: &mut types,
                reads: &mut reads,
                boundaries: boundaries.clone(),
                threat: id.clone(),
                losses: Vec::new(),
            };
            let cel = translator.cel(&parsed, if which == "Exclude" { 3 } else { 1 });
            let losses = std::mem::take(&mut translator.losses);
            if losses.is_empty() {
                count.exact += 1;
            }
            for loss in losses {
                notes.add(
                    format!("a generation filter translated approximately: {loss}"),
                    format!("{item} {which}"),
                );
            }
            parts.push(if which == "Exclude" {
                format!("!{cel}")
            } else {
                cel
            });
        }
        if threat.include.is_empty() {
            notes.add(
                "a threat type without an Include filter: it applies to every flow",
                item.clone(),
            );
        }
        let condition = (!parts.is_empty()).then(|| parts.join(" && "));
        let category_name = template
            .categories
            .get(&threat.category)
            .cloned()
            .unwrap_or_else(|| threat.category.clone());
        let mut categories = BTreeSet::new();
        match mapping.tmt.categories.get(&key(&category_name)) {
            Some(mapped) => categories.extend(mapped.iter().cloned()),
            None => notes.add(
                format!(
                    "threat category `{category_name}` is not in the mapping and gives no category"
                ),
                item.clone(),
            ),
        }
        let categories = super::finish_categories(
            categories,
            &mapping.tmt.fallback.categories,
            &item,
            &mut defaults,
            "its threat category maps to no STRIDE category",
        );
        let severity = match threat.properties.get("Priority") {
            Some(priority) => match mapping.tmt.priorities.get(&key(priority)) {
                Some(severity) => *severity,
                None => {
                    defaults.add(
                        format!(
                            "Priority `{priority}` is not in the mapping: the default severity"
                        ),
                        item.clone(),
                    );
                    mapping.severity
                }
            },
            None => {
                defaults.add(
                    format!(
                        "no Priority: severity `{}` from the mapping",
                        mapping.severity.as_str()
                    ),
                    item.clone(),
                );
                mapping.severity
            }
        };
        let description = if threat.description.is_empty() {
            threat
                .properties
                .get("UserThreatDescription")
                .cloned()
                .unwrap_or_default()
        } else {
            threat.description.clone()
        };
        let mut urls = Vec::new();
        if let Some(documentation) = threat.properties.get("Documentation") {
            for url in documentation.split_whitespace() {
                if (url.starts_with("https://") || url.starts_with("http://"))
                    && !urls.contains(&url.to_string())
                {
                    urls.push(url.to_string());
                } else {
                    notes.add(
                        "a Documentation value that is not a URL was left out",
                        item.clone(),
                    );
                }
            }
        }
        for property in threat.properties.keys() {
            if !matches!(
                property.as_str(),
                "Priority"
                    | "PossibleMitigations"
                    | "Steps"
                    | "Effort"
                    | "Documentation"
                    | "UserThreatDescription"
                    | "UserThreatShortDescription"
                    | "Title"
            ) {
                notes.add(
                    format!("threat property `{property}` has no place in a pack"),
                    item.clone(),
                );
            }
        }
        if let Some(mitigation) = threat.properties.get("PossibleMitigations") {
            let steps = threat.properties.get("Steps").cloned().unwrap_or_default();
            let effort = threat.properties.get("Effort").cloned().unwrap_or_default();
            mitigation_texts
                .entry((markdown(mitigation), markdown(&steps), effort))
                .or_default()
                .push(id.clone());
        }
        let title = if threat.title.is_empty() {
            threat
                .properties
                .get("Title")
                .cloned()
                .unwrap_or_else(|| item.clone())
        } else {
            threat.title.clone()
        };
        attack_patterns.push(AttackPattern {
            id,
            name: single_line(&title),
            description: text(&markdown(&description), &item, &mut notes),
            categories,
            applies_to: flow_roots.clone(),
            condition,
            severity,
            likelihood: None,
            tier: TIER.to_string(),
            status: Status::Stable,
            replaced_by: None,
            references: References {
                url: urls,
                ..References::default()
            },
        });
    }
    // `has(self.x)` needs `x` declared on an entity of `applies-to`: the flow types declaring
    // an attribute read on the flow are listed beside the roots (their descendants anyway).
    let mut applies_to: BTreeSet<String> = flow_roots.iter().cloned().collect();
    for name in &reads.flow_attributes {
        if let Some(attribute) = types.attributes.get(name) {
            for declaring in &attribute.declared_by {
                if let Some(entity) = types.entities.get(declaring)
                    && entity.kind == ElementKind::DataFlow
                {
                    applies_to.insert(entity.entity.clone());
                }
            }
        }
    }
    for pattern in &mut attack_patterns {
        pattern.applies_to = applies_to.iter().cloned().collect();
    }
    if template.threats.iter().any(|threat| {
        format!("{} {}", threat.title, threat.description).contains("{target.Name}")
            || threat.description.contains("{source.Name}")
    }) {
        notes.add(
            "the tool's placeholders ({source.Name}, {target.Name}) are kept as written in names and descriptions",
            "threat texts",
        );
    }
    let mut mitigations = Vec::new();
    for ((description, steps, effort), mut addressed) in mitigation_texts {
        addressed.sort_by(|a, b| super::pack::by_id(a, b));
        let id = format!("mitigate-{}", addressed[0]);
        let cost = match key(&effort).as_str() {
            "low" => Cost::Low,
            "medium" => Cost::Medium,
            "high" => Cost::High,
            _ => {
                defaults.add(
                    format!(
                        "no Effort Low, Medium or High: cost `{}` from the mapping",
                        mapping.cost_name()
                    ),
                    id.clone(),
                );
                mapping.cost
            }
        };
        let description = text(&description, &id, &mut notes);
        mitigations.push(Mitigation {
            id,
            name: super::name_of_description(&description),
            description,
            control: mapping.control,
            cost,
            implementation: text(&steps, &addressed[0], &mut notes),
            verification: String::new(),
            tier: TIER.to_string(),
            status: Status::Stable,
            references: References::default(),
            addresses: addressed
                .into_iter()
                .map(|attack_pattern| Link {
                    attack_pattern,
                    strength: mapping.strength,
                    description: None,
                })
                .collect(),
        });
    }
    if !mitigations.is_empty() {
        defaults.add(
            format!(
                "the template rates no mitigation's control type or strength: control `{}` and link strength `{}` from the mapping; threat types with the same PossibleMitigations, Steps and Effort share one mitigation",
                mapping.control_name(),
                mapping.strength.as_str()
            ),
            "every mitigation",
        );
    }
    let entities = entities(&template, &types, &reads, &mut notes);
    let name = template.name.clone();
    let version = template_version(&template.version, &mut defaults);
    let source = format!(
        "Threat Modeling Tool template \"{}\" {}",
        if name.is_empty() { "(unnamed)" } else { &name },
        template.version
    );
    let attribution = Attribution {
        license_text: format!(
            "The Threat Modeling Tool template \"{name}\" (id {id}, version {version}, author {author}) states no\n\
             licence inside the file. Before distributing this pack, replace this file with the\n\
             template's licence and set `license` in pack.toml to its SPDX identifier.\n",
            id = template.id,
            version = template.version,
            author = template.author,
        ),
        authors: vec![if template.author.is_empty() {
            "the template's authors".to_string()
        } else {
            template.author.clone()
        }],
        notice: format!(
            "This pack is the Microsoft Threat Modeling Tool template \"{name}\" (id {id}, version\n\
             {version}), imported by `threatpack import tmt`.\n\n\
             threatpack changed the form, not the content: element types became entities, attributes\n\
             enum properties, threat types attack patterns whose generation filters became CEL\n\
             conditions, and what the template does not say (control types, link strengths) came from\n\
             the import mapping (docs/interop.md). The mitigation `{gap}` is threatpack's.\n",
            id = template.id,
            version = template.version,
            gap = super::pack::GAP_MITIGATION,
        ),
    };
    notes.add(
        "the template states no licence: LICENSE says so; replace it and `license` before distributing the pack",
        "LICENSE",
    );
    // A template exported by threatpack is named after its pack.
    let pack_name = if crate::names::check_pack_name(&name).is_ok() {
        name.clone()
    } else {
        format!("tmt/{}", super::slug(&name, "template-"))
    };
    let pack = Pack {
        name: pack_name,
        version,
        catalog: None,
        description: format!(
            "The Microsoft Threat Modeling Tool template \"{name}\" {}: its element types as entities, its threat types as attack patterns whose generation filters are conditions on the flow. Imported by `threatpack import tmt`.",
            template.version
        ),
        license: "LicenseRef-TMT-Template".to_string(),
        homepage: "https://aka.ms/threatmodelingtool".to_string(),
        tags: vec!["tmt".to_string(), "stride".to_string()],
        tiers: vec![TIER.to_string()],
        copyright: String::new(),
        source_name: "The template".to_string(),
        entities,
        attack_patterns,
        mitigations,
        attribution: Some(attribution),
    };
    Ok((
        Built {
            pack,
            source,
            notes,
            defaults,
            unversioned: None,
        },
        count,
    ))
}

/// The entities: one per element type, with the properties the filters read.
fn entities(template: &Template, types: &Types, reads: &Reads, notes: &mut Notes) -> Vec<Entity> {
    let mut entities = Vec::new();
    for element in &template.types {
        let Some(entity) = types.entities.get(&element.id) else {
            continue;
        };
        if entities
            .iter()
            .any(|known: &Entity| known.id == entity.entity)
        {
            continue;
        }
        let parent = element
            .parent
            .as_deref()
            .and_then(|parent| types.entities.get(parent))
            .map(|parent| parent.entity.clone());
        let mut properties = BTreeMap::new();
        let typed = match entity.kind {
            ElementKind::DataFlow => reads.flow_types,
            ElementKind::TrustBoundary => false,
            _ => reads.component_types,
        };
        if typed {
            properties.insert(
                TYPE_PROPERTY.to_string(),
                PropertyDefinition {
                    property_type: PropertyType::String,
                    default: Json::String(entity.path.clone()),
                    description: format!(
                        "The element's Threat Modeling Tool type `{}` ({}), after the types it derives from, each between slashes. The template's generation filters test it: `target is 'X'` holds for X and every type derived from X, so it is `target.{TYPE_PROPERTY}.contains(\"/X/\")`.",
                        element.id, element.name
                    ),
                    question: "Which Threat Modeling Tool element type is it? Keep the default: it is the type this kind stands for, after the types it derives from.".to_string(),
                    rationale: "The template generates its threats by element type: changing it changes which threat types apply to the flows that reach the element.".to_string(),
                    values: Vec::new(),
                    min: None,
                    max: None,
                },
            );
        }
        for attribute in &element.attributes {
            let Some(property) = types.attributes.get(&attribute.name) else {
                continue;
            };
            if !property.declared_by.contains(&element.id) {
                continue;
            }
            let item = format!("{}: {}", element.id, attribute.name);
            if property.read_by.is_empty() {
                notes.add(
                    "an attribute no generation filter reads was left out: a question whose answer changes no threat (unused-property)",
                    item,
                );
                continue;
            }
            let values: Vec<String> = attribute
                .values
                .iter()
                .map(|value| property.values[value].clone())
                .collect();
            let shown: Vec<String> = attribute
                .values
                .iter()
                .map(|value| format!("`{}` = \"{}\"", property.values[value], value))
                .collect();
            let mut threats: Vec<&str> = property.read_by.iter().map(String::as_str).collect();
            threats.sort_by(|a, b| super::pack::by_id(a, b));
            let more = threats.len().saturating_sub(8);
            threats.truncate(8);
            let threats = if more > 0 {
                format!("{} and {more} more", threats.join(", "))
            } else {
                threats.join(", ")
            };
            properties.insert(
                property.property.clone(),
                PropertyDefinition {
                    property_type: PropertyType::Enum,
                    default: Json::String(values[0].clone()),
                    description: format!(
                        "Threat Modeling Tool attribute `{}` (\"{}\"). Values: {}.",
                        attribute.name,
                        attribute.display,
                        shown.join(", ")
                    ),
                    question: format!(
                        "{}?",
                        single_line(if attribute.display.is_empty() {
                            &attribute.name
                        } else {
                            &attribute.display
                        })
                    ),
                    rationale: format!(
                        "The template's generation filters read it: those of attack patterns {threats}."
                    ),
                    values,
                    min: None,
                    max: None,
                },
            );
        }
        let description = if element.description.is_empty() {
            format!("The Threat Modeling Tool element type `{}`.", element.id)
        } else {
            format!(
                "{}\n\nThreat Modeling Tool element type `{}`.",
                markdown(&element.description),
                element.id
            )
        };
        entities.push(Entity {
            id: entity.entity.clone(),
            name: single_line(if element.name.is_empty() {
                &element.id
            } else {
                &element.name
            }),
            description,
            kind: entity.kind,
            parent,
            properties,
        });
    }
    entities
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The template's texts, which hold HTML links (`<a href="URL">text</a>`) and line breaks, as
/// Markdown.
fn markdown(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<a ") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (Some(close), Some(end)) = (tail.find('>'), tail.find("</a>")) else {
            out.push_str(tail);
            rest = "";
            break;
        };
        if close > end {
            out.push_str(&tail[..end + 4]);
            rest = &tail[end + 4..];
            continue;
        }
        let href = tail[..close]
            .split_once("href=\"")
            .and_then(|(_, after)| after.split_once('"'))
            .map(|(href, _)| href.to_string())
            .unwrap_or_default();
        let label = tail[close + 1..end].trim();
        if href.is_empty() || href == label {
            out.push_str(&format!(
                "<{}>",
                if href.is_empty() { label } else { &href }
            ));
        } else {
            out.push_str(&format!("[{label}]({href})"));
        }
        rest = &tail[end + 4..];
    }
    out.push_str(rest);
    out.replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("<br>", "\n")
        .trim()
        .to_string()
}

/// The template's version ("2.0.0.337") as a pack version ("2.0.0").
fn template_version(version: &str, defaults: &mut Notes) -> String {
    let parts: Vec<&str> = version.trim().split('.').collect();
    let candidate = match parts.len() {
        0 | 1 => format!("{}.0.0", parts.first().unwrap_or(&"0")),
        2 => format!("{}.{}.0", parts[0], parts[1]),
        _ => format!("{}.{}.{}", parts[0], parts[1], parts[2]),
    };
    if crate::names::parse_version(&candidate).is_ok() {
        if parts.len() > 3 {
            defaults.add(
                format!("the template's version `{version}` has four parts: version {candidate}; give --version to choose"),
                "pack.toml",
            );
        }
        candidate
    } else {
        defaults.add(
            format!(
                "the template's version `{version}` is not usable: version 0.1.0; give --version"
            ),
            "pack.toml",
        );
        "0.1.0".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_with_precedence_and_any_case() {
        let parsed = parse_filter(
            "target is 'GE.DS' and source is 'X' OR not (flow crosses 'B' or flow.Show is 'No')",
        )
        .expect("valid");
        assert_eq!(
            parsed,
            Filter::Or(vec![
                Filter::And(vec![
                    Filter::Is(Subject::Target, "GE.DS".into()),
                    Filter::Is(Subject::Source, "X".into()),
                ]),
                Filter::Not(Box::new(Filter::Or(vec![
                    Filter::Crosses("B".into()),
                    Filter::Attribute(Subject::Flow, "Show".into(), "No".into()),
                ]))),
            ])
        );
        assert_eq!(parse_filter(&parsed.to_tmt()), Ok(parsed));
    }

    #[test]
    fn bad_filters_are_refused_with_a_reason() {
        for bad in [
            "target is",
            "(target is 'A'",
            "target equals 'A'",
            "widget is 'A'",
            "source crosses 'A'",
            "target is 'A' target is 'B'",
            "'unclosed",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        let deep = format!("{}target is 'A'{}", "(".repeat(500), ")".repeat(500));
        assert!(parse_filter(&deep).is_err());
    }

    #[test]
    fn names_and_values_become_ids() {
        assert_eq!(
            snake_case("ShowAzureServiceThreat"),
            "show_azure_service_threat"
        );
        assert_eq!(snake_case("IoT Device Type"), "iot_device_type");
        assert_eq!(snake_case("authenticatesItself"), "authenticates_itself");
        assert_eq!(
            snake_case("CosmosDBFirewallSettings"),
            "cosmos_db_firewall_settings"
        );
        assert_eq!(snake_case("ProcessesXML"), "processes_xml");
        assert_eq!(value_slug("Not Applicable"), "not-applicable");
        assert_eq!(
            value_slug("Allow access from selected networks (excluding Azure)"),
            "allow-access-from-selected-networks-excluding-azure"
        );
        assert!(is_guid("55466e9e-f1e2-460e-9557-317043fbe7dd"));
        assert!(!is_guid("ShowBoundaryThreats"));
        assert_eq!(
            markdown("Refer:\n<a href=\"https://aka.ms/x\">https://aka.ms/x</a>"),
            "Refer:\n<https://aka.ms/x>"
        );
    }
}
