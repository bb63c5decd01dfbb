//! `apply --format otm | stix | html | mermaid` run by the binary: on the example shop
//! (packs/example-org), on Open Threat Model samples (tests/fixtures/otm) and on a pack and model
//! full of hostile text. Every OTM output validates against the OTM 0.2.0 schema
//! (tests/fixtures/otm/otm_schema.json), every STIX bundle follows the STIX 2.1 rules that can be
//! checked without a STIX library, the HTML runs nothing and loads nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use regex::Regex;
use serde_json::Value as Json;
use threatpack::system::otm::model_id;

use crate::support::{repository, threatpack, write_fixture};

const SHOP: [&str; 4] = [
    "--model",
    "examples/online-shop/model.toml",
    "--pack",
    "packs/example-org",
];

/// `threatpack apply ARGS --format FORMAT` in `directory`: its standard output, which must be
/// what `--out` writes too.
fn apply(directory: &Path, args: &[&str], format: &str) -> String {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", format]);
    let run = threatpack(directory, &all);
    assert_eq!(run.code, 0, "{format}: {}", run.stderr);
    let out = tempfile::tempdir().expect("a temporary directory");
    let file = out.path().join(format!("report.{format}"));
    let file_text = file.to_string_lossy().to_string();
    all.extend_from_slice(&["--out", &file_text]);
    let written = threatpack(directory, &all);
    assert_eq!(written.code, 0, "{format} --out: {}", written.stderr);
    assert_eq!(written.stdout, "", "--out writes nothing to stdout");
    let text = fs::read_to_string(&file).expect("--out wrote the file");
    assert_eq!(text, run.stdout, "{format}: --out and stdout differ");
    text
}

fn json_report(directory: &Path, args: &[&str]) -> Json {
    serde_json::from_str(&apply(directory, args, "json")).expect("the JSON report")
}

/// The schema violations of an OTM document.
fn otm_violations(document: &Json) -> Vec<String> {
    let schema: Json = serde_json::from_str(
        &fs::read_to_string(repository().join("tests/fixtures/otm/otm_schema.json"))
            .expect("the OTM schema"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("the OTM schema compiles");
    validator
        .iter_errors(document)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect()
}

/// Every element of an OTM document (component, dataflow, trust zone) by its id, with the
/// conversion's role name.
fn otm_elements(document: &Json) -> Vec<(&'static str, &Json)> {
    let mut elements = Vec::new();
    for (array, role) in [
        ("components", "component"),
        ("dataflows", "flow"),
        ("trustZones", "zone"),
    ] {
        for item in document[array].as_array().into_iter().flatten() {
            elements.push((role, item));
        }
    }
    elements
}

/// Threat instance id → the id of the OTM element it is attached to, and its OTM state (the
/// threats `apply` attached, not those the OTM file had).
fn attached(document: &Json) -> BTreeMap<String, (String, String)> {
    let mut attached = BTreeMap::new();
    for (_, element) in otm_elements(document) {
        for threat in element["threats"].as_array().into_iter().flatten() {
            let id = threat["threat"].as_str().unwrap_or_default().to_string();
            if !id.starts_with("T-") {
                continue;
            }
            let place = (
                element["id"].as_str().unwrap_or_default().to_string(),
                threat["state"].as_str().unwrap_or_default().to_string(),
            );
            assert!(
                attached.insert(id.clone(), place).is_none(),
                "{id} attached twice"
            );
        }
    }
    attached
}

#[test]
fn the_example_shop_as_otm_validates_and_carries_every_threat_and_mitigation_state() {
    let root = repository();
    let report = json_report(&root, &SHOP);
    let text = apply(&root, &SHOP, "otm");
    let document: Json = serde_json::from_str(&text).expect("OTM is JSON");
    let violations = otm_violations(&document);
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(document["otmVersion"], "0.2.0");
    assert_eq!(document["project"]["name"], "Online shop");
    assert_eq!(document["project"]["attributes"]["internet_facing"], true);

    // Every threat instance of the report, on its element, once; defined at the top with its
    // risk and its attack pattern's CWEs.
    let threats = report["threats"].as_array().expect("threats");
    assert!(threats.len() > 20, "{}", threats.len());
    let attached = attached(&document);
    assert_eq!(attached.len(), threats.len());
    let defined: BTreeMap<&str, &Json> = document["threats"]
        .as_array()
        .expect("top-level threats")
        .iter()
        .map(|threat| (threat["id"].as_str().unwrap_or_default(), threat))
        .collect();
    let expected_state = |state: &str| match state {
        "unmitigated" | "planned" => "exposed",
        "accepted" => "accepted",
        "partially-mitigated" => "partly-mitigated",
        "mitigated" => "mitigated",
        other => panic!("unknown state {other}"),
    };
    for threat in threats {
        let id = threat["id"].as_str().expect("id");
        let (element, state) = &attached[id];
        assert_eq!(element, threat["element"].as_str().expect("element"));
        assert_eq!(
            state,
            expected_state(threat["state"].as_str().expect("state"))
        );
        let definition = defined[id];
        assert_eq!(definition["name"], threat["name"]);
        assert_eq!(
            definition["attributes"]["residual-score"],
            threat["residual"]["score"]
        );
        assert!(
            definition["risk"]["impact"].as_u64() > Some(0),
            "{definition}"
        );
    }
    assert!(
        defined.values().any(|threat| threat["cwes"].is_array()),
        "CWE references become cwes"
    );
    // Mitigation states follow the model's mitigation-status: the shop has some in place.
    let states: BTreeSet<&str> = otm_elements(&document)
        .into_iter()
        .flat_map(|(_, element)| element["threats"].as_array().into_iter().flatten())
        .flat_map(|threat| threat["mitigations"].as_array().into_iter().flatten())
        .filter_map(|mitigation| mitigation["state"].as_str())
        .collect();
    assert!(states.contains("implemented"), "{states:?}");
    assert!(states.contains("recommended"), "{states:?}");
    let mitigations: BTreeSet<&str> = document["mitigations"]
        .as_array()
        .expect("mitigations")
        .iter()
        .filter_map(|mitigation| mitigation["id"].as_str())
        .collect();
    for threat in threats {
        for mitigation in threat["mitigations"].as_array().expect("mitigations") {
            let id = mitigation["mitigation"].as_str().expect("id");
            assert!(mitigations.contains(id), "{id} is defined");
        }
    }

    // Boundaries are trust zones; components outside them get one of their own; each
    // component sits in the zone its boundary gives it.
    let zones: BTreeSet<&str> = document["trustZones"]
        .as_array()
        .expect("zones")
        .iter()
        .filter_map(|zone| zone["id"].as_str())
        .collect();
    assert_eq!(
        zones,
        BTreeSet::from(["dmz", "internal", "threatpack-outside"])
    );
    let parent_of = |id: &str| {
        document["components"]
            .as_array()
            .expect("components")
            .iter()
            .find(|component| component["id"] == id)
            .map(|component| component["parent"]["trustZone"].clone())
    };
    assert_eq!(parent_of("api"), Some(Json::from("dmz")));
    assert_eq!(parent_of("db"), Some(Json::from("internal")));
    assert_eq!(
        parent_of("customer"),
        Some(Json::from("threatpack-outside"))
    );
    assert_eq!(document["dataflows"].as_array().map(Vec::len), Some(15));
}

/// The OTM given back without what `apply` added: its threats on elements and at the top, and
/// the mitigations it defined; arrays left empty by that removed, as empty or null arrays are
/// in the original.
fn without_additions(document: &Json) -> Json {
    let mut document = document.clone();
    let added = |item: &Json| {
        item["threat"]
            .as_str()
            .is_some_and(|id| id.starts_with("T-"))
            || item["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("T-") || id.contains(":mitigation/"))
    };
    let prune = |object: &mut serde_json::Map<String, Json>, key: &str| {
        if let Some(Json::Array(items)) = object.get_mut(key) {
            items.retain(|item| !added(item));
        }
        if object
            .get(key)
            .is_some_and(|items| items.is_null() || items.as_array().is_some_and(Vec::is_empty))
        {
            object.remove(key);
        }
    };
    if let Json::Object(top) = &mut document {
        prune(top, "threats");
        prune(top, "mitigations");
        for array in ["components", "dataflows", "trustZones"] {
            if let Some(Json::Array(items)) = top.get_mut(array) {
                for item in items {
                    if let Json::Object(item) = item {
                        prune(item, "threats");
                    }
                }
            }
        }
    }
    document
}

#[test]
fn an_otm_model_comes_back_as_it_was_with_its_threats_attached() {
    let root = repository();
    for (sample, original) in [
        (
            "tests/fixtures/otm/example-open-threat-model.json",
            serde_json::from_str::<Json>(
                &fs::read_to_string(root.join("tests/fixtures/otm/example-open-threat-model.json"))
                    .expect("sample"),
            )
            .expect("JSON"),
        ),
        (
            "tests/fixtures/otm/manual_threat_model.otm.yaml",
            // The YAML sample, as JSON.
            serde_json::json!({
                "otmVersion": "0.1.0",
                "project": {"name": "Manual Threat Model Project", "id": "manual-threat-model-project"},
                "trustZones": [
                    {"id": "f0ba7722-39b6-4c81-8290-a30a248bb8d9", "name": "Internet", "risk": {"trustRating": 1}},
                    {"id": "6376d53e-6461-412b-8e04-7b3fe2b397de", "name": "Public", "risk": {"trustRating": 1}},
                    {"id": "2ab4effa-40b7-4cd2-ba81-8247d29a6f2d", "name": "Private Secured", "risk": {"trustRating": 100}},
                ],
                "components": [
                    {"id": "user", "name": "User", "type": "generic-client", "parent": {"trustZone": "f0ba7722-39b6-4c81-8290-a30a248bb8d9"}},
                    {"id": "web-server", "name": "Web server", "type": "web-application-server-side", "parent": {"trustZone": "6376d53e-6461-412b-8e04-7b3fe2b397de"}},
                    {"id": "database", "name": "Database", "type": "postgresql", "parent": {"trustZone": "2ab4effa-40b7-4cd2-ba81-8247d29a6f2d"}},
                ],
                "dataflows": [
                    {"id": "client-connection", "name": "Client connection", "source": "user", "destination": "web-server"},
                    {"id": "database-connection", "name": "Database connection", "source": "web-server", "destination": "database"},
                ],
            }),
        ),
    ] {
        let args = [
            "--model",
            sample,
            "--pack",
            "packs/stride-core",
            "--tier",
            "all",
        ];
        let report = json_report(&root, &args);
        let document: Json = serde_json::from_str(&apply(&root, &args, "otm")).expect("JSON");
        let violations = otm_violations(&document);
        assert!(violations.is_empty(), "{sample}: {violations:#?}");
        // Ids, trust zones, representations, assets, the threats it had: all kept.
        assert_eq!(
            without_additions(&document),
            without_additions(&original),
            "{sample}"
        );
        // Every threat found is on the OTM element it was found on (by the conversion's ids).
        let attached = attached(&document);
        let threats = report["threats"].as_array().expect("threats");
        assert!(!threats.is_empty(), "{sample}");
        let by_model_id: BTreeMap<String, String> = otm_elements(&document)
            .into_iter()
            .map(|(role, element)| {
                let id = element["id"].as_str().unwrap_or_default();
                (model_id(id, role), id.to_string())
            })
            .collect();
        let mut on_zones = 0;
        for threat in threats {
            let id = threat["id"].as_str().expect("id");
            let element = threat["element"].as_str().expect("element");
            let Some((otm_id, _)) = attached.get(id) else {
                panic!("{sample}: {id} on {element} is not attached");
            };
            assert_eq!(Some(otm_id), by_model_id.get(element), "{sample}: {id}");
            on_zones += usize::from(otm_id.len() == 36);
        }
        assert_eq!(attached.len(), threats.len(), "{sample}");
        if sample.ends_with(".yaml") {
            assert!(on_zones > 0, "threats on trust zones are attached to them");
        }
    }
}

/// A STIX 2.1 timestamp: `YYYY-MM-DDTHH:MM:SS[.s+]Z`.
fn is_timestamp(value: &Json) -> bool {
    let pattern = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$").expect("regex");
    value.as_str().is_some_and(|text| pattern.is_match(text))
}

#[test]
fn the_stix_bundle_follows_the_stix_2_1_rules_and_is_the_same_every_time() {
    let root = repository();
    let report = json_report(&root, &SHOP);
    let text = apply(&root, &SHOP, "stix");
    assert_eq!(text, apply(&root, &SHOP, "stix"), "same input, same bytes");
    let bundle: Json = serde_json::from_str(&text).expect("STIX is JSON");
    let id_pattern = Regex::new(
        r"^([a-z][a-z0-9-]+)--[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    )
    .expect("regex");
    let type_of = |id: &str| {
        id_pattern
            .captures(id)
            .map(|captures| captures[1].to_string())
    };
    assert_eq!(bundle["type"], "bundle");
    assert_eq!(
        type_of(bundle["id"].as_str().expect("bundle id")).as_deref(),
        Some("bundle")
    );
    assert!(
        bundle.get("spec_version").is_none(),
        "a 2.1 bundle has none"
    );
    let objects = bundle["objects"].as_array().expect("objects");
    let mut ids = BTreeMap::new();
    for object in objects {
        let kind = object["type"].as_str().expect("type");
        let id = object["id"].as_str().expect("id");
        assert_eq!(type_of(id).as_deref(), Some(kind), "{id}");
        assert!(ids.insert(id, kind).is_none(), "{id} twice");
        assert_eq!(object["spec_version"], "2.1", "{id}");
        assert!(is_timestamp(&object["created"]), "{id}");
        assert!(is_timestamp(&object["modified"]), "{id}");
        let required: &[&str] = match kind {
            "attack-pattern" | "course-of-action" => &["name"],
            "relationship" => &["relationship_type", "source_ref", "target_ref"],
            other => panic!("unexpected object type {other}"),
        };
        for property in required {
            assert!(
                object[*property].as_str().is_some_and(|v| !v.is_empty()),
                "{id}: {property}"
            );
        }
        for reference in object["external_references"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(reference["source_name"].is_string(), "{reference}");
            assert!(
                reference["external_id"].is_string() || reference["url"].is_string(),
                "{reference}"
            );
        }
    }
    // Every relationship joins objects of the bundle: a course of action to the attack
    // pattern it mitigates.
    for object in objects
        .iter()
        .filter(|object| object["type"] == "relationship")
    {
        assert_eq!(object["relationship_type"], "mitigates");
        let source = object["source_ref"].as_str().expect("source");
        let target = object["target_ref"].as_str().expect("target");
        assert_eq!(ids.get(source), Some(&"course-of-action"), "{source}");
        assert_eq!(ids.get(target), Some(&"attack-pattern"), "{target}");
    }
    // One attack pattern per attack pattern found, named by its threatpack id; CAPEC
    // references with MITRE's source name and URL.
    let found: BTreeSet<&str> = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .filter_map(|threat| threat["attack-pattern"].as_str())
        .collect();
    let exported: BTreeSet<&str> = objects
        .iter()
        .filter(|object| object["type"] == "attack-pattern")
        .flat_map(|object| {
            object["external_references"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter(|reference| reference["source_name"] == "threatpack")
        .filter_map(|reference| reference["external_id"].as_str())
        .collect();
    assert_eq!(exported, found);
    let capec = Regex::new(r"^CAPEC-\d+$").expect("regex");
    let capec_references: Vec<&Json> = objects
        .iter()
        .flat_map(|object| {
            object["external_references"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter(|reference| reference["source_name"] == "capec")
        .collect();
    assert!(!capec_references.is_empty());
    for reference in capec_references {
        let id = reference["external_id"].as_str().expect("id");
        assert!(capec.is_match(id), "{id}");
        assert_eq!(
            reference["url"].as_str(),
            Some(
                format!(
                    "https://capec.mitre.org/data/definitions/{}.html",
                    &id["CAPEC-".len()..]
                )
                .as_str()
            )
        );
    }
}

/// A pack and a model whose every text tries to break out of HTML, SVG, attributes and
/// Mermaid labels.
const HOSTILE: &str = r#"
--- evil/pack.toml
[pack]
format = 1
name = "test/evil"
version = "1.0.0"
description = "<script>alert('pack')</script>"
license = "MIT"
tiers = ["top"]
--- evil/entities/all.toml
[[entity]]
id = "service"
name = "Service <b>"
description = "A service."
kind = "process"

[[entity]]
id = "link"
name = "Link"
description = "A connection."
kind = "data-flow"

[[entity]]
id = "zone"
name = "Zone"
description = "A zone."
kind = "trust-boundary"
--- evil/attack-patterns/all.toml
[[attack-pattern]]
id = "injection"
name = "<script>alert('pattern')</script>"
description = "\"><img src=x onerror=alert(1)> javascript:alert(2)"
categories = ["tampering"]
applies-to = ["service"]
severity = "critical"
references = { cwe = [79], url = ["https://x.example/\"><script>alert(3)</script>"] }

[[attack-pattern]]
id = "sniffing"
name = "Sniff ]]> --> |\"x\"| #quot; `md`"
description = "</svg><script>alert(4)</script>"
categories = ["information-disclosure"]
applies-to = ["link"]
severity = "high"

[[attack-pattern]]
id = "lateral"
name = "' onmouseover='alert(5)"
description = "Moving across the zone."
categories = ["elevation-of-privilege"]
applies-to = ["zone"]
severity = "medium"
--- evil/mitigations/all.toml
[[mitigation]]
id = "escape"
name = "javascript:alert(6)"
description = "<iframe src=\"javascript:alert(7)\"></iframe>"
control = "preventive"
cost = "low"
implementation = "</td></tr></table><script>alert(8)</script>"
verification = "<style>body{display:none}</style>"
events = [{ id = "evil.event", description = "<script>alert(9)</script>" }]

[[mitigation.addresses]]
attack-pattern = "injection"
strength = "strong"
description = "<script>alert(10)</script>"
--- model.toml
[model]
name = "</title><script>alert('model')</script>"
description = "\" onload=\"alert(11)"

[[component]]
id = "web"
name = "<svg onload=alert(12)>"
description = "end\nsubgraph x\n%% comment"
kind = "service"

[[component]]
id = "api"
name = "A \"quoted\" & <b>bold</b> API"
kind = "service"

[[component]]
id = "db"
name = "end"
kind = "service"

[[flow]]
id = "web-api"
name = "\"]; click web call alert(13); x[\""
kind = "link"
source = "web"
target = "api"

[[flow]]
id = "api-db"
name = "-->|x| db"
kind = "link"
source = "api"
target = "db"

[[boundary]]
id = "outer"
name = "\" onmouseover=\"alert(14)"
kind = "zone"
contains = ["api", "db"]

[[boundary]]
id = "inner"
name = "<![CDATA[ ]]><script>alert(15)</script>"
kind = "zone"
contains = ["db"]

[[mitigation-status]]
mitigation = "escape"
at = ["api"]
status = "existing"
note = "<a href=\"javascript:alert(16)\">done</a>"
"#;

const EVIL: [&str; 6] = ["--model", "model.toml", "--pack", "evil", "--tier", "all"];

#[test]
fn the_html_report_runs_nothing_loads_nothing_and_shows_hostile_text_as_text() {
    let directory = write_fixture(HOSTILE);
    let html = apply(directory.path(), &EVIL, "html");
    // Only the tags the renderer writes; no event handler, no URL but page anchors.
    let allowed: BTreeSet<&str> = [
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p",
        "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "code", "strong", "a", "br",
        "div", "span", "svg", "defs", "marker", "path", "g", "rect", "text",
    ]
    .into();
    let tag = Regex::new(r"<(/?)([^\s>/]+)([^>]*)>").expect("regex");
    let attribute = Regex::new(r#"\s([a-zA-Z-:]+)=("[^"]*"|'[^']*'|[^\s>]+)"#).expect("regex");
    for captures in tag.captures_iter(&html) {
        let name = &captures[2];
        assert!(allowed.contains(name), "tag <{name}> in {}", &captures[0]);
        for attribute in attribute.captures_iter(&captures[3]) {
            let (key, value) = (&attribute[1], &attribute[2]);
            assert!(!key.starts_with("on"), "{}", &captures[0]);
            assert!(!value.contains('<'), "{}", &captures[0]);
            if key == "href" {
                assert!(value.starts_with("\"#"), "{}", &captures[0]);
            }
        }
    }
    let lower = html.to_lowercase();
    for forbidden in ["<script", "<img", "<iframe", "<a href=\"javascript"] {
        assert!(!lower.contains(forbidden), "{forbidden}");
    }
    assert_eq!(html.matches("<style>").count(), 1, "one style block");
    // The texts are there, escaped.
    for shown in [
        "&lt;script&gt;alert(&#39;pattern&#39;)&lt;/script&gt;",
        "&lt;/title&gt;&lt;script&gt;alert(&#39;model&#39;)&lt;/script&gt;",
        "&lt;svg onload=alert(12)&gt;",
        "&quot; onmouseover=&quot;alert(14)",
        "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(8)&lt;/script&gt;",
        "&lt;a href=&quot;javascript:alert(16)&quot;&gt;done&lt;/a&gt;",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    // A strict policy: nothing but the page's own style, allowed by its hash.
    let policy = Regex::new(r#"<meta http-equiv="Content-Security-Policy" content="([^"]+)">"#)
        .expect("regex");
    let policy = &policy.captures(&html).expect("a CSP meta tag")[1];
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    let style = &html[html.find("<style>").expect("style") + "<style>".len()
        ..html.find("</style>").expect("style end")];
    let hash = {
        use ct_codecs::{Base64, Encoder};
        use sha2::Digest;
        Base64::encode_to_string(sha2::Sha256::digest(style.as_bytes())).expect("base64")
    };
    assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
    // The diagram: one box per component and boundary, one arrow per flow, the inner boundary
    // drawn inside the outer one.
    let svg = &html[html.find("<svg").expect("svg")..html.find("</svg>").expect("svg end")];
    assert_eq!(svg.matches("<g class=\"node").count(), 3);
    assert_eq!(svg.matches("<g class=\"zone").count(), 2);
    assert_eq!(svg.matches("<g class=\"flow").count(), 2);
    let rect = Regex::new(
        r#"<g class="zone [^"]*"><title>([^<]*)</title><rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)""#,
    )
    .expect("regex");
    let zones: BTreeMap<bool, [u32; 4]> = rect
        .captures_iter(svg)
        .map(|c| {
            let number = |i: usize| c[i].parse::<u32>().expect("number");
            (
                c[1].contains("(inner)"),
                [number(2), number(3), number(4), number(5)],
            )
        })
        .collect();
    let (outer, inner) = (zones[&false], zones[&true]);
    assert!(
        inner[0] > outer[0]
            && inner[1] > outer[1]
            && inner[0] + inner[2] < outer[0] + outer[2]
            && inner[1] + inner[3] < outer[1] + outer[3],
        "{inner:?} inside {outer:?}"
    );
}

#[test]
fn the_mermaid_diagram_has_safe_ids_and_labels_and_nests_boundaries() {
    let directory = write_fixture(HOSTILE);
    let mermaid = apply(directory.path(), &EVIL, "mermaid");
    let label = r#""[^"]*""#;
    let id = "[A-Za-z0-9_]+";
    let line = Regex::new(&format!(
        r"^(flowchart LR|\s*subgraph {id}\[{label}\]|\s*{id}\[{label}\]|\s*end|\s*{id} -->(\|{label}\|)? {id}|\s*classDef {id} fill:#[0-9a-f]{{6}},stroke:#[0-9a-f]{{6}}|\s*class {id}(,{id})* {id})$"
    ))
    .expect("regex");
    for text in mermaid.lines() {
        assert!(line.is_match(text), "not a safe Mermaid line: {text}");
    }
    let quoted = Regex::new(r#""([^"]*)""#).expect("regex");
    for captures in quoted.captures_iter(&mermaid) {
        assert!(
            !captures[1].contains(['<', '>', '`', '|']),
            "{}",
            &captures[0]
        );
    }
    // Nesting: the inner boundary's subgraph is inside the outer one's, db inside both.
    let position = |needle: &str| mermaid.find(needle).expect(needle);
    assert!(position("subgraph b_outer[") < position("subgraph b_inner["));
    assert!(position("subgraph b_inner[") < position("c_db[\"end\"]"));
    assert!(mermaid.contains("c_web -->|\"#quot;]; click web call alert(13); x[#quot;\"| c_api"));
    assert_eq!(mermaid.matches("\n  end\n").count(), 1);
    assert_eq!(mermaid.matches("\n    end\n").count(), 1);
}

#[test]
fn hostile_text_stays_data_in_otm_and_stix() {
    let directory = write_fixture(HOSTILE);
    let document: Json =
        serde_json::from_str(&apply(directory.path(), &EVIL, "otm")).expect("JSON");
    let violations = otm_violations(&document);
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(
        document["project"]["name"],
        "</title><script>alert('model')</script>"
    );
    // Nested boundaries are nested trust zones; the lateral-movement threats sit on them.
    let zone = |id: &str| {
        document["trustZones"]
            .as_array()
            .expect("zones")
            .iter()
            .find(|zone| zone["id"] == id)
            .cloned()
            .expect(id)
    };
    assert_eq!(zone("inner")["parent"]["trustZone"], "outer");
    assert_eq!(zone("outer")["threats"].as_array().map(Vec::len), Some(1));
    let bundle: Json = serde_json::from_str(&apply(directory.path(), &EVIL, "stix")).expect("JSON");
    let relationship = bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|object| object["type"] == "relationship")
        .expect("a relationship");
    assert_eq!(relationship["description"], "<script>alert(10)</script>");
}
