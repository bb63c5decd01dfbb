//! Never losing data (issue 13), against the real `threatpack-registry` binary: a database
//! copied without its WAL or lost altogether never costs a blob, a damaged database is refused,
//! a damaged or missing blob is never served and is repaired by a republish, and a backup taken
//! while publishing restores into a registry that serves every version it holds.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use crate::support::{
    Bundle, Key, ServerProcess, bundle, create_namespace_with_key, file_names, json, key,
    send_publish, server_command,
};

const PACK: &str = "acme/web";

/// A started binary, the runtime and client to talk to it, and what was published.
struct Running {
    server: ServerProcess,
    admin: String,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    signer: Key,
    published: BTreeMap<String, Bundle>,
}

fn serve_args(data: &Path) -> Vec<&OsStr> {
    vec![
        OsStr::new("--data"),
        data.as_os_str(),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
    ]
}

fn start(data: &Path, extra: &[&str]) -> Result<ServerProcess, String> {
    let mut args = serve_args(data);
    args.extend(extra.iter().map(OsStr::new));
    ServerProcess::start(&args, &[])
}

/// Starts a registry on `data` with namespace `acme` and `versions` of `acme/web` published.
fn running_with(data: &Path, versions: &[&str]) -> Running {
    let server = start(data, &[]).unwrap_or_else(|error| panic!("{error}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let client = crate::support::http_client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let admin = server.admin.clone().expect("the first start makes a token");
    let signer = key();
    runtime.block_on(create_namespace_with_key(
        &client,
        &server.url,
        &admin,
        "acme",
        &signer,
    ));
    let mut running = Running {
        server,
        admin,
        runtime,
        client,
        signer,
        published: BTreeMap::new(),
    };
    for version in versions {
        let published = bundle(
            PACK,
            version,
            &format!("Version {version}."),
            &running.signer,
        );
        assert_eq!(running.publish(&published), 201, "{version}");
        running.published.insert(version.to_string(), published);
    }
    running
}

impl Running {
    fn publish(&self, bundle: &Bundle) -> u16 {
        self.runtime
            .block_on(send_publish(
                &self.client,
                &self.server.url,
                &self.admin,
                PACK,
                &bundle.version,
                bundle,
            ))
            .expect("a publish")
            .status()
            .as_u16()
    }

    fn get(&self, url: &str) -> (u16, Vec<u8>) {
        self.runtime.block_on(async {
            let response = self.client.get(url).send().await.expect("a request");
            let status = response.status().as_u16();
            (status, response.bytes().await.expect("a body").to_vec())
        })
    }

    fn blob_url(&self, bundle: &Bundle) -> String {
        format!(
            "{}/blobs/sha256/{}",
            self.server.url,
            threatpack::digest::sha256_hex(&bundle.bytes)
        )
    }
}

/// Every version of `expected` is in the index of the registry at `url` and served with its
/// bytes and signature; and the index holds nothing else.
fn serves_every_version(running: &Running, url: &str, expected: &BTreeMap<String, Bundle>) {
    let index = running.runtime.block_on(async {
        let response = running
            .client
            .get(format!("{url}/packs/{PACK}"))
            .send()
            .await
            .expect("the index");
        assert_eq!(response.status(), 200);
        json(response).await
    });
    let listed: Vec<&str> = index["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|version| version["version"].as_str())
        .collect();
    assert_eq!(
        listed,
        expected.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (version, bundle) in expected {
        let hex = threatpack::digest::sha256_hex(&bundle.bytes);
        let (status, bytes) = running.get(&format!("{url}/blobs/sha256/{hex}"));
        assert_eq!(status, 200, "{version} is served");
        assert!(bytes == bundle.bytes, "{version}: the bytes published");
        let (status, signature) = running.get(&format!("{url}/blobs/sha256/{hex}/signature"));
        assert_eq!(status, 200, "{version}: its signature");
        assert_eq!(
            String::from_utf8(signature).expect("UTF-8"),
            bundle.signature
        );
    }
}

fn copy_directory(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_directory(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_database_copied_without_its_wal_or_lost_keeps_every_blob_and_adopt_blobs_serves_them() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut running = running_with(data.path(), &["1.0.0", "1.0.1", "1.1.0"]);
    let blobs = file_names(&data.path().join("blobs/sha256"));
    assert_eq!(blobs.len(), 3);

    // While the server runs, its data sits in the WAL: a plain copy of the database file
    // captures nothing of it.
    let copied = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        data.path().join("registry.sqlite3"),
        copied.path().join("registry.sqlite3"),
    )
    .expect("copy the database file alone");
    copy_directory(&data.path().join("blobs"), &copied.path().join("blobs"));
    // And a data directory whose database is gone altogether.
    let lost = tempfile::tempdir().expect("a temporary directory");
    copy_directory(&data.path().join("blobs"), &lost.path().join("blobs"));

    for directory in [copied.path(), lost.path()] {
        let error = start(directory, &[]).err().expect("refused");
        assert!(
            error.contains("the database has no versions, but `blobs/sha256` holds 3 bundle(s)")
                && error.contains("nothing was deleted")
                && error.contains("--adopt-blobs")
                && error.contains("threatpack-registry restore"),
            "{error}"
        );
        assert_eq!(
            file_names(&directory.join("blobs/sha256")),
            blobs,
            "every blob is kept"
        );
    }

    let adopted =
        start(copied.path(), &["--adopt-blobs"]).unwrap_or_else(|error| panic!("{error}"));
    let said = adopted.stderr();
    for version in ["1.0.0", "1.0.1", "1.1.0"] {
        assert!(
            said.contains(&format!("adopted {PACK}@{version} from its blob")),
            "{said}"
        );
    }
    serves_every_version(&running, &adopted.url, &running.published);
    // The keys came back with the versions: the namespace lists its publisher key.
    let (status, keys) = running.get(&format!("{}/namespaces/acme/keys", adopted.url));
    assert_eq!(status, 200);
    let keys: serde_json::Value = serde_json::from_slice(&keys).expect("JSON");
    assert_eq!(
        keys["keys"][0]["key_id"],
        running.signer.signing.key_id.as_str()
    );

    // Blobs stored before registries kept their signatures beside them get them at start,
    // from the database, so that they too can be adopted.
    running.server.kill();
    let signatures = data.path().join("blobs/signatures");
    for name in file_names(&signatures) {
        std::fs::remove_file(signatures.join(name)).expect("remove a sidecar");
    }
    running.server = start(data.path(), &[]).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(file_names(&signatures).len(), 3);
}

#[test]
fn a_damaged_database_is_refused_with_what_to_do() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let running = running_with(data.path(), &["1.0.0"]);
    running.server.kill();
    let database_path = data.path().join("registry.sqlite3");
    let (root_page, page_size) = {
        let database = rusqlite::Connection::open(&database_path).expect("open");
        database
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
        let root: u64 = database
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'",
                [],
                |row| row.get(0),
            )
            .expect("the audit table");
        let size: u64 = database
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("the page size");
        (root, size)
    };
    // A corrupt page in the audit table: garbage over the whole page.
    let mut bytes = std::fs::read(&database_path).expect("read");
    let start_at = usize::try_from((root_page - 1) * page_size).expect("an offset");
    let end_at = start_at + usize::try_from(page_size).expect("a size");
    bytes[start_at..end_at].fill(0xA5);
    std::fs::write(&database_path, &bytes).expect("write");

    let error = start(data.path(), &[]).err().expect("refused");
    assert!(
        error.contains("registry.sqlite3` is damaged")
            && error.contains("restore the latest backup"),
        "{error}"
    );
    assert_eq!(
        file_names(&data.path().join("blobs/sha256")).len(),
        1,
        "the blob is kept"
    );
}

#[test]
fn a_damaged_or_missing_blob_is_never_served_and_a_republish_repairs_it() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut running = running_with(data.path(), &["1.0.0", "1.0.1"]);
    let damaged = running.published["1.0.0"].clone();
    let blob = data
        .path()
        .join("blobs/sha256")
        .join(threatpack::digest::sha256_hex(&damaged.bytes));
    let mut altered = damaged.bytes.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0xFF;
    std::fs::write(&blob, &altered).expect("alter the blob on disk");

    let (status, body) = running.get(&running.blob_url(&damaged));
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("missing or damaged"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(!blob.exists(), "the damaged blob is out of the way");
    assert_eq!(
        file_names(&data.path().join("blobs/quarantine")).len(),
        1,
        "quarantined, not deleted"
    );
    assert_eq!(running.publish(&damaged), 200, "the identical bytes again");
    let (status, bytes) = running.get(&running.blob_url(&damaged));
    assert_eq!(status, 200);
    assert!(bytes == damaged.bytes, "repaired");

    // A missing blob: reported at start, refused with --strict, repaired the same way.
    let missing = running.published["1.0.1"].clone();
    running.server.kill();
    let blob = data
        .path()
        .join("blobs/sha256")
        .join(threatpack::digest::sha256_hex(&missing.bytes));
    std::fs::remove_file(&blob).expect("remove the blob");
    let error = start(data.path(), &["--strict"]).err().expect("refused");
    assert!(
        error.contains("1 indexed bundle(s) are missing") && error.contains("acme/web@1.0.1"),
        "{error}"
    );
    running.server = start(data.path(), &[]).unwrap_or_else(|error| panic!("{error}"));
    let said = running.server.stderr();
    assert!(
        said.contains("warning: 1 indexed bundle(s) are missing")
            && said.contains("acme/web@1.0.1"),
        "{said}"
    );
    let (status, _) = running.get(&running.blob_url(&missing));
    assert_eq!(status, 500);
    assert_eq!(running.publish(&missing), 200);
    serves_every_version(&running, &running.server.url, &running.published);
}

#[test]
fn a_backup_taken_while_publishing_restores_into_a_registry_that_serves_every_version() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut running = running_with(data.path(), &["1.0.0", "1.1.0"]);
    let before: Vec<String> = running.published.keys().cloned().collect();
    let later: Vec<Bundle> = (2..8)
        .map(|minor| {
            bundle(
                PACK,
                &format!("1.{minor}.0"),
                "Published during the backup.",
                &running.signer,
            )
        })
        .collect();
    let backups = tempfile::tempdir().expect("a temporary directory");
    let file = backups.path().join("registry.backup");
    // Publishes go on while the backup is taken.
    let publishing = {
        let (client, url, admin) = (
            running.client.clone(),
            running.server.url.clone(),
            running.admin.clone(),
        );
        let later = later.clone();
        running.runtime.spawn(async move {
            for bundle in &later {
                let response = send_publish(&client, &url, &admin, PACK, &bundle.version, bundle)
                    .await
                    .expect("a publish");
                assert_eq!(response.status(), 201, "{}", bundle.version);
            }
        })
    };
    // Once the first of them has landed, so that the backup runs between commits.
    let landed = |running: &Running| {
        running.runtime.block_on(async {
            let index = json(
                running
                    .client
                    .get(format!("{}/packs/{PACK}", running.server.url))
                    .send()
                    .await
                    .expect("the index"),
            )
            .await;
            index["versions"].as_array().map_or(0, Vec::len)
        })
    };
    let waiting = std::time::Instant::now();
    while landed(&running) <= before.len() {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "no publish landed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = server_command(
        &[
            OsStr::new("backup"),
            OsStr::new("--data"),
            data.path().as_os_str(),
            OsStr::new("--out"),
            file.as_os_str(),
        ],
        &[],
    )
    .output()
    .expect("the backup runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    running.runtime.block_on(publishing).expect("the publishes");
    running.published.extend(
        later
            .into_iter()
            .map(|bundle| (bundle.version.clone(), bundle)),
    );

    let restored = backups.path().join("restored");
    let output = server_command(
        &[
            OsStr::new("restore"),
            file.as_os_str(),
            OsStr::new("--data"),
            restored.as_os_str(),
        ],
        &[],
    )
    .output()
    .expect("the restore runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A restore never writes over a directory that holds something.
    let output = server_command(
        &[
            OsStr::new("restore"),
            file.as_os_str(),
            OsStr::new("--data"),
            restored.as_os_str(),
        ],
        &[],
    )
    .output()
    .expect("the restore runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not empty"));

    let server = start(&restored, &[]).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        server.admin.is_none(),
        "the restored registry keeps its tokens"
    );
    // Clients saw the original's index sequences, higher than the backup's: a restore raises
    // them past any count (the clock), so that the restored indexes are not refused as a
    // rollback (issue 14).
    let (_, head, _) = crate::signed_index::get(server.address, &format!("/api/v1/packs/{PACK}"));
    let note = head
        .lines()
        .find(|line| {
            line.to_ascii_lowercase()
                .starts_with("threatpack-index-note:")
        })
        .and_then(|line| line.split_once(':'))
        .map(|(_, value)| value)
        .expect("an envelope");
    let note = <ct_codecs::Base64 as ct_codecs::Decoder>::decode_to_vec(note.trim(), None)
        .expect("base64");
    let sequence: u64 = String::from_utf8_lossy(&note)
        .lines()
        .find_map(|line| line.strip_prefix("sequence ")?.parse().ok())
        .expect("a sequence");
    assert!(sequence > 1_700_000_000, "{sequence}");
    // The backup holds whatever had landed when it was taken: at least the versions
    // published before it, each whole.
    let index = running.runtime.block_on(async {
        json(
            running
                .client
                .get(format!("{}/packs/{PACK}", server.url))
                .send()
                .await
                .expect("the index"),
        )
        .await
    });
    let in_backup: BTreeMap<String, Bundle> = index["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|version| version["version"].as_str())
        .map(|version| (version.to_string(), running.published[version].clone()))
        .collect();
    for version in &before {
        assert!(
            in_backup.contains_key(version),
            "{version} is in the backup"
        );
    }
    eprintln!(
        "the backup holds {} of the {} versions published",
        in_backup.len(),
        running.published.len()
    );

    serves_every_version(&running, &server.url, &in_backup);
    // And the original still serves everything.
    serves_every_version(&running, &running.server.url.clone(), &running.published);

    // What was published after the backup comes back by adopting its blobs into the restored
    // directory (docs/registry-data.md).
    server.kill();
    for directory in ["blobs/sha256", "blobs/signatures"] {
        for name in file_names(&data.path().join(directory)) {
            let target = restored.join(directory).join(&name);
            if !target.exists() {
                std::fs::copy(data.path().join(directory).join(&name), target).expect("copy");
            }
        }
    }
    let server = start(&restored, &["--adopt-blobs"]).unwrap_or_else(|error| panic!("{error}"));
    serves_every_version(&running, &server.url, &running.published);
    running.server = server;
}
