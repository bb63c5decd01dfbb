//! `threatpack impact CANDIDATE --models DIR`: a candidate pack version applied to every
//! project's model next to the version it uses now. It must equal what a user gets by running
//! `apply --format json` with each version on each model and `report diff` on the two.

use std::fs;
use std::path::Path;

use serde_json::Value as Json;

use crate::support::{repository, threatpack};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create");
    for entry in fs::read_dir(from).expect("list") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy");
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).expect("readable");
    assert!(text.contains(from), "`{from}` is not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).expect("written");
}

/// stride-core 1.0.0 as the baseline, and a 1.1.0 candidate that widens one attack pattern
/// (new threats), narrows another (gone threats) and raises a severity (changed threats).
fn workspace() -> tempfile::TempDir {
    let root = repository();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let work = directory.path();
    copy_dir(&root.join("packs/stride-core"), &work.join("baseline"));
    copy_dir(&root.join("packs/stride-core"), &work.join("candidate"));
    let injection = work.join("candidate/attack-patterns/injection.toml");
    edit(
        &injection,
        "condition = \"self.accepts_untrusted_input && self.executes_os_commands\"",
        "condition = \"self.accepts_untrusted_input\"",
    );
    edit(
        &injection,
        "self.query_construction in [\"string-building\", \"unknown\"]",
        "self.query_construction == \"unknown\"",
    );
    edit(&injection, "severity = \"high\"", "severity = \"critical\"");
    edit(
        &work.join("candidate/pack.toml"),
        "version = \"1.0.0\"",
        "version = \"1.1.0\"",
    );
    let models = work.join("models");
    fs::create_dir_all(models.join("shop")).expect("create");
    fs::copy(
        root.join("examples/online-shop/model.toml"),
        models.join("shop/model.toml"),
    )
    .expect("copy");
    let test = fs::read_to_string(root.join("packs/stride-core/tests/web-shop-injection.toml"))
        .expect("readable");
    let components = &test[test.find("[[component]]").expect("components")..];
    fs::create_dir_all(models.join("catalogue")).expect("create");
    fs::write(
        models.join("catalogue/model.toml"),
        format!("[model]\nname = \"Catalogue\"\n\n{components}"),
    )
    .expect("written");
    // A directory without a model is not a project; a broken model is listed, not fatal.
    fs::create_dir_all(models.join("notes")).expect("create");
    fs::create_dir_all(models.join("broken")).expect("create");
    fs::write(
        models.join("broken/model.toml"),
        "[model]\nname = \"Broken\"\n\n[[component]]\nid = \"x\"\nname = \"X\"\nkind = \"no-such-kind\"\n",
    )
    .expect("written");
    directory
}

#[test]
fn impact_equals_applying_each_version_to_each_model_and_diffing() {
    let directory = workspace();
    let work = directory.path();
    let run = threatpack(
        work,
        &[
            "impact",
            "candidate",
            "--models",
            "models",
            "--baseline-pack",
            "baseline",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let impact: Json = serde_json::from_str(&run.stdout).expect("JSON");
    let validator = threatpack::schema::compile(threatpack::schema::SchemaKind::Impact)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&impact)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let projects = impact["projects"].as_array().expect("projects");
    let names: Vec<&str> = projects
        .iter()
        .map(|project| project["project"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["broken", "catalogue", "shop"]);
    assert!(
        projects[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("models/broken/model.toml")
                && error.contains("no-such-kind")),
        "{}",
        projects[0]
    );
    let mut new = 0;
    let mut gone = 0;
    let mut changed = 0;
    for project in &projects[1..] {
        let model = project["model"].as_str().expect("a model");
        for (pack, out) in [("baseline", "old.json"), ("candidate", "new.json")] {
            let applied = threatpack(
                work,
                &[
                    "apply", "--pack", pack, "--model", model, "--format", "json",
                ],
            );
            assert_eq!(applied.code, 0, "{}", applied.stderr);
            fs::write(work.join(out), applied.stdout).expect("written");
        }
        let diffed = threatpack(
            work,
            &["report", "diff", "old.json", "new.json", "--format", "json"],
        );
        assert_eq!(diffed.code, 0, "{}", diffed.stderr);
        let expected: Json = serde_json::from_str(&diffed.stdout).expect("JSON");
        assert_eq!(project["diff"], expected, "{model}");
        new += expected["threats"]["new"].as_array().expect("a list").len();
        gone += expected["threats"]["gone"]
            .as_array()
            .expect("a list")
            .len();
        changed += expected["threats"]["changed"]
            .as_array()
            .expect("a list")
            .len();
    }
    // The candidate does all three somewhere, and the totals are the projects' sums.
    assert!(new > 0 && gone > 0 && changed > 0, "{new} {gone} {changed}");
    let totals = &impact["totals"];
    assert_eq!(totals["projects"], 3);
    assert_eq!(totals["failed-projects"], 1);
    assert_eq!(totals["threats-new"], new);
    assert_eq!(totals["threats-gone"], gone);
    assert_eq!(totals["threats-changed"], changed);
    assert_eq!(impact["candidate"]["version"], "1.1.0");

    let human = threatpack(
        work,
        &[
            "impact",
            "candidate",
            "--models",
            "models",
            "--baseline-pack",
            "baseline",
        ],
    );
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains("broken: not compared: "),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(&format!(
            "threatpack/stride-core 1.1.0: 2 of 3 projects change (1 not compared); threats {new} new, {gone} gone, {changed} changed"
        )),
        "{}",
        human.stdout
    );
}

#[test]
fn a_project_without_a_lockfile_needs_a_baseline_and_an_empty_directory_is_an_error() {
    let directory = workspace();
    let work = directory.path();
    let run = threatpack(
        work,
        &[
            "impact",
            "candidate",
            "--models",
            "models",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let impact: Json = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(impact["totals"]["failed-projects"], 3);
    assert!(
        impact["projects"][1]["error"]
            .as_str()
            .is_some_and(|error| error.contains("give --baseline-pack")),
        "{}",
        impact["projects"][1]
    );
    fs::create_dir_all(work.join("empty")).expect("create");
    let run = threatpack(work, &["impact", "candidate", "--models", "empty"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`empty` holds no projects"),
        "{}",
        run.stderr
    );
}

/// `impact CANDIDATE` without `--models`: the registry's dependents of the pack, each with the
/// model pushed with its latest report and the version it uses as the baseline. It must give
/// each project the diff `--models` gives with that version as `--baseline-pack`, and leave
/// out projects on other packs.
#[test]
fn impact_from_the_registry_takes_the_dependents_and_their_stored_models() {
    use crate::registry_client::write_small_pack;
    use crate::registry_lock::{Setup, succeeded};

    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    setup.publish("vendor/other", "1.0.0", "");
    let models = setup.path("models");
    for (project, pack, public) in [
        ("shop", "vendor/base", true),
        ("billing", "vendor/base", false),
        ("wiki", "vendor/other", true),
    ] {
        let directory = setup.project(project, &format!("\"{pack}\" = \"^1.0\"\n"), "");
        fs::write(
            directory.join("model.toml"),
            format!(
                "[model]\nname = \"{project}\"\n\n[[component]]\nid = \"api\"\nkind = \"service\"\nproperties = {{ public = {public} }}\n"
            ),
        )
        .expect("written");
        succeeded(&setup.run(&directory, &["lock"]));
        succeeded(&setup.run(
            &directory,
            &[
                "apply",
                "--locked",
                "--format",
                "json",
                "--out",
                "report.json",
                "--project-name",
                &format!("acme/{project}"),
                "--push",
                &format!("acme/{project}"),
            ],
        ));
        if pack == "vendor/base" {
            fs::create_dir_all(models.join(format!("acme-{project}"))).expect("create");
            fs::copy(
                directory.join("model.toml"),
                models.join(format!("acme-{project}/model.toml")),
            )
            .expect("copy");
        }
    }
    // The candidate raises the attack pattern's severity; it is not published.
    let candidate = setup.path("candidate");
    write_small_pack(&candidate, "vendor/base", "1.1.0", "A small pack.", "");
    let spoofing = candidate.join("attack-patterns/spoofing.toml");
    let text = fs::read_to_string(&spoofing).expect("readable");
    fs::write(
        &spoofing,
        text.replace("severity = \"high\"", "severity = \"critical\""),
    )
    .expect("written");

    let run = setup.run(
        setup.work.path(),
        &["impact", "candidate", "--format", "json"],
    );
    succeeded(&run);
    let impact: Json = serde_json::from_str(&run.stdout).expect("JSON");
    let projects = impact["projects"].as_array().expect("projects");
    let names: Vec<&str> = projects
        .iter()
        .map(|project| project["project"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["acme/billing", "acme/shop"], "{}", run.stdout);
    assert_eq!(impact["totals"]["failed-projects"], 0, "{}", run.stdout);

    // The same models from a directory, with the published 1.0.0 as the baseline.
    let baseline = setup.path("dist/vendor_base-1.0.0-all.tar.gz");
    let local = setup.run(
        setup.work.path(),
        &[
            "impact",
            "candidate",
            "--models",
            "models",
            "--baseline-pack",
            &baseline.to_string_lossy(),
            "--format",
            "json",
        ],
    );
    succeeded(&local);
    let local: Json = serde_json::from_str(&local.stdout).expect("JSON");
    let mut changed = 0;
    for (from_registry, from_directory) in projects
        .iter()
        .zip(local["projects"].as_array().expect("projects"))
    {
        // Equal but for where the model came from.
        for part in ["threats", "backlog"] {
            assert_eq!(from_registry["diff"][part], from_directory["diff"][part]);
        }
        assert_eq!(
            from_registry["diff"]["old"]["version"], "1.0.0",
            "the baseline is the version the project uses"
        );
        changed += from_registry["diff"]["threats"]["changed"]
            .as_array()
            .expect("a list")
            .len();
    }
    // Only the public service has the threat, and its severity changes.
    assert_eq!(changed, 1, "{}", run.stdout);
    assert_eq!(impact["totals"], local["totals"]);

    // A registry that does not answer is an operational failure, named.
    let run = setup.run(
        setup.work.path(),
        &["impact", "candidate", "--registry", "http://127.0.0.1:9"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1:9"), "{}", run.stderr);
}
