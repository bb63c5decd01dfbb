//! Issue 14: TUF's attacks on distribution, each through a man-in-the-middle proxy on loopback
//! (`proxy`) between the client library (what `threatpack lock`, `update` and `fetch` run) and
//! the real `threatpack-registry` binary. Each must end in a refusal that says what happened.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ct_codecs::{Base64, Decoder};
use threatpack::ops::{DependencyOptions, LockOptions, Locked, Progress, Unlock};
use threatpack::transparency::{IndexEnvelope, RegistryKey};
use threatpack::wire::INDEX_NOTE_HEADER;

use crate::hardening::{Started, start_binary};
use crate::proxy::{Answer, Attack, Proxy};
use crate::support::{
    Key, ServerProcess, bundle, create_namespace_with_key, http_client, key, send_publish,
};

struct Setup {
    started: Started,
    proxy: Proxy,
    work: tempfile::TempDir,
    signer: Key,
    runtime: tokio::runtime::Runtime,
}

/// Notes and warnings, as the terminal would print them.
#[derive(Default)]
struct Collected(Mutex<Vec<String>>);

impl Progress for Collected {
    fn note(&self, message: &str) {
        self.0
            .lock()
            .expect("notes")
            .push(format!("note: {message}"));
    }
    fn warn(&self, message: &str) {
        self.0
            .lock()
            .expect("notes")
            .push(format!("warning: {message}"));
    }
}

impl Collected {
    fn text(&self) -> String {
        self.0.lock().expect("notes").join("\n")
    }
}

impl Setup {
    /// The registry binary (with `extra` flags), a proxy in front of it, and the namespace
    /// `acme` with a publisher key.
    fn new(extra: &[&str]) -> Setup {
        let started = start_binary(extra);
        let proxy = Proxy::start(started.server.address);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let signer = key();
        runtime.block_on(create_namespace_with_key(
            &http_client(),
            &started.server.url,
            &started.admin,
            "acme",
            &signer,
        ));
        Setup {
            started,
            proxy,
            work: tempfile::tempdir().expect("a temporary directory"),
            signer,
            runtime,
        }
    }

    fn publish(&self, pack: &str, version: &str) {
        let bundle = bundle(pack, version, "A small pack.", &self.signer);
        let response = self
            .runtime
            .block_on(send_publish(
                &http_client(),
                &self.started.server.url,
                &self.started.admin,
                pack,
                version,
                &bundle,
            ))
            .expect("the publish is answered");
        assert_eq!(response.status(), 201);
    }

    fn yank(&self, pack: &str, version: &str) {
        let response = self
            .runtime
            .block_on(
                http_client()
                    .put(format!(
                        "{}/packs/{pack}/{version}/yank",
                        self.started.server.url
                    ))
                    .bearer_auth(&self.started.admin)
                    .header("content-type", "application/json")
                    .body(r#"{"reason":"broken"}"#)
                    .send(),
            )
            .expect("the yank is answered");
        assert_eq!(response.status(), 200);
    }

    /// A project `name` depending on `dependencies` (`name = requirement` lines), with its own
    /// cache: a client of its own.
    fn project(&self, name: &str, dependencies: &str) -> PathBuf {
        let directory = self.work.path().join(name);
        std::fs::create_dir_all(&directory).expect("create the project");
        std::fs::write(
            directory.join("threatpack.toml"),
            format!("[dependencies]\n{dependencies}"),
        )
        .expect("write threatpack.toml");
        directory
    }

    fn options(&self, project: &Path) -> DependencyOptions {
        DependencyOptions {
            registry: Some(self.proxy.url.clone()),
            cache: Some(project.with_extension("cache")),
            ..DependencyOptions::default()
        }
    }

    /// `threatpack lock` (`Unlock::Nothing`) or `update` (`Unlock::All`) of `project` through
    /// the proxy; the error's text on failure, with the notes and warnings printed.
    fn lock(&self, project: &Path, unlock: Unlock) -> Result<(Locked, String), String> {
        self.lock_with(project, unlock, false)
    }

    fn lock_with(
        &self,
        project: &Path,
        unlock: Unlock,
        allow_expired_index: bool,
    ) -> Result<(Locked, String), String> {
        let progress = Collected::default();
        let options = LockOptions {
            dependencies: DependencyOptions {
                allow_expired_index,
                ..self.options(project)
            },
            unlock,
            fetch: true,
        };
        match threatpack::ops::lock(project, &options, &progress) {
            Ok(Some(locked)) => Ok((locked, progress.text())),
            Ok(None) => Err("nothing to lock".to_string()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// The version of `pack` the project's lockfile pins.
    fn locked_version(&self, project: &Path, pack: &str) -> String {
        let text = std::fs::read_to_string(project.join("threatpack.lock")).expect("a lockfile");
        let lockfile = threatpack::lockfile::Lockfile::parse("threatpack.lock", &text)
            .expect("a valid lockfile");
        lockfile.pack(pack).expect("locked").version.clone()
    }

    /// The registry's key, as its data directory holds it.
    fn registry_key(&self) -> RegistryKey {
        let text = std::fs::read_to_string(self.started.data.path().join("registry-key"))
            .expect("the key file");
        RegistryKey::parse(&text).expect("a key")
    }
}

/// The envelope an answer carries.
fn envelope_of(answer: &Answer) -> IndexEnvelope {
    let note = Base64::decode_to_vec(answer.header(INDEX_NOTE_HEADER).expect("a note"), None)
        .expect("base64");
    let text = String::from_utf8(note).expect("UTF-8");
    let (text, _) = text.split_once("\n\n").expect("a signed note");
    IndexEnvelope::parse(&format!("{text}\n")).expect("an envelope")
}

/// A rewrite of index answers for `path` only.
fn on_path(path: &'static str, rewrite: impl Fn(Answer) -> Answer + Send + 'static) -> Attack {
    Attack::Rewrite(Box::new(move |requested, answer| {
        if requested == path {
            rewrite(answer)
        } else {
            answer
        }
    }))
}

fn assert_refused(result: Result<(Locked, String), String>, expected: &[&str]) -> String {
    let error = match result {
        Ok((locked, notes)) => panic!(
            "accepted: {:?}\n{notes}",
            locked
                .lockfile
                .packs
                .iter()
                .map(|pack| format!("{} {}", pack.name, pack.version))
                .collect::<Vec<_>>()
        ),
        Err(error) => error,
    };
    for part in expected {
        assert!(error.contains(part), "missing `{part}` in:\n{error}");
    }
    error
}

#[test]
fn rollback_an_older_index_replayed_is_refused_even_with_the_cache_gone() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    setup.lock(&project, Unlock::Nothing).expect("locks 1.0.0");
    let old = setup.proxy.recorded("/api/v1/packs/acme/web");
    assert_eq!(envelope_of(&old).sequence, 1);

    setup.publish("acme/web", "1.1.0");
    setup.lock(&project, Unlock::All).expect("updates to 1.1.0");
    assert_eq!(setup.locked_version(&project, "acme/web"), "1.1.0");

    // Before issue 14: `updating acme/web 1.1.0 -> 1.0.0`, exit 0.
    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", move |_| old.clone()));
    assert_refused(
        setup.lock(&project, Unlock::All),
        &[
            "the index of `acme/web` from http://",
            "has sequence 1, older than sequence 2 you already saw (rollback)",
            "help: do not trust this answer",
        ],
    );
    // The lockfile alone remembers the sequence.
    std::fs::remove_dir_all(project.with_extension("cache")).expect("remove the cache");
    assert_refused(
        setup.lock(&project, Unlock::All),
        &["has sequence 1, older than sequence 2 you already saw (rollback)"],
    );
    assert_eq!(setup.locked_version(&project, "acme/web"), "1.1.0");
}

#[test]
fn freeze_a_stale_answer_replayed_past_its_expiry_is_refused_unless_allowed() {
    let setup = Setup::new(&["--index-expiry", "2s"]);
    setup.publish("acme/web", "1.0.0");
    let first = setup.project("first", "\"acme/web\" = \"^1.0\"\n");
    setup.lock(&first, Unlock::Nothing).expect("locks");
    let stale = setup.proxy.recorded("/api/v1/packs/acme/web");
    setup.publish("acme/web", "1.1.0");
    std::thread::sleep(std::time::Duration::from_millis(2500));

    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", move |_| stale.clone()));
    let fresh = setup.project("fresh", "\"acme/web\" = \"^1.0\"\n");
    assert_refused(
        setup.lock(&fresh, Unlock::Nothing),
        &[
            "the index of `acme/web` from http://",
            "(freeze)",
            "pass `--allow-expired-index`",
        ],
    );
    // An offline mirror, knowingly: accepted, with a warning.
    let (_, notes) = setup
        .lock_with(&fresh, Unlock::Nothing, true)
        .expect("allowed");
    assert!(
        notes.contains("warning: the index of `acme/web` from http://")
            && notes.contains("used anyway (--allow-expired-index)"),
        "{notes}"
    );
    assert_eq!(setup.locked_version(&fresh, "acme/web"), "1.0.0");
}

#[test]
fn an_arbitrary_index_body_is_refused() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", |mut answer| {
            answer.body = br#"{"name":"acme/web","versions":[]}"#.to_vec();
            answer
        }));
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    assert_refused(
        setup.lock(&project, Unlock::Nothing),
        &["does not match its signed envelope", "altered in transit"],
    );
}

#[test]
fn yank_hiding_a_cleared_yank_flag_is_refused() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    setup.publish("acme/web", "1.1.0");
    setup.yank("acme/web", "1.1.0");
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", |mut answer| {
            let text = String::from_utf8(answer.body).expect("JSON");
            assert!(
                text.contains(r#""yank_reason":"broken","yanked":true"#),
                "{text}"
            );
            answer.body = text
                .replace(
                    r#""yank_reason":"broken","yanked":true"#,
                    r#""yank_reason":null,"yanked":false"#,
                )
                .into_bytes();
            answer
        }));
    assert_refused(
        setup.lock(&project, Unlock::Nothing),
        &["does not match its signed envelope"],
    );
    setup.proxy.attack(Attack::None);
    setup.lock(&project, Unlock::Nothing).expect("locks");
    assert_eq!(setup.locked_version(&project, "acme/web"), "1.0.0");
}

#[test]
fn mix_and_match_another_packs_signed_answer_is_refused() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    setup.publish("acme/api", "1.0.0");
    let other = setup.project("other", "\"acme/api\" = \"^1.0\"\n");
    setup.lock(&other, Unlock::Nothing).expect("locks");
    let api = setup.proxy.recorded("/api/v1/packs/acme/api");

    // The whole answer of another pack, and another pack's note on this pack's body.
    let whole = api.clone();
    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", move |_| whole.clone()));
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    assert_refused(
        setup.lock(&project, Unlock::Nothing),
        &["answered the index of `acme/web` with an envelope for `acme/api` (mix-and-match)"],
    );
    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", move |mut answer| {
            answer.set_header(
                INDEX_NOTE_HEADER,
                api.header(INDEX_NOTE_HEADER).map(str::to_string),
            );
            answer
        }));
    assert_refused(
        setup.lock(&project, Unlock::Nothing),
        &["with an envelope for `acme/api` (mix-and-match)"],
    );
}

#[test]
fn a_wrong_key_or_a_stripped_envelope_is_refused_once_the_key_is_pinned() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    let (_, notes) = setup.lock(&project, Unlock::Nothing).expect("locks");
    let registry_key = setup.registry_key();
    assert!(
        notes.contains(&format!(
            "note: trusting the key `{}` of the registry {} on first use",
            threatpack::transparency::key::vkey_id(registry_key.vkey()),
            setup.proxy.url
        )),
        "{notes}"
    );
    let lockfile = std::fs::read_to_string(project.join("threatpack.lock")).expect("a lockfile");
    assert!(
        lockfile.contains(&format!(
            "[[registry]]\nurl = \"{}\"\nkey = \"{}\"\ntrusted = \"first-use\"\n\n[registry.index-sequences]\n\"acme/web\" = 1\n",
            setup.proxy.url,
            registry_key.vkey()
        )),
        "{lockfile}"
    );

    // An attacker's key under the registry's own origin, signing the real body with a high
    // sequence (what a fast-forward would need).
    let attacker = RegistryKey::generate(registry_key.origin()).expect("a key");
    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", move |mut answer| {
            let mut envelope = envelope_of(&answer);
            envelope.sequence = 1_000_000;
            answer.set_header(
                INDEX_NOTE_HEADER,
                Some(envelope.sign(&attacker).expect("signs")),
            );
            answer
        }));
    assert_refused(
        setup.lock(&project, Unlock::All),
        &[
            "is signed by `",
            "not by the registry key you pinned (`",
            "or the registry's key was replaced without a signed rotation",
        ],
    );

    setup
        .proxy
        .attack(on_path("/api/v1/packs/acme/web", |mut answer| {
            answer.set_header(INDEX_NOTE_HEADER, None);
            answer
        }));
    assert_refused(
        setup.lock(&project, Unlock::All),
        &["carries no signed envelope, but the registry's key `"],
    );
}

#[test]
fn a_configured_registry_key_stops_an_attacker_on_first_use() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    let registry_key = setup.registry_key();
    let attacker = RegistryKey::generate(registry_key.origin()).expect("a key");
    // The attacker answers the key request and signs every index itself.
    let (attacker_vkey, origin) = (attacker.vkey().to_string(), attacker.origin().to_string());
    setup
        .proxy
        .attack(Attack::Rewrite(Box::new(move |path, mut answer| {
            if path == "/api/v1/registry/key" {
                answer.body =
                    serde_json::json!({"key": attacker_vkey, "origin": origin, "rotations": []})
                        .to_string()
                        .into_bytes();
            } else if path.starts_with("/api/v1/packs/") {
                let envelope = envelope_of(&answer);
                answer.set_header(
                    INDEX_NOTE_HEADER,
                    Some(envelope.sign(&attacker).expect("signs")),
                );
            }
            answer
        })));
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    std::fs::write(
        project.join("threatpack.toml"),
        format!(
            "[dependencies]\n\"acme/web\" = \"^1.0\"\n\n[registry-keys]\n\"{}\" = \"{}\"\n",
            setup.proxy.url,
            registry_key.vkey()
        ),
    )
    .expect("write threatpack.toml");
    assert_refused(
        setup.lock(&project, Unlock::Nothing),
        &["not by the registry key you pinned"],
    );
    let lockfile = project.join("threatpack.lock");
    assert!(!lockfile.exists(), "nothing was locked");
}

#[test]
fn endless_data_an_index_far_beyond_the_cap_is_refused_without_reading_it_all() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    setup
        .proxy
        .attack(Attack::Endless("/api/v1/packs/".to_string()));
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    assert_refused(
        setup.lock(&project, Unlock::Nothing),
        &[
            "cannot read the index of `acme/web` from http://",
            "sent more than 16777216 bytes for `/packs/acme/web`: refused without reading further",
            "endless data",
        ],
    );
}

#[test]
fn an_arbitrary_bundle_is_refused_by_its_locked_digest() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    setup.publish("acme/web", "1.1.0");
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    setup.lock(&project, Unlock::Nothing).expect("locks");
    // Another validly signed bundle of the pack, served for the locked one.
    let other = bundle("acme/web", "1.0.0", "Other bytes.", &setup.signer).bytes;
    setup
        .proxy
        .attack(Attack::Rewrite(Box::new(move |path, mut answer| {
            if path.starts_with("/api/v1/blobs/sha256/") && !path.ends_with("/signature") {
                answer.body = other.clone();
            }
            answer
        })));
    let fresh = project.with_extension("cache");
    std::fs::remove_dir_all(&fresh).expect("remove the cache");
    let error = threatpack::ops::fetch(&project, &setup.options(&project), &Collected::default())
        .err()
        .map(|error| error.to_string())
        .expect("refused");
    assert!(
        error.contains("but threatpack.lock records") && error.contains("the bytes were altered"),
        "{error}"
    );
}

#[test]
fn a_client_follows_a_registry_key_rotation_and_refuses_a_key_replaced_without_one() {
    let mut setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    setup.lock(&project, Unlock::Nothing).expect("locks");
    let old = setup.registry_key();

    // The operator rotates the key and restarts the registry.
    let data = setup.started.data.path().to_path_buf();
    let restart = |setup: &mut Setup| {
        let args = [
            std::ffi::OsStr::new("--data"),
            data.as_os_str(),
            std::ffi::OsStr::new("--listen"),
            std::ffi::OsStr::new("127.0.0.1:0"),
        ];
        let server = ServerProcess::start(&args, &[]).expect("restarts");
        setup.proxy.set_upstream(server.address);
        setup.started.server = server;
    };
    let output = crate::support::server_command(
        &[
            std::ffi::OsStr::new("key"),
            std::ffi::OsStr::new("rotate"),
            std::ffi::OsStr::new("--data"),
            data.as_os_str(),
        ],
        &[],
    )
    .output()
    .expect("runs");
    assert!(output.status.success());
    restart(&mut setup);
    let new = setup.registry_key();
    assert_ne!(new.vkey(), old.vkey());
    setup.publish("acme/web", "1.1.0");

    let (_, notes) = setup
        .lock(&project, Unlock::All)
        .expect("follows the rotation");
    assert_eq!(setup.locked_version(&project, "acme/web"), "1.1.0");
    assert!(
        notes.contains(&format!(
            "rotated its key from `{}` to `{}` in a statement the old key signed",
            threatpack::transparency::key::vkey_id(old.vkey()),
            threatpack::transparency::key::vkey_id(new.vkey())
        )),
        "{notes}"
    );
    let lockfile = std::fs::read_to_string(project.join("threatpack.lock")).expect("a lockfile");
    assert!(
        lockfile.contains(&format!("key = \"{}\"\ntrusted = \"rotated\"", new.vkey())),
        "{lockfile}"
    );

    // A key replaced without a rotation (the key file lost and made anew) is refused.
    std::fs::remove_file(data.join("registry-key")).expect("remove the key");
    restart(&mut setup);
    assert!(
        setup
            .started
            .server
            .stderr()
            .contains("warning: no registry key was found, so a new one was made, but this registry already serves packs"),
        "{}",
        setup.started.server.stderr()
    );
    setup.publish("acme/web", "1.2.0");
    assert_refused(
        setup.lock(&project, Unlock::All),
        &["not by the registry key you pinned"],
    );
    assert_eq!(setup.locked_version(&project, "acme/web"), "1.1.0");
}

/// The proxy forwards faithfully: without an attack, locking through it works and its
/// recordings are the registry's own answers (what makes the tests above mean something).
#[test]
fn without_an_attack_the_proxy_is_transparent() {
    let setup = Setup::new(&[]);
    setup.publish("acme/web", "1.0.0");
    let project = setup.project("shop", "\"acme/web\" = \"^1.0\"\n");
    setup.lock(&project, Unlock::Nothing).expect("locks");
    let recorded = setup.proxy.recorded("/api/v1/packs/acme/web");
    let envelope = envelope_of(&recorded);
    assert_eq!(
        envelope.body_sha256,
        threatpack::digest::sha256_hex(&recorded.body)
    );
}
