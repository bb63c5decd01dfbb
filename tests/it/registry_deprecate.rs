//! `threatpack deprecate` and `undeprecate` (issue 16: deprecated versions in use), run as the
//! real binary against the real registry on loopback: only a publisher of the pack may, a
//! deprecated version is still chosen with a warning from `lock`, `fetch` and `apply`, `info`
//! shows it, the portfolio counts a project on it as behind, and undoing it clears it all.

use std::path::Path;
use std::process::Command;

use threatpack_registry::server::{TokenOptions, create_token};
use threatpack_registry::store::Store;
use threatpack_registry::tokens::Scope;

use crate::registry_lock::{Setup, read_lock, succeeded};

/// The HTML the registry serves at `path`.
fn web_page(setup: &Setup, path: &str) -> String {
    use std::io::{Read, Write};
    let authority = setup.registry.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}
use crate::support::Run;

const MESSAGE: &str = "rates spoofing too low; 1.0.0 until 1.2.0 ships";

/// A token with `scope` on the packs `pattern` matches.
fn token(setup: &Setup, scope: Scope, pattern: &str) -> String {
    let (token, _) = create_token(
        setup.registry.store.as_ref(),
        &TokenOptions {
            description: format!("{} on {pattern}", scope.as_str()),
            scopes: vec![scope],
            namespaces: vec![pattern.to_string()],
            expires_in_seconds: None,
        },
        "test",
    )
    .expect("a token");
    token
}

/// `setup.run` with `token` instead of the admin's.
fn run_as(setup: &Setup, token: &str, directory: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env("THREATPACK_REGISTRY", &setup.registry.url)
        .env("THREATPACK_TOKEN", token)
        .env("THREATPACK_CONFIG_DIR", setup.path("config"))
        .env("THREATPACK_CACHE_DIR", setup.path("cache"))
        .output()
        .expect("the threatpack binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn refused(run: &Run, message: &str) {
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(message),
        "`{message}` in {}",
        run.stderr
    );
}

fn json(run: &Run) -> serde_json::Value {
    succeeded(run);
    serde_json::from_str(&run.stdout).expect("JSON")
}

const WARNING: &str = "warning: `vendor/base` 1.1.0 is deprecated by its publisher: rates spoofing too low; 1.0.0 until 1.2.0 ships; use 1.0.0 instead";

#[test]
fn a_publisher_deprecates_a_version_that_stays_chosen_with_a_warning_and_undoes_it() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    setup.publish("vendor/base", "1.1.0", "");
    let work = setup.work.path();
    let deprecate = [
        "deprecate",
        "vendor/base@1.1.0",
        "--message",
        MESSAGE,
        "--use",
        "1.0.0",
    ];

    // Only a token with the `publish` scope on the pack may.
    let yank_only = token(&setup, Scope::Yank, "vendor/*");
    refused(
        &run_as(&setup, &yank_only, work, &deprecate),
        "lacks the `publish` scope",
    );
    let other_namespace = token(&setup, Scope::Publish, "acme/*");
    refused(
        &run_as(&setup, &other_namespace, work, &deprecate),
        "may not touch `vendor/base`",
    );
    let publisher = token(&setup, Scope::Publish, "vendor/*");
    let mut unknown = deprecate;
    unknown[5] = "9.9.9";
    refused(
        &run_as(&setup, &publisher, work, &unknown),
        "has no version 9.9.9 to use instead",
    );
    let run = run_as(
        &setup,
        &publisher,
        work,
        &[&deprecate[..], &["--format", "json"]].concat(),
    );
    assert_eq!(
        json(&run),
        serde_json::json!({
            "deprecated": { "message": MESSAGE, "replacement": "1.0.0" },
            "name": "vendor/base",
            "version": "1.1.0",
        })
    );
    let audit = setup.registry.store.audit_log(5).expect("the audit log");
    let entry = audit
        .iter()
        .find(|entry| entry.action == "version.deprecate")
        .expect("the deprecation is audited");
    assert_eq!(entry.target, "vendor/base@1.1.0");
    assert_eq!(entry.detail, format!("{MESSAGE} (use 1.0.0)"));

    // Unlike a yank, a fresh lock still picks it; lock, fetch and apply say so.
    // Named like a pack: its reports go to the portfolio.
    let project = setup.project("acme/shop", "\"vendor/base\" = \"^1.0\"\n", "");
    let run = setup.run(&project, &["lock"]);
    succeeded(&run);
    assert!(run.stderr.contains(WARNING), "{}", run.stderr);
    assert_eq!(
        read_lock(&project)
            .pack("vendor/base")
            .map(|pack| pack.version.as_str()),
        Some("1.1.0")
    );
    for args in [&["fetch"][..], &["apply"]] {
        let run = setup.run(&project, args);
        succeeded(&run);
        assert!(run.stderr.contains(WARNING), "{args:?}: {}", run.stderr);
    }

    // `info` shows it, for people and in JSON.
    let run = setup.run(work, &["info", "vendor/base"]);
    succeeded(&run);
    assert!(
        run.stdout
            .contains(&format!("    deprecated: {MESSAGE} (use 1.0.0)")),
        "{}",
        run.stdout
    );
    let index = json(&setup.run(work, &["info", "vendor/base", "--format", "json"]));
    assert_eq!(index["versions"][0].get("deprecated"), None);
    assert_eq!(index["versions"][1]["deprecated"]["message"], MESSAGE);
    // So does the pack's web page, with a link to the replacement.
    let page = web_page(&setup, "/packs/vendor/base");
    assert!(page.contains(">deprecated</span>"), "{page}");
    assert!(
        page.contains("(use <a href=\"/packs/vendor/base/1.0.0\">1.0.0</a>)"),
        "{page}"
    );

    // The portfolio marks the project on it as behind, though it is on the newest version.
    let report = setup.path("report.json");
    let report = report.to_str().expect("UTF-8");
    let push = [
        "apply",
        "--format",
        "json",
        "--out",
        report,
        "--push",
        "acme/shop",
    ];
    succeeded(&setup.run(&project, &push));
    let portfolio = json(&setup.run(work, &["portfolio", "--format", "json"]));
    let pack = &portfolio["projects"][0]["packs"][0];
    assert_eq!(pack["name"], "vendor/base");
    assert_eq!(pack["behind"], 0);
    assert_eq!(pack["deprecated"], MESSAGE);
    assert_eq!(portfolio["behind"], serde_json::json!(["acme/shop"]));
    let run = setup.run(work, &["portfolio"]);
    succeeded(&run);
    assert!(
        run.stdout
            .contains(&format!("vendor/base@1.1.0 deprecated: {MESSAGE}")),
        "{}",
        run.stdout
    );

    // Undone: no mark, no warning.
    refused(
        &run_as(
            &setup,
            &other_namespace,
            work,
            &["undeprecate", "vendor/base@1.1.0"],
        ),
        "may not touch `vendor/base`",
    );
    let run = run_as(
        &setup,
        &publisher,
        work,
        &["undeprecate", "vendor/base@1.1.0"],
    );
    succeeded(&run);
    assert_eq!(run.stdout, "undeprecated vendor/base@1.1.0\n");
    let run = setup.run(work, &["info", "vendor/base"]);
    assert!(!run.stdout.contains("deprecated"), "{}", run.stdout);
    let run = setup.run(&project, &["update"]);
    succeeded(&run);
    assert!(!run.stderr.contains("deprecated"), "{}", run.stderr);
    let run = setup.run(&project, &["apply"]);
    succeeded(&run);
    assert!(!run.stderr.contains("deprecated"), "{}", run.stderr);
    let portfolio = json(&setup.run(work, &["portfolio", "--format", "json"]));
    assert_eq!(
        portfolio["projects"][0]["packs"][0]["deprecated"],
        serde_json::Value::Null
    );
    assert_eq!(portfolio["behind"], serde_json::json!([]));
}
