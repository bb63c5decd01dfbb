//! The HTTP API end to end: publish, index, download, immutability, auth, limits, concurrency.

use threatpack::signing::{parse_public_keys, verify_bundle};
use threatpack_registry::api::ApiOptions;
use threatpack_registry::store::Store;
use threatpack_registry::tokens::Scope;

use crate::support::{Registry, bundle, detail, json, key, text};

const PUBLISHER: &[Scope] = &[Scope::Publish, Scope::Yank];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_then_index_then_download_gives_the_same_bytes_and_signature() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], Some(3600));
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    let digest = threatpack::digest::sha256(&bundle.bytes);

    let response = registry.publish(&token, &bundle).await;
    assert_eq!(response.status(), 201);
    let published = json(response).await;
    assert_eq!(published["digest"], digest.as_str());
    assert_eq!(published["signer_key_id"], signer.signing.key_id.as_str());

    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(index["name"], "acme/web");
    let versions = index["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1);
    let version = &versions[0];
    assert_eq!(version["version"], "1.0.0");
    assert_eq!(version["digest"], digest.as_str());
    assert_eq!(version["size"], bundle.bytes.len());
    assert_eq!(version["signer_key_id"], signer.signing.key_id.as_str());
    assert_eq!(version["tier"], serde_json::Value::Null);
    assert_eq!(version["dependencies"], serde_json::json!([]));
    assert_eq!(version["yanked"], false);
    assert!(
        version["published_at"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z'))
    );

    let hex = digest.trim_start_matches("sha256:");
    let response = registry.get(&format!("/blobs/sha256/{hex}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let downloaded = response.bytes().await.expect("the blob").to_vec();
    assert_eq!(downloaded, bundle.bytes);
    assert_eq!(threatpack::digest::sha256(&downloaded), digest);

    let response = registry
        .get(&format!("/blobs/sha256/{hex}/signature"))
        .await;
    assert_eq!(response.status(), 200);
    let signature = text(response).await;
    assert_eq!(signature, bundle.signature);
    let trusted = parse_public_keys(&signer.public).expect("the public key");
    let verified = verify_bundle(&downloaded, Some(&bundle.manifest), &signature, &trusted)
        .expect("the downloaded bundle verifies");
    assert_eq!(verified.key_id, signer.signing.key_id);

    let audit = registry.store.audit_log(10).expect("the audit log");
    assert_eq!(audit[0].action, "version.publish");
    assert_eq!(audit[0].target, "acme/web@1.0.0");
    assert!(audit[0].actor.starts_with("token:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_is_immutable_other_bytes_conflict_identical_bytes_succeed() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let first = bundle("acme/web", "1.0.0", "First.", &signer);
    let other = bundle("acme/web", "1.0.0", "Other bytes.", &signer);
    assert_ne!(first.bytes, other.bytes);

    assert_eq!(registry.publish(&token, &first).await.status(), 201);
    let response = registry.publish(&token, &other).await;
    assert_eq!(response.status(), 409);
    assert!(
        detail(response)
            .await
            .contains("already published with other bytes")
    );
    let response = registry.publish(&token, &first).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["created"], false);

    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(
        index["versions"][0]["digest"],
        threatpack::digest::sha256(&first.bytes)
    );
    assert_eq!(registry.blob_files().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_the_namespace_or_the_scope_is_forbidden() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);

    let other_namespace = registry.token(PUBLISHER, &["vendor/*"], None);
    let response = registry.publish(&other_namespace, &bundle).await;
    assert_eq!(response.status(), 403);
    assert!(detail(response).await.contains("may not touch `acme/web`"));

    let yank_only = registry.token(&[Scope::Yank], &["acme/*"], None);
    let response = registry.publish(&yank_only, &bundle).await;
    assert_eq!(response.status(), 403);
    assert!(detail(response).await.contains("`publish` scope"));

    let publisher = registry.token(PUBLISHER, &["acme/*"], None);
    let response = registry
        .client
        .post(format!("{}/namespaces", registry.url))
        .bearer_auth(&publisher)
        .header("content-type", "application/json")
        .body(r#"{"name":"evil"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403, "only admins create namespaces");
    assert_eq!(registry.get("/packs/acme/web").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_missing_or_unknown_token_is_unauthorized() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);

    let expired = registry.token(PUBLISHER, &["acme/*"], Some(-60));
    let response = registry.publish(&expired, &bundle).await;
    assert_eq!(response.status(), 401);
    assert!(detail(response).await.contains("expired"));

    let response = registry
        .publish(&unknown_token(&registry.admin), &bundle)
        .await;
    assert_eq!(response.status(), 401);

    let response = registry
        .client
        .put(format!("{}/packs/acme/web/1.0.0", registry.url))
        .body(bundle.bytes.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(registry.get("/packs/acme/web").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_signed_by_an_unregistered_key_is_rejected_and_nothing_is_stored() {
    let registry = Registry::start().await;
    let registered = key();
    registry.namespace_with_key("acme", &registered).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    assert_eq!(
        registry
            .publish(&token, &bundle("acme/web", "1.0.0", "A.", &registered))
            .await
            .status(),
        201
    );
    let index_before = text(registry.get("/packs/acme/web").await).await;
    let blobs_before = registry.blob_files();

    let stranger = key();
    let forged = bundle("acme/web", "1.1.0", "Forged.", &stranger);
    let response = registry.publish(&token, &forged).await;
    assert_eq!(response.status(), 422);
    let message = detail(response).await;
    assert!(
        message.contains(&stranger.signing.key_id) && message.contains("not a publisher key"),
        "{message}"
    );

    assert_eq!(
        text(registry.get("/packs/acme/web").await).await,
        index_before
    );
    assert_eq!(registry.blob_files(), blobs_before);
    let hex = threatpack::digest::sha256_hex(&forged.bytes);
    assert_eq!(
        registry.get(&format!("/blobs/sha256/{hex}")).await.status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_must_name_the_pack_and_version_of_the_url_and_the_bytes_must_be_a_bundle() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);

    let response = registry
        .publish_at(&token, "acme/web", "1.0.1", &bundle)
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        detail(response)
            .await
            .contains("not `acme/web` 1.0.1 as the URL says")
    );

    // Signed by the namespace's key, so that it gets past the signature to the reader.
    let bytes = b"not a gzip stream".to_vec();
    let signature = threatpack::signing::sign_bundle(&bytes, &bundle.manifest, &signer.signing)
        .expect("signed");
    let garbage = crate::support::Bundle {
        bytes,
        signature,
        ..bundle
    };
    let response = registry.publish(&token, &garbage).await;
    assert_eq!(response.status(), 422);
    assert!(detail(response).await.starts_with("not a valid bundle"));
    assert!(registry.blob_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_answers_if_none_match_with_304_until_a_yank_changes_it() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    assert_eq!(registry.publish(&token, &bundle).await.status(), 201);

    let response = registry.get("/packs/acme/web").await;
    let etag = response.headers()["etag"]
        .to_str()
        .expect("an ETag")
        .to_string();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    let response = registry
        .client
        .get(format!("{}/packs/acme/web", registry.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"], etag.as_str());

    // A reason every consumer sees must be one line of printable text, and not a book.
    for (reason, expected) in [
        ("broken\u{1b}[2J", "U+001B"),
        ("line one\nFAKE: all clear", "U+000A"),
        ("ok \u{202e} gnp.exe", "U+202E"),
        ("x".repeat(501).as_str(), "longer than 500"),
    ] {
        let response = registry
            .client
            .put(format!("{}/packs/acme/web/1.0.0/yank", registry.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "reason": reason }).to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422);
        let body = text(response).await;
        assert!(body.contains(expected), "{body}");
    }
    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(
        index["versions"][0]["yanked"], false,
        "a refused yank changes nothing"
    );

    let response = registry
        .client
        .put(format!("{}/packs/acme/web/1.0.0/yank", registry.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"reason":"CVE-2026-0001 in a condition"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{}", text(response).await);
    let response = registry
        .client
        .get(format!("{}/packs/acme/web", registry.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let index = json(response).await;
    assert_eq!(index["versions"][0]["yanked"], true);
    assert_eq!(
        index["versions"][0]["yank_reason"],
        "CVE-2026-0001 in a condition"
    );

    let response = registry
        .client
        .put(format!("{}/packs/acme/web/1.0.0/unyank", registry.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"reason":"false alarm"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(index["versions"][0]["yanked"], false);
    assert_eq!(index["versions"][0]["yank_reason"], serde_json::Value::Null);
    let actions: Vec<String> = registry
        .store
        .audit_log(2)
        .expect("the audit log")
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(actions, ["version.unyank", "version.yank"]);
}

/// A deprecation is the publisher's word in the index: a printable message, a replacement that
/// is another published version, a new ETag; an older client's view of the index is unchanged
/// but for one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprecation_is_checked_shown_in_the_index_and_undone() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    for version in ["1.0.0", "1.1.0"] {
        let bundle = bundle("acme/web", version, "A web pack.", &signer);
        assert_eq!(registry.publish(&token, &bundle).await.status(), 201);
    }
    let put = |action: &str, body: Option<serde_json::Value>| {
        let mut request = registry
            .client
            .put(format!("{}/packs/acme/web/1.0.0/{action}", registry.url))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        request.send()
    };
    let before = registry.get("/packs/acme/web").await.headers()["etag"].clone();
    for (body, status, expected) in [
        (
            serde_json::json!({ "message": " " }),
            422,
            "needs a `message`",
        ),
        (
            serde_json::json!({ "message": "use\u{1b}[2J 1.1" }),
            422,
            "U+001B",
        ),
        (
            serde_json::json!({ "message": "x".repeat(501) }),
            422,
            "longer than 500",
        ),
        (
            serde_json::json!({ "message": "m", "replacement": "1.0.0" }),
            422,
            "the version deprecated",
        ),
        (
            serde_json::json!({ "message": "m", "replacement": "latest" }),
            400,
            "not a version",
        ),
        (
            serde_json::json!({ "message": "m", "replacement": "2.0.0" }),
            404,
            "no version 2.0.0 to use instead",
        ),
        (
            serde_json::json!({ "message": "m", "use": "1.1.0" }),
            422,
            "unknown field",
        ),
    ] {
        let response = put("deprecate", Some(body)).await.expect("request");
        assert_eq!(response.status(), status);
        let body = text(response).await;
        assert!(body.contains(expected), "{body}");
    }
    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(
        index["versions"][0].get("deprecated"),
        None,
        "nothing changed"
    );

    let response = put(
        "deprecate",
        Some(serde_json::json!({ "message": "spoofing rated too low", "replacement": "1.1.0" })),
    )
    .await
    .expect("request");
    assert_eq!(response.status(), 200, "{}", text(response).await);
    let response = registry.get("/packs/acme/web").await;
    assert_ne!(response.headers()["etag"], before, "the index changed");
    let index = json(response).await;
    assert_eq!(
        index["versions"][0]["deprecated"],
        serde_json::json!({ "message": "spoofing rated too low", "replacement": "1.1.0" })
    );
    assert_eq!(index["versions"][0]["yanked"], false, "still chosen");
    assert_eq!(index["versions"][1].get("deprecated"), None);

    let response = put("undeprecate", None).await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await,
        serde_json::json!({ "deprecated": null, "name": "acme/web", "version": "1.0.0" })
    );
    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(index["versions"][0].get("deprecated"), None);
}

/// The index is served from memory (index_cache.rs): every acknowledged publish is in the next
/// read, while other readers keep filling the cache at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_index_shows_each_publish_once_acknowledged_while_others_keep_reading_it() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let registry = std::sync::Arc::new(Registry::start().await);
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let bundles: Vec<_> = (0..8)
        .map(|minor| bundle("acme/web", &format!("1.{minor}.0"), "A web pack.", &signer))
        .collect();
    assert_eq!(registry.publish(&token, &bundles[0]).await.status(), 201);
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let registry = registry.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut reads = 0_u32;
                while !done.load(Ordering::Relaxed) {
                    assert_eq!(registry.get("/packs/acme/web").await.status(), 200);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut etags = Vec::new();
    for (index, bundle) in bundles.iter().enumerate().skip(1) {
        assert_eq!(registry.publish(&token, bundle).await.status(), 201);
        let response = registry.get("/packs/acme/web").await;
        etags.push(
            response.headers()["etag"]
                .to_str()
                .expect("an ETag")
                .to_string(),
        );
        let listed = json(response).await;
        assert_eq!(
            listed["versions"].as_array().map(Vec::len),
            Some(index + 1),
            "{listed}"
        );
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.expect("a reader") > 0);
    }
    etags.dedup();
    assert_eq!(
        etags.len(),
        bundles.len() - 1,
        "a new ETag after each publish"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413_with_the_error_envelope() {
    let registry = Registry::start_with(ApiOptions {
        max_bundle_bytes: 1024,
        ..ApiOptions::default()
    })
    .await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let mut large = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    large.bytes = vec![0; 64 * 1024];
    let response = registry.publish(&token, &large).await;
    assert_eq!(response.status(), 413);
    assert!(detail(response).await.contains("too large"));
    assert!(registry.blob_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_packs_by_name_description_and_tags_page_by_page() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    for (name, description) in [
        ("web", "Web threats."),
        ("api", "API threats."),
        ("db", "Storage."),
    ] {
        let bundle = bundle(&format!("acme/{name}"), "1.0.0", description, &signer);
        assert_eq!(registry.publish(&token, &bundle).await.status(), 201);
    }
    let found = json(registry.get("/packs?q=threats").await).await;
    let names: Vec<&str> = found["packs"]
        .as_array()
        .expect("packs")
        .iter()
        .filter_map(|pack| pack["name"].as_str())
        .collect();
    assert_eq!(names, ["acme/api", "acme/web"]);
    assert_eq!(found["packs"][0]["latest_version"], "1.0.0");
    assert_eq!(
        found["packs"][0]["tags"],
        serde_json::json!(["web", "stride"])
    );

    let page = json(registry.get("/packs?q=stride&per_page=2&page=2").await).await;
    assert_eq!(page["meta"]["total"], 3);
    assert_eq!(page["packs"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["packs"][0]["name"], "acme/web");
    let by_name = json(registry.get("/packs?q=acme%2Fdb").await).await;
    assert_eq!(by_name["meta"]["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_publishes_of_different_versions_all_land() {
    let registry = std::sync::Arc::new(Registry::start().await);
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let bundles: Vec<_> = (0..20)
        .map(|minor| bundle("acme/web", &format!("1.{minor}.0"), "A web pack.", &signer))
        .collect();
    let mut tasks = Vec::new();
    for bundle in bundles {
        let registry = registry.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            registry.publish(&token, &bundle).await.status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("the task"), 201);
    }
    let index = json(registry.get("/packs/acme/web").await).await;
    let versions: Vec<&str> = index["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|version| version["version"].as_str())
        .collect();
    let expected: Vec<String> = (0..20).map(|minor| format!("1.{minor}.0")).collect();
    assert_eq!(versions, expected, "semver order, none lost");
    assert_eq!(registry.blob_files().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_version_published_concurrently_has_exactly_one_winner() {
    let registry = std::sync::Arc::new(Registry::start().await);
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(PUBLISHER, &["acme/*"], None);
    let candidates: Vec<_> = (0..10)
        .map(|number| {
            bundle(
                "acme/web",
                "1.0.0",
                &format!("Candidate {number}."),
                &signer,
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for candidate in candidates {
        let registry = registry.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let digest = threatpack::digest::sha256(&candidate.bytes);
            (registry.publish(&token, &candidate).await.status(), digest)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (status, digest) = task.await.expect("the task");
        match status.as_u16() {
            201 => winners.push(digest),
            409 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let index = json(registry.get("/packs/acme/web").await).await;
    assert_eq!(index["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(index["versions"][0]["digest"], winners[0].as_str());
    assert_eq!(registry.blob_files().len(), 1);
}

#[test]
fn only_blobs_of_interrupted_publishes_are_collected_when_the_registry_opens() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let opened = threatpack_registry::server::open(data.path()).expect("first open");
    // A version, so that the database is not empty.
    let signer = key();
    let published = bundle("acme/web", "1.0.0", "Kept.", &signer);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/api/v1", listener.local_addr().expect("address"));
        tokio::spawn(threatpack_registry::server::serve(
            listener,
            opened.store.clone(),
            ApiOptions::default(),
        ));
        let client = crate::support::http_client();
        let admin = opened.admin_token.clone().expect("an admin token");
        crate::support::create_namespace_with_key(&client, &url, &admin, "acme", &signer).await;
        let response =
            crate::support::send_publish(&client, &url, &admin, "acme/web", "1.0.0", &published)
                .await
                .expect("publish");
        assert_eq!(response.status(), 201);
    });
    drop(runtime);
    drop(opened);
    let blobs = data.path().join("blobs/sha256");
    let interrupted = "ab".repeat(32);
    let unknown = "cd".repeat(32);
    std::fs::write(blobs.join(&interrupted), b"written, never committed").expect("write");
    std::fs::write(blobs.join(&unknown), b"a blob nothing names").expect("write");
    let temporary = data.path().join("blobs/tmp/partial");
    std::fs::write(&temporary, b"half a blob").expect("write");
    let database = rusqlite::Connection::open(data.path().join("registry.sqlite3")).expect("open");
    database
        .execute(
            "INSERT INTO pending_blobs (sha256, started_at) VALUES (?1, 0)",
            [&interrupted],
        )
        .expect("a journal row");
    drop(database);
    let opened = threatpack_registry::server::open(data.path()).expect("second open");
    assert_eq!(opened.start.interrupted_removed, 1);
    assert_eq!(opened.start.temporary_removed, 1);
    assert_eq!(opened.start.unindexed_kept, 1);
    assert!(opened.admin_token.is_none(), "the admin token is made once");
    assert!(!blobs.join(&interrupted).exists() && !temporary.exists());
    assert!(
        blobs.join(&unknown).exists(),
        "a blob the journal does not name is never deleted"
    );
    assert!(
        blobs
            .join(threatpack::digest::sha256_hex(&published.bytes))
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_use_one_envelope_and_keys_are_listed_publicly() {
    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let response = registry.get("/nothing-here").await;
    assert_eq!(response.status(), 404);
    assert_eq!(detail(response).await, "no such endpoint");
    let response = registry.get("/blobs/sha256/not-hex").await;
    assert_eq!(response.status(), 400);
    let keys = json(registry.get("/namespaces/acme/keys").await).await;
    assert_eq!(keys["keys"][0]["key_id"], signer.signing.key_id.as_str());
    assert_eq!(json(registry.get("/health").await).await["status"], "ok");
}

/// A token that differs from `token` in its last character (never the same character).
fn unknown_token(token: &str) -> String {
    let (head, last) = token.split_at(token.len() - 1);
    let other = if last == "0" { '1' } else { '0' };
    format!("{head}{other}")
}
