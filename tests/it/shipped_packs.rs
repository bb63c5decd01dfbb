//! The packs that ship with the project pass `check --deny warnings`, and `threatpack new`
//! creates a pack that does too.

use crate::support::{repository, threatpack};

#[test]
fn stride_core_is_clean() {
    let run = threatpack(
        &repository(),
        &["check", "packs/stride-core", "--deny", "warnings"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no problems"), "{}", run.stderr);
}

#[test]
fn example_org_is_clean() {
    let run = threatpack(
        &repository(),
        &["check", "packs/example-org", "--deny", "warnings"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no problems"), "{}", run.stderr);
}

#[test]
fn new_pack_is_clean() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let created = threatpack(directory.path(), &["new", "acme/payments", "payments"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    for file in [
        "pack.toml",
        "entities",
        "attack-patterns",
        "mitigations",
        "overrides",
        "tests",
    ] {
        assert!(
            directory.path().join("payments").join(file).exists(),
            "{file} missing"
        );
    }
    let run = threatpack(
        directory.path(),
        &["check", "payments", "--deny", "warnings"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A second `new` into the same directory refuses and writes nothing.
    let again = threatpack(directory.path(), &["new", "acme/payments", "payments"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
}
