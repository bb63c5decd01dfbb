//! Issue 13, "operations": the real binary's request log, metrics, readiness and graceful
//! shutdown.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ct_codecs::{Base64, Encoder};

use crate::hardening::{Started, read_status, start_binary};
use crate::support::{bundle, create_namespace_with_key, http_client_builder, json, key};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Sends SIGTERM to the server (what systemd and `docker stop` send).
fn terminate(started: &Started) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &started.server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Issue 13: SIGTERM exited at once, cutting publishes short. Now the server stops accepting,
/// lets the publish in flight finish (201, stored), and exits 0.
#[test]
fn sigterm_during_a_publish_finishes_it_then_exits() {
    let mut started = start_binary(&[]);
    let address = started.server.address;
    let signer = key();
    let client = http_client_builder().build().expect("a client");
    let runtime = runtime();
    runtime.block_on(create_namespace_with_key(
        &client,
        &started.server.url,
        &started.admin,
        "acme",
        &signer,
    ));
    let signed = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    let signature = Base64::encode_to_string(signed.signature.as_bytes()).expect("base64");
    let mut stream = TcpStream::connect(address).expect("connect");
    let head = format!(
        "PUT /api/v1/packs/acme/web/1.0.0 HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nX-Threatpack-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        started.admin,
        signed.bytes.len()
    );
    stream
        .write_all(head.as_bytes())
        .expect("the headers go out");
    let half = signed.bytes.len() / 2;
    stream
        .write_all(&signed.bytes[..half])
        .expect("half the body");
    // The publish is in flight (its body half read) when the signal comes.
    std::thread::sleep(Duration::from_millis(500));
    terminate(&started);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server still accepts connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stream
        .write_all(&signed.bytes[half..])
        .expect("the rest of the body");
    assert_eq!(
        read_status(&mut stream, Duration::from_secs(30)),
        Some(201),
        "the publish in flight finishes"
    );
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = started
            .server
            .child
            .try_wait()
            .expect("the server's status")
        {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{status}; stderr:\n{}",
        started.server.stderr()
    );

    // What it acknowledged is there after a restart.
    let args = [
        std::ffi::OsStr::new("--data"),
        started.data.path().as_os_str(),
        std::ffi::OsStr::new("--listen"),
        std::ffi::OsStr::new("127.0.0.1:0"),
    ];
    let restarted =
        crate::support::ServerProcess::start(&args, &[]).unwrap_or_else(|error| panic!("{error}"));
    let index = runtime.block_on(async {
        json(
            client
                .get(format!("{}/packs/acme/web", restarted.url))
                .send()
                .await
                .expect("answered"),
        )
        .await
    });
    assert_eq!(index["versions"][0]["version"], "1.0.0", "{index}");
}

/// One JSON log line per request with its route, status and token id (never the token);
/// `/metrics` counts requests by route and status, publishes and bytes stored; `/ready` says
/// when the blob directory cannot take a file.
#[test]
fn requests_are_logged_and_counted_and_readiness_checks_the_disk() {
    let started = start_binary(&["--log-format", "json"]);
    let signer = key();
    let client = http_client_builder().build().expect("a client");
    let url = started.server.url.clone();
    let runtime = runtime();
    runtime.block_on(create_namespace_with_key(
        &client,
        &url,
        &started.admin,
        "acme",
        &signer,
    ));
    let signed = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    let status = runtime.block_on(async {
        crate::support::send_publish(&client, &url, &started.admin, "acme/web", "1.0.0", &signed)
            .await
            .expect("answered")
            .status()
    });
    assert_eq!(status, 201);
    let get = |path: &str| {
        runtime.block_on(async {
            let response = client
                .get(format!("{}{path}", url.trim_end_matches("/api/v1")))
                .send()
                .await
                .expect("answered");
            (
                response.status().as_u16(),
                response.text().await.expect("a body"),
            )
        })
    };
    assert_eq!(get("/api/v1/ready").0, 200);
    assert_eq!(get("/api/v1/nothing").0, 404);
    let (status, metrics) = get("/metrics");
    assert_eq!(status, 200);
    for expected in [
        "threatpack_registry_requests_total{method=\"PUT\",route=\"/api/v1/packs/{namespace}/{name}/{version}\",status=\"201\"} 1",
        "threatpack_registry_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "threatpack_registry_publishes_total 1",
        &format!(
            "threatpack_registry_stored_bytes_total {}",
            signed.bytes.len()
        ),
        "threatpack_registry_request_duration_seconds_bucket{",
        "threatpack_registry_open_connections ",
        "threatpack_registry_store_errors_total 0",
    ] {
        assert!(metrics.contains(expected), "`{expected}` in:\n{metrics}");
    }

    // The blob directory cannot take a file: not ready, and the answer names no path.
    let temporary = started.data.path().join("blobs/tmp");
    std::fs::remove_dir(&temporary).expect("remove the blobs' temporary directory");
    let (status, body) = get("/api/v1/ready");
    assert_eq!(status, 503);
    assert!(
        body.contains("not ready: the blob directory is not writable"),
        "{body}"
    );
    assert!(
        !body.contains(&*started.data.path().to_string_lossy()),
        "{body}"
    );
    assert_eq!(get("/api/v1/health").0, 200, "alive all the same");
    std::fs::create_dir(&temporary).expect("put it back");

    let log = started.server.stderr();
    let publish_line: serde_json::Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["method"] == "PUT")
        .unwrap_or_else(|| panic!("a JSON log line for the publish in:\n{log}"));
    assert_eq!(
        publish_line["route"], "/api/v1/packs/{namespace}/{name}/{version}",
        "{publish_line}"
    );
    assert_eq!(publish_line["status"], 201, "{publish_line}");
    assert_eq!(publish_line["token_id"], "1", "{publish_line}");
    assert!(publish_line["duration_ms"].is_number(), "{publish_line}");
    assert!(
        !log.contains(&started.admin),
        "the token never reaches the log"
    );
}
