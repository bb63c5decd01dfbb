//! Versions that mean something (docs/versioning.md): `diff`, `semver-check` and `changelog`
//! on a series of releases of one pack (tests/fixtures/versions: 1.0.0 → 1.0.1 → 1.1.0 → 2.0.0,
//! and two wrongly bumped variants), on the shipped packs against modified copies, on bundles,
//! and on versions published to the real registry.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use threatpack::schema::SchemaKind;
use threatpack::versioning::Rule;

use crate::registry_lock::{Setup, blob_on_disk, register, succeeded};
use crate::support::{Run, repository, threatpack};

/// The releases of `test/web`, each with the bump its changes need.
const SERIES: [(&str, &str, &str); 3] = [
    ("1.0.0", "1.0.1", "patch"),
    ("1.0.1", "1.1.0", "minor"),
    ("1.1.0", "2.0.0", "major"),
];

fn versions() -> PathBuf {
    repository().join("tests/fixtures/versions")
}

fn json(run: &Run) -> Json {
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("the output is JSON")
}

/// Every violation of `kind`'s schema.
fn violations(kind: SchemaKind, instance: &Json) -> Vec<String> {
    let validator = threatpack::schema::compile(kind).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect()
}

fn assert_valid(kind: SchemaKind, instance: &Json) {
    let found = violations(kind, instance);
    assert!(
        found.is_empty(),
        "does not match {}: {found:#?}",
        kind.file_name()
    );
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "snapshots/versioning", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

/// What a run printed, for a snapshot.
fn shown(run: &Run) -> String {
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        run.code, run.stdout, run.stderr
    )
}

#[test]
fn the_series_needs_a_patch_then_a_minor_then_a_major_bump() {
    let directory = versions();
    for (old, new, level) in SERIES {
        let human = threatpack(&directory, &["diff", old, new]);
        let markdown = threatpack(&directory, &["diff", old, new, "--format", "markdown"]);
        let changelog = threatpack(&directory, &["changelog", old, new]);
        for run in [&human, &markdown, &changelog] {
            assert_eq!(run.code, 0, "{old} → {new}:\n{}", run.stderr);
        }
        let diff = json(&threatpack(
            &directory,
            &["diff", old, new, "--format", "json"],
        ));
        assert_valid(SchemaKind::Diff, &diff);
        assert_eq!(diff["required"], level, "{old} → {new}");
        snapshot(
            &format!("series-{old}-{new}"),
            &format!(
                "{}----- markdown -----\n{}----- changelog -----\n{}",
                human.stdout, markdown.stdout, changelog.stdout
            ),
        );
        snapshot(
            &format!("series-{old}-{new}.json"),
            &serde_json::to_string_pretty(&diff).expect("JSON"),
        );
        let check = threatpack(&directory, &["semver-check", new, "--baseline", old]);
        assert_eq!(check.code, 0, "{}", shown(&check));
        snapshot(&format!("semver-check-{new}"), &shown(&check));
        let report = json(&threatpack(
            &directory,
            &["semver-check", new, "--baseline", old, "--format", "json"],
        ));
        assert_valid(SchemaKind::SemverCheck, &report);
        assert_eq!(report["ok"], true);
        assert_eq!(report["required"], level);
    }
}

#[test]
fn a_widened_condition_without_a_major_bump_is_caught() {
    let directory = versions();
    let run = threatpack(
        &directory,
        &["semver-check", "1.0.1-widened", "--baseline", "1.0.0"],
    );
    assert_eq!(run.code, 1, "{}", shown(&run));
    assert!(
        run.stdout
            .contains("major  attack pattern test/web:attack-pattern/credential-stuffing"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("is under-bumped"), "{}", run.stderr);
    snapshot("semver-check-1.0.1-widened", &shown(&run));
    let report = threatpack(
        &directory,
        &[
            "semver-check",
            "1.0.1-widened",
            "--baseline",
            "1.0.0",
            "--format",
            "json",
        ],
    );
    assert_eq!(report.code, 1);
    let report: Json = serde_json::from_str(&report.stdout).expect("JSON");
    assert_valid(SchemaKind::SemverCheck, &report);
    assert_eq!(report["ok"], false);
    assert_eq!(report["minimum"], "2.0.0");
    assert_eq!(report["permitted"], "patch");
    let reasons = report["reasons"].as_array().expect("reasons");
    assert_eq!(reasons.len(), 1, "{reasons:#?}");
    assert_eq!(reasons[0]["rule"], "applicability-may-grow");
    assert_eq!(
        reasons[0]["item"],
        "test/web:attack-pattern/credential-stuffing"
    );
}

#[test]
fn removing_an_item_in_a_minor_release_is_caught_and_flagged_as_never_deprecated() {
    let run = threatpack(
        &versions(),
        &["semver-check", "1.1.0-breaking", "--baseline", "1.0.1"],
    );
    assert_eq!(run.code, 1, "{}", shown(&run));
    snapshot("semver-check-1.1.0-breaking", &shown(&run));
    let report = threatpack(
        &versions(),
        &[
            "semver-check",
            "1.1.0-breaking",
            "--baseline",
            "1.0.1",
            "--format",
            "json",
        ],
    );
    let report: Json = serde_json::from_str(&report.stdout).expect("JSON");
    let rules: Vec<&str> = report["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|reason| reason["item"] == "test/web:mitigation/rate-limiting")
        .filter_map(|reason| reason["rule"].as_str())
        .collect();
    assert_eq!(rules, ["item-removed", "removed-without-deprecation"]);
    // Removing what 1.1.0 deprecated is a plain removal in 2.0.0.
    let diff = json(&threatpack(
        &versions(),
        &["diff", "1.1.0", "2.0.0", "--format", "json"],
    ));
    let legacy: Vec<&str> = diff["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|reason| reason["item"] == "test/web:attack-pattern/legacy-downgrade")
        .filter_map(|reason| reason["rule"].as_str())
        .collect();
    assert_eq!(legacy, ["item-removed"]);
}

#[test]
fn a_version_below_its_baseline_or_unchanged_with_changes_is_refused() {
    let below = threatpack(
        &versions(),
        &["semver-check", "1.0.0", "--baseline", "1.0.1"],
    );
    assert_eq!(below.code, 1, "{}", shown(&below));
    assert!(
        below.stderr.contains("1.0.0 is below the baseline 1.0.1"),
        "{}",
        below.stderr
    );
    let same = threatpack(
        &versions(),
        &["semver-check", "1.0.0", "--baseline", "1.0.0"],
    );
    assert_eq!(same.code, 0, "{}", shown(&same));
    assert!(
        same.stderr.contains("no changes since 1.0.0"),
        "{}",
        same.stderr
    );
    // 1.0.1's content under 1.0.0's version: changes without a bump.
    let work = tempfile::tempdir().expect("a temporary directory");
    let copy = work.path().join("unbumped");
    copy_dir(&versions().join("1.0.1"), &copy);
    replace(
        &copy.join("pack.toml"),
        "version = \"1.0.1\"",
        "version = \"1.0.0\"",
    );
    let run = threatpack(
        work.path(),
        &[
            "semver-check",
            "unbumped",
            "--baseline",
            &versions().join("1.0.0").to_string_lossy(),
        ],
    );
    assert_eq!(run.code, 1, "{}", shown(&run));
    assert!(
        run.stderr.contains("need a patch bump (at least 1.0.1)"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_rule_is_documented_and_in_the_schema() {
    let docs = fs::read_to_string(repository().join("docs/versioning.md")).expect("the docs");
    let schema = SchemaKind::Diff.json();
    let codes: Vec<&str> = schema["$defs"]["reason"]["properties"]["rule"]["enum"]
        .as_array()
        .expect("the rule codes")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for rule in Rule::ALL {
        let row = format!("| `{}` | {} |", rule.code(), rule.level().as_str());
        assert!(
            docs.contains(&row),
            "docs/versioning.md lacks the row `{row}`"
        );
        assert!(
            codes.contains(&rule.code()),
            "`{}` is not in the schema",
            rule.code()
        );
    }
    assert_eq!(codes.len(), Rule::ALL.len(), "the schema lists other rules");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create the copy");
    for entry in fs::read_dir(from).expect("read the directory") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}

/// Replaces the one occurrence of `old` in a file.
fn replace(path: &Path, old: &str, new: &str) {
    let text = fs::read_to_string(path).expect("read the file");
    assert_eq!(
        text.matches(old).count(),
        1,
        "`{old}` in {}",
        path.display()
    );
    fs::write(path, text.replace(old, new)).expect("write the file");
}

#[test]
fn the_shipped_packs_against_modified_copies() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let packs = repository().join("packs");
    for (name, directory) in [
        ("stride-core", "old/stride-core"),
        ("example-org", "old/example-org"),
        ("stride-core", "new/stride-core"),
        ("example-org", "new/example-org"),
    ] {
        copy_dir(&packs.join(name), &work.path().join(directory));
    }
    // Unchanged: no changes, and the same version is fine.
    let same = threatpack(work.path(), &["diff", "old/stride-core", "new/stride-core"]);
    assert_eq!(
        same.stdout,
        "threatpack/stride-core 1.0.0 → 1.0.0: no changes\n"
    );
    let check = threatpack(
        work.path(),
        &[
            "semver-check",
            "new/stride-core",
            "--baseline",
            "old/stride-core",
        ],
    );
    assert_eq!(check.code, 0, "{}", shown(&check));

    // stride-core: SQL injection no longer needs untrusted input (wider), command injection
    // needs a privileged process too (narrower), and a reference is added; still 1.0.0.
    let injection = work
        .path()
        .join("new/stride-core/attack-patterns/injection.toml");
    replace(
        &injection,
        r#"condition = 'self.accepts_untrusted_input && self.query_construction in ["string-building", "unknown"]'"#,
        r#"condition = 'self.query_construction in ["string-building", "unknown"]'"#,
    );
    replace(
        &injection,
        r#"condition = "self.accepts_untrusted_input && self.executes_os_commands""#,
        r#"condition = "self.accepts_untrusted_input && self.executes_os_commands && self.runs_as_privileged""#,
    );
    replace(&injection, "cwe = [89, 943]", "cwe = [89, 943, 564]");
    let diff = threatpack(work.path(), &["diff", "old/stride-core", "new/stride-core"]);
    assert_eq!(diff.code, 0, "{}", shown(&diff));
    let changelog = threatpack(
        work.path(),
        &["changelog", "old/stride-core", "new/stride-core"],
    );
    snapshot(
        "stride-core-modified",
        &format!("{}----- changelog -----\n{}", diff.stdout, changelog.stdout),
    );
    let check = threatpack(
        work.path(),
        &[
            "semver-check",
            "new/stride-core",
            "--baseline",
            "old/stride-core",
        ],
    );
    assert_eq!(check.code, 1, "{}", shown(&check));
    assert!(
        check
            .stdout
            .contains("major  attack pattern threatpack/stride-core:attack-pattern/sql-injection"),
        "{}",
        check.stdout
    );

    // example-org compiles stride-core in: its consumers get the upstream change too, so
    // example-org 1.0.0 must be bumped although none of its own files changed.
    let check = threatpack(
        work.path(),
        &[
            "semver-check",
            "new/example-org",
            "--baseline",
            "old/example-org",
        ],
    );
    assert_eq!(check.code, 1, "{}", shown(&check));
    assert!(
        check
            .stdout
            .contains("threatpack/stride-core:attack-pattern/sql-injection"),
        "{}",
        check.stdout
    );
    // With stride-core released as 2.0.0 and example-org as 2.0.0 depending on it, the
    // compiled packs show the new version.
    replace(
        &work.path().join("new/stride-core/pack.toml"),
        "version = \"1.0.0\"",
        "version = \"2.0.0\"",
    );
    replace(
        &work.path().join("new/example-org/pack.toml"),
        "\"threatpack/stride-core\" = { version = \"^1.0\"",
        "\"threatpack/stride-core\" = { version = \"^2.0\"",
    );
    replace(
        &work.path().join("new/example-org/pack.toml"),
        "version = \"1.0.0\"",
        "version = \"2.0.0\"",
    );
    let check = threatpack(
        work.path(),
        &[
            "semver-check",
            "new/example-org",
            "--baseline",
            "old/example-org",
        ],
    );
    assert_eq!(check.code, 0, "{}", shown(&check));
    let diff = threatpack(work.path(), &["diff", "old/example-org", "new/example-org"]);
    assert!(
        diff.stdout.contains(
            "packs compiled in\n  ~ threatpack/stride-core\n      patch  1.0.0 → 2.0.0\n"
        ),
        "{}",
        diff.stdout
    );
}

/// `[[activity]]` items of `test/web`: (id, name, kind, when).
fn activities_file(activities: &[(&str, &str, &str, &str)]) -> String {
    activities
        .iter()
        .map(|(id, name, kind, when)| {
            format!(
                "[[activity]]\nid = \"{id}\"\nname = \"{name}\"\nkind = \"{kind}\"\ndescription = \"{name}, described.\"\nwhen = '{when}'\n\n"
            )
        })
        .collect()
}

/// 1.0.0 with `activities` under `version`, in `work/NAME`.
fn with_activities(
    work: &Path,
    name: &str,
    version: &str,
    activities: &[(&str, &str, &str, &str)],
) -> String {
    let directory = work.join(name);
    copy_dir(&versions().join("1.0.0"), &directory);
    replace(
        &directory.join("pack.toml"),
        "version = \"1.0.0\"",
        &format!("version = \"{version}\""),
    );
    fs::create_dir_all(directory.join("activities")).expect("the activities directory");
    fs::write(
        directory.join("activities/activities.toml"),
        activities_file(activities),
    )
    .expect("write the activities");
    name.to_string()
}

#[test]
fn security_activities_are_compared_and_judged() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let old = with_activities(
        work.path(),
        "old",
        "1.0.0",
        &[
            ("sast", "SAST", "sast", "report.threats > 0"),
            ("dast", "DAST", "dast", "system.internet_facing"),
            (
                "review",
                "Design review",
                "design-review",
                "report.threats > 3",
            ),
        ],
    );
    // dast's rule and review's kind changed, sast renamed, a penetration test added: minor.
    let minor = with_activities(
        work.path(),
        "minor",
        "1.1.0",
        &[
            ("sast", "Static analysis", "sast", "report.threats > 0"),
            (
                "dast",
                "DAST",
                "dast",
                "system.internet_facing && report.threats > 0",
            ),
            (
                "review",
                "Design review",
                "deeper-threat-model",
                "report.threats > 3",
            ),
            (
                "pentest",
                "Penetration test",
                "penetration-test",
                "report.residual.critical > 0",
            ),
        ],
    );
    // review removed: a model recording it done no longer validates, so major.
    let major = with_activities(
        work.path(),
        "major",
        "1.1.0",
        &[
            ("sast", "SAST", "sast", "report.threats > 0"),
            ("dast", "DAST", "dast", "system.internet_facing"),
        ],
    );
    let diff = json(&threatpack(
        work.path(),
        &["diff", &old, &minor, "--format", "json"],
    ));
    assert_valid(SchemaKind::Diff, &diff);
    assert_eq!(diff["required"], "minor");
    let changes: Vec<(&str, &str)> = diff["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .filter_map(|change| Some((change["id"].as_str()?, change["change"]["kind"].as_str()?)))
        .collect();
    assert_eq!(
        changes,
        [
            ("test/web:activity/dast", "modified"),
            ("test/web:activity/pentest", "added"),
            ("test/web:activity/review", "modified"),
            ("test/web:activity/sast", "modified"),
        ]
    );
    let dast = &diff["activities"][0]["change"]["fields"][0];
    assert_eq!(dast["field"], "when");
    assert_eq!(dast["new"], "system.internet_facing && report.threats > 0");
    let rules: Vec<(&str, &str)> = diff["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|reason| Some((reason["item"].as_str()?, reason["rule"].as_str()?)))
        .collect();
    assert_eq!(
        rules,
        [
            ("test/web:activity/dast", "activity-rule-changed"),
            ("test/web:activity/pentest", "item-added"),
            ("test/web:activity/review", "activity-kind-changed"),
            // Its name, and its description made of it.
            ("test/web:activity/sast", "documentation-changed"),
            ("test/web:activity/sast", "documentation-changed"),
        ]
    );
    let human = threatpack(work.path(), &["diff", &old, &minor]);
    let markdown = threatpack(work.path(), &["diff", &old, &minor, "--format", "markdown"]);
    let changelog = threatpack(work.path(), &["changelog", &old, &minor]);
    for run in [&human, &markdown, &changelog] {
        assert_eq!(run.code, 0, "{}", shown(run));
    }
    snapshot(
        "activities-minor",
        &format!(
            "{}----- markdown -----\n{}----- changelog -----\n{}",
            human.stdout, markdown.stdout, changelog.stdout
        ),
    );
    let ok = threatpack(work.path(), &["semver-check", &minor, "--baseline", &old]);
    assert_eq!(ok.code, 0, "{}", shown(&ok));
    // Removing an activity in a minor release is caught.
    let under = threatpack(
        work.path(),
        &[
            "semver-check",
            &major,
            "--baseline",
            &old,
            "--format",
            "json",
        ],
    );
    assert_eq!(under.code, 1, "{}", shown(&under));
    let report: Json = serde_json::from_str(&under.stdout).expect("JSON");
    assert_valid(SchemaKind::SemverCheck, &report);
    assert_eq!(report["required"], "major");
    assert_eq!(report["minimum"], "2.0.0");
    let reasons = report["reasons"].as_array().expect("reasons");
    assert_eq!(reasons.len(), 1, "{reasons:#?}");
    assert_eq!(reasons[0]["rule"], "item-removed");
    assert_eq!(reasons[0]["kind"], "activity");
    assert_eq!(reasons[0]["item"], "test/web:activity/review");
}

#[test]
fn bundles_compare_like_pack_directories() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let out = work.path().join("dist");
    let out_text = out.to_string_lossy().into_owned();
    for version in ["1.0.0", "1.1.0"] {
        let source = versions().join(version).to_string_lossy().into_owned();
        let run = threatpack(work.path(), &["build", &source, "--out", &out_text]);
        assert_eq!(run.code, 0, "{}", shown(&run));
    }
    let top = threatpack(
        work.path(),
        &[
            "build",
            &versions().join("1.1.0").to_string_lossy(),
            "--tier",
            "top",
            "--out",
            &work.path().join("top").to_string_lossy(),
        ],
    );
    assert_eq!(top.code, 0, "{}", shown(&top));
    let bundle = |version: &str| {
        out.join(format!("test_web-{version}-all.tar.gz"))
            .to_string_lossy()
            .into_owned()
    };
    let from_bundles = threatpack(
        work.path(),
        &[
            "diff",
            &bundle("1.0.0"),
            &bundle("1.1.0"),
            "--format",
            "json",
        ],
    );
    let from_directories = threatpack(&versions(), &["diff", "1.0.0", "1.1.0", "--format", "json"]);
    assert_eq!(json(&from_bundles), json(&from_directories));
    // A bundle of one tier against the whole pack: said, not hidden.
    let top_bundle = work
        .path()
        .join("top/test_web-1.1.0-top.tar.gz")
        .to_string_lossy()
        .into_owned();
    let run = threatpack(work.path(), &["diff", &bundle("1.1.0"), &top_bundle]);
    assert!(
        run.stdout.contains(
            "note: the old bundle holds every tier, the new one tier `top`: items outside a tier show as added or removed"
        ),
        "{}",
        run.stdout
    );
    // semver-check compares a pack with a baseline built for one tier at that tier.
    let top_1_0_0 = threatpack(
        work.path(),
        &[
            "build",
            &versions().join("1.0.0").to_string_lossy(),
            "--tier",
            "top",
            "--out",
            &work.path().join("top").to_string_lossy(),
        ],
    );
    assert_eq!(top_1_0_0.code, 0, "{}", shown(&top_1_0_0));
    let run = threatpack(
        work.path(),
        &[
            "semver-check",
            &versions().join("1.0.1").to_string_lossy(),
            "--baseline",
            &work
                .path()
                .join("top/test_web-1.0.0-top.tar.gz")
                .to_string_lossy(),
        ],
    );
    assert_eq!(run.code, 0, "{}", shown(&run));
    assert!(
        run.stdout.contains("required bump: patch (at least 1.0.1)")
            && !run.stdout.contains("added"),
        "{}",
        run.stdout
    );
    let missing = threatpack(work.path(), &["diff", "nowhere", &bundle("1.1.0")]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains(
            "`nowhere` is neither a pack directory, a bundle file nor `namespace/name@version` on the registry"
        ),
        "{}",
        missing.stderr
    );
}

#[test]
fn registry_versions_are_compared_and_serve_as_the_default_baseline() {
    let setup = Setup::new();
    register(&setup.registry, "test", &setup.key.public);
    let dist = setup.path("dist");
    let mut digests = Vec::new();
    for version in ["1.0.0", "1.0.1"] {
        let source = versions().join(version).to_string_lossy().into_owned();
        let run = setup.run(
            setup.work.path(),
            &[
                "build",
                &source,
                "--sign",
                &setup.secret_path.to_string_lossy(),
                "--out",
                &dist.to_string_lossy(),
            ],
        );
        succeeded(&run);
        let bundle = dist.join(format!("test_web-{version}-all.tar.gz"));
        succeeded(&setup.run(setup.work.path(), &["publish", &bundle.to_string_lossy()]));
        digests.push(threatpack::digest::sha256(
            &fs::read(&bundle).expect("the bundle"),
        ));
    }
    let fixtures = versions();
    // name@version on both sides gives what the directories give.
    let published = setup.run(
        &fixtures,
        &[
            "diff",
            "test/web@1.0.0",
            "test/web@1.0.1",
            "--format",
            "json",
        ],
    );
    let local = setup.run(&fixtures, &["diff", "1.0.0", "1.0.1", "--format", "json"]);
    assert_eq!(json(&published), json(&local));
    // Without --baseline: the highest release below pack.toml's version.
    let run = setup.run(&fixtures, &["semver-check", "1.1.0"]);
    succeeded(&run);
    assert!(
        run.stdout.starts_with(&format!(
            "test/web 1.1.0 against 1.0.1 ({} test/web@1.0.1)\nrequired bump: minor",
            setup.registry.url
        )),
        "{}",
        run.stdout
    );
    // --baseline VERSION: that version of the same pack on the registry.
    let run = setup.run(
        &fixtures,
        &["semver-check", "1.0.1-widened", "--baseline", "1.0.0"],
    );
    assert_eq!(run.code, 1, "{}", shown(&run));
    assert!(
        run.stdout
            .contains("test/web:attack-pattern/credential-stuffing"),
        "{}",
        run.stdout
    );
    // The first version of a pack has nothing to compare with.
    let run = setup.run(&fixtures, &["semver-check", "1.0.0"]);
    succeeded(&run);
    assert!(
        run.stderr
            .contains("has no version of `test/web` below 1.0.0"),
        "{}",
        run.stderr
    );
    let run = setup.run(&fixtures, &["diff", "test/web@9.9.9", "1.0.0"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("has no version 9.9.9 of `test/web`; it has 1.0.0, 1.0.1"),
        "{}",
        run.stderr
    );
    // Bytes the index does not vouch for never arrive: the registry checks each blob against
    // its digest before serving it (issue 13).
    let blob = blob_on_disk(&setup.registry, &digests[0]);
    let mut bytes = fs::read(&blob).expect("the blob");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&blob, bytes).expect("alter the blob");
    let run = setup.run(&fixtures, &["diff", "test/web@1.0.0", "1.0.1"]);
    assert_eq!(run.code, 2, "{}", shown(&run));
    assert!(
        run.stderr.contains("downloading `test/web` 1.0.0 from")
            && run.stderr.contains("is missing or damaged on the registry"),
        "{}",
        run.stderr
    );
}
