//! System models: the system a team threat-models, as `threatpack apply` reads it.
//!
//! A model is a TOML or JSON file in threatpack's own format (schema/model.schema.json), or a
//! diagram from another tool converted on the way in: an Open Threat Model file (`otm`), or an
//! OWASP Threat Dragon (`threat_dragon`) or Threat Modeling Tool (`tm7`) model, which become
//! an OTM document first. Either way it ends as a `ModelFile`:
//! the model laid out flat (`flat::FlatModel`), the document tree with spans, and for converted
//! files the map from model fields back to the original file, so that every problem names the
//! line the user wrote. A JSON model is read straight into its flat form (`json`); others become
//! the typed `Model` first. `validate` checks it against a knowledge base (or, for a pack test,
//! the pack being checked); `engine::bind` then puts its values in the rule engine's slots.

pub mod flat;
pub mod json;
pub mod otm;
pub mod pytm;
pub mod threat_dragon;
pub mod tm7;
pub mod validate;

use std::ops::Range;
use std::sync::OnceLock;

use crate::diagnostic::{Code, Diagnostic};
use crate::document::{self, Node};
use crate::model::Model;
use crate::schema::FileKind;
use flat::FlatModel;

/// The largest model file read (a model of 10,000 components is about 2 MB of TOML).
pub const MAX_MODEL_BYTES: u64 = 64 * 1024 * 1024;

/// The syntax a model file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Toml,
    Json,
    Yaml,
}

impl Syntax {
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Toml => "TOML",
            Syntax::Json => "JSON",
            Syntax::Yaml => "YAML",
        }
    }

    /// The syntax a file name says, by extension; TOML when it says nothing. `.otm` files are
    /// JSON or YAML, and the YAML parser reads both.
    pub fn of_path(path: &str) -> Syntax {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Syntax::Json
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".otm") {
            Syntax::Yaml
        } else {
            Syntax::Toml
        }
    }
}

/// A model read from a file, with what is needed to point into that file.
#[derive(Debug)]
pub struct ModelFile {
    pub display_path: String,
    pub text: String,
    pub syntax: Syntax,
    /// The file as written, with spans. Parsed on first use when the model was read by the
    /// fast path (a JSON model that deserialized directly): only a problem needs spans.
    document: OnceLock<Node>,
    pub model: FlatModel,
    /// For files converted from another format: model field prefixes (JSON pointer segments
    /// of `model`) and the place in `document` they came from. Empty for native models.
    pub origins: Vec<(Vec<String>, Vec<String>)>,
    /// Set by readers of dumps that hold every attribute of every element (pytm): a property
    /// the knowledge base does not declare is ignored instead of an error.
    pub ignores_undeclared_properties: bool,
}

impl ModelFile {
    /// A model file whose document tree is already parsed.
    pub fn with_document(
        display_path: &str,
        text: String,
        syntax: Syntax,
        document: Node,
        model: Model,
        origins: Vec<(Vec<String>, Vec<String>)>,
    ) -> ModelFile {
        ModelFile {
            display_path: display_path.to_string(),
            text,
            syntax,
            document: OnceLock::from(document),
            model: FlatModel::from_model(&model),
            origins,
            ignores_undeclared_properties: false,
        }
    }

    /// The file as written, with spans.
    pub fn document(&self) -> &Node {
        self.document.get_or_init(|| {
            // The fast path read this text successfully, so it parses; an empty tree would
            // only lose positions, never a problem.
            parse_document(&self.display_path, &self.text, self.syntax).unwrap_or(Node {
                span: 0..0,
                value: crate::document::NodeValue::Table(Vec::new()),
            })
        })
    }

    /// The span in the file of a model field (`["component", "3", "kind"]`): the value when
    /// it exists, else the nearest enclosing one.
    pub fn locate(&self, field: &[&str]) -> Range<usize> {
        let segments = self.document_path(field);
        self.document().locate(&segments).node.span.clone()
    }

    /// The span of the key naming a model field, or of its value when there is no key.
    pub fn locate_key(&self, field: &[&str]) -> Range<usize> {
        let segments = self.document_path(field);
        let place = self.document().locate(&segments);
        match (place.exact, place.key_span) {
            (true, Some(key)) => key,
            _ => place.node.span.clone(),
        }
    }

    fn document_path(&self, field: &[&str]) -> Vec<String> {
        let best = self
            .origins
            .iter()
            .filter(|(prefix, _)| {
                prefix.len() <= field.len()
                    && prefix.iter().zip(field).all(|(left, right)| left == right)
            })
            .max_by_key(|(prefix, _)| prefix.len());
        match best {
            Some((prefix, target)) => target
                .iter()
                .cloned()
                .chain(field[prefix.len()..].iter().map(|part| part.to_string()))
                .collect(),
            None => field.iter().map(|part| part.to_string()).collect(),
        }
    }
}

/// Reads a model file of any supported kind: a Microsoft Threat Modeling Tool model (`tm7`,
/// XML whose root is `ThreatModel`), else the syntax from the extension (`Syntax::of_path`),
/// then an Open Threat Model file (JSON or YAML with a top-level `otmVersion`) or a Threat
/// Dragon v2 model (`summary` and `detail.diagrams`) converted with `mapping` (the format's
/// built-in one when `None`), pytm's JSON dump (`pytm::is_pytm`), or else a model in
/// threatpack's format.
pub fn load_model(
    display_path: &str,
    text: String,
    mapping: Option<&otm::Mapping>,
) -> Result<ModelFile, Vec<Diagnostic>> {
    load_model_or_text(display_path, text, mapping).map_err(|(diagnostics, _)| diagnostics)
}

/// `load_model`, giving the text back with the diagnostics (to show them with their lines).
pub fn load_model_or_text(
    display_path: &str,
    text: String,
    mapping: Option<&otm::Mapping>,
) -> Result<ModelFile, (Vec<Diagnostic>, String)> {
    if tm7::is_tm7(&text) {
        return tm7::convert(display_path, &text, mapping).map_err(|problems| (problems, text));
    }
    if display_path.to_ascii_lowercase().ends_with(".tm7") {
        return Err((vec![tm7::not_a_model(display_path)], text));
    }
    let syntax = Syntax::of_path(display_path);
    // Fast path: a JSON model in threatpack's format is read straight into its flat form
    // (`json::read` refuses unknown and duplicate keys and values of other shapes,
    // `fits_schema` checks the rest of the schema), many times faster than building the
    // spanned tree, validating it and deserializing a `Model`. Any failure, or an OTM file,
    // takes the general path, whose schema diagnostics locate every problem.
    if syntax == Syntax::Json
        && let Ok(model) = json::read(&text)
        && validate::fits_schema(&model)
    {
        return Ok(ModelFile {
            display_path: display_path.to_string(),
            text,
            syntax,
            document: OnceLock::new(),
            model,
            origins: Vec::new(),
            ignores_undeclared_properties: false,
        });
    }
    // The general path takes far longer than a copy of the text.
    general_path(display_path, text.clone(), syntax, mapping).map_err(|problems| (problems, text))
}

fn general_path(
    display_path: &str,
    text: String,
    syntax: Syntax,
    mapping: Option<&otm::Mapping>,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let document = parse_document(display_path, &text, syntax)?;
    if syntax != Syntax::Toml && otm::is_otm(&document) {
        let mapping = mapping.unwrap_or_else(|| otm::Mapping::builtin());
        return otm::convert_document(display_path, text, syntax, document, mapping);
    }
    if syntax == Syntax::Json && pytm::is_pytm(&document) {
        return pytm::convert_document(display_path, text, syntax, document);
    }
    if syntax != Syntax::Toml && threat_dragon::is_threat_dragon(&document) {
        return threat_dragon::convert_document(display_path, text, syntax, &document, mapping);
    }
    model_from_document(display_path, text, syntax, document)
}

/// Parses a model in threatpack's format. Problems come back as diagnostics on `display_path`.
pub fn parse_model(
    display_path: &str,
    text: String,
    syntax: Syntax,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let document = parse_document(display_path, &text, syntax)?;
    model_from_document(display_path, text, syntax, document)
}

fn model_from_document(
    display_path: &str,
    text: String,
    syntax: Syntax,
    document: Node,
) -> Result<ModelFile, Vec<Diagnostic>> {
    let json = document.to_json();
    let problems = crate::schema::validate(FileKind::Model, display_path, &document, &json);
    if !problems.is_empty() {
        return Err(problems);
    }
    let model: Model = serde_json::from_value(json).map_err(|error| {
        vec![
            Diagnostic::new(
                Code::InvalidModel,
                format!("the model does not fit its format: {error}"),
            )
            .at(display_path, 0..0, "here")
            .help("see docs/system-model.md for the format"),
        ]
    })?;
    Ok(ModelFile::with_document(
        display_path,
        text,
        syntax,
        document,
        model,
        Vec::new(),
    ))
}

/// Parses TOML, JSON or YAML into a document tree with spans, or the syntax errors.
pub fn parse_document(
    display_path: &str,
    text: &str,
    syntax: Syntax,
) -> Result<Node, Vec<Diagnostic>> {
    let (document, errors, code) = match syntax {
        Syntax::Toml => {
            let (document, errors) = document::parse(text);
            (document, errors, Code::TomlSyntax)
        }
        Syntax::Json | Syntax::Yaml => {
            let (document, errors) = document::parse_yaml(text);
            (document, errors, Code::InvalidModel)
        }
    };
    if errors.is_empty() {
        return Ok(document);
    }
    Err(errors
        .into_iter()
        .map(|error| {
            Diagnostic::new(
                code,
                format!("{display_path} is not valid {}", syntax.name()),
            )
            .at(display_path, error.span, error.message)
        })
        .collect())
}
