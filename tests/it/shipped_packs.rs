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

/// The MITRE catalogs `scripts/import-catalogs.sh` made are clean packs, marked as catalogs,
/// with MITRE's terms and attribution.
#[test]
fn mitre_catalogs_are_clean_and_attributed() {
    for (pack, catalog) in [
        ("packs/mitre-capec", "capec"),
        ("packs/mitre-attack-enterprise", "attack-enterprise"),
    ] {
        let run = threatpack(&repository(), &["check", pack, "--deny", "warnings"]);
        assert_eq!(run.code, 0, "{pack}: {}", run.stderr);
        let directory = repository().join(pack);
        let manifest = std::fs::read_to_string(directory.join("pack.toml")).expect("pack.toml");
        assert!(
            manifest.contains(&format!("catalog = \"{catalog}\"")),
            "{pack}: {manifest}"
        );
        let license = std::fs::read_to_string(directory.join("LICENSE")).expect("LICENSE");
        assert!(license.contains("The MITRE Corporation"), "{pack}");
        let notice = std::fs::read_to_string(directory.join("NOTICE")).expect("NOTICE");
        assert!(notice.contains("© The MITRE Corporation"), "{pack}");
    }
}

/// stride-core cites the catalogs in `[catalogs]`: `check` reads them (a reference they lack
/// is an error), but its bundle compiles none of them in, so its consumers never fetch them.
#[test]
fn stride_core_cites_the_catalogs_without_compiling_them_in() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let packs = directory.path().join("packs");
    for pack in ["stride-core", "mitre-capec", "mitre-attack-enterprise"] {
        copy_dir(&repository().join("packs").join(pack), &packs.join(pack));
    }
    let build = threatpack(
        directory.path(),
        &["build", "packs/stride-core", "--out", "out"],
    );
    assert_eq!(build.code, 0, "{}", build.stderr);
    let inspect = threatpack(
        directory.path(),
        &["inspect", "out/threatpack_stride-core-1.0.0-all.tar.gz"],
    );
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    assert!(!inspect.stdout.contains("mitre/"), "{}", inspect.stdout);
    // A reference the catalog does not have fails the check.
    let file = packs.join("stride-core/attack-patterns/injection.toml");
    let text = std::fs::read_to_string(&file).expect("read");
    let broken = text.replacen("capec = [66", "capec = [999999, 66", 1);
    assert_ne!(text, broken, "the reference to break is in the pack");
    std::fs::write(&file, broken).expect("write");
    let check = threatpack(directory.path(), &["check", "packs/stride-core"]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("`CAPEC-999999` is not in `mitre/capec` 3.9.0"),
        "{}",
        check.stderr
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("list") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}
