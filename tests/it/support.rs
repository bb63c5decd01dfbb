//! Test helpers: multi-file fixtures written to a temporary directory, and running the binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The output of one run of `threatpack`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A cache directory for the runs of this test process, never the user's: `build` keeps its
/// dependencies' bundle digests there.
pub fn test_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// Runs `threatpack` with `args` in `directory`, without colour, with the test's own cache.
/// The variables from which `apply` takes a project's identity: never the test runner's.
pub const CI_VARIABLES: [&str; 10] = [
    "THREATPACK_PROJECT",
    "THREATPACK_REVISION",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "CI_PROJECT_PATH",
    "CI_COMMIT_SHA",
    "BUILD_REPOSITORY_NAME",
    "BUILD_SOURCEVERSION",
    "JOB_NAME",
    "GIT_COMMIT",
];

pub fn threatpack(directory: &Path, args: &[&str]) -> Run {
    threatpack_with(directory, args, |_| {})
}

/// [`threatpack`], with `configure` changing the command (its environment) before it runs.
pub fn threatpack_with(
    directory: &Path,
    args: &[&str],
    configure: impl FnOnce(&mut Command),
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_threatpack"));
    command
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env("THREATPACK_CACHE_DIR", test_cache())
        // Reports record their time and the CI system's project: the same in every run.
        .env("SOURCE_DATE_EPOCH", "1796688000");
    for variable in CI_VARIABLES {
        command.env_remove(variable);
    }
    configure(&mut command);
    let output = command.output().expect("the threatpack binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The repository root.
pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository as text (`path` relative to its root).
pub fn read_repository_file(path: &str) -> String {
    fs::read_to_string(repository().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Writes a multi-file fixture: `--- path` lines start each file; lines before the first are
/// the fixture's description (`#` comments). Returns the directory.
///
/// For the bytes text cannot show, a `--- path` line may end with one directive:
/// - `!latin1`: the file is written in ISO-8859-1, one byte per character, so `é` becomes the
///   byte 0xE9, which is not valid UTF-8 (a file saved by an editor in a Latin-1 locale);
/// - `!size=N`: the text is padded with `#` comment lines to exactly N bytes.
pub fn write_fixture(text: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut current: Option<(String, String)> = None;
    let mut files = Vec::new();
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("--- ") {
            files.extend(current.take());
            current = Some((path.trim().to_string(), String::new()));
        } else if let Some((_, contents)) = &mut current {
            contents.push_str(line);
            contents.push('\n');
        }
    }
    files.extend(current);
    for (header, contents) in files {
        let (path, bytes) = fixture_file(&header, contents);
        let target = directory.path().join(path);
        fs::create_dir_all(target.parent().expect("fixture paths have a parent"))
            .expect("create fixture directory");
        fs::write(target, bytes).expect("write fixture file");
    }
    directory
}

/// The path and bytes of one fixture file, after its `--- path !directive` if any.
fn fixture_file(header: &str, contents: String) -> (&str, Vec<u8>) {
    let Some((path, directive)) = header.split_once(" !") else {
        return (header, contents.into_bytes());
    };
    let bytes = if directive == "latin1" {
        contents
            .chars()
            .map(|character| {
                u8::try_from(u32::from(character)).expect("`!latin1` text is ISO-8859-1")
            })
            .collect()
    } else if let Some(size) = directive.strip_prefix("size=") {
        let size: usize = size.parse().expect("`!size=N` takes a byte count");
        let mut bytes = contents.into_bytes();
        assert!(
            bytes.len() <= size,
            "`!size={size}`: the text is already larger"
        );
        while bytes.len() < size {
            bytes.extend_from_slice(b"# padding\n");
        }
        bytes.truncate(size);
        bytes
    } else {
        panic!("unknown fixture directive `!{directive}` in `--- {header}`");
    };
    (path.trim(), bytes)
}

/// The human and JSON output of `check` (or `command`, e.g. `build --tier top`) on the `pack`
/// directory of a fixture, for snapshots.
pub fn check_snapshot(directory: &Path, command: &[&str]) -> (Run, String) {
    let (subcommand, extra) = command.split_first().unwrap_or((&"check", &[]));
    let mut args = vec![*subcommand, "pack"];
    args.extend(extra);
    let human = threatpack(directory, &args);
    args.extend(["--format", "json"]);
    let json = threatpack(directory, &args);
    assert_eq!(human.code, json.code, "both formats exit alike");
    let snapshot = format!(
        "exit code: {}\n----- human (stderr) -----\n{}----- json (stdout) -----\n{}",
        human.code, human.stderr, json.stdout
    );
    (human, snapshot)
}
