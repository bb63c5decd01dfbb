//! Microsoft Threat Modeling Tool models (`.tm7`) read as system models (`system::tm7`): the
//! real models in tests/fixtures/tm7 (from IriusRisk StartLeft, Apache-2.0; SOURCE.md there)
//! convert with the built-in TMT mapping, bind to threatpack/stride-core and get the threats a
//! threat modeler would expect; TMT's answers are translated; problems point into the XML.

use serde_json::Value as Json;
use threatpack::build::check_and_compile;
use threatpack::check::CheckOptions;
use threatpack::engine::Engine;
use threatpack::engine::bind::bind;
use threatpack::system::otm::Mapping;
use threatpack::system::{ModelFile, load_model, tm7};
use threatpack::workspace::load_graph;

use crate::otm::{assert_findings, element, findings, model_json};
use crate::support::{read_repository_file, repository, threatpack, write_fixture};

const EXAMPLE: &str = "tests/fixtures/tm7/MTMT_example.trimmed.tm7";
const NESTED: &str = "tests/fixtures/tm7/MTMT_nested_tz_line.trimmed.tm7";

fn loaded(path: &str, text: String, mapping: Option<&Mapping>) -> ModelFile {
    load_model(path, text, mapping).unwrap_or_else(|problems| panic!("{path}: {problems:#?}"))
}

#[test]
fn the_example_converts_with_types_zones_and_translated_values() {
    let file = loaded(EXAMPLE, read_repository_file(EXAMPLE), None);
    let json = model_json(&file);
    let kind = |entity: &str| format!("threatpack/stride-core:entity/{entity}");
    let mobile = element(&json, "component", "mobile-client");
    assert_eq!(mobile["kind"], kind("mobile-client"));
    // "Mobile Client Technologies": Android, the list's fourth value.
    assert_eq!(mobile["properties"]["platform"], "android");
    let api = element(&json, "component", "public-api-v2");
    assert_eq!(api["kind"], kind("web-api"));
    assert_eq!(api["properties"]["internet_facing"], true);
    let database = element(&json, "component", "accounting-postgresql");
    assert_eq!(database["kind"], kind("database"));
    // Its firewall setting is TMT's `Select`: no answer, no property but the derived one.
    assert_eq!(
        database["properties"],
        serde_json::json!({"data_classes": ["personal-data"]})
    );
    assert_eq!(
        element(&json, "component", "azure-file-storage")["kind"],
        kind("object-storage")
    );
    let internet = element(&json, "boundary", "internet");
    assert_eq!(internet["contains"], serde_json::json!(["mobile-client"]));
    assert_eq!(internet["properties"]["untrusted"], true);
    let cloud = element(&json, "boundary", "public-cloud");
    assert_eq!(
        cloud["contains"],
        serde_json::json!([
            "accounting-postgresql",
            "public-api-v2",
            "azure-file-storage"
        ])
    );
    let flow = element(&json, "flow", "api-request");
    assert_eq!(flow["source"], "mobile-client");
    assert_eq!(flow["target"], "public-api-v2");
    assert_eq!(json["flow"].as_array().map(Vec::len), Some(6));
    // Converted fields point at the XML they came from.
    let text = read_repository_file(EXAMPLE);
    let name_at = &text[file.locate(&["component", "1", "name"])];
    assert!(name_at.contains("Mobile Client"), "{name_at}");
    let platform_at = &text[file.locate(&["component", "1", "properties", "platform"])];
    assert!(
        platform_at.contains("<a:string>Android</a:string>"),
        "{platform_at}"
    );
}

/// Issue 15: the internet-called API gets flooding and credential stuffing, lateral movement
/// is not raised on the Internet zone, the stores hold personal data, and a policy that
/// disabled Android threats says so when the model has an Android client.
#[test]
fn the_example_gets_credible_threats_from_stride_core_and_example_org() {
    let (found, report) = findings("packs/stride-core", EXAMPLE);
    assert_findings(
        &found,
        &[
            "request-flooding@public-api-v2",
            "credential-stuffing@public-api-v2",
            "unencrypted-sensitive-data-at-rest@accounting-postgresql",
            "lateral-movement-across-boundary@public-cloud",
        ],
        &[
            "lateral-movement-across-boundary@internet",
            "request-flooding@accounting-postgresql",
        ],
    );
    assert_eq!(report["model"]["components"], 4);
    let (acme, _) = findings("packs/example-org", EXAMPLE);
    assert_findings(
        &acme,
        &["android-client-despite-scope@mobile-client"],
        &["android-intent-interception@mobile-client"],
    );
}

#[test]
fn out_of_scope_stencils_get_no_threats_and_are_listed_with_their_reason() {
    let text = read_repository_file(EXAMPLE);
    // The Web API's `Out Of Scope` is the third boolean of the file (after the two stencils
    // drawn before it); set it, and give a reason.
    let api_at = text.find("Public API v2").expect("the API");
    let flag = "<b:Value i:type=\"c:boolean\" xmlns:c=\"http://www.w3.org/2001/XMLSchema\">false</b:Value>";
    let offset = api_at + text[api_at..].find(flag).expect("its Out Of Scope");
    let reason_empty =
        "<b:Value i:type=\"c:string\" xmlns:c=\"http://www.w3.org/2001/XMLSchema\"/>";
    let reason_at = offset + text[offset..].find(reason_empty).expect("its reason");
    let mut changed = text.clone();
    changed.replace_range(
        reason_at..reason_at + reason_empty.len(),
        "<b:Value i:type=\"c:string\" xmlns:c=\"http://www.w3.org/2001/XMLSchema\">run by a partner</b:Value>",
    );
    changed.replace_range(offset..offset + flag.len(), &flag.replace("false", "true"));
    let directory = write_fixture(&format!("--- model.tm7\n{changed}"));
    let run = threatpack(
        directory.path(),
        &[
            "apply",
            "--pack",
            &repository().join("packs/stride-core").display().to_string(),
            "--model",
            "model.tm7",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Json = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        report["model"]["out-of-scope"],
        serde_json::json!([{"element": "public-api-v2", "reason": "run by a partner"}])
    );
    let on_api = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .filter(|threat| threat["element"] == "public-api-v2")
        .count();
    assert_eq!(on_api, 0);
}

#[test]
fn a_stencil_type_the_mapping_does_not_name_is_mapped_as_its_template_parent() {
    let text = read_repository_file(EXAMPLE).replace("SE.P.TMCore.WebAPI", "SE.P.Acme.PaymentsApi");
    let file = loaded("acme.tm7", text, None);
    let json = model_json(&file);
    let api = element(&json, "component", "public-api-v2");
    assert_eq!(api["kind"], "threatpack/stride-core:entity/process");
    assert_eq!(api["properties"]["internet_facing"], true);
}

#[test]
fn a_user_mapping_is_laid_over_the_builtin_tmt_mapping() {
    let mapping = Mapping::parse(
        "mapping.toml",
        "format = 1\n[types.\"SE.P.TMCore.WebAPI\"]\nkind = \"threatpack/stride-core:entity/serverless-function\"\n",
    )
    .expect("a valid mapping");
    let json = model_json(&loaded(
        EXAMPLE,
        read_repository_file(EXAMPLE),
        Some(&mapping),
    ));
    assert_eq!(
        element(&json, "component", "public-api-v2")["kind"],
        "threatpack/stride-core:entity/serverless-function"
    );
    // The rest of the built-in TMT mapping still applies.
    assert_eq!(
        element(&json, "component", "mobile-client")["kind"],
        "threatpack/stride-core:entity/mobile-client"
    );
}

/// An SDL-template model with line boundaries: the flow across the "Internet Boundary" line
/// exposes the process it reaches; the connector attached at one end only is left out.
#[test]
fn a_flow_across_the_internet_line_exposes_its_target() {
    let file = loaded(NESTED, read_repository_file(NESTED), None);
    let json = model_json(&file);
    let application = element(&json, "component", "main-application");
    assert_eq!(application["kind"], "threatpack/stride-core:entity/process");
    assert_eq!(application["properties"]["internet_facing"], true);
    assert_eq!(
        element(&json, "component", "customer-web-client")["kind"],
        "threatpack/stride-core:entity/browser"
    );
    assert_eq!(
        element(&json, "boundary", "sandbox-environment")["contains"],
        serde_json::json!(["sandbox-mongo"])
    );
    assert_eq!(json["flow"].as_array().map(Vec::len), Some(2));
    let (found, _) = findings("packs/stride-core", NESTED);
    assert_findings(
        &found,
        &["request-flooding@main-application"],
        &["request-flooding@sandbox-mongo"],
    );
}

#[test]
fn every_builtin_tmt_type_binds_to_stride_core() {
    let graph = load_graph(&repository().join("packs/stride-core"), "packs/stride-core")
        .expect("stride-core loads");
    let (diagnostics, kb) = check_and_compile(&graph, &CheckOptions::default());
    let kb = kb.unwrap_or_else(|| panic!("stride-core compiles: {diagnostics:#?}"));
    for (type_id, mapped) in &tm7::builtin_mapping().types {
        assert!(
            mapped.kind.starts_with("threatpack/stride-core:entity/"),
            "{type_id}: {}",
            mapped.kind
        );
    }
    // Each fixture with each built-in type in place of the Web API, every TMT answer set.
    for type_id in tm7::builtin_mapping().types.keys() {
        let text = read_repository_file(EXAMPLE).replace("SE.P.TMCore.WebAPI", type_id);
        let file = loaded("typed.tm7", text, None);
        let mut engine = Engine::new(&kb);
        if let Err(problems) = bind(&mut engine, &file) {
            panic!("{type_id} binds to stride-core: {problems:#?}");
        }
    }
    for path in [EXAMPLE, NESTED] {
        let file = loaded(path, read_repository_file(path), None);
        let mut engine = Engine::new(&kb);
        if let Err(problems) = bind(&mut engine, &file) {
            panic!("{path} binds to stride-core: {problems:#?}");
        }
    }
}

#[test]
fn broken_xml_is_an_error_at_its_place() {
    let text = read_repository_file(EXAMPLE);
    let broken = text.replacen("</GenericTypeId>", "</GenericType>", 1);
    let problems = load_model("broken.tm7", broken.clone(), None).expect_err("broken XML");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let label = problems[0].primary.as_ref().expect("located");
    let expected = broken.find("</GenericType>").expect("the broken tag");
    assert!(
        label.span.start.abs_diff(expected) < 20,
        "{} vs {expected}: {problems:#?}",
        label.span.start
    );
    assert!(
        problems[0].message.contains("Threat Modeling Tool"),
        "{problems:#?}"
    );
    // A DTD is refused rather than expanded, by the XML parser.
    let dtd = "<!DOCTYPE ThreatModel [<!ENTITY a \"aaaa\">]>\n<ThreatModel>&a;</ThreatModel>";
    let problems = load_model("dtd.tm7", dtd.to_string(), None).expect_err("a DTD");
    assert!(
        problems[0]
            .message
            .contains("not a well-formed Threat Modeling Tool model"),
        "{problems:#?}"
    );
    // A `.tm7` that is not XML (a zip) says what it is not.
    let problems = load_model("model.tm7", "PK\u{3}\u{4}".to_string(), None).expect_err("a zip");
    assert!(
        problems[0]
            .message
            .contains("is not a Threat Modeling Tool model"),
        "{problems:#?}"
    );
}
