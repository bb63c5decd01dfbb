//! Conventions users bring from cargo, uv and gh: shell completions, man pages, `--color`
//! with `NO_COLOR`/`CLICOLOR_FORCE`, `-q`/`-v`, and the environment listed in `--help`.

use std::path::Path;

use crate::support::{Run, repository, threatpack, threatpack_with, write_fixture};

/// Runs the binary with exactly the colour variables given (none inherited).
fn run_with_env(directory: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    threatpack_with(directory, args, |command| {
        command
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .envs(env.iter().copied());
    })
}

const ESCAPE: char = '\u{1b}';

#[test]
fn completions_are_generated_for_each_shell_from_the_real_flags() {
    let directory = repository();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef threatpack"),
        ("fish", "complete -c threatpack"),
    ] {
        let run = threatpack(&directory, &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        // Subcommands and their flags are in the script.
        assert!(run.stdout.contains("semver-check"), "{shell}");
        assert!(run.stdout.contains("offline"), "{shell}");
    }
    let unknown = threatpack(&directory, &["completions", "tcsh"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}

#[test]
fn man_pages_are_written_one_per_command() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let run = threatpack(directory.path(), &["man", "--out", "pages"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let top =
        std::fs::read_to_string(directory.path().join("pages/threatpack.1")).expect("threatpack.1");
    assert!(top.contains(".TH threatpack 1"), "{top}");
    let apply = std::fs::read_to_string(directory.path().join("pages/threatpack-apply.1"))
        .expect("threatpack-apply.1");
    assert!(apply.contains("\\-\\-model"), "{apply}");
    assert!(run.stderr.starts_with("wrote "), "{}", run.stderr);
    // `-q` keeps status lines off stderr, never the work.
    let quiet = threatpack(directory.path(), &["-q", "man", "--out", "quiet"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(quiet.stderr, "");
    assert!(directory.path().join("quiet/threatpack-apply.1").is_file());
}

#[test]
fn color_follows_the_flag_then_no_color_then_clicolor_force() {
    // A pack with one error, so that `check` prints a diagnostic on stderr (not a terminal).
    let directory = write_fixture(
        "--- pack/pack.toml\n[pack]\nformat = 1\nname = \"test/colour\"\nversion = \"1.0.0\"\ndescription = \"x\"\nlicense = \"MIT\"\nbogus = 1\n",
    );
    let check = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = args.to_vec();
        all.extend(["check", "pack"]);
        let run = run_with_env(directory.path(), &all, env);
        assert_eq!(run.code, 1, "{}", run.stderr);
        run.stderr.contains(ESCAPE)
    };
    assert!(!check(&[], &[]), "not a terminal: plain");
    assert!(check(&["--color", "always"], &[("NO_COLOR", "1")]));
    assert!(!check(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
    assert!(check(&[], &[("CLICOLOR_FORCE", "1")]));
    assert!(!check(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    // The flag is global: it may follow the subcommand too.
    let run = run_with_env(
        directory.path(),
        &["check", "pack", "--color", "always"],
        &[],
    );
    assert!(run.stderr.contains(ESCAPE), "{}", run.stderr);
}

#[test]
fn help_lists_the_environment_the_client_reads() {
    let run = threatpack(&repository(), &["--help"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for variable in [
        "THREATPACK_REGISTRY",
        "THREATPACK_TOKEN",
        "THREATPACK_CONFIG_DIR",
        "THREATPACK_CACHE_DIR",
        "THREATPACK_KEY_PASSWORD",
        "NO_COLOR",
    ] {
        assert!(run.stdout.contains(variable), "{variable}: {}", run.stdout);
    }
    for flag in ["--color", "--quiet", "--verbose"] {
        assert!(run.stdout.contains(flag), "{flag}: {}", run.stdout);
    }
}
