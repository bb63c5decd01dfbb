//! `threatpack import`: trimmed real CAPEC and ATT&CK releases (tests/fixtures/import) become
//! packs that pass `check --deny warnings` and `build`, byte for byte the same every time, and
//! hostile inputs are refused with an error that names the file, writing nothing.

use std::fs;
use std::path::{Path, PathBuf};

use threatpack::bundle::read::{ReadLimits, read_bundle};

use crate::support::{Run, repository, threatpack};

/// (format, fixture, snapshot name).
const FIXTURES: [(&str, &str, &str); 5] = [
    ("capec", "capec/stix-capec-3.9-trimmed.json", "capec-stix"),
    ("capec", "capec/capec-3000-v3.2-trimmed.xml", "capec-xml"),
    (
        "attack",
        "attack/enterprise-attack-18.1-stix20-trimmed.json",
        "attack-enterprise-stix20",
    ),
    (
        "attack",
        "attack/ics-attack-18.1-stix21-trimmed.json",
        "attack-ics-stix21",
    ),
    (
        "attack",
        "attack/mobile-attack-17.1-stix21-trimmed.json",
        "attack-mobile-stix21",
    ),
];

fn fixture(path: &str) -> PathBuf {
    repository().join("tests/fixtures/import").join(path)
}

fn import(directory: &Path, format: &str, input: &Path, out: &str, extra: &[&str]) -> Run {
    let input = input.to_string_lossy().into_owned();
    let mut args = vec!["import", format, input.as_str(), "--out", out];
    args.extend(extra);
    threatpack(directory, &args)
}

/// Every file of a pack directory by path.
/// Every file under `directory` with its bytes, by relative path.
pub(crate) fn files(directory: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![directory.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(directory)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                found.push((relative, fs::read(&path).expect("readable")));
            }
        }
    }
    found.sort();
    found
}

fn head(text: &str, lines: usize) -> String {
    text.lines().take(lines).collect::<Vec<_>>().join("\n")
}

/// An imported pack for a snapshot: every file with its size and sha256, one per line.
pub(crate) fn file_digests(pack: &Path) -> String {
    files(pack)
        .iter()
        .map(|(path, bytes)| {
            format!(
                "{path} {} bytes {}\n",
                bytes.len(),
                threatpack::digest::sha256(bytes)
            )
        })
        .collect()
}

/// The first `lines` of each of `heads`, each under a `----- FILE (head) -----` line.
pub(crate) fn file_heads(pack: &Path, heads: &[(&str, usize)]) -> String {
    heads
        .iter()
        .map(|(shown, lines)| {
            let text = fs::read_to_string(pack.join(shown)).expect("a file");
            format!("----- {shown} (head) -----\n{}\n", head(&text, *lines))
        })
        .collect()
}

#[test]
fn every_fixture_becomes_a_pack_that_passes_check_deny_warnings_and_builds() {
    for (format, path, name) in FIXTURES {
        let directory = tempfile::tempdir().expect("a directory");
        let run = import(directory.path(), format, &fixture(path), "pack", &[]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let json = import(
            directory.path(),
            format,
            &fixture(path),
            "pack",
            &["--format", "json", "--force"],
        );
        assert_eq!(json.code, 0, "{name}: {}", json.stderr);
        let check = threatpack(directory.path(), &["check", "pack", "--deny", "warnings"]);
        assert_eq!(check.code, 0, "{name}: {}", check.stderr);
        let build = threatpack(directory.path(), &["build", "pack"]);
        assert_eq!(build.code, 0, "{name}: {}", build.stderr);

        // The pack carries MITRE's terms, and the bundle carries them along.
        let pack = directory.path().join("pack");
        let license = fs::read_to_string(pack.join("LICENSE")).expect("LICENSE");
        assert!(license.contains("The MITRE Corporation (MITRE) hereby grants you"));
        let notice = fs::read_to_string(pack.join("NOTICE")).expect("NOTICE");
        assert!(notice.contains("reproduced and distributed with the permission of"));
        let dist = directory.path().join("dist");
        let bundle_path = fs::read_dir(&dist)
            .expect("dist")
            .map(|entry| entry.expect("entry").path())
            .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
            .expect("a bundle");
        let bundle = read_bundle(
            &fs::read(&bundle_path).expect("bundle"),
            &ReadLimits::default(),
        )
        .expect("a valid bundle");
        assert_eq!(bundle.kb.packs[0].attribution.len(), 2, "{name}");

        let mut snapshot = format!(
            "----- report (stderr) -----\n{}\n----- report (--format json) -----\n{}\n----- files -----\n",
            run.stderr.replace(&*pack.to_string_lossy(), "[PACK]"),
            json.stdout
        );
        snapshot.push_str(&file_digests(&pack));
        for shown in ["pack.toml", "entities/entities.toml"] {
            let text = fs::read_to_string(pack.join(shown)).expect("a file");
            snapshot.push_str(&format!("----- {shown} -----\n{}\n", head(&text, 60)));
        }
        snapshot.push_str(&file_heads(
            &pack,
            &[
                ("attack-patterns/001.toml", 80),
                ("mitigations/mitigations.toml", 60),
            ],
        ));
        insta::with_settings!({ snapshot_path => "snapshots/import", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, snapshot);
        });
    }
}

#[test]
fn an_import_gives_the_same_bytes_whatever_the_order_of_the_source() {
    for (format, path, name) in FIXTURES {
        let directory = tempfile::tempdir().expect("a directory");
        let input = fixture(path);
        assert_eq!(
            import(directory.path(), format, &input, "first", &[]).code,
            0
        );
        assert_eq!(
            import(directory.path(), format, &input, "second", &[]).code,
            0
        );
        let first = files(&directory.path().join("first"));
        assert_eq!(first, files(&directory.path().join("second")), "{name}");
        // The same objects in the opposite order give the same pack.
        if path.ends_with(".json") {
            let mut bundle: serde_json::Value =
                serde_json::from_slice(&fs::read(&input).expect("fixture")).expect("JSON");
            bundle["objects"].as_array_mut().expect("objects").reverse();
            let reversed = directory.path().join("reversed.json");
            fs::write(&reversed, serde_json::to_vec(&bundle).expect("JSON")).expect("written");
            assert_eq!(
                import(directory.path(), format, &reversed, "third", &[]).code,
                0
            );
            assert_eq!(first, files(&directory.path().join("third")), "{name}");
        }
    }
}

#[test]
fn attack_links_keep_mitres_text_into_the_knowledge_base() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture("attack/enterprise-attack-18.1-stix20-trimmed.json");
    assert_eq!(
        import(directory.path(), "attack", &input, "pack", &[]).code,
        0
    );
    let mitigations =
        fs::read_to_string(directory.path().join("pack/mitigations/mitigations.toml"))
            .expect("mitigations");
    assert!(
        mitigations.contains("attack = [\"M1036\"]"),
        "{mitigations}"
    );
    let build = threatpack(directory.path(), &["build", "pack"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let bundle = read_bundle(
        &fs::read(
            directory
                .path()
                .join("dist/mitre_attack-enterprise-0.1.0-all.tar.gz"),
        )
        .expect("bundle"),
        &ReadLimits::default(),
    )
    .expect("valid");
    let described = bundle
        .kb
        .links
        .iter()
        .filter(|link| link.description.is_some())
        .count();
    assert!(described > 100, "{described} links with a description");
    // Link descriptions are part of kb.json's schema.
    let kb = serde_json::to_value(&bundle.kb).expect("kb.json");
    let validator =
        threatpack::schema::compile(threatpack::schema::SchemaKind::KnowledgeBase).expect("schema");
    let errors: Vec<String> = validator
        .iter_errors(&kb)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .take(5)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // A revoked technique is deprecated and names what replaced it.
    let revoked = bundle
        .kb
        .attack_patterns
        .iter()
        .find(|pattern| pattern.id.ends_with("attack-pattern/t1089"))
        .expect("T1089 is in the fixture");
    assert_eq!(revoked.status, threatpack::model::Status::Deprecated);
    assert!(
        revoked
            .replaced_by
            .as_deref()
            .is_some_and(|replacement| replacement.ends_with("t1562-001")),
        "{:?}",
        revoked.replaced_by
    );
}

#[test]
fn ics_and_mobile_ids_say_their_matrix() {
    let directory = tempfile::tempdir().expect("a directory");
    for (path, out, expected) in [
        (
            "attack/ics-attack-18.1-stix21-trimmed.json",
            "ics",
            "attack = [\"ics:T0800\"]",
        ),
        (
            "attack/mobile-attack-17.1-stix21-trimmed.json",
            "mobile",
            "attack = [\"mobile:T1398\"]",
        ),
    ] {
        assert_eq!(
            import(directory.path(), "attack", &fixture(path), out, &[]).code,
            0
        );
        let text = fs::read_to_string(directory.path().join(out).join("attack-patterns/001.toml"))
            .expect("attack patterns");
        assert!(text.contains(expected), "{out}: {expected}");
    }
}

#[test]
fn a_mapping_file_changes_what_the_sources_do_not_say() {
    let directory = tempfile::tempdir().expect("a directory");
    fs::write(
        directory.path().join("mapping.toml"),
        "format = 1\nseverity = \"high\"\n[attack.tactics]\ndiscovery = [\"spoofing\"]\n",
    )
    .expect("written");
    let input = fixture("attack/enterprise-attack-18.1-stix20-trimmed.json");
    let run = import(
        directory.path(),
        "attack",
        &input,
        "pack",
        &[
            "--mapping",
            "mapping.toml",
            "--name",
            "acme/attack",
            "--version",
            "18.1.0",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = fs::read_to_string(directory.path().join("pack/attack-patterns/001.toml"))
        .expect("attack patterns");
    let t1007 = text
        .split("[[attack-pattern]]")
        .find(|item| item.contains("id = \"t1007\""))
        .expect("T1007, a discovery technique");
    assert!(
        t1007.contains("categories = [\"spoofing\", \"attack:discovery\"]"),
        "{t1007}"
    );
    assert!(t1007.contains("severity = \"high\""), "{t1007}");
    let manifest = fs::read_to_string(directory.path().join("pack/pack.toml")).expect("pack.toml");
    assert!(
        manifest.contains("name = \"acme/attack\"") && manifest.contains("version = \"18.1.0\"")
    );

    // A mapping with mistakes: each pointed at, nothing written.
    fs::write(
        directory.path().join("bad.toml"),
        "format = 1\nseverity = \"huge\"\n[capec.scopes]\nintegrity = [\"tampring\"]\n",
    )
    .expect("written");
    let run = import(
        directory.path(),
        "attack",
        &input,
        "other",
        &["--mapping", "bad.toml"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("bad.toml:2:"), "{}", run.stderr);
    assert!(run.stderr.contains("bad.toml:4:"), "{}", run.stderr);
    assert!(!directory.path().join("other").exists());
}

#[test]
fn the_mapping_schema_is_served_and_accepts_the_built_in_mapping() {
    let directory = tempfile::tempdir().expect("a directory");
    let run = threatpack(directory.path(), &["schema", "import-mapping"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = fs::read_to_string(repository().join("schema/import-mapping.schema.json"))
        .expect("the committed schema");
    assert_eq!(run.stdout, committed);
    threatpack::import::Mapping::parse("built-in", threatpack::import::DEFAULT_MAPPING)
        .expect("the built-in mapping fits its schema");
    // docs/interop.md shows the built-in mapping whole, as shipped.
    let interop = fs::read_to_string(repository().join("docs/interop.md")).expect("interop.md");
    assert!(
        interop.contains(threatpack::import::DEFAULT_MAPPING),
        "docs/interop.md does not show src/import/default-mapping.toml as it is"
    );
}

/// Each hostile input: the command fails with exit code 2, names the file and says what is
/// wrong, and writes nothing.
#[test]
fn hostile_inputs_are_refused_with_an_error_naming_the_file() {
    let directory = tempfile::tempdir().expect("a directory");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n<Attack_Pattern_Catalog>&lol2;</Attack_Pattern_Catalog>\n";
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("capec", "empty.json", Vec::new(), "neither a CAPEC STIX bundle"),
        ("attack", "truncated.json", b"{\"type\": \"bundle\", \"objects\": [{\"type\"".to_vec(), "not a STIX bundle of ATT&CK"),
        ("attack", "garbage.json", vec![0xff, 0xfe, 0x00, 0x01], "not a STIX bundle"),
        ("attack", "deep.json", deep.into_bytes(), "not a STIX bundle"),
        ("attack", "not-a-bundle.json", b"{\"type\": \"identity\", \"objects\": []}".to_vec(), "not `bundle`"),
        ("attack", "wrong-type.json", b"{\"type\": \"bundle\", \"objects\": [{\"type\": \"attack-pattern\", \"id\": \"x\", \"x_mitre_platforms\": \"Windows\"}]}".to_vec(), "invalid type"),
        ("attack", "objects-not-a-list.json", b"{\"type\": \"bundle\", \"objects\": {}}".to_vec(), "invalid type"),
        ("attack", "no-techniques.json", b"{\"type\": \"bundle\", \"objects\": []}".to_vec(), "holds no ATT&CK technique"),
        ("capec", "no-patterns.json", b"{\"type\": \"bundle\", \"objects\": []}".to_vec(), "holds no attack pattern"),
        ("capec", "laughs.xml", laughs.as_bytes().to_vec(), "not well-formed CAPEC XML"),
        ("capec", "wrong-root.xml", b"<html><body/></html>".to_vec(), "not `Attack_Pattern_Catalog`"),
        ("capec", "latin1.xml", b"<Attack_Pattern_Catalog Name=\"caf\xe9\"/>".to_vec(), "not UTF-8"),
        ("capec", "unclosed.xml", b"<Attack_Pattern_Catalog><Attack_Patterns>".to_vec(), "not well-formed"),
    ];
    for (format, name, bytes, expected) in cases {
        let path = directory.path().join(name);
        fs::write(&path, &bytes).expect("written");
        let run = import(directory.path(), format, &path, "out", &[]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        assert!(!directory.path().join("out").exists(), "{name}");
    }

    // Larger than the cap: refused before reading (a sparse file takes no disk).
    let huge = directory.path().join("huge.json");
    let file = fs::File::create(&huge).expect("created");
    file.set_len(threatpack::import::MAX_INPUT_BYTES + 1)
        .expect("sparse");
    let run = import(directory.path(), "attack", &huge, "out", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("huge.json") && run.stderr.contains("larger than"),
        "{}",
        run.stderr
    );
    assert!(!directory.path().join("out").exists());

    // A directory, and a missing file.
    for (input, expected) in [
        (directory.path().to_path_buf(), "not a regular file"),
        (directory.path().join("missing.json"), "cannot read"),
    ] {
        let run = import(directory.path(), "capec", &input, "out", &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
}

#[test]
fn an_existing_pack_is_replaced_only_with_force() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture("capec/stix-capec-3.9-trimmed.json");
    fs::create_dir(directory.path().join("pack")).expect("created");
    fs::write(directory.path().join("pack/mine.txt"), "keep me").expect("written");
    let run = import(directory.path(), "capec", &input, "pack", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(directory.path().join("pack/mine.txt").exists());
    let run = import(directory.path(), "capec", &input, "pack", &["--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!directory.path().join("pack/mine.txt").exists());
    assert!(directory.path().join("pack/pack.toml").exists());
    // Nothing is left beside it.
    let names: Vec<String> = fs::read_dir(directory.path())
        .expect("readable")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, vec!["pack".to_string()]);
}

/// A STIX 2.0 bundle names no ATT&CK release: the report says to give `--version`, and stops
/// saying so once it is given; the pack says what it catalogues either way.
#[test]
fn a_given_version_is_not_reported_as_missing() {
    let directory = tempfile::tempdir().expect("a directory");
    let input = fixture("attack/enterprise-attack-18.1-stix20-trimmed.json");
    let without = import(directory.path(), "attack", &input, "without", &[]);
    assert_eq!(without.code, 0, "{}", without.stderr);
    assert!(
        without.stderr.contains("give --version"),
        "{}",
        without.stderr
    );
    let with = import(
        directory.path(),
        "attack",
        &input,
        "with",
        &["--version", "18.1.0"],
    );
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert!(!with.stderr.contains("--version"), "{}", with.stderr);
    assert!(
        !with.stderr.contains("names no ATT&CK release"),
        "{}",
        with.stderr
    );
    let manifest = fs::read_to_string(directory.path().join("with/pack.toml")).expect("pack.toml");
    assert!(manifest.contains("version = \"18.1.0\""), "{manifest}");
    assert!(
        manifest.contains("catalog = \"attack-enterprise\""),
        "{manifest}"
    );
}
