//! `threatpack apply`, `questions` and `test`: the rule engine on a small pack whose every
//! finding can be worked out by hand, and on the shipped packs.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::Value as Json;

use crate::support::{Run, repository, threatpack, write_fixture};

/// A pack small enough to predict: two component kinds (one inheriting), a data store, flows
/// across a boundary, a system property with a tier rule, link conditions and events.
const PACK: &str = r#"
--- mini/pack.toml
[pack]
format = 1
name = "test/mini"
version = "1.0.0"
description = "A pack for engine tests."
license = "MIT"
tiers = ["top", "deep"]

[system.properties.sensitive]
type = "bool"
default = false
description = "The system holds sensitive data."
question = "Does the system hold sensitive data?"
rationale = "Sensitive systems get the deep pass."

[[system.tier-rule]]
tier = "deep"
when = "system.sensitive"
reason = "Sensitive systems get every threat."
--- mini/entities/all.toml
[[entity]]
id = "service"
name = "Service"
description = "A service."
kind = "process"

[entity.properties.exposed]
type = "bool"
default = false
description = "Reachable from the internet."
question = "Is it reachable from the internet?"
rationale = "Exposed services meet anonymous attackers."

[entity.properties.auth]
type = "enum"
values = ["none", "password", "mfa"]
default = "password"
description = "How callers log in."
question = "How do callers log in?"
rationale = "Passwords alone are guessed and stolen."

[entity.properties.tags]
type = "list"
values = ["pii", "secrets"]
default = []
description = "The data it handles."
question = "Which data does it handle?"
rationale = "Personal data attracts attackers."

[[entity]]
id = "web"
name = "Web application"
description = "A service that renders HTML."
parent = "service"

[entity.properties.renders_html]
type = "bool"
default = true
description = "Renders HTML."
question = "Does it render HTML?"
rationale = "HTML output is where script injection happens."

[[entity]]
id = "store"
name = "Store"
description = "A database."
kind = "data-store"

[entity.properties.encrypted]
type = "bool"
default = false
description = "Encrypted at rest."
question = "Is it encrypted at rest?"
rationale = "Unencrypted disks leak when stolen."

[[entity]]
id = "link"
name = "Link"
description = "A network connection."
kind = "data-flow"

[entity.properties.tls]
type = "bool"
default = false
description = "Protected by TLS."
question = "Is the connection protected by TLS?"
rationale = "Plain traffic can be read on the way."

[[entity]]
id = "zone"
name = "Zone"
description = "A network zone."
kind = "trust-boundary"
--- mini/attack-patterns/all.toml
[[attack-pattern]]
id = "weak-auth"
name = "Weak authentication"
description = "Passwords are guessed."
categories = ["spoofing"]
applies-to = ["service"]
condition = 'self.exposed && self.auth != "mfa"'
severity = "high"
tier = "top"

[[attack-pattern]]
id = "xss"
name = "Cross-site scripting"
description = "Script injection."
categories = ["tampering"]
applies-to = ["web"]
condition = "self.renders_html"
severity = "medium"
tier = "deep"

[[attack-pattern]]
id = "sniffing"
name = "Sniffing"
description = "Traffic read on the way."
categories = ["information-disclosure"]
applies-to = ["link"]
condition = "!self.tls && crosses_boundary"
severity = "high"
tier = "top"

[[attack-pattern]]
id = "store-theft"
name = "Store theft"
description = "Data read from a stolen disk, through a flow into a store."
categories = ["information-disclosure"]
applies-to = ["link"]
condition = "has(target.encrypted) && !target.encrypted"
severity = "critical"
tier = "top"

[[attack-pattern]]
id = "pii-leak"
name = "Personal data leak"
description = "Personal data disclosed."
categories = ["information-disclosure"]
applies-to = ["service"]
condition = '"pii" in self.tags'
severity = "critical"
tier = "top"
--- mini/mitigations/all.toml
[[mitigation]]
id = "mfa"
name = "Multi-factor authentication"
description = "A second factor."
control = "preventive"
cost = "medium"
implementation = "Add TOTP."
verification = "Log in without the second factor."
tier = "top"
events = [{ id = "auth.mfa-failed", description = "A second factor was wrong." }]

[[mitigation.addresses]]
attack-pattern = "weak-auth"
strength = "strong"

[[mitigation]]
id = "waf"
name = "Web application firewall"
description = "Filters requests."
control = "preventive"
cost = "low"
implementation = "Put a WAF in front."
verification = "Send an attack string."
tier = "top"

[[mitigation.addresses]]
attack-pattern = "weak-auth"
strength = "weak"

[[mitigation.addresses]]
attack-pattern = "xss"
strength = "average"

[[mitigation]]
id = "tls"
name = "TLS"
description = "Encrypt traffic."
control = "preventive"
cost = "low"
implementation = "Turn TLS on."
verification = "Try plain HTTP."
tier = "top"

[[mitigation.addresses]]
attack-pattern = "sniffing"
strength = "maximum"

[[mitigation.addresses]]
attack-pattern = "store-theft"
strength = "weak"
condition = "self.tls"

[[mitigation]]
id = "disk-encryption"
name = "Disk encryption"
description = "Encrypt at rest."
control = "preventive"
cost = "low"
implementation = "Turn encryption on."
verification = "Read the raw disk."
tier = "top"

[[mitigation.addresses]]
attack-pattern = "store-theft"
strength = "strong"

[[mitigation]]
id = "dlp"
name = "Data loss prevention"
description = "Watch for personal data leaving."
control = "detective"
cost = "high"
implementation = "Deploy DLP."
verification = "Send a test record."
tier = "top"

[[mitigation.addresses]]
attack-pattern = "pii-leak"
strength = "average"
--- model.toml
[model]
name = "Mini shop"

[[component]]
id = "front"
kind = "web"
properties = { exposed = true, tags = ["pii"] }

[[component]]
id = "api"
kind = "service"
properties = { exposed = true, auth = "mfa" }

[[component]]
id = "db"
kind = "store"

[[flow]]
id = "front-api"
kind = "link"
source = "front"
target = "api"

[[flow]]
id = "api-db"
kind = "link"
source = "api"
target = "db"
properties = { tls = true }

[[boundary]]
id = "internet"
kind = "zone"
contains = ["front"]

[[mitigation-status]]
mitigation = "mfa"
at = ["front"]
status = "planned"
note = "JIRA-12"

[[mitigation-status]]
mitigation = "waf"
status = "existing"

[[mitigation-status]]
mitigation = "dlp"
at = ["front"]
status = "accepted-risk"
owner = "data protection officer"
reason = "the front end holds no personal data of its own"
until = "2099-12-31"

[[story]]
id = "checkout"
text = "As a customer I want to check out so that I get my goods"

[[story.without]]
text = "having my account taken over"
threats = ["weak-auth@front"]

[[story.without]]
text = "the shop going down"
threats = ["xss@api"]
"#;

fn apply(directory: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "--model", "model.toml", "--pack", "mini"];
    args.extend_from_slice(extra);
    threatpack(directory, &args)
}

fn json_report(directory: &Path, extra: &[&str]) -> Json {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let run = apply(directory, &args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).expect("apply --format json prints JSON")
}

fn findings(report: &Json) -> BTreeSet<String> {
    report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .map(|threat| {
            let pattern = threat["attack-pattern"].as_str().expect("id");
            let local = pattern.rsplit('/').next().expect("local id");
            format!("{local}@{}", threat["element"].as_str().expect("element"))
        })
        .collect()
}

fn threat<'a>(report: &'a Json, key: &str) -> &'a Json {
    report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .find(|threat| {
            let pattern = threat["attack-pattern"].as_str().unwrap_or_default();
            format!(
                "{}@{}",
                pattern.rsplit('/').next().unwrap_or_default(),
                threat["element"].as_str().unwrap_or_default()
            ) == key
        })
        .unwrap_or_else(|| panic!("no threat {key}"))
}

#[test]
fn apply_finds_exactly_the_threats_the_conditions_select() {
    let directory = write_fixture(PACK);
    // No [system] answer: the rule does not hold, so the pack's first tier (top) applies.
    let report = json_report(directory.path(), &[]);
    assert_eq!(report["tier"]["name"], "top");
    assert_eq!(report["tier"]["chosen-by"], "default");
    let expected: BTreeSet<String> = [
        // exposed and not mfa; `api` has mfa.
        "weak-auth@front",
        // front (internet) → api (no boundary) crosses; api → db does not.
        "sniffing@front-api",
        // Flows into a store that is not encrypted; the flow into `api` cannot be decided.
        "store-theft@api-db",
        "pii-leak@front",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(findings(&report), expected);
    assert!(report.get("errors").is_none(), "{}", report["errors"]);
}

#[test]
fn residual_risk_status_and_backlog_follow_the_documented_formula() {
    let directory = write_fixture(PACK);
    let report = json_report(directory.path(), &["--tier", "all"]);
    // weak-auth@front: high (75); waf is existing everywhere (weak, 25%): 75 × 0.75 = 56.25 →
    // 56, medium. mfa is only planned, so it does not count.
    let weak = threat(&report, "weak-auth@front");
    assert_eq!(weak["residual"]["score"], 56);
    assert_eq!(weak["residual"]["severity"], "medium");
    assert_eq!(weak["state"], "partially-mitigated");
    let statuses: Vec<(String, String)> = weak["mitigations"]
        .as_array()
        .expect("mitigations")
        .iter()
        .map(|m| {
            (
                m["mitigation"]
                    .as_str()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                m["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("mfa".to_string(), "planned".to_string()),
            ("waf".to_string(), "existing".to_string())
        ]
    );
    // pii-leak@front: critical, its only mitigation is accepted-risk: nothing reduces it.
    let leak = threat(&report, "pii-leak@front");
    assert_eq!(leak["residual"]["score"], 100);
    assert_eq!(leak["state"], "accepted");
    // store-theft@api-db: the tls link holds (the flow has TLS) but is missing, disk
    // encryption too: unmitigated at critical.
    let theft = threat(&report, "store-theft@api-db");
    assert_eq!(theft["state"], "unmitigated");
    assert_eq!(theft["mitigations"].as_array().map(Vec::len), Some(2));
    // With --tier all, xss@front appears; waf (average) is existing: 50 × 0.5 = 25, low.
    assert_eq!(threat(&report, "xss@front")["residual"]["score"], 25);
    // Stable ids: the same run gives the same ids.
    let again = json_report(directory.path(), &["--tier", "all"]);
    assert_eq!(report["threats"], again["threats"]);
    assert!(
        weak["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("T-") && id.len() == 14)
    );
    // Backlog: one item per mitigation still to do (waf is in place everywhere).
    let backlog: BTreeSet<String> = report["backlog"]
        .as_array()
        .expect("backlog")
        .iter()
        .map(|item| {
            item["mitigation"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    // dlp is accepted-risk where it applies: a decision, not work.
    let expected: BTreeSet<String> = ["mfa", "tls", "disk-encryption"]
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(backlog, expected);
    assert_eq!(report["totals"]["backlog-items"], 3);
    // Events per component: mfa's event at `front` (planned there).
    let events = report["alignment"]["events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|entry| entry["element"] == "front"
                && entry["events"][0]["id"] == "auth.mfa-failed")
    );
}

#[test]
fn alignment_relates_stories_and_threats() {
    let directory = write_fixture(PACK);
    let report = json_report(directory.path(), &["--tier", "all"]);
    let alignment = &report["alignment"];
    // The second clause names xss@api, which the model does not produce.
    assert_eq!(
        alignment["clauses-without-threat"][0]["story"],
        "checkout#2"
    );
    // The checkout story covers weak-auth@front, whose mfa is still planned.
    let story = &alignment["stories"][0];
    assert_eq!(story["story"], "checkout");
    assert_eq!(
        story["threats"],
        serde_json::json!([threat(&report, "weak-auth@front")["id"]])
    );
    assert!(
        story["open-mitigations"]
            .as_array()
            .expect("open mitigations")
            .iter()
            .any(|id| id.as_str().is_some_and(|id| id.ends_with("/mfa")))
    );
    // Every other threat is covered by no clause.
    let uncovered = alignment["threats-without-clause"]
        .as_array()
        .expect("uncovered");
    assert_eq!(
        uncovered.len(),
        report["threats"].as_array().map_or(0, Vec::len) - 1
    );
}

#[test]
fn tier_rules_choose_from_system_properties() {
    let directory = write_fixture(PACK);
    let model = directory.path().join("model.toml");
    let text = fs::read_to_string(&model).expect("model");
    fs::write(&model, format!("[system]\nsensitive = true\n{text}")).expect("write");
    let report = json_report(directory.path(), &[]);
    assert_eq!(report["tier"]["name"], "deep");
    assert_eq!(report["tier"]["chosen-by"], "rule");
    assert!(
        report["tier"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("system.sensitive")),
        "{}",
        report["tier"]
    );
    assert!(findings(&report).contains("xss@front"));
    // An explicit tier wins over the rules.
    let top = json_report(directory.path(), &["--tier", "top"]);
    assert_eq!(top["tier"]["chosen-by"], "flag");
    assert!(!findings(&top).contains("xss@front"));
    let unknown = apply(directory.path(), &["--tier", "gold"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no tier `gold`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn evaluation_errors_are_reported_never_read_as_false() {
    // Without its `has()` guard, `target.encrypted` cannot be read on the flow into `api`
    // (a service declares no `encrypted`).
    let directory = write_fixture(&PACK.replace(
        "condition = \"has(target.encrypted) && !target.encrypted\"",
        "condition = \"!target.encrypted\"",
    ));
    let run = apply(directory.path(), &["--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("could not be evaluated"),
        "{}",
        run.stderr
    );
    // The report is still complete, with the error in it.
    let report: Json = serde_json::from_str(&run.stdout).expect("json");
    let errors = report["errors"].as_array().expect("errors are listed");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["element"], "front-api");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("has no property `encrypted`"),
        "{errors:?}"
    );
    assert!(findings(&report).contains("store-theft@api-db"));
    assert!(!findings(&report).contains("store-theft@front-api"));
}

#[test]
fn explain_names_the_deciding_sub_expression_and_values() {
    let directory = write_fixture(PACK);
    let run = apply(
        directory.path(),
        &[
            "--explain",
            "weak-auth@api",
            "--explain",
            "xss@api",
            "--explain",
            "sniffing@api-db",
            "--explain",
            "sniffing@front-api",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &run.stdout;
    // weak-auth@api: `self.exposed` holds, `self.auth != "mfa"` does not, because auth is mfa.
    assert!(
        text.contains("does not apply: the condition is false"),
        "{text}"
    );
    assert!(text.contains("`self.auth != \"mfa\"` is false"), "{text}");
    assert!(
        text.contains("self.auth = \"mfa\" (set on `api`)"),
        "{text}"
    );
    assert!(
        !text.contains("`self.exposed` is true"),
        "only deciding operands: {text}"
    );
    // xss only applies to `web`; `api` is a plain service.
    assert!(
        text.contains("it applies to `test/mini:entity/web`"),
        "{text}"
    );
    // sniffing@api-db: TLS is on and no boundary is crossed; both operands are named.
    assert!(text.contains("`!self.tls` is false"), "{text}");
    // sniffing@front-api applies: both operands hold, and both are shown.
    assert!(text.contains("applies: the condition is true"), "{text}");
    assert!(
        text.contains(
            "`crosses_boundary` is true (the flow's ends are in different trust boundaries)"
        ),
        "{text}"
    );
    // Without TLS on `api-db`, `crosses_boundary` decides, and its reason follows its value
    // (issue 12: it once always said "different trust boundaries").
    let model = directory.path().join("model.toml");
    let text = fs::read_to_string(&model).expect("model");
    fs::write(&model, text.replace("properties = { tls = true }", "")).expect("write");
    let run = apply(directory.path(), &["--explain", "sniffing@api-db"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "`crosses_boundary` is false (the flow's ends are in the same trust boundary)"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("different trust"), "{}", run.stdout);
    let unknown = apply(directory.path(), &["--explain", "weak-auth@nowhere"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no element `nowhere`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn model_errors_name_the_line_and_what_to_do() {
    let directory = write_fixture(PACK);
    let model = directory.path().join("model.toml");
    let text = fs::read_to_string(&model).expect("model");
    let broken = text
        .replace("kind = \"store\"", "kind = \"stor\"")
        .replace(
            "properties = { exposed = true, auth = \"mfa\" }",
            "properties = { exposd = true, auth = \"totp\" }",
        )
        .replace("source = \"api\"", "source = \"apj\"");
    fs::write(&model, broken).expect("write");
    let run = apply(directory.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let stderr = &run.stderr;
    for (message, location) in [
        ("unknown entity `stor`", "model.toml:16:"),
        ("`service` has no property `exposd`", "model.toml:12:"),
        ("invalid value for `auth` of `api`", "model.toml:12:"),
        ("no element `apj` in the model", "model.toml:27:"),
    ] {
        assert!(stderr.contains(message), "{message}: {stderr}");
        assert!(stderr.contains(location), "{location}: {stderr}");
    }
    assert!(stderr.contains("did you mean `store`?"), "{stderr}");
    assert!(stderr.contains("did you mean `exposed`?"), "{stderr}");
    // Nothing on stdout: no partial report.
    assert_eq!(run.stdout, "");
}

#[test]
fn a_bundle_gives_the_same_report_as_the_pack_and_can_be_required_signed() {
    let directory = write_fixture(PACK);
    let build = threatpack(directory.path(), &["build", "mini", "--out", "dist"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let bundle = "dist/test_mini-1.0.0-all.tar.gz";
    let from_pack = json_report(directory.path(), &["--tier", "all"]);
    let run = threatpack(
        directory.path(),
        &[
            "apply",
            "--model",
            "model.toml",
            "--bundle",
            bundle,
            "--tier",
            "all",
            "--format",
            "json",
        ],
    );
    let from_bundle: Json = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(from_pack["threats"], from_bundle["threats"]);
    assert_eq!(from_pack["backlog"], from_bundle["backlog"]);
    // --key refuses an unsigned bundle, then accepts it once signed with that key.
    let key = threatpack(
        directory.path(),
        &["key", "generate", "--unencrypted", "--out", "k"],
    );
    assert_eq!(key.code, 0, "{}", key.stderr);
    let args = [
        "apply",
        "--model",
        "model.toml",
        "--bundle",
        bundle,
        "--key",
        "k.pub",
    ];
    let unsigned = threatpack(directory.path(), &args);
    assert_eq!(unsigned.code, 2);
    assert!(unsigned.stderr.contains("signature"), "{}", unsigned.stderr);
    let sign = threatpack(directory.path(), &["sign", bundle, "--key", "k.key"]);
    assert_eq!(sign.code, 0, "{}", sign.stderr);
    let signed = threatpack(directory.path(), &args);
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert!(!signed.stdout.is_empty());
}

#[test]
fn questions_list_what_the_model_has_not_answered() {
    let directory = write_fixture(PACK);
    let run = threatpack(
        directory.path(),
        &[
            "questions",
            "--model",
            "model.toml",
            "--pack",
            "mini",
            "--tier",
            "all",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let questions: Json = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(questions["system"][0]["property"], "sensitive");
    let api = questions["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .find(|element| element["element"] == "api")
        .expect("api has questions");
    // `api` answered exposed and auth; `tags` is left, read by pii-leak (information disclosure).
    let asked: Vec<&str> = api["categories"]["information-disclosure"]
        .as_array()
        .expect("grouped by category")
        .iter()
        .filter_map(|question| question["property"].as_str())
        .collect();
    assert_eq!(asked, vec!["tags"]);
    assert!(api["categories"].get("spoofing").is_none(), "{api}");
}

#[test]
fn shipped_pack_tests_pass_and_a_broken_condition_fails_a_named_test() {
    for pack in ["packs/stride-core", "packs/example-org"] {
        let run = threatpack(&repository(), &["test", pack]);
        assert_eq!(run.code, 0, "{pack}:\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("0 failed"), "{}", run.stdout);
    }
    let copy = tempfile::tempdir().expect("temporary directory");
    let target = copy.path().join("stride-core");
    copy_dir(&repository().join("packs/stride-core"), &target);
    let file = target.join("attack-patterns/injection.toml");
    let text = fs::read_to_string(&file).expect("read");
    let broken = text.replacen(
        r#"self.query_construction in ["string-building", "unknown"]"#,
        r#"self.query_construction in ["unknown"]"#,
        1,
    );
    assert_ne!(text, broken, "the condition to break is in the pack");
    fs::write(&file, broken).expect("write");
    let run = threatpack(copy.path(), &["test", "stride-core"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL  stride-core/tests/"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("- sql-injection@"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("`self.query_construction in [\"unknown\"]` is false"),
        "{}",
        run.stdout
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create");
    for entry in fs::read_dir(from).expect("list") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy");
        }
    }
}

/// The README's quickstart: the shipped policy applied to the example shop, in every format.
#[test]
fn the_example_shop_in_every_format() {
    let root = repository();
    let model = "examples/online-shop/model.toml";
    let run = |format: &str| {
        let run = threatpack(
            &root,
            &[
                "apply",
                "--model",
                model,
                "--pack",
                "packs/example-org",
                "--format",
                format,
            ],
        );
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        run.stdout
    };
    let report: Json = serde_json::from_str(&run("json")).expect("json");
    let validator =
        threatpack::schema::compile(threatpack::schema::SchemaKind::Report).expect("schema");
    let violations: Vec<String> = validator
        .iter_errors(&report)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
    // The shop is in PCI DSS scope: the tier rule picks the comprehensive pass, and every
    // STRIDE category has threats.
    assert_eq!(report["tier"]["name"], "deep");
    for category in [
        "spoofing",
        "tampering",
        "repudiation",
        "information-disclosure",
        "denial-of-service",
        "elevation-of-privilege",
    ] {
        assert!(
            report["totals"]["by-category"][category].as_u64() > Some(0),
            "{category}: {}",
            report["totals"]
        );
    }
    let summary = run("summary");
    assert!(summary.contains("threat model of Online shop"), "{summary}");
    let markdown = run("markdown");
    assert!(markdown.starts_with('#'), "{markdown}");
    let csv = run("backlog-csv");
    let items = report["backlog"].as_array().map_or(0, Vec::len);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.records().count(), items);
    let backlog: Json = serde_json::from_str(&run("backlog-json")).expect("json");
    assert_eq!(backlog["items"].as_array().map(Vec::len), Some(items));
}

/// The mini model as JSON: the same report; problems still located at their JSON line.
#[test]
fn a_json_model_gives_the_same_report_and_located_errors() {
    let directory = write_fixture(PACK);
    let toml_text = fs::read_to_string(directory.path().join("model.toml")).expect("model");
    let model: Json = toml::from_str(&toml_text).expect("the fixture is TOML");
    let pretty = serde_json::to_string_pretty(&model).expect("json");
    fs::write(directory.path().join("model.json"), &pretty).expect("write");
    let from_json = threatpack(
        directory.path(),
        &[
            "apply",
            "--model",
            "model.json",
            "--pack",
            "mini",
            "--tier",
            "all",
            "--format",
            "json",
        ],
    );
    assert_eq!(from_json.code, 0, "{}", from_json.stderr);
    let from_json: Json = serde_json::from_str(&from_json.stdout).expect("json");
    let from_toml = json_report(directory.path(), &["--tier", "all"]);
    assert_eq!(from_json["threats"], from_toml["threats"]);
    assert_eq!(from_json["backlog"], from_toml["backlog"]);

    // An unknown kind (found when binding) and a misspelled key (found by the schema) are
    // both reported at their line of the JSON file.
    let line_of = |text: &str, needle: &str| {
        text.lines()
            .position(|line| line.contains(needle))
            .expect("needle")
            + 1
    };
    for (broken, needle, message) in [
        (
            pretty.replace("\"store\"", "\"stor\""),
            "\"stor\"",
            "unknown entity `stor`",
        ),
        (
            pretty.replacen("\"properties\"", "\"propertes\"", 1),
            "\"propertes\"",
            "propertes",
        ),
        (
            pretty.replacen("\"front\"", "\"Front\"", 1),
            "\"Front\"",
            "Front",
        ),
    ] {
        fs::write(directory.path().join("broken.json"), &broken).expect("write");
        let run = threatpack(
            directory.path(),
            &["apply", "--model", "broken.json", "--pack", "mini"],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{message}: {}", run.stderr);
        let location = format!("broken.json:{}:", line_of(&broken, needle));
        assert!(run.stderr.contains(&location), "{location}: {}", run.stderr);
    }
}

#[test]
fn an_out_of_scope_element_gets_no_threats_in_every_syntax_but_its_flows_still_do() {
    let directory = write_fixture(PACK);
    let path = directory.path().join("model.toml");
    let text = fs::read_to_string(&path).expect("model");
    let scoped = text.replacen(
        "id = \"front\"\n",
        "id = \"front\"\nout-of-scope = \"the vendor's CDN, assessed by the vendor\"\n",
        1,
    );
    assert_ne!(scoped, text, "the fixture names `front`");
    fs::write(&path, &scoped).expect("write");

    let report = json_report(directory.path(), &[]);
    let found = findings(&report);
    assert!(
        !found.iter().any(|finding| finding.ends_with("@front")),
        "{found:?}"
    );
    // The flow out of `front` is in scope and reads `front`'s properties as before.
    assert!(found.contains("sniffing@front-api"), "{found:?}");
    assert_eq!(
        report["model"]["out-of-scope"],
        serde_json::json!([{"element": "front", "reason": "the vendor's CDN, assessed by the vendor"}])
    );

    // The JSON model (read by the fast reader) says the same, and `true` works without a reason.
    let model: Json = toml::from_str(&scoped).expect("TOML");
    fs::write(
        directory.path().join("model.json"),
        serde_json::to_string(&model).expect("json"),
    )
    .expect("write");
    let run = threatpack(
        directory.path(),
        &[
            "apply",
            "--model",
            "model.json",
            "--pack",
            "mini",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let from_json: Json = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(from_json["threats"], report["threats"]);
    assert_eq!(from_json["model"], {
        let mut model = report["model"].clone();
        model["file"] = "model.json".into();
        model
    });
    fs::write(
        &path,
        text.replacen(
            "id = \"front\"\n",
            "id = \"front\"\nout-of-scope = true\n",
            1,
        ),
    )
    .expect("write");
    let flagged = json_report(directory.path(), &[]);
    assert_eq!(findings(&flagged), found);
    assert_eq!(
        flagged["model"]["out-of-scope"],
        serde_json::json!([{"element": "front"}])
    );

    let summary = apply(directory.path(), &[]);
    assert!(
        summary.stdout.contains("out of scope   front"),
        "{}",
        summary.stdout
    );
    let explained = apply(directory.path(), &["--explain", "weak-auth@front"]);
    assert!(
        explained
            .stdout
            .contains("the model puts `front` out of scope"),
        "{}",
        explained.stdout
    );
}
