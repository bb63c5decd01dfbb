//! Issue 13, "bounded before authenticated": the real `threatpack-registry` binary on loopback,
//! attacked as the issue found it could be. Each test measures what broke before (the server's
//! resident memory, whether an answer comes at all) with bounds only a broken server exceeds.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ct_codecs::{Base64, Encoder};
use threatpack_registry::server::{TokenOptions, create_token};
use threatpack_registry::store::SqliteStore;
use threatpack_registry::tokens::Scope;

use crate::support::{
    Key, ServerProcess, bundle, create_namespace_with_key, detail, http_client_builder, key,
};

/// A registry binary with an admin token made before it started (so the test does not depend
/// on how the first start hands one out).
pub struct Started {
    pub server: ServerProcess,
    pub admin: String,
    pub data: tempfile::TempDir,
}

pub fn start_binary(extra: &[&str]) -> Started {
    let data = tempfile::tempdir().expect("a temporary directory");
    let admin = {
        let store = SqliteStore::open(data.path()).expect("the store opens");
        create_token(
            &store,
            &TokenOptions {
                description: "test admin".to_string(),
                scopes: vec![Scope::Admin],
                namespaces: vec!["*".to_string()],
                expires_in_seconds: None,
            },
            "test",
        )
        .expect("a token")
        .0
    };
    let mut args = vec![
        OsStr::new("--data"),
        data.path().as_os_str(),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let server = ServerProcess::start(&args, &[]).unwrap_or_else(|error| panic!("{error}"));
    Started {
        server,
        admin,
        data,
    }
}

/// The resident memory of a process, in bytes (Linux).
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("a VmRSS line")
        * 1024
}

/// The status of the answer read from `stream`, or `None` if it closed or stayed silent for
/// `timeout`.
pub fn read_status(stream: &mut TcpStream, timeout: Duration) -> Option<u16> {
    stream.set_read_timeout(Some(timeout)).expect("a timeout");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
}

/// Whether the server closed `stream` (a read gives end of file or a reset) within `timeout`.
pub fn closed_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    stream.set_read_timeout(Some(timeout)).expect("a timeout");
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) => {
                return !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

fn publish_head(address: std::net::SocketAddr, extra_headers: &str, length: usize) -> String {
    format!(
        "PUT /api/v1/packs/acme/web/1.0.0 HTTP/1.1\r\nHost: {address}\r\n{extra_headers}Content-Type: application/gzip\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// `GET /api/v1/ready` on a fresh connection answers 200 within `timeout`.
pub fn ready_within(address: std::net::SocketAddr, timeout: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, timeout) else {
        return false;
    };
    let request =
        format!("GET /api/v1/ready HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).is_ok() && read_status(&mut stream, timeout) == Some(200)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Creates namespace `acme` with `signer`'s key through the API.
fn namespace_acme(started: &Started, signer: &Key) {
    let client = http_client_builder().build().expect("a client");
    runtime().block_on(create_namespace_with_key(
        &client,
        &started.server.url,
        &started.admin,
        "acme",
        signer,
    ));
}

/// Issue 13: 32 connections each sending 60 MB without a token took the server from 17 MB to
/// 1.9 GB. They are now answered 401 from their headers; their bodies are never read.
#[test]
fn unauthenticated_uploads_held_open_do_not_grow_the_server() {
    const UPLOADS: usize = 32;
    const BODY: usize = 60_000_000;
    let started = start_binary(&[]);
    let pid = started.server.child.id();
    let address = started.server.address;
    let before = resident_bytes(pid);
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(address).expect("connect");
                stream
                    .set_write_timeout(Some(Duration::from_secs(5)))
                    .expect("a timeout");
                let head = publish_head(address, "X-Threatpack-Signature: eA==\r\n", BODY);
                stream
                    .write_all(head.as_bytes())
                    .expect("the headers go out");
                // All but the last byte, as fast as the server takes them; a refusal ends it.
                let chunk = vec![0x1f_u8; 1 << 20];
                let mut sent = 0;
                while sent < BODY - 1 {
                    let size = chunk.len().min(BODY - 1 - sent);
                    if stream.write_all(&chunk[..size]).is_err() {
                        break;
                    }
                    sent += size;
                }
                stream
            })
        })
        .collect();
    let mut peak = 0;
    let mut held = Vec::new();
    for upload in uploads {
        held.push(upload.join().expect("an upload thread"));
        peak = peak.max(resident_bytes(pid));
    }
    // The connections are still open (held), the server has seen every byte it will see.
    std::thread::sleep(Duration::from_millis(300));
    peak = peak.max(resident_bytes(pid));
    let grown = peak.saturating_sub(before);
    eprintln!(
        "RSS {} MB before, {} MB at the peak of {UPLOADS} unauthenticated 60 MB uploads",
        before >> 20,
        peak >> 20
    );
    assert!(
        grown < 100 << 20,
        "the server grew by {} MB under unauthenticated uploads",
        grown >> 20
    );
    for mut stream in held {
        assert!(
            matches!(
                read_status(&mut stream, Duration::from_secs(5)),
                Some(401) | None
            ),
            "an unauthenticated upload is answered 401 (or cut off)"
        );
    }
    assert!(ready_within(address, Duration::from_secs(5)));
}

/// Issue 13: `Content-Length: 100000000` and no body got no answer at all.
#[test]
fn a_declared_body_that_never_comes_is_answered_in_bounded_time() {
    let started = start_binary(&["--body-timeout", "1"]);
    let address = started.server.address;
    let signer = key();
    namespace_acme(&started, &signer);
    let signed = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    let signature = Base64::encode_to_string(signed.signature.as_bytes()).expect("base64");
    let admin = format!("Authorization: Bearer {}\r\n", started.admin);
    let with_signature = format!("{admin}X-Threatpack-Signature: {signature}\r\n");
    for (headers, length, expected) in [
        // No token: refused from the headers.
        (String::new(), 100_000_000, 401),
        // A token, but over the size limit: refused from `Content-Length`.
        (with_signature.clone(), 100_000_000, 413),
        // Within the limit, all checks passed, and the body never comes: the body timeout.
        (with_signature, 1000, 408),
    ] {
        let mut stream = TcpStream::connect(address).expect("connect");
        let started_at = Instant::now();
        stream
            .write_all(publish_head(address, &headers, length).as_bytes())
            .expect("the headers go out");
        let status = read_status(&mut stream, Duration::from_secs(10));
        assert_eq!(status, Some(expected), "Content-Length {length}");
        assert!(
            started_at.elapsed() < Duration::from_secs(10),
            "answered in {:?}",
            started_at.elapsed()
        );
        assert!(
            closed_within(&mut stream, Duration::from_secs(5)),
            "the connection is closed after the refusal"
        );
    }
}

/// Issue 13: 500 idle connections were never closed, and with few descriptors they made the
/// health check time out. Idle, slow-header and kept-alive connections are now closed after the
/// header timeout (1 s here), and `/ready` keeps answering meanwhile.
#[test]
fn idle_and_slow_header_connections_are_closed_while_ready_answers() {
    let started = start_binary(&["--header-timeout", "1"]);
    let address = started.server.address;
    let mut idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(address).expect("connect"))
        .collect();
    let mut kept_alive = TcpStream::connect(address).expect("connect");
    kept_alive
        .write_all(format!("GET /api/v1/health HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
        .expect("a request");
    assert_eq!(
        read_status(&mut kept_alive, Duration::from_secs(5)),
        Some(200)
    );
    // Headers one byte every 100 ms: never complete within the timeout.
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        let head = format!("GET /api/v1/health HTTP/1.1\r\nHost: {address}\r\nX-Slow: ");
        stream.write_all(head.as_bytes()).expect("a request line");
        let started_at = Instant::now();
        while started_at.elapsed() < Duration::from_secs(10) {
            if stream.write_all(b"a").is_err() {
                return Some(started_at.elapsed());
            }
            stream.set_nonblocking(true).expect("non-blocking");
            let mut byte = [0u8; 1];
            match stream.read(&mut byte) {
                Ok(0) => return Some(started_at.elapsed()),
                Err(error) if error.kind() != std::io::ErrorKind::WouldBlock => {
                    return Some(started_at.elapsed());
                }
                _ => {}
            }
            stream.set_nonblocking(false).expect("blocking");
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    });
    // Meanwhile, readiness answers on fresh connections.
    for _ in 0..10 {
        assert!(
            ready_within(address, Duration::from_secs(2)),
            "/ready answers while idle connections are held"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(5)),
            "an idle connection is closed"
        );
    }
    assert!(
        closed_within(&mut kept_alive, Duration::from_secs(5)),
        "an idle kept-alive connection is closed"
    );
    let slow_closed_after = slow.join().expect("the slow client");
    assert!(
        slow_closed_after.is_some(),
        "a connection sending its headers a byte at a time is closed"
    );
    assert!(ready_within(address, Duration::from_secs(2)));
}

/// A gzip stream of about 512 MiB that compresses about 85 to 1: under the reader's ratio cap,
/// so a reader that gets to it unpacks all of it.
fn ratio_tuned_bomb() -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let mut block = vec![0u8; 64 * 1024];
    let mut state: u32 = 0x2545_f491;
    for round in 0..(512 * 16) {
        // 700 pseudo-random bytes per 64 KiB block keep the ratio below the reader's 100.
        for byte in block.iter_mut().take(700) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = (state >> 24) as u8 ^ (round as u8);
        }
        encoder.write_all(&block).expect("compress");
    }
    encoder.finish().expect("compress")
}

/// Issue 13: a ratio-tuned gzip bomb signed by any key was decompressed (about 570 MB each,
/// 2.3 GB for four at once) before its signature was checked. Signed by a key the namespace
/// does not have, it is now refused from its headers; signed by the namespace's key but for
/// other bytes, it is refused by the signature check over the raw bytes. Neither is unpacked.
#[test]
fn a_bomb_is_refused_by_its_signature_without_decompressing() {
    const AT_ONCE: usize = 4;
    let started = start_binary(&[]);
    let pid = started.server.child.id();
    let address = started.server.address;
    let signer = key();
    namespace_acme(&started, &signer);
    let bomb = std::sync::Arc::new(ratio_tuned_bomb());
    let manifest = bundle("acme/web", "1.0.0", "A web pack.", &signer).manifest;
    let stranger = key();
    let sign = |key: &Key| {
        let text =
            threatpack::signing::sign_bundle(&bomb, &manifest, &key.signing).expect("signed");
        Base64::encode_to_string(text.as_bytes()).expect("base64")
    };
    // By a stranger's key over the bomb; by the namespace's key over other bytes.
    let unregistered = sign(&stranger);
    let other_bytes = {
        let text = threatpack::signing::sign_bundle(b"other bytes", &manifest, &signer.signing)
            .expect("signed");
        Base64::encode_to_string(text.as_bytes()).expect("base64")
    };
    let before = resident_bytes(pid);
    let mut peak = before;
    for (signature, reads_body) in [(unregistered, false), (other_bytes, true)] {
        let attempts: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                let bomb = bomb.clone();
                let headers = format!(
                    "Authorization: Bearer {}\r\nX-Threatpack-Signature: {signature}\r\n",
                    started.admin
                );
                std::thread::spawn(move || {
                    let mut stream = TcpStream::connect(address).expect("connect");
                    stream
                        .write_all(publish_head(address, &headers, bomb.len()).as_bytes())
                        .expect("the headers go out");
                    if !reads_body {
                        // Refused before the body: the answer comes with no body sent.
                        let status = read_status(&mut stream, Duration::from_secs(10));
                        let _ = stream.write_all(&bomb);
                        return status;
                    }
                    let _ = stream.write_all(&bomb);
                    read_status(&mut stream, Duration::from_secs(30))
                })
            })
            .collect();
        for attempt in attempts {
            peak = peak.max(resident_bytes(pid));
            let status = attempt.join().expect("an attempt");
            assert_eq!(
                status,
                Some(422),
                "the bomb is refused (reads body: {reads_body})"
            );
        }
        peak = peak.max(resident_bytes(pid));
    }
    let grown = peak.saturating_sub(before);
    eprintln!(
        "RSS {} MB before, {} MB at the peak of {AT_ONCE} signed {} MB bombs at once",
        before >> 20,
        peak >> 20,
        bomb.len() >> 20
    );
    assert!(
        grown < 100 << 20,
        "the server grew by {} MB: a bomb was decompressed",
        grown >> 20
    );
    assert!(
        started
            .data
            .path()
            .join("blobs/sha256")
            .read_dir()
            .expect("blobs")
            .next()
            .is_none()
    );
}

/// Every error answer is the JSON envelope, whichever layer gives it; a long search is a 400;
/// `bearer` in lower case is a bearer token (RFC 9110); a write over the rate is a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_the_envelope_and_the_scheme_is_case_insensitive() {
    use threatpack_registry::api::ApiOptions;
    let registry = crate::support::Registry::start_with(ApiOptions {
        write_rate_per_minute: 4,
        ..ApiOptions::default()
    })
    .await;
    let client = &registry.client;
    let url = &registry.url;
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert_eq!(content_type, "application/json", "{status}");
        (status, detail(response).await)
    };

    let response = client
        .delete(format!("{url}/health"))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        response
            .headers()
            .get("allow")
            .map(|value| value.as_bytes()),
        Some(&b"GET,HEAD"[..])
    );
    let (status, said) = answer(response).await;
    assert_eq!(status, 405);
    assert_eq!(
        said,
        "`DELETE` is not allowed on this path; its `Allow` header lists those that are"
    );

    let (status, said) = answer(
        client
            .post(format!("{url}/namespaces"))
            .bearer_auth(&registry.admin)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(status, 415);
    assert!(said.contains("Content-Type"), "{said}");

    let long = "a".repeat(50_000);
    let (status, said) = answer(
        client
            .get(format!("{url}/packs?q={long}"))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        said,
        "the search text has 50000 characters; at most 200 are searched"
    );

    let (status, _) = answer(
        client
            .get(format!("{url}/packs?q={}", "a".repeat(64_100)))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(status, 414);

    let (status, said) = answer(
        client
            .get(format!("{url}/packs/acme/web/1.0.0/yank"))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(status, 405);
    assert!(
        said.starts_with("`GET` is not allowed on this path"),
        "{said}"
    );

    // `bearer` in lower case authenticates; four writes a minute (the 415 above was one),
    // then 429.
    for name in ["lower", "case"] {
        let response = client
            .post(format!("{url}/namespaces"))
            .header("authorization", format!("bearer {}", registry.admin))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "name": name, "owners": ["alice"] }).to_string())
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 201);
    }
    let response = client
        .post(format!("{url}/namespaces"))
        .header("authorization", format!("BEARER {}", registry.admin))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": "third", "owners": ["alice"] }).to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 201, "the scheme in any case");
    let response = client
        .post(format!("{url}/namespaces"))
        .bearer_auth(&registry.admin)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": "fourth", "owners": ["alice"] }).to_string())
        .send()
        .await
        .expect("answered");
    assert!(response.headers().contains_key("retry-after"));
    let (status, said) = answer(response).await;
    assert_eq!(status, 429);
    assert!(
        said.starts_with("too many writes: at most 4 a minute"),
        "{said}"
    );
    // Reads are not limited.
    assert_eq!(registry.get("/namespaces/lower").await.status(), 200);
}

/// A failure of the registry's own storage is a 500 (or 503 when full) whose body names no
/// path of the server: here the upload directory does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_names_no_server_path() {
    use threatpack_registry::api::ApiOptions;
    let missing = tempfile::tempdir()
        .expect("a temporary directory")
        .path()
        .join("gone");
    let registry = crate::support::Registry::start_with(ApiOptions {
        upload_dir: missing.clone(),
        ..ApiOptions::default()
    })
    .await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let signed = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    let response = registry.publish(&registry.admin, &signed).await;
    assert_eq!(response.status(), 500);
    let said = detail(response).await;
    assert_eq!(
        said,
        "the registry failed; its log says why (tell its operator)"
    );
    assert!(!said.contains(&*missing.to_string_lossy()));
}
