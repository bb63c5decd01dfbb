//! Downloading locked packs into the cache, in parallel, and refusing anything that is not
//! exactly what the lockfile pins and a trusted key signed. A cached bundle is checked again
//! every time it is used: the cache is not trusted more than the network.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::cache::{Cache, checksum_hex};
use super::http::{Client, Request};
use super::log::{LogChecker, LoggedVersion};
use crate::bundle::{Bundle, ReadLimits, read_bundle};
use crate::lockfile::{LockedPack, Lockfile, namespace_of};
use crate::project::ConfiguredKey;
use crate::signing::{TrustedKey, parse_public_keys, verify_bundle};
use crate::workspace::{read_capped, write_atomically};

/// How many downloads run at once.
pub const DEFAULT_JOBS: usize = 8;

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub offline: bool,
    pub jobs: usize,
}

/// A locked pack, verified and in the cache.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub pack: LockedPack,
    pub bundle_path: std::path::PathBuf,
    /// Whether it was downloaded by this run (else it came from the cache).
    pub downloaded: bool,
}

/// Makes every pack of `lock` available in the cache, verified. `on_done` is called as each
/// pack is ready (from worker threads). All problems are returned, one message per pack.
pub fn fetch_locked(
    lock: &Lockfile,
    configured: &[ConfiguredKey],
    cache: &Cache,
    options: &FetchOptions,
    on_done: &(dyn Fn(&Fetched) + Sync),
) -> Result<Vec<Fetched>, Vec<String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Fetched, String>)>> = Mutex::new(Vec::new());
    let clients: Mutex<std::collections::HashMap<String, Client>> = Mutex::default();
    let log = LogChecker::new(cache.clone());
    let workers = options.jobs.clamp(1, 32).min(lock.packs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::SeqCst);
                    let Some(pack) = lock.packs.get(at) else {
                        break;
                    };
                    let result = fetch_one(pack, lock, configured, cache, options, &clients, &log);
                    if let Ok(fetched) = &result {
                        on_done(fetched);
                    }
                    if let Ok(mut results) = results.lock() {
                        results.push((at, result));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(at, _)| *at);
    let mut fetched = Vec::new();
    let mut problems = Vec::new();
    for (_, result) in results {
        match result {
            Ok(pack) => fetched.push(pack),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(fetched)
    } else {
        Err(problems)
    }
}

fn fetch_one(
    pack: &LockedPack,
    lock: &Lockfile,
    configured: &[ConfiguredKey],
    cache: &Cache,
    options: &FetchOptions,
    clients: &Mutex<std::collections::HashMap<String, Client>>,
    log: &LogChecker,
) -> Result<Fetched, String> {
    let label = format!("`{}` {}", pack.name, pack.version);
    let trusted = trusted_keys(pack, lock, configured)?;
    let bundle_path = cache.bundle_path(&pack.checksum)?;
    let signature_path = cache.signature_path(&pack.checksum)?;
    // The cache first: a copy that no longer verifies is dropped and downloaded again.
    if let (Ok(bytes), Ok(signature)) = (
        read_capped(&bundle_path, ReadLimits::default().max_bundle_bytes),
        read_capped(&signature_path, 1024 * 1024),
    ) {
        match verify(pack, &bytes, &signature, &trusted) {
            Ok(_) => {
                return Ok(Fetched {
                    pack: pack.clone(),
                    bundle_path,
                    downloaded: false,
                });
            }
            Err(problem) if options.offline => {
                return Err(format!("{label} in the cache: {problem}"));
            }
            Err(_) => {
                let _ = std::fs::remove_file(&bundle_path);
                let _ = std::fs::remove_file(&signature_path);
            }
        }
    }
    if options.offline {
        return Err(format!(
            "{label} is not in the cache ({}) and --offline forbids downloading it: run `threatpack fetch` once while online",
            cache.root().display()
        ));
    }
    let client = {
        let mut clients = clients
            .lock()
            .map_err(|_| "a download thread failed".to_string())?;
        match clients.get(&pack.registry) {
            Some(client) => client.clone(),
            None => {
                let client = Client::new(&pack.registry)?;
                clients.insert(pack.registry.clone(), client.clone());
                client
            }
        }
    };
    let hex = checksum_hex(&pack.checksum)?;
    let blob_path = format!("/blobs/sha256/{hex}");
    let bytes = download(&client, &blob_path, &label)?;
    let signature_url = format!("{blob_path}/signature");
    let signature = download(&client, &signature_url, &label)?;
    verify(pack, &bytes, &signature, &trusted)
        .map_err(|problem| format!("refusing {label} from {}: {problem}", pack.registry))?;
    // A download is checked against the log the lockfile names (lockfiles written before
    // registries kept one name none: the next `lock` records it).
    if pack.log_index.is_some() {
        // Whether its signer's key was removed, and where in the log: a version logged after
        // its key's removal is refused even when locked.
        let index_path = format!("/packs/{}", pack.name);
        let removal = client
            .send(&Request::new("GET", &index_path))
            .ok()
            .filter(|response| response.status == 200)
            .and_then(|response| response.json::<crate::wire::Index>().ok())
            .and_then(|index| {
                index
                    .versions
                    .into_iter()
                    .find(|entry| entry.version == pack.version)
            })
            .and_then(|entry| entry.signer_key_removed_log_index);
        // The registry key the lockfile pins (`[[registry]]`), else the registry's own.
        let key = lock
            .registries
            .iter()
            .find(|registry| registry.url == pack.registry)
            .map(|registry| registry.key.as_str());
        log.check(
            &client,
            key,
            &LoggedVersion {
                name: &pack.name,
                version: &pack.version,
                digest: &pack.checksum,
                signer: &pack.signer,
                log_index: pack.log_index,
                signer_key_removed_log_index: removal,
            },
        )?;
    }
    // Signature last: a bundle without its signature is never taken as fetched.
    write_atomically(&bundle_path, &bytes, 0o644)?;
    write_atomically(&signature_path, &signature, 0o644)?;
    Ok(Fetched {
        pack: pack.clone(),
        bundle_path,
        downloaded: true,
    })
}

pub(crate) fn download(client: &Client, path: &str, label: &str) -> Result<Vec<u8>, String> {
    let response = client.send(&Request::new("GET", path))?;
    match response.status {
        200 => Ok(response.body),
        404 => Err(format!(
            "{} has no {} of {label} any more (404): the registry lost a published version; tell its administrator",
            client.registry(),
            if path.ends_with("/signature") {
                "signature"
            } else {
                "bundle"
            }
        )),
        status => Err(format!(
            "downloading {label} from {} failed ({status}): {}",
            client.registry(),
            response.detail()
        )),
    }
}

/// The keys that may sign `pack`: the project's `[trust]` for its namespace when it names any,
/// else the keys the lockfile recorded.
fn trusted_keys(
    pack: &LockedPack,
    lock: &Lockfile,
    configured: &[ConfiguredKey],
) -> Result<Vec<TrustedKey>, String> {
    let namespace = namespace_of(&pack.name);
    let mut lines: Vec<&str> = configured
        .iter()
        .filter(|key| key.namespace == namespace)
        .map(|key| key.public_key.as_str())
        .collect();
    if lines.is_empty() {
        lines = lock
            .keys_of(namespace)
            .map(|key| key.public_key.as_str())
            .collect();
    }
    if lines.is_empty() {
        return Err(format!(
            "no key is trusted for `{namespace}`: threatpack.lock records none and [trust] names none; run `threatpack lock` (it records the registry's keys on first use) or add the publisher's key to [trust]"
        ));
    }
    parse_public_keys(&lines.join("\n"))
        .map_err(|error| format!("a trusted key of `{namespace}` cannot be read: {error}"))
}

/// Checks bytes and signature against the lock: the sha256, the bundle itself (hostile-input
/// reader), its name and version, and the signature by a trusted key.
fn verify(
    pack: &LockedPack,
    bytes: &[u8],
    signature: &[u8],
    trusted: &[TrustedKey],
) -> Result<Bundle, String> {
    let actual = crate::digest::sha256(bytes);
    if actual != pack.checksum {
        return Err(format!(
            "its sha256 is {actual}, but threatpack.lock records {}: the bytes were altered (or the lockfile is wrong); nothing was used",
            pack.checksum
        ));
    }
    let bundle = read_bundle(bytes, &ReadLimits::default())
        .map_err(|error| format!("not a valid bundle: {error}"))?;
    if bundle.manifest.pack != pack.name || bundle.manifest.version != pack.version {
        return Err(format!(
            "the bundle is `{}` {}, not what threatpack.lock names",
            bundle.manifest.pack, bundle.manifest.version
        ));
    }
    let signature = String::from_utf8_lossy(signature);
    let verified = verify_bundle(bytes, Some(&bundle.manifest), &signature, trusted)
        .map_err(|error| format!("its signature does not verify: {error}"))?;
    if verified.key_id != pack.signer {
        return Err(format!(
            "it is signed by key {}, but threatpack.lock records signer {}",
            verified.key_id, pack.signer
        ));
    }
    Ok(bundle)
}

/// Reads a fetched bundle back from the cache, checking its sha256 again.
pub fn read_fetched(fetched: &Fetched) -> Result<Bundle, String> {
    let bytes = read_capped(&fetched.bundle_path, ReadLimits::default().max_bundle_bytes)?;
    let actual = crate::digest::sha256(&bytes);
    if actual != fetched.pack.checksum {
        return Err(format!(
            "`{}` changed in the cache since it was verified (sha256 {actual}, locked {}): run `threatpack fetch` again",
            fetched.bundle_path.display(),
            fetched.pack.checksum
        ));
    }
    read_bundle(&bytes, &ReadLimits::default())
        .map_err(|error| format!("`{}`: {error}", fetched.bundle_path.display()))
}
