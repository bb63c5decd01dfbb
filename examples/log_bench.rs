//! Benchmark of the transparency log (docs/benchmarks.md, "Transparency log"): the time to
//! verify one inclusion proof, and `log verify` (the monitor, `ops::registry::verify_log`) over
//! a registry whose log holds 100,000 entries. Not part of the test suite.
//!
//!     cargo run --release --example log_bench [-- ENTRIES]
//!
//! The registry's database is filled straight with SQL (a namespace, its key, 100 packs and
//! ENTRIES - 2 versions, and the matching log entries and stored hashes computed with
//! `transparency::log`), as publishing 100,000 bundles through the API would take hours; then
//! the real registry serves it on loopback and the monitor runs in this process. Everything is
//! written to a temporary directory, removed at the end.

use std::time::Instant;

use rusqlite::params;
use threatpack::client::cache::Cache;
use threatpack::ops::registry::{LogVerifyOptions, RegistryOptions, verify_log};
use threatpack::transparency::log::{
    Entry, Event, MemoryHashes, prove_inclusion, verify_inclusion,
};
use threatpack_registry::api::ApiOptions;
use threatpack_registry::server::{open, serve};

const PACKS: u64 = 100;
const KEY_ID: &str = "0123456789ABCDEF";
const TIME: &str = "2026-12-07T17:00:00Z";

fn main() -> Result<(), String> {
    let entries: u64 = match std::env::args().nth(1) {
        Some(count) => count.parse().map_err(|_| "ENTRIES is a number")?,
        None => 100_000,
    };
    let work = tempfile::tempdir().map_err(|error| error.to_string())?;
    let data = work.path().join("data");
    drop(open(&data)?);

    // The log, in memory first: its entries and stored hashes.
    let started = Instant::now();
    let mut log_entries: Vec<Vec<u8>> = vec![
        Entry {
            event: Event::OwnerAdd {
                namespace: "bench".to_string(),
                owner: "bench@example.com".to_string(),
            },
            time: TIME.to_string(),
        }
        .encode(),
        Entry {
            event: Event::KeyAdd {
                namespace: "bench".to_string(),
                key_id: KEY_ID.to_string(),
            },
            time: TIME.to_string(),
        }
        .encode(),
    ];
    let mut versions = Vec::new();
    for number in 0..entries.saturating_sub(2) {
        let pack = format!("bench/p{:03}", number % PACKS);
        let version = format!("1.0.{}", number / PACKS);
        let sha256 = threatpack::digest::sha256_hex(format!("{pack}@{version}").as_bytes());
        log_entries.push(
            Entry {
                event: Event::Publish {
                    pack: pack.clone(),
                    version: version.clone(),
                    sha256: sha256.clone(),
                    signer: KEY_ID.to_string(),
                },
                time: TIME.to_string(),
            }
            .encode(),
        );
        versions.push((pack, version, sha256, log_entries.len() as u64 - 1));
    }
    let mut tree = MemoryHashes::new();
    for entry in &log_entries {
        tree.append(entry)?;
    }
    let root = tree.root()?;
    println!(
        "built a log of {} entries in memory in {:.2} s",
        tree.size(),
        started.elapsed().as_secs_f64()
    );

    // Inclusion proof verification: the client's cost per version it locks or fetches.
    let rounds = 10_000u64;
    let proofs: Vec<(u64, Vec<_>)> = (0..rounds)
        .map(|round| {
            let index = (round * 7919) % tree.size();
            prove_inclusion(tree.size(), index, &tree).map(|proof| (index, proof))
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for (index, proof) in &proofs {
        verify_inclusion(
            proof,
            tree.size(),
            root,
            *index,
            &log_entries[*index as usize],
        )?;
    }
    let per_proof = started.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "verify_inclusion: {:.1} µs per proof ({} hashes), mean of {rounds}",
        per_proof * 1e6,
        proofs[0].1.len()
    );

    // The registry's database, filled straight.
    let started = Instant::now();
    let mut database = rusqlite::Connection::open(data.join("registry.sqlite3"))
        .map_err(|error| error.to_string())?;
    let transaction = database.transaction().map_err(|error| error.to_string())?;
    let sql = |error: rusqlite::Error| error.to_string();
    transaction
        .execute(
            "INSERT INTO namespaces (name, created_at) VALUES ('bench', 0)",
            [],
        )
        .map_err(sql)?;
    transaction
        .execute(
            "INSERT INTO namespace_owners (namespace, owner) VALUES ('bench', 'bench@example.com')",
            [],
        )
        .map_err(sql)?;
    transaction
        .execute(
            "INSERT INTO publisher_keys (namespace, key_id, public_key, added_at) VALUES ('bench', ?1, 'RWQ', 0)",
            [KEY_ID],
        )
        .map_err(sql)?;
    for pack in 0..PACKS {
        transaction
            .execute(
                "INSERT INTO packs (name, namespace, description, tags, created_at) VALUES (?1, 'bench', '', '[]', 0)",
                [format!("bench/p{pack:03}")],
            )
            .map_err(sql)?;
    }
    {
        let mut insert = transaction
            .prepare(
                "INSERT INTO versions (pack, version, sha256, size, dependencies, signer_key_id, signature, published_at)
                 VALUES (?1, ?2, ?3, 1, '[]', ?4, '', 0)",
            )
            .map_err(sql)?;
        for (pack, version, sha256, _) in &versions {
            insert
                .execute(params![pack, version, sha256, KEY_ID])
                .map_err(sql)?;
        }
        let mut insert = transaction
            .prepare("INSERT INTO log_entries (id, entry, kind, subject, object) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(sql)?;
        for (index, bytes) in log_entries.iter().enumerate() {
            let (kind, subject, object) = match Entry::parse(bytes)?.event {
                Event::Publish { pack, version, .. } => ("publish", pack, version),
                Event::OwnerAdd { namespace, owner } => ("owner-add", namespace, owner),
                Event::KeyAdd { namespace, key_id } => ("key-add", namespace, key_id),
                other => return Err(format!("unexpected {other:?}")),
            };
            insert
                .execute(params![index as i64, bytes, kind, subject, object])
                .map_err(sql)?;
        }
        let mut insert = transaction
            .prepare("INSERT INTO log_hashes (id, hash) VALUES (?1, ?2)")
            .map_err(sql)?;
        for (index, hash) in tree.stored().iter().enumerate() {
            insert
                .execute(params![index as i64, &hash.0[..]])
                .map_err(sql)?;
        }
    }
    transaction.commit().map_err(sql)?;
    drop(database);
    println!(
        "wrote the registry database in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // The real registry on loopback, and the monitor.
    let opened = open(&data)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|error| error.to_string())?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let options = ApiOptions {
        registry_key: opened.registry_key.clone(),
        ..ApiOptions::default()
    };
    runtime.spawn(serve(listener, opened.store.clone(), options));
    let options = LogVerifyOptions {
        registry: RegistryOptions {
            url: format!("http://{address}"),
            token: None,
        },
        key: None,
        cache: Cache::new(work.path().join("cache")),
        witness: None,
    };
    for run in 1..=3 {
        let started = Instant::now();
        let report = verify_log(&options).map_err(|error| error.to_string())?;
        println!(
            "log verify, run {run}: {:.2} s for {} entries, {} versions of {} packs, {} problems",
            started.elapsed().as_secs_f64(),
            report.size,
            report.versions_checked,
            report.packs_checked,
            report.problems.len()
        );
        if !report.problems.is_empty() {
            return Err(format!(
                "problems: {:?}",
                &report.problems[..3.min(report.problems.len())]
            ));
        }
    }
    Ok(())
}
