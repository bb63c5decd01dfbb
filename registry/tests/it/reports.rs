//! Reports pushed by projects with scoped tokens, and the portfolio read back: numbers checked
//! against the reports, trends over generated weeks, dependents, pack claims checked against the
//! index, retention, and bodies refused before they are parsed (size, gzip bombs).

use std::io::Write;

use serde_json::{Value, json};
use threatpack_registry::api::reports::prepare;
use threatpack_registry::store::{NewReport, Store};
use threatpack_registry::tokens::Scope;

use crate::support::{Registry, bundle, detail, json, key};

/// A JSON report with one threat per `(residual, tier, state, categories)`, a backlog of
/// `backlog` items, and provenance naming `project` and `packs` when given.
fn report(
    threats: &[(&str, &str, &str, &[&str])],
    backlog: usize,
    project: Option<&str>,
    packs: &[Value],
) -> Value {
    let threats: Vec<Value> = threats
        .iter()
        .enumerate()
        .map(|(index, (residual, tier, state, categories))| {
            json!({
                "id": format!("T-{index:012x}"),
                "attack-pattern": "threatpack/stride-core:attack-pattern/x",
                "element": "api",
                "categories": categories,
                "severity": "high",
                "tier": tier,
                "residual": {"score": 1, "severity": residual},
                "state": state,
                "mitigations": [],
            })
        })
        .collect();
    let mut report = json!({
        "format": 2,
        "model": {"name": "Shop", "file": "model.toml"},
        "pack": {"name": "acme/web", "version": "1.0.0"},
        "threats": threats,
        "totals": {},
        "backlog": (0..backlog).map(|item| json!({"id": format!("M-{item}")})).collect::<Vec<_>>(),
        "alignment": [],
    });
    if project.is_some() || !packs.is_empty() {
        let mut provenance = json!({
            "tool": {"name": "threatpack", "version": "0.1.0"},
            "generated-at": "2026-12-07T20:00:00Z",
            "model": {"file": "model.toml", "sha256": "00"},
            "packs": packs,
        });
        if let Some(project) = project {
            provenance["project"] = json!({"name": project, "source": "flag"});
        }
        report["provenance"] = provenance;
    }
    report
}

fn claim(name: &str, version: &str, sha256: &str) -> Value {
    json!({"name": name, "version": version, "sha256": sha256, "signer": null, "source": "registry"})
}

async fn push(registry: &Registry, token: &str, project: &str, body: &Value) -> reqwest::Response {
    registry
        .client
        .post(format!("{}/projects/{project}/reports", registry.url))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("JSON"))
        .send()
        .await
        .expect("request")
}

async fn get(registry: &Registry, token: &str, path: &str) -> reqwest::Response {
    registry
        .client
        .get(format!("{}{path}", registry.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

/// Stores a report received at `at` (Unix seconds) as a push would: the weeks of a trend.
fn store_at(registry: &Registry, project: &str, at: i64, report: &Value) {
    let body = serde_json::to_vec(&json!({"report": report})).expect("JSON");
    let prepared = prepare(&body, project).expect("a valid push");
    registry
        .store
        .store_report(
            &NewReport {
                project: project.to_string(),
                received_at: at,
                numbers: prepared.numbers,
                packs: prepared
                    .claims
                    .into_iter()
                    .map(|claim| (claim, false))
                    .collect(),
                report_gzip: prepared.report_gzip,
                model: prepared.model,
            },
            "test",
        )
        .expect("stored");
}

#[tokio::test]
async fn a_project_token_pushes_for_its_projects_only() {
    let registry = Registry::start().await;
    let shop = registry.token(&[Scope::Report], &["acme/shop"], None);
    let publisher = registry.token(&[Scope::Publish], &["*"], None);
    let reader = registry.token(&[Scope::Portfolio], &["acme/*"], None);
    let body =
        json!({"report": report(&[("high", "top", "unmitigated", &["spoofing"])], 1, None, &[])});

    let pushed = push(&registry, &shop, "acme/shop", &body).await;
    assert_eq!(pushed.status(), 201);
    let answer = json(pushed).await;
    assert_eq!(answer["project"], "acme/shop");
    assert!(answer["report_id"].as_i64().is_some());

    for (token, project, scope_words) in [
        (&shop, "acme/billing", "may not touch `acme/billing`"),
        (&publisher, "acme/shop", "lacks the `report` scope"),
        (&reader, "acme/shop", "lacks the `report` scope"),
    ] {
        let refused = push(&registry, token, project, &body).await;
        assert_eq!(refused.status(), 403, "{project}");
        assert!(detail(refused).await.contains(scope_words));
    }
    // A report whose provenance names another project is not stored under this one.
    let elsewhere = json!({"report": report(&[], 0, Some("acme/billing"), &[])});
    let refused = push(&registry, &shop, "acme/shop", &elsewhere).await;
    assert_eq!(refused.status(), 422);
    assert!(
        detail(refused)
            .await
            .contains("`acme/billing`, not `acme/shop`")
    );
    // Without a token, nothing.
    let anonymous = registry
        .client
        .post(format!("{}/projects/acme/shop/reports", registry.url))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).expect("JSON"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    // The push reader sees one report; a reader of another namespace sees nothing.
    let other = registry.token(&[Scope::Portfolio], &["vendor/*"], None);
    let portfolio = json(get(&registry, &reader, "/portfolio").await).await;
    assert_eq!(portfolio["totals"]["projects"], 1);
    let portfolio = json(get(&registry, &other, "/portfolio").await).await;
    assert_eq!(portfolio["totals"]["projects"], 0);
    assert_eq!(
        get(&registry, &other, "/projects/acme/shop").await.status(),
        403
    );
    assert_eq!(get(&registry, &shop, "/portfolio").await.status(), 403);
}

#[tokio::test]
async fn the_portfolio_numbers_are_the_reports_numbers() {
    let registry = Registry::start().await;
    let signing = key();
    registry.namespace_with_key("acme", &signing).await;
    let publisher = registry.token(&[Scope::Publish], &["acme/*"], None);
    let old = bundle("acme/web", "1.0.0", "first", &signing);
    let newer = bundle("acme/web", "1.1.0", "second", &signing);
    let next_major = bundle("acme/web", "2.0.0", "third", &signing);
    for published in [&old, &newer, &next_major] {
        assert_eq!(registry.publish(&publisher, published).await.status(), 201);
    }
    let sha = |bundle: &crate::support::Bundle| threatpack::digest::sha256_hex(&bundle.bytes);
    let pusher = registry.token(&[Scope::Report], &["acme/*"], None);
    let reader = registry.token(&[Scope::Portfolio], &["acme/*"], None);

    // shop: 10 + 5 + 2 + 1 + 0 = 18, one unmitigated TOP threat (the other TOP one is planned).
    let shop = report(
        &[
            ("critical", "top", "unmitigated", &["spoofing", "tampering"]),
            ("high", "top", "planned", &["tampering"]),
            ("medium", "standard", "unmitigated", &["repudiation"]),
            (
                "low",
                "standard",
                "partially-mitigated",
                &["denial-of-service"],
            ),
            ("none", "standard", "mitigated", &["spoofing"]),
        ],
        3,
        Some("acme/shop"),
        &[claim("acme/web", "1.0.0", &sha(&old))],
    );
    // The right bytes with a signer the registry did not check are not verified.
    let mut forged = claim("acme/web", "1.0.0", &sha(&old));
    forged["signer"] = json!("0123456789ABCDEF");
    let other = report(&[], 0, None, &[forged]);
    let answer =
        json(push(&registry, &pusher, "acme/other", &json!({"report": other})).await).await;
    assert_eq!(answer["verified_packs"], json!([]));
    let answer = json(push(&registry, &pusher, "acme/shop", &json!({"report": shop})).await).await;
    assert_eq!(answer["verified_packs"][0]["name"], "acme/web");
    assert_eq!(answer["unverified_packs"], json!([]));
    // billing claims acme/web 2.0.0 with other bytes and a pack the registry never served.
    let billing = report(
        &[("high", "top", "unmitigated", &["elevation-of-privilege"])],
        1,
        None,
        &[
            claim("acme/web", "2.0.0", &"0".repeat(64)),
            claim("acme/secret", "1.0.0", &"1".repeat(64)),
        ],
    );
    let answer = json(
        push(
            &registry,
            &pusher,
            "acme/billing",
            &json!({"report": billing}),
        )
        .await,
    )
    .await;
    assert_eq!(answer["verified_packs"], json!([]));
    assert_eq!(answer["unverified_packs"].as_array().map(Vec::len), Some(2));

    let portfolio = json(get(&registry, &reader, "/portfolio?top=1").await).await;
    let totals = &portfolio["totals"];
    assert_eq!(totals["projects"], 3);
    assert_eq!(totals["risk"], 18 + 5);
    assert_eq!(totals["threats"], 6);
    assert_eq!(totals["unmitigated_top"], 2);
    assert_eq!(totals["open_backlog"], 4);
    assert_eq!(totals["by_residual"]["high"], 2);
    assert_eq!(portfolio["riskiest"], json!(["acme/shop"]));
    // shop is behind (1.1.0 matches ^1.0.0); billing's claims are unverified: not counted.
    assert_eq!(portfolio["behind"], json!(["acme/shop"]));
    let projects = portfolio["projects"].as_array().expect("projects");
    assert_eq!(projects[0]["project"], "acme/billing");
    assert_eq!(projects[0]["packs"][0]["verified"], false);
    assert_eq!(projects[0]["packs"][0]["behind"], Value::Null);
    assert_eq!(projects[1]["project"], "acme/other");
    let shop = &projects[2];
    assert_eq!(shop["numbers"]["risk"], 18);
    assert_eq!(shop["numbers"]["unmitigated_top"], 1);
    assert_eq!(shop["numbers"]["by_category"]["spoofing"], 2);
    assert_eq!(shop["numbers"]["by_category"]["tampering"], 2);
    assert_eq!(shop["numbers"]["by_residual"]["none"], 1);
    assert_eq!(shop["numbers"]["unanswered_questions"], Value::Null);
    assert_eq!(shop["age_days"], 0);
    let web = &shop["packs"][0];
    assert_eq!(web["version"], "1.0.0");
    assert_eq!(web["newest_matching"], "1.1.0");
    assert_eq!(web["newest"], "2.0.0");
    assert_eq!(web["behind"], 1);
    assert_eq!(web["yanked"], false);

    // Dependents: shop's verified claim only; billing's claim of 2.0.0 was not the registry's.
    let dependents = json(get(&registry, &reader, "/packs/acme/web/dependents").await).await;
    assert_eq!(dependents["pack"], "acme/web");
    let listed = dependents["dependents"].as_array().expect("dependents");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["project"], "acme/shop");
    assert_eq!(listed[0]["version"], "1.0.0");
    let secret = json(get(&registry, &reader, "/packs/acme/secret/dependents").await).await;
    assert_eq!(secret["dependents"], json!([]));

    // A yanked version in use puts the project in `behind` and says so.
    let admin = registry.admin.clone();
    let yanked = registry
        .client
        .put(format!("{}/packs/acme/web/1.0.0/yank", registry.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(json!({"reason": "broken rule"}).to_string())
        .send()
        .await
        .expect("request");
    assert!(yanked.status().is_success(), "{}", yanked.status());
    let status = json(get(&registry, &reader, "/projects/acme/shop").await).await;
    assert_eq!(status["packs"][0]["yanked"], true);
    assert_eq!(status["packs"][0]["yank_reason"], "broken rule");
    assert_eq!(
        get(&registry, &reader, "/projects/acme/none")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn trends_carry_each_project_forward_week_by_week() {
    let registry = Registry::start().await;
    let reader = registry.token(&[Scope::Portfolio], &["*"], None);
    let now = threatpack::time::now();
    let week = 7 * 86_400;
    let risk = |critical: usize| -> Value {
        let threats: Vec<(&str, &str, &str, &[&str])> =
            vec![("critical", "top", "unmitigated", &["spoofing"]); critical];
        report(&threats, 0, None, &[])
    };
    // shop: 4 weeks ago 3 criticals (30), then a second report that week with 2 (20), 2 weeks
    // ago 1 (10); billing: only 3 weeks ago, 5 criticals (50).
    store_at(&registry, "acme/shop", now - 4 * week, &risk(3));
    store_at(&registry, "acme/shop", now - 4 * week + 60, &risk(2));
    store_at(&registry, "acme/shop", now - 2 * week, &risk(1));
    store_at(&registry, "acme/billing", now - 3 * week, &risk(5));

    let trend = json(get(&registry, &reader, "/projects/acme/shop/trend?weeks=6").await).await;
    let risks: Vec<u64> = trend["weeks"]
        .as_array()
        .expect("weeks")
        .iter()
        .map(|week| week["risk"].as_u64().expect("a number"))
        .collect();
    assert_eq!(risks, [0, 20, 20, 10, 10, 10]);
    let names: Vec<&str> = trend["weeks"]
        .as_array()
        .expect("weeks")
        .iter()
        .map(|week| week["week"].as_str().expect("a week"))
        .collect();
    let this_week = threatpack_registry::store::iso_week(threatpack_registry::store::week_of(now));
    assert_eq!(names.last(), Some(&this_week.as_str()));

    let portfolio = json(get(&registry, &reader, "/portfolio?weeks=6").await).await;
    let total: Vec<(u64, u64)> = portfolio["trend"]["weeks"]
        .as_array()
        .expect("weeks")
        .iter()
        .map(|week| {
            (
                week["risk"].as_u64().expect("a number"),
                week["projects"].as_u64().expect("a number"),
            )
        })
        .collect();
    assert_eq!(total, [(0, 0), (20, 1), (70, 2), (60, 2), (60, 2), (60, 2)]);
    // A window that starts after the first reports still carries them in.
    let late = json(get(&registry, &reader, "/portfolio?weeks=2").await).await;
    assert_eq!(late["trend"]["weeks"][0]["risk"], 60);
}

#[tokio::test]
async fn the_latest_model_is_served_and_old_reports_expire() {
    let registry = Registry::start().await;
    let pusher = registry.token(&[Scope::Report], &["acme/shop"], None);
    let reader = registry.token(&[Scope::Portfolio], &["acme/shop"], None);
    assert_eq!(
        get(&registry, &reader, "/projects/acme/shop/model")
            .await
            .status(),
        404
    );
    let now = threatpack::time::now();
    // Two reports older than the retention (730 days), then a push: only the push is left.
    store_at(
        &registry,
        "acme/shop",
        now - 800 * 86_400,
        &report(&[], 0, None, &[]),
    );
    store_at(
        &registry,
        "acme/shop",
        now - 790 * 86_400,
        &report(&[], 0, None, &[]),
    );
    let body = json!({
        "report": report(&[], 0, None, &[]),
        "model": {"file": "models/shop.toml", "text": "[system]\nname = \"Shop\"\n"},
    });
    assert_eq!(
        push(&registry, &pusher, "acme/shop", &body).await.status(),
        201
    );
    let model = json(get(&registry, &reader, "/projects/acme/shop/model").await).await;
    assert_eq!(model["file"], "models/shop.toml");
    assert_eq!(model["text"], "[system]\nname = \"Shop\"\n");
    assert_eq!(model["packs"], json!([]));
    let status = json(get(&registry, &reader, "/projects/acme/shop").await).await;
    assert_eq!(status["reports"], 1);
    // A model path that climbs out is refused.
    let climbing =
        json!({"report": report(&[], 0, None, &[]), "model": {"file": "../x.toml", "text": ""}});
    assert_eq!(
        push(&registry, &pusher, "acme/shop", &climbing)
            .await
            .status(),
        422
    );
}

#[tokio::test]
async fn oversized_bodies_and_gzip_bombs_are_refused_before_parsing() {
    let registry = Registry::start_with(threatpack_registry::api::ApiOptions {
        max_report_bytes: 64 * 1024,
        ..threatpack_registry::api::ApiOptions::default()
    })
    .await;
    let pusher = registry.token(&[Scope::Report], &["acme/*"], None);
    let url = format!("{}/projects/acme/shop/reports", registry.url);
    let too_large = registry
        .client
        .post(&url)
        .bearer_auth(&pusher)
        .body(vec![b' '; 65 * 1024])
        .send()
        .await
        .expect("request");
    assert_eq!(too_large.status(), 413);
    // 64 MiB of spaces in a few dozen KiB of gzip: refused at the cap, not inflated.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).expect("compress");
    }
    let bomb = encoder.finish().expect("compress");
    assert!(bomb.len() < 64 * 1024);
    let refused = registry
        .client
        .post(&url)
        .bearer_auth(&pusher)
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 413);
    assert!(detail(refused).await.contains("max-report-size"));
    // A gzip push under the cap is accepted; something that is not a push is 422.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let body = serde_json::to_vec(&json!({"report": report(&[], 0, None, &[])})).expect("JSON");
    encoder.write_all(&body).expect("compress");
    let accepted = registry
        .client
        .post(&url)
        .bearer_auth(&pusher)
        .header("content-encoding", "gzip")
        .body(encoder.finish().expect("compress"))
        .send()
        .await
        .expect("request");
    assert_eq!(accepted.status(), 201);
    let not_a_push = registry
        .client
        .post(&url)
        .bearer_auth(&pusher)
        .body("{\"report\": 1}")
        .send()
        .await
        .expect("request");
    assert_eq!(not_a_push.status(), 422);
}
