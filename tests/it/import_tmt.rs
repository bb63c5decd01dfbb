//! `threatpack import tmt` and `threatpack export tmt`: a trimmed real Threat Modeling Tool
//! template (tests/fixtures/import/tmt) becomes a pack that passes `check --deny warnings` and
//! `build`, deterministic, whose conditions raise the same threats as the template's filters
//! (checked against an evaluator of the filters written here); exported and imported again it
//! keeps its entities, attack patterns and mitigations; stride-core exports as a template of
//! Microsoft's structure; hostile inputs are refused, naming the file, writing nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::import::{file_digests, file_heads};
use crate::support::{Run, repository, threatpack};

fn fixture() -> PathBuf {
    repository().join("tests/fixtures/import/tmt/azure-template-v4-trimmed.tb7")
}

fn run(directory: &Path, args: &[&str]) -> Run {
    let run = threatpack(directory, args);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Every file of a directory by path.
fn files(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![directory.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(directory).expect("inside");
                found.insert(
                    relative.to_string_lossy().into_owned(),
                    fs::read(&path).expect("readable"),
                );
            }
        }
    }
    found
}

#[test]
fn the_trimmed_template_becomes_a_pack_that_passes_check_deny_warnings_and_builds() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture().to_string_lossy().into_owned();
    let human = run(
        directory.path(),
        &["import", "tmt", &input, "--out", "pack"],
    );
    assert_eq!(human.code, 0, "{}", human.stderr);
    let json = run(
        directory.path(),
        &[
            "import", "tmt", &input, "--out", "pack", "--force", "--format", "json",
        ],
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let check = run(directory.path(), &["check", "pack", "--deny", "warnings"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let build = run(directory.path(), &["build", "pack"]);
    assert_eq!(build.code, 0, "{}", build.stderr);

    // Every filter is counted, and each inexact one is listed by threat type and filter.
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(report["filters"]["total"], 64);
    assert_eq!(report["filters"]["exact"], 64);

    let pack = directory.path().join("pack");
    let mut snapshot = format!(
        "----- report (stderr) -----\n{}\n----- report (--format json) -----\n{}\n----- files -----\n",
        human.stderr.replace(&*pack.to_string_lossy(), "[PACK]"),
        json.stdout
    );
    snapshot.push_str(&file_digests(&pack));
    snapshot.push_str(&file_heads(
        &pack,
        &[
            ("pack.toml", 40),
            ("entities/entities.toml", 140),
            ("attack-patterns/001.toml", 120),
            ("mitigations/mitigations.toml", 40),
        ],
    ));
    insta::with_settings!({ snapshot_path => "snapshots/import", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("tmt-azure-template", snapshot);
    });
}

#[test]
fn an_import_of_a_template_gives_the_same_bytes_every_time() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture().to_string_lossy().into_owned();
    for out in ["first", "second"] {
        assert_eq!(
            run(directory.path(), &["import", "tmt", &input, "--out", out]).code,
            0
        );
    }
    let first = files(&directory.path().join("first"));
    assert_eq!(first, files(&directory.path().join("second")));
    // Exports too.
    for out in ["first.tb7", "second.tb7"] {
        assert_eq!(
            run(directory.path(), &["export", "tmt", "first", "--out", out]).code,
            0
        );
    }
    assert_eq!(
        fs::read(directory.path().join("first.tb7")).expect("written"),
        fs::read(directory.path().join("second.tb7")).expect("written")
    );
}

// ---------------------------------------------------------------------------------------------
// An evaluator of the template's generation filters, written independently of the importer:
// the threats it generates for a model are the threats `apply` finds with the imported pack.

struct Template {
    parents: BTreeMap<String, String>,
    /// Each type's own attributes and their default (the first value).
    defaults: BTreeMap<String, Vec<(String, String)>>,
    /// (threat id, include, exclude).
    threats: Vec<(String, String, String)>,
}

fn read_template(path: &Path) -> Template {
    let text = fs::read_to_string(path).expect("the fixture");
    let document = roxmltree::Document::parse(&text).expect("well-formed");
    let text_of = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children()
            .find(|child| child.has_tag_name(name))
            .and_then(|child| child.text())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let mut parents = BTreeMap::new();
    let mut defaults = BTreeMap::new();
    for element in document
        .descendants()
        .filter(|node| node.has_tag_name("ElementType"))
    {
        parents.insert(text_of(element, "ID"), text_of(element, "ParentElement"));
        let own: Vec<(String, String)> = element
            .descendants()
            .filter(|node| node.has_tag_name("Attribute"))
            .map(|attribute| {
                let first = attribute
                    .descendants()
                    .find(|node| node.has_tag_name("Value"))
                    .and_then(|value| value.text())
                    .unwrap_or_default()
                    .to_string();
                (text_of(attribute, "Name"), first)
            })
            .collect();
        defaults.insert(text_of(element, "ID"), own);
    }
    let mut threats = Vec::new();
    for threat in document
        .descendants()
        .filter(|node| node.has_tag_name("ThreatType"))
    {
        let filters = threat
            .children()
            .find(|child| child.has_tag_name("GenerationFilters"))
            .expect("filters");
        threats.push((
            text_of(threat, "Id"),
            text_of(filters, "Include"),
            text_of(filters, "Exclude"),
        ));
    }
    Template {
        parents,
        defaults,
        threats,
    }
}

/// One end of a flow, or the flow: its type and attribute values, as the tool names them.
struct Element<'a> {
    kind: &'a str,
    attributes: &'a [(&'a str, &'a str)],
}

struct Interaction<'a> {
    source: Element<'a>,
    flow: Element<'a>,
    target: Element<'a>,
    /// The types of the boundaries holding exactly one of the ends.
    crossed: Vec<&'a str>,
}

impl Template {
    /// An attribute's value: set on the element, else the default of its type or the nearest
    /// ancestor declaring it; `None` when no type of the chain has it.
    fn value(&self, element: &Element<'_>, attribute: &str) -> Option<String> {
        if let Some((_, set)) = element
            .attributes
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
        {
            return Some((*set).to_string());
        }
        let mut current = element.kind.to_string();
        for _ in 0..64 {
            if let Some((_, default)) = self.defaults.get(&current).and_then(|own| {
                own.iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            }) {
                return Some(default.clone());
            }
            current = self.parents.get(&current)?.clone();
        }
        None
    }

    fn is_a(&self, kind: &str, ancestor: &str) -> bool {
        let mut current = kind.to_string();
        for _ in 0..64 {
            if current == ancestor {
                return true;
            }
            match self.parents.get(&current) {
                Some(parent) => current = parent.clone(),
                None => return false,
            }
        }
        false
    }

    /// `filter` on `interaction`: `or` of `and`s of (`not`) tests, parentheses nesting.
    fn holds(&self, filter: &str, interaction: &Interaction<'_>) -> bool {
        let mut tokens = Vec::new();
        let mut rest = filter.trim();
        while !rest.is_empty() {
            let (token, after) = if let Some(stripped) = rest.strip_prefix('\'') {
                let end = stripped.find('\'').expect("a closed quote");
                (format!("'{}", &stripped[..end]), &stripped[end + 1..])
            } else if rest.starts_with(['(', ')']) {
                (rest[..1].to_string(), &rest[1..])
            } else {
                let end = rest.find([' ', '(', ')', '\'']).unwrap_or(rest.len());
                (rest[..end].to_lowercase(), &rest[end..])
            };
            tokens.push(token);
            rest = after.trim_start();
        }
        let mut position = 0;
        self.or(&tokens, &mut position, interaction)
    }

    fn or(&self, tokens: &[String], at: &mut usize, interaction: &Interaction<'_>) -> bool {
        let mut value = self.and(tokens, at, interaction);
        while tokens.get(*at).is_some_and(|token| token == "or") {
            *at += 1;
            value |= self.and(tokens, at, interaction);
        }
        value
    }

    fn and(&self, tokens: &[String], at: &mut usize, interaction: &Interaction<'_>) -> bool {
        let mut value = self.not(tokens, at, interaction);
        while tokens.get(*at).is_some_and(|token| token == "and") {
            *at += 1;
            value &= self.not(tokens, at, interaction);
        }
        value
    }

    fn not(&self, tokens: &[String], at: &mut usize, interaction: &Interaction<'_>) -> bool {
        match tokens[*at].as_str() {
            "not" => {
                *at += 1;
                !self.not(tokens, at, interaction)
            }
            "(" => {
                *at += 1;
                let value = self.or(tokens, at, interaction);
                assert_eq!(tokens[*at], ")");
                *at += 1;
                value
            }
            subject => {
                let operator = &tokens[*at + 1];
                let value = tokens[*at + 2].trim_start_matches('\'');
                *at += 3;
                let (head, attribute) = subject.split_once('.').unwrap_or((subject, ""));
                let element = match head {
                    "source" => &interaction.source,
                    "target" => &interaction.target,
                    _ => &interaction.flow,
                };
                match (operator.as_str(), attribute) {
                    ("crosses", "") => interaction
                        .crossed
                        .iter()
                        .any(|boundary| self.is_a(boundary, value)),
                    ("is", "") => self.is_a(element.kind, value),
                    ("is", attribute) => self.value(element, attribute).as_deref() == Some(value),
                    (operator, _) => panic!("the evaluator does not know `{operator}`"),
                }
            }
        }
    }
}

/// The model: (id, entity, tool type, [(property, pack value, attribute, tool value)]).
type Component = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str, &'static str)],
);

const COMPONENTS: &[Component] = &[
    ("browser", "browser", "SE.EI.TMCore.Browser", &[]),
    ("admin", "human-user", "SE.EI.TMCore.HumanUser", &[]),
    (
        "user",
        "human-user",
        "SE.EI.TMCore.HumanUser",
        &[(
            "human_user_type",
            "nonprivileged",
            "HumanUserType",
            "Nonprivileged",
        )],
    ),
    ("api", "web-api", "SE.AS.TMCore.WebAPI", &[]),
    (
        "hidden-api",
        "web-api",
        "SE.AS.TMCore.WebAPI",
        &[(
            "show_azure_service_threat",
            "no",
            "ShowAzureServiceThreat",
            "No",
        )],
    ),
    (
        "site",
        "web-application",
        "SE.P.TMCore.WebApp",
        &[
            ("environment_type", "azure", "EnvironmentType", "Azure"),
            ("processes_xml", "yes", "ProcessesXML", "Yes"),
        ],
    ),
    (
        "sql",
        "database",
        "SE.DS.TMCore.SQL",
        &[(
            "database_technologies",
            "onprem",
            "DatabaseTechnologies",
            "OnPrem",
        )],
    ),
    (
        "blobs",
        "azure-storage",
        "SE.DS.TMCore.CloudStorage",
        &[("storage_type", "blob", "StorageType", "Blob")],
    ),
    (
        "tables",
        "azure-storage",
        "SE.DS.TMCore.CloudStorage",
        &[("storage_type", "table", "StorageType", "Table")],
    ),
    ("cosmos", "cosmosdb", "SE.DS.TMCore.NoSQL", &[]),
    (
        "cosmos-closed",
        "cosmosdb",
        "SE.DS.TMCore.NoSQL",
        &[(
            "cosmos_db_firewall_settings",
            "allow-access-from-selected-networks-excluding-azure",
            "CosmosDBFirewallSettings",
            "Allow access from selected networks (excluding Azure)",
        )],
    ),
    ("aad", "azure-ad", "SE.AA.TMCore.AzureAD", &[]),
    ("device", "iot-device", "SE.ID.TMCore.IoTDevice", &[]),
    (
        "gateway",
        "iot-field-gateway",
        "SE.ID.TMCore.IoTFieldGateway",
        &[],
    ),
    (
        "cloud-gateway",
        "iot-cloud-gateway",
        "SE.ID.TMCore.IoTCloudGateway",
        &[],
    ),
    (
        "factory",
        "azure-data-factory",
        "SE.DS.TMCore.AzureDataFactory",
        &[],
    ),
    ("hub", "azure-event-hub", "SE.AS.TMCore.AzureEventHub", &[]),
];

/// (id, source, target, entity, tool type, hidden: `ShowBoundaryThreats` No).
const FLOWS: &[(&str, &str, &str, &str, &str, bool)] = &[
    ("f1", "browser", "api", "https", "SE.DF.TMCore.HTTPS", false),
    (
        "f2",
        "browser",
        "site",
        "https",
        "SE.DF.TMCore.HTTPS",
        false,
    ),
    ("f3", "site", "sql", "data-flow", "GE.DF", false),
    ("f4", "api", "blobs", "https", "SE.DF.TMCore.HTTPS", false),
    ("f5", "api", "tables", "https", "SE.DF.TMCore.HTTPS", false),
    ("f6", "admin", "aad", "https", "SE.DF.TMCore.HTTPS", false),
    ("f7", "user", "sql", "https", "SE.DF.TMCore.HTTPS", false),
    (
        "f8",
        "device",
        "gateway",
        "amqp",
        "SE.DF.TMCore.AMQP",
        false,
    ),
    (
        "f9",
        "gateway",
        "cloud-gateway",
        "amqp",
        "SE.DF.TMCore.AMQP",
        false,
    ),
    ("f10", "factory", "sql", "data-flow", "GE.DF", false),
    ("f11", "sql", "factory", "data-flow", "GE.DF", false),
    ("f12", "api", "cosmos", "https", "SE.DF.TMCore.HTTPS", false),
    (
        "f13",
        "api",
        "cosmos-closed",
        "https",
        "SE.DF.TMCore.HTTPS",
        false,
    ),
    (
        "f14",
        "browser",
        "hidden-api",
        "https",
        "SE.DF.TMCore.HTTPS",
        false,
    ),
    (
        "f15",
        "hidden-api",
        "sql",
        "https",
        "SE.DF.TMCore.HTTPS",
        false,
    ),
    ("f16", "browser", "api", "https", "SE.DF.TMCore.HTTPS", true),
    ("f17", "api", "hub", "https", "SE.DF.TMCore.HTTPS", false),
    ("f18", "admin", "site", "https", "SE.DF.TMCore.HTTPS", false),
];

/// (id, entity, tool type, members).
const BOUNDARIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "internet",
        "azure-internet-boundary",
        "SE.ATB.L.TMCore.AzureInternetBoundary",
        &["browser", "admin", "user"],
    ),
    (
        "fabric",
        "service-fabric-trust-boundary",
        "SE.ATB.B.TMCore.ServiceFabricTrustBoundary",
        &["api", "hidden-api", "cosmos"],
    ),
    (
        "vm",
        "azure-iaas-vm-trust-boundary",
        "SE.ATB.B.TMCore.AzureIaaSVMTrustBoundary",
        &["site"],
    ),
    (
        "machine",
        "machine-trust-boundary",
        "SE.TB.L.TMCore.Machine",
        &["device"],
    ),
    (
        "azure",
        "azure-trust-boundary",
        "SE.ATB.B.TMCore.AzureTrustBoundary",
        &["sql", "site", "factory"],
    ),
];

#[test]
fn the_conditions_raise_the_threats_the_templates_filters_generate() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture().to_string_lossy().into_owned();
    assert_eq!(
        run(
            directory.path(),
            &["import", "tmt", &input, "--out", "pack"]
        )
        .code,
        0
    );
    let mut model = String::from("[model]\nname = \"Filters\"\n");
    for (id, entity, _, properties) in COMPONENTS {
        model.push_str(&format!(
            "\n[[component]]\nid = \"{id}\"\nkind = \"{entity}\"\n"
        ));
        let set: Vec<String> = properties
            .iter()
            .map(|(property, value, ..)| format!("{property} = \"{value}\""))
            .collect();
        model.push_str(&format!("properties = {{ {} }}\n", set.join(", ")));
    }
    for (id, source, target, entity, _, hidden) in FLOWS {
        model.push_str(&format!(
            "\n[[flow]]\nid = \"{id}\"\nkind = \"{entity}\"\nsource = \"{source}\"\ntarget = \"{target}\"\n"
        ));
        if *hidden {
            model.push_str("properties = { show_boundary_threats = \"no\" }\n");
        }
    }
    for (id, entity, _, members) in BOUNDARIES {
        let members: Vec<String> = members
            .iter()
            .map(|member| format!("\"{member}\""))
            .collect();
        model.push_str(&format!(
            "\n[[boundary]]\nid = \"{id}\"\nkind = \"{entity}\"\ncontains = [{}]\n",
            members.join(", ")
        ));
    }
    fs::write(directory.path().join("model.toml"), model).expect("written");
    let applied = run(
        directory.path(),
        &[
            "apply",
            "--pack",
            "pack",
            "--model",
            "model.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let report: serde_json::Value = serde_json::from_str(&applied.stdout).expect("JSON");
    let found: BTreeSet<(String, String)> = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .map(|threat| {
            let pattern = threat["attack-pattern"].as_str().expect("id");
            (
                pattern.rsplit('/').next().expect("local id").to_string(),
                threat["element"].as_str().expect("element").to_string(),
            )
        })
        .collect();

    let template = read_template(&fixture());
    let component = |id: &str| {
        COMPONENTS
            .iter()
            .find(|component| component.0 == id)
            .expect("a component")
    };
    let mut expected = BTreeSet::new();
    let mut compared = 0;
    for (threat, include, exclude) in &template.threats {
        compared += 1;
        let id = if threat.starts_with(|c: char| c.is_ascii_digit()) {
            format!("tmt-{}", threat.to_lowercase())
        } else {
            threat.to_lowercase()
        };
        for (flow, source, target, _, kind, hidden) in FLOWS {
            let (source, target) = (component(source), component(target));
            let attributes = |component: &Component| -> Vec<(&str, &str)> {
                component
                    .3
                    .iter()
                    .map(|(_, _, name, value)| (*name, *value))
                    .collect()
            };
            let (source_attributes, target_attributes) = (attributes(source), attributes(target));
            let flow_attributes: &[(&str, &str)] = if *hidden {
                &[("ShowBoundaryThreats", "No")]
            } else {
                &[]
            };
            let crossed = BOUNDARIES
                .iter()
                .filter(|(.., members)| members.contains(&source.0) != members.contains(&target.0))
                .map(|(_, _, kind, _)| *kind)
                .collect();
            let interaction = Interaction {
                crossed,
                source: Element {
                    kind: source.2,
                    attributes: &source_attributes,
                },
                flow: Element {
                    kind,
                    attributes: flow_attributes,
                },
                target: Element {
                    kind: target.2,
                    attributes: &target_attributes,
                },
            };
            if template.holds(include, &interaction)
                && (exclude.is_empty() || !template.holds(exclude, &interaction))
            {
                expected.insert((id.clone(), (*flow).to_string()));
            }
        }
    }
    assert_eq!(compared, 32);
    // Threats through boundaries of particular types are among them.
    for crossing in ["th68", "th93", "th116", "th134"] {
        assert!(
            expected.iter().any(|(threat, _)| threat == crossing),
            "{crossing}"
        );
    }
    assert!(expected.len() > 50, "{expected:?}");
    assert_eq!(found, expected);
}

#[test]
fn a_template_exported_and_imported_again_keeps_its_entities_attack_patterns_and_mitigations() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture().to_string_lossy().into_owned();
    assert_eq!(
        run(
            directory.path(),
            &["import", "tmt", &input, "--out", "first"]
        )
        .code,
        0
    );
    let export = run(
        directory.path(),
        &[
            "export",
            "tmt",
            "first",
            "--out",
            "first.tb7",
            "--format",
            "json",
        ],
    );
    assert_eq!(export.code, 0, "{}", export.stderr);
    let report: serde_json::Value = serde_json::from_str(&export.stdout).expect("JSON");
    assert_eq!(report["written"]["threat-types"], 32);
    assert_eq!(report["exact-conditions"], 32);
    let again = run(
        directory.path(),
        &["import", "tmt", "first.tb7", "--out", "second"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let (first, second) = (
        files(&directory.path().join("first")),
        files(&directory.path().join("second")),
    );
    for (path, bytes) in &first {
        if path.ends_with(".toml") && path != "pack.toml" {
            assert_eq!(
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&second[path]),
                "{path}"
            );
        }
    }
    let manifest =
        fs::read_to_string(directory.path().join("second/pack.toml")).expect("pack.toml");
    assert!(manifest.contains("name = \"tmt/azure-threat-model-template-azurearchitecture\""));

    // From the bundle too.
    assert_eq!(
        run(directory.path(), &["build", "first", "--out", "dist"]).code,
        0
    );
    let bundle = fs::read_dir(directory.path().join("dist"))
        .expect("dist")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle");
    let bundle = bundle.to_string_lossy().into_owned();
    let from_bundle = run(
        directory.path(),
        &["export", "tmt", &bundle, "--out", "bundle.tb7"],
    );
    assert_eq!(from_bundle.code, 0, "{}", from_bundle.stderr);
    assert_eq!(
        fs::read(directory.path().join("bundle.tb7")).expect("written"),
        fs::read(directory.path().join("first.tb7")).expect("written")
    );
}

#[test]
fn stride_core_exports_as_a_template_of_microsofts_structure() {
    let directory = tempfile::tempdir().expect("a directory");
    let pack = repository()
        .join("packs/stride-core")
        .to_string_lossy()
        .into_owned();
    let export = run(
        directory.path(),
        &[
            "export",
            "tmt",
            &pack,
            "--out",
            "stride.tb7",
            "--format",
            "json",
        ],
    );
    assert_eq!(export.code, 0, "{}", export.stderr);
    let report: serde_json::Value = serde_json::from_str(&export.stdout).expect("JSON");
    // What the tool cannot express is reported, item by item.
    let reasons: Vec<&str> = report["not-exported"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| entry["reason"].as_str().expect("text"))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|reason| reason.contains("property of type `int`")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|reason| reason.contains("cannot express")),
        "{reasons:?}"
    );

    let text = fs::read_to_string(directory.path().join("stride.tb7")).expect("written");
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "KnowledgeBase");
    let sections: Vec<&str> = root
        .children()
        .filter(|node| node.is_element())
        .map(|node| node.tag_name().name())
        .collect();
    assert_eq!(
        sections,
        [
            "Manifest",
            "ThreatMetaData",
            "GenericElements",
            "StandardElements",
            "ThreatCategories",
            "ThreatTypes"
        ]
    );
    let child = |node: roxmltree::Node<'_, '_>, name: &str| -> String {
        node.children()
            .find(|child| child.has_tag_name(name))
            .and_then(|child| child.text())
            .unwrap_or_default()
            .to_string()
    };
    let mut ids = BTreeSet::new();
    let mut types = Vec::new();
    for section in ["GenericElements", "StandardElements"] {
        let section = root
            .children()
            .find(|node| node.has_tag_name(section))
            .expect("a section");
        for element in section.children().filter(|node| node.is_element()) {
            assert_eq!(element.tag_name().name(), "ElementType");
            let fields: Vec<&str> = element
                .children()
                .filter(|node| node.is_element())
                .map(|node| node.tag_name().name())
                .collect();
            assert_eq!(
                fields,
                [
                    "Name",
                    "ID",
                    "Description",
                    "ParentElement",
                    "Image",
                    "Hidden",
                    "Representation",
                    "StrokeThickness",
                    "ImageLocation",
                    "Attributes",
                    "StencilConstraints"
                ]
            );
            assert!(
                ids.insert(child(element, "ID")),
                "a second {}",
                child(element, "ID")
            );
            types.push((
                section.tag_name().name(),
                child(element, "ID"),
                child(element, "ParentElement"),
            ));
        }
    }
    // Generic types are roots; every stencil's parent is a type of the template.
    for (section, id, parent) in &types {
        if *section == "GenericElements" {
            assert_eq!(parent, "ROOT", "{id}");
        } else {
            assert!(ids.contains(parent), "{id}: {parent}");
        }
    }
    for generic in ["GE.P", "GE.DS", "GE.EI", "GE.DF", "GE.TB.B"] {
        assert!(ids.contains(generic), "{generic}");
    }
    let categories: Vec<String> = root
        .descendants()
        .filter(|node| node.has_tag_name("ThreatCategory"))
        .map(|node| child(node, "Id"))
        .collect();
    assert_eq!(categories, ["S", "T", "R", "I", "D", "E"]);
    let threats: Vec<roxmltree::Node<'_, '_>> = root
        .descendants()
        .filter(|node| node.has_tag_name("ThreatType"))
        .collect();
    assert_eq!(threats.len(), 72);
    for threat in &threats {
        assert!(categories.contains(&child(*threat, "Category")));
        let filters = threat
            .children()
            .find(|node| node.has_tag_name("GenerationFilters"))
            .expect("filters");
        let include = child(filters, "Include");
        assert!(!include.is_empty(), "{}", child(*threat, "Id"));
        // Every type a filter names is in the template.
        for test in ["source is '", "target is '", "flow is '", "flow crosses '"] {
            for (at, _) in include.match_indices(test) {
                let rest = &include[at + test.len()..];
                let named = &rest[..rest.find('\'').expect("a closing quote")];
                assert!(ids.contains(named), "{}: {named}", child(*threat, "Id"));
            }
        }
    }
    // A pack with a dependency: the IDs of both packs' items stay unique.
    let org = repository()
        .join("packs/example-org")
        .to_string_lossy()
        .into_owned();
    let export = run(
        directory.path(),
        &["export", "tmt", &org, "--out", "org.tb7"],
    );
    assert_eq!(export.code, 0, "{}", export.stderr);
    let text = fs::read_to_string(directory.path().join("org.tb7")).expect("written");
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    for (parent, field) in [("ElementType", "ID"), ("ThreatType", "Id")] {
        let ids: Vec<&str> = document
            .descendants()
            .filter(|node| node.has_tag_name(parent))
            .filter_map(|node| node.children().find(|child| child.has_tag_name(field)))
            .filter_map(|node| node.text())
            .collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert!(!ids.is_empty());
        assert_eq!(ids.len(), unique.len(), "{parent}");
    }

    // And the template imports again as a pack that passes check.
    let imported = run(
        directory.path(),
        &["import", "tmt", "stride.tb7", "--out", "again"],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let check = run(directory.path(), &["check", "again", "--deny", "warnings"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

/// Each hostile input: exit code 2, the file named with what is wrong, nothing written.
#[test]
fn hostile_templates_are_refused_with_an_error_naming_the_file() {
    let directory = tempfile::tempdir().expect("a directory");
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n<KnowledgeBase>&lol3;</KnowledgeBase>\n";
    let many = format!(
        "<KnowledgeBase>{}</KnowledgeBase>",
        "<a/>".repeat(1_100_000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.tb7", Vec::new(), "not a well-formed Threat Modeling Tool template"),
        ("unclosed.tb7", b"<KnowledgeBase><ThreatTypes>".to_vec(), "not a well-formed"),
        ("laughs.tb7", laughs.as_bytes().to_vec(), "not a well-formed"),
        ("wrong-root.tb7", b"<ThreatModel><DrawingSurfaceList/></ThreatModel>".to_vec(), "not `KnowledgeBase`"),
        ("latin1.tb7", b"<KnowledgeBase><Manifest name=\"caf\xe9\"/></KnowledgeBase>".to_vec(), "not UTF-8"),
        ("nothing.tb7", b"<KnowledgeBase><Manifest name=\"x\"/></KnowledgeBase>".to_vec(), "no element type and no threat type"),
        ("many-nodes.tb7", many.into_bytes(), "not a well-formed"),
        ("no-flows.tb7", b"<KnowledgeBase><GenericElements><ElementType><ID>GE.P</ID><Name>P</Name><ParentElement>ROOT</ParentElement><Representation>Ellipse</Representation></ElementType></GenericElements><ThreatTypes><ThreatType><Id>T1</Id><ShortTitle>t</ShortTitle></ThreatType></ThreatTypes></KnowledgeBase>".to_vec(), "no data flow element type"),
    ];
    for (name, bytes, expected) in cases {
        let path = directory.path().join(name);
        fs::write(&path, &bytes).expect("written");
        let input = path.to_string_lossy().into_owned();
        let run = run(directory.path(), &["import", "tmt", &input, "--out", "out"]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
        assert!(!directory.path().join("out").exists(), "{name}");
        fs::remove_file(&path).expect("removed");
    }
    // Larger than the cap: refused before reading (a sparse file takes no disk).
    let huge = directory.path().join("huge.tb7");
    let file = fs::File::create(&huge).expect("created");
    file.set_len(threatpack::import::MAX_INPUT_BYTES + 1)
        .expect("sparse");
    let input = huge.to_string_lossy().into_owned();
    let refused = run(directory.path(), &["import", "tmt", &input, "--out", "out"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("huge.tb7") && refused.stderr.contains("larger than"),
        "{}",
        refused.stderr
    );
    assert!(!directory.path().join("out").exists());

    // A broken filter is reported, not fatal.
    let template = fs::read_to_string(fixture()).expect("fixture").replacen(
        "<Include>(target is 'SE.AA.TMCore.ActiveDirectory'",
        "<Include>(target equals 'SE.AA.TMCore.ActiveDirectory'",
        1,
    );
    fs::write(directory.path().join("broken.tb7"), template).expect("written");
    let broken = run(
        directory.path(),
        &[
            "import",
            "tmt",
            "broken.tb7",
            "--out",
            "out",
            "--format",
            "json",
        ],
    );
    assert_eq!(broken.code, 0, "{}", broken.stderr);
    assert!(
        broken.stdout.contains("TH11 Include: (target equals"),
        "{}",
        broken.stdout
    );

    // Export: a file that is not a bundle, nothing written.
    fs::write(directory.path().join("not-a-bundle.tar.gz"), b"plain text").expect("written");
    let refused = run(
        directory.path(),
        &["export", "tmt", "not-a-bundle.tar.gz", "--out", "x.tb7"],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("not-a-bundle.tar.gz"),
        "{}",
        refused.stderr
    );
    assert!(!directory.path().join("x.tb7").exists());
}
