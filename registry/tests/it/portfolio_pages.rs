//! The portfolio's web pages over HTTP: signing in with a token (scope, cross-site posts,
//! cookie attributes, revocation and sign-out end the session), the pages showing only the
//! projects the token covers, and what reports say shown escaped. `portfolio_registry` is
//! the registry the browser test (`browser`) walks through too.

use serde_json::{Value, json};
use threatpack_registry::store::Store;
use threatpack_registry::tokens::Scope;

use crate::support::{Bundle, Registry, bundle, http_client_builder, key, text};

/// Text a report may carry that must never become markup.
pub const HOSTILE: &str = "<script>alert('owed')</script>";

/// A registry with `acme/web` 1.0.0 (yanked) and 1.1.0 published, and reports pushed for
/// `acme/shop` (on 1.0.0, with its model), `acme/api` (on 1.1.0) and `other/app`.
pub struct PortfolioRegistry {
    pub registry: Registry,
    /// The site's root URL (no trailing slash).
    pub site: String,
    /// Scope `portfolio` over `acme/*`.
    pub portfolio_token: String,
}

pub async fn portfolio_registry() -> PortfolioRegistry {
    let registry = Registry::start().await;
    let site = registry.url.trim_end_matches("/api/v1").to_string();
    let key = key();
    registry.namespace_with_key("acme", &key).await;
    let publisher = registry.token(&[Scope::Publish, Scope::Yank], &["acme/*"], None);
    let bundles = vec![
        bundle("acme/web", "1.0.0", "Web threats", &key),
        bundle("acme/web", "1.1.0", "Web threats, more", &key),
    ];
    for bundle in &bundles {
        let response = registry.publish(&publisher, bundle).await;
        assert_eq!(response.status(), 201, "{}", text(response).await);
    }
    let response = registry
        .client
        .put(format!("{}/packs/acme/web/1.0.0/yank", registry.url))
        .bearer_auth(&publisher)
        .header("content-type", "application/json")
        .body(json!({"reason": "<img src=x onerror=alert(1)>"}).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{}", text(response).await);
    let claim = |bundle: &Bundle| {
        json!({
            "name": bundle.pack, "version": bundle.version,
            "sha256": threatpack::digest::sha256_hex(&bundle.bytes),
            "signer": null, "source": "registry",
        })
    };
    let shop = report(
        "acme/shop",
        &[("shop", "high"), ("shop", "critical"), ("customer", "low")],
        &claim(&bundles[0]),
    );
    let model = json!({
        "file": "model.toml",
        "text": include_str!("../../../examples/online-shop/model.toml"),
    });
    push(
        &registry,
        "acme/shop",
        json!({"report": shop, "model": model}),
    )
    .await;
    let api = report("acme/api", &[("api", "medium")], &claim(&bundles[1]));
    push(&registry, "acme/api", json!({"report": api})).await;
    let other = report("other/app", &[("app", "critical")], &claim(&bundles[1]));
    push(&registry, "other/app", json!({"report": other})).await;
    let portfolio_token = registry.token(&[Scope::Portfolio], &["acme/*"], None);
    PortfolioRegistry {
        registry,
        site,
        portfolio_token,
    }
}

/// A JSON report with one threat per `(element, residual)`, an activity owed whose id is
/// `HOSTILE`, an expired acceptance, and provenance naming `project` and `pack`.
fn report(project: &str, threats: &[(&str, &str)], pack: &Value) -> Value {
    let threats: Vec<Value> = threats
        .iter()
        .enumerate()
        .map(|(index, (element, residual))| {
            json!({
                "id": format!("T-{index:012x}"),
                "attack-pattern": "acme/web:attack-pattern/x",
                "element": element,
                "categories": ["spoofing"],
                "severity": "high",
                "tier": "top",
                "residual": {"score": 1, "severity": residual},
                "state": "unmitigated",
                "mitigations": [{"acceptance": {"expired": index == 0}}],
            })
        })
        .collect();
    json!({
        "format": 2,
        "model": {"name": project, "file": "model.toml"},
        "pack": {"name": "acme/web", "version": "1.0.0"},
        "threats": threats,
        "totals": {},
        "backlog": [{"id": "M-1"}],
        "alignment": [],
        "activities": {"activities": [{"id": HOSTILE, "status": "owed"}, {"id": "acme/web:activity/review", "status": "done"}]},
        "provenance": {
            "tool": {"name": "threatpack", "version": "0.1.0"},
            "generated-at": "2026-12-07T20:00:00Z",
            "model": {"file": "model.toml", "sha256": "00"},
            "packs": [pack],
            "project": {"name": project, "source": "flag"},
        },
    })
}

async fn push(registry: &Registry, project: &str, body: Value) {
    let response = registry
        .client
        .post(format!("{}/projects/{project}/reports", registry.url))
        .bearer_auth(&registry.admin)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "{}", text(response).await);
}

/// A client that shows redirects instead of following them and keeps no cookies.
fn client() -> reqwest::Client {
    http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

async fn sign_in(
    client: &reqwest::Client,
    site: &str,
    token: &str,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .post(format!("{site}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "token={token}&next=%2Fportfolio%2Fprojects%2Facme%2Fshop"
        ));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.expect("request")
}

async fn get(client: &reqwest::Client, url: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn signing_in_takes_a_portfolio_token_from_this_site_only() {
    let fixture = portfolio_registry().await;
    let site = &fixture.site;
    let client = client();

    let response = get(&client, &format!("{site}/portfolio"), None).await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/login?next=/portfolio");
    let response = get(&client, &format!("{site}/login?next=/portfolio"), None).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-security-policy").contains("default-src 'none'"));
    let page = text(response).await;
    assert!(page.contains(r#"<label for="token">"#), "{page}");

    // A post from another site, or from nowhere, is refused before the token is looked at.
    for origin in [None, Some("http://evil.example")] {
        let response = sign_in(&client, site, &fixture.portfolio_token, origin).await;
        assert_eq!(response.status(), 403, "{origin:?}");
        assert!(header(&response, "set-cookie").is_empty());
    }
    // A token without the scope, or no token at all, starts no session.
    let publisher = fixture.registry.token(&[Scope::Publish], &["acme/*"], None);
    let response = sign_in(&client, site, &publisher, Some(site)).await;
    assert_eq!(response.status(), 403);
    assert!(header(&response, "set-cookie").is_empty());
    assert!(text(response).await.contains("lacks the `portfolio` scope"));
    let response = sign_in(&client, site, "tp_not_a_token", Some(site)).await;
    assert_eq!(response.status(), 401);

    let response = sign_in(&client, site, &fixture.portfolio_token, Some(site)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        header(&response, "location"),
        "/portfolio/projects/acme/shop"
    );
    let cookie = header(&response, "set-cookie");
    assert!(
        cookie.starts_with("tp_session=")
            && cookie.contains("; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(&fixture.portfolio_token),
        "the cookie is not the token"
    );
    // Behind a proxy that says it was https, the cookie is only sent over https.
    let response = client
        .post(format!("{site}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", site.as_str())
        .header("x-forwarded-proto", "https")
        .body(format!("token={}", fixture.portfolio_token))
        .send()
        .await
        .expect("request");
    assert!(header(&response, "set-cookie").ends_with("; Secure"));
    assert_eq!(header(&response, "location"), "/portfolio");

    let session = cookie.split(';').next().expect("name=value").to_string();
    let response = get(&client, &format!("{site}/portfolio"), Some(&session)).await;
    assert_eq!(response.status(), 200);

    // Signing out ends the session server-side, whatever the browser keeps.
    let response = client
        .post(format!("{site}/logout"))
        .header("cookie", &session)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403, "no Origin: refused");
    let response = client
        .post(format!("{site}/logout"))
        .header("cookie", &session)
        .header("origin", site.as_str())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 303);
    assert!(header(&response, "set-cookie").contains("Max-Age=0"));
    let response = get(&client, &format!("{site}/portfolio"), Some(&session)).await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_revoked_token_ends_its_sessions() {
    let fixture = portfolio_registry().await;
    let client = client();
    let response = sign_in(
        &client,
        &fixture.site,
        &fixture.portfolio_token,
        Some(&fixture.site),
    )
    .await;
    let cookie = header(&response, "set-cookie");
    let session = cookie.split(';').next().expect("name=value").to_string();
    let url = format!("{}/portfolio", fixture.site);
    assert_eq!(get(&client, &url, Some(&session)).await.status(), 200);
    let tokens = fixture.registry.store.tokens().expect("tokens");
    let id = tokens
        .iter()
        .filter(|token| token.scopes == ["portfolio"])
        .map(|token| token.id)
        .max()
        .expect("the portfolio token");
    fixture
        .registry
        .store
        .revoke_token(id, "test")
        .expect("revoked");
    let response = get(&client, &url, Some(&session)).await;
    assert_eq!(response.status(), 303, "the session ended with its token");
}

#[tokio::test]
async fn the_pages_show_the_projects_the_token_covers_escaped() {
    let fixture = portfolio_registry().await;
    let site = &fixture.site;
    let client = client();
    let response = sign_in(&client, site, &fixture.portfolio_token, Some(site)).await;
    let cookie = header(&response, "set-cookie");
    let session = cookie.split(';').next().expect("name=value").to_string();

    let response = get(&client, &format!("{site}/portfolio"), Some(&session)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "private, no-cache");
    let page = text(response).await;
    for expected in [
        r#"<a href="/portfolio/projects/acme/shop">acme/shop</a>"#,
        r#"<a href="/portfolio/projects/acme/api">acme/api</a>"#,
        r#"<a href="/api/v1/portfolio">"#,
        "&lt;script&gt;alert('owed')&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart""#,
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("other/app"), "not the token's: {page}");
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");

    let response = get(
        &client,
        &format!("{site}/portfolio/projects/acme/shop"),
        Some(&session),
    )
    .await;
    assert_eq!(response.status(), 200);
    let page = text(response).await;
    for expected in [
        "Project acme/shop",
        r#"<a href="/packs/acme/web/1.0.0">1.0.0</a> <strong>yanked</strong>"#,
        r#"<img src="/portfolio/projects/acme/shop/diagram.svg""#,
        "Customer's browser",
        "Report history",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    let response = get(
        &client,
        &format!("{site}/portfolio/projects/acme/shop/diagram.svg"),
        Some(&session),
    )
    .await;
    assert_eq!(header(&response, "content-type"), "image/svg+xml");
    assert!(header(&response, "content-security-policy").starts_with("default-src 'none'"));
    let svg = text(response).await;
    assert!(
        svg.starts_with("<svg") && svg.contains("<style>svg.dfd"),
        "{svg}"
    );
    assert!(
        svg.contains("r-critical"),
        "the shop is marked critical: {svg}"
    );

    for forbidden in [
        "/portfolio/projects/other/app",
        "/portfolio/projects/other/app/diagram.svg",
    ] {
        let response = get(&client, &format!("{site}{forbidden}"), Some(&session)).await;
        assert_eq!(response.status(), 403, "{forbidden}");
        assert!(!text(response).await.contains("critical"));
    }
    let response = get(
        &client,
        &format!("{site}/portfolio/projects/acme/none"),
        Some(&session),
    )
    .await;
    assert_eq!(response.status(), 404);

    let response = get(
        &client,
        &format!("{site}/portfolio/dependents/acme/web"),
        Some(&session),
    )
    .await;
    let page = text(response).await;
    let newer = page.find(">1.1.0</a>").expect("1.1.0");
    let older = page.find(">1.0.0</a>").expect("1.0.0");
    assert!(newer < older, "{page}");
    assert!(!page.contains("other/app"), "{page}");

    // The pack page lists its dependents to a signed-in viewer only, and only theirs.
    let response = get(&client, &format!("{site}/packs/acme/web"), Some(&session)).await;
    assert_eq!(header(&response, "cache-control"), "private, no-cache");
    let page = text(response).await;
    assert!(
        page.contains(">Dependents</h2>") && page.contains("acme/shop"),
        "{page}"
    );
    assert!(!page.contains("other/app"), "{page}");
    let response = get(&client, &format!("{site}/packs/acme/web"), None).await;
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let page = text(response).await;
    assert!(
        !page.contains(">Dependents</h2>") && !page.contains("acme/shop"),
        "{page}"
    );
}
