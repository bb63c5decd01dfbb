//! The web face in a real browser: Debian's chromium, headless, driven by chromedriver over
//! WebDriver (fantoccini). A person searches, opens a pack, a version, an attack pattern and a
//! mitigation, compares two versions, signs in with a portfolio token and opens a project.
//! Every page must show its content, keep its links working and log nothing to the console
//! (a CSP violation is a console error). Screenshots go to `target/screenshots/` (not
//! committed).
//!
//! `.ci/run` installs chromium and chromium-driver. Without chromedriver on PATH the test fails
//! when `CI=true` and returns early with a notice otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Url;
use serde_json::{Value, json};

use crate::portfolio_pages::portfolio_registry;
use crate::support::http_client;

/// chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program on PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|directory| directory.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// Starts chromedriver on a free loopback port and waits until it is ready.
async fn start_driver(program: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    let child = Command::new(program)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .get(format!("{}/status", driver.url))
            .send()
            .await
            .ok();
        if let Some(response) = ready
            && let Ok(body) = response.bytes().await
            && let Ok(status) = serde_json::from_slice::<Value>(&body)
            && status["value"]["ready"] == true
        {
            return driver;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not get ready in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Chromedriver's log of the browser's console (`goog:loggingPrefs`), emptied as it is read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &Url,
        session_id: Option<&str>,
    ) -> Result<Url, url_error::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// `url::ParseError`, named through reqwest (the same `url` crate fantoccini uses).
mod url_error {
    pub type ParseError = <reqwest::Url as std::str::FromStr>::Err;
}

/// The walk's state: the browser, the site, where screenshots go.
struct Walk {
    client: Client,
    site: String,
    screenshots: PathBuf,
}

impl Walk {
    /// Checks the page now shown: its path, that it says `expected`, that its console stayed
    /// quiet, that its same-site links answer; then saves its screenshot as `name.png`.
    async fn check_page(&self, name: &str, path: &str, expected: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut current = self.client.current_url().await.expect("the URL");
        while current.path() != path && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            current = self.client.current_url().await.expect("the URL");
        }
        assert_eq!(current.path(), path, "{name}: where the browser is");
        let source = self.client.source().await.expect("the page source");
        for text in expected {
            assert!(source.contains(text), "{name}: `{text}` in {source}");
        }
        self.console_is_quiet(name).await;
        self.links_work(name).await;
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
        std::fs::write(self.screenshots.join(format!("{name}.png")), png).expect("saved");
    }

    async fn console_is_quiet(&self, name: &str) {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("the browser's console log");
        let entries = log.as_array().cloned().unwrap_or_default();
        let problems: Vec<&Value> = entries
            .iter()
            .filter(|entry| {
                entry["level"] != "INFO" && entry["level"] != "DEBUG"
                    || entry["message"]
                        .as_str()
                        .is_some_and(|message| message.contains("Content Security Policy"))
            })
            .collect();
        assert!(problems.is_empty(), "{name}: console says {problems:#?}");
    }

    /// Every link to this site on the page answers (redirects followed) with a success.
    async fn links_work(&self, name: &str) {
        let links = self
            .client
            .find_all(Locator::Css("a[href^='/']"))
            .await
            .expect("the links");
        let mut hrefs = Vec::new();
        for link in links {
            if let Some(href) = link.attr("href").await.expect("an href") {
                hrefs.push(href);
            }
        }
        hrefs.sort();
        hrefs.dedup();
        // As the browser asks: with its session, when it has one.
        let session = self
            .client
            .get_named_cookie("tp_session")
            .await
            .ok()
            .map(|cookie| format!("tp_session={}", cookie.value()));
        let client = http_client();
        for href in hrefs {
            let mut request = client.get(format!("{}{href}", self.site));
            if let Some(session) = &session {
                request = request.header("cookie", session);
            }
            let response = request.send().await.expect("request");
            assert!(
                response.status().is_success(),
                "{name}: the link {href} answers {}",
                response.status()
            );
        }
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("`{css}` on the page: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking `{css}`: {error}"));
    }
}

#[tokio::test]
async fn a_person_browses_packs_and_the_portfolio_in_chromium() {
    let Some(chromedriver) = on_path("chromedriver") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromedriver is not on PATH: .ci/run installs Debian's `chromium` and `chromium-driver`"
        );
        eprintln!(
            "notice: the browser test did not run: no chromedriver on PATH (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let fixture = portfolio_registry().await;
    let driver = start_driver(&chromedriver).await;
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let mut chrome_options = json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1280,1600",
            format!("--user-data-dir={}", profile.path().display()),
        ],
    });
    if let Some(chromium) = on_path("chromium") {
        chrome_options["binary"] = json!(chromium);
    }
    let mut capabilities = Capabilities::new();
    capabilities.insert("browserName".to_string(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".to_string(), chrome_options);
    capabilities.insert("goog:loggingPrefs".to_string(), json!({"browser": "ALL"}));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session");
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots).expect("the screenshot directory");
    let walk = Walk {
        client,
        site: fixture.site.clone(),
        screenshots,
    };
    let site = &fixture.site;

    // Home, then search from its search box.
    walk.client.goto(&format!("{site}/")).await.expect("home");
    walk.check_page("home", "/", &["acme/web"]).await;
    walk.client
        .find(Locator::Css("form.search input[name='q']"))
        .await
        .expect("the search box")
        .send_keys("web")
        .await
        .expect("typed");
    walk.click("form.search button[type='submit']").await;
    walk.check_page("search", "/search", &["acme/web"]).await;

    // The pack, its newest version, an attack pattern, a mitigation that counters it.
    walk.click("main a[href='/packs/acme/web']").await;
    walk.check_page("pack", "/packs/acme/web", &["1.1.0", "1.0.0"])
        .await;
    walk.click("main a[href='/packs/acme/web/1.1.0']").await;
    walk.check_page("version", "/packs/acme/web/1.1.0", &["Attack patterns"])
        .await;
    walk.click("main a[href*='/attack-patterns/']").await;
    let attack_pattern = walk.client.current_url().await.expect("the URL");
    walk.check_page("attack-pattern", attack_pattern.path(), &[])
        .await;
    walk.click("main a[href*='/mitigations/']").await;
    let mitigation = walk.client.current_url().await.expect("the URL");
    walk.check_page("mitigation", mitigation.path(), &[]).await;

    // What changed between two versions.
    walk.client
        .goto(&format!("{site}/packs/acme/web/diff/1.0.0...1.1.0"))
        .await
        .expect("the diff");
    walk.check_page(
        "diff",
        "/packs/acme/web/diff/1.0.0...1.1.0",
        &["1.0.0", "1.1.0"],
    )
    .await;

    // The portfolio needs a token: sign in, land on it, open a project.
    walk.click("header a[href='/portfolio']").await;
    walk.check_page("login", "/login", &["API token"]).await;
    walk.client
        .find(Locator::Css("#token"))
        .await
        .expect("the token field")
        .send_keys(&fixture.portfolio_token)
        .await
        .expect("typed");
    walk.click("main form button[type='submit']").await;
    walk.check_page(
        "portfolio",
        "/portfolio",
        &["acme/shop", "acme/api", "Riskiest projects", "<svg"],
    )
    .await;
    let source = walk.client.source().await.expect("the page source");
    assert!(!source.contains("other/app"), "not the token's project");
    walk.click("main a[href='/portfolio/projects/acme/shop']")
        .await;
    walk.check_page(
        "project",
        "/portfolio/projects/acme/shop",
        &["Report history", "Data-flow diagram"],
    )
    .await;
    let drawn = walk
        .client
        .execute(
            "return document.querySelector('figure.diagram img').naturalWidth",
            Vec::new(),
        )
        .await
        .expect("the diagram's width");
    assert!(
        drawn.as_u64().is_some_and(|width| width > 0),
        "the diagram image loads: {drawn}"
    );

    // Signing out leaves the portfolio behind the sign-in page again.
    walk.click("header form[action='/logout'] button").await;
    walk.check_page("home-signed-out", "/", &["Sign in"]).await;
    walk.client
        .goto(&format!("{site}/portfolio"))
        .await
        .expect("the portfolio");
    walk.check_page("login-again", "/login", &["API token"])
        .await;
    walk.client.close().await.expect("the session closes");
    drop(driver);
}
