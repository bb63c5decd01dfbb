//! A running registry, bundles to publish, and a client.

use std::path::Path;
use std::sync::Arc;

use ct_codecs::{Base64, Encoder};
use threatpack::build::{BuildOptions, build};
use threatpack::bundle::BundleManifest;
use threatpack::signing::{SigningKey, generate_key, load_secret_key, sign_bundle};
use threatpack::workspace::load_graph;
use threatpack_registry::api::{ApiOptions, SIGNATURE_HEADER};
use threatpack_registry::server::{TokenOptions, create_token, open, serve};
use threatpack_registry::store::SqliteStore;
use threatpack_registry::tokens::Scope;

/// A plain-HTTP client for the tests. reqwest is compiled with rustls but no default crypto
/// provider (the `threatpack` crate installs `ring`), so one must be installed first.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    threatpack::client::http::install_crypto_provider();
    reqwest::Client::builder()
}

pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("a client")
}

pub struct Registry {
    pub url: String,
    pub admin: String,
    pub store: Arc<SqliteStore>,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
    /// The key its index envelopes are signed with.
    pub key: std::sync::Arc<threatpack::transparency::RegistryKey>,
}

impl Registry {
    /// Starts a registry on the current runtime.
    pub async fn start() -> Registry {
        Registry::start_with(ApiOptions::default()).await
    }

    pub async fn start_with(options: ApiOptions) -> Registry {
        let data = tempfile::tempdir().expect("a temporary directory");
        let opened = open(data.path()).expect("the registry opens");
        let admin = opened
            .admin_token
            .expect("first start makes an admin token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("bound address");
        let key = opened.registry_key.clone();
        let options = ApiOptions {
            registry_key: key.clone(),
            ..options
        };
        tokio::spawn(serve(listener, opened.store.clone(), options));
        Registry {
            url: format!("http://{address}/api/v1"),
            admin,
            store: opened.store,
            data,
            client: http_client(),
            key,
        }
    }

    pub fn token(&self, scopes: &[Scope], namespaces: &[&str], expires: Option<i64>) -> String {
        let (token, _) = create_token(
            self.store.as_ref(),
            &TokenOptions {
                description: "test".to_string(),
                scopes: scopes.to_vec(),
                namespaces: namespaces
                    .iter()
                    .map(|pattern| pattern.to_string())
                    .collect(),
                expires_in_seconds: expires,
            },
            "test",
        )
        .expect("a token");
        token
    }

    /// Creates a namespace and registers `key`'s public half in it.
    pub async fn namespace_with_key(&self, namespace: &str, key: &Key) {
        create_namespace_with_key(&self.client, &self.url, &self.admin, namespace, key).await;
    }

    pub async fn publish(&self, token: &str, bundle: &Bundle) -> reqwest::Response {
        self.publish_at(token, &bundle.pack, &bundle.version, bundle)
            .await
    }

    pub async fn publish_at(
        &self,
        token: &str,
        pack: &str,
        version: &str,
        bundle: &Bundle,
    ) -> reqwest::Response {
        send_publish(&self.client, &self.url, token, pack, version, bundle)
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request")
    }

    /// The files of the blob directory.
    pub fn blob_files(&self) -> Vec<String> {
        file_names(&self.data.path().join("blobs/sha256"))
    }
}

/// The names of the files in `directory`, sorted.
pub fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("cannot list `{}`: {error}", directory.display()))
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Creates a namespace (owner `alice`) on the registry at `url` (`…/api/v1`) and registers
/// `key`'s public half in it.
pub async fn create_namespace_with_key(
    client: &reqwest::Client,
    url: &str,
    admin: &str,
    namespace: &str,
    key: &Key,
) {
    let response = client
        .post(format!("{url}/namespaces"))
        .bearer_auth(admin)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": namespace, "owners": ["alice"] }).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "{}", text(response).await);
    let response = client
        .post(format!("{url}/namespaces/{namespace}/keys"))
        .bearer_auth(admin)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "public_key": key.public }).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "{}", text(response).await);
}

/// `PUT …/packs/{pack}/{version}` with `bundle` and its signature.
pub async fn send_publish(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    pack: &str,
    version: &str,
    bundle: &Bundle,
) -> reqwest::Result<reqwest::Response> {
    let signature =
        Base64::encode_to_string(bundle.signature.as_bytes()).expect("base64 of a signature");
    client
        .put(format!("{url}/packs/{pack}/{version}"))
        .bearer_auth(token)
        .header(SIGNATURE_HEADER, signature)
        .body(bundle.bytes.clone())
        .send()
        .await
}

pub async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("a body")
}

pub async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&text(response).await).expect("JSON")
}

/// The detail of an error envelope.
pub async fn detail(response: reqwest::Response) -> String {
    let body = json(response).await;
    body["errors"][0]["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("an error envelope: {body}"))
        .to_string()
}

pub struct Key {
    pub public: String,
    pub signing: SigningKey,
}

pub fn key() -> Key {
    let generated = generate_key(None).expect("a key");
    let signing =
        load_secret_key(&generated.secret, || Err("unencrypted".to_string())).expect("the key");
    Key {
        public: generated.public,
        signing,
    }
}

#[derive(Clone)]
pub struct Bundle {
    pub pack: String,
    pub version: String,
    pub bytes: Vec<u8>,
    pub manifest: BundleManifest,
    pub signature: String,
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create directory");
    std::fs::write(path, text).expect("write");
}

/// Builds a small real pack (`description` varies its bytes) and signs the bundle with `key`.
pub fn bundle(pack: &str, version: &str, description: &str, key: &Key) -> Bundle {
    bundle_for_tier(pack, version, description, key, None)
}

/// `bundle`, built for `tier` (`build --tier`; its tiers are `top` and `standard`, and its items
/// are all `standard`) or for the whole pack.
pub fn bundle_for_tier(
    pack: &str,
    version: &str,
    description: &str,
    key: &Key,
    tier: Option<&str>,
) -> Bundle {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let root = directory.path();
    write(
        root,
        "pack.toml",
        &format!(
            r#"[pack]
format = 1
name = "{pack}"
version = "{version}"
description = "{description}"
license = "MIT"
tags = ["web", "stride"]
tiers = ["top", "standard"]
"#
        ),
    );
    copy_small_pack_items(root, &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let graph = load_graph(root, "pack").expect("the pack loads");
    let report = build(
        &graph,
        &BuildOptions {
            tier: tier.map(str::to_string),
            ..BuildOptions::default()
        },
    );
    let built = report
        .built
        .unwrap_or_else(|| panic!("the pack builds: {:#?}", report.diagnostics));
    let signature = sign_bundle(&built.bytes, &built.manifest, &key.signing).expect("signed");
    Bundle {
        pack: pack.to_string(),
        version: version.to_string(),
        bytes: built.bytes,
        manifest: built.manifest,
        signature,
    }
}

/// The `threatpack-registry` binary running as a child process; killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: std::net::SocketAddr,
    /// `http://ADDRESS/api/v1`.
    pub url: String,
    /// The admin token, read from the file the data directory's first start names on stderr
    /// (the token itself is never printed).
    pub admin: Option<String>,
    stderr: Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

/// How long a start may take before the test gives up on it.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The variables that configure the server: removed from every child, so the test's own
/// environment cannot change what a test means.
const SERVER_ENV: [&str; 12] = [
    threatpack_registry::config::DATA_ENV,
    threatpack_registry::config::INDEX_EXPIRY_ENV,
    threatpack_registry::config::KEY_FILE_ENV,
    threatpack_registry::config::ORIGIN_ENV,
    threatpack_registry::config::LISTEN_ENV,
    threatpack_registry::config::MAX_BUNDLE_BYTES_ENV,
    threatpack_registry::config::ADMIN_TOKEN_ENV,
    threatpack_registry::config::HEADER_TIMEOUT_ENV,
    threatpack_registry::config::BODY_TIMEOUT_ENV,
    threatpack_registry::config::MAX_CONNECTIONS_ENV,
    threatpack_registry::config::WRITE_RATE_ENV,
    threatpack_registry::config::LOG_FORMAT_ENV,
];

/// `threatpack-registry` with `args` and only the `env` of the server's own variables.
pub fn server_command(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_threatpack-registry"));
    command.args(args);
    for name in SERVER_ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
}

impl ServerProcess {
    /// Starts the binary and waits for its `listening on http://ADDRESS` line (the last line
    /// it prints before serving; the admin token comes before it). An `Err` holds what the
    /// process said when it ended or stalled instead.
    pub fn start(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Result<ServerProcess, String> {
        use std::io::{BufRead, Read};
        use std::process::Stdio;

        let mut child = server_command(args, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the threatpack-registry binary runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let collected = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stderr_pipe.read(&mut buffer) {
                if let Ok(mut text) = collected.lock() {
                    text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            }
        });
        let (lines, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = ServerProcess {
            child,
            address: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
            url: String::new(),
            admin: None,
            stderr,
            stderr_reader: Some(stderr_reader),
        };
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = match received.recv_timeout(left) {
                Ok(line) => line,
                Err(error) => {
                    // Ended (the pipe closed) or stalled: report what it said.
                    let _ = server.child.kill();
                    let status = server.child.wait().expect("the server ends");
                    if let Some(reader) = server.stderr_reader.take() {
                        let _ = reader.join();
                    }
                    return Err(format!(
                        "the server did not start ({error}, {status}); stderr:\n{}",
                        server.stderr()
                    ));
                }
            };
            if let Some(address) = line.strip_prefix("listening on http://") {
                server.address = address.parse().expect("an address after `listening on`");
                server.url = format!("http://{address}/api/v1");
                server.admin = server.admin_token_from_file(deadline);
                return Ok(server);
            }
        }
    }

    /// The first admin token, from the file the server named on stderr before it said where
    /// clients reach it (the stderr reader may lag behind stdout: wait for that line).
    fn admin_token_from_file(&self, deadline: std::time::Instant) -> Option<String> {
        while !self.stderr().contains("clients reach it with")
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let said = self.stderr();
        let path = said
            .split_once("an admin token (expires in 30 days) is in `")?
            .1
            .split_once('`')?
            .0;
        let token = std::fs::read_to_string(path).expect("the admin token file reads");
        Some(token.trim().to_string())
    }

    /// SIGKILL on Unix: no handler runs, nothing is flushed or cleaned up.
    pub fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("the killed server is reaped");
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
