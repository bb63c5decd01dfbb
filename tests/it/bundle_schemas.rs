//! The schemas of the JSON files in a bundle (`schema/manifest.schema.json`,
//! `schema/kb.schema.json`): registered like the others, matched by real bundles of the shipped
//! packs and of a fixture that uses every optional part, and strict enough to reject a bundle
//! that lies about severities, provenance or digests.

use std::fs;
use std::path::Path;

use jsonschema::Validator;
use serde_json::{Value as Json, json};
use threatpack::build::{BuildOptions, build};
use threatpack::bundle::{Bundle, KB_PATH, MANIFEST_PATH, ReadLimits, read_bundle};
use threatpack::schema::{FileKind, SchemaKind};
use threatpack::workspace::load_graph;

use crate::support::{repository, write_fixture};

/// Builds the pack at `directory` (optionally one tier) and reads the bundle back as a reader
/// would.
fn bundle(directory: &Path, display: &str, tier: Option<&str>) -> Bundle {
    let graph = load_graph(directory, display).expect("the pack loads");
    let options = BuildOptions {
        tier: tier.map(str::to_string),
        ..BuildOptions::default()
    };
    let report = build(&graph, &options);
    let Some(built) = report.built else {
        panic!("`{display}` does not build: {:#?}", report.diagnostics);
    };
    read_bundle(&built.bytes, &ReadLimits::default()).expect("the bundle reads back")
}

/// A JSON file of a bundle, as written.
fn json_file(bundle: &Bundle, path: &str) -> Json {
    let bytes = bundle.files.get(path).expect("the bundle holds the file");
    serde_json::from_slice(bytes).expect("the file is JSON")
}

fn validator(kind: SchemaKind) -> Validator {
    threatpack::schema::compile(kind).expect("the schema compiles")
}

/// Every violation, as `instance path: message`.
fn violations(validator: &Validator, instance: &Json) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect()
}

/// Asserts that `instance` breaks the schema, with a violation at `path` or inside it.
fn assert_invalid_at(validator: &Validator, instance: &Json, path: &str, what: &str) {
    let found = violations(validator, instance);
    assert!(
        found
            .iter()
            .any(|violation| violation.starts_with(&format!("{path}:"))
                || violation.starts_with(&format!("{path}/"))),
        "{what}: expected a violation at `{path}`, found {found:#?}"
    );
}

/// Validates both JSON files of a bundle; returns them.
fn assert_bundle_matches_schemas(bundle: &Bundle, what: &str) -> (Json, Json) {
    let manifest = json_file(bundle, MANIFEST_PATH);
    let kb = json_file(bundle, KB_PATH);
    let manifest_errors = violations(&validator(SchemaKind::BundleManifest), &manifest);
    assert!(
        manifest_errors.is_empty(),
        "{what}: manifest.json does not match schema/manifest.schema.json: {manifest_errors:#?}"
    );
    let kb_errors = violations(&validator(SchemaKind::KnowledgeBase), &kb);
    assert!(
        kb_errors.is_empty(),
        "{what}: kb.json does not match schema/kb.schema.json: {kb_errors:#?}"
    );
    (manifest, kb)
}

fn example_org_bundle() -> Bundle {
    let root = repository();
    bundle(&root.join("packs/example-org"), "packs/example-org", None)
}

#[test]
fn the_bundle_schemas_are_registered_and_are_the_committed_files() {
    let root = repository();
    for (name, kind, file) in [
        (
            "manifest",
            SchemaKind::BundleManifest,
            "manifest.schema.json",
        ),
        ("kb", SchemaKind::KnowledgeBase, "kb.schema.json"),
    ] {
        assert_eq!(SchemaKind::from_name(name), Some(kind));
        assert_eq!(kind.name(), name);
        assert_eq!(kind.file_name(), file);
        let committed = fs::read_to_string(root.join("schema").join(file)).expect("schema file");
        assert_eq!(kind.text(), committed, "{file} is embedded as committed");
        // They describe bundle files, not pack files: no directory of a pack maps to them.
        assert!(
            FileKind::ALL
                .iter()
                .all(|file_kind| file_kind.schema() != kind),
            "{name} is not a pack file kind"
        );
    }
    // Every committed schema is served by `threatpack schema`.
    for entry in fs::read_dir(root.join("schema")).expect("schema directory") {
        let file = entry.expect("entry").file_name();
        let file = file.to_str().expect("a UTF-8 name");
        assert!(
            SchemaKind::ALL.iter().any(|kind| kind.file_name() == file),
            "schema/{file} is not registered in src/schema.rs"
        );
    }
}

#[test]
fn bundles_of_the_shipped_packs_match_their_schemas() {
    let root = repository();
    for pack in ["stride-core", "example-org"] {
        for tier in [None, Some("top")] {
            let what = format!("{pack} (tier {})", tier.unwrap_or("all"));
            let display = format!("packs/{pack}");
            let bundle = bundle(&root.join(&display), &display, tier);
            let (manifest, kb) = assert_bundle_matches_schemas(&bundle, &what);
            assert_eq!(manifest["tier"], json!(tier), "{what}");
            assert_eq!(kb["tier"], json!(tier), "{what}");
            assert!(
                kb["links"]
                    .as_array()
                    .is_some_and(|links| !links.is_empty()),
                "{what}: links are validated"
            );
            assert!(
                kb["tier-rules"]
                    .as_array()
                    .is_some_and(|rules| !rules.is_empty())
                    && kb["system-properties"]
                        .as_object()
                        .is_some_and(|properties| !properties.is_empty()),
                "{what}: tier rules and system properties are validated"
            );
            if pack == "example-org" {
                // The parts only a dependent pack has are validated too.
                assert_eq!(
                    manifest["dependencies"][0]["name"],
                    "threatpack/stride-core"
                );
                assert!(
                    kb["overrides"]
                        .as_array()
                        .is_some_and(|overrides| !overrides.is_empty()),
                    "{what}: overrides are validated"
                );
            }
        }
    }
}

/// Three packs using what the shipped ones do not: a pre-release dependency with homepage,
/// repository and a licence file, `int` properties with bounds, an inherited kind, a link added
/// by an override, an override superseded by the dependent pack's, and overridden values
/// (provenance with a `reason`).
const EVERY_PART: &str = r#"
--- vendor/pack.toml
[pack]
format = 1
name = "test/vendor"
version = "2.0.0-rc.1"
description = "A vendor pack."
license = "MIT"
authors = ["Vendor Security <security@vendor.example>"]
homepage = "https://vendor.example/pack"
repository = "https://git.vendor.example/pack"
tiers = ["top", "standard"]
--- vendor/LICENSE
MIT License, for the test.
--- vendor/entities/service.toml
[[entity]]
id = "service"
name = "Service"
description = "A network service."
kind = "process"

[entity.properties.port]
type = "int"
default = 443
min = 1
max = 65535
description = "The TCP port it listens on."
question = "Which port does the service listen on?"
rationale = "Well-known ports are scanned first."

[entity.properties.exposure]
type = "enum"
values = ["internal", "internet"]
default = "internal"
description = "Where callers come from."
question = "Can anyone on the internet reach it?"
rationale = "Internet-facing services meet every attacker."

[[entity]]
id = "web-service"
name = "Web service"
description = "A service speaking HTTP."
parent = "service"
--- vendor/attack-patterns/service.toml
[[attack-pattern]]
id = "spoofing"
name = "Spoofing"
description = "Someone pretends to be someone else."
categories = ["spoofing", "linddun:linking"]
applies-to = ["service"]
condition = 'self.exposure == "internet"'
severity = "medium"
likelihood = "high"
impact = "medium"
tier = "top"
references = { capec = [151], cwe = [290], url = ["https://vendor.example/spoofing"] }

[[attack-pattern]]
id = "flooding"
name = "Flooding"
description = "Too many requests exhaust the service."
categories = ["denial-of-service"]
applies-to = ["web-service"]
severity = "low"
tier = "standard"
--- vendor/mitigations/service.toml
[[mitigation]]
id = "authentication"
name = "Authentication"
description = "Callers prove who they are."
control = "preventive"
cost = "low"
implementation = "Verify a token on every request."
verification = "Call without a token and expect 401."
tier = "top"
events = [{ id = "authn.token-rejected", description = "A request came with a bad token." }]

[[mitigation.addresses]]
attack-pattern = "spoofing"
strength = "strong"
condition = "self.port != 80"

[[mitigation]]
id = "rate-limiting"
name = "Rate limiting"
description = "Each caller gets a bounded number of requests."
control = "preventive"
cost = "medium"
implementation = "Put a token bucket per caller in front of the service."
verification = "Send a burst and expect 429."
tier = "standard"
--- policy/pack.toml
[pack]
format = 1
name = "test/policy"
version = "1.0.0"
description = "A policy on the vendor pack."
license = "MIT"
tiers = ["top", "standard"]

[dependencies]
"test/vendor" = { version = "^2.0.0-rc.1", path = "../vendor" }
--- policy/overrides/vendor.toml
[[override]]
target = "test/vendor:attack-pattern/spoofing"
reason = "The policy rates spoofing high."
severity = "high"

[[override]]
target = "test/vendor:mitigation/rate-limiting"
reason = "Rate limiting also addresses flooding here."
add-addresses = [{ attack-pattern = "test/vendor:attack-pattern/flooding", strength = "average" }]
--- app/pack.toml
[pack]
format = 1
name = "test/app"
version = "1.0.0"
description = "An application's pack."
license = "Apache-2.0"
tiers = ["top", "standard"]

[dependencies]
"test/policy" = { version = "^1", path = "../policy" }
"test/vendor" = { version = "^2.0.0-rc.1", path = "../vendor" }
--- app/overrides/vendor.toml
[[override]]
target = "test/vendor:attack-pattern/spoofing"
reason = "The app is internet-facing: spoofing is critical."
severity = "critical"
"#;

#[test]
fn bundles_using_every_optional_part_match_their_schemas() {
    let directory = write_fixture(EVERY_PART);
    for tier in [None, Some("top")] {
        let what = format!("the fixture (tier {})", tier.unwrap_or("all"));
        let bundle = bundle(&directory.path().join("app"), "app", tier);
        let (manifest, kb) = assert_bundle_matches_schemas(&bundle, &what);
        // The fixture does exercise the optional parts.
        let vendor = manifest["dependencies"]
            .as_array()
            .and_then(|dependencies| {
                dependencies
                    .iter()
                    .find(|dependency| dependency["name"] == "test/vendor")
            })
            .expect("the vendor dependency");
        assert_eq!(vendor["version"], "2.0.0-rc.1", "{what}");
        let vendor_info = kb["packs"]
            .as_array()
            .and_then(|packs| packs.iter().find(|pack| pack["name"] == "test/vendor"))
            .expect("the vendor pack");
        for key in ["authors", "homepage", "repository", "attribution"] {
            assert!(vendor_info.get(key).is_some(), "{what}: `{key}` is present");
        }
        assert!(
            kb["overrides"].as_array().is_some_and(|overrides| overrides
                .iter()
                .any(|applied| applied.get("superseded").is_some())),
            "{what}: an override is superseded"
        );
        let spoofing = kb["attack-patterns"]
            .as_array()
            .and_then(|patterns| {
                patterns
                    .iter()
                    .find(|pattern| pattern["id"] == "test/vendor:attack-pattern/spoofing")
            })
            .expect("spoofing");
        assert_eq!(spoofing["severity"], "critical", "{what}");
        assert!(
            spoofing["provenance"]["severity"]["reason"].is_string(),
            "{what}: overridden values carry their reason"
        );
    }
    // The link added by an override is in the whole bundle (flooding is outside `top`).
    let bundle = bundle(&directory.path().join("app"), "app", None);
    let kb = json_file(&bundle, KB_PATH);
    assert!(
        kb["links"].as_array().is_some_and(|links| links
            .iter()
            .any(|link| link["attack-pattern"] == "test/vendor:attack-pattern/flooding")),
        "the link added by `add-addresses` is compiled"
    );
}

#[test]
fn a_kb_with_an_unknown_severity_does_not_match() {
    let kb_schema = validator(SchemaKind::KnowledgeBase);
    let mut kb = json_file(&example_org_bundle(), KB_PATH);
    assert!(kb_schema.is_valid(&kb), "the unchanged kb.json matches");
    kb["attack-patterns"][0]["severity"] = json!("catastrophic");
    assert_invalid_at(
        &kb_schema,
        &kb,
        "/attack-patterns/0/severity",
        "an unknown severity",
    );
    // Not a kebab-case name either.
    kb["attack-patterns"][0]["severity"] = json!("High");
    assert_invalid_at(
        &kb_schema,
        &kb,
        "/attack-patterns/0/severity",
        "a severity in another case",
    );
}

#[test]
fn a_kb_without_provenance_does_not_match() {
    let kb_schema = validator(SchemaKind::KnowledgeBase);
    let kb = json_file(&example_org_bundle(), KB_PATH);
    for list in ["entities", "attack-patterns", "mitigations", "links"] {
        let mut broken = kb.clone();
        broken[list][0]
            .as_object_mut()
            .expect("an item")
            .remove("provenance")
            .expect("the item has provenance");
        assert_invalid_at(
            &kb_schema,
            &broken,
            &format!("/{list}/0"),
            &format!("{list} without provenance"),
        );
        // A source without its line is no provenance either.
        let mut broken = kb.clone();
        broken[list][0]["provenance"]
            .as_object_mut()
            .expect("provenance")
            .values_mut()
            .next()
            .and_then(Json::as_object_mut)
            .expect("a source")
            .remove("line");
        assert_invalid_at(
            &kb_schema,
            &broken,
            &format!("/{list}/0/provenance"),
            &format!("{list} with a source without line"),
        );
    }
}

#[test]
fn a_manifest_with_a_malformed_digest_does_not_match() {
    let manifest_schema = validator(SchemaKind::BundleManifest);
    let manifest = json_file(&example_org_bundle(), MANIFEST_PATH);
    assert!(
        manifest_schema.is_valid(&manifest),
        "the unchanged manifest.json matches"
    );
    let good = manifest["files"][KB_PATH]
        .as_str()
        .expect("a digest")
        .to_string();
    let hex = good.trim_start_matches("sha256:");
    for bad in [
        hex.to_string(),                          // no algorithm
        format!("sha512:{hex}"),                  // another algorithm
        format!("sha256:{}", &hex[1..]),          // 63 digits
        format!("sha256:{hex}0"),                 // 65 digits
        format!("sha256:{}", hex.to_uppercase()), // uppercase hex
        format!("sha256:{}g", &hex[1..]),         // not hex
    ] {
        let mut broken = manifest.clone();
        broken["files"][KB_PATH] = json!(bad);
        assert_invalid_at(
            &manifest_schema,
            &broken,
            "/files/kb.json",
            &format!("file digest `{bad}`"),
        );
        let mut broken = manifest.clone();
        broken["dependencies"][0]["digest"] = json!(bad);
        assert_invalid_at(
            &manifest_schema,
            &broken,
            "/dependencies/0/digest",
            &format!("dependency digest `{bad}`"),
        );
    }
}

#[test]
fn unknown_keys_match_only_where_the_reader_ignores_them() {
    let bundle = example_org_bundle();
    let manifest_schema = validator(SchemaKind::BundleManifest);
    let kb_schema = validator(SchemaKind::KnowledgeBase);
    let manifest = json_file(&bundle, MANIFEST_PATH);
    let kb = json_file(&bundle, KB_PATH);

    let mut broken = manifest.clone();
    broken["signature"] = json!("none");
    assert_invalid_at(&manifest_schema, &broken, "", "an unknown manifest key");
    let mut broken = manifest.clone();
    broken["dependencies"][0]["checksum"] = json!("none");
    assert_invalid_at(
        &manifest_schema,
        &broken,
        "/dependencies/0",
        "an unknown dependency key",
    );
    let mut broken = manifest;
    broken["files"]
        .as_object_mut()
        .expect("files")
        .remove(KB_PATH);
    assert_invalid_at(&manifest_schema, &broken, "/files", "no kb.json digest");

    let mut broken = kb.clone();
    broken["attack-patterns"][0]["score"] = json!(9.8);
    assert_invalid_at(
        &kb_schema,
        &broken,
        "/attack-patterns/0",
        "an unknown attack pattern key",
    );
    let mut broken = kb.clone();
    broken["links"][0]["provenance"]["strength"]["column"] = json!(1);
    assert_invalid_at(
        &kb_schema,
        &broken,
        "/links/0/provenance/strength",
        "an unknown source key",
    );
    // `CompiledProperty` flattens the property definition and so cannot deny unknown keys:
    // the schema leaves properties open too.
    let mut extended = kb;
    let property = extended["entities"][0]["properties"]
        .as_object_mut()
        .and_then(|properties| properties.values_mut().next())
        .expect("an entity with a property");
    property["unit"] = json!("seconds");
    assert!(
        kb_schema.is_valid(&extended),
        "{:#?}",
        violations(&kb_schema, &extended)
    );
}

#[test]
fn a_kb_with_a_malformed_tier_rule_or_system_property_does_not_match() {
    let kb_schema = validator(SchemaKind::KnowledgeBase);
    let kb = json_file(&example_org_bundle(), KB_PATH);
    assert!(kb_schema.is_valid(&kb), "the unchanged kb.json matches");
    // A rule without provenance, or choosing a tier written in another case.
    let mut broken = kb.clone();
    broken["tier-rules"][0]
        .as_object_mut()
        .expect("a rule")
        .remove("provenance")
        .expect("the rule has provenance");
    assert_invalid_at(
        &kb_schema,
        &broken,
        "/tier-rules/0",
        "a rule without provenance",
    );
    let mut broken = kb.clone();
    broken["tier-rules"][0]["tier"] = json!("Deep");
    assert_invalid_at(
        &kb_schema,
        &broken,
        "/tier-rules/0/tier",
        "a tier in another case",
    );
    // A system property declared by an entity rather than a pack, or with a default that does
    // not fit its type.
    let mut broken = kb.clone();
    broken["system-properties"]["internet_facing"]["declared-by"] =
        json!("threatpack/stride-core:entity/web-application");
    assert_invalid_at(
        &kb_schema,
        &broken,
        "/system-properties/internet_facing/declared-by",
        "a system property declared by an entity",
    );
    let mut broken = kb.clone();
    broken["system-properties"]["internet_facing"]["default"] = json!("yes");
    assert_invalid_at(
        &kb_schema,
        &broken,
        "/system-properties/internet_facing/default",
        "a bool property with a string default",
    );
    // Both lists are part of every kb.json.
    let mut broken = kb.clone();
    broken
        .as_object_mut()
        .expect("an object")
        .remove("tier-rules");
    assert_invalid_at(&kb_schema, &broken, "", "a kb without tier rules");
}
