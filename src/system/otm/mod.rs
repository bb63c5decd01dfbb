//! Open Threat Model (OTM 0.x, IriusRisk's open format, JSON or YAML) read as a system model.
//!
//! `project` becomes `[model]`, each trust zone a `[[boundary]]` containing the components that
//! sit in it (directly, under a component that does, or in a nested zone), each component a
//! `[[component]]` and each dataflow a `[[flow]]`. A `Mapping` (built in, and optionally a user's
//! TOML file over it) turns OTM component and trust-zone types into entity kinds, and tags and
//! attributes into properties. OTM ids become model ids by `model_id`; `origins` remembers where
//! every converted field came from, so problems found later point at the OTM file. Threats,
//! mitigations, assets and representations are not read. Reference: docs/system-model.md.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde_json::Value as Json;

mod derive;
mod mapping;
pub(crate) mod synthetic;

pub use derive::is_internet as is_internet_name;
pub use mapping::{AttributeMapping, ElementMapping, Mapping, PropertySet, TagMapping};

use super::{ModelFile, Syntax, parse_document};
use crate::diagnostic::{Code, Diagnostic};
use crate::document::{MAX_DEPTH, Node, NodeValue};
use crate::model::{Model, ModelBoundary, ModelElement, ModelFlow, ModelInfo, OutOfScope};
use crate::schema;

/// Whether a JSON or YAML document is an OTM file: a table with a top-level `otmVersion`.
pub fn is_otm(document: &Node) -> bool {
    document.get("otmVersion").is_some()
}

/// Converts an OTM document into a model. Every problem found is reported, each at its place
/// in the OTM file.
pub fn convert(
    display_path: &str,
    text: String,
    syntax: Syntax,
    mapping: &Mapping,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let document = parse_document(display_path, &text, syntax)?;
    convert_document(display_path, text, syntax, document, mapping)
}

/// `convert` for a document already parsed.
pub(crate) fn convert_document(
    display_path: &str,
    text: String,
    syntax: Syntax,
    document: Node,
    mapping: &Mapping,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let mut converter = Converter {
        file: display_path,
        mapping,
        problems: Vec::new(),
        origins: Vec::new(),
        suggestions_left: MAX_ID_SUGGESTIONS,
    };
    let model = converter.model(&document);
    if !converter.problems.is_empty() {
        return Err(converter.problems);
    }
    Ok(ModelFile::with_document(
        display_path,
        text,
        syntax,
        document,
        model,
        converter.origins,
    ))
}

/// The model id of an OTM id: lowercase ASCII letters and digits kept, every run of other
/// characters turned into one separator (`_` if the run starts with `_`, else `-`), separators
/// trimmed at both ends, `ROLE-` put in front when the result does not start with a letter
/// (UUIDs, ids in other scripts), and cut to 64 characters. Deterministic, so the same OTM file
/// always gives the same ids; two OTM ids that give one model id are an error.
pub fn model_id(otm_id: &str, role: &str) -> String {
    let mut id = String::new();
    let mut separator: Option<char> = None;
    for character in otm_id.chars() {
        let lower = character.to_ascii_lowercase();
        if lower.is_ascii_lowercase() || lower.is_ascii_digit() {
            if let Some(pending) = separator.take()
                && !id.is_empty()
            {
                id.push(pending);
            }
            id.push(lower);
        } else if separator.is_none() {
            separator = Some(if character == '_' { '_' } else { '-' });
        }
    }
    if !id.starts_with(|first: char| first.is_ascii_lowercase()) {
        id = if id.is_empty() {
            role.to_string()
        } else {
            format!("{role}-{id}")
        };
    }
    // ASCII only, so any byte index is a character boundary.
    id.truncate(64);
    id.trim_end_matches(['-', '_']).to_string()
}

/// What an OTM id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Zone(usize),
    Component(usize),
    Flow(usize),
}

/// The parts of an OTM element every role has.
struct Item<'n> {
    /// Position in its OTM array.
    position: usize,
    node: &'n Node,
    otm_id: &'n str,
    id: String,
    name: Option<String>,
    description: Option<String>,
}

struct Zone<'n> {
    item: Item<'n>,
    zone_type: Option<&'n str>,
    parent: Option<(&'n str, &'n Node)>,
}

struct Component<'n> {
    item: Item<'n>,
    component_type: Option<(&'n str, &'n Node)>,
    /// The parent's OTM id, its node, and whether it names a component (else a zone).
    parent: Option<Parent<'n>>,
}

struct Parent<'n> {
    otm_id: &'n str,
    node: &'n Node,
    key: &'static str,
}

struct Flow<'n> {
    item: Item<'n>,
    ends: [Option<(&'n str, &'n Node)>; 2],
}

/// How many unknown ids get a "did you mean": each suggestion compares the id with every id
/// of the file, so a file of thousands of broken references would take quadratic time.
const MAX_ID_SUGGESTIONS: usize = 100;

struct Converter<'a> {
    file: &'a str,
    mapping: &'a Mapping,
    problems: Vec<Diagnostic>,
    origins: Vec<(Vec<String>, Vec<String>)>,
    suggestions_left: usize,
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| part.to_string()).collect()
}

impl<'a> Converter<'a> {
    fn problem(&mut self, message: String, span: Range<usize>, label: &str, help: String) {
        self.problems.push(
            Diagnostic::new(Code::InvalidModel, message)
                .at(self.file, span, label)
                .help(help),
        );
    }

    fn origin(&mut self, model: Vec<String>, document: Vec<String>) {
        self.origins.push((model, document));
    }

    fn model(&mut self, document: &Node) -> Model {
        let mut model = Model::default();
        if !self.version(document) {
            return model;
        }
        model.model = self.project(document);
        model.system = self.system_facts(document);
        let zones: Vec<Zone<'_>> = self
            .items(document, "trustZones", "trust zone", "zone")
            .into_iter()
            .map(|item| {
                let zone_type = self.optional_string(item.node, "type");
                let parent = self
                    .parent(item.node, &["trustZone"])
                    .map(|parent| (parent.otm_id, parent.node));
                Zone {
                    zone_type: zone_type.map(|(text, _)| text),
                    parent,
                    item,
                }
            })
            .collect();
        let components: Vec<Component<'_>> = self
            .items(document, "components", "component", "component")
            .into_iter()
            .map(|item| {
                let component_type = self.required_string(item.node, "type", "component");
                let parent = self.parent(item.node, &["trustZone", "component"]);
                Component {
                    component_type,
                    parent,
                    item,
                }
            })
            .collect();
        let flows: Vec<Flow<'_>> = self
            .items(document, "dataflows", "dataflow", "flow")
            .into_iter()
            .map(|item| {
                let source = self.required_string(item.node, "source", "dataflow");
                let destination = self.required_string(item.node, "destination", "dataflow");
                Flow {
                    ends: [source, destination],
                    item,
                }
            })
            .collect();
        let targets = self.index(&zones, &components, &flows);
        let component_zones = self.component_zones(&components, &targets);
        let zone_ancestors = self.zone_ancestors(&zones, &targets);

        for (index, component) in components.iter().enumerate() {
            if let Some(element) = self.component(index, component) {
                model.component.push(element);
            }
        }
        for (index, zone) in zones.iter().enumerate() {
            model.boundary.push(self.boundary(index, zone));
        }
        // Each component in its zone and in every zone around that one, in component order.
        for (component_index, zone) in component_zones.iter().enumerate() {
            let (Some(zone), Some(component)) = (zone, components.get(component_index)) else {
                continue;
            };
            let parent_path = component.parent.as_ref().map_or_else(
                || path(&["components", &component.item.position.to_string()]),
                |parent| {
                    path(&[
                        "components",
                        &component.item.position.to_string(),
                        "parent",
                        parent.key,
                    ])
                },
            );
            for &zone_index in &zone_ancestors[*zone] {
                let boundary = &mut model.boundary[zone_index];
                let position = boundary.contains.len().to_string();
                boundary.contains.push(component.item.id.clone());
                self.origin(
                    path(&["boundary", &zone_index.to_string(), "contains", &position]),
                    parent_path.clone(),
                );
            }
        }
        let mut public_flows = Vec::new();
        for (index, flow) in flows.iter().enumerate() {
            if let Some(element) = self.flow(index, flow, &targets, &components) {
                if flow
                    .item
                    .node
                    .get("isPublicNetwork")
                    .and_then(|entry| match entry.value.value {
                        NodeValue::Boolean(public) => Some(public),
                        _ => None,
                    })
                    == Some(true)
                {
                    public_flows.push(model.flow.len());
                }
                model.flow.push(element);
            }
        }
        let zone_facts: Vec<derive::ZoneFacts> = zones
            .iter()
            .map(|zone| derive::ZoneFacts {
                names: [
                    Some(zone.item.otm_id),
                    zone.zone_type,
                    zone.item.name.as_deref(),
                ]
                .into_iter()
                .flatten()
                .map(str::to_string)
                .collect(),
                path: path(&["trustZones", &zone.item.position.to_string()]),
            })
            .collect();
        let flow_paths: Vec<Vec<String>> = flows
            .iter()
            .map(|flow| path(&["dataflows", &flow.item.position.to_string()]))
            .collect();
        let derived = derive::diagram(
            &mut model,
            self.mapping,
            &zone_facts,
            &public_flows,
            &flow_paths,
        );
        for (model_path, document_path) in derived {
            self.origin(model_path, document_path);
        }
        model
    }

    /// `[system]` facts from the project's attributes, as `[system-attributes]` maps them.
    fn system_facts(&mut self, document: &Node) -> BTreeMap<String, Json> {
        let mut facts = BTreeMap::new();
        let Some(attributes) = document
            .get("project")
            .and_then(|project| project.value.get("attributes"))
        else {
            return facts;
        };
        let NodeValue::Table(entries) = &attributes.value.value else {
            return facts;
        };
        for attribute in entries {
            let mapping = self.mapping;
            let Some(mapped) = mapping.system_attributes.get(&attribute.key) else {
                continue;
            };
            let Some(value) = self.attribute_value(&attribute.key, mapped, &attribute.value) else {
                continue;
            };
            self.origin(
                path(&["system", &mapped.property]),
                path(&["project", "attributes", &attribute.key]),
            );
            facts.insert(mapped.property.clone(), value);
        }
        facts
    }

    /// Threat Dragon's `outOfScope` and `reasonOutOfScope` on an element (read from any OTM
    /// element too: the Threat Dragon and TMT readers put them there).
    fn out_of_scope(&mut self, node: &Node) -> Option<OutOfScope> {
        let entry = node.get("outOfScope")?;
        let NodeValue::Boolean(true) = entry.value.value else {
            return None;
        };
        let reason = self
            .optional_text(node, "reasonOutOfScope")
            .map(|reason| reason.trim().to_string())
            .filter(|reason| !reason.is_empty());
        Some(match reason {
            Some(reason) => OutOfScope::Reason(reason),
            None => OutOfScope::Flag(true),
        })
    }

    /// Checks `otmVersion`: a string, major version 0.
    fn version(&mut self, document: &Node) -> bool {
        let Some(entry) = document.get("otmVersion") else {
            self.problem(
                "not an Open Threat Model file: no `otmVersion`".to_string(),
                0..0,
                "expected here",
                "add `otmVersion: 0.2.0`, or give the file a `.toml` name if it is a threatpack model".to_string(),
            );
            return false;
        };
        match entry.value.as_str() {
            Some(version) if version.split('.').next() == Some("0") => true,
            Some(version) => {
                self.problem(
                    format!("unsupported OTM version `{version}`"),
                    entry.value.span.clone(),
                    "not a 0.x version",
                    "threatpack reads OTM 0.x files (0.1.0 and 0.2.0)".to_string(),
                );
                false
            }
            None => {
                self.problem(
                    "`otmVersion` must be a string".to_string(),
                    entry.value.span.clone(),
                    "not a string",
                    "write it quoted, e.g. `otmVersion: \"0.2.0\"`".to_string(),
                );
                false
            }
        }
    }

    fn project(&mut self, document: &Node) -> Option<ModelInfo> {
        let Some(entry) = document.get("project") else {
            self.problem(
                "the OTM file has no `project`".to_string(),
                0..0,
                "expected in this file",
                "add `project` with a `name` and an `id`".to_string(),
            );
            return None;
        };
        if !self.is_table(&entry.value, "`project`") {
            return None;
        }
        self.origin(path(&["model"]), path(&["project"]));
        let (name, _) = self.required_string(&entry.value, "name", "project")?;
        let description = self.optional_text(&entry.value, "description");
        (!name.is_empty()).then(|| ModelInfo {
            name: name.to_string(),
            description,
        })
    }

    /// The items of a top-level OTM array (absent or null: none), each with its id.
    fn items<'n>(
        &mut self,
        document: &'n Node,
        key: &str,
        what: &str,
        role: &str,
    ) -> Vec<Item<'n>> {
        let Some(entry) = document.get(key) else {
            return Vec::new();
        };
        let items = match &entry.value.value {
            NodeValue::Array(items) => items,
            NodeValue::Null => return Vec::new(),
            _ => {
                self.problem(
                    format!("`{key}` must be a list"),
                    entry.value.span.clone(),
                    "not a list",
                    format!("write each {what} as an item of a list"),
                );
                return Vec::new();
            }
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(position, node)| {
                if !self.is_table(node, &format!("a {what}")) {
                    return None;
                }
                let (otm_id, _) = self.required_string(node, "id", what)?;
                Some(Item {
                    position,
                    node,
                    otm_id,
                    id: model_id(otm_id, role),
                    name: self.optional_text(node, "name"),
                    description: self.optional_text(node, "description"),
                })
            })
            .collect()
    }

    fn is_table(&mut self, node: &Node, what: &str) -> bool {
        if matches!(node.value, NodeValue::Table(_)) {
            return true;
        }
        self.problem(
            format!("{what} must be a table"),
            node.span.clone(),
            "not a table",
            "see the OTM 0.2.0 format".to_string(),
        );
        false
    }

    fn required_string<'n>(
        &mut self,
        node: &'n Node,
        key: &str,
        what: &str,
    ) -> Option<(&'n str, &'n Node)> {
        match node.get(key) {
            None => {
                let start = node.span.start;
                self.problem(
                    format!("this {what} has no `{key}`"),
                    start..start,
                    &format!("`{key}` is required here"),
                    format!("add `{key}` to the {what}"),
                );
                None
            }
            Some(entry) => match entry.value.as_str() {
                Some(text) => Some((text, &entry.value)),
                None => {
                    self.problem(
                        format!("`{key}` of a {what} must be a string"),
                        entry.value.span.clone(),
                        "not a string",
                        format!("write `{key}` as a string"),
                    );
                    None
                }
            },
        }
    }

    /// A string field that may be absent or null.
    fn optional_string<'n>(&mut self, node: &'n Node, key: &str) -> Option<(&'n str, &'n Node)> {
        let entry = node.get(key)?;
        match &entry.value.value {
            NodeValue::String(text) => Some((text, &entry.value)),
            NodeValue::Null => None,
            _ => {
                self.problem(
                    format!("`{key}` must be a string"),
                    entry.value.span.clone(),
                    "not a string",
                    format!("write `{key}` as a string, or leave it out"),
                );
                None
            }
        }
    }

    fn optional_text(&mut self, node: &Node, key: &str) -> Option<String> {
        self.optional_string(node, key)
            .map(|(text, _)| text.to_string())
    }

    /// `parent: { trustZone: ID }` or `parent: { component: ID }`, with the keys allowed.
    fn parent<'n>(&mut self, node: &'n Node, keys: &[&'static str]) -> Option<Parent<'n>> {
        let entry = node.get("parent")?;
        if matches!(entry.value.value, NodeValue::Null) || !self.is_table(&entry.value, "`parent`")
        {
            return None;
        }
        let found: Vec<Parent<'n>> = keys
            .iter()
            .filter_map(|&key| {
                let (otm_id, node) = self.optional_string(&entry.value, key)?;
                Some(Parent { otm_id, node, key })
            })
            .collect();
        if found.len() > 1 {
            self.problem(
                "`parent` names both a trust zone and a component".to_string(),
                entry.value.span.clone(),
                "two parents",
                "keep one of `trustZone` and `component`".to_string(),
            );
            return None;
        }
        found.into_iter().next()
    }

    /// Every OTM id, refusing duplicates and model-id clashes.
    fn index(
        &mut self,
        zones: &[Zone<'_>],
        components: &[Component<'_>],
        flows: &[Flow<'_>],
    ) -> HashMap<String, Target> {
        let mut targets: HashMap<String, Target> = HashMap::new();
        let mut model_ids: HashMap<String, (String, Range<usize>)> = HashMap::new();
        let all = zones
            .iter()
            .enumerate()
            .map(|(index, zone)| (&zone.item, Target::Zone(index)))
            .chain(
                components
                    .iter()
                    .enumerate()
                    .map(|(index, component)| (&component.item, Target::Component(index))),
            )
            .chain(
                flows
                    .iter()
                    .enumerate()
                    .map(|(index, flow)| (&flow.item, Target::Flow(index))),
            );
        for (item, target) in all {
            let span = item
                .node
                .get("id")
                .map_or(item.node.span.clone(), |entry| entry.value.span.clone());
            if targets.contains_key(item.otm_id) {
                self.problem(
                    format!("OTM id `{}` is used twice", item.otm_id),
                    span,
                    "used again here",
                    "give every trust zone, component and dataflow its own id".to_string(),
                );
                continue;
            }
            targets.insert(item.otm_id.to_string(), target);
            match model_ids.get(&item.id) {
                Some((other, first)) => {
                    let diagnostic = Diagnostic::new(
                        Code::InvalidModel,
                        format!(
                            "OTM ids `{other}` and `{}` both become the model id `{}`",
                            item.otm_id, item.id
                        ),
                    )
                    .at(self.file, span, format!("becomes `{}`", item.id))
                    .also(self.file, first.clone(), "so does this one")
                    .help("rename one of them: model ids keep only lowercase letters, digits, `-` and `_` (see docs/system-model.md#ids)");
                    self.problems.push(diagnostic);
                }
                None => {
                    model_ids.insert(item.id.clone(), (item.otm_id.to_string(), span));
                }
            }
        }
        targets
    }

    /// The zone each component sits in: its parent zone, or its parent component's. Each
    /// component is walked once (a walk stops at a component already resolved).
    fn component_zones(
        &mut self,
        components: &[Component<'_>],
        targets: &HashMap<String, Target>,
    ) -> Vec<Option<usize>> {
        let mut zone_of: Vec<Option<Option<usize>>> = vec![None; components.len()];
        // The walk that visited each component, to tell a cycle from a resolved component.
        let mut visited_by: Vec<Option<usize>> = vec![None; components.len()];
        for start in 0..components.len() {
            let mut chain = Vec::new();
            let mut current = start;
            let zone = loop {
                if let Some(zone) = zone_of[current] {
                    break zone;
                }
                if visited_by[current] == Some(start) {
                    self.cycle(&components[current]);
                    break None;
                }
                visited_by[current] = Some(start);
                chain.push(current);
                let Some(parent) = &components[current].parent else {
                    break None;
                };
                match targets.get(parent.otm_id) {
                    Some(Target::Zone(index)) if parent.key == "trustZone" => break Some(*index),
                    Some(Target::Component(index)) if parent.key == "component" => {
                        current = *index;
                    }
                    found => {
                        self.unknown_parent(parent, found.copied(), targets);
                        break None;
                    }
                }
            };
            for component in chain {
                zone_of[component] = Some(zone);
            }
        }
        zone_of.into_iter().map(Option::flatten).collect()
    }

    fn cycle(&mut self, component: &Component<'_>) {
        if let Some(parent) = &component.parent {
            self.problem(
                format!(
                    "component `{}` is inside itself through its parents",
                    component.item.otm_id
                ),
                parent.node.span.clone(),
                "this parent leads back to the component",
                "give one component of the cycle a trust zone as its parent".to_string(),
            );
        }
    }

    fn unknown_parent(
        &mut self,
        parent: &Parent<'_>,
        found: Option<Target>,
        targets: &HashMap<String, Target>,
    ) {
        let wanted = if parent.key == "trustZone" {
            "trust zone"
        } else {
            "component"
        };
        let message = match found {
            Some(_) => format!("`{}` is not a {wanted}", parent.otm_id),
            None => format!("no {wanted} has the id `{}`", parent.otm_id),
        };
        let help = self.id_help(parent.otm_id, targets, |target| match target {
            Target::Zone(_) => parent.key == "trustZone",
            Target::Component(_) => parent.key == "component",
            Target::Flow(_) => false,
        });
        self.problem(
            message,
            parent.node.span.clone(),
            &format!("not a {wanted} of this file"),
            help,
        );
    }

    fn id_help(
        &mut self,
        wanted: &str,
        targets: &HashMap<String, Target>,
        fits: impl Fn(&Target) -> bool,
    ) -> String {
        let generic = "use the `id` of an element of this file".to_string();
        if self.suggestions_left == 0 {
            return generic;
        }
        self.suggestions_left -= 1;
        let mut candidates: Vec<&str> = targets
            .iter()
            .filter(|(_, target)| fits(target))
            .map(|(id, _)| id.as_str())
            .collect();
        candidates.sort_unstable();
        match schema::suggest(wanted, candidates.iter().copied()) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None => generic,
        }
    }

    /// For each zone, itself and the zones around it, innermost first. Zones nest at most
    /// `MAX_DEPTH` levels: every component is listed in every zone around it, so deeper
    /// nesting would let a small file produce a huge model.
    fn zone_ancestors(
        &mut self,
        zones: &[Zone<'_>],
        targets: &HashMap<String, Target>,
    ) -> Vec<Vec<usize>> {
        let mut all = Vec::with_capacity(zones.len());
        for (start, zone) in zones.iter().enumerate() {
            let mut chain = vec![start];
            let mut current = start;
            while let Some((parent_id, parent_node)) = zones[current].parent {
                let report_here = current == start;
                match targets.get(parent_id) {
                    Some(Target::Zone(index)) if chain.contains(index) => {
                        if *index == start {
                            self.problem(
                                format!(
                                    "trust zone `{}` is inside itself through its parents",
                                    zone.item.otm_id
                                ),
                                parent_node.span.clone(),
                                "this parent leads back to the zone",
                                "remove the `parent` of one zone of the cycle".to_string(),
                            );
                        }
                        break;
                    }
                    Some(Target::Zone(index)) => {
                        if chain.len() > MAX_DEPTH {
                            self.problem(
                                format!("trust zones nest more than {MAX_DEPTH} levels deep"),
                                parent_node.span.clone(),
                                "this zone is too deep",
                                "flatten the zones: a component is in every zone around its own"
                                    .to_string(),
                            );
                            break;
                        }
                        chain.push(*index);
                        current = *index;
                    }
                    found => {
                        if report_here {
                            let parent = Parent {
                                otm_id: parent_id,
                                node: parent_node,
                                key: "trustZone",
                            };
                            self.unknown_parent(&parent, found.copied(), targets);
                        }
                        break;
                    }
                }
            }
            all.push(chain);
        }
        all
    }

    fn component(&mut self, index: usize, component: &Component<'_>) -> Option<ModelElement> {
        let (component_type, type_node) = component.component_type?;
        let position = component.item.position.to_string();
        let model_path = path(&["component", &index.to_string()]);
        let item_path = path(&["components", &position]);
        let type_path = path(&["components", &position, "type"]);
        self.origin(model_path.clone(), item_path.clone());
        let Some(mapped) = self.mapping.types.get(component_type) else {
            self.unmapped_type(component_type, type_node);
            return None;
        };
        self.origin(
            [model_path.as_slice(), &path(&["kind"])].concat(),
            type_path.clone(),
        );
        let properties = self.properties(
            mapped,
            &type_path,
            component.item.node,
            &item_path,
            &model_path,
        );
        Some(ModelElement {
            id: component.item.id.clone(),
            name: component.item.name.clone(),
            description: component.item.description.clone(),
            kind: mapped.kind.clone(),
            properties,
            out_of_scope: self
                .out_of_scope(component.item.node)
                .or_else(|| mapped.out_of_scope.clone().map(OutOfScope::Reason)),
        })
    }

    fn unmapped_type(&mut self, component_type: &str, type_node: &Node) {
        let how = match &self.mapping.file {
            Some(file) => format!(
                "add `[types.\"{component_type}\"]` with `kind = \"ENTITY-ID\"` to `{file}`"
            ),
            None => format!(
                "map it in a mapping file: `[types.\"{component_type}\"]` with `kind = \"ENTITY-ID\"`, passed with `--mapping FILE`"
            ),
        };
        let mut diagnostic = Diagnostic::new(
            Code::InvalidModel,
            format!("no mapping for OTM component type `{component_type}`"),
        )
        .at(
            self.file,
            type_node.span.clone(),
            "this type has no entity kind",
        );
        diagnostic = match schema::suggest(
            component_type,
            self.mapping.types.keys().map(String::as_str),
        ) {
            Some(candidate) => diagnostic
                .help(format!("did you mean `{candidate}`?"))
                .note(how),
            None => diagnostic.help(how),
        };
        self.problems
            .push(diagnostic.note("see docs/system-model.md#the-mapping-file"));
    }

    fn boundary(&mut self, index: usize, zone: &Zone<'_>) -> ModelBoundary {
        let position = zone.item.position.to_string();
        let model_path = path(&["boundary", &index.to_string()]);
        let item_path = path(&["trustZones", &position]);
        // A kind from the zone's type points there; the generic one at the zone's id.
        let kind_path = path(&[
            "trustZones",
            &position,
            if zone.zone_type.is_some() {
                "type"
            } else {
                "id"
            },
        ]);
        self.origin(model_path.clone(), item_path.clone());
        self.origin(
            [model_path.as_slice(), &path(&["kind"])].concat(),
            kind_path.clone(),
        );
        let mapped = zone
            .zone_type
            .and_then(|zone_type| self.mapping.trust_zone_types.get(zone_type))
            .unwrap_or(&self.mapping.trust_zone);
        let properties =
            self.properties(mapped, &kind_path, zone.item.node, &item_path, &model_path);
        ModelBoundary {
            id: zone.item.id.clone(),
            name: zone.item.name.clone(),
            description: zone.item.description.clone(),
            kind: mapped.kind.clone(),
            contains: Vec::new(),
            properties,
            out_of_scope: self.out_of_scope(zone.item.node),
        }
    }

    fn flow(
        &mut self,
        index: usize,
        flow: &Flow<'_>,
        targets: &HashMap<String, Target>,
        components: &[Component<'_>],
    ) -> Option<ModelFlow> {
        let position = flow.item.position.to_string();
        let model_path = path(&["flow", &index.to_string()]);
        let item_path = path(&["dataflows", &position]);
        let id_path = path(&["dataflows", &position, "id"]);
        self.origin(model_path.clone(), item_path.clone());
        self.origin(
            [model_path.as_slice(), &path(&["kind"])].concat(),
            id_path.clone(),
        );
        self.origin(
            [model_path.as_slice(), &path(&["target"])].concat(),
            path(&["dataflows", &position, "destination"]),
        );
        let mut ends = Vec::with_capacity(2);
        for (end, role) in flow.ends.iter().zip(["source", "destination"]) {
            let Some((otm_id, node)) = end else {
                continue;
            };
            match targets.get(*otm_id) {
                Some(Target::Component(component)) => {
                    ends.push(components[*component].item.id.clone());
                }
                Some(Target::Zone(_)) => self.problem(
                    format!("the {role} of dataflow `{}` is a trust zone", flow.item.otm_id),
                    node.span.clone(),
                    "a trust zone, not a component",
                    format!(
                        "threatpack flows connect components: add a component for what the data {} in that zone (e.g. an external interactor) and name it here",
                        if role == "source" { "leaves" } else { "reaches" }
                    ),
                ),
                found => {
                    let message = match found {
                        Some(_) => format!("the {role} of dataflow `{}` is a dataflow", flow.item.otm_id),
                        None => format!("no component has the id `{otm_id}`"),
                    };
                    let help = self.id_help(otm_id, targets, |target| {
                        matches!(target, Target::Component(_))
                    });
                    self.problem(message, node.span.clone(), "not a component of this file", help);
                }
            }
        }
        let [source, target] = <[String; 2]>::try_from(ends).ok()?;
        let properties = self.properties(
            &self.mapping.dataflow,
            &id_path,
            flow.item.node,
            &item_path,
            &model_path,
        );
        Some(ModelFlow {
            id: flow.item.id.clone(),
            name: flow.item.name.clone(),
            description: flow.item.description.clone(),
            kind: self.mapping.dataflow.kind.clone(),
            source,
            target,
            properties,
            out_of_scope: self.out_of_scope(flow.item.node),
        })
    }

    /// The properties of an element: its mapping's, then its tags' in order, then its
    /// attributes' in order (a later one wins), each with the origin of its value.
    fn properties(
        &mut self,
        mapped: &ElementMapping,
        mapped_path: &[String],
        node: &Node,
        item_path: &[String],
        model_path: &[String],
    ) -> BTreeMap<String, Json> {
        let mut properties: BTreeMap<String, (Json, Vec<String>)> = mapped
            .properties
            .iter()
            .map(|(name, value)| (name.clone(), (value.clone(), mapped_path.to_vec())))
            .collect();
        if let Some(entry) = node.get("tags") {
            match &entry.value.value {
                NodeValue::Array(tags) => {
                    for (position, tag) in tags.iter().enumerate() {
                        let Some(mapped) = tag.as_str().and_then(|tag| self.mapping.tags.get(tag))
                        else {
                            continue;
                        };
                        let origin = [item_path, &path(&["tags", &position.to_string()])].concat();
                        for (name, value) in &mapped.properties {
                            properties.insert(name.clone(), (value.clone(), origin.clone()));
                        }
                    }
                }
                NodeValue::Null => {}
                _ => self.problem(
                    "`tags` must be a list of strings".to_string(),
                    entry.value.span.clone(),
                    "not a list",
                    "write `tags` as a list, or leave it out".to_string(),
                ),
            }
        }
        if let Some(entry) = node.get("attributes") {
            match &entry.value.value {
                NodeValue::Table(attributes) => {
                    for attribute in attributes {
                        let global = self.mapping;
                        let Some(mapped) = mapped
                            .attributes
                            .get(&attribute.key)
                            .or_else(|| global.attributes.get(&attribute.key))
                        else {
                            continue;
                        };
                        let Some(value) =
                            self.attribute_value(attribute.key.as_str(), mapped, &attribute.value)
                        else {
                            continue;
                        };
                        let origin = [item_path, &path(&["attributes", &attribute.key])].concat();
                        properties.insert(mapped.property.clone(), (value, origin));
                    }
                }
                NodeValue::Null => {}
                _ => self.problem(
                    "`attributes` must be a table".to_string(),
                    entry.value.span.clone(),
                    "not a table",
                    "write `attributes` as a table, or leave it out".to_string(),
                ),
            }
        }
        properties
            .into_iter()
            .map(|(name, (value, origin))| {
                self.origin([model_path, &path(&["properties", &name])].concat(), origin);
                (name, value)
            })
            .collect()
    }

    /// An attribute's value as a property value: a boolean, an integer, a string or a list of
    /// strings, translated by the mapping's `values` when it has them. Null leaves the
    /// property unset, and so does a value `values` does not list.
    fn attribute_value(
        &mut self,
        attribute: &str,
        mapped: &AttributeMapping,
        node: &Node,
    ) -> Option<Json> {
        let property = mapped.property.as_str();
        if let Some(values) = &mapped.values {
            let text = match &node.value {
                NodeValue::String(text) => text.trim().to_string(),
                NodeValue::Boolean(value) => value.to_string(),
                NodeValue::Integer(value) => value.to_string(),
                _ => return None,
            };
            return values.get(&text).cloned();
        }
        let fits = match &node.value {
            NodeValue::Boolean(_) | NodeValue::Integer(_) | NodeValue::String(_) => true,
            NodeValue::Array(items) => items.iter().all(|item| item.as_str().is_some()),
            NodeValue::Null => return None,
            _ => false,
        };
        if !fits {
            self.problem(
                format!("OTM attribute `{attribute}` cannot become property `{property}`"),
                node.span.clone(),
                "not a boolean, an integer, a string or a list of strings",
                format!(
                    "change the value, or remove `[attributes.\"{attribute}\"]` from the mapping"
                ),
            );
            return None;
        }
        Some(node.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_mapping_is_valid_and_uses_stride_core_kinds() {
        let mapping = Mapping::builtin();
        assert_eq!(
            mapping.trust_zone.kind,
            "threatpack/stride-core:entity/trust-boundary"
        );
        assert_eq!(
            mapping.dataflow.kind,
            "threatpack/stride-core:entity/data-flow"
        );
        assert!(mapping.types.len() > 50, "{}", mapping.types.len());
        for (otm_type, mapped) in &mapping.types {
            assert!(
                mapped.kind.starts_with("threatpack/stride-core:entity/"),
                "{otm_type}: {}",
                mapped.kind
            );
        }
    }

    #[test]
    fn model_ids_are_sanitised_deterministically() {
        let cases = [
            ("web-server", "web-server"),
            ("Web Server", "web-server"),
            ("database class", "database-class"),
            ("snake_case_id", "snake_case_id"),
            ("a -_b", "a-b"),
            ("--a--", "a"),
            (
                "53245f54-0656-4ede-a393-357aeaa2e20f",
                "component-53245f54-0656-4ede-a393-357aeaa2e20f",
            ),
            ("Café", "caf"),
            ("日本", "component"),
            ("", "component"),
            ("A.B/C", "a-b-c"),
        ];
        for (otm_id, expected) in cases {
            let id = model_id(otm_id, "component");
            assert_eq!(id, expected, "{otm_id:?}");
        }
        let long = model_id(&format!("{}-b", "a".repeat(63)), "component");
        assert_eq!(long, "a".repeat(63));
        let pattern = |id: &str| {
            let mut parts = id.split(['-', '_']);
            parts
                .next()
                .is_some_and(|first| first.starts_with(|c: char| c.is_ascii_lowercase()))
                && id.split(['-', '_']).all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
                && id.len() <= 64
        };
        for otm_id in [
            "x",
            "9lives",
            "__",
            "a__b",
            "ÄÖÜ-1",
            &"é".repeat(100),
            &"9".repeat(100),
        ] {
            let id = model_id(otm_id, "flow");
            assert!(pattern(&id), "{otm_id:?} gave {id:?}");
        }
    }

    #[test]
    fn a_user_mapping_is_layered_over_the_builtin_one() {
        let text = "format = 1\n[types.web-service]\nkind = \"process\"\n[types.\"CD-V2-AWS-LAMBDA\"]\nkind = \"serverless-function\"\nproperties = { internet_facing = true }\n";
        let mapping = Mapping::parse("mapping.toml", text).expect("valid");
        assert_eq!(mapping.types["web-service"].kind, "process");
        assert_eq!(
            mapping.types["CD-V2-AWS-LAMBDA"].properties["internet_facing"],
            Json::Bool(true)
        );
        assert_eq!(
            mapping.types["postgresql"].kind,
            "threatpack/stride-core:entity/database"
        );
        let alone = Mapping::parse("mapping.toml", &format!("include-builtin = false\n{text}"))
            .expect("valid");
        assert!(!alone.types.contains_key("postgresql"));
        assert_eq!(alone.trust_zone.kind, "trust-boundary");
        assert_eq!(alone.dataflow.kind, "data-flow");
    }

    #[test]
    fn a_broken_mapping_is_reported_at_its_place() {
        let text = "format = 1\n[types.x]\nkind = \"Not An Id\"\n[tags.t]\nproperties = { Bad = 1 }\n[dataflw]\nkind = \"data-flow\"\n";
        let problems = Mapping::parse("mapping.toml", text).expect_err("invalid");
        let lines: Vec<usize> = problems
            .iter()
            .filter_map(|problem| problem.primary.as_ref())
            .map(|label| text[..label.span.start].matches('\n').count() + 1)
            .collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        for line in [3, 5, 6] {
            assert!(lines.contains(&line), "line {line}: {problems:#?}");
        }
        assert!(
            problems
                .iter()
                .any(|problem| problem.help.as_deref() == Some("did you mean `dataflow`?")),
            "{problems:#?}"
        );
    }
}
