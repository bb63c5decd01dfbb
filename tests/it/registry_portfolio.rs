//! `threatpack apply --push`, `threatpack report push` and `threatpack portfolio`, run as the
//! real binary against the real registry on loopback (set up as in `registry_client`): scoped
//! tokens, and the portfolio's numbers checked against the report pushed.

use std::path::Path;

use threatpack_registry::server::{TokenOptions, create_token};
use threatpack_registry::tokens::Scope;

use crate::registry_client::{Registry, ok, start_registry, threatpack};
use crate::support::repository;

/// A configuration directory logged in to `registry` with a new token.
fn logged_in(
    registry: &Registry,
    work: &Path,
    name: &str,
    scope: Scope,
    pattern: &str,
) -> std::path::PathBuf {
    let (token, _) = create_token(
        registry.store.as_ref(),
        &TokenOptions {
            description: name.to_string(),
            scopes: vec![scope],
            namespaces: vec![pattern.to_string()],
            expires_in_seconds: None,
        },
        "test",
    )
    .expect("a token");
    let config = work.join(name);
    ok(&threatpack(&config, registry, &["login"], &token));
    config
}

/// The residual risk of a JSON report, by the documented scores.
fn risk(report: &serde_json::Value) -> u64 {
    report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .map(
            |threat| match threat["residual"]["severity"].as_str().expect("a level") {
                "critical" => 10,
                "high" => 5,
                "medium" => 2,
                "low" => 1,
                _ => 0,
            },
        )
        .sum()
}

#[test]
fn a_pushed_report_is_in_the_portfolio_with_its_numbers() {
    let registry = start_registry();
    let work = tempfile::tempdir().expect("a temporary directory");
    let ci = logged_in(&registry, work.path(), "ci", Scope::Report, "acme/shop");
    let security = logged_in(
        &registry,
        work.path(),
        "security",
        Scope::Portfolio,
        "acme/*",
    );
    let model = repository().join("examples/online-shop/model.toml");
    let pack = repository().join("packs/example-org");
    let out = work.path().join("report.json");
    let (model, pack, out) = (
        model.to_str().expect("UTF-8"),
        pack.to_str().expect("UTF-8"),
        out.to_str().expect("UTF-8"),
    );

    // `--push` needs the JSON report in a file.
    let run = threatpack(
        &ci,
        &registry,
        &[
            "apply",
            "--model",
            model,
            "--pack",
            pack,
            "--push",
            "acme/shop",
        ],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("--format json --out FILE"),
        "{}",
        run.stderr
    );

    // Applies `model` with the CI token, pushes the report, and returns it.
    let apply_and_push = |model: &str| -> serde_json::Value {
        let run = threatpack(
            &ci,
            &registry,
            &[
                "apply",
                "--model",
                model,
                "--pack",
                pack,
                "--format",
                "json",
                "--out",
                out,
                "--push",
                "acme/shop",
            ],
            "",
        );
        ok(&run);
        assert!(run.stderr.contains("pushed report"), "{}", run.stderr);
        serde_json::from_str(&std::fs::read_to_string(out).expect("the report")).expect("JSON")
    };
    let report = apply_and_push(model);

    // The CI token covers acme/shop only; the security team's token pushes nothing.
    let run = threatpack(
        &ci,
        &registry,
        &["report", "push", out, "--project", "acme/billing"],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("may not touch `acme/billing`"),
        "{}",
        run.stderr
    );
    let run = threatpack(
        &security,
        &registry,
        &["report", "push", out, "--project", "acme/shop"],
        "",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("lacks the `report` scope"),
        "{}",
        run.stderr
    );
    // The CI token reads no portfolio.
    let run = threatpack(&ci, &registry, &["portfolio"], "");
    assert_eq!(run.code, 2, "{run:?}");

    let run = threatpack(&security, &registry, &["portfolio", "--format", "json"], "");
    ok(&run);
    let portfolio: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let expected = risk(&report);
    assert!(expected > 0);
    assert_eq!(portfolio["totals"]["projects"], 1);
    assert_eq!(portfolio["totals"]["risk"], expected);
    let numbers = &portfolio["projects"][0]["numbers"];
    assert_eq!(
        numbers["threats"],
        report["threats"].as_array().map(Vec::len).expect("threats")
    );
    assert_eq!(
        numbers["open_backlog"],
        report["backlog"].as_array().map(Vec::len).expect("backlog")
    );
    assert_eq!(
        numbers["by_residual"]["critical"],
        report["totals"]["by-residual"]["critical"]
    );
    for (category, count) in report["totals"]["by-category"]
        .as_object()
        .expect("categories")
    {
        assert_eq!(&numbers["by_category"][category], count, "{category}");
    }
    let top = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .filter(|threat| threat["tier"] == "top" && threat["state"] == "unmitigated")
        .count();
    assert_eq!(numbers["unmitigated_top"], top);
    // Who owes what: the activities the report requires and the model does not record done.
    let owed: Vec<&str> = report["activities"]["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .filter(|activity| activity["status"] != "done")
        .map(|activity| activity["id"].as_str().expect("an id"))
        .collect();
    assert!(!owed.is_empty());
    assert_eq!(numbers["activities_owed"], serde_json::json!(owed));
    assert_eq!(portfolio["totals"]["activities_owed"], owed.len());
    for activity in &owed {
        assert_eq!(
            portfolio["owing"][activity],
            serde_json::json!(["acme/shop"])
        );
    }
    assert_eq!(numbers["expired_acceptances"], 0);

    let run = threatpack(&security, &registry, &["portfolio"], "");
    ok(&run);
    assert!(
        run.stdout
            .starts_with(&format!("1 project(s): residual risk {expected} (")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("acme/shop"), "{}", run.stdout);
    assert!(
        run.stdout.contains("\nsecurity activities owed:\n"),
        "{}",
        run.stdout
    );
    for activity in &owed {
        assert!(
            run.stdout
                .contains(&format!("\n  {activity} (1 project(s)): acme/shop\n")),
            "{}",
            run.stdout
        );
    }
    let run = threatpack(
        &security,
        &registry,
        &["portfolio", "--project", "acme/shop", "--weeks", "2"],
        "",
    );
    ok(&run);
    assert!(
        run.stdout
            .starts_with(&format!("acme/shop: residual risk {expected} (")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{expected}  (1 project(s))")),
        "{}",
        run.stdout
    );

    // The model pushed with the report is served back as it was.
    let stored = threatpack::ops::registry::project_model(
        &threatpack::ops::registry::RegistryOptions {
            url: registry.url.clone(),
            token: Some(registry.admin.clone()),
        },
        "acme/shop",
    )
    .expect("the model");
    assert_eq!(
        stored.text,
        std::fs::read_to_string(model).expect("the model")
    );
    assert_eq!(stored.file, "model.toml");

    // An acceptance past its date is counted (its threats are unmitigated).
    let expired = work.path().join("expired.toml");
    let text = std::fs::read_to_string(model).expect("the model");
    assert!(text.contains("until = \"2027-03-31\""));
    std::fs::write(
        &expired,
        text.replace("until = \"2027-03-31\"", "until = \"2020-01-01\""),
    )
    .expect("written");
    let report = apply_and_push(expired.to_str().expect("UTF-8"));
    let expired_count = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .flat_map(|threat| threat["mitigations"].as_array().expect("mitigations"))
        .filter(|mitigation| mitigation["acceptance"]["expired"] == true)
        .count();
    assert!(expired_count > 0);
    let run = threatpack(&security, &registry, &["portfolio", "--format", "json"], "");
    ok(&run);
    let portfolio: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        portfolio["projects"][0]["numbers"]["expired_acceptances"],
        expired_count
    );
    assert_eq!(portfolio["totals"]["expired_acceptances"], expired_count);
}
