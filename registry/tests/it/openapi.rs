//! registry/openapi.json is what the code generates (`threatpack_registry::openapi`): a change to
//! a handler's description or to a wire type that is not in the committed file fails here.
//! `UPDATE_OPENAPI=1 cargo test -p threatpack-registry --test it openapi` rewrites the file.

use std::path::PathBuf;

use crate::support::Registry;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let generated = threatpack_registry::openapi::document();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write registry/openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "registry/openapi.json differs from what the code generates: run `UPDATE_OPENAPI=1 cargo test -p threatpack-registry --test it openapi` and commit the file"
    );
}

#[tokio::test]
async fn every_path_of_the_document_is_served() {
    let document: serde_json::Value =
        serde_json::from_str(&threatpack_registry::openapi::document()).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let registry = Registry::start().await;
    let paths = document["paths"].as_object().expect("paths");
    let mut operations_seen = 0;
    for (path, operations) in paths {
        let concrete = path
            .replace("{namespace}", "acme")
            .replace("{name}", "web")
            .replace("{version}", "1.0.0")
            .replace("{owner}", "alice")
            .replace("{key_id}", "0123456789ABCDEF")
            .replace("{id}", "1")
            .replace("{digest}", &"0".repeat(64));
        for method in operations.as_object().expect("operations").keys() {
            operations_seen += 1;
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .expect("an HTTP method");
            // `/metrics` lies outside `/api/v1`, where Prometheus looks for it.
            let url = format!("{}{concrete}", registry.url.trim_end_matches("/api/v1"));
            let response = registry
                .client
                .request(method.clone(), url)
                .send()
                .await
                .expect("answered");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            // The router answers a path it lacks with "no such endpoint", a method with 405.
            assert!(
                status != 405 && !body.contains("no such endpoint"),
                "{method} {path}: {status} {body}"
            );
        }
    }
    // Every route of `api::router` (counted by hand there: 33 path-and-method pairs).
    assert_eq!(operations_seen, 33);
}
