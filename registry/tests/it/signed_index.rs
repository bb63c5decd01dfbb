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

/// A plain HTTP/1.1 GET: the status, the head and the body.
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
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
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

/// The envelope of an in-process registry's index answer, checked against its key.
async fn envelope_of(
    registry: &crate::support::Registry,
    pack: &str,
    etag: Option<&str>,
) -> (u16, threatpack::transparency::IndexEnvelope, Vec<u8>) {
    let mut request = registry
        .client
        .get(format!("{}/packs/{pack}", registry.url));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let note = response
        .headers()
        .get(threatpack::wire::INDEX_NOTE_HEADER)
        .map(|value| value.as_bytes().to_vec());
    let body = response.bytes().await.expect("a body").to_vec();
    let key = registry.key.clone();
    let (note, body) = (note.expect("every index answer carries an envelope"), body);
    let text = {
        use ct_codecs::{Base64, Decoder};
        let note = Base64::decode_to_vec(&note, None).expect("base64");
        threatpack::transparency::verify_note(&note, key.vkey()).expect("signed by the key")
    };
    let envelope =
        threatpack::transparency::IndexEnvelope::parse(&text).expect("an index envelope");
    (status, envelope, body)
}

#[tokio::test]
async fn every_index_answer_carries_an_envelope_whose_sequence_grows_with_each_change() {
    use crate::support::{Registry, bundle, key};
    use threatpack_registry::tokens::Scope;

    let registry = Registry::start().await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(&[Scope::Publish, Scope::Yank], &["acme/*"], None);
    let publish = |version: &'static str, pack: &'static str| {
        let bundle = bundle(pack, version, "A web pack.", &signer);
        let registry = &registry;
        let token = token.clone();
        async move {
            assert_eq!(registry.publish(&token, &bundle).await.status(), 201);
        }
    };
    publish("1.0.0", "acme/web").await;
    publish("1.0.0", "acme/api").await;

    let (status, first, body) = envelope_of(&registry, "acme/web", None).await;
    assert_eq!(status, 200);
    assert_eq!(first.pack, "acme/web");
    assert_eq!(first.origin, registry.key.origin());
    assert_eq!(first.sequence, 1);
    assert_eq!(first.body_sha256, threatpack::digest::sha256_hex(&body));
    let now = threatpack::time::now();
    assert!(
        (now + 86_400 - 5..=now + 86_400).contains(&first.expires),
        "a day: {}",
        first.expires
    );
    // A 304 carries the envelope too: the client checks it against the body it has.
    let etag = format!("\"{}\"", first.body_sha256);
    let (status, confirmed, _) = envelope_of(&registry, "acme/web", Some(&etag)).await;
    assert_eq!((status, confirmed.sequence), (304, 1));
    assert_eq!(confirmed.body_sha256, first.body_sha256);

    let sequence = |pack: &'static str| {
        let registry = &registry;
        async move { envelope_of(registry, pack, None).await.1.sequence }
    };
    publish("1.1.0", "acme/web").await;
    assert_eq!(sequence("acme/web").await, 2);
    let yank = |action: &'static str| {
        let registry = &registry;
        let token = token.clone();
        async move {
            let response = registry
                .client
                .put(format!("{}/packs/acme/web/1.0.0/{action}", registry.url))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(r#"{"reason":"a test"}"#)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
        }
    };
    yank("yank").await;
    assert_eq!(sequence("acme/web").await, 3);
    yank("unyank").await;
    assert_eq!(sequence("acme/web").await, 4);

    // A key added to or removed from the namespace changes every pack of it.
    let other = key();
    let response = registry
        .client
        .post(format!("{}/namespaces/acme/keys", registry.url))
        .bearer_auth(&registry.admin)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "public_key": other.public }).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    assert_eq!(sequence("acme/web").await, 5);
    assert_eq!(sequence("acme/api").await, 2);
    let key_id = threatpack::signing::parse_public_keys(&signer.public).expect("a key")[0]
        .key_id
        .clone();
    let response = registry
        .client
        .delete(format!("{}/namespaces/acme/keys/{key_id}", registry.url))
        .bearer_auth(&registry.admin)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(sequence("acme/web").await, 6);
    assert_eq!(sequence("acme/api").await, 3);
}

#[tokio::test]
async fn the_cached_envelope_is_signed_again_once_half_its_lifetime_has_passed() {
    use crate::support::{Registry, bundle, key};
    use threatpack_registry::api::ApiOptions;
    use threatpack_registry::tokens::Scope;

    let registry = Registry::start_with(ApiOptions {
        index_expiry_seconds: 2,
        ..ApiOptions::default()
    })
    .await;
    let signer = key();
    registry.namespace_with_key("acme", &signer).await;
    let token = registry.token(&[Scope::Publish], &["acme/*"], None);
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    assert_eq!(registry.publish(&token, &bundle).await.status(), 201);
    let (_, first, _) = envelope_of(&registry, "acme/web", None).await;
    let (_, again, _) = envelope_of(&registry, "acme/web", None).await;
    assert!(again.expires - first.expires <= 1, "served from the cache");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (_, later, _) = envelope_of(&registry, "acme/web", None).await;
    assert!(later.expires > first.expires, "signed again");
    assert_eq!(later.sequence, first.sequence);
}
