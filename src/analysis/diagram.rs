//! The data-flow diagram of a threat model: boundaries as boxes, components as nodes, flows as
//! arrows, each marked with its worst residual risk. One deterministic layout, drawn as an SVG
//! (`apply --format html`) or written as a Mermaid flowchart (`apply --format mermaid`), and
//! whose positions the OTM export gives as a representation.
//!
//! The layout is a grid of nested boxes, not a graph layout: every boundary is drawn around the
//! components it contains and the boundaries inside it, in model order, rows about as long as
//! they are many. Boundaries may overlap in a model; a drawing cannot show that, so each
//! component is drawn in the smallest boundary that contains it, and each boundary inside the
//! smallest one holding all its components.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use crate::analysis::report::Report;
use crate::analysis::view::{element_label, one_line, shorten};
use crate::model::Severity;
use crate::system::flat::FlatModel;
use crate::system::validate::Role;

/// A component's box.
pub const NODE_WIDTH: u32 = 180;
pub const NODE_HEIGHT: u32 = 56;
/// Space between boxes, and inside a boundary around its content.
const GAP: u32 = 40;
/// The band at the top of a boundary that holds its name.
const ZONE_HEADER: u32 = 28;
/// Characters of a label shown in a box (the whole label is the box's tooltip).
const NODE_LABEL: usize = 24;
const FLOW_LABEL: usize = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    fn center(self) -> (f64, f64) {
        (
            f64::from(self.x) + f64::from(self.width) / 2.0,
            f64::from(self.y) + f64::from(self.height) / 2.0,
        )
    }
}

/// What the report found on one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Findings {
    pub threats: usize,
    /// The worst residual risk among them; `None` when none is left (or there are none).
    pub worst: Option<Severity>,
}

impl Findings {
    /// The CSS class (and Mermaid class) of the worst residual risk.
    pub fn class(self) -> &'static str {
        match (self.threats, self.worst) {
            (0, _) => "r-clear",
            (_, None) => "r-none",
            (_, Some(severity)) => match severity {
                Severity::Critical => "r-critical",
                Severity::High => "r-high",
                Severity::Medium => "r-medium",
                Severity::Low => "r-low",
                Severity::Info => "r-info",
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The boundary it is drawn in.
    pub zone: Option<usize>,
    pub rect: Rect,
    pub findings: Findings,
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The boundary it is drawn in.
    pub parent: Option<usize>,
    pub rect: Rect,
    pub findings: Findings,
}

#[derive(Debug, Clone)]
pub struct Arrow {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Indexes of `Diagram::nodes`.
    pub source: usize,
    pub target: usize,
    pub findings: Findings,
}

/// A model laid out.
#[derive(Debug, Clone, Default)]
pub struct Diagram {
    pub nodes: Vec<Node>,
    pub zones: Vec<Zone>,
    /// Flows between components the model has; a flow naming anything else is left out.
    pub arrows: Vec<Arrow>,
    pub width: u32,
    pub height: u32,
}

/// One box to place inside a container: a zone or a node.
#[derive(Debug, Clone, Copy)]
enum Child {
    Zone(usize),
    Node(usize),
}

impl Diagram {
    /// The model's diagram, each element marked with what `report` found on it.
    pub fn new(model: &FlatModel, report: &Report) -> Diagram {
        Diagram::with_threats(
            model,
            report
                .threats
                .iter()
                .map(|threat| (threat.element.as_str(), threat.residual.severity)),
        )
    }

    /// The model's diagram, each element marked with its threats given as `(element id, residual
    /// severity)`: for a report read back as only those fields (the registry's project page).
    pub fn with_threats<'a>(
        model: &FlatModel,
        threats: impl IntoIterator<Item = (&'a str, Option<Severity>)>,
    ) -> Diagram {
        let mut findings: HashMap<&str, Findings> = HashMap::new();
        for (element, residual) in threats {
            let entry = findings.entry(element).or_default();
            entry.threats += 1;
            entry.worst = entry.worst.max(residual);
        }
        let found = |id: &str| findings.get(id).copied().unwrap_or_default();
        let mut diagram = Diagram::default();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut flows = Vec::new();
        for element in model.elements() {
            let name = element.name.unwrap_or(element.id).to_string();
            match element.role {
                Role::Component => diagram.nodes.push(Node {
                    id: element.id.to_string(),
                    name,
                    kind: element.kind.to_string(),
                    zone: None,
                    rect: Rect::default(),
                    findings: found(element.id),
                }),
                Role::Boundary => {
                    diagram.zones.push(Zone {
                        id: element.id.to_string(),
                        name,
                        kind: element.kind.to_string(),
                        parent: None,
                        rect: Rect::default(),
                        findings: found(element.id),
                    });
                    members.push(Vec::new());
                }
                Role::Flow => {
                    if let Some((source, target)) = element.ends() {
                        flows.push((
                            element.id.to_string(),
                            name,
                            element.kind.to_string(),
                            source.to_string(),
                            target.to_string(),
                        ));
                    }
                }
            }
        }
        let node_index: HashMap<&str, usize> = diagram
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| (node.id.as_str(), index))
            .collect();
        let mut zone_number = 0;
        for element in model.elements() {
            if element.role == Role::Boundary {
                let mut seen = HashSet::new();
                members[zone_number] = element
                    .members()
                    .filter_map(|member| node_index.get(member).copied())
                    .filter(|node| seen.insert(*node))
                    .collect();
                zone_number += 1;
            }
        }
        for (id, name, kind, source, target) in flows {
            if let (Some(&source), Some(&target)) = (
                node_index.get(source.as_str()),
                node_index.get(target.as_str()),
            ) {
                diagram.arrows.push(Arrow {
                    findings: found(&id),
                    id,
                    name,
                    kind,
                    source,
                    target,
                });
            }
        }
        diagram.nest(&members);
        diagram.layout();
        diagram
    }

    /// Puts each node in the smallest zone holding it, and each zone in the smallest zone
    /// holding all its nodes. "Smaller" is (member count, later in the model): a strict order,
    /// so a zone's parent is always larger and nesting has no cycle.
    fn nest(&mut self, members: &[Vec<usize>]) {
        let rank = |zone: usize| (members[zone].len(), std::cmp::Reverse(zone));
        for (zone, nodes) in members.iter().enumerate() {
            for node in nodes {
                let current = self.nodes[*node].zone;
                if current.is_none_or(|current| rank(zone) < rank(current)) {
                    self.nodes[*node].zone = Some(zone);
                }
            }
        }
        let sets: Vec<HashSet<usize>> = members
            .iter()
            .map(|nodes| nodes.iter().copied().collect())
            .collect();
        // Candidates by rank: the first larger one holding every member is the smallest.
        let mut by_rank: Vec<usize> = (0..members.len()).collect();
        by_rank.sort_by_key(|zone| rank(*zone));
        for (zone, nodes) in members.iter().enumerate() {
            if nodes.is_empty() {
                continue;
            }
            self.zones[zone].parent = by_rank
                .iter()
                .copied()
                .filter(|other| rank(*other) > rank(zone))
                .find(|other| nodes.iter().all(|node| sets[*other].contains(node)));
        }
    }

    /// Sizes every box from the inside out, then places them from the outside in.
    fn layout(&mut self) {
        let zone_count = self.zones.len();
        // Children of each zone, and of the drawing itself (index `zone_count`), in model
        // order: zones first, then nodes.
        let mut children: Vec<Vec<Child>> = vec![Vec::new(); zone_count + 1];
        for (index, zone) in self.zones.iter().enumerate() {
            children[zone.parent.unwrap_or(zone_count)].push(Child::Zone(index));
        }
        for (index, node) in self.nodes.iter().enumerate() {
            children[node.zone.unwrap_or(zone_count)].push(Child::Node(index));
        }
        // Inner zones first: a zone's parent is always later in this order (see `nest`).
        let mut order: Vec<usize> = (0..zone_count).collect();
        let depth = |mut zone: usize| {
            let mut depth = 0usize;
            while let Some(parent) = self.zones[zone].parent {
                depth += 1;
                zone = parent;
            }
            depth
        };
        let depths: Vec<usize> = order.iter().map(|zone| depth(*zone)).collect();
        order.sort_by_key(|zone| std::cmp::Reverse(depths[*zone]));
        // Each container's content: its size and each child's offset within it.
        let mut sizes: Vec<(u32, u32)> = vec![(0, 0); zone_count + 1];
        let mut offsets: Vec<Vec<(u32, u32)>> = vec![Vec::new(); zone_count + 1];
        let size_of = |child: Child, sizes: &[(u32, u32)]| match child {
            Child::Node(_) => (NODE_WIDTH, NODE_HEIGHT),
            Child::Zone(zone) => {
                let (width, height) = sizes[zone];
                (
                    (width + 2 * GAP).max(NODE_WIDTH + 2 * GAP),
                    height + ZONE_HEADER + 2 * GAP,
                )
            }
        };
        for container in order.into_iter().chain([zone_count]) {
            let boxes: Vec<(u32, u32)> = children[container]
                .iter()
                .map(|child| size_of(*child, &sizes))
                .collect();
            let (size, placed) = grid(&boxes);
            sizes[container] = size;
            offsets[container] = placed;
        }
        // Places each container's children at its content origin, outermost first.
        let mut stack = vec![(zone_count, GAP, GAP)];
        while let Some((container, x, y)) = stack.pop() {
            for (child, (dx, dy)) in children[container].iter().zip(&offsets[container]) {
                let (width, height) = size_of(*child, &sizes);
                let rect = Rect {
                    x: x + dx,
                    y: y + dy,
                    width,
                    height,
                };
                match child {
                    Child::Node(node) => self.nodes[*node].rect = rect,
                    Child::Zone(zone) => {
                        self.zones[*zone].rect = rect;
                        stack.push((*zone, rect.x + GAP, rect.y + ZONE_HEADER + GAP));
                    }
                }
            }
        }
        let (width, height) = sizes[zone_count];
        self.width = width + 2 * GAP;
        self.height = height + 2 * GAP;
    }

    /// The diagram as an SVG element (no script, no external reference, every text escaped).
    /// Its look comes from the classes `SVG_STYLE` styles.
    pub fn svg(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dfd\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Data-flow diagram\">\n\
             <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
             <path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n",
            w = self.width,
            h = self.height
        );
        // Outer zones first, so inner ones are drawn over them.
        let mut zones: Vec<usize> = (0..self.zones.len()).collect();
        zones.sort_by_key(|zone| (self.zones[*zone].rect.width, self.zones[*zone].rect.height));
        for index in zones.into_iter().rev() {
            let zone = &self.zones[index];
            let Rect {
                x,
                y,
                width,
                height,
            } = zone.rect;
            let _ = writeln!(
                out,
                "<g class=\"zone {class}\"><title>{title}</title>\
                 <rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" rx=\"6\"/>\
                 <text x=\"{tx}\" y=\"{ty}\">{label}</text></g>",
                class = zone.findings.class(),
                title = escape(&title(&zone.id, &zone.name, &zone.kind, zone.findings)),
                tx = x + 10,
                ty = y + 19,
                label = escape(&shorten(&one_line(&zone.name), (width / 8).max(8) as usize)),
            );
        }
        for arrow in self.arrow_lines() {
            let (x1, y1, x2, y2) = arrow.line;
            let flow = &self.arrows[arrow.index];
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
            let path = if flow.source == flow.target {
                // A flow from a component to itself: a loop on its right side.
                let rect = self.nodes[flow.source].rect;
                let right = f64::from(rect.x + rect.width);
                let top = f64::from(rect.y) + 12.0;
                let bottom = f64::from(rect.y + rect.height) - 12.0;
                format!(
                    "M{right:.1},{top:.1} C{:.1},{top:.1} {:.1},{bottom:.1} {right:.1},{bottom:.1}",
                    right + 40.0,
                    right + 40.0
                )
            } else {
                format!("M{x1:.1},{y1:.1} L{x2:.1},{y2:.1}")
            };
            let (lx, ly) = if flow.source == flow.target {
                let rect = self.nodes[flow.source].rect;
                (
                    f64::from(rect.x + rect.width) + 44.0,
                    f64::from(rect.y) + f64::from(rect.height) / 2.0,
                )
            } else {
                (mx, my - 4.0)
            };
            let _ = writeln!(
                out,
                "<g class=\"flow {class}\"><title>{title}</title>\
                 <path d=\"{path}\" marker-end=\"url(#arrow)\"/>\
                 <text x=\"{lx:.1}\" y=\"{ly:.1}\">{label}</text></g>",
                class = flow.findings.class(),
                title = escape(&flow_title(self, flow)),
                label = escape(&shorten(&one_line(&flow.name), FLOW_LABEL)),
            );
        }
        for node in &self.nodes {
            let Rect {
                x,
                y,
                width,
                height,
            } = node.rect;
            let threats = match node.findings.threats {
                0 => "no threat".to_string(),
                1 => "1 threat".to_string(),
                count => format!("{count} threats"),
            };
            let _ = writeln!(
                out,
                "<g class=\"node {class}\"><title>{title}</title>\
                 <rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" rx=\"4\"/>\
                 <text x=\"{cx}\" y=\"{ty1}\">{label}</text>\
                 <text class=\"count\" x=\"{cx}\" y=\"{ty2}\">{threats}</text></g>",
                class = node.findings.class(),
                title = escape(&title(&node.id, &node.name, &node.kind, node.findings)),
                cx = x + width / 2,
                ty1 = y + 24,
                ty2 = y + 42,
                label = escape(&shorten(&one_line(&node.name), NODE_LABEL)),
            );
        }
        out.push_str("</svg>\n");
        out
    }

    /// Each arrow's line between the borders of its ends; arrows between the same two
    /// components are drawn side by side, not on top of each other.
    fn arrow_lines(&self) -> Vec<ArrowLine> {
        let mut pairs: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (index, arrow) in self.arrows.iter().enumerate() {
            let pair = (
                arrow.source.min(arrow.target),
                arrow.source.max(arrow.target),
            );
            pairs.entry(pair).or_default().push(index);
        }
        let mut lines = Vec::with_capacity(self.arrows.len());
        for ((low, high), arrows) in pairs {
            let (ax, ay) = self.nodes[low].rect.center();
            let (bx, by) = self.nodes[high].rect.center();
            let (dx, dy) = (bx - ax, by - ay);
            let length = (dx * dx + dy * dy).sqrt().max(1.0);
            // The unit normal of the line from `low` to `high`.
            let (nx, ny) = (-dy / length, dx / length);
            let count = arrows.len() as f64;
            for (position, index) in arrows.into_iter().enumerate() {
                let offset = (position as f64 - (count - 1.0) / 2.0) * 10.0;
                let arrow = &self.arrows[index];
                let from = self.nodes[arrow.source].rect;
                let to = self.nodes[arrow.target].rect;
                let (sx, sy) = from.center();
                let (tx, ty) = to.center();
                let (sx, sy, tx, ty) = (
                    sx + nx * offset,
                    sy + ny * offset,
                    tx + nx * offset,
                    ty + ny * offset,
                );
                let (x1, y1) = border(from, (sx, sy), (tx, ty));
                let (x2, y2) = border(to, (tx, ty), (sx, sy));
                lines.push(ArrowLine {
                    index,
                    line: (x1, y1, x2, y2),
                });
            }
        }
        lines.sort_by_key(|line| line.index);
        lines
    }

    /// The diagram as a Mermaid flowchart: boundaries as subgraphs, labels escaped, ids made of
    /// letters, digits and `_` only (`c_`, `b_` or `f_` and the model id, numbered when two
    /// model ids give the same one).
    pub fn mermaid(&self) -> String {
        let mut used = HashSet::new();
        let node_ids: Vec<String> = self
            .nodes
            .iter()
            .map(|node| mermaid_id("c", &node.id, &mut used))
            .collect();
        let zone_ids: Vec<String> = self
            .zones
            .iter()
            .map(|zone| mermaid_id("b", &zone.id, &mut used))
            .collect();
        let mut out = String::from("flowchart LR\n");
        let zone_count = self.zones.len();
        let mut children: Vec<Vec<Child>> = vec![Vec::new(); zone_count + 1];
        for (index, zone) in self.zones.iter().enumerate() {
            children[zone.parent.unwrap_or(zone_count)].push(Child::Zone(index));
        }
        for (index, node) in self.nodes.iter().enumerate() {
            children[node.zone.unwrap_or(zone_count)].push(Child::Node(index));
        }
        // Depth first, without recursion: an `end` closes each subgraph after its children.
        enum Step {
            Open(Child, usize),
            Close(usize),
        }
        let mut stack: Vec<Step> = children[zone_count]
            .iter()
            .rev()
            .map(|child| Step::Open(*child, 1))
            .collect();
        while let Some(step) = stack.pop() {
            match step {
                Step::Open(Child::Node(node), depth) => {
                    let _ = writeln!(
                        out,
                        "{}{}[\"{}\"]",
                        "  ".repeat(depth),
                        node_ids[node],
                        mermaid_text(&self.nodes[node].name)
                    );
                }
                Step::Open(Child::Zone(zone), depth) => {
                    let _ = writeln!(
                        out,
                        "{}subgraph {}[\"{}\"]",
                        "  ".repeat(depth),
                        zone_ids[zone],
                        mermaid_text(&self.zones[zone].name)
                    );
                    stack.push(Step::Close(depth));
                    stack.extend(
                        children[zone]
                            .iter()
                            .rev()
                            .map(|child| Step::Open(*child, depth + 1)),
                    );
                }
                Step::Close(depth) => {
                    let _ = writeln!(out, "{}end", "  ".repeat(depth));
                }
            }
        }
        for arrow in &self.arrows {
            let label = mermaid_text(&arrow.name);
            let _ = if label.is_empty() {
                writeln!(
                    out,
                    "  {} --> {}",
                    node_ids[arrow.source], node_ids[arrow.target]
                )
            } else {
                writeln!(
                    out,
                    "  {} -->|\"{label}\"| {}",
                    node_ids[arrow.source], node_ids[arrow.target]
                )
            };
        }
        // Residual risk as colours: the classes of the HTML report's SVG.
        let mut classes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (node, id) in self.nodes.iter().zip(&node_ids) {
            classes.entry(node.findings.class()).or_default().push(id);
        }
        for (class, fill, stroke) in MERMAID_CLASSES {
            if let Some(ids) = classes.get(class) {
                let name = class.replace('-', "_");
                let _ = writeln!(out, "  classDef {name} fill:{fill},stroke:{stroke}");
                let _ = writeln!(out, "  class {} {name}", ids.join(","));
            }
        }
        out
    }
}

struct ArrowLine {
    index: usize,
    line: (f64, f64, f64, f64),
}

/// The colours of each residual class, shared by the SVG's style and the Mermaid classes.
const MERMAID_CLASSES: [(&str, &str, &str); 7] = [
    ("r-critical", "#f4c7c3", "#a50e0e"),
    ("r-high", "#fbd9b8", "#b45309"),
    ("r-medium", "#fdf0b5", "#8a6d00"),
    ("r-low", "#dbeafe", "#1e40af"),
    ("r-info", "#eef2f7", "#475569"),
    ("r-none", "#d9f2dd", "#166534"),
    ("r-clear", "#ffffff", "#475569"),
];

/// The CSS of `Diagram::svg`'s classes.
pub fn svg_style() -> String {
    let mut style = String::from(
        "svg.dfd{font:12px system-ui,sans-serif;max-width:100%;height:auto}\
         svg.dfd text{fill:#111}\
         svg.dfd .zone rect{fill:#f8fafc;stroke:#64748b;stroke-dasharray:6 4}\
         svg.dfd .zone text{font-weight:600}\
         svg.dfd .node text{text-anchor:middle}\
         svg.dfd .node .count{font-size:11px;fill:#374151}\
         svg.dfd .flow path{fill:none;stroke:#334155;stroke-width:1.4}\
         svg.dfd .flow text{font-size:11px;text-anchor:middle;fill:#334155}\
         svg.dfd marker path{fill:#334155}",
    );
    for (class, fill, stroke) in MERMAID_CLASSES {
        let _ = write!(
            style,
            "svg.dfd .node.{class} rect{{fill:{fill};stroke:{stroke}}}"
        );
    }
    style
}

/// Lays out boxes in rows about as long as there are rows; returns the size of the whole and
/// each box's offset.
fn grid(boxes: &[(u32, u32)]) -> ((u32, u32), Vec<(u32, u32)>) {
    if boxes.is_empty() {
        return ((NODE_WIDTH, 0), Vec::new());
    }
    let columns = (boxes.len() as f64).sqrt().ceil().max(1.0) as usize;
    let mut offsets = Vec::with_capacity(boxes.len());
    let (mut width, mut y) = (0u32, 0u32);
    for row in boxes.chunks(columns) {
        let mut x = 0u32;
        let mut row_height = 0u32;
        for (box_width, box_height) in row {
            offsets.push((x, y));
            x += box_width + GAP;
            row_height = row_height.max(*box_height);
        }
        width = width.max(x - GAP);
        y += row_height + GAP;
    }
    ((width, y - GAP), offsets)
}

/// Where the line from `inside` (in `rect`) towards `outside` leaves `rect`.
fn border(rect: Rect, inside: (f64, f64), outside: (f64, f64)) -> (f64, f64) {
    let (cx, cy) = rect.center();
    let (dx, dy) = (outside.0 - inside.0, outside.1 - inside.1);
    let half_width = f64::from(rect.width) / 2.0;
    let half_height = f64::from(rect.height) / 2.0;
    // The smallest step along the line that reaches a side (from the box's centre line).
    let mut step = f64::INFINITY;
    if dx.abs() > f64::EPSILON {
        step = step.min(((cx - inside.0) + half_width * dx.signum()) / dx);
    }
    if dy.abs() > f64::EPSILON {
        step = step.min(((cy - inside.1) + half_height * dy.signum()) / dy);
    }
    if !step.is_finite() || step < 0.0 {
        return inside;
    }
    let step = step.min(1.0);
    (inside.0 + dx * step, inside.1 + dy * step)
}

/// A box's tooltip: name (id), kind and what was found.
fn title(id: &str, name: &str, kind: &str, findings: Findings) -> String {
    let mut title = format!("{} · {}", element_label(id, name), one_line(kind));
    let _ = write!(title, " · {}", findings_words(findings));
    title
}

fn flow_title(diagram: &Diagram, arrow: &Arrow) -> String {
    format!(
        "{}: {} → {} · {}",
        element_label(&arrow.id, &arrow.name),
        one_line(&diagram.nodes[arrow.source].name),
        one_line(&diagram.nodes[arrow.target].name),
        findings_words(arrow.findings)
    )
}

fn findings_words(findings: Findings) -> String {
    match (findings.threats, findings.worst) {
        (0, _) => "no threat".to_string(),
        (count, worst) => format!(
            "{count} threat{}, worst residual {}",
            if count == 1 { "" } else { "s" },
            worst.map_or("none", Severity::as_str)
        ),
    }
}

/// Text for HTML and SVG content and attribute values: `&`, `<`, `>`, `"` and `'` as
/// character references, control characters made visible.
pub fn escape(text: &str) -> String {
    let visible = crate::render::visible(text);
    let mut escaped = String::with_capacity(visible.len() + 8);
    for character in visible.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A label inside Mermaid's double quotes: on one line, and every character Mermaid could
/// read as syntax, an entity or markup as a Mermaid entity code (`#quot;`, `#35;`...).
pub fn mermaid_text(text: &str) -> String {
    let line = one_line(text);
    let mut escaped = String::with_capacity(line.len() + 8);
    for character in line.chars() {
        match character {
            '"' => escaped.push_str("#quot;"),
            '#' => escaped.push_str("#35;"),
            '&' => escaped.push_str("#amp;"),
            '<' => escaped.push_str("#lt;"),
            '>' => escaped.push_str("#gt;"),
            '`' => escaped.push_str("#96;"),
            '|' => escaped.push_str("#124;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `PREFIX_` and the id's ASCII letters and digits (other characters as `_`), with `_2`, `_3`...
/// when taken.
fn mermaid_id(prefix: &str, id: &str, used: &mut HashSet<String>) -> String {
    let base: String = format!("{prefix}_")
        .chars()
        .chain(id.chars().map(|character| {
            if character.is_ascii_alphanumeric() {
                character
            } else {
                '_'
            }
        }))
        .collect();
    let mut candidate = base.clone();
    let mut number = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{base}_{number}");
        number += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_text_leaves_no_syntax() {
        assert_eq!(
            mermaid_text("a\"] --> x[\"<b>#quot;`|\nz"),
            "a#quot;] --#gt; x[#quot;#lt;b#gt;#35;quot;#96;#124; z"
        );
    }

    #[test]
    fn mermaid_ids_are_plain_and_unique() {
        let mut used = HashSet::new();
        assert_eq!(mermaid_id("c", "web-api", &mut used), "c_web_api");
        assert_eq!(mermaid_id("c", "web_api", &mut used), "c_web_api_2");
        assert_eq!(mermaid_id("c", "end\"; x", &mut used), "c_end___x");
    }

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape("<a href='x'>\"&\u{1b}"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;\\u{1b}"
        );
    }

    #[test]
    fn border_is_where_the_line_leaves_the_box() {
        let rect = Rect {
            x: 0,
            y: 0,
            width: 100,
            height: 50,
        };
        assert_eq!(border(rect, (50.0, 25.0), (250.0, 25.0)), (100.0, 25.0));
        assert_eq!(border(rect, (50.0, 25.0), (50.0, -100.0)), (50.0, 0.0));
    }
}
