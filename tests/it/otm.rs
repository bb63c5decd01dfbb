//! Open Threat Model files read as system models (`system::load_model`, `system::otm`): the
//! public OTM samples in tests/fixtures/otm convert with the built-in mapping and bind to
//! threatpack/stride-core; problems point at the line of the OTM file; YAML and JSON give the
//! same model; hostile YAML is refused, not crashed on.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use serde_json::Value as Json;
use threatpack::build::check_and_compile;
use threatpack::check::CheckOptions;
use threatpack::diagnostic::{Code, Diagnostic};
use threatpack::engine::Engine;
use threatpack::engine::bind::bind;
use threatpack::schema::{SchemaKind, compile};
use threatpack::system::otm::{self, Mapping};
use threatpack::system::{ModelFile, Syntax, load_model};
use threatpack::workspace::load_graph;

use crate::support::{repository, threatpack, write_fixture};

/// The OTM samples of tests/fixtures/otm (IriusRisk StartLeft and OWASP Threat Dragon,
/// Apache-2.0; SOURCE.md there).
const SAMPLES: [&str; 3] = [
    "otm/manual_threat_model.otm.yaml",
    "otm/example-open-threat-model.json",
    "otm/mobile-cloud.otm.json",
];

fn otm_fixture(path: &str) -> (String, String) {
    let full: PathBuf = repository().join("tests/fixtures").join(path);
    let text = fs::read_to_string(&full)
        .unwrap_or_else(|error| panic!("read {}: {error}", full.display()));
    (path.to_string(), text)
}

fn load(display_path: &str, text: &str) -> Result<ModelFile, Vec<Diagnostic>> {
    load_model(display_path, text.to_string(), None)
}

fn loaded(display_path: &str, text: &str) -> ModelFile {
    load(display_path, text).unwrap_or_else(|problems| panic!("{display_path}: {problems:#?}"))
}

fn problems(display_path: &str, text: &str) -> Vec<Diagnostic> {
    match load(display_path, text) {
        Ok(file) => panic!("{display_path} loads: {:#?}", file.model),
        Err(problems) => problems,
    }
}

/// The 1-based line of the primary label, and the text it covers.
fn place<'a>(text: &'a str, diagnostic: &Diagnostic) -> (usize, &'a str) {
    let label = diagnostic.primary.as_ref().expect("a located diagnostic");
    let line = text[..label.span.start].matches('\n').count() + 1;
    (line, &text[label.span.clone()])
}

fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is in the text"));
    text[..at].matches('\n').count() + 1
}

/// A converted model as the JSON of threatpack's model format.
pub(crate) fn model_json(file: &ModelFile) -> Json {
    serde_json::to_value(file.model.to_model()).expect("a model serializes")
}

/// The element `id` of `table` (`component`, `flow`, `boundary`) in `model_json`'s output.
pub(crate) fn element<'a>(json: &'a Json, table: &str, id: &str) -> &'a Json {
    json[table]
        .as_array()
        .and_then(|items| items.iter().find(|item| item["id"] == id))
        .unwrap_or_else(|| panic!("no {table} `{id}` in {json:#}"))
}

#[test]
fn every_otm_sample_converts_with_the_builtin_mapping_into_a_valid_model() {
    let validator = compile(SchemaKind::Model).expect("the model schema compiles");
    for sample in SAMPLES {
        let (display, text) = otm_fixture(sample);
        let file = loaded(&display, &text);
        let json = model_json(&file);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{sample}: {errors:#?}\n{json:#}");
        assert!(file.model.components() > 0, "{sample}");
        assert!(file.model.flows() > 0, "{sample}");
        assert!(file.model.boundaries() > 0, "{sample}");
    }
}

#[test]
fn the_manual_sample_converts_to_the_expected_model() {
    let (display, text) = otm_fixture("otm/manual_threat_model.otm.yaml");
    let file = loaded(&display, &text);
    let kind = |entity: &str| format!("threatpack/stride-core:entity/{entity}");
    let expected = serde_json::json!({
        "model": {"name": "Manual Threat Model Project"},
        "component": [
            {"id": "user", "name": "User", "kind": kind("client-application")},
            // Called from the Internet zone: internet-facing (derived).
            {"id": "web-server", "name": "Web server", "kind": kind("web-application"),
             "properties": {"internet_facing": true}},
            // The system handles personal data (stride-core's default), so does its store.
            {"id": "database", "name": "Database", "kind": kind("database"),
             "properties": {"data_classes": ["personal-data"]}},
        ],
        "flow": [
            {"id": "client-connection", "name": "Client connection", "kind": kind("data-flow"),
             "source": "user", "target": "web-server"},
            {"id": "database-connection", "name": "Database connection", "kind": kind("data-flow"),
             "source": "web-server", "target": "database"},
        ],
        "boundary": [
            {"id": "f0ba7722-39b6-4c81-8290-a30a248bb8d9", "name": "Internet",
             "kind": kind("trust-boundary"), "contains": ["user"],
             "properties": {"untrusted": true}},
            // Rated 1 like the Internet, but not the internet: what it calls is not exposed.
            {"id": "zone-6376d53e-6461-412b-8e04-7b3fe2b397de", "name": "Public",
             "kind": kind("trust-boundary"), "contains": ["web-server"]},
            {"id": "zone-2ab4effa-40b7-4cd2-ba81-8247d29a6f2d", "name": "Private Secured",
             "kind": kind("trust-boundary"), "contains": ["database"]},
        ],
    });
    assert_eq!(model_json(&file), expected);
}

#[test]
fn converted_fields_point_at_the_otm_text_they_came_from() {
    let (display, text) = otm_fixture("otm/manual_threat_model.otm.yaml");
    let file = loaded(&display, &text);
    let at = |field: &[&str]| &text[file.locate(field)];
    assert_eq!(at(&["component", "2", "kind"]), "postgresql");
    assert_eq!(at(&["component", "1", "id"]), "web-server");
    assert_eq!(at(&["component", "0", "name"]), "User");
    assert_eq!(at(&["flow", "1", "source"]), "web-server");
    assert_eq!(at(&["flow", "1", "target"]), "database");
    assert_eq!(at(&["model", "name"]), "Manual Threat Model Project");
    assert_eq!(
        at(&["boundary", "2", "contains", "0"]),
        "2ab4effa-40b7-4cd2-ba81-8247d29a6f2d"
    );
    assert_eq!(&text[file.locate_key(&["component", "2", "kind"])], "type");
    // In JSON the value's span includes its quotes.
    let (display, text) = otm_fixture("otm/mobile-cloud.otm.json");
    let file = loaded(&display, &text);
    let postgres = file
        .model
        .to_model()
        .component
        .iter()
        .position(|component| component.name.as_deref() == Some("Accounting PostgreSQL"))
        .expect("the PostgreSQL component");
    assert_eq!(
        &text[file.locate(&["component", &postgres.to_string(), "kind"])],
        "\"CD-MICROSOFT-AZURE-DB-POSTGRESQL\""
    );
}

#[test]
fn nested_components_and_zones_are_inside_every_zone_around_them() {
    let text = r#"
otmVersion: 0.2.0
project: {name: Nested, id: nested}
trustZones:
  - {id: cloud, name: Cloud, risk: {trustRating: 50}}
  - {id: vpc, name: VPC, risk: {trustRating: 80}, parent: {trustZone: cloud}}
components:
  - {id: cluster, name: Cluster, type: elastic-container-kubernetes, parent: {trustZone: vpc}}
  - {id: pod, name: Pod, type: docker-container, parent: {component: cluster}}
  - {id: bucket, name: Bucket, type: s3, parent: {trustZone: cloud}}
dataflows:
  - {id: f, name: F, source: pod, destination: bucket}
"#;
    let file = loaded("nested.otm.yaml", text);
    let model = file.model.to_model();
    let contains: Vec<(&str, Vec<&str>)> = model
        .boundary
        .iter()
        .map(|boundary| {
            (
                boundary.id.as_str(),
                boundary.contains.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        contains,
        [
            ("cloud", vec!["cluster", "pod", "bucket"]),
            ("vpc", vec!["cluster", "pod"]),
        ]
    );
    assert_eq!(
        &text[file.locate(&["boundary", "1", "contains", "1"])],
        "cluster"
    );
}

#[test]
fn the_builtin_kinds_and_the_samples_bind_to_stride_core() {
    let root = repository();
    let graph = load_graph(&root.join("packs/stride-core"), "packs/stride-core")
        .expect("stride-core loads");
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let kb = kb.unwrap_or_else(|| panic!("stride-core compiles: {diagnostics:#?}"));
    // One component per built-in type, each with the properties its mapping sets.
    let mut otm = String::from(
        "otmVersion: 0.2.0\nproject: {name: All types, id: all}\ntrustZones:\n  - {id: z, name: Z, risk: {trustRating: 1}}\ncomponents:\n",
    );
    for (position, otm_type) in Mapping::builtin().types.keys().enumerate() {
        otm.push_str(&format!(
            "  - {{id: c{position}, name: C, type: \"{otm_type}\", parent: {{trustZone: z}}}}\n"
        ));
    }
    otm.push_str("dataflows:\n  - {id: f, name: F, source: c0, destination: c1}\n");
    let mut models = vec![("all-types.otm.yaml".to_string(), otm)];
    models.extend(SAMPLES.map(otm_fixture));
    for (display, text) in models {
        let file = loaded(&display, &text);
        let mut engine = Engine::new(&kb);
        if let Err(problems) = bind(&mut engine, &file) {
            panic!("{display} binds to stride-core: {problems:#?}");
        }
    }
}

#[test]
fn an_unmapped_type_is_an_error_at_the_line_of_its_type() {
    let (display, text) = otm_fixture("otm/manual_threat_model.otm.yaml");
    let text = text.replace("type:   postgresql", "type:   postgresqll");
    let found = problems(&display, &text);
    assert_eq!(found.len(), 1, "{found:#?}");
    let problem = &found[0];
    assert_eq!(problem.code, Code::InvalidModel);
    assert_eq!(
        problem.message,
        "no mapping for OTM component type `postgresqll`"
    );
    assert_eq!(
        place(&text, problem),
        (line_of(&text, "postgresqll"), "postgresqll")
    );
    assert_eq!(problem.help.as_deref(), Some("did you mean `postgresql`?"));
    assert!(
        problem
            .notes
            .iter()
            .any(|note| note.contains("--mapping FILE")),
        "{problem:#?}"
    );

    // Far from every known type: the help says how to add a mapping, naming the user's file.
    let text = text.replace("postgresqll", "CD-V2-QUANTUM-LEDGER");
    let mapping = Mapping::parse("my-mapping.toml", "format = 1\n").expect("a valid mapping");
    let found =
        otm::convert(&display, text.clone(), Syntax::Yaml, &mapping).expect_err("an unmapped type");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        place(&text, &found[0]),
        (line_of(&text, "CD-V2-QUANTUM"), "CD-V2-QUANTUM-LEDGER")
    );
    assert_eq!(
        found[0].help.as_deref(),
        Some(
            "add `[types.\"CD-V2-QUANTUM-LEDGER\"]` with `kind = \"ENTITY-ID\"` to `my-mapping.toml`"
        )
    );
}

#[test]
fn a_user_mapping_sets_kinds_and_properties_from_types_tags_and_attributes() {
    let mapping = Mapping::parse(
        "mapping.toml",
        r#"
format = 1

[dataflow]
kind = "data-flow"
properties = { encrypted = true }

[trust-zone-types.internet]
kind = "trust-boundary"
properties = { enforcement = "none" }

[types."CD-V2-AWS-LAMBDA"]
kind = "serverless-function"
properties = { internet_facing = false, authentication = "none" }

[tags.external]
properties = { internet_facing = true }

[attributes.runtime]
property = "runtime"
"#,
    )
    .expect("a valid mapping");
    let text = r#"{
  "otmVersion": "0.2.0",
  "project": {"name": "Functions", "id": "functions"},
  "trustZones": [
    {"id": "internet", "name": "Internet", "type": "internet", "risk": {"trustRating": 1}},
    {"id": "cloud", "name": "Cloud", "risk": {"trustRating": 90}}
  ],
  "components": [
    {"id": "Handler_One", "name": "Handler", "type": "CD-V2-AWS-LAMBDA",
     "parent": {"trustZone": "cloud"}, "tags": ["external", "unmapped"],
     "attributes": {"runtime": "python3.12", "owner": "team-a"}},
    {"id": "Handler Two", "name": "Other", "type": "CD-V2-AWS-LAMBDA",
     "parent": {"trustZone": "cloud"}, "tags": null, "attributes": null}
  ],
  "dataflows": [
    {"id": "call", "name": "Call", "source": "Handler_One", "destination": "Handler Two",
     "bidirectional": true}
  ]
}"#;
    let file = otm::convert(
        "functions.otm.json",
        text.to_string(),
        Syntax::Json,
        &mapping,
    )
    .unwrap_or_else(|problems| panic!("{problems:#?}"));
    let json = model_json(&file);
    assert_eq!(
        json["component"][0],
        serde_json::json!({
            "id": "handler_one", "name": "Handler", "kind": "serverless-function",
            "properties": {"internet_facing": true, "authentication": "none", "runtime": "python3.12"}
        })
    );
    assert_eq!(
        json["component"][1]["properties"],
        serde_json::json!({"internet_facing": false, "authentication": "none"})
    );
    assert_eq!(json["component"][1]["id"], "handler-two");
    assert_eq!(json["flow"][0]["source"], "handler_one");
    assert_eq!(json["flow"][0]["target"], "handler-two");
    assert_eq!(
        json["flow"][0]["properties"],
        serde_json::json!({"encrypted": true})
    );
    assert_eq!(
        json["boundary"][0]["properties"],
        serde_json::json!({"enforcement": "none", "untrusted": true})
    );
    assert_eq!(json["boundary"][1].get("properties"), None);
    // Each property points at what set it.
    let at = |field: &[&str]| &text[file.locate(field)];
    assert_eq!(
        at(&["component", "0", "properties", "internet_facing"]),
        "\"external\""
    );
    assert_eq!(
        at(&["component", "0", "properties", "runtime"]),
        "\"python3.12\""
    );
    assert_eq!(
        at(&["component", "1", "properties", "authentication"]),
        "\"CD-V2-AWS-LAMBDA\""
    );
    assert_eq!(
        at(&["boundary", "0", "properties", "enforcement"]),
        "\"internet\""
    );
    assert_eq!(at(&["boundary", "1", "kind"]), "\"cloud\"");
}

#[test]
fn yaml_and_json_forms_of_one_otm_file_give_the_same_model() {
    for sample in SAMPLES {
        let (display, text) = otm_fixture(sample);
        let original = loaded(&display, &text);
        // The other syntax: JSON for the YAML sample, YAML (block style) for the JSON ones.
        let (other_display, other_text) = if display.ends_with(".yaml") {
            let json = original.document().to_json();
            (
                "converted.otm.json".to_string(),
                serde_json::to_string_pretty(&json).expect("JSON"),
            )
        } else {
            (
                "converted.otm.yaml".to_string(),
                to_block_yaml(&original.document().to_json(), 0),
            )
        };
        let other = loaded(&other_display, &other_text);
        assert_eq!(model_json(&original), model_json(&other), "{sample}");
        assert_eq!(
            original.document().to_json(),
            other.document().to_json(),
            "{sample}"
        );
        // And the origins lead to the same values in both texts.
        let kind = |file: &ModelFile, text: &str| {
            text[file.locate(&["component", "1", "kind"])]
                .trim_matches('"')
                .to_string()
        };
        assert_eq!(
            kind(&original, &text),
            kind(&other, &other_text),
            "{sample}"
        );
    }
}

/// Block-style YAML for a JSON value; every string double-quoted (JSON escapes are YAML ones).
fn to_block_yaml(value: &Json, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let scalar = |value: &Json| match value {
        Json::String(_) | Json::Number(_) | Json::Bool(_) | Json::Null => Some(value.to_string()),
        Json::Array(items) if items.is_empty() => Some("[]".to_string()),
        Json::Object(entries) if entries.is_empty() => Some("{}".to_string()),
        _ => None,
    };
    let mut out = String::new();
    match value {
        Json::Object(entries) => {
            for (key, value) in entries {
                let key = Json::String(key.clone());
                match scalar(value) {
                    Some(text) => out.push_str(&format!("{pad}{key}: {text}\n")),
                    None => out.push_str(&format!(
                        "{pad}{key}:\n{}",
                        to_block_yaml(value, indent + 2)
                    )),
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        let nested = to_block_yaml(item, indent + 2);
                        out.push_str(&format!("{pad}- {}", &nested[indent + 2..]));
                    }
                }
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", scalar(value).unwrap_or_default())),
    }
    out
}

#[test]
fn otm_problems_are_reported_together_each_at_its_line() {
    let text = r#"otmVersion: 0.2.0
project: {name: Broken, id: broken}
trustZones:
  - {id: internet, name: Internet, risk: {trustRating: 1}}
components:
  - {id: web, name: Web, type: web-service, parent: {trustZone: internt}}
  - {id: Web, name: Web again, type: web-service, parent: {trustZone: internet}}
  - {id: loop, name: Loop, type: web-service, parent: {component: loop}}
  - {id: notype, name: No type, parent: {trustZone: internet}}
dataflows:
  - {id: in, name: In, source: internet, destination: web}
  - {id: out, name: Out, source: web, destination: nowhere}
"#;
    let found = problems("broken.otm.yaml", text);
    let summary: Vec<(usize, &str, &str)> = found
        .iter()
        .map(|problem| {
            let (line, covered) = place(text, problem);
            (line, problem.message.as_str(), covered)
        })
        .collect();
    let expected = [
        (6, "no trust zone has the id `internt`", "internt"),
        (
            7,
            "OTM ids `web` and `Web` both become the model id `web`",
            "Web",
        ),
        (
            8,
            "component `loop` is inside itself through its parents",
            "loop",
        ),
        (9, "this component has no `type`", ""),
        (
            11,
            "the source of dataflow `in` is a trust zone",
            "internet",
        ),
        (12, "no component has the id `nowhere`", "nowhere"),
    ];
    for expected in expected {
        assert!(summary.contains(&expected), "{expected:?} in {summary:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{summary:#?}");
    let unknown_zone = found
        .iter()
        .find(|problem| problem.message.contains("internt"))
        .expect("the unknown zone");
    assert_eq!(
        unknown_zone.help.as_deref(),
        Some("did you mean `internet`?")
    );
}

#[test]
fn otm_versions_other_than_0_x_are_refused() {
    for (text, message, covered) in [
        (
            "otmVersion: 1.0.0\nproject: {name: P, id: p}\n",
            "unsupported OTM version `1.0.0`",
            "1.0.0",
        ),
        (
            "otmVersion: 0.2\nproject: {name: P, id: p}\n",
            "`otmVersion` must be a string",
            "0.2",
        ),
        (
            "{\"otmVersion\": 2, \"project\": {\"name\": \"P\", \"id\": \"p\"}}",
            "`otmVersion` must be a string",
            "2",
        ),
    ] {
        let found = problems("version.otm", text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].message, message);
        assert_eq!(place(text, &found[0]), (1, covered));
    }
    // Version 0.1.0 (the StartLeft sample) and 0.2.0 are read.
    assert!(load("v.otm", "otmVersion: 0.1.0\nproject: {name: P, id: p}\n").is_ok());
}

#[test]
fn json_and_yaml_files_without_otm_version_are_native_models() {
    let yaml = "model:\n  name: Shop\ncomponent:\n  - id: web\n    kind: web-api\n";
    let file = loaded("shop.yaml", yaml);
    assert_eq!(file.model.to_model().component[0].kind, "web-api");
    assert!(file.origins.is_empty());
    let json = r#"{"model": {"name": "Shop"}, "component": [{"id": "web", "kind": "web-api"}]}"#;
    assert_eq!(model_json(&loaded("shop.json", json)), model_json(&file));
    // Unknown keys in a native JSON/YAML model are schema errors at their line.
    let found = problems(
        "shop.yaml",
        "component:\n  - id: web\n    kind: web-api\n    knd: x\n",
    );
    assert_eq!(
        place(
            "component:\n  - id: web\n    kind: web-api\n    knd: x\n",
            &found[0]
        ),
        (4, "knd")
    );
}

#[test]
fn hostile_yaml_is_an_error_not_a_crash() {
    let deep_flow = format!(
        "otmVersion: 0.2.0\nx: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_block: String = (0..200)
        .map(|level| format!("{}k{level}:\n", " ".repeat(level)))
        .collect();
    let mut bomb = String::from("otmVersion: 0.2.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..30 {
        let previous = level - 1;
        bomb.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            vec![format!("*a{previous}"); 10].join(", ")
        ));
    }
    let two_documents = "otmVersion: 0.2.0\nproject: {name: A, id: a}\n---\notmVersion: 0.2.0\n";
    let duplicate = "otmVersion: 0.2.0\nproject: {name: A, id: a}\nproject: {name: B, id: b}\n";
    let cases: [(&str, &str, &str); 5] = [
        (
            &deep_flow,
            "lists and tables nest more than 64 levels deep here",
            "deep-flow.yaml",
        ),
        (
            &deep_block,
            "lists and tables nest more than 64 levels deep here",
            "deep-block.yaml",
        ),
        (
            &bomb,
            "YAML aliases are not supported (`*a0`): write the value out in full",
            "bomb.yaml",
        ),
        (
            two_documents,
            "a file holds one YAML document; this starts a second one",
            "two.yaml",
        ),
        (
            duplicate,
            "duplicate key `project` (first used on line 2)",
            "duplicate.yaml",
        ),
    ];
    for (text, message, display) in cases {
        let found = problems(display, text);
        assert_eq!(found.len(), 1, "{display}: {found:#?}");
        assert_eq!(found[0].code, Code::InvalidModel, "{display}");
        let label = found[0].primary.as_ref().expect("located");
        assert_eq!(label.text, message, "{display}");
        assert!(label.span.start <= text.len(), "{display}");
    }
}

#[test]
fn the_mapping_schema_is_served_and_validates_the_builtin_mapping() {
    let directory = write_fixture("");
    let run = threatpack(directory.path(), &["schema", "otm-mapping"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = fs::read_to_string(repository().join("schema/otm-mapping.schema.json"))
        .expect("the committed schema");
    assert_eq!(run.stdout, committed);
    assert_eq!(
        SchemaKind::from_name("otm-mapping"),
        Some(SchemaKind::OtmMapping)
    );
    // A mapping file with an unknown key, a bad kind and a misspelt property name.
    let text = "format = 1\n[types.web-service]\nkind = \"Web API\"\n[tags.x]\nproperties = { internetFacing = true }\n[typs.y]\nkind = \"process\"\n";
    let found = Mapping::parse("mapping.toml", text).expect_err("invalid");
    let lines: Vec<usize> = found.iter().map(|problem| place(text, problem).0).collect();
    assert_eq!(lines.len(), 3, "{found:#?}");
    for line in [3, 5, 6] {
        assert!(lines.contains(&line), "line {line} in {found:#?}");
    }
}

/// The threats `threatpack apply --pack PACK --model MODEL` finds, as `pattern@element` with the
/// pattern's id unqualified, and the JSON report.
pub(crate) fn findings(pack: &str, model: &str) -> (BTreeSet<String>, Json) {
    let run = threatpack(
        &repository(),
        &[
            "apply", "--pack", pack, "--model", model, "--format", "json",
        ],
    );
    assert_eq!(run.code, 0, "apply {model} with {pack}: {}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("a JSON report");
    let found = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .map(|threat| {
            let pattern = threat["attack-pattern"].as_str().expect("a pattern id");
            let short = pattern.rsplit('/').next().unwrap_or(pattern);
            format!(
                "{short}@{}",
                threat["element"].as_str().expect("an element")
            )
        })
        .collect();
    (found, report)
}

/// Asserts that every one of `present` is found and none of `absent` is.
pub(crate) fn assert_findings(found: &BTreeSet<String>, present: &[&str], absent: &[&str]) {
    for finding in present {
        assert!(
            found.contains(*finding),
            "{finding} missing from {found:#?}"
        );
    }
    for finding in absent {
        assert!(!found.contains(*finding), "{finding} found: {found:#?}");
    }
}

/// Issue 15: a real Microsoft Threat Modeling Tool model converted to OTM by IriusRisk
/// StartLeft (Threat Dragon's mobile-cloud demo) got thin or wrong threats: the API called from
/// the Internet zone had no flooding or credential stuffing, lateral movement was raised on the
/// Internet zone itself, and the data stores held nothing sensitive.
#[test]
fn a_converted_tmt_model_gets_credible_threats() {
    let (found, report) = findings(
        "packs/stride-core",
        "tests/fixtures/otm/mobile-cloud.otm.json",
    );
    let api = "component-5d15323e-3729-4694-87b1-181c90af5045";
    let database = "component-53245f54-0656-4ede-a393-357aeaa2e20f";
    assert_findings(
        &found,
        &[
            &format!("request-flooding@{api}"),
            &format!("credential-stuffing@{api}"),
            &format!("unencrypted-sensitive-data-at-rest@{database}"),
            "lateral-movement-across-boundary@b61d6911-338d-46a8-9f39-8dcd24abfe91",
        ],
        &["lateral-movement-across-boundary@zone-6376d53e-6461-412b-8e04-7b3fe2b397de"],
    );
    assert_eq!(report["model"]["name"], "mtmt_project_name");
    // Acme disabled Android intent threats for having no Android client; this model has one.
    let (acme, _) = findings(
        "packs/example-org",
        "tests/fixtures/otm/mobile-cloud.otm.json",
    );
    assert_findings(
        &acme,
        &["android-client-despite-scope@component-6183b7fa-eba5-4bf8-a0af-c3e30d144a10"],
        &["android-intent-interception@component-6183b7fa-eba5-4bf8-a0af-c3e30d144a10"],
    );
}

/// Issue 15: the Threat Dragon OTM sample's `code-class` was a network process with nine
/// service threats; the service the Internet zone calls had no credential stuffing.
#[test]
fn a_code_class_is_out_of_scope_and_the_called_service_is_internet_facing() {
    let (found, report) = findings(
        "packs/stride-core",
        "tests/fixtures/otm/example-open-threat-model.json",
    );
    assert!(
        !found
            .iter()
            .any(|finding| finding.ends_with("@class-customerdatabase")),
        "{found:#?}"
    );
    assert_eq!(
        report["model"]["out-of-scope"][0]["element"],
        "class-customerdatabase"
    );
    assert_findings(
        &found,
        &[
            "request-flooding@web-service",
            "credential-stuffing@web-service",
            "unencrypted-sensitive-data-at-rest@customer-database",
        ],
        &["lateral-movement-across-boundary@f0ba7722-39b6-4c81-8290-a30a248bb8d9"],
    );
}

#[test]
fn derivations_yield_to_what_the_model_and_the_mapping_say() {
    let mapping = Mapping::parse(
        "mapping.toml",
        r#"
format = 1

[trust-zone-types.partner]
kind = "threatpack/stride-core:entity/trust-boundary"
properties = { untrusted = true }

[trust-zone-types.lab]
kind = "threatpack/stride-core:entity/trust-boundary"
properties = { untrusted = false }

[tags.internal-only]
properties = { internet_facing = false }

[attributes.Stores]
property = "data_classes"
values = { Cards = ["payment-card"], Nothing = [] }

[system-attributes."Personal data"]
property = "handles_personal_data"
values = { Yes = true, No = false }
"#,
    )
    .expect("a valid mapping");
    let model = |personal: &str| {
        format!(
            r#"otmVersion: 0.2.0
project: {{name: P, id: p, attributes: {{"Personal data": "{personal}"}}}}
trustZones:
  - {{id: net, name: Internet}}
  - {{id: partner-net, name: Partner, type: partner}}
  - {{id: lab, name: Internet, type: lab}}
  - {{id: dc, name: Datacenter}}
  - {{id: empty, name: Empty, parent: {{trustZone: dc}}}}
components:
  - {{id: browser, name: B, type: web-client, parent: {{trustZone: net}}}}
  - {{id: partner, name: Pa, type: generic-client, parent: {{trustZone: partner-net}}}}
  - {{id: tester, name: T, type: generic-client, parent: {{trustZone: lab}}}}
  - {{id: api, name: A, type: web-service, parent: {{trustZone: dc}}}}
  - {{id: admin, name: Ad, type: web-service, parent: {{trustZone: dc}}, tags: [internal-only]}}
  - {{id: batch, name: Ba, type: back-end-server, parent: {{trustZone: dc}}}}
  - {{id: lab-api, name: L, type: web-service, parent: {{trustZone: dc}}}}
  - {{id: db, name: D, type: database, parent: {{trustZone: dc}}}}
  - {{id: cards, name: C, type: database, parent: {{trustZone: dc}}, attributes: {{Stores: Cards}}}}
  - {{id: bin, name: Bi, type: s3, parent: {{trustZone: dc}}, attributes: {{Stores: Unknown}}}}
dataflows:
  - {{id: f1, source: browser, destination: api}}
  - {{id: f2, source: browser, destination: admin}}
  - {{id: f3, source: partner, destination: batch}}
  - {{id: f4, source: tester, destination: lab-api}}
  - {{id: f5, source: api, destination: db}}
"#
        )
    };
    let convert = |text: &str| {
        let file = otm::convert("m.otm.yaml", text.to_string(), Syntax::Yaml, &mapping)
            .unwrap_or_else(|problems| panic!("{problems:#?}"));
        model_json(&file)
    };
    let json = convert(&model("Yes"));
    let component = |id: &str| {
        json["component"]
            .as_array()
            .expect("components")
            .iter()
            .find(|component| component["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id}"))
    };
    let property = |id: &str, name: &str| component(id)["properties"][name].clone();
    assert_eq!(
        json["system"],
        serde_json::json!({"handles_personal_data": true})
    );
    // From the Internet and from a zone the mapping marks untrusted: exposed...
    assert_eq!(property("api", "internet_facing"), true);
    assert_eq!(property("batch", "internet_facing"), true);
    // ...unless the model says otherwise, or the zone is marked trusted whatever its name.
    assert_eq!(property("admin", "internet_facing"), false);
    assert_eq!(property("lab-api", "internet_facing"), Json::Null);
    // A store reached only from inside is not exposed; it holds personal data unless told.
    assert_eq!(property("db", "network_exposure"), Json::Null);
    assert_eq!(
        property("db", "data_classes"),
        serde_json::json!(["personal-data"])
    );
    assert_eq!(
        property("cards", "data_classes"),
        serde_json::json!(["payment-card"])
    );
    // A value the translation does not list sets nothing, and the default applies.
    assert_eq!(
        property("bin", "data_classes"),
        serde_json::json!(["personal-data"])
    );
    let boundary = |id: &str| {
        json["boundary"]
            .as_array()
            .expect("boundaries")
            .iter()
            .find(|boundary| boundary["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(boundary("net")["properties"]["untrusted"], true);
    assert_eq!(boundary("lab")["properties"]["untrusted"], false);
    assert_eq!(boundary("dc")["properties"]["untrusted"], Json::Null);
    assert_eq!(boundary("dc").get("out-of-scope"), None);
    assert_eq!(
        boundary("empty")["out-of-scope"],
        "no component is inside this zone (derived from the diagram)"
    );
    // A system without personal data keeps stride-core's default for its stores.
    let json = convert(&model("No"));
    assert_eq!(
        json["system"],
        serde_json::json!({"handles_personal_data": false})
    );
    let db = json["component"]
        .as_array()
        .expect("components")
        .iter()
        .find(|component| component["id"] == "db")
        .cloned()
        .expect("db");
    assert_eq!(db.get("properties"), None);
}
