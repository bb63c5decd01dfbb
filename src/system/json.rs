//! The fast path for JSON models: the text read straight into a `FlatModel` in one pass, with no
//! tree, no map per element and no string per property.
//!
//! It accepts only what the model's schema surely accepts: the fields the schema names, each
//! once, plain values (bool, integer, string, list of strings) and no `null`. Anything else is an
//! error here, and `load_model` then takes the general path (document tree, JSON Schema, typed
//! `Model`), whose diagnostics point at the problem. `validate::fits_schema` checks the patterns.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use crate::model::{ActivityDone, MitigationStatus, ModelInfo, OutOfScope, Story, TextRange};

use super::flat::{Builder, FlatModel, FlatValue};
use super::validate::Role;

/// Reads a JSON model, or fails on anything the general path should look at.
pub fn read(text: &str) -> Result<FlatModel, serde_json::Error> {
    let mut builder = Builder::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    Top {
        builder: &mut builder,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(builder.finish())
}

/// The top-level table.
struct Top<'b> {
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a model")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        const FIELDS: [&str; 8] = [
            "model",
            "system",
            "component",
            "flow",
            "boundary",
            "mitigation-status",
            "story",
            "activity-done",
        ];
        let mut seen = [false; FIELDS.len()];
        while let Some(key) = map.next_key::<&str>()? {
            let Some(field) = FIELDS.iter().position(|field| *field == key) else {
                return Err(A::Error::custom("not a field of a model"));
            };
            if std::mem::replace(&mut seen[field], true) {
                return Err(A::Error::custom("a field given twice"));
            }
            let model = self.builder.model();
            let role = match key {
                "model" => {
                    model.info = Some(map.next_value::<ModelInfo>()?);
                    continue;
                }
                "system" => {
                    model.system = map.next_value_seed(System)?;
                    continue;
                }
                "mitigation-status" => {
                    model.mitigation_status = map.next_value::<Vec<MitigationStatus>>()?;
                    continue;
                }
                "story" => {
                    model.story = map.next_value::<Vec<Story>>()?;
                    continue;
                }
                "activity-done" => {
                    model.activity_done = map.next_value::<Vec<ActivityDone>>()?;
                    continue;
                }
                "component" => Role::Component,
                "flow" => Role::Flow,
                _ => Role::Boundary,
            };
            map.next_value_seed(Elements {
                builder: self.builder,
                role,
            })?;
        }
        Ok(())
    }
}

/// `system`: a table with each key once.
struct System;

impl<'de> DeserializeSeed<'de> for System {
    type Value = std::collections::BTreeMap<String, serde_json::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        crate::model::unique_keys(deserializer)
    }
}

/// `component`, `flow` or `boundary`: an array of elements.
struct Elements<'b> {
    builder: &'b mut Builder,
    role: Role,
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Element {
                builder: &mut *self.builder,
                role: self.role,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One element: its fields, each once, the required ones present.
struct Element<'b> {
    builder: &'b mut Builder,
    role: Role,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an element")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.builder;
        let role = self.role;
        let (mut id, mut kind, mut name, mut description) = (None, None, None, None);
        let (mut source, mut target) = (None, None);
        let mut members = None;
        let mut properties = None;
        let mut out_of_scope = None;
        fn once<T, E: serde::de::Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(E::custom("a field given twice")),
            }
        }
        while let Some(key) = map.next_key::<&str>()? {
            match (key, role) {
                ("id", _) => once(&mut id, map.next_value_seed(Text(&mut *builder))?)?,
                ("name", _) => once(&mut name, map.next_value_seed(Text(&mut *builder))?)?,
                ("description", _) => {
                    once(&mut description, map.next_value_seed(Text(&mut *builder))?)?
                }
                ("kind", _) => {
                    let word = map.next_value_seed(Word(&mut *builder))?;
                    once(&mut kind, word)?
                }
                ("source", Role::Flow) => {
                    once(&mut source, map.next_value_seed(Text(&mut *builder))?)?
                }
                ("target", Role::Flow) => {
                    once(&mut target, map.next_value_seed(Text(&mut *builder))?)?
                }
                ("contains", Role::Boundary) => {
                    let start = builder.members_len();
                    map.next_value_seed(Members(&mut *builder))?;
                    once(&mut members, (start, builder.members_len()))?
                }
                ("properties", _) => {
                    let start = builder.properties_len();
                    map.next_value_seed(Properties(&mut *builder))?;
                    once(&mut properties, (start, builder.properties_len()))?
                }
                ("out-of-scope", _) => {
                    let value = map.next_value::<OutOfScope>()?;
                    let reason = value.reason().map(|reason| builder.text(reason));
                    once(&mut out_of_scope, reason)?
                }
                _ => return Err(A::Error::custom("not a field of this element")),
            }
        }
        let (Some(id), Some(kind)) = (id, kind) else {
            return Err(A::Error::custom("an element without id or kind"));
        };
        let ends = match (role, source, target) {
            (Role::Flow, Some(source), Some(target)) => Some((source, target)),
            (Role::Flow, _, _) => return Err(A::Error::custom("a flow without its ends")),
            _ => None,
        };
        let members = match (role, members) {
            (Role::Boundary, None) => return Err(A::Error::custom("a boundary without members")),
            (_, members) => members.unwrap_or((0, 0)),
        };
        let properties = properties.unwrap_or((0, 0));
        builder.element(
            role,
            id,
            kind,
            name,
            description,
            ends,
            members,
            properties,
            out_of_scope.flatten(),
        );
        Ok(())
    }
}

/// A string, kept in the model's text.
struct Text<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = TextRange;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<TextRange, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = TextRange;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<TextRange, E> {
        Ok(self.0.text(text))
    }
}

/// A kind or a property name, interned.
struct Word<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for Word<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Word<'_> {
    type Value = u32;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u32, E> {
        Ok(self.0.word(text))
    }
}

/// `contains`: an array of element ids.
struct Members<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of element ids")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(member) = seq.next_element_seed(Text(&mut *self.0))? {
            self.0.member(member);
        }
        Ok(())
    }
}

/// `properties`: a table of plain values, each name once.
struct Properties<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for Properties<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Properties<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a table of property values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.0;
        while let Some(word) = map.next_key_seed(Word(&mut *builder))? {
            let value = map.next_value_seed(Value(&mut *builder))?;
            if !builder.property(word, value) {
                return Err(A::Error::custom("a property given twice"));
            }
        }
        Ok(())
    }
}

/// A property value: a bool, an integer (as `i64`), a string or a list of strings.
struct Value<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = FlatValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<FlatValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = FlatValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a bool, an integer, a string or a list of strings")
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<FlatValue, E> {
        Ok(FlatValue::Bool(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<FlatValue, E> {
        Ok(FlatValue::Int(value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<FlatValue, E> {
        // Larger integers fit the schema but no property: the general path says so.
        i64::try_from(value)
            .map(FlatValue::Int)
            .map_err(|_| E::custom("an integer out of range"))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<FlatValue, E> {
        Ok(FlatValue::String(self.0.text(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FlatValue, A::Error> {
        let builder = self.0;
        let start = builder.items_len();
        while let Some(item) = seq.next_element_seed(Text(&mut *builder))? {
            builder.item(item);
        }
        Ok(FlatValue::List(start, builder.items_len()))
    }
}

#[cfg(test)]
mod tests {
    use super::read;
    use crate::model::Model;

    /// The fast path reads what serde reads into a typed model, escapes and any table order
    /// included.
    #[test]
    fn reads_what_the_typed_model_reads() {
        let text = r#"{
          "flow": [{"id": "f", "kind": "request", "source": "a", "target": "b",
                    "properties": {"encrypted": false, "port": 8443, "hops": -2}}],
          "model": {"name": "Caf\u00e9 \"x\"", "description": "d"},
          "component": [{"id": "a", "name": "A\nB", "kind": "acme/web:entity/service",
                         "properties": {"tags": ["x", "\u0079"], "zone": "dmz"}},
                        {"id": "b", "kind": "client", "description": "c"}],
          "boundary": [{"id": "z", "kind": "zone", "contains": ["a", "b"]}],
          "system": {"handles_pii": true},
          "mitigation-status": [{"mitigation": "m", "status": "existing", "at": ["a"]}],
          "story": [{"id": "s", "text": "t", "without": [{"text": "w", "threats": ["p@a"]}]}]
        }"#;
        let typed: Model = serde_json::from_str(text).expect("a model");
        let flat = read(text).expect("the fast path reads it");
        assert_eq!(
            serde_json::to_value(flat.to_model()).expect("serializes"),
            serde_json::to_value(&typed).expect("serializes")
        );
        let ids: Vec<&str> = flat.elements().map(|element| element.id).collect();
        assert_eq!(ids, ["a", "b", "f", "z"]);
    }

    /// Whatever the schema may refuse, or serde reads differently, is left to the general path.
    #[test]
    fn refuses_what_only_the_general_path_can_report() {
        let element = |fields: &str| format!(r#"{{"component": [{{{fields}}}]}}"#);
        for text in [
            r#"{"components": []}"#.to_string(),
            r#"{"component": [], "component": []}"#.to_string(),
            r#"[]"#.to_string(),
            r#"{"component": []} x"#.to_string(),
            element(r#""id": "a""#),
            element(r#""kind": "k""#),
            element(r#""id": "a", "kind": "k", "id": "b""#),
            element(r#""id": "a", "kind": "k", "source": "b""#),
            element(r#""id": "a", "kind": "k", "name": null"#),
            element(r#""id": 1, "kind": "k""#),
            element(r#""id": "a", "kind": "k", "properties": {"p": 1.5}"#),
            element(r#""id": "a", "kind": "k", "properties": {"p": null}"#),
            element(r#""id": "a", "kind": "k", "properties": {"p": {}}"#),
            element(r#""id": "a", "kind": "k", "properties": {"p": [1]}"#),
            element(r#""id": "a", "kind": "k", "properties": {"p": 9223372036854775808}"#),
            element(r#""id": "a", "kind": "k", "properties": {"p": true, "p": false}"#),
            r#"{"flow": [{"id": "f", "kind": "k", "source": "a"}]}"#.to_string(),
            r#"{"boundary": [{"id": "z", "kind": "k"}]}"#.to_string(),
            r#"{"model": {"name": "n", "extra": 1}}"#.to_string(),
        ] {
            assert!(read(&text).is_err(), "{text}");
        }
        // A name set in one element may be set again in the next.
        let two = r#"{"component": [{"id": "a", "kind": "k", "properties": {"p": true}},
                                     {"id": "b", "kind": "k", "properties": {"p": false}}]}"#;
        assert!(read(two).is_ok());
    }
}
