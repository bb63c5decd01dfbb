//! `threatpack build`: dependencies, overrides with provenance and conflicts, upstream drift,
//! tiers, and byte-for-byte reproducible bundles.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use threatpack::bundle::{Bundle, ReadLimits, read_bundle};

use crate::support::{repository, threatpack, write_fixture};

/// Copies a directory tree; `reverse` creates entries in reverse order (another listing order).
fn copy_tree(from: &Path, to: &Path, reverse: bool) {
    fs::create_dir_all(to).expect("create directory");
    let mut entries: Vec<_> = fs::read_dir(from)
        .expect("list directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    if reverse {
        entries.reverse();
    }
    for path in entries {
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target, reverse);
        } else {
            fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// A temporary copy of the shipped packs (`packs/stride-core`, `packs/example-org`).
fn shipped_packs(reverse: bool) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temporary directory");
    copy_tree(
        &repository().join("packs"),
        &directory.path().join("packs"),
        reverse,
    );
    directory
}

/// Runs `build` in `directory` and returns the bundle it wrote.
fn build(directory: &Path, args: &[&str]) -> (PathBuf, Vec<u8>) {
    let mut all = vec!["build"];
    all.extend(args);
    all.extend(["--out", "out"]);
    let run = threatpack(directory, &all);
    assert_eq!(run.code, 0, "build failed:\n{}", run.stderr);
    let bundle = fs::read_dir(directory.join("out"))
        .expect("out directory")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle was written");
    let bytes = fs::read(&bundle).expect("read bundle");
    fs::remove_dir_all(directory.join("out")).expect("clean out");
    (bundle, bytes)
}

fn read(bytes: &[u8]) -> Bundle {
    read_bundle(bytes, &ReadLimits::default()).expect("a valid bundle")
}

/// Sets every file's mtime and permissions under `root`, as another checkout would.
fn retouch(root: &Path, mtime: SystemTime, file_mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    for entry in fs::read_dir(root).expect("list") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            retouch(&path, mtime, file_mode);
        } else {
            let file = fs::File::options()
                .write(true)
                .open(&path)
                .expect("open file");
            file.set_modified(mtime).expect("set mtime");
            fs::set_permissions(&path, fs::Permissions::from_mode(file_mode)).expect("chmod");
        }
    }
}

#[test]
fn two_copies_with_other_mtimes_permissions_and_order_build_identical_bytes() {
    let first = shipped_packs(false);
    let second = shipped_packs(true);
    retouch(
        &second.path().join("packs"),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567_890),
        0o600,
    );
    for (pack, tier) in [
        ("packs/example-org", None),
        ("packs/stride-core", Some("top")),
    ] {
        let mut args = vec![pack];
        if let Some(tier) = tier {
            args.extend(["--tier", tier]);
        }
        let (name_a, a) = build(first.path(), &args);
        let (name_b, b) = build(second.path(), &args);
        assert_eq!(name_a.file_name(), name_b.file_name());
        assert_eq!(
            threatpack::digest::sha256(&a),
            threatpack::digest::sha256(&b),
            "{pack}: builds differ"
        );
        // No time in the gzip header (bytes 4..8), none in the tar headers.
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip header carries a time");
        let decoder = flate2::read::GzDecoder::new(&a[..]);
        let mut archive = tar::Archive::new(decoder);
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            let header = entry.header();
            assert_eq!(header.mtime().expect("mtime"), 0);
            assert_eq!(header.uid().expect("uid"), 0);
            assert_eq!(header.mode().expect("mode"), 0o644);
        }
    }
}

#[test]
fn example_org_compiles_overrides_with_provenance() {
    let packs = shipped_packs(false);
    let (path, bytes) = build(packs.path(), &["packs/example-org"]);
    assert!(
        path.ends_with("acme_appsec-policy-1.0.0-all.tar.gz"),
        "{}",
        path.display()
    );
    let bundle = read(&bytes);
    let kb = &bundle.kb;
    // An override's value, and where it came from.
    let xss = kb
        .attack_patterns
        .iter()
        .find(|item| item.id == "threatpack/stride-core:attack-pattern/cross-site-scripting")
        .expect("xss is compiled in");
    assert_eq!(
        serde_json::to_value(xss.severity).expect("json"),
        "critical"
    );
    let source = &xss.provenance["severity"];
    assert_eq!(source.pack, "acme/appsec-policy");
    assert_eq!(source.file, "overrides/pci-scope.toml");
    assert!(
        source
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("PCI"))
    );
    // Fields nobody overrode point into stride-core.
    assert_eq!(xss.provenance["name"].pack, "threatpack/stride-core");
    assert_eq!(xss.provenance["name"].version, "1.0.0");
    // A disabled attack pattern is gone, with its links.
    assert!(
        !kb.attack_patterns
            .iter()
            .any(|item| item.id.ends_with("/android-intent-interception"))
    );
    assert!(!kb.links.iter().any(|link| {
        link.attack_pattern
            .ends_with("/android-intent-interception")
    }));
    // Dependencies are pinned with their bundle digest, licences travel along.
    let dependency = &bundle.manifest.dependencies[0];
    assert_eq!(dependency.name, "threatpack/stride-core");
    assert_eq!(dependency.version, "1.0.0");
    let (_, stride_core) = build(packs.path(), &["packs/stride-core"]);
    assert_eq!(dependency.digest, threatpack::digest::sha256(&stride_core));
    assert!(
        bundle
            .files
            .contains_key("legal/threatpack/stride-core/NOTICE.md")
    );
    // Entities carry inherited properties.
    let payment_api = kb
        .entities
        .iter()
        .find(|entity| entity.id == "acme/appsec-policy:entity/acme-payment-api")
        .expect("acme-payment-api");
    assert!(
        payment_api
            .ancestors
            .iter()
            .any(|ancestor| ancestor.ends_with("/web-api"))
    );
    assert!(
        payment_api
            .properties
            .values()
            .any(|property| property.declared_by.starts_with("threatpack/stride-core:"))
    );

    // `inspect --provenance` shows the same.
    let bundle_path = packs.path().join("bundle.tar.gz");
    fs::write(&bundle_path, &bytes).expect("write bundle");
    let run = threatpack(
        packs.path(),
        &[
            "inspect",
            "bundle.tar.gz",
            "--provenance",
            "cross-site-scripting",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("severity = \"critical\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("acme/appsec-policy 1.0.0 overrides/pci-scope.toml:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("override: Card numbers"),
        "{}",
        run.stdout
    );
    let run = threatpack(packs.path(), &["inspect", "bundle.tar.gz"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "acme/appsec-policy 1.0.0",
        "threatpack/stride-core 1.0.0",
        "overrides:    7",
        "by tier",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn tier_selection_keeps_a_consistent_subset() {
    let packs = shipped_packs(false);
    let (path, bytes) = build(packs.path(), &["packs/example-org", "--tier", "top"]);
    assert!(path.ends_with("acme_appsec-policy-1.0.0-top.tar.gz"));
    let kb = read(&bytes).kb;
    assert_eq!(kb.tier.as_deref(), Some("top"));
    assert!(!kb.attack_patterns.is_empty());
    assert!(kb.attack_patterns.iter().all(|item| item.tier == "top"));
    assert!(kb.mitigations.iter().all(|item| item.tier == "top"));
    // The override moved public-bucket-exposure into the top tier.
    assert!(
        kb.attack_patterns
            .iter()
            .any(|item| item.id.ends_with("/public-bucket-exposure"))
    );
    for link in &kb.links {
        assert_eq!(link.tier, "top");
        assert!(
            kb.attack_patterns
                .iter()
                .any(|item| item.id == link.attack_pattern)
        );
        assert!(kb.mitigations.iter().any(|item| item.id == link.mitigation));
    }
    let unknown = threatpack(
        packs.path(),
        &[
            "build",
            "packs/example-org",
            "--tier",
            "gold",
            "--out",
            "out",
        ],
    );
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("unknown tier `gold`"),
        "{}",
        unknown.stderr
    );
}

/// Three packs: `pack` depends on `policy-a` and `policy-b`, which both override `vendor`.
const CONFLICT: &str = r#"
--- vendor/pack.toml
[pack]
format = 1
name = "test/vendor"
version = "1.0.0"
description = "A vendor pack."
license = "MIT"
tiers = ["top", "standard"]
--- vendor/entities/service.toml
[[entity]]
id = "service"
name = "Service"
description = "A network service."
kind = "process"
--- vendor/attack-patterns/spoofing.toml
[[attack-pattern]]
id = "spoofing"
name = "Spoofing"
description = "Someone pretends to be someone else."
categories = ["spoofing"]
applies-to = ["service"]
severity = "medium"
--- vendor/mitigations/authentication.toml
[[mitigation]]
id = "authentication"
name = "Authentication"
description = "Callers prove who they are."
control = "preventive"
cost = "low"
implementation = "Verify a token on every request."
verification = "Call without a token and expect 401."

[[mitigation.addresses]]
attack-pattern = "spoofing"
strength = "strong"
--- policy-a/pack.toml
[pack]
format = 1
name = "test/policy-a"
version = "1.0.0"
description = "Policy A."
license = "MIT"
tiers = ["top", "standard"]

[dependencies]
"test/vendor" = { version = "^1", path = "../vendor" }
--- policy-a/overrides/severity.toml
[[override]]
target = "test/vendor:attack-pattern/spoofing"
reason = "Policy A rates spoofing high."
severity = "high"
--- policy-b/pack.toml
[pack]
format = 1
name = "test/policy-b"
version = "1.0.0"
description = "Policy B."
license = "MIT"
tiers = ["top", "standard"]

[dependencies]
"test/vendor" = { version = "^1", path = "../vendor" }
--- policy-b/overrides/severity.toml
[[override]]
target = "test/vendor:attack-pattern/spoofing"
reason = "Policy B rates spoofing critical."
severity = "critical"
--- pack/pack.toml
[pack]
format = 1
name = "test/app"
version = "1.0.0"
description = "Depends on both policies."
license = "MIT"
tiers = ["top", "standard"]

[dependencies]
"test/policy-a" = { version = "^1", path = "../policy-a" }
"test/policy-b" = { version = "^1", path = "../policy-b" }
"test/vendor" = { version = "^1", path = "../vendor" }
"#;

#[test]
fn conflicting_overrides_fail_naming_both_places_until_the_dependent_decides() {
    let directory = write_fixture(CONFLICT);
    let run = threatpack(directory.path(), &["build", "pack", "--out", "out"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error[override-conflict]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("policy-a/overrides/severity.toml:4"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("policy-b/overrides/severity.toml:4"),
        "{}",
        run.stderr
    );
    assert!(
        !directory.path().join("out").exists(),
        "nothing is written on error"
    );

    // The pack that depends on both settles it with its own override.
    fs::create_dir_all(directory.path().join("pack/overrides")).expect("mkdir");
    fs::write(
        directory.path().join("pack/overrides/decide.toml"),
        "[[override]]\ntarget = \"test/vendor:attack-pattern/spoofing\"\nreason = \"The app follows policy B.\"\nseverity = \"critical\"\n",
    )
    .expect("write override");
    let (_, bytes) = build(directory.path(), &["pack"]);
    let kb = read(&bytes).kb;
    let spoofing = &kb.attack_patterns[0];
    assert_eq!(
        serde_json::to_value(spoofing.severity).expect("json"),
        "critical"
    );
    assert_eq!(spoofing.provenance["severity"].pack, "test/app");
    // The losing overrides are recorded as superseded.
    let superseded: Vec<_> = kb
        .overrides
        .iter()
        .filter(|applied| !applied.superseded.is_empty())
        .map(|applied| applied.pack.as_str())
        .collect();
    assert_eq!(superseded, ["test/policy-a", "test/policy-b"]);
}

#[test]
fn a_dangling_override_in_a_dependency_fails_the_build() {
    let directory = write_fixture(CONFLICT);
    fs::write(
        directory.path().join("policy-a/overrides/severity.toml"),
        "[[override]]\ntarget = \"test/vendor:attack-pattern/spoofng\"\nreason = \"Typo.\"\nseverity = \"high\"\n",
    )
    .expect("write override");
    fs::remove_dir_all(directory.path().join("policy-b/overrides")).expect("rm");
    let run = threatpack(directory.path(), &["build", "pack", "--out", "out"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("override target `test/vendor:attack-pattern/spoofng` does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("policy-a/overrides/severity.toml:2"),
        "{}",
        run.stderr
    );
}

#[test]
fn upstream_drift_warns_with_the_change_until_refreshed() {
    let packs = shipped_packs(false);
    let xss = packs.path().join("packs/stride-core/attack-patterns");
    // Find the file that defines cross-site-scripting and raise its likelihood upstream.
    let file = fs::read_dir(&xss)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .find(|path| {
            fs::read_to_string(path)
                .expect("read")
                .contains("id = \"cross-site-scripting\"")
        })
        .expect("the file defining cross-site-scripting");
    let text = fs::read_to_string(&file).expect("read");
    let start = text.find("id = \"cross-site-scripting\"").expect("item");
    let name_at = start + text[start..].find("name = ").expect("name");
    let line_end = name_at + text[name_at..].find('\n').expect("end of line");
    let changed = format!(
        "{}name = \"Cross-site scripting, renamed upstream\"{}",
        &text[..name_at],
        &text[line_end..]
    );
    fs::write(&file, changed).expect("write");

    let run = threatpack(
        packs.path(),
        &["build", "packs/example-org", "--out", "out"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning[upstream-drift]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "`threatpack/stride-core:attack-pattern/cross-site-scripting` changed upstream"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("upstream: `name`:"), "{}", run.stderr);
    assert!(run.stderr.contains("renamed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("threatpack overrides refresh"),
        "{}",
        run.stderr
    );

    let refresh = threatpack(packs.path(), &["overrides", "refresh", "packs/example-org"]);
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    assert!(
        refresh.stderr.contains("1 acknowledged"),
        "{}",
        refresh.stderr
    );
    let run = threatpack(
        packs.path(),
        &["check", "packs/example-org", "--deny", "warnings"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_registry_dependency_that_cannot_be_fetched_says_how_to_get_it() {
    let directory = write_fixture(
        r#"
--- pack/pack.toml
[pack]
format = 1
name = "test/app"
version = "1.0.0"
description = "Depends on a registry pack."
license = "MIT"
tiers = ["top"]

[dependencies]
"test/vendor" = "^1"
"#,
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(["build", "pack", "--out", "out", "--offline"])
        .current_dir(directory.path())
        .env("THREATPACK_CACHE_DIR", directory.path().join("cache"))
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`test/vendor` is not in the cache and --offline forbids asking"),
        "{stderr}"
    );
    assert!(!directory.path().join("out").exists());
    assert!(!directory.path().join("pack/threatpack.lock").exists());
}

#[test]
fn conflicting_requirements_name_the_chain() {
    let directory = write_fixture(
        r#"
--- vendor/pack.toml
[pack]
format = 1
name = "test/vendor"
version = "1.4.0"
description = "A vendor pack."
license = "MIT"
tiers = ["top"]
--- base/pack.toml
[pack]
format = 1
name = "test/base"
version = "2.0.0"
description = "A base policy."
license = "MIT"
tiers = ["top"]

[dependencies]
"test/vendor" = { version = "^2", path = "../vendor" }
--- pack/pack.toml
[pack]
format = 1
name = "test/app"
version = "1.0.0"
description = "An app."
license = "MIT"
tiers = ["top"]

[dependencies]
"test/base" = { version = "^2", path = "../base" }
"#,
    );
    let run = threatpack(directory.path(), &["build", "pack", "--out", "out"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("`test/app` 1.0.0 → `test/base` 2.0.0 requires `test/vendor` ^2, but `test/vendor` at `vendor` is 1.4.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn denied_build_warnings_fail_the_build_and_write_nothing() {
    let text = fs::read_to_string(repository().join("tests/fixtures/check/tier-unmitigated.txt"))
        .expect("fixture");
    let directory = write_fixture(&text);
    let run = threatpack(
        directory.path(),
        &[
            "build",
            "pack",
            "--tier",
            "top",
            "--out",
            "out",
            "--deny",
            "tier-unmitigated",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error[tier-unmitigated]"),
        "{}",
        run.stderr
    );
    assert!(!directory.path().join("out").exists());
}

/// `vendor` (tiers `light`, `full`) and two packs built on it that both declare tier rules:
/// `policy` (tiers `top`, `standard`, `deep`), which also redeclares a system property with
/// another default, and `audit` (a single tier, `all`). The packs built from them declare none.
const TIER_RULES: &str = r#"
--- vendor/pack.toml
[pack]
format = 1
name = "test/vendor"
version = "1.0.0"
description = "A vendor pack."
license = "MIT"
tiers = ["light", "full"]

[system.properties.internet_facing]
type = "bool"
default = false
description = "Some part of the system is reachable from the internet."
question = "Can anyone on the internet reach the system?"
rationale = "Internet-facing systems meet anonymous attackers."

[system.properties.criticality]
type = "enum"
values = ["low", "high"]
default = "low"
description = "How much the business depends on the system."
question = "How critical is the system to the business?"
rationale = "Impact scales with criticality."

[[system.tier-rule]]
tier = "full"
when = 'system.criticality == "high"'
reason = "Vendor: critical systems get the full pass."

[[system.tier-rule]]
tier = "light"
when = "system.internet_facing"
reason = "Vendor: internet-facing systems get the light pass."
--- policy/pack.toml
[pack]
format = 1
name = "test/policy"
version = "1.0.0"
description = "A policy on the vendor pack."
license = "MIT"
tiers = ["top", "standard", "deep"]

[dependencies]
"test/vendor" = { version = "^1", path = "../vendor" }

[system.properties.internet_facing]
type = "bool"
default = true
description = "Some part of the system is reachable from the internet."
question = "Can anyone on the internet reach any part of the system, even through a proxy?"
rationale = "Internet-facing systems meet anonymous attackers; unanswered means yes."

[[system.tier-rule]]
tier = "deep"
when = 'system.criticality == "high"'
reason = "Policy: critical systems get the deep pass."

[[system.tier-rule]]
tier = "standard"
when = "system.internet_facing"
reason = "Policy: internet-facing systems get the standard pass."
--- audit/pack.toml
[pack]
format = 1
name = "test/audit"
version = "1.0.0"
description = "An audit pack on the vendor pack."
license = "MIT"
tiers = ["all"]

[dependencies]
"test/vendor" = { version = "^1", path = "../vendor" }

[[system.tier-rule]]
tier = "all"
when = 'system.criticality == "high"'
reason = "Audit: critical systems."
--- on-vendor/pack.toml
[pack]
format = 1
name = "test/on-vendor"
version = "1.0.0"
description = "Built on the vendor pack alone."
license = "MIT"
tiers = ["top", "full"]

[dependencies]
"test/vendor" = { version = "^1", path = "../vendor" }
--- on-policy/pack.toml
[pack]
format = 1
name = "test/on-policy"
version = "1.0.0"
description = "Built on the policy (and so the vendor) pack."
license = "MIT"
tiers = ["quick", "standard", "full"]

[dependencies]
"test/policy" = { version = "^1", path = "../policy" }
"test/vendor" = { version = "^1", path = "../vendor" }
--- on-both/pack.toml
[pack]
format = 1
name = "test/on-both"
version = "1.0.0"
description = "Built on two unrelated packs that both declare tier rules."
license = "MIT"
tiers = ["top", "standard", "deep"]

[dependencies]
"test/audit" = { version = "^1", path = "../audit" }
"test/policy" = { version = "^1", path = "../policy" }
--- own/pack.toml
[pack]
format = 1
name = "test/own"
version = "1.0.0"
description = "Declares its own tier rule."
license = "MIT"
tiers = ["top", "standard", "deep"]

[dependencies]
"test/policy" = { version = "^1", path = "../policy" }

[[system.tier-rule]]
tier = "standard"
when = "true"
reason = "Own: everything gets the standard pass."
"#;

/// The compiled tier rules as `(tier, reason, pack:line)`.
fn compiled_rules(kb: &threatpack::compile::KnowledgeBase) -> Vec<(String, String, String)> {
    kb.tier_rules
        .iter()
        .map(|rule| {
            (
                rule.tier.clone(),
                rule.reason.clone(),
                format!("{}:{}", rule.provenance.pack, rule.provenance.line),
            )
        })
        .collect()
}

fn owned(rules: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rules
        .iter()
        .map(|(tier, reason, at)| (tier.to_string(), reason.to_string(), at.to_string()))
        .collect()
}

#[test]
fn kb_json_carries_system_properties_and_the_tier_rules_in_force_with_mapped_tiers() {
    let directory = write_fixture(TIER_RULES);
    let kb_of = |pack: &str| {
        let check = threatpack(directory.path(), &["check", pack, "--deny", "warnings"]);
        assert_eq!(check.code, 0, "{pack}: {}", check.stderr);
        let (_, bytes) = build(directory.path(), &[pack]);
        read(&bytes).kb
    };

    // The dependency's rules, their tiers mapped by name (`full`) or else by rank (`light`,
    // rank 0, becomes `top`).
    let kb = kb_of("on-vendor");
    assert_eq!(
        compiled_rules(&kb),
        owned(&[
            (
                "full",
                "Vendor: critical systems get the full pass.",
                "test/vendor:24"
            ),
            (
                "top",
                "Vendor: internet-facing systems get the light pass.",
                "test/vendor:29"
            ),
        ])
    );
    assert_eq!(kb.tier_rules[0].when, "system.criticality == \"high\"");
    assert_eq!(kb.tier_rules[0].provenance.file, "pack.toml");
    let names: Vec<&str> = kb.system_properties.keys().map(String::as_str).collect();
    assert_eq!(names, ["criticality", "internet_facing"]);

    // `policy` depends on `vendor`, so its rules replace the vendor's; `deep` is not a tier of
    // the built pack and maps by rank (2) to `full`, `standard` by name. Its redeclaration of
    // `internet_facing` (another default) is the one compiled.
    let kb = kb_of("on-policy");
    assert_eq!(
        compiled_rules(&kb),
        owned(&[
            (
                "full",
                "Policy: critical systems get the deep pass.",
                "test/policy:19"
            ),
            (
                "standard",
                "Policy: internet-facing systems get the standard pass.",
                "test/policy:24"
            ),
        ])
    );
    let internet_facing = &kb.system_properties["internet_facing"];
    assert_eq!(internet_facing.declared_by, "test/policy");
    assert_eq!(internet_facing.definition.default, serde_json::json!(true));
    assert_eq!(
        (
            internet_facing.provenance.pack.as_str(),
            internet_facing.provenance.line
        ),
        ("test/policy", 12)
    );
    let criticality = &kb.system_properties["criticality"];
    assert_eq!(criticality.declared_by, "test/vendor");
    assert_eq!(criticality.definition.values, ["low", "high"]);

    // Two packs that do not depend on each other: both sets, in dependency order (`audit`'s
    // single tier `all` maps by rank to `top`).
    let kb = kb_of("on-both");
    assert_eq!(
        compiled_rules(&kb),
        owned(&[
            ("top", "Audit: critical systems.", "test/audit:12"),
            (
                "deep",
                "Policy: critical systems get the deep pass.",
                "test/policy:19"
            ),
            (
                "standard",
                "Policy: internet-facing systems get the standard pass.",
                "test/policy:24"
            ),
        ])
    );

    // The built pack's own rules replace every dependency's.
    let kb = kb_of("own");
    assert_eq!(
        compiled_rules(&kb),
        owned(&[(
            "standard",
            "Own: everything gets the standard pass.",
            "test/own:12"
        )])
    );
    assert_eq!(
        kb.system_properties.len(),
        2,
        "the dependencies' properties stay"
    );

    // In kb.json, under the documented names, in rule order.
    let (_, bytes) = build(directory.path(), &["on-policy"]);
    let bundle = read(&bytes);
    let json: serde_json::Value =
        serde_json::from_slice(&bundle.files[threatpack::bundle::KB_PATH]).expect("kb.json");
    assert_eq!(json["tier-rules"][1]["tier"], "standard");
    assert_eq!(
        json["system-properties"]["internet_facing"]["declared-by"],
        "test/policy"
    );
    assert_eq!(json["system-properties"]["criticality"]["type"], "enum");
}

#[test]
fn the_shipped_core_pack_compiles_its_system_properties_and_tier_rules() {
    let packs = shipped_packs(false);
    let (_, bytes) = build(packs.path(), &["packs/example-org"]);
    let kb = read(&bytes).kb;
    for name in [
        "business_criticality",
        "compliance_scope",
        "handles_personal_data",
        "internet_facing",
        "users",
    ] {
        let property = &kb.system_properties[name];
        assert_eq!(property.declared_by, "threatpack/stride-core", "{name}");
        assert!(!property.definition.question.is_empty(), "{name}");
    }
    let tiers: Vec<&str> = kb
        .tier_rules
        .iter()
        .map(|rule| rule.tier.as_str())
        .collect();
    assert_eq!(
        tiers,
        ["deep", "standard"],
        "no rule: the first tier, `top`"
    );
}

/// Issue 12: a pack building on a dependency rebuilt that dependency's bundle every time, only
/// to record its digest. The digest is kept in the cache by what the dependency is built
/// from, sealed with its key: unchanged and intact, it is reused; changed, edited or in another
/// format, the dependency is built again and the entry rewritten. Either way the bundle is the
/// one a build without any cache makes.
#[test]
fn dependency_digests_are_reused_from_the_cache_only_while_the_dependency_is_unchanged() {
    let directory = shipped_packs(false);
    let cache = directory.path().join("cache");
    let build_with_cache = |cache: &Path| {
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_threatpack"))
            .args(["build", "packs/example-org", "--out", "out"])
            .current_dir(directory.path())
            .env("THREATPACK_CACHE_DIR", cache)
            .output()
            .expect("the binary runs");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let bundle = directory
            .path()
            .join("out/acme_appsec-policy-1.0.0-all.tar.gz");
        let bytes = fs::read(&bundle).expect("the bundle");
        fs::remove_dir_all(directory.path().join("out")).expect("clean out");
        bytes
    };
    let stride_core_digest = |bundle: &[u8]| {
        read(bundle)
            .manifest
            .dependencies
            .iter()
            .find(|dependency| dependency.name == "threatpack/stride-core")
            .expect("stride-core is a dependency")
            .digest
            .clone()
    };
    let uncached = build_with_cache(&directory.path().join("empty-cache"));
    let first = build_with_cache(&cache);
    assert_eq!(first, uncached, "the same bytes with and without a cache");
    let recorded: Vec<PathBuf> = fs::read_dir(cache.join("build-digests"))
        .expect("the digests are kept")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let entry = &recorded[0];
    let kept = fs::read_to_string(entry).expect("an entry");
    let digest = stride_core_digest(&first);
    let key = format!(
        "sha256:{}",
        entry.file_name().expect("a name").to_string_lossy()
    );
    let seal = threatpack::client::cache::build_digest_seal(&key, &digest);
    assert_eq!(kept, format!("{digest}\n{seal}\n"));
    // The second build reads the cache: a digest sealed with its key is what the manifest
    // then records.
    let planted = format!("sha256:{}", "a".repeat(64));
    let planted_seal = threatpack::client::cache::build_digest_seal(&key, &planted);
    fs::write(entry, format!("{planted}\n{planted_seal}\n")).expect("plant a digest");
    assert_eq!(stride_core_digest(&build_with_cache(&cache)), planted);
    // A digest edited without its seal, an entry of another key, or one in the older
    // one-line form is not trusted: the dependency is built again and the entry rewritten.
    let other_key = format!("sha256:{}", "b".repeat(64));
    let tampered = [
        format!("{planted}\n{seal}\n"),
        format!(
            "{planted}\n{}\n",
            threatpack::client::cache::build_digest_seal(&other_key, &planted)
        ),
        format!("{planted}\n"),
        String::new(),
    ];
    for text in tampered {
        fs::write(entry, &text).expect("tamper with the entry");
        assert_eq!(build_with_cache(&cache), uncached, "{text:?} was trusted");
        assert_eq!(
            fs::read_to_string(entry).expect("the entry"),
            kept,
            "{text:?} was not rewritten"
        );
    }
    assert_eq!(
        build_with_cache(&cache),
        uncached,
        "a cached digest builds the same bytes"
    );
    // A changed dependency has another key: built again, never the stale digest.
    let description = directory
        .path()
        .join("packs/stride-core/attack-patterns/injection.toml");
    let text = fs::read_to_string(&description).expect("read");
    fs::write(
        &description,
        text.replacen("SQL and NoSQL", "SQL or NoSQL", 1),
    )
    .expect("edit");
    let changed = build_with_cache(&cache);
    let changed_uncached = build_with_cache(&directory.path().join("another-empty-cache"));
    assert_eq!(changed, changed_uncached);
    assert_ne!(stride_core_digest(&changed), digest);
}

/// `build --sign` writes the bundle and its signature together (`write_files_atomically`):
/// both whole, with their mode, and nothing left beside them; when one of them cannot be
/// written, neither is.
#[test]
fn files_written_together_are_all_written_or_none() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().expect("temp dir");
    let bundle = directory.path().join("out/pack.tar.gz");
    let signature = directory.path().join("out/pack.tar.gz.minisig");
    threatpack::workspace::write_files_atomically(
        &[
            (bundle.as_path(), &b"bundle bytes"[..]),
            (signature.as_path(), &b"signature text"[..]),
        ],
        0o644,
    )
    .expect("written");
    assert_eq!(fs::read(&bundle).expect("bundle"), b"bundle bytes");
    assert_eq!(fs::read(&signature).expect("signature"), b"signature text");
    for path in [&bundle, &signature] {
        let mode = fs::metadata(path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{}", path.display());
    }
    let names = |path: &Path| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(path)
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&directory.path().join("out")),
        ["pack.tar.gz", "pack.tar.gz.minisig"]
    );

    // The second file's directory cannot exist (a file has its name): nothing is written.
    fs::write(directory.path().join("blocked"), "a file").expect("write");
    let first = directory.path().join("other/pack.tar.gz");
    let error = threatpack::workspace::write_files_atomically(
        &[
            (first.as_path(), &b"bundle bytes"[..]),
            (
                directory
                    .path()
                    .join("blocked/pack.tar.gz.minisig")
                    .as_path(),
                &b"signature"[..],
            ),
        ],
        0o644,
    )
    .expect_err("the second cannot be written");
    assert!(error.contains("blocked"), "{error}");
    assert!(!first.exists());
    assert!(names(&directory.path().join("other")).is_empty());
}
