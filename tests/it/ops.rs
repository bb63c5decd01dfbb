//! The operations layer as a consuming tool calls it (`threatpack::ops`, the calls of
//! examples/consuming_tool.rs) against the real registry on loopback; its typed errors; and
//! the CLI behaviour it brings: `update` fetches what it locks, a project with only
//! `[dependencies]`, and `--format json` on lock, update, fetch, test and verify.

use std::path::{Path, PathBuf};

use threatpack::ops::{
    self, ApplyOptions, DependencyOptions, Error, KnowledgeOptions, KnowledgeSource, LockChange,
    LockOptions, NoProgress, Unlock,
};

use crate::registry_lock::{Setup, failed, read_lock, succeeded};

/// The options the example uses (`KnowledgeOptions::locked_project`), with this setup's
/// registry and cache instead of the environment's.
fn locked_project(setup: &Setup, directory: &Path) -> KnowledgeOptions {
    KnowledgeOptions {
        source: KnowledgeSource::Project(directory.to_path_buf()),
        dependencies: dependencies(setup, true, false),
    }
}

fn dependencies(setup: &Setup, locked: bool, offline: bool) -> DependencyOptions {
    DependencyOptions {
        registry: Some(setup.registry.url.clone()),
        locked,
        offline,
        cache: Some(setup.path("cache")),
        allow_expired_index: false,
    }
}

/// A project with only `[dependencies]`, and a model in `model.toml`.
fn bare_project(setup: &Setup, name: &str, dependencies: &str) -> PathBuf {
    let directory = setup.path(name);
    std::fs::create_dir_all(&directory).expect("create the project");
    std::fs::write(
        directory.join("threatpack.toml"),
        format!("[dependencies]\n{dependencies}"),
    )
    .expect("write threatpack.toml");
    std::fs::write(
        directory.join("model.toml"),
        "[model]\nname = \"Tiny\"\n\n[[component]]\nid = \"api\"\nkind = \"service\"\nproperties = { public = true }\n",
    )
    .expect("write the model");
    directory
}

#[test]
fn a_tool_locks_loads_the_verified_knowledge_applies_it_and_walks_the_threats() {
    let setup = Setup::new();
    let base = setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");

    // Locked, and no lockfile yet: the typed error names the file.
    match ops::load_knowledge(&locked_project(&setup, &project), &NoProgress) {
        Err(Error::LockfileMissing { path }) => assert_eq!(path, project.join("threatpack.lock")),
        other => panic!("expected LockfileMissing, got {other:?}"),
    }
    let locked = ops::lock(
        &project,
        &LockOptions {
            dependencies: dependencies(&setup, false, false),
            unlock: Unlock::Nothing,
            fetch: false,
        },
        &NoProgress,
    )
    .expect("lock")
    .expect("registry dependencies");
    assert!(locked.written);
    assert_eq!(
        locked.changes,
        [LockChange {
            name: "vendor/base".to_string(),
            from: None,
            to: Some("1.0.0".to_string()),
        }]
    );
    // `lock` checked the bundle's signed dependencies, so it is in the cache (issue 13); from
    // an empty cache, offline, the error says the pack is not there.
    std::fs::remove_dir_all(setup.path("cache/bundles")).expect("empty the cache");
    let offline = KnowledgeOptions {
        dependencies: dependencies(&setup, true, true),
        ..locked_project(&setup, &project)
    };
    match ops::load_knowledge(&offline, &NoProgress) {
        Err(Error::NotCached { packs, .. }) => assert_eq!(packs, ["`vendor/base` 1.0.0"]),
        other => panic!("expected NotCached, got {other:?}"),
    }

    // What the example does: load (fetching and verifying), apply, walk the threats.
    let knowledge =
        ops::load_knowledge(&locked_project(&setup, &project), &NoProgress).expect("knowledge");
    assert_eq!(knowledge.kb.pack, "vendor/base");
    let report = ops::apply(&knowledge, &ApplyOptions::default()).expect("a report");
    assert_eq!(report.model.name, "Tiny");
    let threat = report
        .threats
        .iter()
        .find(|threat| threat.element == "api")
        .expect("a threat on the api");
    assert!(threat.attack_pattern.ends_with("spoofing"), "{threat:?}");
    assert!(
        threat
            .mitigations
            .iter()
            .any(|mitigation| mitigation.mitigation.ends_with("authentication")),
        "{threat:?}"
    );
    // Now cached: offline works too, and the bundle is the one published.
    let fetched = ops::fetch(&project, &dependencies(&setup, true, true), &NoProgress)
        .expect("fetch")
        .expect("packs");
    assert_eq!(fetched.packs[0].pack.checksum, base);
    assert!(!fetched.packs[0].downloaded);

    // A newer version: `--locked` refuses to move to it, with the change as data.
    setup.publish("vendor/base", "1.1.0", "");
    let update = |locked: bool| {
        ops::lock(
            &project,
            &LockOptions {
                dependencies: dependencies(&setup, locked, false),
                unlock: Unlock::All,
                fetch: true,
            },
            &NoProgress,
        )
    };
    match update(true) {
        Err(Error::LockfileWouldChange { changes, .. }) => assert_eq!(
            changes,
            [LockChange {
                name: "vendor/base".to_string(),
                from: Some("1.0.0".to_string()),
                to: Some("1.1.0".to_string()),
            }]
        ),
        other => panic!("expected LockfileWouldChange, got {other:?}"),
    }
    let updated = update(false).expect("update").expect("packs");
    assert_eq!(updated.fetched.len(), 1);
    assert!(updated.fetched[0].downloaded);

    // A model that does not bind: the diagnostics as data.
    std::fs::write(
        project.join("model.toml"),
        "[model]\nname = \"Tiny\"\n\n[[component]]\nid = \"api\"\nkind = \"servise\"\n",
    )
    .expect("write the model");
    let knowledge =
        ops::load_knowledge(&locked_project(&setup, &project), &NoProgress).expect("knowledge");
    match ops::apply(&knowledge, &ApplyOptions::default()) {
        Err(Error::ModelHasErrors { diagnostics, .. }) => {
            assert!(!diagnostics.is_empty());
        }
        other => panic!("expected ModelHasErrors, got {other:?}"),
    }
    // Not a project, and a pack with errors.
    match ops::load_knowledge(
        &locked_project(&setup, &setup.path("nothing-here")),
        &NoProgress,
    ) {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn a_pack_with_errors_is_a_typed_error_with_its_diagnostics() {
    let directory = crate::support::write_fixture(
        "--- pack.toml\n[pack]\nformat = 1\nname = \"test/broken\"\nversion = \"1.0.0\"\ndescription = \"Broken.\"\nlicense = \"MIT\"\n--- attack-patterns/a.toml\n[[attack-pattern]]\nid = \"a\"\n",
    );
    let options = KnowledgeOptions {
        source: KnowledgeSource::Pack {
            path: directory.path().to_path_buf(),
            tier: None,
        },
        dependencies: DependencyOptions::default(),
    };
    match ops::load_knowledge(&options, &NoProgress) {
        Err(Error::PackHasErrors { diagnostics, .. }) => assert!(!diagnostics.is_empty()),
        other => panic!("expected PackHasErrors, got {other:?}"),
    }
}

/// Issue 12: `apply --locked --offline` right after `update` failed, since `update` did not
/// fetch.
#[test]
fn update_fetches_what_it_locks_so_apply_locked_offline_works_right_after() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    // `lock` leaves the bundles it checked in the cache (issue 13); from an empty cache the
    // pack is not there, offline.
    std::fs::remove_dir_all(setup.path("cache/bundles")).expect("empty the cache");
    let run = setup.run(&project, &["apply", "--locked", "--offline"]);
    failed(&run, "not in the cache");
    failed(&run, "run `threatpack fetch` once while online");
    setup.publish("vendor/base", "1.1.0", "");
    let run = setup.run(&project, &["update"]);
    succeeded(&run);
    assert!(
        run.stderr.contains("updating vendor/base 1.0.0 -> 1.1.0"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("fetched 1 pack"), "{}", run.stderr);
    let run = setup.run(&project, &["apply", "--locked", "--offline"]);
    succeeded(&run);
    assert!(run.stdout.contains("vendor/base 1.1.0"), "{}", run.stdout);
    // `-v` lists what each step does; `-q` keeps status lines off stderr.
    let run = setup.run(&project, &["fetch", "-v"]);
    succeeded(&run);
    assert!(
        run.stderr.contains("fetching: 1\n  vendor/base 1.1.0\n"),
        "{}",
        run.stderr
    );
    let run = setup.run(&project, &["fetch", "-q"]);
    succeeded(&run);
    assert_eq!(run.stderr, "");
}

/// Issue 12: a consuming `threatpack.toml` with only `[dependencies]` failed with "missing
/// field `project`".
#[test]
fn a_project_with_only_dependencies_takes_its_name_from_its_directory_and_model_toml() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    setup.publish("acme/policy", "1.0.0", "\"vendor/base\" = \"^1.0\"\n");
    let project = bare_project(
        &setup,
        "Bare Shop",
        "\"acme/policy\" = \"^1.0\"\n\"vendor/base\" = \"^1.0\"\n",
    );
    std::fs::write(
        project.join("model.toml"),
        "[model]\nname = \"Tiny\"\n\n[[component]]\nid = \"api\"\nkind = \"vendor/base:entity/service\"\nproperties = { public = true }\n",
    )
    .expect("write the model");
    succeeded(&setup.run(&project, &["lock"]));
    let run = setup.run(&project, &["apply", "--format", "json"]);
    succeeded(&run);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    // Several packs are compiled as the project's root pack, named after the directory.
    assert_eq!(
        report["pack"]["name"], "project/bare-shop",
        "{}",
        run.stdout
    );
    assert_eq!(report["model"]["file"], "./model.toml", "{}", run.stdout);
    // Without model.toml: what to create, or which key to set.
    std::fs::remove_file(project.join("model.toml")).expect("remove the model");
    let run = setup.run(&project, &["apply"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    failed(&run, "create `./model.toml`");
    failed(
        &run,
        "set `model = \"FILE\"` under [project] in `./threatpack.toml`",
    );
}

#[test]
fn lock_update_and_fetch_print_one_json_document() {
    let setup = Setup::new();
    let base = setup.publish("vendor/base", "1.0.0", "");
    let project = bare_project(&setup, "shop", "\"vendor/base\" = \"^1.0\"\n");
    let json = |args: &[&str]| -> serde_json::Value {
        let run = setup.run(&project, args);
        succeeded(&run);
        serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout))
    };
    let lock = json(&["lock", "--format", "json"]);
    assert_eq!(lock["written"], true);
    assert_eq!(
        lock["changes"],
        serde_json::json!([{ "name": "vendor/base", "from": null, "to": "1.0.0" }])
    );
    assert_eq!(lock["packs"][0]["checksum"], base.as_str());
    assert_eq!(lock["packs"][0]["signer"], setup.key.key_id.as_str());
    let again = json(&["lock", "--format", "json"]);
    assert_eq!(again["written"], false);
    assert_eq!(again["changes"], serde_json::json!([]));

    let fetch = json(&["fetch", "--format", "json"]);
    let pack = &fetch["packs"][0];
    assert_eq!(pack["name"], "vendor/base");
    assert_eq!(pack["digest"], base.as_str());
    assert_eq!(pack["signer"], setup.key.key_id.as_str());
    // `lock` brought it into the cache, verified, to check its signed dependencies (issue 13).
    assert_eq!(pack["from-cache"], true);
    let fetch = json(&["fetch", "--format", "json", "--offline"]);
    assert_eq!(fetch["packs"][0]["from-cache"], true);

    setup.publish("vendor/base", "1.1.0", "");
    let update = json(&["update", "--format", "json"]);
    assert_eq!(
        update["changes"],
        serde_json::json!([{ "name": "vendor/base", "from": "1.0.0", "to": "1.1.0" }])
    );
    assert_eq!(update["fetched"][0]["version"], "1.1.0");
    assert_eq!(update["fetched"][0]["from-cache"], false);
    assert_eq!(read_lock(&project).packs[0].version, "1.1.0");
}

#[test]
fn test_and_verify_print_one_json_document() {
    let repository = crate::support::repository();
    let run = crate::support::threatpack(
        &repository,
        &["test", "packs/stride-core", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let tests = results["tests"].as_array().expect("tests");
    assert!(!tests.is_empty());
    assert_eq!(results["failed"], 0);
    assert_eq!(results["passed"], tests.len());
    assert!(tests.iter().all(|test| {
        test["passed"] == true
            && test["file"]
                .as_str()
                .is_some_and(|file| file.ends_with(".toml"))
    }));

    let work = tempfile::tempdir().expect("a temporary directory");
    let pack = work.path().join("small");
    crate::registry_client::write_small_pack(&pack, "test/small", "1.0.0", "Small.", "");
    let key = threatpack::signing::generate_key(None).expect("a key");
    std::fs::write(work.path().join("k.key"), &key.secret).expect("write the key");
    std::fs::write(work.path().join("k.pub"), &key.public).expect("write the key");
    let run = crate::support::threatpack(work.path(), &["build", "small", "--sign", "k.key"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bundle = "dist/test_small-1.0.0-all.tar.gz";
    let run = crate::support::threatpack(
        work.path(),
        &["verify", bundle, "--key", "k.pub", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let verified: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let sha256 = threatpack::digest::sha256_hex(
        &std::fs::read(work.path().join(bundle)).expect("the bundle"),
    );
    assert_eq!(verified["pack"], "test/small");
    assert_eq!(verified["version"], "1.0.0");
    assert_eq!(verified["key-id"], key.key_id.as_str());
    assert_eq!(verified["sha256"], sha256.as_str());
    assert_eq!(
        verified["trusted-comment"],
        format!("threatpack-bundle pack=test/small version=1.0.0 tier=all sha256={sha256}")
            .as_str()
    );
}

#[test]
fn apply_without_a_model_outside_a_project_asks_for_one() {
    let repository = crate::support::repository();
    let run = crate::support::threatpack(&repository, &["apply", "--pack", "packs/stride-core"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: no system model: give one with --model FILE\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn build_writes_a_signed_bundle_and_test_runs_the_pack_tests_as_library_calls() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let pack = work.path().join("small");
    crate::registry_client::write_small_pack(&pack, "test/small", "1.0.0", "Small.", "");
    let key = threatpack::signing::generate_key(None).expect("a key");
    let signing_key =
        threatpack::signing::load_secret_key(&key.secret, || Err("unencrypted".to_string()))
            .expect("the key");
    let options = ops::BuildOptions {
        out: work.path().join("dist"),
        signing_key: Some(signing_key),
        ..ops::BuildOptions::default()
    };
    let built = ops::build(&pack, &options, &NoProgress).expect("a bundle");
    assert_eq!(
        built.path,
        work.path().join("dist/test_small-1.0.0-all.tar.gz")
    );
    let bytes = std::fs::read(&built.path).expect("the bundle");
    assert_eq!(built.sha256, threatpack::digest::sha256(&bytes));
    let (signature, key_id) = built.signature.expect("a signature");
    assert!(signature.is_file());
    assert_eq!(key_id, key.key_id);
    // The bundle loads back, verified against the key.
    std::fs::write(work.path().join("k.pub"), &key.public).expect("write the key");
    let kb = ops::load_bundle(&built.path, &[work.path().join("k.pub")]).expect("verified");
    assert_eq!(kb.pack, "test/small");

    // The small pack has no tests: a typed error naming the pack.
    match ops::test(&pack, &ops::TestOptions::default(), &NoProgress) {
        Err(Error::NoTests { pack: shown, .. }) => assert!(shown.ends_with("small"), "{shown}"),
        other => panic!("expected NoTests, got {other:?}"),
    }
    let stride = crate::support::repository().join("packs/stride-core");
    let outcomes = ops::test(&stride, &ops::TestOptions::default(), &NoProgress).expect("tests");
    assert!(!outcomes.is_empty());
    assert!(outcomes.iter().all(|outcome| outcome.passed()));
}

#[test]
fn versions_compare_and_semver_check_as_library_calls() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let versions = crate::support::repository().join("tests/fixtures/versions");
    let spec = |name: &str| versions.join(name).to_string_lossy().into_owned();
    let offline = DependencyOptions {
        offline: true,
        cache: Some(work.path().join("cache")),
        ..DependencyOptions::default()
    };
    let compared = ops::compare(
        &spec("1.0.0"),
        &spec("1.0.1-widened"),
        &offline,
        &NoProgress,
    )
    .expect("two pack directories compare");
    assert_eq!(compared.old.version, "1.0.0");
    assert_eq!(compared.bump.required, threatpack::versioning::Bump::Major);
    assert!(!compared.bump.reasons.is_empty());

    // 1.0.1 with a widened condition is under-bumped over 1.0.0.
    let options = ops::SemverCheckOptions {
        baseline: Some(spec("1.0.0")),
        tier: None,
        dependencies: offline.clone(),
    };
    let checked = ops::semver_check(&versions.join("1.0.1-widened"), &options, &NoProgress)
        .expect("a report");
    assert!(!checked.report.ok);
    assert_eq!(checked.declared, semver::Version::new(1, 0, 1));
    assert_eq!(checked.baseline, Some(semver::Version::new(1, 0, 0)));
    assert_eq!(checked.verdict(), ops::Verdict::UnderBumped);

    // A version that is neither a directory, a file nor name@version.
    match ops::compare("no-such-thing", &spec("1.0.0"), &offline, &NoProgress) {
        Err(Error::Other(message)) => assert!(message.contains("is neither"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(
        ops::VersionSpec::parse("acme/web@1.2.0").expect("a published version"),
        ops::VersionSpec::Published {
            name: "acme/web".to_string(),
            version: "1.2.0".to_string()
        }
    );
}

#[test]
fn keys_are_generated_bundles_signed_verified_and_inspected_as_library_calls() {
    use ops::{BundleError, GenerateKeyOptions, SignatureStatus};

    let work = tempfile::tempdir().expect("a temporary directory");
    let password = || Ok("correct horse".to_string());
    let key_options = GenerateKeyOptions {
        prefix: work.path().join("acme"),
        encrypted: true,
        force: false,
    };
    let generated = ops::generate_key_files(&key_options, &password).expect("a key pair");
    assert_eq!(generated.public, work.path().join("acme.pub"));
    assert!(generated.secret.is_file());
    match ops::generate_key_files(&key_options, &password) {
        Err(BundleError::KeyExists { path }) => assert_eq!(path, generated.secret),
        other => panic!("expected KeyExists, got {other:?}"),
    }
    let empty = GenerateKeyOptions {
        prefix: work.path().join("empty"),
        ..key_options.clone()
    };
    assert!(matches!(
        ops::generate_key_files(&empty, &|| Ok(String::new())),
        Err(BundleError::EmptyPassword)
    ));

    let pack = work.path().join("small");
    crate::registry_client::write_small_pack(&pack, "test/small", "1.0.0", "Small.", "");
    let build = ops::BuildOptions {
        out: work.path().join("dist"),
        ..ops::BuildOptions::default()
    };
    let built = ops::build(&pack, &build, &NoProgress).expect("a bundle");
    let sign = ops::SignOptions {
        bundle: built.path.clone(),
        key: generated.secret.clone(),
        out: None,
    };
    let signed = ops::sign(&sign, &password).expect("signed");
    assert_eq!(signed.key_id, generated.key_id);
    assert_eq!(signed.signature, ops::signature_path(&built.path));

    let verify = ops::VerifyOptions {
        bundle: built.path.clone(),
        keys: vec![generated.public.clone()],
        expect: Some("test/small@1.0.0".to_string()),
        ..ops::VerifyOptions::default()
    };
    let verified = ops::verify(&verify).expect("verified");
    assert_eq!(verified.verified.key_id, generated.key_id);
    assert!(
        verified
            .trusted_comment
            .starts_with("threatpack-bundle pack=test/small")
    );
    let elsewhere = ops::VerifyOptions {
        expect: Some("test/small@2.0.0".to_string()),
        ..verify.clone()
    };
    assert!(matches!(
        ops::verify(&elsewhere),
        Err(BundleError::NotExpected { .. })
    ));
    let untrusted = ops::VerifyOptions {
        keys: Vec::new(),
        ..verify
    };
    assert!(matches!(
        ops::verify(&untrusted),
        Err(BundleError::NoTrustedKey)
    ));

    let inspection = ops::inspect(&ops::InspectOptions {
        bundle: built.path.clone(),
        keys: vec![generated.public.clone()],
    })
    .expect("inspected");
    assert_eq!(
        inspection.signature,
        SignatureStatus::Verified {
            file: signed.signature.display().to_string(),
            key_id: generated.key_id.clone(),
        }
    );
    assert_eq!(inspection.counts.entities, built.kb.entities.len());
    assert!(matches!(
        ops::provenance(&built.path, "no-such-item"),
        Err(BundleError::NoSuchItem(_))
    ));
}

/// The JSON report is written as it is made (issue 12: it was built whole in memory); what
/// it writes is exactly the `Report` the library returns, serialized.
#[test]
fn the_streamed_json_report_is_the_serialized_report() {
    let repository = crate::support::repository();
    let options = threatpack::ops::KnowledgeOptions {
        source: threatpack::ops::KnowledgeSource::Pack {
            path: repository.join("packs/example-org"),
            tier: None,
        },
        dependencies: threatpack::ops::DependencyOptions {
            offline: true,
            ..threatpack::ops::DependencyOptions::default()
        },
    };
    let knowledge = threatpack::ops::load_knowledge(&options, &threatpack::ops::NoProgress)
        .expect("example-org loads");
    let apply = threatpack::ops::ApplyOptions {
        model: Some(repository.join("examples/online-shop/model.toml")),
        ..threatpack::ops::ApplyOptions::default()
    };
    let report = threatpack::ops::apply(&knowledge, &apply).expect("the shop applies");
    let mut whole = serde_json::to_string_pretty(&report).expect("a report serializes");
    whole.push('\n');
    let mut streamed = Vec::new();
    let errors = threatpack::ops::write_report_json(&knowledge, None, &apply, &mut streamed)
        .expect("the report streams");
    assert_eq!(errors, report.errors.len());
    assert!(report.threats.len() > 50, "{}", report.threats.len());
    assert_eq!(same_time(streamed, &report), whole);

    // A model without threats: empty arrays are written as the pretty printer writes them.
    let directory = tempfile::tempdir().expect("a temporary directory");
    let empty = directory.path().join("empty.toml");
    std::fs::write(&empty, "[model]\nname = \"Nothing yet\"\n").expect("write the model");
    let apply = threatpack::ops::ApplyOptions {
        model: Some(empty),
        ..threatpack::ops::ApplyOptions::default()
    };
    let report = threatpack::ops::apply(&knowledge, &apply).expect("the empty model applies");
    assert_eq!(report.provenance.model.sha256.len(), 64);
    assert!(
        (report.provenance.packs.iter()).any(|pack| pack.name == report.pack.name
            && pack.source == threatpack::analysis::report::PackSource::Directory),
        "{:?}",
        report.provenance.packs
    );
    assert!(report.threats.is_empty());
    let mut whole = serde_json::to_string_pretty(&report).expect("a report serializes");
    whole.push('\n');
    let mut streamed = Vec::new();
    threatpack::ops::write_report_json(&knowledge, None, &apply, &mut streamed)
        .expect("the report streams");
    assert_eq!(same_time(streamed, &report), whole);
}

/// The streamed report with the time of `report`: two runs may fall in different seconds.
fn same_time(streamed: Vec<u8>, report: &threatpack::analysis::report::Report) -> String {
    let text = String::from_utf8(streamed).expect("UTF-8");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let streamed_time = json["provenance"]["generated-at"].take();
    let streamed_time = streamed_time.as_str().expect("a time");
    text.replacen(streamed_time, &report.provenance.generated_at, 1)
}
