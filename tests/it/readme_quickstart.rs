//! The README's Quickstart runs as written (issue 12: its examples had drifted from the code).
//! Every `sh` block of the section is run in order by bash in a scratch directory, with the
//! binary under test on PATH, against the real registry on loopback. Three kinds of line are
//! the test's to do: `cargo install` (the binary is already built), and starting
//! `threatpack-registry` (the test starts the same server in-process, on a free port that
//! `THREATPACK_REGISTRY` names, and writes its admin token where the server's first start
//! writes it, `DATA/admin-token`, for `threatpack login` to read). scripts/whole-loop.sh runs
//! the installed registry binary itself, in CI.

use std::path::Path;
use std::process::Command;

use threatpack_registry::server::ADMIN_TOKEN_FILE;

use crate::registry_client::start_registry;
use crate::support::repository;

/// The `sh` blocks of the README's section `heading`, in order.
fn section_script(heading: &str) -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("a section `{heading}`"));
    let section = &readme[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let mut script = String::new();
    let mut in_sh = false;
    for line in section.lines() {
        match (in_sh, line) {
            (false, "```sh") => in_sh = true,
            (true, "```") => in_sh = false,
            (true, line) => {
                let command = line.trim_start();
                if command.starts_with("cargo install ") {
                    script.push_str(": # installed by the test: ");
                } else if let Some(arguments) = command.strip_prefix("threatpack-registry ") {
                    // Started by the test; its token goes where the server would write it.
                    let data = arguments
                        .split_whitespace()
                        .skip_while(|argument| *argument != "--data")
                        .nth(1)
                        .expect("the README starts the registry with `--data DIR`");
                    script.push_str(&format!(
                        "mkdir -p {data} && printf '%s\\n' \"$ADMIN_TOKEN\" > {data}/{ADMIN_TOKEN_FILE} # "
                    ));
                }
                script.push_str(line);
                script.push('\n');
            }
            (false, _) => {}
        }
    }
    script
}

/// Runs `script` with bash (`-euo pipefail`) in `scratch`, the binary under test first on
/// PATH, no colour, a home, config and cache of its own, and `env`. Panics with the script and
/// both outputs when it fails; returns stdout and stderr.
fn run_script(script: &str, scratch: &Path, env: &[(&str, &str)]) -> (String, String) {
    let binary = Path::new(env!("CARGO_BIN_EXE_threatpack"));
    let path = format!(
        "{}:{}",
        binary.parent().expect("the binary's directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(scratch)
        .env("PATH", path)
        .env("HOME", scratch)
        .env("NO_COLOR", "1")
        .env("THREATPACK_CONFIG_DIR", scratch.join("config"))
        .env("THREATPACK_CACHE_DIR", scratch.join("cache"))
        .env_remove("THREATPACK_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the README's commands stopped:\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn the_readme_quickstart_runs_as_written() {
    let script = section_script("Quickstart");
    for expected in [
        "threatpack new ",
        "threatpack namespace create ",
        "threatpack publish ",
        "threatpack semver-check ",
        "threatpack lock",
        "threatpack apply --locked --offline",
    ] {
        assert!(script.contains(expected), "{expected}: {script}");
    }
    let registry = start_registry();
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let scratch_text = scratch.path().display().to_string();
    let (stdout, stderr) = run_script(
        &script,
        scratch.path(),
        &[
            // `cd "$(mktemp -d)"` lands inside the test's own temporary directory.
            ("TMPDIR", &scratch_text),
            ("THREATPACK_REGISTRY", &registry.url),
            ("ADMIN_TOKEN", &registry.admin),
            ("THREATPACK_KEY_PASSWORD", "quickstart password"),
        ],
    );
    // The consuming project's threat model names the pack's attack pattern on its `api`.
    assert!(
        stdout.contains("Unauthenticated access"),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The token went through `login` (stored with mode 0600), not through the environment.
    let credentials = scratch.path().join("config/credentials.toml");
    assert!(credentials.is_file(), "{stderr}");
}

/// Copies `from` into `to`, recursively (the shipped packs and the example project).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("a directory") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

#[test]
fn the_readme_example_in_every_output_runs_as_written() {
    let script = section_script("The example, in every output");
    assert!(script.contains("--format backlog-csv"), "{script}");
    // Run where the README says, the repository's root: a copy of what the block reads.
    let scratch = tempfile::tempdir().expect("a temporary directory");
    for part in ["packs", "examples/online-shop"] {
        copy_tree(&repository().join(part), &scratch.path().join(part));
    }
    let (stdout, _) = run_script(&script, scratch.path(), &[]);
    for written in ["report.json", "threat-model.md", "backlog.csv"] {
        assert!(
            scratch.path().join("dist").join(written).is_file(),
            "{written}"
        );
    }
    assert!(stdout.contains("sql-injection"), "{stdout}");
}
