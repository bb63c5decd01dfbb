//! The registry walkthrough with the CLI alone — `namespace create|show`, `key add|list`,
//! `publish`, `info`, `yank`, `search`, `owner list` — and their `--format json` documents, run
//! as the real binary against the real registry on loopback (set up as in `registry_client`).

use crate::registry_client::{bundle, ok, start_registry, threatpack};

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

#[test]
fn the_registry_walkthrough_needs_nothing_but_the_cli() {
    let registry = start_registry();
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = work.path().join("config");
    let run = |args: &[&str]| threatpack(&config, &registry, args, "");
    ok(&threatpack(&config, &registry, &["login"], &registry.admin));

    // An admin creates the namespace, with its owner.
    let created = run(&[
        "namespace",
        "create",
        "acme",
        "--owner",
        "alice@acme.example",
    ]);
    ok(&created);
    assert!(
        created
            .stdout
            .starts_with("created namespace `acme`\n  owners: alice@acme.example\n  created: "),
        "{}",
        created.stdout
    );
    let again = run(&["namespace", "create", "acme", "--owner", "bob"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again.stderr.contains("namespace `acme` already exists")
            && again
                .stderr
                .contains("help: see it with `threatpack namespace show acme`"),
        "{}",
        again.stderr
    );
    let shown = run(&["namespace", "show", "acme", "--format", "json"]);
    ok(&shown);
    let document = json(&shown.stdout);
    assert_eq!(document["namespace"]["name"], "acme");
    assert_eq!(
        document["namespace"]["owners"],
        serde_json::json!(["alice@acme.example"])
    );
    let missing = run(&["namespace", "show", "nowhere"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing.stderr.contains("no namespace `nowhere` on http://")
            && missing.stderr.contains("`threatpack namespace create`"),
        "{}",
        missing.stderr
    );

    // The publisher's key, registered and listed.
    let prefix = work.path().join("acme");
    let prefix = prefix.to_str().expect("a UTF-8 path");
    ok(&run(&["key", "generate", "--out", prefix, "--unencrypted"]));
    let added = run(&[
        "key",
        "add",
        "acme",
        &format!("{prefix}.pub"),
        "--format",
        "json",
    ]);
    ok(&added);
    let key_id = json(&added.stdout)["key_id"]
        .as_str()
        .expect("a key id")
        .to_string();
    let listed = run(&["key", "list", "acme", "--format", "json"]);
    ok(&listed);
    assert_eq!(json(&listed.stdout)["keys"][0]["key_id"], key_id.as_str());
    let listed = run(&["key", "list", "acme"]);
    ok(&listed);
    assert!(
        listed.stdout.starts_with(&format!("{key_id}  added ")),
        "{}",
        listed.stdout
    );

    // Publish, info, search and owners as JSON: the registry's answers, one document each.
    let secret = std::fs::read_to_string(format!("{prefix}.key")).expect("the secret key");
    let signed = bundle(work.path(), "web.tar.gz", "Web threats.", Some(&secret));
    let published = run(&["publish", &signed, "--format", "json"]);
    ok(&published);
    let answer = json(&published.stdout);
    assert_eq!(answer["name"], "acme/web");
    assert_eq!(answer["version"], "1.0.0");
    assert_eq!(answer["created"], true);
    assert_eq!(answer["signer_key_id"], key_id.as_str());
    assert_eq!(answer["semver"], serde_json::Value::Null);
    let digest = answer["digest"].as_str().expect("a digest").to_string();
    let republished = run(&["publish", &signed, "--format", "json"]);
    ok(&republished);
    assert_eq!(json(&republished.stdout)["created"], false);

    let info = run(&["info", "acme/web", "--format", "json"]);
    ok(&info);
    let index: threatpack::wire::Index =
        serde_json::from_str(&info.stdout).expect("the index, as the wire type");
    assert_eq!(index.name, "acme/web");
    assert_eq!(index.versions.len(), 1);
    assert_eq!(index.versions[0].digest, digest);
    assert!(!index.versions[0].yanked);

    let yanked = run(&[
        "yank",
        "acme/web@1.0.0",
        "--reason",
        "a test",
        "--format",
        "json",
    ]);
    ok(&yanked);
    assert_eq!(
        json(&yanked.stdout),
        serde_json::json!({ "name": "acme/web", "reason": "a test", "version": "1.0.0", "yanked": true })
    );
    ok(&run(&["unyank", "acme/web@1.0.0"]));

    let found = run(&["search", "web", "--format", "json"]);
    ok(&found);
    let answer: threatpack::wire::SearchAnswer =
        serde_json::from_str(&found.stdout).expect("the search answer, as the wire type");
    assert_eq!(answer.meta.total, 1);
    assert_eq!(answer.packs[0].name, "acme/web");
    assert_eq!(answer.packs[0].latest_version.as_deref(), Some("1.0.0"));

    let owners = run(&["owner", "list", "acme", "--format", "json"]);
    ok(&owners);
    assert_eq!(
        json(&owners.stdout),
        serde_json::json!({ "namespace": "acme", "owners": ["alice@acme.example"] })
    );
    let owners = run(&["owner", "add", "acme", "bob", "--format", "json"]);
    ok(&owners);
    assert_eq!(
        json(&owners.stdout)["owners"],
        serde_json::json!(["alice@acme.example", "bob"])
    );
}

#[test]
fn creating_a_namespace_needs_an_admin_token() {
    let registry = start_registry();
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = work.path().join("config");
    let (publisher, _) = threatpack_registry::server::create_token(
        registry.store.as_ref(),
        &threatpack_registry::server::TokenOptions {
            description: "publisher".to_string(),
            scopes: vec![threatpack_registry::tokens::Scope::Publish],
            namespaces: vec!["acme/*".to_string()],
            expires_in_seconds: None,
        },
        "test",
    )
    .expect("a token");
    let run = threatpack(&config, &registry, &["namespace", "create", "acme"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("threatpack login"), "{}", run.stderr);
    ok(&threatpack(&config, &registry, &["login"], &publisher));
    let run = threatpack(&config, &registry, &["namespace", "create", "acme"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("the token may not do this (the token lacks the `admin` scope)"),
        "{}",
        run.stderr
    );
}
