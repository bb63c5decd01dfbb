//! OWASP Threat Dragon v2 models (JSON) read as system models.
//!
//! The diagrams' cells become an OTM document (`otm::synthetic`) that the OTM converter reads
//! with Threat Dragon's built-in mapping (threat-dragon-mapping.toml, laid over the OTM one):
//! actors, processes and stores are components of type `tm.Actor`, `tm.Process`, `tm.Store`,
//! their Threat Dragon properties (`isEncrypted`, `storesCredentials`, ...) attributes; flows
//! are dataflows; trust boundary boxes are trust zones holding the shapes whose centre they
//! contain; `outOfScope`/`reasonOutOfScope` and `isPublicNetwork` carry over. Trust boundary
//! curves, threats and text blocks are not read. Reference: docs/system-model.md.

use std::sync::OnceLock;

use super::otm::synthetic::{self, Ids, Rect};
use super::otm::{self, Mapping};
use super::{ModelFile, Syntax};
use crate::diagnostic::{Code, Diagnostic};
use crate::document::{Node, NodeValue};

const BUILTIN_MAPPING: &str = include_str!("threat-dragon-mapping.toml");

/// Whether a JSON document is a Threat Dragon v2 model: `summary` and `detail.diagrams`.
pub fn is_threat_dragon(document: &Node) -> bool {
    document.get("summary").is_some()
        && document
            .get("detail")
            .is_some_and(|detail| detail.value.get("diagrams").is_some())
}

/// The built-in Threat Dragon mapping: threat-dragon-mapping.toml over the OTM one.
pub fn builtin_mapping() -> &'static Mapping {
    static BUILTIN: OnceLock<Mapping> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        Mapping::from_builtin_text(
            "built-in Threat Dragon mapping",
            BUILTIN_MAPPING,
            Mapping::builtin().clone(),
        )
    })
}

/// Converts a parsed Threat Dragon model; a user's mapping is laid over the built-in one.
pub(super) fn convert_document(
    display_path: &str,
    text: String,
    syntax: Syntax,
    document: &Node,
    mapping: Option<&Mapping>,
) -> Result<ModelFile, Vec<Diagnostic>> {
    if let Some(diagram) = version_1_diagram(document) {
        return Err(vec![
            Diagnostic::new(
                Code::InvalidModel,
                "a Threat Dragon v1 model: its diagrams are `diagramJson`, not v2 `cells`",
            )
            .at(display_path, diagram, "a v1 diagram")
            .help("open the model in Threat Dragon 2 and save it, which converts it to v2"),
        ]);
    }
    let mapping = Mapping::for_format(mapping, builtin_mapping())?;
    let otm_document = to_otm(document);
    otm::convert_document(display_path, text, syntax, otm_document, &mapping)
}

/// The span of the first diagram in Threat Dragon v1's shape (`diagramJson.cells`).
fn version_1_diagram(document: &Node) -> Option<std::ops::Range<usize>> {
    let diagrams = &document.get("detail")?.value.get("diagrams")?.value;
    let NodeValue::Array(diagrams) = &diagrams.value else {
        return None;
    };
    diagrams
        .iter()
        .find(|diagram| diagram.get("diagramJson").is_some() && diagram.get("cells").is_none())
        .map(|diagram| diagram.span.clone())
}

/// Keys of a cell's `data` that are not attributes.
const NOT_ATTRIBUTES: [&str; 9] = [
    "type",
    "name",
    "description",
    "threats",
    "outOfScope",
    "reasonOutOfScope",
    "hasOpenThreats",
    "isTrustBoundary",
    "threatFrequency",
];

/// The OTM form of a Threat Dragon model.
fn to_otm(document: &Node) -> Node {
    let whole = document.span.clone();
    let mut project = vec![(
        "id",
        synthetic::string(whole.clone(), "threat-dragon-model"),
    )];
    if let Some(summary) = document.get("summary") {
        let title = summary.value.get("title").and_then(|title| {
            Some(synthetic::string(
                title.value.span.clone(),
                title.value.as_str()?,
            ))
        });
        project.push((
            "name",
            title.unwrap_or_else(|| {
                synthetic::string(summary.value.span.clone(), "Threat Dragon model")
            }),
        ));
        if let Some(description) = summary.value.get("description") {
            project.push(("description", description.value.clone()));
        }
    }
    let mut cells: Vec<(usize, &Node)> = Vec::new();
    if let Some(NodeValue::Array(diagrams)) = document
        .get("detail")
        .and_then(|detail| detail.value.get("diagrams"))
        .map(|diagrams| &diagrams.value.value)
    {
        for (diagram, node) in diagrams.iter().enumerate() {
            if let Some(NodeValue::Array(items)) = node.get("cells").map(|cells| &cells.value.value)
            {
                cells.extend(items.iter().map(|cell| (diagram, cell)));
            }
        }
    }
    let mut ids = Ids::default();
    // Every trust boundary box: its diagram, its rectangle, its id and its cell.
    let mut boxes: Vec<(usize, Rect, String, &Node)> = Vec::new();
    for &(diagram, cell) in &cells {
        if cell_type(cell) != Some("tm.BoundaryBox") {
            continue;
        }
        let Some(rect) = rect(cell) else { continue };
        let id = ids.assign(cell_id(cell), cell_name(cell).as_deref(), "trust boundary");
        boxes.push((diagram, rect, id, cell));
    }
    // The zone a rectangle of `diagram` sits in: the smallest box of the same diagram around it.
    let zone_of = |diagram: usize, shape: &Rect, skip: Option<&str>, whole: bool| {
        let same: Vec<&(usize, Rect, String, &Node)> =
            boxes.iter().filter(|entry| entry.0 == diagram).collect();
        let rects: Vec<Rect> = same.iter().map(|entry| entry.1).collect();
        let skip = skip.and_then(|id| same.iter().position(|entry| entry.2 == id));
        shape
            .innermost(&rects, skip, whole)
            .map(|index| same[index].2.clone())
    };
    let mut zones = Vec::new();
    for (diagram, rect, id, cell) in &boxes {
        let mut entries = element(cell, id);
        if let Some(parent) = zone_of(*diagram, rect, Some(id), true) {
            entries.push(("parent", synthetic::parent_zone(cell.span.clone(), &parent)));
        }
        zones.push(synthetic::table(cell.span.clone(), entries));
    }
    let mut components = Vec::new();
    for &(diagram, cell) in &cells {
        let Some(kind) =
            cell_type(cell).filter(|kind| ["tm.Actor", "tm.Process", "tm.Store"].contains(kind))
        else {
            continue;
        };
        let id = ids.assign(cell_id(cell), cell_name(cell).as_deref(), "element");
        let mut entries = element(cell, &id);
        let type_span = cell
            .get("data")
            .and_then(|data| data.value.get("type"))
            .map_or(cell.span.clone(), |entry| entry.value.span.clone());
        entries.push(("type", synthetic::string(type_span, kind)));
        if let Some(zone) = rect(cell).and_then(|rect| zone_of(diagram, &rect, None, false)) {
            entries.push(("parent", synthetic::parent_zone(cell.span.clone(), &zone)));
        }
        components.push(synthetic::table(cell.span.clone(), entries));
    }
    let mut dataflows = Vec::new();
    for &(_, cell) in &cells {
        if cell_type(cell) != Some("tm.Flow") {
            continue;
        }
        // A flow not attached to a shape at both ends (Threat Dragon draws them, ending at a
        // point) connects nothing: it is left out.
        let ends: Vec<Node> = ["source", "target"]
            .iter()
            .filter_map(|end| {
                let target = cell.get(end)?.value.get("cell")?;
                let own = ids.get(target.value.as_str()?)?;
                Some(synthetic::string(target.value.span.clone(), own))
            })
            .collect();
        let Ok([source, target]) = <[Node; 2]>::try_from(ends) else {
            continue;
        };
        let id = ids.assign(cell_id(cell), cell_name(cell).as_deref(), "flow");
        let mut entries = element(cell, &id);
        entries.push(("source", source.clone()));
        entries.push(("destination", target.clone()));
        let data = cell.get("data").map(|data| &data.value);
        if let Some(public) = data.and_then(|data| data.get("isPublicNetwork")) {
            entries.push(("isPublicNetwork", public.value.clone()));
        }
        let bidirectional = data
            .and_then(|data| data.get("isBidirectional"))
            .is_some_and(|entry| matches!(entry.value.value, NodeValue::Boolean(true)));
        dataflows.push(synthetic::table(cell.span.clone(), entries.clone()));
        if bidirectional {
            // Threat Dragon draws one arrow for both directions; the model needs two flows.
            let reverse_id = ids.fresh(&format!("{id} reverse"));
            for (key, value) in &mut entries {
                match *key {
                    "id" => *value = synthetic::string(value.span.clone(), &reverse_id),
                    "source" => *value = target.clone(),
                    "destination" => *value = source.clone(),
                    _ => {}
                }
            }
            dataflows.push(synthetic::table(cell.span.clone(), entries));
        }
    }
    synthetic::table(
        whole.clone(),
        vec![
            (
                "otmVersion",
                synthetic::string(whole.start..whole.start, "0.2.0"),
            ),
            (
                "project",
                synthetic::table(
                    document
                        .get("summary")
                        .map_or(whole.clone(), |summary| summary.value.span.clone()),
                    project,
                ),
            ),
            ("trustZones", synthetic::array(whole.clone(), zones)),
            ("components", synthetic::array(whole.clone(), components)),
            ("dataflows", synthetic::array(whole, dataflows)),
        ],
    )
}

/// A cell's `data.type`.
fn cell_type(cell: &Node) -> Option<&str> {
    cell.get("data")?.value.get("type")?.value.as_str()
}

fn number(node: &Node, key: &str) -> Option<f64> {
    match node.get(key)?.value.value {
        NodeValue::Integer(value) => Some(value as f64),
        NodeValue::Float(value) if value.is_finite() => Some(value),
        _ => None,
    }
}

/// A shape's `position` and `size`.
fn rect(cell: &Node) -> Option<Rect> {
    let position = &cell.get("position")?.value;
    let size = &cell.get("size")?.value;
    Some(Rect {
        left: number(position, "x")?,
        top: number(position, "y")?,
        width: number(size, "width")?,
        height: number(size, "height")?,
    })
}

/// The OTM entries every element has: id, name, description, out of scope, attributes.
fn element(cell: &Node, id: &str) -> Vec<(&'static str, Node)> {
    let id_span = cell
        .get("id")
        .map_or(cell.span.clone(), |entry| entry.value.span.clone());
    let mut entries = vec![("id", synthetic::string(id_span, id))];
    let Some(data) = cell.get("data") else {
        return entries;
    };
    for key in ["name", "description", "outOfScope", "reasonOutOfScope"] {
        if let Some(entry) = data.value.get(key) {
            let value = match &entry.value.value {
                // Threat Dragon names keep the line breaks of the drawing.
                NodeValue::String(text) if key == "name" => {
                    synthetic::string(entry.value.span.clone(), &one_line(text))
                }
                _ => entry.value.clone(),
            };
            entries.push((key, value));
        }
    }
    let NodeValue::Table(fields) = &data.value.value else {
        return entries;
    };
    let attributes: Vec<(&str, Node)> = fields
        .iter()
        .filter(|field| !NOT_ATTRIBUTES.contains(&field.key.as_str()))
        .filter(|field| {
            matches!(
                field.value.value,
                NodeValue::Boolean(_) | NodeValue::String(_) | NodeValue::Integer(_)
            )
        })
        .map(|field| (field.key.as_str(), field.value.clone()))
        .collect();
    entries.push((
        "attributes",
        synthetic::table(data.value.span.clone(), attributes),
    ));
    entries
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cell_id(cell: &Node) -> &str {
    cell.get("id")
        .and_then(|id| id.value.as_str())
        .unwrap_or_default()
}

/// A cell's name on one line (Threat Dragon keeps the line breaks of the drawing).
fn cell_name(cell: &Node) -> Option<String> {
    let name = cell.get("data")?.value.get("name")?.value.as_str()?;
    Some(one_line(name))
}
