//! The JSON Schemas of every pack file kind and of the JSON files in a bundle, embedded in the
//! binary, and validation of a parsed TOML document against them with each error mapped back to
//! the offending key or value.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::{Retrieve, Uri, ValidationError, Validator, error::ValidationErrorKind};
use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::document::{Node, pointer_segments};

/// The kinds of file a pack holds, each with its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    Manifest,
    Entities,
    AttackPatterns,
    Mitigations,
    Overrides,
    PackTest,
    /// Security activities a threat model's results call for (`activities/*.toml`).
    Activities,
    /// A system model (`threatpack apply --model`): not part of a pack.
    Model,
    /// How an Open Threat Model file maps to a model (`threatpack apply --mapping`): not part
    /// of a pack.
    OtmMapping,
    /// What `threatpack import --mapping` reads: not part of a pack.
    ImportMapping,
}

impl FileKind {
    pub const ALL: [FileKind; 10] = [
        FileKind::Manifest,
        FileKind::Entities,
        FileKind::AttackPatterns,
        FileKind::Mitigations,
        FileKind::Overrides,
        FileKind::PackTest,
        FileKind::Activities,
        FileKind::Model,
        FileKind::OtmMapping,
        FileKind::ImportMapping,
    ];

    /// The file kind of a path inside a pack, or `None` for a file that is not pack content.
    pub fn of_pack_path(pack_path: &str) -> Option<FileKind> {
        if pack_path == "pack.toml" {
            return Some(FileKind::Manifest);
        }
        let (directory, _) = pack_path.split_once('/')?;
        FileKind::ALL
            .into_iter()
            .find(|kind| kind.directory() == Some(directory))
    }

    /// The directory (at the pack root) that holds files of this kind.
    pub fn directory(self) -> Option<&'static str> {
        match self {
            FileKind::Manifest => None,
            FileKind::Entities => Some("entities"),
            FileKind::AttackPatterns => Some("attack-patterns"),
            FileKind::Mitigations => Some("mitigations"),
            FileKind::Overrides => Some("overrides"),
            FileKind::PackTest => Some("tests"),
            FileKind::Activities => Some("activities"),
            FileKind::Model | FileKind::OtmMapping | FileKind::ImportMapping => None,
        }
    }

    pub fn schema(self) -> SchemaKind {
        match self {
            FileKind::Manifest => SchemaKind::Pack,
            FileKind::Entities => SchemaKind::Entities,
            FileKind::AttackPatterns => SchemaKind::AttackPatterns,
            FileKind::Mitigations => SchemaKind::Mitigations,
            FileKind::Overrides => SchemaKind::Overrides,
            FileKind::PackTest => SchemaKind::PackTest,
            FileKind::Activities => SchemaKind::Activities,
            FileKind::Model => SchemaKind::Model,
            FileKind::OtmMapping => SchemaKind::OtmMapping,
            FileKind::ImportMapping => SchemaKind::ImportMapping,
        }
    }
}

/// Every schema in `schema/`, including the shared definitions and the bundle's JSON files
/// (which are not pack file kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchemaKind {
    Pack,
    Entities,
    AttackPatterns,
    Mitigations,
    Overrides,
    PackTest,
    Activities,
    Model,
    OtmMapping,
    /// `threatpack import --mapping FILE`.
    ImportMapping,
    /// `manifest.json` in a bundle.
    BundleManifest,
    /// `kb.json` in a bundle.
    KnowledgeBase,
    /// `threatpack apply --format json`.
    Report,
    /// `threatpack apply --format backlog-json`.
    Backlog,
    /// `threatpack.toml`: a consuming project.
    Project,
    /// `threatpack.lock`.
    Lockfile,
    /// `threatpack diff --format json`.
    Diff,
    /// `threatpack semver-check --format json`.
    SemverCheck,
    /// `threatpack apply --policy FILE`: the CI gate's rules.
    Policy,
    /// `threatpack report diff --format json`.
    ReportDiff,
    /// `threatpack impact --format json`.
    Impact,
    Common,
}

impl SchemaKind {
    pub const ALL: [SchemaKind; 22] = [
        SchemaKind::Pack,
        SchemaKind::Entities,
        SchemaKind::AttackPatterns,
        SchemaKind::Mitigations,
        SchemaKind::Overrides,
        SchemaKind::PackTest,
        SchemaKind::Activities,
        SchemaKind::Model,
        SchemaKind::OtmMapping,
        SchemaKind::ImportMapping,
        SchemaKind::BundleManifest,
        SchemaKind::KnowledgeBase,
        SchemaKind::Report,
        SchemaKind::Backlog,
        SchemaKind::Project,
        SchemaKind::Lockfile,
        SchemaKind::Diff,
        SchemaKind::SemverCheck,
        SchemaKind::Policy,
        SchemaKind::ReportDiff,
        SchemaKind::Impact,
        SchemaKind::Common,
    ];

    /// The name used on the command line (`threatpack schema entities`).
    pub fn name(self) -> &'static str {
        match self {
            SchemaKind::Pack => "pack",
            SchemaKind::Entities => "entities",
            SchemaKind::AttackPatterns => "attack-patterns",
            SchemaKind::Mitigations => "mitigations",
            SchemaKind::Overrides => "overrides",
            SchemaKind::PackTest => "pack-test",
            SchemaKind::Activities => "activities",
            SchemaKind::Model => "model",
            SchemaKind::OtmMapping => "otm-mapping",
            SchemaKind::ImportMapping => "import-mapping",
            SchemaKind::BundleManifest => "manifest",
            SchemaKind::KnowledgeBase => "kb",
            SchemaKind::Report => "report",
            SchemaKind::Backlog => "backlog",
            SchemaKind::Project => "project",
            SchemaKind::Lockfile => "lockfile",
            SchemaKind::Diff => "diff",
            SchemaKind::SemverCheck => "semver-check",
            SchemaKind::Policy => "policy",
            SchemaKind::ReportDiff => "report-diff",
            SchemaKind::Impact => "impact",
            SchemaKind::Common => "common",
        }
    }

    pub fn from_name(name: &str) -> Option<SchemaKind> {
        SchemaKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Pack => "pack.schema.json",
            SchemaKind::Entities => "entities.schema.json",
            SchemaKind::AttackPatterns => "attack-patterns.schema.json",
            SchemaKind::Mitigations => "mitigations.schema.json",
            SchemaKind::Overrides => "overrides.schema.json",
            SchemaKind::PackTest => "pack-test.schema.json",
            SchemaKind::Activities => "activities.schema.json",
            SchemaKind::Model => "model.schema.json",
            SchemaKind::OtmMapping => "otm-mapping.schema.json",
            SchemaKind::ImportMapping => "import-mapping.schema.json",
            SchemaKind::BundleManifest => "manifest.schema.json",
            SchemaKind::KnowledgeBase => "kb.schema.json",
            SchemaKind::Report => "report.schema.json",
            SchemaKind::Backlog => "backlog.schema.json",
            SchemaKind::Project => "project.schema.json",
            SchemaKind::Lockfile => "lockfile.schema.json",
            SchemaKind::Diff => "diff.schema.json",
            SchemaKind::SemverCheck => "semver-check.schema.json",
            SchemaKind::Policy => "policy.schema.json",
            SchemaKind::ReportDiff => "report-diff.schema.json",
            SchemaKind::Impact => "impact.schema.json",
            SchemaKind::Common => "common.schema.json",
        }
    }

    /// The schema text exactly as committed in `schema/`.
    pub fn text(self) -> &'static str {
        match self {
            SchemaKind::Pack => include_str!("../schema/pack.schema.json"),
            SchemaKind::Entities => include_str!("../schema/entities.schema.json"),
            SchemaKind::AttackPatterns => include_str!("../schema/attack-patterns.schema.json"),
            SchemaKind::Mitigations => include_str!("../schema/mitigations.schema.json"),
            SchemaKind::Overrides => include_str!("../schema/overrides.schema.json"),
            SchemaKind::PackTest => include_str!("../schema/pack-test.schema.json"),
            SchemaKind::Activities => include_str!("../schema/activities.schema.json"),
            SchemaKind::Model => include_str!("../schema/model.schema.json"),
            SchemaKind::OtmMapping => include_str!("../schema/otm-mapping.schema.json"),
            SchemaKind::ImportMapping => include_str!("../schema/import-mapping.schema.json"),
            SchemaKind::BundleManifest => include_str!("../schema/manifest.schema.json"),
            SchemaKind::KnowledgeBase => include_str!("../schema/kb.schema.json"),
            SchemaKind::Report => include_str!("../schema/report.schema.json"),
            SchemaKind::Backlog => include_str!("../schema/backlog.schema.json"),
            SchemaKind::Project => include_str!("../schema/project.schema.json"),
            SchemaKind::Lockfile => include_str!("../schema/lockfile.schema.json"),
            SchemaKind::Diff => include_str!("../schema/diff.schema.json"),
            SchemaKind::SemverCheck => include_str!("../schema/semver-check.schema.json"),
            SchemaKind::Policy => include_str!("../schema/policy.schema.json"),
            SchemaKind::ReportDiff => include_str!("../schema/report-diff.schema.json"),
            SchemaKind::Impact => include_str!("../schema/impact.schema.json"),
            SchemaKind::Common => include_str!("../schema/common.schema.json"),
        }
    }

    pub fn json(self) -> Json {
        serde_json::from_str(self.text()).expect("embedded schemas are valid JSON (tested)")
    }
}

/// Base URI the schemas are compiled under; their relative `$ref`s resolve against it and
/// `EmbeddedSchemas` answers them, so validation never touches the disk or the network.
const BASE_URI: &str = "https://threatpack.invalid/schema/";

struct EmbeddedSchemas;

impl Retrieve for EmbeddedSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Json, Box<dyn std::error::Error + Send + Sync>> {
        let wanted = uri.as_str();
        SchemaKind::ALL
            .into_iter()
            .find(|kind| wanted == format!("{BASE_URI}{}", kind.file_name()))
            .map(SchemaKind::json)
            .ok_or_else(|| format!("no embedded schema at `{wanted}`").into())
    }
}

/// Compiles a schema with the embedded ones available to its references.
pub fn compile(kind: SchemaKind) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_base_uri(format!("{BASE_URI}{}", kind.file_name()))
        .with_retriever(EmbeddedSchemas)
        .build(&kind.json())
        .map_err(|error| format!("schema `{}` does not compile: {error}", kind.file_name()))
}

/// The compiled validator of `kind`. Each is compiled on first use, on its own: a pack never
/// needs all of them, and the threads that parse a pack's files compile the ones they need at
/// the same time (compiling them all at once cost a short build more than its parsing).
fn validator(kind: FileKind) -> &'static Validator {
    static VALIDATORS: [OnceLock<Validator>; FileKind::ALL.len()] =
        [const { OnceLock::new() }; FileKind::ALL.len()];
    let index = FileKind::ALL
        .iter()
        .position(|candidate| *candidate == kind)
        .expect("every file kind is in ALL");
    VALIDATORS[index]
        .get_or_init(|| compile(kind.schema()).expect("embedded schemas compile (tested)"))
}

/// Every key name any schema of `kind` declares, for "did you mean" suggestions.
fn known_keys(kind: FileKind) -> &'static BTreeSet<String> {
    static KEYS: OnceLock<Vec<BTreeSet<String>>> = OnceLock::new();
    let all = KEYS.get_or_init(|| {
        FileKind::ALL
            .into_iter()
            .map(|kind| {
                let mut keys = BTreeSet::new();
                collect_property_names(&kind.schema().json(), &mut keys);
                collect_property_names(&SchemaKind::Common.json(), &mut keys);
                if kind == FileKind::PackTest {
                    collect_property_names(&SchemaKind::Model.json(), &mut keys);
                }
                keys
            })
            .collect()
    });
    let index = FileKind::ALL
        .iter()
        .position(|candidate| *candidate == kind)
        .expect("every file kind is in ALL");
    &all[index]
}

fn collect_property_names(schema: &Json, keys: &mut BTreeSet<String>) {
    match schema {
        Json::Object(object) => {
            for (key, value) in object {
                if key == "properties"
                    && let Json::Object(properties) = value
                {
                    keys.extend(properties.keys().cloned());
                }
                collect_property_names(value, keys);
            }
        }
        Json::Array(items) => items
            .iter()
            .for_each(|item| collect_property_names(item, keys)),
        _ => {}
    }
}

/// The closest candidate to `wanted`, if it is close enough to be a likely typo.
pub fn suggest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(wanted, candidate), candidate))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// Validates a document against the schema of its kind. Each error points at the key or value
/// it is about.
pub fn validate(kind: FileKind, file: &str, document: &Node, json: &Json) -> Vec<Diagnostic> {
    validator(kind)
        .iter_errors(json)
        .flat_map(|error| to_diagnostics(kind, file, document, &error))
        .collect()
}

fn to_diagnostics(
    kind: FileKind,
    file: &str,
    document: &Node,
    error: &ValidationError<'_>,
) -> Vec<Diagnostic> {
    let segments = pointer_segments(error.instance_path().as_str());
    let place = document.locate(&segments);
    let value_span = place.node.span.clone();
    let field = segments
        .iter()
        .rev()
        .find(|segment| segment.parse::<usize>().is_err())
        .map_or("the file".to_string(), |key| format!("`{key}`"));
    let diagnostic = |message: String, label: &str| {
        Diagnostic::new(Code::SchemaViolation, message).at(file, value_span.clone(), label)
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|key| {
                let mut key_path = segments.clone();
                key_path.push(key.clone());
                let key_place = document.locate(&key_path);
                let span = key_place.key_span.unwrap_or(value_span.clone());
                let within = segments.last().filter(|segment| segment.parse::<usize>().is_err());
                let message = match within {
                    Some(table) => format!("unknown key `{key}` in `{table}`"),
                    None => format!("unknown key `{key}`"),
                };
                let mut diagnostic = Diagnostic::new(Code::SchemaViolation, message).at(file, span, "not allowed here");
                diagnostic = match suggest(key, known_keys(kind).iter().map(String::as_str)) {
                    Some(candidate) => diagnostic.help(format!("did you mean `{candidate}`?")),
                    None => diagnostic.help(unknown_key_help(kind, &segments)),
                };
                diagnostic
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            // Point at the table header or key that names the table.
            let span = place.key_span.clone().unwrap_or(value_span.clone());
            let span = if span.is_empty() { 0..0 } else { span };
            vec![
                Diagnostic::new(Code::SchemaViolation, format!("missing required key `{property}`"))
                    .at(file, span, format!("`{property}` is required here"))
                    .help(format!("add `{property} = ...`; see docs/pack-format.md")),
            ]
        }
        ValidationErrorKind::Type { kind: expected } => vec![
            diagnostic(
                format!("wrong type for {field}: expected {}", type_name(expected)),
                &format!("this is {}", describe_json(error.instance())),
            ),
        ],
        ValidationErrorKind::Enum { options } => {
            let options: Vec<&str> = options
                .as_array()
                .map(|options| options.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let found = error.instance().as_str().unwrap_or_default();
            let mut diagnostic = diagnostic(
                format!("invalid value for {field}"),
                &format!("expected one of {}", quote_list(&options)),
            );
            if let Some(candidate) = suggest(found, options.iter().copied()) {
                diagnostic = diagnostic.help(format!("did you mean `{candidate}`?"));
            }
            vec![diagnostic]
        }
        ValidationErrorKind::Pattern { pattern } => {
            let (expectation, help) = pattern_meaning(pattern);
            let found = error.instance().as_str().unwrap_or_default();
            vec![diagnostic(format!("invalid value `{found}` for {field}"), expectation).help(help)]
        }
        ValidationErrorKind::Constant { expected_value } => vec![
            diagnostic(
                format!("unsupported value for {field}"),
                &format!("expected `{expected_value}`"),
            )
            .help("this version of threatpack reads pack format 1"),
        ],
        ValidationErrorKind::FalseSchema => {
            let key = segments.last().cloned().unwrap_or_default();
            let span = place.key_span.clone().unwrap_or(value_span.clone());
            vec![
                Diagnostic::new(Code::SchemaViolation, format!("`{key}` is not allowed here"))
                    .at(file, span, "not allowed for this property type")
                    .help("`values` belongs to `enum` and `list` properties, `min` and `max` to `int` properties"),
            ]
        }
        ValidationErrorKind::Contains => vec![
            diagnostic(format!("{field} has no required entry"), "no STRIDE category here").help(
                "add at least one of `spoofing`, `tampering`, `repudiation`, `information-disclosure`, `denial-of-service`, `elevation-of-privilege`",
            ),
        ],
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            let help = if segments.first().map(String::as_str) == Some("dependencies") {
                "write a requirement string (`\"^1.2\"`) or a table (`{ version = \"^1.2\", path = \"../pack\" }`)"
            } else if segments.iter().any(|segment| segment == "categories") {
                "use a STRIDE category or `taxonomy:category`, e.g. `linddun:linking`"
            } else {
                "see docs/pack-format.md for the allowed forms"
            };
            vec![diagnostic(format!("invalid value for {field}"), "matches none of the allowed forms").help(help)]
        }
        _ => vec![diagnostic(format!("invalid value for {field}"), &clean_message(error)).help("see docs/pack-format.md")],
    }
}

fn unknown_key_help(kind: FileKind, segments: &[String]) -> String {
    if segments.is_empty() {
        let expected = match kind {
            FileKind::Manifest => "`[pack]` and `[dependencies]`",
            FileKind::Entities => "`[[entity]]` tables",
            FileKind::AttackPatterns => "`[[attack-pattern]]` tables",
            FileKind::Mitigations => "`[[mitigation]]` tables",
            FileKind::Overrides => "`[[override]]` tables",
            FileKind::Activities => "`[[activity]]` tables",
            FileKind::PackTest => {
                "`[test]` and the tables of a system model (`[system]`, `[[component]]`, `[[flow]]`, `[[boundary]]`, ...)"
            }
            FileKind::Model => {
                "`[model]`, `[system]`, `[[component]]`, `[[flow]]`, `[[boundary]]`, `[[mitigation-status]]` and `[[story]]`"
            }
            FileKind::OtmMapping => {
                return "a mapping file holds `format`, `include-builtin`, `[trust-zone]`, `[dataflow]`, `[types]`, `[trust-zone-types]`, `[tags]` and `[attributes]`; see docs/system-model.md#the-mapping-file".to_string();
            }
            FileKind::ImportMapping => {
                return "an import mapping holds `format`, `severity`, `strength`, `control`, `cost`, `[capec]` and `[attack]`; see docs/interop.md#mapping-tables".to_string();
            }
        };
        format!("this file may only hold {expected}; other kinds of item go in their own directory")
    } else {
        "remove it, or see docs/pack-format.md for the keys allowed here".to_string()
    }
}

/// What a schema pattern means, in words, and what to do.
fn pattern_meaning(pattern: &str) -> (&'static str, &'static str) {
    if pattern.contains(":entity/")
        || pattern.contains(":attack-pattern/")
        || pattern.contains(":mitigation/")
    {
        (
            "not an id or a qualified id",
            "write a local id (`web-api`) or a qualified id (`namespace/pack:entity/web-api`)",
        )
    } else if pattern.contains(":((entity") {
        (
            "not an override target",
            "write `namespace/pack:KIND/ID` (KIND: entity, attack-pattern, mitigation) or `namespace/pack:link/MITIGATION/ATTACK-PATTERN`",
        )
    } else if pattern.contains('@') {
        (
            "not `ATTACK-PATTERN@ELEMENT`",
            "write e.g. `sql-injection@shop`",
        )
    } else if pattern.starts_with("^T[0-9]") {
        (
            "not an ATT&CK technique id",
            "write e.g. `T1190` or `T1110.003`",
        )
    } else if pattern.starts_with("^(v[0-9]") {
        (
            "not an ASVS requirement id",
            "write OWASP's citation form with the ASVS version, e.g. `v4.0.3-5.3.4` or `v5.0.0-1.2.5`",
        )
    } else if pattern.starts_with("^https?") {
        ("not an http(s) URL", "write an absolute `https://` URL")
    } else if pattern.contains("(\\.[a-z]") {
        ("not a dotted event id", "write e.g. `authn.login-failed`")
    } else if pattern.contains("[a-z0-9_]") {
        (
            "not a snake_case name",
            "use lowercase letters, digits and `_`, starting with a letter",
        )
    } else if pattern.contains("[a-z0-9._-]") {
        (
            "not an allowed value",
            "use lowercase letters, digits, `.`, `_` and `-`",
        )
    } else {
        (
            "not a valid id",
            "use lowercase ASCII letters, digits and single hyphens, starting with a letter (e.g. `sql-injection`)",
        )
    }
}

fn type_name(kind: &jsonschema::error::TypeKind) -> String {
    let name = |json_type: &jsonschema::JsonType| match json_type.to_string().as_str() {
        "object" => "a table".to_string(),
        "array" => "an array".to_string(),
        "string" => "a string".to_string(),
        "integer" => "an integer".to_string(),
        "number" => "a number".to_string(),
        "boolean" => "a boolean (`true` or `false`)".to_string(),
        other => other.to_string(),
    };
    match kind {
        jsonschema::error::TypeKind::Single(json_type) => name(json_type),
        jsonschema::error::TypeKind::Multiple(types) => types
            .iter()
            .map(|json_type| name(&json_type))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn describe_json(value: &Json) -> String {
    match value {
        // TOML has no null: there it stands for values no field takes (see `Node::to_json`).
        Json::Null => "null, a date-time, a special float or an integer beyond 64 bits".to_string(),
        Json::Bool(_) => "a boolean".to_string(),
        Json::Number(number) if number.is_i64() || number.is_u64() => "an integer".to_string(),
        Json::Number(_) => "a float".to_string(),
        Json::String(_) => "a string".to_string(),
        Json::Array(_) => "an array".to_string(),
        Json::Object(_) => "a table".to_string(),
    }
}

fn quote_list(options: &[&str]) -> String {
    options
        .iter()
        .map(|option| format!("`{option}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The validator's own message, shortened: it repeats the whole instance value.
fn clean_message(error: &ValidationError<'_>) -> String {
    let message = error.to_string();
    let instance = error.instance().to_string();
    let message = message.replace(&instance, "this value");
    message.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles() {
        for kind in SchemaKind::ALL {
            compile(kind).unwrap_or_else(|error| panic!("{error}"));
        }
    }

    #[test]
    fn classifies_pack_paths() {
        assert_eq!(
            FileKind::of_pack_path("pack.toml"),
            Some(FileKind::Manifest)
        );
        assert_eq!(
            FileKind::of_pack_path("entities/a/b.toml"),
            Some(FileKind::Entities)
        );
        assert_eq!(
            FileKind::of_pack_path("tests/t.toml"),
            Some(FileKind::PackTest)
        );
        assert_eq!(FileKind::of_pack_path("entity/x.toml"), None);
        assert_eq!(FileKind::of_pack_path("other.toml"), None);
    }
}
