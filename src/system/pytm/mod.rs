//! OWASP pytm's model dump (`python3 tm.py --json FILE`, pytm 1.4) read as a system model, for
//! packs made by `threatpack import pytm` (docs/interop.md#pytm-models-apply---model-tmjson).
//!
//! pytm writes the model after `check()`, so flows already carry what pytm derives (protocol
//! and encryption from their ends, their source's data). Every element becomes a component,
//! flow or boundary whose kind is the entity of its pytm class; every attribute of its class
//! becomes a property (enums as the importer types them: TLS versions and classifications as
//! ranks, `DatastoreType` as a lowercase name), controls too; the properties that summarise
//! pytm's helper methods are computed here (`carries_*` from the element's data,
//! `data_max_classification`, `weakest_input_tls_version` from its inputs). pytm's
//! `inScope = False` is `out-of-scope`. Since the dump holds every attribute of every element,
//! properties the knowledge base does not declare are ignored rather than errors.

pub mod classes;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value as Json;

use super::{ModelFile, Syntax};
use crate::diagnostic::{Code, Diagnostic};
use crate::document::Node;
use crate::model::{Model, ModelBoundary, ModelElement, ModelFlow, ModelInfo, OutOfScope};
use classes::{
    AttrType, CLASSIFICATIONS, CONTROLS, DATA_FLAGS, DATASTORE_TYPES, LIFETIMES,
    MAX_CLASSIFICATION, TLS_VERSIONS, WEAKEST_INPUT_TLS,
};

/// Whether a JSON document is pytm's dump: a table with pytm's `threatsFile`, `flows` and
/// `assets`.
pub fn is_pytm(document: &Node) -> bool {
    ["threatsFile", "flows", "assets"]
        .iter()
        .all(|key| document.get(key).is_some())
}

/// Converts pytm's dump into a model; every problem is reported, at its place in the dump.
pub(super) fn convert_document(
    display_path: &str,
    text: String,
    syntax: Syntax,
    document: Node,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let json = document.to_json();
    let (model, origins) = {
        let mut converter = Converter {
            file: display_path,
            document: &document,
            problems: Vec::new(),
            origins: Vec::new(),
            ids: HashMap::new(),
            taken: BTreeMap::new(),
        };
        let model = converter.model(&json);
        if !converter.problems.is_empty() {
            return Err(converter.problems);
        }
        (model, converter.origins)
    };
    let mut file = ModelFile::with_document(display_path, text, syntax, document, model, origins);
    file.ignores_undeclared_properties = true;
    Ok(file)
}

struct Converter<'a> {
    file: &'a str,
    document: &'a Node,
    problems: Vec<Diagnostic>,
    origins: Vec<(Vec<String>, Vec<String>)>,
    /// Model ids by pytm name, and pytm names by model id.
    ids: HashMap<String, String>,
    taken: BTreeMap<String, String>,
}

impl Converter<'_> {
    /// The model id of a pytm element's name; two elements with one id are a problem.
    fn id_of(&mut self, name: &str, role: &str, at: &[String]) -> String {
        let id = super::otm::model_id(name, role);
        match self.taken.get(&id).cloned() {
            Some(other) if other != name => self.problem(
                at,
                format!("pytm elements `{other}` and `{name}` both become `{id}`"),
                "give pytm elements names that differ in more than punctuation or case",
            ),
            Some(_) => self.problem(
                at,
                format!("two pytm elements are named `{name}`"),
                "pytm names elements in its dump: give each a distinct name",
            ),
            None => {
                self.taken.insert(id.clone(), name.to_string());
            }
        }
        self.ids.insert(name.to_string(), id.clone());
        id
    }

    fn problem(&mut self, at: &[String], message: String, help: &str) {
        let span = self.document.locate(at).node.span.clone();
        self.problems.push(
            Diagnostic::new(Code::InvalidModel, message)
                .at(self.file, span, "here")
                .help(help.to_string()),
        );
    }

    fn model(&mut self, json: &Json) -> Model {
        let text =
            |value: Option<&Json>| value.and_then(Json::as_str).unwrap_or_default().to_string();
        let mut model = Model {
            model: Some(ModelInfo {
                name: match text(json.get("name")) {
                    name if name.is_empty() => "pytm model".to_string(),
                    name => name,
                },
                description: Some(text(json.get("description"))).filter(|d| !d.is_empty()),
            }),
            ..Model::default()
        };
        // Data by name (pytm's dump names data in elements' `data`).
        let mut data: HashMap<String, Vec<&Json>> = HashMap::new();
        for datum in json
            .get("data")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            data.entry(text(datum.get("name"))).or_default().push(datum);
        }
        // Flows into each element that are not responses (pytm's `inputs`), by name.
        let flows = json
            .get("flows")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let tls_of_flow: HashMap<String, i64> = flows
            .iter()
            .map(|flow| {
                (
                    text(flow.get("name")),
                    rank(flow.get("tlsVersion"), &TLS_VERSIONS).unwrap_or(0),
                )
            })
            .collect();
        for table in ["actors", "assets"] {
            let items = json
                .get(table)
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            for (position, item) in items.iter().enumerate() {
                let at = vec![table.to_string(), position.to_string()];
                let name = text(item.get("name"));
                let class_name = text(item.get("__class__"));
                let Some(class) = classes::class(&class_name) else {
                    self.problem(
                        &at,
                        format!("`{name}` is of pytm class `{class_name}`, which threatpack does not know"),
                        "the classes of pytm 1.4 are read (docs/interop.md#pytm-models-apply---model-tmjson)",
                    );
                    continue;
                };
                let id = self.id_of(&name, "component", &at);
                let mut properties = self.properties(item, class, &at);
                add_data(&mut properties, item, &data, false);
                let weakest = item
                    .get("inputs")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|input| input.as_str().and_then(|name| tls_of_flow.get(name)))
                    .min()
                    .copied()
                    .unwrap_or(7);
                properties.insert(WEAKEST_INPUT_TLS.to_string(), Json::from(weakest));
                self.origins.push((
                    vec!["component".to_string(), model.component.len().to_string()],
                    at,
                ));
                model.component.push(ModelElement {
                    id,
                    name: Some(name),
                    description: Some(text(item.get("description"))).filter(|d| !d.is_empty()),
                    kind: class.entity.to_string(),
                    out_of_scope: out_of_scope(item),
                    properties,
                });
            }
        }
        let Some(dataflow) = classes::class("Dataflow") else {
            return model;
        };
        for (position, flow) in flows.iter().enumerate() {
            let at = vec!["flows".to_string(), position.to_string()];
            let name = text(flow.get("name"));
            let id = self.id_of(&name, "flow", &at);
            let mut ends = Vec::new();
            for end in ["source", "sink"] {
                let end_name = text(flow.get(end));
                match self.ids.get(&end_name) {
                    Some(end_id) => ends.push(end_id.clone()),
                    None => {
                        let mut place = at.clone();
                        place.push(end.to_string());
                        self.problem(
                            &place,
                            format!("flow `{name}`: its {end} `{end_name}` is not an actor or asset of the dump"),
                            "a pytm flow connects two elements of the model",
                        );
                    }
                }
            }
            let [source, target] = ends.as_slice() else {
                continue;
            };
            let mut properties = self.properties(flow, dataflow, &at);
            add_data(&mut properties, flow, &data, true);
            self.origins
                .push((vec!["flow".to_string(), model.flow.len().to_string()], at));
            model.flow.push(ModelFlow {
                id,
                name: Some(name),
                description: Some(text(flow.get("description"))).filter(|d| !d.is_empty()),
                kind: dataflow.entity.to_string(),
                source: source.clone(),
                target: target.clone(),
                out_of_scope: out_of_scope(flow),
                properties,
            });
        }
        let Some(boundary_class) = classes::class("Boundary") else {
            return model;
        };
        let boundaries = json
            .get("boundaries")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        // A boundary contains the components in it or in a boundary nested in it.
        let parent_of: HashMap<String, String> = boundaries
            .iter()
            .filter_map(|boundary| {
                Some((
                    text(boundary.get("name")),
                    boundary.get("inBoundary")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for table in ["actors", "assets"] {
            for item in json
                .get(table)
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let Some(id) = self.ids.get(&text(item.get("name"))).cloned() else {
                    continue;
                };
                let mut current = item
                    .get("inBoundary")
                    .and_then(Json::as_str)
                    .map(str::to_string);
                let mut seen = BTreeSet::new();
                while let Some(boundary) = current {
                    if !seen.insert(boundary.clone()) {
                        break;
                    }
                    members
                        .entry(boundary.clone())
                        .or_default()
                        .push(id.clone());
                    current = parent_of.get(&boundary).cloned();
                }
            }
        }
        for (position, boundary) in boundaries.iter().enumerate() {
            let at = vec!["boundaries".to_string(), position.to_string()];
            let name = text(boundary.get("name"));
            let id = self.id_of(&name, "boundary", &at);
            let properties = self.properties(boundary, boundary_class, &at);
            self.origins.push((
                vec!["boundary".to_string(), model.boundary.len().to_string()],
                at,
            ));
            model.boundary.push(ModelBoundary {
                id,
                name: Some(name.clone()),
                description: Some(text(boundary.get("description"))).filter(|d| !d.is_empty()),
                kind: boundary_class.entity.to_string(),
                contains: members.remove(&name).unwrap_or_default(),
                out_of_scope: out_of_scope(boundary),
                properties,
            });
        }
        model
    }

    /// Every attribute of `class` and every control, as properties.
    fn properties(
        &mut self,
        item: &Json,
        class: &classes::Class,
        at: &[String],
    ) -> BTreeMap<String, Json> {
        let mut properties = BTreeMap::new();
        for (attribute, kind, _) in classes::attributes(class) {
            if let Some(value) = item.get(attribute)
                && let Some(value) = self.value(value, kind, at, attribute)
            {
                properties.insert(classes::snake(attribute), value);
            }
        }
        if let Some(controls) = item.get("controls") {
            for control in CONTROLS {
                if let (Some(value), Some(kind)) =
                    (controls.get(control), classes::control_type(control))
                    && let Some(value) = self.value(value, kind, at, control)
                {
                    properties.insert(classes::control_property(control), value);
                }
            }
        }
        properties
    }

    /// A pytm value as a property value; a value of another shape is a problem.
    fn value(
        &mut self,
        value: &Json,
        kind: AttrType,
        at: &[String],
        attribute: &str,
    ) -> Option<Json> {
        let converted = match kind {
            AttrType::Bool => value.as_bool().map(Json::Bool),
            AttrType::Str => value.as_str().map(|text| Json::String(text.to_string())),
            AttrType::Int => value.as_i64().map(Json::from),
            AttrType::Tls => rank(Some(value), &TLS_VERSIONS).map(Json::from),
            AttrType::Classification => rank(Some(value), &CLASSIFICATIONS).map(Json::from),
            AttrType::DatastoreType => {
                let member = member(value)?;
                DATASTORE_TYPES
                    .contains(&member)
                    .then(|| Json::String(classes::enum_value(member)))
            }
        };
        if converted.is_none() {
            let mut place = at.to_vec();
            place.push(attribute.to_string());
            self.problem(
                &place,
                format!("pytm's `{attribute}` has a value threatpack cannot read: {value}"),
                "is the dump from pytm 1.4 (`python3 tm.py --json FILE`)?",
            );
        }
        converted
    }
}

/// `"TLSVersion.TLSv12"` -> `TLSv12`.
fn member(value: &Json) -> Option<&str> {
    let text = value.as_str()?;
    Some(text.rsplit_once('.').map_or(text, |(_, member)| member))
}

/// An ordered enum's rank: `"Classification.SECRET"` -> 4 (a number is taken as it is).
fn rank(value: Option<&Json>, members: &[&str]) -> Option<i64> {
    let value = value?;
    if let Some(number) = value.as_i64() {
        return (0..members.len() as i64)
            .contains(&number)
            .then_some(number);
    }
    let member = member(value)?;
    members
        .iter()
        .position(|known| *known == member)
        .and_then(|index| i64::try_from(index).ok())
}

fn out_of_scope(item: &Json) -> Option<OutOfScope> {
    (item.get("inScope").and_then(Json::as_bool) == Some(false))
        .then(|| OutOfScope::Reason("pytm: inScope = False".to_string()))
}

/// The properties computed from an element's data: which per-datum tests some datum passes,
/// and (flows) the highest classification.
fn add_data(
    properties: &mut BTreeMap<String, Json>,
    item: &Json,
    data: &HashMap<String, Vec<&Json>>,
    flow: bool,
) {
    let mut carried = BTreeSet::new();
    let mut highest = 0;
    for name in item
        .get("data")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        for datum in name
            .as_str()
            .and_then(|name| data.get(name))
            .into_iter()
            .flatten()
        {
            let flags: Vec<usize> = DATA_FLAGS
                .iter()
                .enumerate()
                .filter(|(_, (flag, _))| datum.get(flag).and_then(Json::as_bool) == Some(true))
                .map(|(index, _)| index)
                .collect();
            for (position, first) in flags.iter().enumerate() {
                carried.insert(format!("carries_{}", DATA_FLAGS[*first].1));
                for second in &flags[position + 1..] {
                    carried.insert(format!(
                        "carries_{}_and_{}",
                        DATA_FLAGS[*first].1, DATA_FLAGS[*second].1
                    ));
                }
            }
            if let Some(format) = datum.get("format").and_then(Json::as_str) {
                let slug = classes::format_slug(format);
                if !slug.is_empty() {
                    carried.insert(format!("carries_format_{slug}"));
                }
            }
            if let Some(life) = datum.get("credentialsLife").and_then(member)
                && LIFETIMES.contains(&life)
            {
                carried.insert(format!(
                    "carries_credentials_life_{}",
                    life.to_ascii_lowercase()
                ));
            }
            highest = highest.max(rank(datum.get("classification"), &CLASSIFICATIONS).unwrap_or(0));
        }
    }
    for name in carried {
        properties.insert(name, Json::Bool(true));
    }
    if flow {
        properties.insert(MAX_CLASSIFICATION.to_string(), Json::from(highest));
    }
}
