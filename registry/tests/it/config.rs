//! The server's settings, end to end: the real binary started with flags, environment variables
//! and a configuration file, and what it then does (where it keeps its data, where it listens,
//! which bundles it takes).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::Path;

use threatpack_registry::api::DEFAULT_MAX_BUNDLE_BYTES;
use threatpack_registry::config::{DATA_ENV, LISTEN_ENV, MAX_BUNDLE_BYTES_ENV};

use crate::support::{ServerProcess, server_command};

/// The status of a publish of `size` bytes with the admin token. The size limit is checked
/// before the namespace: 413 over the limit, else 404 (the namespace does not exist).
fn publish_status(server: &ServerProcess, size: usize) -> u16 {
    let mut stream = TcpStream::connect(server.address).expect("connect");
    let head = format!(
        "PUT /api/v1/packs/acme/web/1.0.0 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nX-Threatpack-Signature: eA==\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n",
        server.address,
        server.admin.as_deref().expect("an admin token")
    );
    stream.write_all(head.as_bytes()).expect("write");
    // The server may answer 413 without reading the body and close: a failed write is fine.
    let _ = stream.write_all(&vec![0u8; size]);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {:?}", String::from_utf8_lossy(&answer)))
}

/// `limit` bytes are accepted and one more are refused.
fn assert_max_bundle_bytes(server: &ServerProcess, limit: usize) {
    assert_eq!(
        publish_status(server, limit),
        404,
        "{limit} bytes are within the limit"
    );
    assert_eq!(
        publish_status(server, limit + 1),
        413,
        "{limit} bytes is the limit"
    );
}

fn start(args: &[&OsStr], env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(args, env).unwrap_or_else(|error| panic!("{error}"))
}

fn has_database(directory: &Path) -> bool {
    directory.join("registry.sqlite3").is_file()
}

/// Linux routes all of 127.0.0.0/8 to loopback: the address the server binds shows which
/// source its `listen` came from.
fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

#[test]
fn each_setting_comes_from_the_flag_else_the_environment_else_the_config_file() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = work.path().join("registry.toml");
    // `data` is relative to the file's directory, not the working directory.
    std::fs::write(
        &config,
        "data = \"file-data\"\nlisten = \"127.0.0.2:0\"\nmax-bundle-bytes = 1000\n",
    )
    .expect("write the config file");
    let config_flag = [OsStr::new("--config"), config.as_os_str()];

    // The file alone.
    let server = start(&config_flag, &[]);
    assert_eq!(server.address.ip(), loopback(2));
    assert!(has_database(&work.path().join("file-data")));
    assert_max_bundle_bytes(&server, 1000);
    drop(server);

    // The environment over the file.
    let env_data = work.path().join("env-data");
    let env_data_text = env_data.to_str().expect("a UTF-8 path");
    let environment = [
        (DATA_ENV, env_data_text),
        (LISTEN_ENV, "127.0.0.3:0"),
        (MAX_BUNDLE_BYTES_ENV, "2000"),
    ];
    let server = start(&config_flag, &environment);
    assert_eq!(server.address.ip(), loopback(3));
    assert!(has_database(&env_data));
    assert_max_bundle_bytes(&server, 2000);
    drop(server);

    // Flags over both.
    let flag_data = work.path().join("flag-data");
    let mut args = config_flag.to_vec();
    args.extend([
        OsStr::new("--data"),
        flag_data.as_os_str(),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.4:0"),
        OsStr::new("--max-bundle-bytes"),
        OsStr::new("3000"),
    ]);
    let server = start(&args, &environment);
    assert_eq!(server.address.ip(), loopback(4));
    assert!(has_database(&flag_data));
    assert_max_bundle_bytes(&server, 3000);
    drop(server);

    // No configuration at all but `--data`: the defaults, on the port the client uses by
    // default (issue 12: the two defaults never met). Should something else hold that port,
    // the server says how to choose another.
    let plain_data = work.path().join("plain-data");
    let server = match ServerProcess::start(&[OsStr::new("--data"), plain_data.as_os_str()], &[]) {
        Ok(server) => server,
        Err(said) if said.contains("Address already in use") => {
            assert!(said.contains("--listen 127.0.0.1:0"), "{said}");
            return;
        }
        Err(said) => panic!("{said}"),
    };
    assert_eq!(server.address.ip(), loopback(1));
    assert_eq!(server.address.port(), 8080);
    assert!(
        server.admin.is_some(),
        "the first start writes the admin token to a file"
    );
    assert_eq!(publish_status(&server, 3001), 404);
    assert_eq!(publish_status(&server, DEFAULT_MAX_BUNDLE_BYTES + 1), 413);
}

#[test]
fn a_bad_config_file_stops_the_server_naming_the_file_the_line_and_the_key() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = work.path().join("registry.toml");
    std::fs::write(&config, "data = \"data\"\nmax-bundle-byte = 10\n").expect("write");
    let output = server_command(&[OsStr::new("--config"), config.as_os_str()], &[])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: `{}` line 2: unknown key `max-bundle-byte`\n  help: did you mean `max-bundle-bytes`?\n",
            config.display()
        )
    );
    assert!(
        !work.path().join("data").exists(),
        "nothing is created from a bad file"
    );

    let missing = work.path().join("missing.toml");
    let output = server_command(&[OsStr::new("--config"), missing.as_os_str()], &[])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read `{}`", missing.display())),
        "{stderr}"
    );

    let output = server_command(&[], &[]).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: no data directory: pass `--data DIR`"),
        "{stderr}"
    );

    let output = server_command(
        &[OsStr::new("--data"), work.path().as_os_str()],
        &[(MAX_BUNDLE_BYTES_ENV, "lots")],
    )
    .output()
    .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'lots'"), "{stderr}");
}
