//! Issue 14, signed index metadata: the registry key made at first start, served for clients to
//! pin, kept across restarts, and rotated by a statement both keys sign.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;

use threatpack::transparency::RegistryKey;
use threatpack::transparency::key::follow_rotations;
use threatpack::wire::RegistryKeyInfo;

use crate::support::{ServerProcess, server_command};

fn start(data: &std::path::Path, extra: &[&str]) -> Result<ServerProcess, String> {
    start_with(data, extra)
}

/// The start's error, or a panic if it started.
fn refused(data: &std::path::Path, extra: &[&str]) -> String {
    match start_with(data, extra) {
        Ok(_) => panic!("the server started"),
        Err(error) => error,
    }
}

fn start_with(data: &std::path::Path, extra: &[&str]) -> Result<ServerProcess, String> {
    let mut args = vec![
        OsStr::new("--data"),
        data.as_os_str(),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
    ];
    args.extend(extra.iter().map(OsStr::new));
    ServerProcess::start(&args, &[])
}

fn served_key(server: &ServerProcess) -> RegistryKeyInfo {
    let (status, _, body) = get(server.address, "/api/v1/registry/key");
    assert_eq!(status, 200);
    serde_json::from_slice(&body).expect("a RegistryKeyInfo")
}

/// A plain HTTP/1.1 GET: the status, the head (lower-cased) and the body.
pub fn get(address: std::net::SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("a timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request goes out");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("the answer");
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    (status, head, answer[split + 4..].to_vec())
}

/// Runs `threatpack-registry key SUBCOMMAND --data DATA`; returns stdout, or stderr on failure.
fn key_command(data: &std::path::Path, subcommand: &str) -> Result<String, String> {
    let output = server_command(
        &[
            OsStr::new("key"),
            OsStr::new(subcommand),
            OsStr::new("--data"),
            data.as_os_str(),
        ],
        &[],
    )
    .output()
    .expect("threatpack-registry runs");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn the_key_is_made_at_first_start_kept_and_served() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = start(data.path(), &["--origin", "registry.test"]).expect("starts");
    let path = data.path().join("registry-key");
    let mode = std::fs::metadata(&path)
        .expect("the key file exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = RegistryKey::parse(&std::fs::read_to_string(&path).expect("reads")).expect("a key");
    assert!(
        server
            .stderr()
            .contains(&format!("clients pin its public key `{}`", key.vkey())),
        "{}",
        server.stderr()
    );
    let served = served_key(&server);
    assert_eq!(
        served,
        RegistryKeyInfo {
            key: key.vkey().to_string(),
            origin: "registry.test".to_string(),
            rotations: vec![],
        }
    );
    drop(server);

    // A restart keeps the key, with or without the same `--origin`.
    let server = start(data.path(), &[]).expect("restarts");
    assert_eq!(served_key(&server).key, key.vkey());
    assert!(!server.stderr().contains("registry key"));
    drop(server);
    assert_eq!(key_command(data.path(), "show"), Ok(key.vkey().to_string()));

    let error = refused(data.path(), &["--origin", "elsewhere.test"]);
    assert!(
        error.contains("is for the origin `registry.test`, not `elsewhere.test`"),
        "{error}"
    );
}

#[test]
fn a_damaged_key_file_stops_the_start_instead_of_making_a_new_key() {
    let data = tempfile::tempdir().expect("a temporary directory");
    drop(start(data.path(), &[]).expect("starts"));
    std::fs::write(data.path().join("registry-key"), "PRIVATE+KEY+x\n").expect("writes");
    let error = refused(data.path(), &[]);
    assert!(
        error.contains("cannot be read: not a registry private key")
            && error.contains("restore it from where you keep your secrets"),
        "{error}"
    );
}

#[test]
fn a_rotation_is_served_and_leads_from_the_old_key_to_the_new() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = start(data.path(), &[]).expect("starts");
    let first = served_key(&server);
    drop(server);

    let second = key_command(data.path(), "rotate").expect("rotates");
    let third = key_command(data.path(), "rotate").expect("rotates again");
    assert_ne!(second, first.key);
    assert_ne!(third, second);
    assert!(!data.path().join("registry-key.next").exists());

    let server = start(data.path(), &[]).expect("restarts");
    let served = served_key(&server);
    assert_eq!(served.key, third);
    assert_eq!(served.origin, first.origin);
    assert_eq!(served.rotations.len(), 2);
    assert_eq!(follow_rotations(&first.key, &served.rotations), Ok(third));
}

#[test]
fn a_rotation_interrupted_before_it_was_recorded_is_undone_at_start() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = start(data.path(), &[]).expect("starts");
    let first = served_key(&server);
    drop(server);
    // As if the rotation wrote its new key and stopped before recording the statement.
    let stray = RegistryKey::generate(&first.origin).expect("a key");
    std::fs::write(
        data.path().join("registry-key.next"),
        format!("{}\n", stray.private_text()),
    )
    .expect("writes");
    let server = start(data.path(), &[]).expect("starts");
    assert_eq!(served_key(&server).key, first.key);
    assert!(!data.path().join("registry-key.next").exists());
}
