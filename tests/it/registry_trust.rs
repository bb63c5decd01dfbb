//! A client that trusts nothing it did not verify (issue 13, section 5), with the real binary
//! against the real registry on loopback (and, where only a hostile registry can say something,
//! a hostile HTTP server on loopback): escape sequences never reach the terminal, a planted
//! cache index is discarded, the dependencies an index lists must be the signed manifest's, and
//! publisher keys and tokens are managed from the client.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::registry_lock::{Setup, failed, read_lock, register, succeeded};
use crate::support::Run;

/// OSC 0 (retitle the window), CSI 2J (clear the screen), and CSI as one C1 character.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}2Jhidden";

/// The hostile text as TOML writes it in a basic string.
const HOSTILE_TOML: &str = "\\u001b]0;pwned\\u0007\\u001b[2J\\u009b2Jhidden";

/// No escape sequence (ESC, or the C1 CSI) in what the command wrote.
fn clean(run: &Run, what: &str) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
            "{what}: an escape sequence reached {stream}:\n{text:?}"
        );
    }
}

#[test]
fn escape_sequences_from_a_registry_never_reach_the_terminal() {
    let setup = Setup::new();
    setup.publish_edited("vendor/base", "1.0.0", "", |directory| {
        let manifest = directory.join("pack.toml");
        let text = std::fs::read_to_string(&manifest).expect("pack.toml");
        let text = text.replace("A small pack.", HOSTILE_TOML);
        std::fs::write(&manifest, text).expect("write pack.toml");
    });
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    // The registry refuses a reason it would show every consumer with control characters
    // (and the CLI shows its refusal escaped); what an older registry stored, or a hostile
    // one sends, is escaped by the client: `info` against `hostile_registry` below.
    let run = setup.run(
        &project,
        &["yank", "vendor/base@1.0.0", "--reason", HOSTILE],
    );
    assert_ne!(run.code, 0, "{}", run.stdout);
    clean(&run, "yank with a hostile reason");
    assert!(run.stderr.contains("control character"), "{}", run.stderr);
    let run = setup.run(
        &project,
        &[
            "yank",
            "vendor/base@1.0.0",
            "--reason",
            "superseded by 1.1.0",
        ],
    );
    succeeded(&run);
    let run = setup.run(&project, &["search", "base"]);
    succeeded(&run);
    clean(&run, "search");
    assert!(run.stdout.contains("\\u{1b}]0;pwned"), "{}", run.stdout);
    setup.publish("vendor/base", "1.1.0", "");

    let run = setup.run(&project, &["info", "vendor/base"]);
    succeeded(&run);
    clean(&run, "info");
    assert!(
        run.stdout.contains("yanked: superseded by 1.1.0"),
        "{}",
        run.stdout
    );
    // A new dependency makes `lock` resolve again: it keeps the yanked version and says why it
    // is yanked; `update` moves off it.
    setup.publish("acme/policy", "1.0.0", "");
    let manifest = project.join("threatpack.toml");
    let text = std::fs::read_to_string(&manifest).expect("threatpack.toml");
    let text = text.replace(
        "[dependencies]\n",
        "[dependencies]\n\"acme/policy\" = \"^1.0\"\n",
    );
    std::fs::write(&manifest, text).expect("write threatpack.toml");
    let run = setup.run(&project, &["lock"]);
    succeeded(&run);
    clean(&run, "lock");
    assert!(
        run.stderr.contains("is yanked (superseded by 1.1.0"),
        "{}",
        run.stderr
    );
    let run = setup.run(&project, &["update"]);
    succeeded(&run);
    clean(&run, "update");

    // What only a hostile registry says: its answers and its error messages.
    let hostile = hostile_registry();
    for args in [
        &["key", "list", "acme"][..],
        &["owner", "list", "acme"],
        &["namespace", "show", "acme"],
        &["token", "list"],
        &["info", "acme/web"],
        &["search", "web"],
        &["yank", "acme/web@1.0.0", "--reason", "gone"],
        &["namespace", "create", "acme"],
        &["key", "remove", "acme", "0123456789ABCDEF"],
        &["info", "acme/web", "--format", "json"],
        &["search", "web", "--format", "json"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--registry", &hostile]);
        let run = setup.run(&project, &args);
        clean(&run, &args.join(" "));
        let shown = |text: &str| text.contains("\\u{1b}") || text.contains("\\u001b");
        assert!(
            shown(&run.stdout) || shown(&run.stderr),
            "{args:?}: the hostile text is shown, escaped:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

/// A registry on loopback that answers with `HOSTILE` in every string it can: the keys,
/// owners, namespace, tokens, index and search of `acme`, and an error envelope for anything
/// else. Returns its URL.
fn hostile_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let text = serde_json::Value::String(HOSTILE.to_string()).to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or_default();
            let method = request_line.split_whitespace().next().unwrap_or_default();
            let (status, body) = match (method, path) {
                ("GET", "/api/v1/namespaces/acme/keys") => (
                    200,
                    format!(
                        r#"{{"keys":[{{"added_at":{text},"key_id":{text},"public_key":{text}}}]}}"#
                    ),
                ),
                ("GET", "/api/v1/namespaces/acme/owners") => {
                    (200, format!(r#"{{"namespace":"acme","owners":[{text}]}}"#))
                }
                ("GET", "/api/v1/namespaces/acme") => (
                    200,
                    format!(
                        r#"{{"namespace":{{"created_at":{text},"name":{text},"owners":[{text}]}}}}"#
                    ),
                ),
                ("GET", "/api/v1/tokens") => (
                    200,
                    format!(
                        r#"{{"tokens":[{{"created_at":{text},"description":{text},"expires_at":{text},"id":1,"namespaces":[{text}],"revoked_at":null,"scopes":[{text}]}}]}}"#
                    ),
                ),
                ("GET", "/api/v1/packs/acme/web") => (
                    200,
                    format!(
                        r#"{{"name":"acme/web","versions":[{{"dependencies":[],"digest":{text},"published_at":{text},"semver":null,"signer_key_id":{text},"size":1,"tier":{text},"version":{text},"yank_reason":{text},"yanked":true}}]}}"#
                    ),
                ),
                ("GET", path) if path.starts_with("/api/v1/packs?") => (
                    200,
                    format!(
                        r#"{{"meta":{{"page":1,"per_page":20,"total":1}},"packs":[{{"description":{text},"latest_version":{text},"name":{text},"tags":[{text}]}}]}}"#
                    ),
                ),
                _ => (409, format!(r#"{{"errors":[{{"detail":{text}}}]}}"#)),
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// The cached index file of `name` (`cache/index/REGISTRY/NAMESPACE/NAME.json`).
fn cached_index(setup: &Setup, name: &str) -> PathBuf {
    let mut pending = vec![setup.path("cache/index")];
    let wanted = format!("{}.json", name.rsplit('/').next().unwrap_or(name));
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("the index cache") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|file| *file == *wanted) {
                return path;
            }
        }
    }
    panic!("no cached index of `{name}`");
}

/// The registry's current ETag of `name`'s index (public: anyone can read it).
fn registry_etag(setup: &Setup, name: &str) -> String {
    let authority = setup.registry.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "GET /api/v1/packs/{name} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).expect("read");
    answer
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .starts_with("etag:")
                .then(|| line[5..].trim().to_string())
        })
        .expect("an ETag")
}

/// Plants `body` as the cached index of `name`, with the registry's current ETag beside it: a
/// client that trusted the cache would be told "not modified" and use the planted body.
fn plant(setup: &Setup, name: &str, body: &str) {
    let path = cached_index(setup, name);
    std::fs::write(&path, body).expect("plant the index");
    std::fs::write(path.with_extension("etag"), registry_etag(setup, name))
        .expect("plant the ETag");
}

#[test]
fn a_planted_cache_index_is_discarded_and_cannot_move_update_back_or_pick_a_yanked_version() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    setup.publish("vendor/base", "1.1.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    let locked = |directory: &Path| {
        read_lock(directory)
            .pack("vendor/base")
            .map(|pack| pack.version.clone())
    };
    assert_eq!(locked(&project).as_deref(), Some("1.1.0"));

    // An index that knows only 1.0.0: `update` would move back.
    let index = std::fs::read_to_string(cached_index(&setup, "vendor/base")).expect("the index");
    let mut planted: serde_json::Value = serde_json::from_str(&index).expect("JSON");
    let versions = planted["versions"].as_array_mut().expect("versions");
    versions.retain(|version| version["version"] == "1.0.0");
    plant(&setup, "vendor/base", &planted.to_string());
    succeeded(&setup.run(&project, &["update"]));
    assert_eq!(locked(&project).as_deref(), Some("1.1.0"));

    // 1.1.0 yanked on the registry, and an index that shows it not yanked: a fresh lock must
    // not pick it.
    succeeded(&setup.run(
        &project,
        &["yank", "vendor/base@1.1.0", "--reason", "broken"],
    ));
    let index = std::fs::read_to_string(cached_index(&setup, "vendor/base")).expect("the index");
    plant(&setup, "vendor/base", &index);
    let fresh = setup.project("fresh", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&fresh, &["lock"]));
    assert_eq!(locked(&fresh).as_deref(), Some("1.0.0"));
    // The planted body was replaced by the registry's.
    let cached = std::fs::read_to_string(cached_index(&setup, "vendor/base")).expect("cached");
    assert!(cached.contains("broken"), "{cached}");
}

#[test]
fn dependencies_an_index_adds_to_the_signed_manifest_are_refused_and_no_key_is_trusted() {
    let setup = Setup::new();
    let other = threatpack::signing::generate_key(None).expect("a key");
    register(&setup.registry, "evil", &other.public);
    let evil_secret = setup.path("evil.key");
    std::fs::write(&evil_secret, &other.secret).expect("write the key");
    setup.publish("acme/policy", "1.0.0", "");
    // The registry's database, altered: acme/policy now "depends" on a pack of another
    // namespace, whose key a first use would trust.
    let database = rusqlite::Connection::open(setup.registry.data.path().join("registry.sqlite3"))
        .expect("open the registry's database");
    let listed = serde_json::json!([{
        "digest": format!("sha256:{}", "0".repeat(64)),
        "name": "evil/x",
        "requirement": "^1.0",
        "source": "registry:elsewhere",
        "version": "1.0.0",
    }]);
    let changed = database
        .execute(
            "UPDATE versions SET dependencies = ?1 WHERE pack = 'acme/policy'",
            [listed.to_string()],
        )
        .expect("alter the index");
    assert_eq!(changed, 1);
    // evil/x exists and is validly signed by the evil namespace's key.
    let directory = setup.path("evil-x");
    crate::registry_client::write_small_pack(&directory, "evil/x", "1.0.0", "Evil.", "");
    let out = setup.path("evil-dist");
    succeeded(&setup.run(
        setup.work.path(),
        &[
            "build",
            &directory.to_string_lossy(),
            "--sign",
            &evil_secret.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ],
    ));
    succeeded(&setup.run(
        setup.work.path(),
        &[
            "publish",
            &out.join("evil_x-1.0.0-all.tar.gz").to_string_lossy(),
        ],
    ));

    let project = setup.project("shop", "\"acme/policy\" = \"^1.0\"\n", "");
    let run = setup.run(&project, &["lock"]);
    failed(&run, "its signed manifest has none");
    assert!(
        !project.join("threatpack.lock").exists(),
        "nothing is written, no key is trusted"
    );
}

#[test]
fn an_owner_removes_a_publisher_key_and_revokes_a_token_from_the_client() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));

    // The key is removed: the locked version stays usable, a new project does not choose it.
    let key_id = &setup.key.key_id;
    let run = setup.run(&project, &["key", "remove", "vendor", key_id]);
    succeeded(&run);
    assert!(run.stdout.contains("removed"), "{}", run.stdout);
    let run = setup.run(&project, &["info", "vendor/base"]);
    assert!(run.stdout.contains("(key removed)"), "{}", run.stdout);
    succeeded(&setup.run(&project, &["fetch"]));
    let fresh = setup.project("fresh", "\"vendor/base\" = \"^1.0\"\n", "");
    failed(
        &setup.run(&fresh, &["lock"]),
        "1.0.0 signed by a removed key",
    );

    // The admin lists the tokens and revokes one; it is refused from then on.
    let run = setup.run(&project, &["token", "list", "--format", "json"]);
    succeeded(&run);
    let tokens: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(!run.stdout.contains(&setup.registry.admin));
    let id = tokens["tokens"][0]["id"].as_i64().expect("an id");
    succeeded(&setup.run(&project, &["token", "revoke", &id.to_string()]));
    failed(&setup.run(&project, &["token", "list"]), "revoked");
}

#[test]
fn update_refuses_a_pinned_version_whose_digest_changed_on_the_registry_as_lock_does() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    let before = std::fs::read(project.join("threatpack.lock")).expect("the lockfile");
    setup.publish("vendor/base", "1.1.0", "");
    // The registry's database, altered: the pinned 1.0.0 now names other bytes.
    let database = rusqlite::Connection::open(setup.registry.data.path().join("registry.sqlite3"))
        .expect("open the registry's database");
    let changed = database
        .execute(
            "UPDATE versions SET sha256 = ?1 WHERE pack = 'vendor/base' AND version = '1.0.0'",
            ["e".repeat(64)],
        )
        .expect("alter the index");
    assert_eq!(changed, 1);
    for args in [&["update"][..], &["update", "vendor/base"]] {
        let run = setup.run(&project, args);
        failed(&run, "was altered");
        assert_eq!(
            std::fs::read(project.join("threatpack.lock")).expect("the lockfile"),
            before,
            "{args:?} changed nothing"
        );
    }
}
