//! `apply` for CI: the report's provenance, the gate (`--fail-on`, `--baseline`, `--policy`,
//! exit code 3), governed risk acceptance, SARIF and `test --format junit`.

use std::fs;

use serde_json::Value as Json;

use crate::support::{Run, repository, threatpack, threatpack_with};

/// The example shop with example-org, offline: the model and pack as the docs show them.
const SHOP: [&str; 4] = [
    "--model",
    "examples/online-shop/model.toml",
    "--pack",
    "packs/example-org",
];

fn shop(extra: &[&str]) -> Run {
    let mut args = vec!["apply"];
    args.extend_from_slice(&SHOP);
    args.extend_from_slice(extra);
    threatpack(&repository(), &args)
}

fn json(run: &Run) -> Json {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stderr))
}

#[test]
fn the_json_report_records_its_provenance() {
    let run = shop(&["--format", "json", "--offline"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run);
    let provenance = &report["provenance"];
    assert_eq!(report["format"], 2);
    assert_eq!(provenance["tool"]["name"], "threatpack");
    assert_eq!(provenance["tool"]["version"], env!("CARGO_PKG_VERSION"));
    // SOURCE_DATE_EPOCH (set by the test support) is the time.
    assert_eq!(provenance["generated-at"], "2026-12-08T00:00:00Z");
    let model = fs::read(repository().join("examples/online-shop/model.toml")).expect("model");
    assert_eq!(
        provenance["model"]["sha256"],
        threatpack::digest::sha256_hex(&model)
    );
    assert_eq!(
        provenance["model"]["file"],
        "examples/online-shop/model.toml"
    );
    let packs = provenance["packs"].as_array().expect("packs");
    let names: Vec<&str> = packs
        .iter()
        .filter_map(|pack| pack["name"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");
    assert!(names.contains(&"threatpack/stride-core"), "{names:?}");
    assert!(names.contains(&"acme/appsec-policy"), "{names:?}");
    for pack in packs {
        assert_eq!(pack["source"], "directory", "{pack}");
        assert_eq!(pack["sha256"], Json::Null);
    }
    // No flag, no threatpack.toml name, no CI: no project.
    assert!(provenance.get("project").is_none(), "{provenance}");
}

#[test]
fn the_project_comes_from_the_flag_else_the_ci_system() {
    let ci = |variables: &[(&str, &str)], extra: &[&str]| -> Json {
        let mut args = vec!["apply"];
        args.extend_from_slice(&SHOP);
        args.extend_from_slice(&["--format", "json", "--offline"]);
        args.extend_from_slice(extra);
        let run = threatpack_with(&repository(), &args, |command| {
            for (name, value) in variables {
                command.env(name, value);
            }
        });
        assert_eq!(run.code, 0, "{}", run.stderr);
        json(&run)["provenance"]["project"].clone()
    };
    let github = [("GITHUB_REPOSITORY", "acme/shop"), ("GITHUB_SHA", "9f1c")];
    assert_eq!(
        ci(&github, &[]),
        serde_json::json!({"name": "acme/shop", "revision": "9f1c", "source": "github-actions"})
    );
    assert_eq!(
        ci(
            &github,
            &["--project-name", "acme/other", "--revision", "abc"]
        ),
        serde_json::json!({"name": "acme/other", "revision": "abc", "source": "flag"})
    );
    let gitlab = [("CI_PROJECT_PATH", "acme/gl"), ("CI_COMMIT_SHA", "c0ffee")];
    assert_eq!(ci(&gitlab, &[])["source"], "gitlab-ci");
    let azure = [
        ("BUILD_REPOSITORY_NAME", "acme/az"),
        ("BUILD_SOURCEVERSION", "beef"),
    ];
    assert_eq!(ci(&azure, &[])["revision"], "beef");
    let jenkins = [("JOB_NAME", "acme/jk"), ("GIT_COMMIT", "f00d")];
    assert_eq!(ci(&jenkins, &[])["source"], "jenkins");
    // A name without a revision: the revision is left out, not made up.
    assert_eq!(
        ci(&[], &["--project-name", "acme/shop"]),
        serde_json::json!({"name": "acme/shop", "source": "flag"})
    );
}

#[test]
fn a_bundle_is_recorded_with_its_digest_and_verified_signer() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let root = directory.path();
    let build = threatpack(
        &repository(),
        &[
            "build",
            "packs/stride-core",
            "--out",
            &root.join("dist").to_string_lossy(),
        ],
    );
    assert_eq!(build.code, 0, "{}", build.stderr);
    let bundle = fs::read_dir(root.join("dist"))
        .expect("dist")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .expect("a bundle");
    let key = threatpack(root, &["key", "generate", "--unencrypted", "--out", "k"]);
    assert_eq!(key.code, 0, "{}", key.stderr);
    let sign = threatpack(root, &["sign", &bundle.to_string_lossy(), "--key", "k.key"]);
    assert_eq!(sign.code, 0, "{}", sign.stderr);
    let model = repository().join("examples/online-shop/model.toml");
    let args = |key: bool| {
        let mut args = vec![
            "apply".to_string(),
            "--model".to_string(),
            model.to_string_lossy().to_string(),
            "--bundle".to_string(),
            bundle.to_string_lossy().to_string(),
            "--format".to_string(),
            "json".to_string(),
        ];
        if key {
            args.extend(["--key".to_string(), "k.pub".to_string()]);
        }
        args
    };
    let run = |key: bool| {
        let args = args(key);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = threatpack(root, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        json(&run)["provenance"]["packs"][0].clone()
    };
    let digest = threatpack::digest::sha256_hex(&fs::read(&bundle).expect("the bundle"));
    let unchecked = run(false);
    assert_eq!(unchecked["name"], "threatpack/stride-core");
    assert_eq!(unchecked["source"], "bundle");
    assert_eq!(unchecked["sha256"], digest.as_str());
    assert_eq!(
        unchecked["signer"],
        Json::Null,
        "not verified: no signer claimed"
    );
    let signer = run(true)["signer"].clone();
    let key_id = signer.as_str().expect("the verified signer");
    assert_eq!(key_id.len(), 16);
    let public = fs::read_to_string(root.join("k.pub")).expect("k.pub");
    assert!(public.contains(key_id), "{public}");
}
