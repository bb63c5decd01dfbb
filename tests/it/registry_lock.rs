//! Registry dependencies end to end: the real binary builds, signs and publishes packs to the
//! real registry (in this process, on `127.0.0.1:0`), then a project and a pack lock, fetch,
//! verify and use them — and refuse altered bytes, untrusted keys and unlocked changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use threatpack::lockfile::Lockfile;
use threatpack::signing::{GeneratedKey, generate_key};

use crate::registry_client::{Registry, http, start_registry, write_small_pack};
use crate::support::Run;

pub(crate) struct Setup {
    pub(crate) registry: Registry,
    pub(crate) work: tempfile::TempDir,
    pub(crate) key: GeneratedKey,
    pub(crate) secret_path: PathBuf,
}

impl Setup {
    /// A registry with the namespaces `vendor` and `acme`, both trusting one publisher key.
    pub(crate) fn new() -> Setup {
        let registry = start_registry();
        let work = tempfile::tempdir().expect("a temporary directory");
        let key = generate_key(None).expect("a key");
        for namespace in ["vendor", "acme"] {
            register(&registry, namespace, &key.public);
        }
        let secret_path = work.path().join("publisher.key");
        std::fs::write(&secret_path, &key.secret).expect("write the key");
        Setup {
            registry,
            work,
            key,
            secret_path,
        }
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.work.path().join(relative)
    }

    /// Runs the binary in `directory` with this setup's registry, cache and configuration.
    pub(crate) fn run(&self, directory: &Path, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_threatpack"))
            .args(args)
            .current_dir(directory)
            .env("NO_COLOR", "1")
            .env("THREATPACK_REGISTRY", &self.registry.url)
            .env("THREATPACK_TOKEN", &self.registry.admin)
            .env("THREATPACK_CONFIG_DIR", self.path("config"))
            .env("THREATPACK_CACHE_DIR", self.path("cache"))
            .output()
            .expect("the threatpack binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Writes, builds (resolving its registry dependencies), signs and publishes a small pack;
    /// returns the published bundle's `sha256:` digest.
    pub(crate) fn publish(&self, name: &str, version: &str, dependencies: &str) -> String {
        self.publish_edited(name, version, dependencies, |_| {})
    }

    /// `publish`, with `edit` changing the pack's files before the build.
    pub(crate) fn publish_edited(
        &self,
        name: &str,
        version: &str,
        dependencies: &str,
        edit: impl Fn(&Path),
    ) -> String {
        let directory = self.path(&format!("src/{}-{version}", name.replace('/', "_")));
        write_small_pack(&directory, name, version, "A small pack.", dependencies);
        edit(&directory);
        let out = self.path("dist");
        let run = self.run(
            self.work.path(),
            &[
                "build",
                &directory.to_string_lossy(),
                "--sign",
                &self.secret_path.to_string_lossy(),
                "--out",
                &out.to_string_lossy(),
            ],
        );
        succeeded(&run);
        let file = format!("{}-{version}-all.tar.gz", name.replace('/', "_"));
        let bundle = out.join(file);
        let run = self.run(self.work.path(), &["publish", &bundle.to_string_lossy()]);
        succeeded(&run);
        let bytes = std::fs::read(&bundle).expect("the bundle");
        threatpack::digest::sha256(&bytes)
    }

    /// A project using `dependencies`, with a model of one public service.
    pub(crate) fn project(&self, name: &str, dependencies: &str, trust: &str) -> PathBuf {
        let directory = self.path(name);
        std::fs::create_dir_all(&directory).expect("create the project");
        std::fs::write(
            directory.join("threatpack.toml"),
            format!(
                "[project]\nname = \"{name}\"\nmodel = \"model.toml\"\n\n[dependencies]\n{dependencies}\n[trust]\n{trust}"
            ),
        )
        .expect("write threatpack.toml");
        std::fs::write(
            directory.join("model.toml"),
            "[model]\nname = \"Tiny\"\n\n[[component]]\nid = \"api\"\nkind = \"service\"\nproperties = { public = true }\n",
        )
        .expect("write the model");
        directory
    }
}

pub(crate) fn register(registry: &Registry, namespace: &str, public_key: &str) {
    let (status, answer) = http(
        registry,
        "POST",
        "/namespaces",
        &format!(r#"{{"name":"{namespace}","owners":["security@{namespace}.example"]}}"#),
    );
    assert_eq!(status, 201, "{answer}");
    add_key(registry, namespace, public_key);
}

fn add_key(registry: &Registry, namespace: &str, public_key: &str) {
    let (status, answer) = http(
        registry,
        "POST",
        &format!("/namespaces/{namespace}/keys"),
        &serde_json::json!({ "public_key": public_key }).to_string(),
    );
    assert!(status == 201 || status == 200, "{answer}");
}

pub(crate) fn succeeded(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

pub(crate) fn failed(run: &Run, message: &str) {
    assert_ne!(run.code, 0, "expected a failure:\n{}", run.stdout);
    assert!(
        run.stderr.contains(message),
        "expected `{message}` in:\n{}",
        run.stderr
    );
}

pub(crate) fn read_lock(directory: &Path) -> Lockfile {
    let text = std::fs::read_to_string(directory.join("threatpack.lock")).expect("the lockfile");
    Lockfile::parse("threatpack.lock", &text).expect("a valid lockfile")
}

pub(crate) fn blob_on_disk(registry: &Registry, checksum: &str) -> PathBuf {
    let hex = checksum.trim_start_matches("sha256:");
    let mut pending = vec![registry.data.path().to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("read the data directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|name| name == hex) {
                return path;
            }
        }
    }
    panic!("no blob {hex} under the registry's data directory");
}

#[test]
fn publish_then_lock_fetch_verify_and_apply_as_a_project_and_build_on_a_registry_pack() {
    let setup = Setup::new();
    let base = setup.publish("vendor/base", "1.0.0", "");
    // A pack with a registry dependency builds from the fetched bundle and records its digest.
    let policy = setup.publish("acme/policy", "1.0.0", "\"vendor/base\" = \"^1.0\"\n");
    let policy_source = setup.path("src/acme_policy-1.0.0");
    let pack_lock = read_lock(&policy_source);
    assert_eq!(
        pack_lock.pack("vendor/base").map(|pack| &pack.checksum),
        Some(&base)
    );
    let run = setup.run(
        setup.work.path(),
        &[
            "inspect",
            &setup
                .path("dist/acme_policy-1.0.0-all.tar.gz")
                .to_string_lossy(),
            "--format",
            "json",
        ],
    );
    succeeded(&run);
    let inspected: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let dependency = &inspected["manifest"]["dependencies"][0];
    assert_eq!(dependency["name"], "vendor/base");
    assert_eq!(dependency["digest"], base.as_str());
    assert_eq!(
        dependency["source"],
        format!("registry:{}", setup.registry.url).as_str()
    );

    // `check` reads the locked dependency from the cache, so references into it are checked.
    std::fs::create_dir_all(policy_source.join("overrides")).expect("create overrides/");
    std::fs::write(
        policy_source.join("overrides/base.toml"),
        "[[override]]\ntarget = \"vendor/base:attack-pattern/spoofin\"\nreason = \"Our gateway authenticates every call.\"\nseverity = \"low\"\n",
    )
    .expect("write an override");
    let run = setup.run(&policy_source, &["check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("spoofin"), "{}", run.stderr);
    std::fs::remove_file(policy_source.join("overrides/base.toml")).expect("remove it");

    // A project locks the pack and, transitively, its dependency; the first key is trusted on
    // first use and recorded.
    let project = setup.project("shop", "\"acme/policy\" = \"^1.0\"\n", "");
    let run = setup.run(&project, &["lock"]);
    succeeded(&run);
    assert!(run.stderr.contains("on first use"), "{}", run.stderr);
    let lock = read_lock(&project);
    let locked: Vec<(&str, &str)> = lock
        .packs
        .iter()
        .map(|pack| (pack.name.as_str(), pack.version.as_str()))
        .collect();
    assert_eq!(locked, [("acme/policy", "1.0.0"), ("vendor/base", "1.0.0")]);
    assert_eq!(
        lock.pack("acme/policy").map(|pack| &pack.checksum),
        Some(&policy)
    );
    assert!(
        lock.packs
            .iter()
            .all(|pack| pack.signer == setup.key.key_id)
    );
    assert_eq!(lock.keys.len(), 2, "{lock:?}");
    assert!(lock.keys.iter().all(|key| key.trusted == "first-use"));

    // Locking again changes nothing: the file is not rewritten.
    let before = std::fs::read(project.join("threatpack.lock")).expect("the lockfile");
    let modified = std::fs::metadata(project.join("threatpack.lock"))
        .and_then(|metadata| metadata.modified())
        .expect("mtime");
    let run = setup.run(&project, &["lock", "--locked"]);
    succeeded(&run);
    assert!(run.stderr.contains("up to date"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(project.join("threatpack.lock")).expect("lock"),
        before
    );
    assert_eq!(
        std::fs::metadata(project.join("threatpack.lock"))
            .and_then(|metadata| metadata.modified())
            .expect("mtime"),
        modified
    );

    // Fetch verifies what `lock` already brought into the cache, verified, when it compared
    // each bundle's signed dependencies with the index's (issue 13); again even offline.
    let run = setup.run(&project, &["fetch"]);
    succeeded(&run);
    assert!(
        run.stderr.contains("0 downloaded, 2 from the cache"),
        "{}",
        run.stderr
    );
    let run = setup.run(&project, &["fetch", "--offline", "--locked"]);
    succeeded(&run);
    assert!(run.stderr.contains("2 from the cache"), "{}", run.stderr);

    // Apply in the project: the locked pack's knowledge on the project's model.
    let run = setup.run(
        &project,
        &["apply", "--locked", "--offline", "--format", "json"],
    );
    succeeded(&run);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["pack"]["name"], "acme/policy", "{}", run.stdout);
    let threats = report["threats"].as_array().expect("threats");
    assert!(
        threats.iter().any(|threat| threat["element"] == "api"
            && threat["attack-pattern"]
                .as_str()
                .is_some_and(|id| id.ends_with("spoofing"))),
        "{}",
        run.stdout
    );

    // A project using several packs compiles them together, one version of each.
    let both = setup.project(
        "both",
        "\"acme/policy\" = \"^1.0\"\n\"vendor/base\" = \"^1.0\"\n",
        "",
    );
    // Both packs declare an entity `service`: the model must say which.
    let run = setup.run(&both, &["apply"]);
    failed(&run, "`service` names 2 entities");
    std::fs::write(
        both.join("model.toml"),
        "[model]\nname = \"Tiny\"\n\n[[component]]\nid = \"api\"\nkind = \"vendor/base:entity/service\"\nproperties = { public = true }\n",
    )
    .expect("write the model");
    let run = setup.run(&both, &["apply", "--format", "json"]);
    succeeded(&run);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["pack"]["name"], "project/both", "{}", run.stdout);
    let attack_patterns: std::collections::BTreeSet<&str> = report["threats"]
        .as_array()
        .expect("threats")
        .iter()
        .filter_map(|threat| threat["attack-pattern"].as_str())
        .collect();
    assert_eq!(
        attack_patterns.into_iter().collect::<Vec<_>>(),
        ["vendor/base:attack-pattern/spoofing"],
        "{}",
        run.stdout
    );
    // A project name with quotes, a backslash and non-ASCII letters (issue 12: the root
    // manifest was once written with Rust escapes that TOML does not have).
    let manifest = std::fs::read_to_string(both.join("threatpack.toml")).expect("read");
    std::fs::write(
        both.join("threatpack.toml"),
        manifest.replace(
            "name = \"both\"",
            r#"name = "Bob's \"Boutique\" Café \\ shop""#,
        ),
    )
    .expect("rename the project");
    let run = setup.run(&both, &["apply", "--format", "json"]);
    succeeded(&run);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(
        report["pack"]["name"], "project/bob-s-boutique-caf-shop",
        "{}",
        run.stdout
    );

    // The same bytes, altered in the cache, are refused offline and replaced online.
    let cached = setup
        .path("cache/bundles")
        .join(format!("{}.tar.gz", policy.trim_start_matches("sha256:")));
    let mut bytes = std::fs::read(&cached).expect("the cached bundle");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&cached, &bytes).expect("alter the cache");
    let run = setup.run(&project, &["fetch", "--offline"]);
    failed(&run, "threatpack.lock records");
    let run = setup.run(&project, &["fetch"]);
    succeeded(&run);
    assert!(run.stderr.contains("1 downloaded"), "{}", run.stderr);
}

#[test]
fn a_blob_altered_on_the_registry_is_never_served_and_nothing_is_cached() {
    let setup = Setup::new();
    let base = setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"1\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    // `lock` fetched and verified the bundle to compare its signed dependencies with the
    // index's (issue 13): empty the cache, so that `fetch` downloads the altered blob.
    std::fs::remove_dir_all(setup.path("cache/bundles")).expect("empty the cache");
    let blob = blob_on_disk(&setup.registry, &base);
    let mut bytes = std::fs::read(&blob).expect("the blob");
    bytes[100] ^= 0x01;
    std::fs::write(&blob, &bytes).expect("alter the blob");
    // The registry checks a blob against its digest before serving it (issue 13): the altered
    // bytes never leave it.
    let run = setup.run(&project, &["fetch"]);
    failed(&run, "downloading `vendor/base` 1.0.0");
    failed(&run, "is missing or damaged on the registry");
    assert!(
        !setup
            .path("cache/bundles")
            .join(format!("{}.tar.gz", base.trim_start_matches("sha256:")))
            .exists(),
        "an altered bundle must not reach the cache"
    );
    let run = setup.run(&project, &["apply"]);
    failed(&run, "is missing or damaged on the registry");
}

#[test]
fn a_yanked_version_is_not_chosen_afresh_but_stays_usable_under_a_lockfile() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    setup.publish("vendor/base", "1.1.0", "");
    // A pre-release is not chosen by `^1.0`.
    setup.publish("vendor/base", "1.2.0-rc.1", "");
    let run = setup.run(
        &project,
        &[
            "yank",
            "vendor/base@1.0.0",
            "--reason",
            "wrong severity for spoofing",
        ],
    );
    succeeded(&run);

    // The locked, now yanked, version stays: lock keeps it and fetch gets it.
    let run = setup.run(&project, &["fetch"]);
    succeeded(&run);
    assert_eq!(
        read_lock(&project)
            .pack("vendor/base")
            .map(|pack| pack.version.as_str()),
        Some("1.0.0")
    );
    // A fresh resolution picks the newest non-yanked release.
    let fresh = setup.project("fresh", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&fresh, &["lock"]));
    assert_eq!(
        read_lock(&fresh)
            .pack("vendor/base")
            .map(|pack| pack.version.as_str()),
        Some("1.1.0")
    );
    // `update` says it is yanked... and moves off it; with --locked it refuses to.
    let run = setup.run(&project, &["update", "--locked"]);
    failed(&run, "--locked forbids");
    failed(&run, "updating vendor/base 1.0.0 -> 1.1.0");
    let run = setup.run(&project, &["update", "vendor/base"]);
    succeeded(&run);
    assert_eq!(
        read_lock(&project)
            .pack("vendor/base")
            .map(|pack| pack.version.as_str()),
        Some("1.1.0")
    );
    // Only yanked versions match: a clear error.
    let pinned = setup.project("pinned", "\"vendor/base\" = \"=1.0.0\"\n", "");
    let run = setup.run(&pinned, &["lock"]);
    failed(&run, "no matching version is usable (1.0.0 yanked)");
    assert!(!pinned.join("threatpack.lock").exists());
}

#[test]
fn only_trusted_keys_are_accepted_and_a_new_key_is_not_trusted_silently() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    // [trust] names another key: the registry's own key list does not matter.
    let other = generate_key(None).expect("a key");
    let other_path = setup.path("other.pub");
    std::fs::write(&other_path, &other.public).expect("write");
    let strict = setup.project(
        "strict",
        "\"vendor/base\" = \"1\"\n",
        &format!("vendor = [\"{}\"]\n", other_path.display()),
    );
    let run = setup.run(&strict, &["lock"]);
    failed(&run, &format!("signed by key {}", setup.key.key_id));
    failed(&run, "[trust] lists only");
    // The right key in [trust]: locked as configured.
    let trusted_path = setup.path("publisher.pub");
    std::fs::write(&trusted_path, &setup.key.public).expect("write");
    let configured = setup.project(
        "configured",
        "\"vendor/base\" = \"1\"\n",
        &format!("vendor = [\"{}\"]\n", trusted_path.display()),
    );
    succeeded(&setup.run(&configured, &["fetch"]));
    assert_eq!(read_lock(&configured).keys[0].trusted, "configured");

    // Trusted on first use, then the publisher signs with a new key: refused until verified.
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    let rotated = generate_key(None).expect("a key");
    add_key(&setup.registry, "vendor", &rotated.public);
    std::fs::write(&setup.secret_path, &rotated.secret).expect("switch keys");
    setup.publish("vendor/base", "1.1.0", "");
    let run = setup.run(&project, &["update"]);
    failed(&run, &format!("signed by key {}", rotated.key_id));
    failed(&run, "threatpack.lock trusts only");
    assert_eq!(
        read_lock(&project)
            .pack("vendor/base")
            .map(|pack| pack.version.as_str()),
        Some("1.0.0")
    );
}

#[test]
fn locked_and_offline_fail_clearly_when_they_cannot_be_honoured() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"1\"\n", "");
    let run = setup.run(&project, &["fetch", "--locked"]);
    failed(&run, "is missing and --locked forbids writing it");
    let run = setup.run(&project, &["lock", "--offline"]);
    failed(&run, "--offline forbids");
    assert!(!project.join("threatpack.lock").exists());
    succeeded(&setup.run(&project, &["lock"]));
    // A new requirement the lockfile does not answer.
    std::fs::write(
        project.join("threatpack.toml"),
        "[project]\nname = \"shop\"\n\n[dependencies]\n\"vendor/base\" = \"1\"\n\"acme/other\" = \"1\"\n",
    )
    .expect("rewrite");
    let run = setup.run(&project, &["lock", "--locked"]);
    failed(&run, "no pack `acme/other`");
    // A broken lockfile names itself, the line and what to do.
    std::fs::write(
        project.join("threatpack.lock"),
        "version = 1\n[[pack]]\nname = 3\n",
    )
    .expect("write");
    let run = setup.run(&project, &["fetch"]);
    failed(&run, "threatpack.lock` line 3");
    failed(&run, "run `threatpack lock`");
}

#[test]
fn update_lists_what_changed_upstream_in_each_overridden_item() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let policy = setup.path("policy");
    write_small_pack(
        &policy,
        "acme/policy",
        "1.0.0",
        "Policy.",
        "\"vendor/base\" = \"^1.0\"\n",
    );
    std::fs::create_dir_all(policy.join("overrides")).expect("create overrides/");
    std::fs::write(
        policy.join("overrides/base.toml"),
        "[[override]]\ntarget = \"vendor/base:attack-pattern/spoofing\"\nreason = \"Our gateway authenticates every call.\"\nseverity = \"low\"\n\n[[override]]\ntarget = \"vendor/base:mitigation/authentication\"\nreason = \"Acme SSO.\"\nimplementation = \"Use Acme SSO.\"\n",
    )
    .expect("write the overrides");
    succeeded(&setup.run(&policy, &["lock"]));
    // Upstream raises the severity of the overridden attack pattern (a minor change).
    setup.publish_edited("vendor/base", "1.1.0", "", |directory| {
        let file = directory.join("attack-patterns/spoofing.toml");
        let text = std::fs::read_to_string(&file).expect("read");
        let text = text.replace("severity = \"high\"", "severity = \"critical\"");
        std::fs::write(&file, text).expect("write");
    });
    let run = setup.run(&policy, &["update"]);
    succeeded(&run);
    assert!(
        run.stdout.contains(
            "vendor/base 1.0.0 -> 1.1.0: upstream changes to the 2 items this pack overrides"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("vendor/base:attack-pattern/spoofing (overridden at "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("`severity`: \"high\" → \"critical\""),
        "{}",
        run.stdout
    );
    let mitigation = run
        .stdout
        .split("vendor/base:mitigation/authentication")
        .nth(1)
        .expect("the mitigation override is listed");
    assert!(mitigation.contains("unchanged upstream"), "{}", run.stdout);
}

#[test]
fn an_under_bumped_version_is_refused_at_publish_unless_the_violation_is_stated() {
    use threatpack_registry::store::Store;
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let widen = |directory: &Path| {
        let file = directory.join("attack-patterns/spoofing.toml");
        let text = std::fs::read_to_string(&file).expect("read");
        std::fs::write(
            &file,
            text.replace("condition = \"self.public\"", "condition = \"true\""),
        )
        .expect("write");
    };
    // 1.0.1 widens a condition: a major change. Built and signed, but refused, and not stored.
    let directory = setup.path("src/widened");
    write_small_pack(&directory, "vendor/base", "1.0.1", "A small pack.", "");
    widen(&directory);
    let out = setup.path("dist");
    let (directory_text, secret, out_text) = (
        directory.to_string_lossy().into_owned(),
        setup.secret_path.to_string_lossy().into_owned(),
        out.to_string_lossy().into_owned(),
    );
    succeeded(&setup.run(
        setup.work.path(),
        &[
            "build",
            &directory_text,
            "--sign",
            &secret,
            "--out",
            &out_text,
        ],
    ));
    let bundle = out.join("vendor_base-1.0.1-all.tar.gz");
    let bundle_text = bundle.to_string_lossy().into_owned();
    let run = setup.run(setup.work.path(), &["publish", &bundle_text]);
    failed(&run, "`vendor/base` 1.0.1 is under-bumped");
    failed(&run, "need a major bump (at least 2.0.0)");
    failed(&run, "vendor/base:attack-pattern/spoofing");
    let (status, index) = http(&setup.registry, "GET", "/packs/vendor/base", "");
    assert_eq!(status, 200);
    assert!(!index.contains("\"1.0.1\""), "{index}");

    // Stated with a reason: published, recorded in the index and the audit log.
    let run = setup.run(
        setup.work.path(),
        &[
            "publish",
            &bundle_text,
            "--allow-semver-violation",
            "emergency fix agreed with consumers",
        ],
    );
    succeeded(&run);
    assert!(
        run.stdout
            .contains("the changes need a major bump; declared patch"),
        "{}",
        run.stdout
    );
    let (_, index) = http(&setup.registry, "GET", "/packs/vendor/base", "");
    let body = &index[index.find('{').expect("a JSON body")..];
    let index: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let semver = &index["versions"][1]["semver"];
    assert_eq!(semver["baseline"], "1.0.0", "{index}");
    assert_eq!(semver["required"], "major");
    assert_eq!(semver["declared"], "patch");
    assert_eq!(
        semver["allowed-violation"],
        "emergency fix agreed with consumers"
    );
    assert!(
        index["versions"][0]["semver"].is_null(),
        "a first version has no baseline"
    );
    let audit = setup.registry.store.audit_log(5).expect("the audit log");
    assert!(
        audit.iter().any(|entry| entry.target == "vendor/base@1.0.1"
            && entry.detail.contains("semver violation allowed (required major, declared patch): emergency fix agreed with consumers")),
        "{audit:?}"
    );

    // A version bumped enough needs no statement.
    setup.publish_edited("vendor/base", "2.0.0", "", widen);
}

/// Issue 13: a version built `--tier top` after a whole 1.0.0 is no patch of it. The registry
/// refuses it unless the publisher states why, and a consumer gets the tier it asks for (none:
/// the whole pack), never another one.
#[test]
fn a_consumer_gets_the_tier_it_asks_for_and_never_another_one_silently() {
    let setup = Setup::new();
    let whole = setup.publish("vendor/base", "1.0.0", "");
    let directory = setup.path("src/top");
    write_small_pack(&directory, "vendor/base", "1.0.1", "A small pack.", "");
    let out = setup.path("dist");
    let (directory_text, secret, out_text) = (
        directory.to_string_lossy().into_owned(),
        setup.secret_path.to_string_lossy().into_owned(),
        out.to_string_lossy().into_owned(),
    );
    succeeded(&setup.run(
        setup.work.path(),
        &[
            "build",
            &directory_text,
            "--tier",
            "top",
            "--sign",
            &secret,
            "--out",
            &out_text,
        ],
    ));
    let bundle = out.join("vendor_base-1.0.1-top.tar.gz");
    let bundle_text = bundle.to_string_lossy().into_owned();
    let run = setup.run(setup.work.path(), &["publish", &bundle_text]);
    failed(&run, "built for tier top, which no earlier version has");
    succeeded(&setup.run(
        setup.work.path(),
        &[
            "publish",
            &bundle_text,
            "--allow-semver-violation",
            "a top tier for small teams",
        ],
    ));
    let top = threatpack::digest::sha256(&std::fs::read(&bundle).expect("the bundle"));

    let locked = |name: &str, dependency: &str| {
        let project = setup.project(name, dependency, "");
        succeeded(&setup.run(&project, &["lock"]));
        let text = std::fs::read_to_string(project.join("threatpack.lock")).expect("the lock");
        let lock = Lockfile::parse("threatpack.lock", &text).expect("a lockfile");
        let pack = lock.pack("vendor/base").expect("locked").clone();
        (pack.version, pack.checksum, pack.tier)
    };
    assert_eq!(
        locked("whole", "\"vendor/base\" = \"^1.0\"\n"),
        ("1.0.0".to_string(), whole, None)
    );
    assert_eq!(
        locked(
            "small",
            "\"vendor/base\" = { version = \"^1.0\", tier = \"top\" }\n"
        ),
        ("1.0.1".to_string(), top, Some("top".to_string()))
    );
    let project = setup.project("pinned", "\"vendor/base\" = \"=1.0.1\"\n", "");
    failed(
        &setup.run(&project, &["lock"]),
        "only versions built for another tier match (1.0.1 (tier top))",
    );

    // `semver-check` chooses its default baseline as the registry's gate does: in the tier.
    let next = setup.path("src/next");
    write_small_pack(&next, "vendor/base", "1.0.2", "A small pack.", "");
    let next_text = next.to_string_lossy().into_owned();
    let run = setup.run(setup.work.path(), &["semver-check", &next_text]);
    succeeded(&run);
    assert!(run.stdout.contains("vendor/base@1.0.0"), "{}", run.stdout);
    let run = setup.run(
        setup.work.path(),
        &["semver-check", &next_text, "--tier", "top"],
    );
    succeeded(&run);
    assert!(run.stdout.contains("vendor/base@1.0.1"), "{}", run.stdout);
}
