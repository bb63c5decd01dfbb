//! `threatpack update --dry-run` in a project: the threat-model diff of the update (the
//! project's model under the packs locked now and under those the update would lock), with
//! nothing written. Against the real registry on loopback.

use std::fs;

use serde_json::Value as Json;

use crate::registry_lock::{Setup, succeeded};

#[test]
fn update_dry_run_shows_the_threat_model_diff_and_writes_nothing() {
    let setup = Setup::new();
    setup.publish("vendor/base", "1.0.0", "");
    let project = setup.project("shop", "\"vendor/base\" = \"^1.0\"\n", "");
    succeeded(&setup.run(&project, &["lock"]));
    let lockfile = fs::read_to_string(project.join("threatpack.lock")).expect("a lockfile");

    // Nothing newer: nothing to update, no change to the threat model.
    let run = setup.run(&project, &["update", "--dry-run"]);
    succeeded(&run);
    assert!(run.stderr.contains("nothing to update"), "{}", run.stderr);

    // 1.1.0 raises the one attack pattern's severity: the project's threat changes.
    setup.publish_edited("vendor/base", "1.1.0", "", |directory| {
        let path = directory.join("attack-patterns/spoofing.toml");
        let text = fs::read_to_string(&path).expect("readable");
        fs::write(
            &path,
            text.replace("severity = \"high\"", "severity = \"critical\""),
        )
        .expect("written");
    });
    let run = setup.run(&project, &["update", "--dry-run"]);
    succeeded(&run);
    assert!(
        run.stderr
            .contains("dry run: updating vendor/base 1.0.0 -> 1.1.0"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("threats: 0 new, 0 gone, 1 changed, 0 unchanged"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("severity high -> critical"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("not written (--dry-run)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(project.join("threatpack.lock")).expect("a lockfile"),
        lockfile,
        "--dry-run wrote the lockfile"
    );

    let run = setup.run(&project, &["update", "--dry-run", "--format", "json"]);
    succeeded(&run);
    let json: Json = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["changes"][0]["name"], "vendor/base");
    let change = &json["diff"]["threats"]["changed"][0];
    assert_eq!(
        change["changes"],
        serde_json::json!(["severity", "residual"])
    );
    assert_eq!(json["diff"]["old"]["version"], "1.0.0");
    assert_eq!(json["diff"]["new"]["version"], "1.1.0");

    // The real update then gives the model the dry run announced.
    succeeded(&setup.run(&project, &["update"]));
    let applied = setup.run(&project, &["apply", "--locked", "--format", "json"]);
    succeeded(&applied);
    let report: Json = serde_json::from_str(&applied.stdout).expect("a report");
    assert_eq!(report["threats"][0]["severity"], "critical");
    assert_eq!(report["threats"][0]["id"], change["id"]);
}

#[test]
fn update_dry_run_in_a_pack_says_it_needs_a_project() {
    let setup = Setup::new();
    let pack = setup.path("pack");
    crate::registry_client::write_small_pack(&pack, "acme/web", "1.0.0", "A pack.", "");
    let run = setup.run(&pack, &["update", "--dry-run"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is a pack"), "{}", run.stderr);
}
