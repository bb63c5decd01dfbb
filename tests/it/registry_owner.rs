//! `threatpack owner list|add|remove` and `threatpack key add`, run as the real binary against
//! the real registry on loopback (set up as in `registry_client`).

use crate::registry_client::{Registry, bundle, http, ok, start_registry, threatpack};
use crate::support::Run;

/// A registry with namespace `acme` (owner `alice`) and a configuration directory logged in
/// with the admin token.
fn logged_in() -> (Registry, tempfile::TempDir) {
    let registry = start_registry();
    let (status, answer) = http(
        &registry,
        "POST",
        "/namespaces",
        r#"{"name":"acme","owners":["alice"]}"#,
    );
    assert_eq!(status, 201, "{answer}");
    let work = tempfile::tempdir().expect("a temporary directory");
    ok(&threatpack(
        &work.path().join("config"),
        &registry,
        &["login"],
        &registry.admin,
    ));
    (registry, work)
}

fn fails(run: &Run, message: &str) {
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains(message), "{}", run.stderr);
}

#[test]
fn owner_list_add_and_remove_against_a_real_registry() {
    let (registry, work) = logged_in();
    let config = work.path().join("config");
    let owner = |args: &[&str]| {
        let mut all = vec!["owner"];
        all.extend(args);
        threatpack(&config, &registry, &all, "")
    };

    let run = owner(&["list", "acme"]);
    ok(&run);
    assert_eq!(run.stdout, "alice\n");

    let run = owner(&["add", "acme", "bob@acme.example"]);
    ok(&run);
    assert_eq!(
        run.stdout,
        "added `bob@acme.example` to the owners of `acme`\nowners: alice, bob@acme.example\n"
    );
    let run = owner(&["add", "acme", "bob@acme.example"]);
    ok(&run);
    assert!(
        run.stdout
            .starts_with("`bob@acme.example` already owns `acme`\n"),
        "{}",
        run.stdout
    );

    let run = owner(&["remove", "acme", "alice"]);
    ok(&run);
    assert_eq!(
        run.stdout,
        "removed `alice` from the owners of `acme`\nowners: bob@acme.example\n"
    );
    let run = owner(&["list", "acme"]);
    ok(&run);
    assert_eq!(run.stdout, "bob@acme.example\n");

    // The last owner stays, and the message says what to do instead.
    let run = owner(&["remove", "acme", "bob@acme.example"]);
    fails(
        &run,
        "`bob@acme.example` is the last owner of namespace `acme`",
    );
    assert!(
        run.stderr
            .contains("help: `threatpack owner add acme OWNER`, then remove `bob@acme.example`"),
        "{}",
        run.stderr
    );
    let run = owner(&["remove", "acme", "carol"]);
    fails(
        &run,
        "`carol` is not an owner of namespace `acme` (owners: bob@acme.example)",
    );
    assert!(
        run.stderr.contains("`threatpack owner list acme`"),
        "{}",
        run.stderr
    );
    fails(
        &owner(&["add", "acme", "bob smith"]),
        "the registry refused: `bob smith` is not an owner",
    );
    fails(
        &owner(&["list", "nowhere"]),
        "no namespace `nowhere` on http://",
    );
    fails(&owner(&["add", "nowhere", "bob"]), "no namespace `nowhere`");

    let run = owner(&["list", "acme"]);
    assert_eq!(run.stdout, "bob@acme.example\n", "nothing changed");

    // A token the registry does not know: what to do about it.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(["owner", "add", "acme", "carol"])
        .env("THREATPACK_CONFIG_DIR", &config)
        .env("THREATPACK_REGISTRY", &registry.url)
        .env("THREATPACK_TOKEN", "tpr_not_a_token")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused the token"), "{stderr}");
}

#[test]
fn key_add_registers_a_public_key_that_publish_then_trusts() {
    let (registry, work) = logged_in();
    let config = work.path().join("config");
    let prefix = work.path().join("acme");
    let prefix = prefix.to_str().expect("a UTF-8 path");
    let run = threatpack(
        &config,
        &registry,
        &["key", "generate", "--out", prefix, "--unencrypted"],
        "",
    );
    ok(&run);
    let public = format!("{prefix}.pub");
    let secret = format!("{prefix}.key");

    // The secret key given by mistake never leaves the machine.
    let run = threatpack(&config, &registry, &["key", "add", "acme", &secret], "");
    fails(&run, "is not a minisign public key");
    assert!(
        run.stderr.contains("never the `.key` file"),
        "{}",
        run.stderr
    );
    let (_, answer) = http(&registry, "GET", "/namespaces/acme/keys", "");
    assert!(answer.ends_with(r#"{"keys":[]}"#), "{answer}");

    let run = threatpack(&config, &registry, &["key", "add", "acme", &public], "");
    ok(&run);
    let key_id = run
        .stdout
        .strip_prefix("key ")
        .and_then(|rest| rest.strip_suffix(" registered for `acme`\n"))
        .unwrap_or_else(|| panic!("{}", run.stdout))
        .to_string();
    let (_, answer) = http(&registry, "GET", "/namespaces/acme/keys", "");
    assert!(
        answer.contains(&format!(r#""key_id":"{key_id}""#)),
        "{answer}"
    );
    let run = threatpack(&config, &registry, &["key", "add", "acme", &public], "");
    ok(&run);
    assert_eq!(
        run.stdout,
        format!("key {key_id} was already registered for `acme`\n")
    );
    fails(
        &threatpack(&config, &registry, &["key", "add", "nowhere", &public], ""),
        "no namespace `nowhere`",
    );

    // The registered key is the one publish checks signatures against.
    let secret_text = std::fs::read_to_string(&secret).expect("the secret key");
    let signed = bundle(
        work.path(),
        "web.tar.gz",
        "Web threats.",
        Some(&secret_text),
    );
    let run = threatpack(&config, &registry, &["publish", &signed], "");
    ok(&run);
    assert!(
        run.stdout.contains("published acme/web@1.0.0"),
        "{}",
        run.stdout
    );
}
