//! An honest publish gate (issue 13): a version built for a tier no published version has is
//! refused (or, when the publisher allows it, recorded like a semver violation), versions are
//! compared with a baseline of their own tier, and concurrent publishes are each compared with
//! the baseline that was there when they committed.

use ct_codecs::{Base64, Encoder};
use threatpack::wire::ALLOW_SEMVER_VIOLATION_HEADER;
use threatpack_registry::api::SIGNATURE_HEADER;
use threatpack_registry::store::Store;
use threatpack_registry::tokens::Scope;

use crate::support::{Bundle, Registry, bundle, bundle_for_tier, detail, json, key};

const PACK: &str = "acme/appsec-policy";

async fn publish_allowing(registry: &Registry, token: &str, bundle: &Bundle, reason: &str) -> u16 {
    registry
        .client
        .put(format!("{}/packs/{PACK}/{}", registry.url, bundle.version))
        .bearer_auth(token)
        .header(
            SIGNATURE_HEADER,
            Base64::encode_to_string(bundle.signature.as_bytes()).expect("base64"),
        )
        .header(ALLOW_SEMVER_VIOLATION_HEADER, reason)
        .body(bundle.bytes.clone())
        .send()
        .await
        .expect("a publish")
        .status()
        .as_u16()
}

/// `version` → its `semver` record in the index.
async fn semver_records(registry: &Registry) -> Vec<(String, serde_json::Value)> {
    let index = json(registry.get(&format!("/packs/{PACK}")).await).await;
    index["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|version| {
            (
                version["version"].as_str().expect("a version").to_string(),
                version["semver"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_built_for_another_tier_is_refused_unless_allowed_and_then_recorded() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(&[Scope::Publish], &["acme/*"], None);
    let whole = bundle(PACK, "1.0.0", "Whole.", &signer);
    assert_eq!(registry.publish(&token, &whole).await.status(), 201);

    // 1.0.1 built for tier `top` holds none of the pack's items: as a "patch" of the whole
    // pack, a `^1.0` consumer would silently lose them.
    let top = bundle_for_tier(PACK, "1.0.1", "Top.", &signer, Some("top"));
    let response = registry.publish(&token, &top).await;
    assert_eq!(response.status(), 422);
    let refusal = detail(response).await;
    assert!(
        refusal.contains("built for tier top, which no earlier version has (published tiers: all)")
            && refusal.contains("--allow-semver-violation"),
        "{refusal}"
    );
    assert_eq!(semver_records(&registry).await.len(), 1, "nothing stored");

    assert_eq!(
        publish_allowing(&registry, &token, &top, "a top tier for the mobile teams").await,
        201
    );
    let records = semver_records(&registry).await;
    let (_, record) = &records[1];
    assert_eq!(
        record["allowed-violation"],
        "a top tier for the mobile teams"
    );
    assert!(
        record["note"]
            .as_str()
            .is_some_and(|note| note.contains("tier top")),
        "{record}"
    );
    let audit = registry.store.audit_log(1).expect("the audit log");
    assert!(
        audit[0].detail.contains("semver violation allowed")
            && audit[0].detail.contains("a top tier for the mobile teams"),
        "{:?}",
        audit[0]
    );

    // From then on each tier is compared with its own baseline.
    let next_top = bundle_for_tier(PACK, "1.0.2", "Top again.", &signer, Some("top"));
    assert_eq!(registry.publish(&token, &next_top).await.status(), 201);
    let next_whole = bundle(PACK, "1.1.0", "Whole again.", &signer);
    assert_eq!(registry.publish(&token, &next_whole).await.status(), 201);
    let records = semver_records(&registry).await;
    let baseline = |version: &str| {
        records
            .iter()
            .find(|(listed, _)| listed == version)
            .map(|(_, record)| record["baseline"].clone())
    };
    assert_eq!(baseline("1.0.2"), Some("1.0.1".into()));
    assert_eq!(baseline("1.1.0"), Some("1.0.0".into()), "not the top 1.0.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishes_are_each_compared_with_the_baseline_there_when_they_commit() {
    let registry = std::sync::Arc::new(Registry::start().await);
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(&[Scope::Publish], &["acme/*"], None);
    let first = bundle(PACK, "1.0.0", "First.", &signer);
    assert_eq!(registry.publish(&token, &first).await.status(), 201);
    let batch: Vec<Bundle> = (1..=8)
        .map(|minor| bundle(PACK, &format!("1.{minor}.0"), "Concurrent.", &signer))
        .collect();
    let mut tasks = Vec::new();
    for candidate in batch {
        let (registry, token) = (registry.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            registry.publish(&token, &candidate).await.status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("the task"), 201);
    }
    // In commit order (the audit log's), each version's baseline is the highest version below
    // it among those committed before it.
    let mut committed: Vec<semver::Version> = Vec::new();
    let records = semver_records(&registry).await;
    let mut audit = registry.store.audit_log(100).expect("the audit log");
    audit.reverse();
    for entry in audit
        .iter()
        .filter(|entry| entry.action == "version.publish")
    {
        let version = entry
            .target
            .rsplit_once('@')
            .map(|(_, version)| version)
            .expect("pack@version");
        let parsed = semver::Version::parse(version).expect("a version");
        let expected = committed
            .iter()
            .filter(|earlier| **earlier < parsed)
            .max()
            .map(ToString::to_string);
        let (_, record) = records
            .iter()
            .find(|(listed, _)| listed == version)
            .expect("indexed");
        assert_eq!(
            record["baseline"].as_str().map(str::to_string),
            expected,
            "{version} was compared with a stale baseline"
        );
        committed.push(parsed);
    }
    assert_eq!(committed.len(), 9);
}
