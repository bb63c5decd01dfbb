//! Microsoft Threat Modeling Tool models (`.tm7`, XML) read as system models.
//!
//! Every drawing surface's stencils become an OTM document (`otm::synthetic`) that the OTM
//! converter reads with TMT's built-in mapping (tm7-mapping.toml, laid over the OTM one):
//! processes, data stores and external interactors are components whose OTM type is their
//! stencil's `TypeId` (`SE.P.TMCore.WebAPI`), or, when the mapping does not name it, the
//! nearest ancestor it does, by the `ParentId`s of the template embedded in the model
//! (`KnowledgeBase`), down to the generic `GE.P`, `GE.DS`, `GE.EI`; their attributes, keyed by
//! display name, are the value of a list (`Android`), a string or a boolean; border
//! boundaries are trust zones holding the stencils whose centre they contain; connectors are
//! dataflows; `Out Of Scope` and `Reason For Out Of Scope` carry over. A connector that
//! crosses a line boundary named Internet (or of a `….Internet` type) reaches its target from
//! the internet; other line boundaries, notes, annotations and threat instances are not read.
//! Reference: docs/system-model.md.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use roxmltree::Node as Xml;

use super::otm::synthetic::{self, Ids, Rect};
use super::otm::{self, Mapping};
use super::{ModelFile, Syntax};
use crate::diagnostic::{Code, Diagnostic};
use crate::document::Node;

const BUILTIN_MAPPING: &str = include_str!("tm7-mapping.toml");

/// The most XML nodes read: a model of a few hundred stencils with the template embedded is
/// about 50,000; the cap keeps a hostile file from building a huge tree.
const XML_NODES_LIMIT: u32 = 2_000_000;

/// Whether a text is a TMT model: XML whose root element is `ThreatModel`, after an optional
/// declaration, comments and doctype (which the parser then refuses, with its place).
pub fn is_tm7(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        let (opening, closing) = if rest.starts_with("<?") {
            ("<?", "?>")
        } else if rest.starts_with("<!--") {
            ("<!--", "-->")
        } else if rest.starts_with("<!DOCTYPE") {
            // A doctype may hold `>` in its internal subset; the root follows its `]>`.
            let end = rest
                .find("]>")
                .map_or_else(|| rest.find('>'), |end| Some(end + 1));
            match end {
                Some(end) => {
                    rest = rest[end + 1..].trim_start();
                    continue;
                }
                None => return false,
            }
        } else {
            break;
        };
        match rest[opening.len()..].find(closing) {
            Some(end) => rest = rest[opening.len() + end + closing.len()..].trim_start(),
            None => return false,
        }
    }
    rest.starts_with("<ThreatModel")
        && rest["<ThreatModel".len()..]
            .starts_with(|next: char| next == '>' || next == '/' || next.is_whitespace())
}

/// The problem of a `.tm7` file that is not a TMT model (a zip, a template, a truncated file).
pub fn not_a_model(display_path: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidModel,
        format!("{display_path} is not a Threat Modeling Tool model"),
    )
    .at(display_path, 0..0, "expected XML whose root element is `ThreatModel`")
    .help("save the model from the Threat Modeling Tool as a `.tm7` file; a template (`.tb7`) holds threat knowledge, not a system model")
}

/// The built-in TMT mapping: tm7-mapping.toml over the OTM one.
pub fn builtin_mapping() -> &'static Mapping {
    static BUILTIN: OnceLock<Mapping> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        Mapping::from_builtin_text(
            "built-in TMT mapping",
            BUILTIN_MAPPING,
            Mapping::builtin().clone(),
        )
    })
}

/// Converts a TMT model; a user's mapping is laid over the built-in one.
pub fn convert(
    display_path: &str,
    text: &str,
    mapping: Option<&Mapping>,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let mapping = Mapping::for_format(mapping, builtin_mapping())?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: XML_NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    let xml = roxmltree::Document::parse_with_options(text, options).map_err(|error| {
        let position = error.pos();
        let offset = offset_of(text, position.row, position.col);
        vec![
            Diagnostic::new(
                Code::InvalidModel,
                format!("{display_path} is not a well-formed Threat Modeling Tool model"),
            )
            .at(display_path, offset..offset, error.to_string())
            .help("save the model again from the Threat Modeling Tool (a `.tm7` file is XML without a DTD)"),
        ]
    })?;
    let document = to_otm(&xml, &mapping);
    otm::convert_document(
        display_path,
        text.to_string(),
        Syntax::Json,
        document,
        &mapping,
    )
}

/// The byte offset of a 1-based row and column (in characters).
fn offset_of(text: &str, row: u32, col: u32) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(row.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let line = &text[line_start.min(text.len())..];
    line_start
        + line
            .char_indices()
            .nth(col.saturating_sub(1) as usize)
            .map_or(line.len(), |(offset, _)| offset)
}

/// The first child element named `name` (namespaces ignored: TMT writes the same names under
/// several prefixes).
fn child<'a, 'input>(node: Xml<'a, 'input>, name: &str) -> Option<Xml<'a, 'input>> {
    node.children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
}

fn children<'a, 'input: 'a>(
    node: Xml<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Xml<'a, 'input>> + 'a {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

fn text_of<'a>(node: Xml<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name)?.text().map(str::trim)
}

fn number_of(node: Xml<'_, '_>, name: &str) -> Option<f64> {
    text_of(node, name)?
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

/// The `ParentId` of every element type of the embedded template.
fn template_parents(root: Xml<'_, '_>) -> HashMap<String, String> {
    let mut parents = HashMap::new();
    let Some(knowledge_base) = child(root, "KnowledgeBase") else {
        return parents;
    };
    for list in ["GenericElements", "StandardElements"] {
        let Some(list) = child(knowledge_base, list) else {
            continue;
        };
        for element in children(list, "ElementType") {
            if let (Some(id), Some(parent)) = (text_of(element, "Id"), text_of(element, "ParentId"))
            {
                parents.insert(id.to_string(), parent.to_string());
            }
        }
    }
    parents
}

/// The type the mapping knows for a stencil: its own, or its nearest ancestor's.
fn mapped_type<'a>(
    type_id: &'a str,
    generic: &'a str,
    parents: &'a HashMap<String, String>,
    mapping: &Mapping,
) -> &'a str {
    let mut current = type_id;
    // The template could loop; no real one is deeper than a few levels.
    for _ in 0..16 {
        if mapping.types.contains_key(current) {
            return current;
        }
        match parents.get(current) {
            Some(parent) if parent != "ROOT" => current = parent,
            _ => break,
        }
    }
    if mapping.types.contains_key(generic) {
        generic
    } else {
        type_id
    }
}

/// A stencil's property: its display name, its value and the span of the value.
struct Property<'a> {
    name: &'a str,
    value: Value<'a>,
    span: Range<usize>,
}

enum Value<'a> {
    Text(&'a str),
    Boolean(bool),
}

fn properties<'a>(stencil: Xml<'a, '_>) -> Vec<Property<'a>> {
    let Some(list) = child(stencil, "Properties") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for property in children(list, "anyType") {
        let kind = property
            .attributes()
            .find(|attribute| attribute.name() == "type")
            .map(|attribute| attribute.value())
            .unwrap_or_default();
        let (Some(name), Some(value)) =
            (text_of(property, "DisplayName"), child(property, "Value"))
        else {
            continue;
        };
        let span = value.range();
        let value = if kind.ends_with("ListDisplayAttribute") {
            let index =
                text_of(property, "SelectedIndex").and_then(|index| index.parse::<usize>().ok());
            let chosen = index
                .and_then(|index| value.children().filter(|item| item.is_element()).nth(index));
            match chosen.and_then(|item| item.text()) {
                Some(text) => Value::Text(text.trim()),
                None => continue,
            }
        } else if kind.ends_with("BooleanDisplayAttribute") {
            match value.text().map(str::trim) {
                Some("true") => Value::Boolean(true),
                Some("false") => Value::Boolean(false),
                _ => continue,
            }
        } else if kind.ends_with("StringDisplayAttribute") {
            Value::Text(value.text().map(str::trim).unwrap_or_default())
        } else {
            continue;
        };
        found.push(Property { name, value, span });
    }
    found
}

/// The OTM entries of a stencil: id, name, out of scope, attributes.
fn element(stencil: Xml<'_, '_>, id: &str, name: Option<&str>) -> Vec<(&'static str, Node)> {
    let span = stencil.range();
    let mut entries = vec![("id", synthetic::string(span.clone(), id))];
    let mut attributes = Vec::new();
    for property in properties(stencil) {
        let value = match property.value {
            Value::Text(text) => synthetic::string(property.span.clone(), text),
            Value::Boolean(value) => synthetic::boolean(property.span.clone(), value),
        };
        match property.name {
            "Name" => {}
            "Out Of Scope" => entries.push(("outOfScope", value)),
            "Reason For Out Of Scope" => entries.push(("reasonOutOfScope", value)),
            _ => attributes.push((property.name, value)),
        }
    }
    if let Some(name) = name {
        entries.push((
            "name",
            synthetic::string(name_span(stencil).unwrap_or(span.clone()), name),
        ));
    }
    entries.push(("attributes", synthetic::table(span, attributes)));
    entries
}

fn name_of<'a>(stencil: Xml<'a, '_>) -> Option<&'a str> {
    properties(stencil)
        .into_iter()
        .find(|property| property.name == "Name")
        .and_then(|property| match property.value {
            Value::Text(text) if !text.is_empty() => Some(text),
            _ => None,
        })
}

fn name_span(stencil: Xml<'_, '_>) -> Option<Range<usize>> {
    properties(stencil)
        .into_iter()
        .find(|property| property.name == "Name")
        .map(|property| property.span)
}

/// A stencil on a drawing surface.
struct Stencil<'a, 'input> {
    node: Xml<'a, 'input>,
    guid: &'a str,
    generic: &'a str,
    type_id: &'a str,
    rect: Option<Rect>,
}

fn stencils<'a, 'input>(surface: Xml<'a, 'input>, list: &str) -> Vec<Stencil<'a, 'input>> {
    let Some(list) = child(surface, list) else {
        return Vec::new();
    };
    children(list, "KeyValueOfguidanyType")
        .filter_map(|pair| {
            let node = child(pair, "Value")?;
            let guid = text_of(node, "Guid").or_else(|| text_of(pair, "Key"))?;
            let generic = text_of(node, "GenericTypeId")?;
            let type_id = text_of(node, "TypeId").unwrap_or(generic);
            let rect = (|| {
                Some(Rect {
                    left: number_of(node, "Left")?,
                    top: number_of(node, "Top")?,
                    width: number_of(node, "Width")?,
                    height: number_of(node, "Height")?,
                })
            })();
            Some(Stencil {
                node,
                guid,
                generic,
                type_id,
                rect,
            })
        })
        .collect()
}

/// The OTM form of a TMT model.
fn to_otm(xml: &roxmltree::Document<'_>, mapping: &Mapping) -> Node {
    let root = xml.root_element();
    let whole = root.range();
    let parents = template_parents(root);
    let meta = child(root, "MetaInformation");
    let title = meta
        .and_then(|meta| text_of(meta, "ThreatModelName"))
        .filter(|name| !name.is_empty())
        .unwrap_or("Threat Modeling Tool model");
    let mut project = vec![
        (
            "id",
            synthetic::string(whole.start..whole.start, "tm7-model"),
        ),
        (
            "name",
            synthetic::string(
                meta.map_or(whole.start..whole.start, |meta| meta.range()),
                title,
            ),
        ),
    ];
    if let Some(description) = meta
        .and_then(|meta| child(meta, "HighLevelSystemDescription"))
        .and_then(|node| Some((node.range(), node.text()?.trim())))
        .filter(|(_, text)| !text.is_empty())
    {
        project.push((
            "description",
            synthetic::string(description.0, description.1),
        ));
    }
    let mut ids = Ids::default();
    let mut zones = Vec::new();
    let mut components = Vec::new();
    let mut dataflows = Vec::new();
    let surfaces = child(root, "DrawingSurfaceList")
        .map(|list| children(list, "DrawingSurfaceModel").collect::<Vec<_>>())
        .unwrap_or_default();
    for surface in surfaces {
        let borders = stencils(surface, "Borders");
        let boxes: Vec<(Rect, String, &Stencil<'_, '_>)> = borders
            .iter()
            .filter(|stencil| stencil.generic == "GE.TB.B")
            .filter_map(|stencil| {
                let rect = stencil.rect?;
                let id = ids.assign(stencil.guid, name_of(stencil.node), "trust boundary");
                Some((rect, id, stencil))
            })
            .collect();
        let rects: Vec<Rect> = boxes.iter().map(|(rect, _, _)| *rect).collect();
        for (index, (rect, id, stencil)) in boxes.iter().enumerate() {
            let mut entries = element(stencil.node, id, name_of(stencil.node));
            entries.push((
                "type",
                synthetic::string(stencil.node.range(), stencil.type_id),
            ));
            if let Some(parent) = rect.innermost(&rects, Some(index), true) {
                entries.push((
                    "parent",
                    synthetic::parent_zone(stencil.node.range(), &boxes[parent].1),
                ));
            }
            zones.push(synthetic::table(stencil.node.range(), entries));
        }
        for stencil in borders
            .iter()
            .filter(|stencil| ["GE.P", "GE.DS", "GE.EI"].contains(&stencil.generic))
        {
            let id = ids.assign(stencil.guid, name_of(stencil.node), "element");
            let mut entries = element(stencil.node, &id, name_of(stencil.node));
            let component_type = mapped_type(stencil.type_id, stencil.generic, &parents, mapping);
            let type_span =
                child(stencil.node, "TypeId").map_or(stencil.node.range(), |node| node.range());
            entries.push(("type", synthetic::string(type_span, component_type)));
            if let Some(zone) = stencil
                .rect
                .and_then(|rect| rect.innermost(&rects, None, false))
            {
                entries.push((
                    "parent",
                    synthetic::parent_zone(stencil.node.range(), &boxes[zone].1),
                ));
            }
            components.push(synthetic::table(stencil.node.range(), entries));
        }
        let lines = stencils(surface, "Lines");
        let internet_lines: Vec<Vec<(f64, f64)>> = lines
            .iter()
            .filter(|line| line.generic == "GE.TB.L")
            .filter(|line| {
                line.type_id.ends_with(".Internet")
                    || name_of(line.node).is_some_and(otm::is_internet_name)
            })
            .filter_map(|line| curve(line.node))
            .collect();
        for line in lines.iter().filter(|line| line.generic == "GE.DF") {
            // A connector not attached to a stencil at both ends (TMT draws them, and lists
            // them as validation errors) connects nothing: it is left out.
            let ends: Vec<Node> = ["SourceGuid", "TargetGuid"]
                .iter()
                .filter_map(|end| {
                    let end_node = child(line.node, end)?;
                    let own = ids.get(end_node.text()?.trim())?;
                    Some(synthetic::string(end_node.range(), own))
                })
                .collect();
            let Ok([source, destination]) = <[Node; 2]>::try_from(ends) else {
                continue;
            };
            let id = ids.assign(line.guid, name_of(line.node), "flow");
            let mut entries = element(line.node, &id, name_of(line.node));
            entries.push(("source", source));
            entries.push(("destination", destination));
            if let Some(curve) = curve(line.node)
                && internet_lines
                    .iter()
                    .any(|boundary| crosses(&curve, boundary))
            {
                // What a flow across the internet's line reaches is reachable from it.
                entries.push((
                    "isPublicNetwork",
                    synthetic::boolean(line.node.range(), true),
                ));
            }
            dataflows.push(synthetic::table(line.node.range(), entries));
        }
    }
    synthetic::table(
        whole.clone(),
        vec![
            (
                "otmVersion",
                synthetic::string(whole.start..whole.start, "0.2.0"),
            ),
            ("project", synthetic::table(whole.clone(), project)),
            ("trustZones", synthetic::array(whole.clone(), zones)),
            ("components", synthetic::array(whole.clone(), components)),
            ("dataflows", synthetic::array(whole, dataflows)),
        ],
    )
}

/// Points along a connector or line boundary: TMT draws a quadratic Bézier curve from
/// `SourceX/Y` to `TargetX/Y` with `HandleX/Y` as its control point.
fn curve(line: Xml<'_, '_>) -> Option<Vec<(f64, f64)>> {
    let point = |x: &str, y: &str| Some((number_of(line, x)?, number_of(line, y)?));
    let start = point("SourceX", "SourceY")?;
    let end = point("TargetX", "TargetY")?;
    let handle =
        point("HandleX", "HandleY").unwrap_or(((start.0 + end.0) / 2.0, (start.1 + end.1) / 2.0));
    const STEPS: usize = 16;
    Some(
        (0..=STEPS)
            .map(|step| {
                let t = step as f64 / STEPS as f64;
                let (a, b, c) = ((1.0 - t) * (1.0 - t), 2.0 * (1.0 - t) * t, t * t);
                (
                    a * start.0 + b * handle.0 + c * end.0,
                    a * start.1 + b * handle.1 + c * end.1,
                )
            })
            .collect(),
    )
}

/// Whether two polylines cross.
fn crosses(left: &[(f64, f64)], right: &[(f64, f64)]) -> bool {
    left.windows(2).any(|first| {
        right
            .windows(2)
            .any(|second| segments_cross(first[0], first[1], second[0], second[1]))
    })
}

fn segments_cross(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> bool {
    let side = |p: (f64, f64), q: (f64, f64), r: (f64, f64)| {
        (q.0 - p.0) * (r.1 - p.1) - (q.1 - p.1) * (r.0 - p.0)
    };
    let (d1, d2) = (side(c, d, a), side(c, d, b));
    let (d3, d4) = (side(a, b, c), side(a, b, d));
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

#[cfg(test)]
mod tests {
    use super::{crosses, is_tm7};

    #[test]
    fn polylines_cross_or_not() {
        let horizontal = [(0.0, 5.0), (10.0, 5.0)];
        assert!(crosses(&horizontal, &[(5.0, 0.0), (5.0, 10.0)]));
        assert!(!crosses(&horizontal, &[(5.0, 6.0), (5.0, 10.0)]));
        assert!(!crosses(&horizontal, &[(0.0, 6.0), (10.0, 6.0)]));
    }

    #[test]
    fn tm7_files_are_told_by_their_root_element() {
        assert!(is_tm7(
            "<ThreatModel xmlns=\"x\"><DrawingSurfaceList/></ThreatModel>"
        ));
        assert!(is_tm7("\u{feff}<?xml version=\"1.0\"?>\n<ThreatModel>"));
        assert!(is_tm7(
            "<!-- saved --><!DOCTYPE ThreatModel [<!ENTITY a \"x>\">]>\n<ThreatModel/>"
        ));
        assert!(!is_tm7("<ThreatModels>"));
        assert!(!is_tm7("[model]\nname = \"x\"\n"));
        assert!(!is_tm7("{\"otmVersion\": \"0.2.0\"}"));
    }
}
