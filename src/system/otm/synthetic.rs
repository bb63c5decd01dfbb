//! Building an OTM document tree out of another format (Threat Dragon, TMT) so that the OTM
//! converter, its mapping and its derivations do the rest. Every node keeps the span of the
//! text it came from, so problems still point into the user's file.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::model_id;
use crate::document::{Entry, Node, NodeValue};

pub fn string(span: Range<usize>, text: &str) -> Node {
    Node {
        span,
        value: NodeValue::String(text.to_string()),
    }
}

pub fn boolean(span: Range<usize>, value: bool) -> Node {
    Node {
        span,
        value: NodeValue::Boolean(value),
    }
}

pub fn array(span: Range<usize>, items: Vec<Node>) -> Node {
    Node {
        span,
        value: NodeValue::Array(items),
    }
}

/// A table whose keys point at their values.
pub fn table(span: Range<usize>, entries: Vec<(&str, Node)>) -> Node {
    Node {
        span,
        value: NodeValue::Table(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key: key.to_string(),
                    key_span: value.span.clone(),
                    value,
                })
                .collect(),
        ),
    }
}

/// `parent: { trustZone: ID }`.
pub fn parent_zone(span: Range<usize>, zone_id: &str) -> Node {
    table(span.clone(), vec![("trustZone", string(span, zone_id))])
}

/// A rectangle of a diagram: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    fn contains_point(&self, x: f64, y: f64) -> bool {
        x >= self.left
            && x <= self.left + self.width
            && y >= self.top
            && y <= self.top + self.height
    }

    fn contains(&self, other: &Rect) -> bool {
        other.left >= self.left
            && other.top >= self.top
            && other.left + other.width <= self.left + self.width
            && other.top + other.height <= self.top + self.height
    }

    fn area(&self) -> f64 {
        self.width * self.height
    }

    /// The smallest of `boxes` (other than `skip`) that holds this rectangle's centre, or for a
    /// box, the whole of it: the zone a shape sits in, as the diagram shows it.
    pub fn innermost(&self, boxes: &[Rect], skip: Option<usize>, whole: bool) -> Option<usize> {
        let (x, y) = (self.left + self.width / 2.0, self.top + self.height / 2.0);
        boxes
            .iter()
            .enumerate()
            .filter(|(index, candidate)| {
                Some(*index) != skip
                    && if whole {
                        candidate.contains(self) && *candidate != self
                    } else {
                        candidate.contains_point(x, y)
                    }
            })
            .min_by(|(_, left), (_, right)| left.area().total_cmp(&right.area()))
            .map(|(index, _)| index)
    }
}

/// OTM ids for the elements of a diagram, from their names (`Web Application` becomes model id
/// `web-application`), numbered when another element's gives the same model id
/// (`web-application-2`), so that reports name what the user drew rather than UUIDs.
#[derive(Default)]
pub struct Ids {
    by_key: HashMap<String, String>,
    model_ids: HashSet<String>,
    /// The last number tried for each wanted id, so that many elements of one name (unnamed
    /// flows) take linear, not quadratic, time.
    counters: HashMap<String, usize>,
}

impl Ids {
    /// The id of the element the format calls `key`, named `name` (else `fallback`).
    pub fn assign(&mut self, key: &str, name: Option<&str>, fallback: &str) -> String {
        let name = name
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .unwrap_or(fallback);
        let id = self.fresh(name);
        self.by_key.insert(key.to_string(), id.clone());
        id
    }

    /// The id given to the element the format calls `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.by_key.get(key).map(String::as_str)
    }

    /// `wanted`, or `wanted 2`, `wanted 3`...: an id whose model id no other element has.
    pub fn fresh(&mut self, wanted: &str) -> String {
        let mut id = wanted.to_string();
        let counter = self.counters.entry(wanted.to_string()).or_insert(1);
        while !self.model_ids.insert(model_id(&id, "element")) {
            *counter += 1;
            id = format!("{wanted} {counter}");
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::Rect;

    #[test]
    fn shapes_sit_in_the_smallest_box_around_them() {
        let outer = Rect {
            left: 0.0,
            top: 0.0,
            width: 100.0,
            height: 100.0,
        };
        let inner = Rect {
            left: 10.0,
            top: 10.0,
            width: 30.0,
            height: 30.0,
        };
        let boxes = [outer, inner];
        let shape = Rect {
            left: 15.0,
            top: 15.0,
            width: 10.0,
            height: 10.0,
        };
        assert_eq!(shape.innermost(&boxes, None, false), Some(1));
        let far = Rect {
            left: 60.0,
            top: 60.0,
            width: 10.0,
            height: 10.0,
        };
        assert_eq!(far.innermost(&boxes, None, false), Some(0));
        let outside = Rect {
            left: 200.0,
            top: 0.0,
            width: 10.0,
            height: 10.0,
        };
        assert_eq!(outside.innermost(&boxes, None, false), None);
        assert_eq!(inner.innermost(&boxes, Some(1), true), Some(0));
        assert_eq!(outer.innermost(&boxes, Some(0), true), None);
    }
}
