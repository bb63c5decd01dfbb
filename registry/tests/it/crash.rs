//! kill -9 during publishes: the real `threatpack-registry` binary is killed (SIGKILL, no
//! handler runs) at varied moments while versions are being published, then restarted on the
//! same data directory, again and again. After every start the store must hold whole versions
//! only: each version of the index downloadable with its signature and the digest the index
//! says, no trace of a version that did not land, no orphan or temporary file, and every
//! publish that was acknowledged still there.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use threatpack::signing::{parse_public_keys, verify_bundle};

use crate::support::{
    Bundle, Key, ServerProcess, bundle, create_namespace_with_key, file_names, json, key,
    send_publish,
};

const PACK: &str = "acme/web";
/// Kills, each followed by a restart.
const ROUNDS: u32 = 12;
/// Publishes in flight when the kill comes.
const CONCURRENT: u32 = 6;

/// What the test knows of each version it tried: its bundle, and whether the registry
/// acknowledged it (2xx) before a kill.
struct Attempts {
    bundles: BTreeMap<String, Bundle>,
    acknowledged: BTreeSet<String>,
}

#[test]
fn a_registry_killed_during_publishes_restarts_with_whole_versions_only() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let args = [
        OsStr::new("--data"),
        data.path().as_os_str(),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
    ];
    let start = || ServerProcess::start(&args, &[]).unwrap_or_else(|error| panic!("{error}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let client = crate::support::http_client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let signer = key();
    let mut attempts = Attempts {
        bundles: BTreeMap::new(),
        acknowledged: BTreeSet::new(),
    };

    let mut server = start();
    let admin = server
        .admin
        .clone()
        .expect("the first start writes the admin token to a file");
    runtime.block_on(create_namespace_with_key(
        &client,
        &server.url,
        &admin,
        "acme",
        &signer,
    ));
    // One publish, timed, so that the kills below land during publishes on any machine.
    let first = bundle(PACK, "1.0.0", "Calibration.", &signer);
    let started = Instant::now();
    let status = runtime
        .block_on(send_publish(
            &client,
            &server.url,
            &admin,
            PACK,
            "1.0.0",
            &first,
        ))
        .expect("the first publish")
        .status();
    let one_publish = started.elapsed();
    assert_eq!(status, 201);
    attempts.bundles.insert("1.0.0".to_string(), first);
    attempts.acknowledged.insert("1.0.0".to_string());

    let mut rounds_cut_short = 0;
    let mut orphans_collected = 0;
    for round in 1..=ROUNDS {
        let batch: Vec<Bundle> = (0..CONCURRENT)
            .map(|index| bundle(PACK, &format!("1.{round}.{index}"), "Crash test.", &signer))
            .collect();
        let mut tasks = Vec::new();
        for bundle in &batch {
            let (client, url, admin) = (client.clone(), server.url.clone(), admin.clone());
            let (version, bundle) = (bundle.version.clone(), bundle.clone());
            tasks.push(runtime.spawn(async move {
                let answer = send_publish(&client, &url, &admin, PACK, &version, &bundle).await;
                (version, answer.map(|response| response.status()))
            }));
        }
        // From "at once" to about as long as the whole batch takes.
        let delay = one_publish * CONCURRENT * (round - 1) / ROUNDS;
        std::thread::sleep(delay);
        server.kill();
        let mut acknowledged = 0;
        for task in tasks {
            let (version, answer) = runtime.block_on(task).expect("the publish task");
            if let Ok(status) = answer {
                assert!(
                    status.is_success(),
                    "{version}: {status} (only a kill may stop a publish)"
                );
                attempts.acknowledged.insert(version);
                acknowledged += 1;
            }
        }
        eprintln!("round {round}: delay {delay:?}, {acknowledged} acknowledged");
        if (1..CONCURRENT).contains(&acknowledged) {
            rounds_cut_short += 1;
        }
        attempts.bundles.extend(
            batch
                .into_iter()
                .map(|bundle| (bundle.version.clone(), bundle)),
        );

        server = start();
        let said = server.stderr();
        assert!(
            said.lines().all(|line| line.starts_with("collected ")
                || line.starts_with("clients reach it with: ")),
            "a clean start says nothing but what it collected (and how clients reach it):\n{said}"
        );
        orphans_collected += collected_orphans(&said);
        runtime.block_on(check_whole_versions_only(
            &client,
            &server.url,
            data.path(),
            &attempts,
            &signer,
        ));
    }

    // Every version that did not land can still be published: nothing half-stored blocks it.
    let index = runtime.block_on(index_versions(&client, &server.url));
    for (version, bundle) in &attempts.bundles {
        if !index.contains_key(version) {
            let status = runtime
                .block_on(send_publish(
                    &client,
                    &server.url,
                    &admin,
                    PACK,
                    version,
                    bundle,
                ))
                .expect("a publish")
                .status();
            assert_eq!(status, 201, "{version} publishes after the crashes");
            attempts.acknowledged.insert(version.clone());
        }
    }
    runtime.block_on(check_whole_versions_only(
        &client,
        &server.url,
        data.path(),
        &attempts,
        &signer,
    ));
    assert_eq!(
        runtime.block_on(index_versions(&client, &server.url)).len(),
        attempts.bundles.len()
    );
    eprintln!(
        "{ROUNDS} kills, {rounds_cut_short} in the middle of a batch, {orphans_collected} orphan file(s) collected at restarts; one publish took {one_publish:?}"
    );
    assert!(
        rounds_cut_short > 0,
        "no kill landed between the first and the last publish of a batch: the delays miss the publishes"
    );
}

/// The count in "collected N orphan blob(s)", which the server prints at start.
fn collected_orphans(stderr: &str) -> usize {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("collected "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

/// The index: version → (digest, size).
async fn index_versions(client: &reqwest::Client, url: &str) -> BTreeMap<String, (String, u64)> {
    let response = client
        .get(format!("{url}/packs/{PACK}"))
        .send()
        .await
        .expect("the index");
    assert_eq!(response.status(), 200);
    let index = json(response).await;
    index["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|version| {
            (
                version["version"].as_str().expect("a version").to_string(),
                (
                    version["digest"].as_str().expect("a digest").to_string(),
                    version["size"].as_u64().expect("a size"),
                ),
            )
        })
        .collect()
}

async fn get(client: &reqwest::Client, url: String) -> (u16, Vec<u8>) {
    let response = client.get(&url).send().await.expect("a download");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("a body").to_vec())
}

/// Whole versions only, every acknowledged one among them, and nothing else on disk.
async fn check_whole_versions_only(
    client: &reqwest::Client,
    url: &str,
    data: &Path,
    attempts: &Attempts,
    signer: &Key,
) {
    let trusted = parse_public_keys(&signer.public).expect("the public key");
    let index = index_versions(client, url).await;
    for (version, (digest, size)) in &index {
        let bundle = attempts
            .bundles
            .get(version)
            .unwrap_or_else(|| panic!("{version} is in the index but was never published"));
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        let (status, blob) = get(client, format!("{url}/blobs/sha256/{hex}")).await;
        assert_eq!(status, 200, "{version}: its blob is served");
        assert_eq!(threatpack::digest::sha256(&blob), *digest, "{version}");
        assert_eq!(blob.len() as u64, *size, "{version}");
        assert!(blob == bundle.bytes, "{version}: the bytes published");
        let (status, signature) = get(client, format!("{url}/blobs/sha256/{hex}/signature")).await;
        assert_eq!(status, 200, "{version}: its signature is served");
        let signature = String::from_utf8(signature).expect("a UTF-8 signature");
        assert_eq!(signature, bundle.signature, "{version}");
        verify_bundle(&blob, Some(&bundle.manifest), &signature, &trusted)
            .unwrap_or_else(|error| panic!("{version}: {error}"));
    }
    for version in &attempts.acknowledged {
        assert!(
            index.contains_key(version),
            "{version} was acknowledged before a kill but is gone"
        );
    }
    for (version, bundle) in &attempts.bundles {
        if !index.contains_key(version) {
            let hex = threatpack::digest::sha256_hex(&bundle.bytes);
            let (status, _) = get(client, format!("{url}/blobs/sha256/{hex}")).await;
            assert_eq!(
                status, 404,
                "{version} is not in the index, nor is its blob"
            );
        }
    }
    let blobs: BTreeSet<String> = file_names(&data.join("blobs/sha256")).into_iter().collect();
    let indexed: BTreeSet<String> = index
        .values()
        .map(|(digest, _)| digest.trim_start_matches("sha256:").to_string())
        .collect();
    assert_eq!(
        blobs, indexed,
        "the blob directory holds the indexed blobs and nothing else"
    );
    assert_eq!(
        file_names(&data.join("blobs/tmp")),
        Vec::<String>::new(),
        "no temporary file survives a start"
    );
}
