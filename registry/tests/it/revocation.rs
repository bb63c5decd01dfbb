//! Revocation and secrets (issue 13, section 3), against the `threatpack-registry` binary on
//! loopback: tokens listed and revoked (API and `token list|revoke`), token patterns checked like
//! pack names, the first admin token never printed, publisher keys removed with the versions
//! they signed marked, and a key id reused with other bytes refused.

use std::ffi::OsStr;
use std::io::Read;
use std::process::Stdio;

use ct_codecs::{Base64, Decoder, Encoder};
use threatpack_registry::config::ADMIN_TOKEN_ENV;
use threatpack_registry::server::ADMIN_TOKEN_FILE;

use crate::support::{
    Key, ServerProcess, bundle, create_namespace_with_key, detail, http_client, json, key,
    send_publish, server_command, text,
};

/// `threatpack-registry ARGS` run to its end: exit code, stdout, stderr.
fn registry_command(args: &[&OsStr]) -> (i32, String, String) {
    let output = server_command(args, &[])
        .stdin(Stdio::null())
        .output()
        .expect("the threatpack-registry binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Creates a token with the binary's `token create`; returns it.
fn create_token(data: &std::path::Path, scopes: &str, namespaces: &str) -> String {
    let (code, stdout, stderr) = registry_command(&[
        OsStr::new("token"),
        OsStr::new("create"),
        OsStr::new("--data"),
        data.as_os_str(),
        OsStr::new("--scopes"),
        OsStr::new(scopes),
        OsStr::new("--namespaces"),
        OsStr::new(namespaces),
    ]);
    assert_eq!(code, 0, "{stderr}");
    stdout.trim().to_string()
}

fn start(data: &std::path::Path) -> ServerProcess {
    ServerProcess::start(
        &[
            OsStr::new("--data"),
            data.as_os_str(),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
        ],
        &[],
    )
    .unwrap_or_else(|error| panic!("{error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_get_401_whether_revoked_through_the_api_or_the_command() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let data = work.path().join("data");
    let server = start(&data);
    let admin = server.admin.clone().expect("a first admin token");
    let client = http_client();
    let signer = key();
    create_namespace_with_key(&client, &server.url, &admin, "acme", &signer).await;
    let first = create_token(&data, "publish", "acme/*");
    let second = create_token(&data, "publish", "acme/*");
    let list = |token: String| {
        let client = client.clone();
        let url = format!("{}/tokens", server.url);
        async move {
            let response = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("answered");
            (response.status().as_u16(), text(response).await)
        }
    };

    // A token sees itself only; the admin sees all three, never a secret.
    let (status, body) = list(first.clone()).await;
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(listed["tokens"].as_array().map(Vec::len), Some(1), "{body}");
    let first_id = listed["tokens"][0]["id"].as_i64().expect("an id");
    let (_, body) = list(admin.clone()).await;
    let listed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(listed["tokens"].as_array().map(Vec::len), Some(3), "{body}");
    for secret in [&admin, &first, &second] {
        assert!(
            !body.contains(secret.as_str()),
            "a secret is listed: {body}"
        );
    }
    let second_id = listed["tokens"][2]["id"].as_i64().expect("an id");

    // A token may not revoke another; it may revoke itself.
    let revoke = |token: &str, id: i64| {
        client
            .delete(format!("{}/tokens/{id}", server.url))
            .bearer_auth(token)
            .send()
    };
    let response = revoke(&first, second_id).await.expect("answered");
    assert_eq!(response.status(), 403);
    let response = revoke(&first, first_id).await.expect("answered");
    assert_eq!(response.status(), 200);
    assert!(json(response).await["token"]["revoked_at"].is_string());
    let bundle = bundle("acme/web", "1.0.0", "A web pack.", &signer);
    let response = send_publish(&client, &server.url, &first, "acme/web", "1.0.0", &bundle)
        .await
        .expect("answered");
    assert_eq!(response.status(), 401);
    assert!(detail(response).await.contains("revoked"));
    assert_eq!(list(first.clone()).await.0, 401);

    // The operator revokes the second on the host while the server runs: refused at once.
    let (code, _, stderr) = registry_command(&[
        OsStr::new("token"),
        OsStr::new("revoke"),
        OsStr::new(&second_id.to_string()),
        OsStr::new("--data"),
        data.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let response = send_publish(&client, &server.url, &second, "acme/web", "1.0.0", &bundle)
        .await
        .expect("answered");
    assert_eq!(response.status(), 401);
    let (code, stdout, stderr) = registry_command(&[
        OsStr::new("token"),
        OsStr::new("list"),
        OsStr::new("--data"),
        data.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("revoked").count(), 2, "{stdout}");
    // The admin token still works, and an unknown id is a 404.
    assert_eq!(revoke(&admin, 999).await.expect("answered").status(), 404);
}

#[test]
fn token_patterns_are_checked_like_pack_names_and_expiries_are_bounded() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let data = work.path().join("data");
    for (namespaces, expires) in [
        ("acme*", "30d"),
        ("ACME/../*", "30d"),
        ("acme/w*", "30d"),
        ("acme/*", "never"),
        ("acme/*", "400d"),
    ] {
        let (code, stdout, stderr) = registry_command(&[
            OsStr::new("token"),
            OsStr::new("create"),
            OsStr::new("--data"),
            data.as_os_str(),
            OsStr::new("--scopes"),
            OsStr::new("publish"),
            OsStr::new("--namespaces"),
            OsStr::new(namespaces),
            OsStr::new("--expires"),
            OsStr::new(expires),
        ]);
        assert_eq!(code, 2, "{namespaces} {expires}: {stdout}");
        assert!(stdout.is_empty(), "no token is printed: {stdout}");
        assert!(
            stderr.contains("pack pattern") || stderr.contains("expiry"),
            "{namespaces} {expires}: {stderr}"
        );
    }
    let (code, stdout, _) = registry_command(&[
        OsStr::new("token"),
        OsStr::new("list"),
        OsStr::new("--data"),
        data.as_os_str(),
    ]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty(), "no token was made: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_pattern_covers_that_namespace_only() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let data = work.path().join("data");
    let server = start(&data);
    let admin = server.admin.clone().expect("a first admin token");
    let client = http_client();
    let signer = key();
    create_namespace_with_key(&client, &server.url, &admin, "acmecorp", &signer).await;
    let token = create_token(&data, "publish", "acme/*");
    let bundle = bundle("acmecorp/web", "1.0.0", "A web pack.", &signer);
    let response = send_publish(
        &client,
        &server.url,
        &token,
        "acmecorp/web",
        "1.0.0",
        &bundle,
    )
    .await
    .expect("answered");
    assert_eq!(response.status(), 403);
}

/// Starts the binary on a new data directory with `env`, waits until it serves, kills it, and
/// returns everything it wrote on stdout and stderr.
fn first_start_output(data: &std::path::Path, env: &[(&str, &str)]) -> String {
    let mut child = server_command(
        &[
            OsStr::new("--data"),
            data.as_os_str(),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
        ],
        env,
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the threatpack-registry binary runs");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut said = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&said).contains("listening on") {
        match stdout.read(&mut buffer) {
            Ok(read @ 1..) => said.extend_from_slice(&buffer[..read]),
            _ => break,
        }
    }
    child.kill().expect("kill the server");
    child.wait().expect("the server is reaped");
    let _ = stdout.read_to_end(&mut said);
    let _ = child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_end(&mut said);
    String::from_utf8_lossy(&said).into_owned()
}

#[test]
fn the_first_admin_token_goes_to_a_0600_file_or_comes_from_the_environment_never_to_output() {
    use std::os::unix::fs::PermissionsExt;

    let work = tempfile::tempdir().expect("a temporary directory");
    let data = work.path().join("data");
    let said = first_start_output(&data, &[]);
    let path = data.join(ADMIN_TOKEN_FILE);
    let token = std::fs::read_to_string(&path).expect("the admin token file");
    let token = token.trim();
    assert!(token.starts_with("tpr_"), "{token}");
    assert!(!said.contains(token), "the token was printed: {said}");
    assert!(said.contains(&path.display().to_string()), "{said}");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A second start makes no token and names no file.
    let said = first_start_output(&data, &[]);
    assert!(!said.contains(ADMIN_TOKEN_FILE), "{said}");

    let data = work.path().join("from-environment");
    let given = format!("tpr_{}", "ab".repeat(32));
    let said = first_start_output(&data, &[(ADMIN_TOKEN_ENV, &given)]);
    assert!(!said.contains(&given), "the token was printed: {said}");
    assert!(!data.join(ADMIN_TOKEN_FILE).exists());
    let (code, stdout, _) = registry_command(&[
        OsStr::new("token"),
        OsStr::new("list"),
        OsStr::new("--data"),
        data.as_os_str(),
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("admin") && stdout.contains("expires 20"),
        "{stdout}"
    );
    // A short one is refused, and nothing starts.
    let data = work.path().join("short");
    let said = first_start_output(&data, &[(ADMIN_TOKEN_ENV, "tpr_short")]);
    assert!(
        said.contains(ADMIN_TOKEN_ENV) && !said.contains("listening on"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_key_signs_nothing_new_and_its_versions_stay_downloadable_and_marked() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let server = start(&work.path().join("data"));
    let admin = server.admin.clone().expect("a first admin token");
    let client = http_client();
    let old = key();
    create_namespace_with_key(&client, &server.url, &admin, "acme", &old).await;
    let published = bundle("acme/web", "1.0.0", "A web pack.", &old);
    let response = send_publish(
        &client,
        &server.url,
        &admin,
        "acme/web",
        "1.0.0",
        &published,
    )
    .await
    .expect("answered");
    assert_eq!(response.status(), 201);
    let new = key();
    let response = client
        .post(format!("{}/namespaces/acme/keys", server.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "public_key": new.public }).to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 201);

    // Read (and so cached by the server) before the removal: the removal must show anyway.
    let before = json(
        client
            .get(format!("{}/packs/acme/web", server.url))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(
        before["versions"][0]["signer_key_removed"], false,
        "{before}"
    );
    let old_id = &old.signing.key_id;
    let response = client
        .delete(format!("{}/namespaces/acme/keys/{old_id}", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let left = json(response).await;
    assert_eq!(left["keys"].as_array().map(Vec::len), Some(1), "{left}");
    assert_eq!(left["keys"][0]["key_id"], new.signing.key_id.as_str());

    let index = json(
        client
            .get(format!("{}/packs/acme/web", server.url))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(index["versions"][0]["signer_key_removed"], true, "{index}");
    let digest = index["versions"][0]["digest"].as_str().expect("a digest");
    let blob = client
        .get(format!(
            "{}/blobs/sha256/{}",
            server.url,
            digest.trim_start_matches("sha256:")
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(blob.status(), 200);
    assert_eq!(
        blob.bytes().await.expect("bytes").as_ref(),
        published.bytes.as_slice()
    );

    let next = bundle("acme/web", "1.0.1", "A web pack.", &old);
    let response = send_publish(&client, &server.url, &admin, "acme/web", "1.0.1", &next)
        .await
        .expect("answered");
    assert_eq!(response.status(), 422, "a removed key signs nothing new");
    let next = bundle("acme/web", "1.0.1", "A web pack.", &new);
    let response = send_publish(&client, &server.url, &admin, "acme/web", "1.0.1", &next)
        .await
        .expect("answered");
    assert_eq!(response.status(), 201);
    let index = json(
        client
            .get(format!("{}/packs/acme/web", server.url))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(index["versions"][1]["signer_key_removed"], false, "{index}");

    // Removing it again is a 404.
    let response = client
        .delete(format!("{}/namespaces/acme/keys/{old_id}", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 404);
}

/// `key`'s public half with the same key id and other key bytes.
fn same_id_other_bytes(key: &Key) -> String {
    let line = key
        .public
        .lines()
        .find(|line| line.starts_with("RW"))
        .expect("the key's base64 line");
    let mut bytes = Base64::decode_to_vec(line, None).expect("base64");
    // 2 bytes of algorithm, 8 of key id, then the key itself.
    bytes[20] ^= 0xff;
    Base64::encode_to_string(&bytes).expect("base64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_id_registered_again_with_other_bytes_is_a_409() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let server = start(&work.path().join("data"));
    let admin = server.admin.clone().expect("a first admin token");
    let client = http_client();
    let signer = key();
    create_namespace_with_key(&client, &server.url, &admin, "acme", &signer).await;
    let add = |public_key: String| {
        client
            .post(format!("{}/namespaces/acme/keys", server.url))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "public_key": public_key }).to_string())
            .send()
    };
    let response = add(same_id_other_bytes(&signer)).await.expect("answered");
    assert_eq!(response.status(), 409);
    assert!(detail(response).await.contains(&signer.signing.key_id));
    // The identical key again is fine; the clash also holds once the key is removed.
    assert_eq!(
        add(signer.public.clone()).await.expect("answered").status(),
        200
    );
    let response = client
        .delete(format!(
            "{}/namespaces/acme/keys/{}",
            server.url, signer.signing.key_id
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let response = add(same_id_other_bytes(&signer)).await.expect("answered");
    assert_eq!(response.status(), 409);
}
