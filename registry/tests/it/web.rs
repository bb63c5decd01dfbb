//! The web face over HTTP (docs/web.md): every page reachable from `/` answers 200 with the
//! security headers, unknown pages are HTML 404s while the API keeps its JSON errors, version
//! pages are cacheable with an ETag, and a pack full of markup is shown as text.

use std::collections::{BTreeSet, VecDeque};

use threatpack::build::{BuildOptions, build};
use threatpack::bundle::{BundleFile, ReadLimits, read_bundle, write_bundle};
use threatpack::signing::sign_bundle;
use threatpack::workspace::load_graph;

use crate::support::{Bundle, Key, Registry, bundle, key, text};

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `http://127.0.0.1:PORT`, the registry's origin.
fn origin(registry: &Registry) -> String {
    registry.url.trim_end_matches("/api/v1").to_string()
}

async fn get(registry: &Registry, path: &str) -> reqwest::Response {
    registry
        .client
        .get(format!("{}{path}", origin(registry)))
        .send()
        .await
        .expect("request")
}

/// Every `href="…"` of a page, entities decoded (maud writes `&amp;` in attributes).
fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"'))
        .map(|(href, _)| {
            href.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

async fn published(registry: &Registry, key: &Key, bundles: &[Bundle]) {
    let publisher = registry.token(
        &[threatpack_registry::tokens::Scope::Publish],
        &["acme/*"],
        None,
    );
    registry.namespace_with_key("acme", key).await;
    for bundle in bundles {
        let response = registry.publish(&publisher, bundle).await;
        assert_eq!(response.status(), 201, "{}", text(response).await);
    }
}

#[tokio::test]
async fn every_page_reachable_from_home_answers_200_with_the_security_headers() {
    let registry = Registry::start().await;
    let key = key();
    published(
        &registry,
        &key,
        &[
            bundle("acme/web", "1.0.0", "Web threats.", &key),
            bundle("acme/web", "1.0.1", "Web threats, reworded.", &key),
        ],
    )
    .await;
    let mut queue = VecDeque::from(["/".to_string()]);
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let response = get(&registry, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ASCII")
            .to_string();
        if path.ends_with("/knowledge.json") {
            // A version's page data: its compiled knowledge, as the bundle's kb.json has it.
            assert!(content_type.starts_with("application/json"), "{path}");
            let kb: serde_json::Value = serde_json::from_str(&text(response).await).expect("JSON");
            assert_eq!(kb["pack"], "acme/web", "{path}");
            assert!(
                kb["attack-patterns"]
                    .as_array()
                    .is_some_and(|all| !all.is_empty())
            );
            continue;
        }
        if !content_type.starts_with("text/html") {
            continue;
        }
        pages += 1;
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], CSP, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let page = text(response).await;
        assert!(page.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(page.contains("<main"), "{path}");
        assert_eq!(page.matches("<h1").count(), 1, "{path}: one h1");
        assert!(!page.contains("<script"), "{path}: no script");
        assert!(!page.contains("style=\""), "{path}: no inline style");
        for href in hrefs(&page) {
            if href.starts_with("https://") || href.starts_with('#') {
                continue;
            }
            assert!(href.starts_with('/'), "{path}: a relative link `{href}`");
            // The portfolio and its sign-in are the `web-portfolio` pages, tested with them.
            if href.starts_with("/portfolio") || href.starts_with("/login") {
                continue;
            }
            queue.push_back(href);
        }
    }
    for expected in [
        "/packs/acme/web",
        "/packs/acme/web/1.0.1",
        "/packs/acme/web/1.0.1/changelog",
        "/packs/acme/web/diff/1.0.0...1.0.1",
        "/packs/acme/web/1.0.1/attack-patterns/spoofing",
        "/packs/acme/web/1.0.1/mitigations/authentication",
        "/packs/acme/web/1.0.1/entities/service",
        "/packs/acme/web/1.0.1/knowledge.json",
    ] {
        assert!(seen.contains(expected), "{expected} is linked: {seen:#?}");
    }
    assert!(pages >= 12, "{pages} pages crawled: {seen:#?}");
}

#[tokio::test]
async fn the_pages_show_what_was_published() {
    let registry = Registry::start().await;
    let key = key();
    published(
        &registry,
        &key,
        &[
            bundle("acme/web", "1.0.0", "Web threats.", &key),
            bundle("acme/web", "1.0.1", "Web threats, reworded.", &key),
        ],
    )
    .await;
    let page = text(get(&registry, "/").await).await;
    assert!(page.contains("acme/web 1.0.1"), "{page}");
    let page = text(get(&registry, "/search?q=stride").await).await;
    assert!(page.contains("href=\"/packs/acme/web\""), "{page}");
    let page = text(get(&registry, "/search?q=nothing-like-it").await).await;
    assert!(page.contains("No packs."), "{page}");
    let page = text(get(&registry, "/packs/acme/web").await).await;
    for shown in [
        "Web threats, reworded.",
        "MIT",
        "alice",
        "&quot;acme/web&quot; = &quot;^1.0.1&quot;",
        "patch bump required over 1.0.0, patch bump declared",
        "entry ",
    ] {
        assert!(page.contains(shown), "`{shown}` in {page}");
    }
    let page = text(get(&registry, "/packs/acme/web/1.0.1").await).await;
    assert!(page.contains("verified"), "{page}");
    assert!(page.contains("Spoofing"), "{page}");
    let page = text(get(&registry, "/packs/acme/web/1.0.1/attack-patterns/spoofing").await).await;
    assert!(
        page.contains(r#"<code class="cel"><span class="identifier">self</span>.<span class="identifier">public</span></code>"#),
        "{page}"
    );
    assert!(page.contains("strong"), "{page}");
    let page = text(get(&registry, "/packs/acme/web/1.0.1/entities/service").await).await;
    assert!(page.contains("Can the internet reach it?"), "{page}");
    assert!(
        page.contains("Public services face anonymous attackers."),
        "{page}"
    );
    let page = text(get(&registry, "/packs/acme/web/diff/1.0.0...1.0.1").await).await;
    assert!(page.contains("acme/web 1.0.0 → 1.0.1"), "{page}");
    let page = text(get(&registry, "/packs/acme/web/1.0.1/changelog").await).await;
    assert!(page.contains("Changes since 1.0.0"), "{page}");
    // Filters: a tier no attack pattern has shows none.
    let page = text(get(&registry, "/packs/acme/web/1.0.1?tier=top").await).await;
    assert!(page.contains("Attack patterns (0 of 1)"), "{page}");
    let page = text(get(&registry, "/packs/acme/web/1.0.1?category=spoofing").await).await;
    assert!(page.contains("Attack patterns (1 of 1)"), "{page}");
    // The pack page's form is sent on to the diff's URL.
    let response = registry
        .client
        .get(format!(
            "{}/packs/acme/web/diff?old=1.0.0&new=1.0.1",
            origin(&registry)
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(response.url().path(), "/packs/acme/web/diff/1.0.0...1.0.1");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_pages_are_html_404s_and_the_api_keeps_json_errors() {
    let registry = Registry::start().await;
    let key = key();
    published(
        &registry,
        &key,
        &[bundle("acme/web", "1.0.0", "Web threats.", &key)],
    )
    .await;
    for path in [
        "/nothing-here",
        "/packs/acme/none",
        "/packs/ACME/../x",
        "/packs/acme/web/9.9.9",
        "/packs/acme/web/1.0.0/attack-patterns/none",
        "/packs/acme/web/1.0.0/entities/none",
        "/packs/acme/web/1.0.0/mitigations/none",
        "/packs/acme/web/diff/1.0.0",
        "/packs/acme/web/diff/1.0.0...2.0.0",
        "/static/0000000000000000/site.css",
    ] {
        let response = get(&registry, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ASCII")
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(response.headers()["content-security-policy"], CSP, "{path}");
        let page = text(response).await;
        assert!(page.contains("<h1>No such"), "{path}: {page}");
    }
    // axum's own rejections on these routes are pages too.
    for (method, path, status) in [
        ("GET", "/search?page=many", 400),
        ("POST", "/packs/acme/web", 405),
        ("GET", "/packs/acme/web/%FF", 400),
    ] {
        let response = registry
            .client
            .request(
                method.parse().expect("a method"),
                format!("{}{path}", origin(&registry)),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{method} {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ASCII")
                .starts_with("text/html"),
            "{method} {path}"
        );
        assert_eq!(response.headers()["content-security-policy"], CSP);
    }
    let response = get(&registry, "/api/v1/nothing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn version_pages_are_cacheable_and_answer_304_to_their_etag() {
    let registry = Registry::start().await;
    let key = key();
    published(
        &registry,
        &key,
        &[bundle("acme/web", "1.0.0", "Web threats.", &key)],
    )
    .await;
    let path = "/packs/acme/web/1.0.0/attack-patterns/spoofing";
    let response = get(&registry, path).await;
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let etag = response.headers()["etag"].clone();
    let response = registry
        .client
        .get(format!("{}{path}", origin(&registry)))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 304);
    // A yank changes what the page says, so its ETag.
    let yanker = registry.token(
        &[threatpack_registry::tokens::Scope::Yank],
        &["acme/*"],
        None,
    );
    let response = registry
        .client
        .put(format!("{}/packs/acme/web/1.0.0/yank", registry.url))
        .bearer_auth(&yanker)
        .header("content-type", "application/json")
        .body(r#"{"reason":"broken"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{}", text(response).await);
    let response = registry
        .client
        .get(format!("{}{path}", origin(&registry)))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(text(response).await.contains("This version is yanked."));
    // Live pages are revalidated every time.
    let response = get(&registry, "/packs/acme/web").await;
    assert_eq!(response.headers()["cache-control"], "no-cache");
    // The stylesheet is immutable under its digest.
    let page = text(get(&registry, "/").await).await;
    let stylesheet = hrefs(&page)
        .into_iter()
        .find(|href| href.ends_with("/site.css"))
        .expect("a stylesheet");
    let response = get(&registry, &stylesheet).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(text(response).await.contains("prefers-color-scheme: dark"));
}

/// A pack whose every text is markup meant to break out (names, descriptions, questions), and
/// whose `kb.json` a hostile publisher then rewrote past what `check` allows: references with
/// `javascript:` and `data:` URLs, a quote-breaking URL, a condition full of markup.
fn hostile_bundle(key: &Key) -> Bundle {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let root = directory.path();
    let files = [
        (
            "pack.toml",
            r#"[pack]
format = 1
name = "acme/evil"
version = "1.0.0"
description = "<script>alert('pack')</script>"
license = "MIT"
tags = ["web"]
tiers = ["top", "standard"]
"#,
        ),
        (
            "entities/service.toml",
            r#"[[entity]]
id = "service"
name = "\"><img src=x onerror=alert(1)>"
description = "<iframe src=javascript:alert(2)></iframe>"
kind = "process"

[entity.properties.public]
type = "bool"
default = false
description = "</dd><script>alert(3)</script>"
question = "Is it <marquee>public</marquee>?\u0007"
rationale = "' onmouseover='alert(4)"
"#,
        ),
        (
            "attack-patterns/spoofing.toml",
            r#"[[attack-pattern]]
id = "spoofing"
name = "<svg onload=alert(5)>"
description = "Someone pretends."
categories = ["spoofing"]
applies-to = ["service"]
condition = "self.public"
severity = "high"

"#,
        ),
        (
            "mitigations/authentication.toml",
            r#"[[mitigation]]
id = "authentication"
name = "Authentication"
description = "Callers prove who they are."
control = "preventive"
cost = "low"
implementation = "<style>body{display:none}</style>"
verification = "</p><script>alert(8)</script>"

[[mitigation.addresses]]
attack-pattern = "spoofing"
strength = "strong"
"#,
        ),
    ];
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create directory");
        std::fs::write(path, content).expect("write");
    }
    let graph = load_graph(root, "pack").expect("the pack loads");
    let report = build(&graph, &BuildOptions::default());
    let built = report
        .built
        .unwrap_or_else(|| panic!("the pack builds: {:#?}", report.diagnostics));
    let read = read_bundle(&built.bytes, &ReadLimits::default()).expect("the bundle reads");
    let mut kb: serde_json::Value =
        serde_json::from_slice(&read.files["kb.json"]).expect("kb.json");
    let pattern = &mut kb["attack-patterns"][0];
    pattern["references"]["url"] = serde_json::json!([
        "javascript:alert(6)",
        "JavaScript:alert(6)",
        "data:text/html,<script>alert(7)</script>",
        "https://example.com/?a=\"><script>"
    ]);
    pattern["references"]["attack"] = serde_json::json!(["T1234\"><script>"]);
    pattern["condition"] = serde_json::json!("self.public && \"</code><script>alert(9)</script>\"");
    let files = read
        .files
        .into_iter()
        .filter(|(path, _)| path != "manifest.json")
        .map(|(path, bytes)| BundleFile {
            bytes: if path == "kb.json" {
                serde_json::to_vec(&kb).expect("JSON")
            } else if path == "source/pack.toml" {
                String::from_utf8(bytes)
                    .expect("UTF-8")
                    .replace(
                        r#"tags = ["web"]"#,
                        r#"tags = ["<b>tag</b>", "\"><img src=x>"]"#,
                    )
                    .into_bytes()
            } else {
                bytes
            },
            path,
        })
        .collect();
    let (manifest, bytes) = write_bundle(read.manifest, files).expect("the bundle writes");
    let signature = sign_bundle(&bytes, &manifest, &key.signing).expect("signed");
    Bundle {
        pack: "acme/evil".to_string(),
        version: "1.0.0".to_string(),
        bytes,
        manifest,
        signature,
    }
}

#[tokio::test]
async fn markup_in_a_published_pack_is_shown_as_text_and_unsafe_urls_are_not_links() {
    let registry = Registry::start().await;
    let key = key();
    published(&registry, &key, &[hostile_bundle(&key)]).await;
    for path in [
        "/",
        "/search?q=evil",
        "/packs/acme/evil",
        "/packs/acme/evil/1.0.0",
        "/packs/acme/evil/1.0.0/entities/service",
        "/packs/acme/evil/1.0.0/attack-patterns/spoofing",
        "/packs/acme/evil/1.0.0/mitigations/authentication",
    ] {
        let response = get(&registry, path).await;
        assert_eq!(response.status(), 200, "{path}");
        let page = text(response).await;
        for markup in [
            "<script", "<img", "<iframe", "<svg", "<marquee", "<style", "<b>", "\u{7}",
        ] {
            assert!(!page.contains(markup), "{path}: `{markup}` in {page}");
        }
        for href in hrefs(&page) {
            assert!(
                href.starts_with('/') || href.starts_with("https://") || href.starts_with('#'),
                "{path}: a link to `{href}`"
            );
        }
    }
    let page = text(get(&registry, "/packs/acme/evil/1.0.0/attack-patterns/spoofing").await).await;
    assert!(
        page.contains("<li>javascript:alert(6)</li>"),
        "shown as text: {page}"
    );
    assert!(
        page.contains("<li>JavaScript:alert(6)</li>"),
        "shown as text: {page}"
    );
    assert!(
        page.contains("<li>ATT&amp;CK T1234&quot;&gt;&lt;script&gt;</li>"),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://example.com/?a=&quot;&gt;&lt;script&gt;\""),
        "{page}"
    );
}
