//! The transparency log's endpoints (issue 14): every change is logged in its transaction, the
//! signed checkpoint, entry ranges (full aligned ranges immutable), proofs, the publish receipt,
//! the index's `log_index`, and the log written once for a registry upgraded with history.

use rusqlite::params;
use threatpack::transparency::log::{
    Checkpoint, Entry, Event, decode_hash, decode_proof, verify_consistency, verify_inclusion,
};
use threatpack::transparency::verify_note;
use threatpack::wire::{LogConsistency, LogEntries, LogInclusion, PublishAnswer};
use threatpack_registry::store::Store;

use crate::support::{Registry, bundle, detail, key, text};

async fn get_json<T: serde::de::DeserializeOwned>(registry: &Registry, path: &str) -> T {
    let response = registry.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    serde_json::from_str(&text(response).await).expect("JSON as the API describes")
}

async fn checkpoint(registry: &Registry) -> Checkpoint {
    let response = registry.get("/log/checkpoint").await;
    assert_eq!(response.status(), 200);
    let note = text(response).await;
    let key: threatpack::wire::RegistryKeyInfo = get_json(registry, "/registry/key").await;
    let body = verify_note(note.as_bytes(), &key.key).expect("signed by the registry key");
    Checkpoint::parse(body.as_bytes()).expect("a checkpoint")
}

#[tokio::test]
async fn every_change_is_logged_and_proven_against_the_signed_checkpoint() {
    let registry = Registry::start().await;
    let publisher = key();
    registry.namespace_with_key("acme", &publisher).await;
    let published = bundle("acme/web", "1.0.0", "one", &publisher);
    let response = registry.publish(&registry.admin, &published).await;
    assert_eq!(response.status(), 201);
    let answer: PublishAnswer = serde_json::from_str(&text(response).await).expect("the answer");
    let receipt = answer.log.expect("a log receipt");
    let head = checkpoint(&registry).await;
    assert_eq!((receipt.index, receipt.tree_size, head.size), (2, 3, 3));
    let proof = decode_proof(&receipt.inclusion_proof).expect("hashes");
    verify_inclusion(&proof, 3, head.root, 2, receipt.entry.as_bytes()).expect("included");
    assert!(matches!(
        Entry::parse(receipt.entry.as_bytes()).expect("an entry").event,
        Event::Publish { ref pack, .. } if pack == "acme/web"
    ));
    let index: threatpack::wire::Index = get_json(&registry, "/packs/acme/web").await;
    assert_eq!(index.versions[0].log_index, Some(2));

    // Yank, unyank, owner changes, key removal: one entry each, in order.
    registry
        .store
        .set_yanked("acme/web", "1.0.0", true, Some("bad"), "test")
        .expect("yank");
    registry
        .store
        .set_yanked("acme/web", "1.0.0", false, None, "test")
        .expect("unyank");
    registry
        .store
        .add_owner("acme", "bo@example.com", "test")
        .expect("owner");
    registry
        .store
        .remove_owner("acme", "bo@example.com", "test")
        .expect("owner");
    let key_id = threatpack::signing::signature_key_id(&published.signature).expect("key id");
    // Through the API, which drops the cached indexes of the namespace.
    let response = registry
        .client
        .delete(format!("{}/namespaces/acme/keys/{key_id}", registry.url))
        .bearer_auth(&registry.admin)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let page: LogEntries = get_json(&registry, "/log/entries?start=3&count=10").await;
    let kinds: Vec<String> = page
        .entries
        .iter()
        .map(|entry| {
            entry
                .lines()
                .nth(1)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["yank", "unyank", "owner-add", "owner-remove", "key-remove"]
    );
    assert!(page.entries[0].contains(&format!(
        "reason-sha256 {}",
        threatpack::digest::sha256_hex(b"bad")
    )));
    let index: threatpack::wire::Index = get_json(&registry, "/packs/acme/web").await;
    assert_eq!(index.versions[0].signer_key_removed_log_index, Some(7));

    let newer = checkpoint(&registry).await;
    assert_eq!(newer.size, 8);
    let proof: LogConsistency = get_json(&registry, "/log/proof/consistency?from=3&to=8").await;
    let hashes = decode_proof(&proof.hashes).expect("hashes");
    verify_consistency(&hashes, 3, head.root, 8, newer.root).expect("consistent");
    let proof: LogInclusion = get_json(&registry, "/log/proof/inclusion?index=7&size=8").await;
    let hashes = decode_proof(&proof.hashes).expect("hashes");
    verify_inclusion(&hashes, 8, newer.root, 7, proof.entry.as_bytes()).expect("included");

    // What the log does not have is 404; a count out of range 400.
    for path in [
        "/log/proof/inclusion?index=8&size=8",
        "/log/proof/inclusion?index=1&size=9",
        "/log/proof/consistency?from=0&to=8",
        "/log/proof/consistency?from=3&to=9",
    ] {
        let response = registry.get(path).await;
        assert_eq!(response.status(), 404, "{path}: {}", detail(response).await);
    }
    for path in [
        "/log/entries?start=0&count=0",
        "/log/entries?start=0&count=1001",
    ] {
        assert_eq!(registry.get(path).await.status(), 400, "{path}");
    }
    let past: LogEntries = get_json(&registry, &format!("/log/entries?start={}", u64::MAX)).await;
    assert!(past.entries.is_empty());
}

#[tokio::test]
async fn full_aligned_ranges_are_served_immutable() {
    let registry = Registry::start().await;
    registry.namespace_with_key("acme", &key()).await;
    for number in 0..1000 {
        registry
            .store
            .add_owner("acme", &format!("owner{number}@example.com"), "test")
            .expect("owner");
    }
    let cache_control = |response: &reqwest::Response| {
        response
            .headers()
            .get("cache-control")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let full = registry.get("/log/entries?start=0&count=1000").await;
    assert_eq!(cache_control(&full), "public, max-age=31536000, immutable");
    let page: LogEntries = serde_json::from_str(&text(full).await).expect("entries");
    assert_eq!(page.entries.len(), 1000);
    for path in [
        "/log/entries?start=1000",
        "/log/entries?start=1&count=1000",
        "/log/entries?start=0&count=999",
    ] {
        let response = registry.get(path).await;
        assert_eq!(cache_control(&response), "no-cache", "{path}");
    }
}

#[tokio::test]
async fn a_registry_with_history_writes_its_log_once_at_start() {
    let registry = Registry::start().await;
    let publisher = key();
    registry.namespace_with_key("acme", &publisher).await;
    let response = registry
        .publish(
            &registry.admin,
            &bundle("acme/web", "1.0.0", "one", &publisher),
        )
        .await;
    assert_eq!(response.status(), 201);
    registry
        .store
        .set_yanked("acme/web", "1.0.0", true, Some("bad"), "test")
        .expect("yank");
    let database = registry.data.path().join("registry.sqlite3");
    // As if written before registries kept a log.
    let connection = rusqlite::Connection::open(&database).expect("open");
    connection
        .execute_batch("DELETE FROM log_entries; DELETE FROM log_hashes;")
        .expect("forget the log");
    drop(connection);
    let store = threatpack_registry::store::SqliteStore::open(registry.data.path()).expect("opens");
    let (size, root) = store.log_head().expect("the head");
    assert_eq!(size, 4, "owner, key, publish, yank");
    let kinds: Vec<String> = store
        .log_entries(0, 10)
        .expect("entries")
        .iter()
        .map(|bytes| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            text.lines().nth(1).unwrap_or("").to_string()
        })
        .collect();
    assert!(kinds[0].starts_with("owner-add acme "), "{kinds:?}");
    assert!(kinds[1].starts_with("key-add acme "), "{kinds:?}");
    assert_eq!(kinds[2], "publish acme/web 1.0.0");
    assert_eq!(kinds[3], "yank acme/web 1.0.0");
    drop(store);
    // Opened again: nothing more is written.
    let store = threatpack_registry::store::SqliteStore::open(registry.data.path()).expect("opens");
    assert_eq!(store.log_head().expect("the head"), (4, root));
    let connection = rusqlite::Connection::open(&database).expect("open");
    let publish: i64 = connection
        .query_row(
            "SELECT id FROM log_entries WHERE kind = 'publish' AND subject = ?1",
            params!["acme/web"],
            |row| row.get(0),
        )
        .expect("the publish entry");
    assert_eq!(publish, 2);
    assert!(decode_hash(&threatpack::transparency::log::encode_hash(&root)).is_ok());
}
