//! The transparency log end to end (issue 14): the real registry logs every publish and the
//! real binary checks inclusion proofs when it publishes, locks and fetches; a registry that
//! forks its history (a split view), replaces a version, or serves a version signed by a key
//! after its removal is caught by the client or by `threatpack log verify`.

use std::path::Path;

use rusqlite::params;
use threatpack::transparency::log::{Checkpoint, Entry, decode_proof, verify_inclusion};
use threatpack::wire::{LogEntries, LogInclusion};

use threatpack_registry::api::ApiOptions;
use threatpack_registry::server::{open, serve};

use crate::registry_client::{Registry, http};
use crate::registry_lock::{Setup, failed, read_lock, succeeded};

/// The JSON body of a raw answer.
fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn get_json<T: serde::de::DeserializeOwned>(registry: &Registry, path: &str) -> T {
    let (status, answer) = http(registry, "GET", path, "");
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(body(answer.as_str())).expect("JSON as the API describes")
}

fn checkpoint(registry: &Registry) -> Checkpoint {
    let (status, answer) = http(registry, "GET", "/log/checkpoint", "");
    assert_eq!(status, 200, "{answer}");
    let note = body(&answer);
    let text = note.split_once("\n\n").expect("a signed note").0;
    Checkpoint::parse(format!("{text}\n").as_bytes()).expect("a checkpoint")
}

fn database(registry: &Registry) -> rusqlite::Connection {
    rusqlite::Connection::open(registry.data.path().join("registry.sqlite3")).expect("open")
}

#[test]
fn publishes_are_logged_and_lock_and_fetch_check_their_inclusion_proofs() {
    let setup = Setup::new();
    let digest = setup.publish("vendor/base", "1.0.0", "");
    // The log: 2 owner-add, 2 key-add (Setup), then the publish.
    let head = checkpoint(&setup.registry);
    assert_eq!(head.size, 5);
    let page: LogEntries = get_json(&setup.registry, "/log/entries?start=0&count=10");
    assert_eq!(page.entries.len(), 5);
    let publish = Entry::parse(page.entries[4].as_bytes()).expect("a valid entry");
    assert!(
        page.entries[4].contains(&format!("publish vendor/base 1.0.0\ndigest {digest}\n")),
        "{publish:?}"
    );
    let proof: LogInclusion = get_json(&setup.registry, "/log/proof/inclusion?index=4&size=5");
    let hashes = decode_proof(&proof.hashes).expect("hashes");
    verify_inclusion(&hashes, 5, head.root, 4, proof.entry.as_bytes()).expect("included");

    let project = setup.project("app", "\"vendor/base\" = \"^1\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    let lock = read_lock(&project);
    assert_eq!(lock.packs[0].log_index, Some(4));
    succeeded(&setup.run(&project, &["fetch"]));

    // The registry rewrites the entry it logged (as an attacker with its database would): the
    // proof no longer leads to the signed root, and a client refuses the version.
    let forged = page.entries[4].replace("vendor/base", "vendor/bass");
    database(&setup.registry)
        .execute(
            "UPDATE log_entries SET entry = ?1 WHERE id = 4",
            params![forged.as_bytes()],
        )
        .expect("tamper");
    std::fs::remove_dir_all(setup.path("cache/bundles")).expect("empty the cache's bundles");
    let run = setup.run(&project, &["fetch"]);
    failed(&run, "is not in");
}

/// Starts the real registry on `data` (an existing data directory), as its operator would.
fn start_registry_in(data: tempfile::TempDir, admin: String) -> Registry {
    let opened = open(data.path()).expect("the registry opens");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let address = listener.local_addr().expect("bound address");
    let options = ApiOptions {
        registry_key: opened.registry_key.clone(),
        ..ApiOptions::default()
    };
    runtime.spawn(serve(listener, opened.store.clone(), options));
    Registry {
        url: format!("http://{address}"),
        admin,
        _runtime: runtime,
        data,
        store: opened.store,
    }
}

/// Copies a registry's data directory (a consistent copy of the live database, the blobs and
/// the registry key): a second registry with the same key and history.
fn copy_registry(registry: &Registry) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary directory");
    database(registry)
        .execute(
            "VACUUM INTO ?1",
            params![copy.path().join("registry.sqlite3").to_string_lossy()],
        )
        .expect("copy the database");
    copy_tree(
        &registry.data.path().join("blobs"),
        &copy.path().join("blobs"),
    );
    std::fs::copy(
        registry.data.path().join("registry-key"),
        copy.path().join("registry-key"),
    )
    .expect("copy the registry key");
    copy
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_split_view_is_detected_by_the_client_and_by_the_monitor() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    // Registry B: the same key and history, then its own publish; A publishes another.
    let other = start_registry_in(copy_registry(&setup.registry), setup.registry.admin.clone());
    setup.publish("vendor/base", "1.1.0", "");
    let project = setup.project("app", "\"vendor/base\" = \"^1\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    // The same client now sees B's view: B's log has as many entries as A's, another root.
    let forked = Setup {
        registry: other,
        ..setup
    };
    forked.publish_edited("vendor/base", "1.1.0", "", |directory| {
        let manifest = directory.join("pack.toml");
        let text = std::fs::read_to_string(&manifest).expect("pack.toml");
        std::fs::write(
            manifest,
            text.replace("A small pack.", "Another small pack."),
        )
        .expect("write");
    });
    let run = forked.run(&project, &["update"]);
    failed(&run, "transparency log is not the one seen before");
    let run = forked.run(forked.work.path(), &["log", "verify"]);
    failed(&run, "transparency log is not the one seen before");
}

#[test]
fn the_monitor_checks_the_whole_log_and_flags_a_replaced_version() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    setup.publish("vendor/base", "1.1.0", "");
    let run = setup.run(setup.work.path(), &["log", "verify", "--format", "json"]);
    succeeded(&run);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["size"], 6);
    assert_eq!(report["versions_checked"], 2);
    assert_eq!(report["entries"]["publish"], 2);
    assert_eq!(report["problems"], serde_json::json!([]));
    // Witness mode: the verified checkpoint comes back cosigned by the witness key.
    let witness = threatpack::transparency::RegistryKey::generate("witness.example/w1")
        .expect("a witness key");
    let witness_file = setup.path("witness.key");
    std::fs::write(&witness_file, witness.private_text()).expect("write the witness key");
    let run = setup.run(
        setup.work.path(),
        &[
            "log",
            "verify",
            "--format",
            "json",
            "--cosign",
            &witness_file.to_string_lossy(),
        ],
    );
    succeeded(&run);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let cosigned = report["cosigned_checkpoint"]
        .as_str()
        .expect("a cosigned checkpoint");
    let registry_key: threatpack::wire::RegistryKeyInfo =
        get_json(&setup.registry, "/registry/key");
    for key in [witness.vkey(), registry_key.key.as_str()] {
        let text = threatpack::transparency::verify_note(cosigned.as_bytes(), key).expect("signed");
        assert!(text.ends_with(&format!("\n6\n{}\n", report["root"].as_str().unwrap_or(""))));
    }

    // Another registry instance over the same database serves the replaced bytes (the running
    // one caches indexes): the monitor compares what the index serves with what was logged.
    database(&setup.registry)
        .execute(
            "UPDATE versions SET sha256 = ?1 WHERE pack = 'vendor/base' AND version = '1.0.0'",
            params!["e".repeat(64)],
        )
        .expect("tamper");
    let data = copy_registry(&setup.registry);
    let replaced = Setup {
        registry: start_registry_in(data, setup.registry.admin.clone()),
        ..setup
    };
    let run = replaced.run(replaced.work.path(), &["log", "verify"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("`vendor/base` 1.0.0 was replaced"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_version_published_after_its_key_was_removed_is_refused_and_flagged() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    setup.publish("acme/extra", "1.0.0", "");
    let before = setup.project("before", "\"vendor/base\" = \"1.0.0\"\n", "");
    succeeded(&setup.run(&before, &["lock"]));
    let key_id = setup.key.key_id.clone();
    let (status, answer) = http(
        &setup.registry,
        "DELETE",
        &format!("/namespaces/vendor/keys/{key_id}"),
        "",
    );
    assert_eq!(status, 200, "{answer}");
    // Someone with the database re-enables the key without the log knowing, publishes with it
    // (a client locks that version), and hides the trace: the index shows a version signed by
    // a removed key, logged after the key's removal.
    let set_removed = |removed: Option<i64>| {
        database(&setup.registry)
            .execute(
                "UPDATE publisher_keys SET removed_at = ?1 WHERE namespace = 'vendor' AND key_id = ?2",
                params![removed, key_id],
            )
            .expect("tamper");
    };
    set_removed(None);
    setup.publish("vendor/base", "1.1.0", "");
    let after = setup.project("after", "\"vendor/base\" = \"1.1.0\"\n", "");
    succeeded(&setup.run(&after, &["lock"]));
    set_removed(Some(1));
    // The registry restarts (its index cache goes), on another port: the lockfiles follow.
    let old_url = setup.registry.url.clone();
    let restarted = Setup {
        registry: start_registry_in(copy_registry(&setup.registry), setup.registry.admin.clone()),
        ..setup
    };
    for project in [&before, &after] {
        let path = project.join("threatpack.lock");
        let text = std::fs::read_to_string(&path).expect("the lockfile");
        std::fs::write(&path, text.replace(&old_url, &restarted.registry.url)).expect("write");
    }
    // The version published before the removal stays valid for the lockfile that pins it; the
    // one published after is refused, when downloaded and when locked again.
    std::fs::remove_dir_all(restarted.path("cache/bundles")).expect("empty the cache's bundles");
    succeeded(&restarted.run(&before, &["fetch"]));
    let run = restarted.run(&after, &["fetch"]);
    failed(&run, "after that key was removed");
    for project in [&before, &after] {
        let manifest = project.join("threatpack.toml");
        let text = std::fs::read_to_string(&manifest).expect("threatpack.toml");
        let text = text.replace(
            "[dependencies]\n",
            "[dependencies]\n\"acme/extra\" = \"1\"\n",
        );
        std::fs::write(&manifest, text).expect("write");
    }
    succeeded(&restarted.run(&before, &["lock"]));
    let run = restarted.run(&after, &["lock"]);
    failed(&run, "after that key was removed");
    let run = restarted.run(restarted.work.path(), &["log", "verify"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("which `vendor` did not hold at that point of the log"),
        "{}",
        run.stderr
    );
}
