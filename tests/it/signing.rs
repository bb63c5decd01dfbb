//! Keys, signatures and verification, checked against the standard `minisign` tool (Debian
//! package `minisign`, installed by `.ci/run`) in both directions.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::{repository, threatpack};

/// A temporary directory holding a copy of `packs/stride-core` as `pack`.
fn workspace() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temporary directory");
    copy(
        &repository().join("packs/stride-core"),
        &directory.path().join("pack"),
    );
    directory
}

fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("list") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Runs the `minisign` tool; panics with its output when it fails.
fn minisign(directory: &Path, args: &[&str]) -> std::process::Output {
    Command::new("minisign")
        .args(args)
        .current_dir(directory)
        .output()
        .expect("the `minisign` tool is installed (apt-get install minisign; .ci/run does)")
}

fn ok(run: &crate::support::Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// Builds `pack` (optionally at another tier) into `out/` and returns the bundle's name.
fn build(directory: &Path, extra: &[&str]) -> String {
    let mut args = vec!["build", "pack", "--out", "out"];
    args.extend(extra);
    let run = threatpack(directory, &args);
    ok(&run);
    let tier = extra
        .iter()
        .position(|arg| *arg == "--tier")
        .map_or("all", |at| extra[at + 1]);
    let version = fs::read_to_string(directory.join("pack/pack.toml"))
        .expect("manifest")
        .lines()
        .find_map(|line| {
            line.strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_string)
        })
        .expect("a version");
    format!("out/threatpack_stride-core-{version}-{tier}.tar.gz")
}

#[test]
fn generated_secret_keys_are_private_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().expect("temporary directory");
    ok(&threatpack(
        directory.path(),
        &["key", "generate", "--unencrypted", "--out", "k"],
    ));
    let mode = fs::metadata(directory.path().join("k.key"))
        .expect("secret key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = fs::read(directory.path().join("k.key")).expect("read");
    let again = threatpack(
        directory.path(),
        &["key", "generate", "--unencrypted", "--out", "k"],
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("pass `--force`"), "{}", again.stderr);
    assert_eq!(
        fs::read(directory.path().join("k.key")).expect("read"),
        before
    );
    ok(&threatpack(
        directory.path(),
        &["key", "generate", "--unencrypted", "--out", "k", "--force"],
    ));
    assert_ne!(
        fs::read(directory.path().join("k.key")).expect("read"),
        before
    );
}

#[test]
fn encrypted_keys_need_their_password() {
    let directory = workspace();
    let root = directory.path();
    let generate = Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(["key", "generate", "--out", "k"])
        .current_dir(root)
        .env("THREATPACK_KEY_PASSWORD", "correct horse")
        .output()
        .expect("run");
    assert!(
        generate.status.success(),
        "{}",
        String::from_utf8_lossy(&generate.stderr)
    );
    let secret = fs::read_to_string(root.join("k.key")).expect("secret key");
    assert!(secret.contains("(encrypted)"), "{secret}");
    let bundle = build(root, &[]);
    let sign = |password: &str| {
        Command::new(env!("CARGO_BIN_EXE_threatpack"))
            .args(["sign", &bundle, "--key", "k.key"])
            .current_dir(root)
            .env("THREATPACK_KEY_PASSWORD", password)
            .output()
            .expect("run")
    };
    let wrong = sign("wrong");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("cannot decrypt the secret key"));
    assert!(sign("correct horse").status.success());
    ok(&threatpack(root, &["verify", &bundle, "--key", "k.pub"]));
    // Without the variable and without a terminal, it says what to do.
    let no_password = threatpack(root, &["sign", &bundle, "--key", "k.key"]);
    assert_eq!(no_password.code, 2);
    assert!(
        no_password.stderr.contains("THREATPACK_KEY_PASSWORD"),
        "{}",
        no_password.stderr
    );
}

#[test]
fn the_minisign_tool_verifies_our_signatures() {
    let directory = workspace();
    let root = directory.path();
    ok(&threatpack(
        root,
        &["key", "generate", "--unencrypted", "--out", "k"],
    ));
    let run = threatpack(root, &["build", "pack", "--sign", "k.key", "--out", "out"]);
    ok(&run);
    let bundle = "out/threatpack_stride-core-1.0.0-all.tar.gz";
    let verified = minisign(root, &["-V", "-p", "k.pub", "-m", bundle]);
    assert!(
        verified.status.success(),
        "minisign -V failed: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let output = String::from_utf8_lossy(&verified.stdout);
    assert!(
        output.contains(
            "threatpack-bundle pack=threatpack/stride-core version=1.0.0 tier=all sha256="
        ),
        "{output}"
    );
}

#[test]
fn we_verify_signatures_made_by_the_minisign_tool() {
    let directory = workspace();
    let root = directory.path();
    let generated = minisign(root, &["-G", "-W", "-p", "m.pub", "-s", "m.key"]);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let bundle = build(root, &[]);
    let comment = threatpack(root, &["inspect", &bundle, "--trusted-comment"]);
    ok(&comment);
    let signed = minisign(
        root,
        &[
            "-S",
            "-W",
            "-s",
            "m.key",
            "-m",
            &bundle,
            "-t",
            comment.stdout.trim(),
        ],
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let run = threatpack(root, &["verify", &bundle, "--key", "m.pub"]);
    ok(&run);
    assert!(
        run.stderr
            .contains("verified: `threatpack/stride-core` 1.0.0"),
        "{}",
        run.stderr
    );

    // A key made by the tool also signs with `threatpack sign`.
    ok(&threatpack(root, &["sign", &bundle, "--key", "m.key"]));
    ok(&threatpack(root, &["verify", &bundle, "--key", "m.pub"]));

    // The tool's default trusted comment binds nothing: refused, with what to do.
    let plain = minisign(root, &["-S", "-W", "-s", "m.key", "-m", &bundle]);
    assert!(plain.status.success());
    let run = threatpack(root, &["verify", &bundle, "--key", "m.pub"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("does not bind a bundle"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--trusted-comment"), "{}", run.stderr);
}

#[test]
fn tampered_swapped_and_other_version_signatures_are_rejected_each_with_its_reason() {
    let directory = workspace();
    let root = directory.path();
    ok(&threatpack(
        root,
        &["key", "generate", "--unencrypted", "--out", "k"],
    ));
    ok(&threatpack(
        root,
        &["key", "generate", "--unencrypted", "--out", "other"],
    ));
    let all = build(root, &["--sign", "k.key"]);
    let top = build(root, &["--tier", "top", "--sign", "k.key"]);
    ok(&threatpack(root, &["verify", &all, "--key", "k.pub"]));
    ok(&threatpack(root, &["verify", &top, "--key", "k.pub"]));

    // Tampered: one byte of the bundle changed after signing.
    let mut bytes = fs::read(root.join(&all)).expect("read");
    fs::copy(
        root.join(format!("{all}.minisig")),
        root.join("tampered.tar.gz.minisig"),
    )
    .expect("copy");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(root.join("tampered.tar.gz"), &bytes).expect("write");
    let run = threatpack(root, &["verify", "tampered.tar.gz", "--key", "k.pub"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("modified after it was signed"),
        "{}",
        run.stderr
    );

    // Swapped: the top bundle presented with the signature of the whole one.
    let run = threatpack(
        root,
        &[
            "verify",
            &top,
            "--key",
            "k.pub",
            "--signature",
            &format!("{all}.minisig"),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the signature is for `threatpack/stride-core` 1.0.0 (tier all), not for this bundle, `threatpack/stride-core` 1.0.0 (tier top)"),
        "{}",
        run.stderr
    );

    // Another version: 1.0.1 presented with 1.0.0's signature.
    let manifest = root.join("pack/pack.toml");
    let text = fs::read_to_string(&manifest).expect("read");
    fs::write(
        &manifest,
        text.replace("version = \"1.0.0\"", "version = \"1.0.1\""),
    )
    .expect("write");
    let newer = build(root, &[]);
    let run = threatpack(
        root,
        &[
            "verify",
            &newer,
            "--key",
            "k.pub",
            "--signature",
            &format!("{all}.minisig"),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("the signature is for `threatpack/stride-core` 1.0.0"),
        "{}",
        run.stderr
    );

    // A renamed bundle keeps its signature valid but is not what a lockfile expects.
    let run = threatpack(
        root,
        &[
            "verify",
            &all,
            "--key",
            "k.pub",
            "--expect",
            "threatpack/stride-core@1.0.1",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("expected `threatpack/stride-core@1.0.1`"),
        "{}",
        run.stderr
    );

    // A key nobody trusts.
    let run = threatpack(root, &["verify", &all, "--key", "other.pub"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("which is not trusted"),
        "{}",
        run.stderr
    );

    // The trusted comment edited to claim another version.
    let signature = fs::read_to_string(root.join(format!("{all}.minisig"))).expect("read");
    fs::write(
        root.join(format!("{all}.minisig")),
        signature.replace("version=1.0.0", "version=9.9.9"),
    )
    .expect("write");
    let run = threatpack(root, &["verify", &all, "--key", "k.pub"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the signature does not verify"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_keyring_file_trusts_several_keys_by_id() {
    let directory = workspace();
    let root = directory.path();
    ok(&threatpack(
        root,
        &["key", "generate", "--unencrypted", "--out", "a"],
    ));
    ok(&threatpack(
        root,
        &["key", "generate", "--unencrypted", "--out", "b"],
    ));
    let keyring = format!(
        "# keys of the security team\n{}{}",
        fs::read_to_string(root.join("a.pub")).expect("a.pub"),
        fs::read_to_string(root.join("b.pub")).expect("b.pub")
    );
    fs::write(root.join("trusted.keys"), keyring).expect("write");
    let bundle = build(root, &["--sign", "b.key"]);
    let run = threatpack(root, &["verify", &bundle, "--trusted-keys", "trusted.keys"]);
    ok(&run);
    let inspect = threatpack(root, &["inspect", &bundle, "--key", "b.pub"]);
    ok(&inspect);
    assert!(
        inspect.stdout.contains("signature:    verified, key"),
        "{}",
        inspect.stdout
    );
}
