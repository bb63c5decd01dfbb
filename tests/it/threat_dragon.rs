//! OWASP Threat Dragon v2 models read as system models (`system::threat_dragon`): the public
//! samples in tests/fixtures/threat-dragon (Apache-2.0; SOURCE.md there) convert with the
//! built-in Threat Dragon mapping, bind to threatpack/stride-core, keep what is out of scope
//! out of the threats, and get the threats a threat modeler would expect.

use threatpack::build::check_and_compile;
use threatpack::check::CheckOptions;
use threatpack::engine::Engine;
use threatpack::engine::bind::bind;
use threatpack::system::{ModelFile, load_model, threat_dragon};
use threatpack::workspace::load_graph;

use crate::otm::{assert_findings, element, findings, model_json};
use crate::support::{read_repository_file, repository};

const DEMO: &str = "tests/fixtures/threat-dragon/v2-threat-model.json";
const THREE_TIER: &str = "tests/fixtures/threat-dragon/three-tier-web-app.json";

fn loaded(path: &str, text: String) -> ModelFile {
    load_model(path, text, None).unwrap_or_else(|problems| panic!("{path}: {problems:#?}"))
}

#[test]
fn the_demo_converts_with_translated_properties_and_out_of_scope_elements() {
    let file = loaded(DEMO, read_repository_file(DEMO));
    let json = model_json(&file);
    let kind = |entity: &str| format!("threatpack/stride-core:entity/{entity}");
    assert_eq!(json["model"]["name"], "Demo Threat Model");
    let application = element(&json, "component", "web-application");
    assert_eq!(application["kind"], kind("process"));
    // The browser reaches it over a public network (`isPublicNetwork`).
    assert_eq!(application["properties"]["internet_facing"], true);
    assert_eq!(
        element(&json, "component", "background-worker-process")["properties"]
            .get("internet_facing"),
        None
    );
    let worker_config = element(&json, "component", "worker-config");
    assert_eq!(worker_config["kind"], kind("data-store"));
    assert_eq!(
        worker_config["properties"],
        serde_json::json!({"data_classes": ["credentials", "personal-data"], "encrypted_at_rest": false})
    );
    assert_eq!(
        element(&json, "component", "web-application-config")["out-of-scope"],
        true
    );
    let read_config = element(&json, "flow", "read-web-app-config");
    assert_eq!(
        read_config["out-of-scope"],
        "This data flow represents a read from the file system"
    );
    let request = element(&json, "flow", "web-request");
    assert_eq!(request["source"], "browser");
    assert_eq!(request["target"], "web-application");
    assert_eq!(
        request["properties"],
        serde_json::json!({"encrypted": true, "protocol": "http"})
    );
    // Boundaries drawn as curves enclose nothing: not read.
    assert_eq!(json.get("boundary"), None);
    // Converted fields point at the Threat Dragon text they came from.
    let text = read_repository_file(DEMO);
    assert_eq!(
        &text[file.locate(&["flow", "0", "name"])],
        "\"Web Request\""
    );
    // A kind points at the Threat Dragon type it came from.
    assert_eq!(
        &text[file.locate(&["component", "0", "kind"])],
        "\"tm.Store\""
    );
}

#[test]
fn the_demo_gets_credible_threats_and_none_on_what_is_out_of_scope() {
    let (found, report) = findings("packs/stride-core", DEMO);
    assert_findings(
        &found,
        &[
            "request-flooding@web-application",
            "credential-stuffing@web-application",
            "unencrypted-sensitive-data-at-rest@database",
        ],
        &[
            "request-flooding@background-worker-process",
            "credential-stuffing@background-worker-process",
        ],
    );
    for out in [
        "web-application-config",
        "read-web-app-config",
        "read-worker-config",
    ] {
        assert!(
            !found
                .iter()
                .any(|finding| finding.ends_with(&format!("@{out}"))),
            "{out}: {found:#?}"
        );
    }
    let listed: Vec<&str> = report["model"]["out-of-scope"]
        .as_array()
        .expect("listed")
        .iter()
        .filter_map(|entry| entry["element"].as_str())
        .collect();
    assert_eq!(
        listed,
        [
            "web-application-config",
            "read-web-app-config",
            "read-worker-config"
        ]
    );
}

#[test]
fn boundary_boxes_hold_the_shapes_inside_them_and_bidirectional_flows_go_both_ways() {
    let json = model_json(&loaded(THREE_TIER, read_repository_file(THREE_TIER)));
    let boundaries = json["boundary"].as_array().expect("boundaries");
    assert_eq!(boundaries.len(), 2);
    assert_eq!(boundaries[0]["contains"], serde_json::json!(["web-ui"]));
    assert_eq!(
        boundaries[1]["contains"],
        serde_json::json!(["web-service", "postgressql"])
    );
    let flows = json["flow"].as_array().expect("flows");
    assert_eq!(flows.len(), 4);
    let pairs: Vec<(&str, &str)> = flows
        .iter()
        .filter_map(|flow| Some((flow["source"].as_str()?, flow["target"].as_str()?)))
        .collect();
    assert!(pairs.contains(&("web-service", "postgressql")), "{pairs:?}");
    assert!(pairs.contains(&("postgressql", "web-service")), "{pairs:?}");
    let (found, _) = findings("packs/stride-core", THREE_TIER);
    assert_findings(
        &found,
        &["lateral-movement-across-boundary@trust-boundary"],
        &["request-flooding@web-ui"],
    );
}

#[test]
fn every_builtin_threat_dragon_type_and_sample_binds_to_stride_core() {
    let graph = load_graph(&repository().join("packs/stride-core"), "packs/stride-core")
        .expect("stride-core loads");
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let kb = kb.unwrap_or_else(|| panic!("stride-core compiles: {diagnostics:#?}"));
    for (name, mapped) in &threat_dragon::builtin_mapping().types {
        assert!(
            mapped.kind.starts_with("threatpack/stride-core:entity/"),
            "{name}: {}",
            mapped.kind
        );
    }
    // Every Threat Dragon property set to true, the sample's process as each type.
    let text = read_repository_file(DEMO)
        .replace(
            "\"handlesCardPayment\": false",
            "\"handlesCardPayment\": true",
        )
        .replace("\"isEncrypted\": false", "\"isEncrypted\": true");
    for path in [DEMO, THREE_TIER] {
        let text = if path == DEMO {
            text.clone()
        } else {
            read_repository_file(path)
        };
        let file = loaded(path, text);
        let mut engine = Engine::new(&kb);
        if let Err(problems) = bind(&mut engine, &file) {
            panic!("{path} binds to stride-core: {problems:#?}");
        }
    }
}

#[test]
fn a_cell_that_is_not_a_table_is_an_error_not_a_crash() {
    for text in [
        r#"{"summary": {"title": 5}, "detail": {"diagrams": [{"cells": [3, null, {"data": "x"}]}]}}"#,
        r#"{"summary": {}, "detail": {"diagrams": 7}}"#,
        r#"{"summary": {"title": "T"}, "detail": {"diagrams": [{"cells": [{"id": "a", "data": {"type": "tm.Flow"}, "source": {"cell": "nowhere"}}]}]}}"#,
    ] {
        // Whatever the shape, loading ends in a model or in diagnostics.
        let _ = load_model("broken.json", text.to_string(), None);
    }
    let version_1 = r#"{"summary": {"title": "Old"}, "detail": {"diagrams": [{"diagramJson": {"cells": []}}]}}"#;
    let problems = load_model("old.json", version_1.to_string(), None).expect_err("v1");
    assert!(
        problems[0].message.contains("Threat Dragon v1"),
        "{problems:#?}"
    );
    let file = loaded(
        "empty.json",
        r#"{"summary": {"title": "Nothing drawn"}, "detail": {"diagrams": []}}"#.to_string(),
    );
    assert_eq!(model_json(&file)["model"]["name"], "Nothing drawn");
}
