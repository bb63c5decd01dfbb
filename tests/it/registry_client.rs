//! The registry commands (`login`, `publish`, `info`, `yank`, `unyank`, `search`) run as the
//! real binary against the real registry server, started in this process on `127.0.0.1:0`
//! with a temporary data directory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use threatpack::build::{BuildOptions, build};
use threatpack::signing::{generate_key, load_secret_key, sign_bundle};
use threatpack::workspace::load_graph;
use threatpack_registry::api::ApiOptions;
use threatpack_registry::server::{open, serve};

use crate::support::Run;

pub struct Registry {
    pub url: String,
    pub admin: String,
    pub _runtime: tokio::runtime::Runtime,
    /// The registry's data directory (SQLite database and blobs).
    pub data: tempfile::TempDir,
    /// The registry's store, to read what the API does not show (the audit log).
    pub store: std::sync::Arc<threatpack_registry::store::SqliteStore>,
}

pub fn start_registry() -> Registry {
    let data = tempfile::tempdir().expect("a temporary directory");
    let opened = open(data.path()).expect("the registry opens");
    let admin = opened.admin_token.expect("an admin token on first start");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // The server's header and body timeouts need the time driver.
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let address = listener.local_addr().expect("bound address");
    let store = opened.store.clone();
    let options = ApiOptions {
        registry_key: opened.registry_key.clone(),
        ..ApiOptions::default()
    };
    runtime.spawn(serve(listener, opened.store.clone(), options));
    Registry {
        url: format!("http://{address}"),
        admin,
        _runtime: runtime,
        data,
        store,
    }
}

/// A raw HTTP request with the admin token (set-up without the CLI); returns the status.
pub fn http(registry: &Registry, method: &str, path: &str, body: &str) -> (u16, String) {
    let authority = registry.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "{method} /api/v1{path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        registry.admin,
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status line");
    (status, answer)
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create directory");
    std::fs::write(path, text).expect("write");
}

/// Builds a small pack into `directory/name` (`description` varies its bytes); returns the
/// bundle's path, and signs it with `secret` when given.
pub fn bundle(directory: &Path, name: &str, description: &str, secret: Option<&str>) -> String {
    let root = tempfile::tempdir().expect("a temporary directory");
    write_small_pack(root.path(), "acme/web", "1.0.0", description, "");
    let graph = load_graph(root.path(), "pack").expect("the pack loads");
    let report = build(&graph, &BuildOptions::default());
    let built = report
        .built
        .unwrap_or_else(|| panic!("the pack builds: {:#?}", report.diagnostics));
    let path = directory.join(name);
    std::fs::write(&path, &built.bytes).expect("write the bundle");
    if let Some(secret) = secret {
        let key = load_secret_key(secret, || Err("unencrypted".to_string())).expect("the key");
        let signature = sign_bundle(&built.bytes, &built.manifest, &key).expect("signed");
        std::fs::write(directory.join(format!("{name}.minisig")), signature).expect("write");
    }
    path.to_string_lossy().into_owned()
}

/// Writes a small pack (one entity `service` with a `public` flag, one attack pattern, one
/// mitigation) to `root`; `dependencies` is the text of its `[dependencies]` table.
pub fn write_small_pack(
    root: &Path,
    name: &str,
    version: &str,
    description: &str,
    dependencies: &str,
) {
    write(
        root,
        "pack.toml",
        &format!(
            "[pack]\nformat = 1\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"{description}\"\nlicense = \"MIT\"\ntags = [\"web\", \"stride\"]\ntiers = [\"top\", \"standard\"]\n\n[dependencies]\n{dependencies}"
        ),
    );
    copy_small_pack_items(root, &crate::support::repository());
}

/// Runs `threatpack` with a private configuration directory and `stdin` as its input.
pub fn threatpack(config: &Path, registry: &Registry, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("THREATPACK_CONFIG_DIR", config)
        .env("THREATPACK_CACHE_DIR", crate::support::test_cache())
        .env("THREATPACK_REGISTRY", &registry.url)
        .env_remove("THREATPACK_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the threatpack binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("the binary ends");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

#[test]
fn login_publish_info_yank_unyank_and_search_against_a_real_registry() {
    let registry = start_registry();
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = work.path().join("config");
    let key = generate_key(None).expect("a key");
    let (status, answer) = http(
        &registry,
        "POST",
        "/namespaces",
        r#"{"name":"acme","owners":["alice@acme.example"]}"#,
    );
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = http(
        &registry,
        "POST",
        "/namespaces/acme/keys",
        &serde_json::json!({ "public_key": key.public }).to_string(),
    );
    assert_eq!(status, 201, "{answer}");

    // Without a token, publishing says how to log in.
    let signed = bundle(work.path(), "web.tar.gz", "Web threats.", Some(&key.secret));
    let run = threatpack(&config, &registry, &["publish", &signed], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("threatpack login"), "{}", run.stderr);

    // Login reads the token from stdin and stores it privately.
    let run = threatpack(
        &config,
        &registry,
        &["login"],
        &format!("{}\n", registry.admin),
    );
    ok(&run);
    let credentials = config.join("credentials.toml");
    let text = std::fs::read_to_string(&credentials).expect("the credentials file");
    assert!(
        text.contains(&registry.url) && text.contains(&registry.admin),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Publish: created, then the identical bytes again succeed with the same digest.
    let run = threatpack(&config, &registry, &["publish", &signed], "");
    ok(&run);
    assert!(
        run.stdout.contains("published acme/web@1.0.0: sha256:"),
        "{}",
        run.stdout
    );
    let digest = run
        .stdout
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .expect("a digest")
        .to_string();
    let run = threatpack(&config, &registry, &["publish", &signed], "");
    ok(&run);
    assert!(run.stdout.contains("already published"), "{}", run.stdout);
    assert!(run.stdout.contains(&digest), "{}", run.stdout);

    // The same version with other bytes: 409, and what to do about it.
    let other = bundle(
        work.path(),
        "other.tar.gz",
        "Other bytes.",
        Some(&key.secret),
    );
    let run = threatpack(&config, &registry, &["publish", &other], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "version 1.0.0 of acme/web already exists with other bytes (versions are immutable); bump the version in pack.toml"
        ),
        "{}",
        run.stderr
    );

    // An unsigned bundle never leaves the machine.
    let unsigned = bundle(work.path(), "unsigned.tar.gz", "Unsigned.", None);
    let run = threatpack(&config, &registry, &["publish", &unsigned], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("unsigned.tar.gz.minisig` not found")
            && run.stderr.contains("threatpack sign"),
        "{}",
        run.stderr
    );
    // A signature by a key the namespace does not list is refused before uploading.
    let stranger = generate_key(None).expect("a key");
    let foreign = bundle(
        work.path(),
        "foreign.tar.gz",
        "Foreign.",
        Some(&stranger.secret),
    );
    let run = threatpack(&config, &registry, &["publish", &foreign], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("nothing was uploaded"),
        "{}",
        run.stderr
    );

    // Info shows the version; yank shows it yanked with the reason; unyank restores it.
    let run = threatpack(&config, &registry, &["info", "acme/web"], "");
    ok(&run);
    assert!(
        run.stdout.contains("1.0.0") && run.stdout.contains(&digest),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("yanked"), "{}", run.stdout);
    let run = threatpack(
        &config,
        &registry,
        &[
            "yank",
            "acme/web@1.0.0",
            "--reason",
            "a condition misses public services",
        ],
        "",
    );
    ok(&run);
    let run = threatpack(&config, &registry, &["info", "acme/web"], "");
    ok(&run);
    assert!(
        run.stdout
            .contains("yanked: a condition misses public services"),
        "{}",
        run.stdout
    );
    let run = threatpack(&config, &registry, &["unyank", "acme/web@1.0.0"], "");
    ok(&run);
    let run = threatpack(&config, &registry, &["info", "acme/web"], "");
    assert!(!run.stdout.contains("yanked"), "{}", run.stdout);

    // Search, and an unknown pack.
    let run = threatpack(&config, &registry, &["search", "stride"], "");
    ok(&run);
    assert!(run.stdout.contains("acme/web  1.0.0"), "{}", run.stdout);
    let run = threatpack(&config, &registry, &["info", "acme/nothing"], "");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no pack `acme/nothing`"),
        "{}",
        run.stderr
    );

    // THREATPACK_TOKEN overrides the stored token.
    let mut child = Command::new(env!("CARGO_BIN_EXE_threatpack"))
        .args(["yank", "acme/web@1.0.0", "--reason", "x"])
        .env("THREATPACK_CONFIG_DIR", &config)
        .env("THREATPACK_REGISTRY", &registry.url)
        .env("THREATPACK_TOKEN", "tpr_not_a_token")
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert_eq!(child.wait().expect("ends").code(), Some(2));
    assert!(stderr.contains("refused the token"), "{stderr}");
}

/// Copies the items of the small test pack (tests/fixtures/small-pack: one entity, one attack
/// pattern, one mitigation) from the repository at `repository` into `root`.
fn copy_small_pack_items(root: &Path, repository: &Path) {
    for file in [
        "entities/service.toml",
        "attack-patterns/spoofing.toml",
        "mitigations/authentication.toml",
    ] {
        let text = std::fs::read_to_string(repository.join("tests/fixtures/small-pack").join(file))
            .expect("the small pack's fixture");
        write(root, file, &text);
    }
}
