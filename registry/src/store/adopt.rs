//! `--adopt-blobs`: a blob no version names is indexed again from what it carries itself — the
//! bundle's manifest, and the signature and signer's key kept beside it (`signatures/HEX.json`)
//! — after the signature is verified again. Owners, tokens, yanks and the audit history are
//! not in the blobs: those only a backup gives back.

use rusqlite::{OptionalExtension, params};
use threatpack::bundle::{ReadLimits, read_bundle};
use threatpack::signing::{parse_public_keys, verify_bundle};
use threatpack::transparency::log::Event;
use threatpack::wire::IndexDependency;

use super::SqliteStore;
use super::blobs::BlobRead;
use threatpack::time::now;

impl SqliteStore {
    /// Indexes the blob `sha256`; returns `pack@version`, or why it was kept unindexed.
    pub(super) fn adopt(&self, sha256: &str) -> Result<String, String> {
        let sidecar = self.blobs.sidecar(sha256)?.ok_or(
            "no signature beside it (`blobs/signatures/HEX.json`, kept since registries record it): kept as it is",
        )?;
        let bytes = match self.blobs.read_verified(sha256)? {
            BlobRead::Found(bytes) => bytes,
            BlobRead::Missing => return Err("gone while adopting".to_string()),
            BlobRead::Damaged => {
                return Err("its bytes do not hash to its name: quarantined".to_string());
            }
        };
        let limits = ReadLimits {
            max_bundle_bytes: u64::MAX,
            ..ReadLimits::default()
        };
        let bundle =
            read_bundle(&bytes, &limits).map_err(|error| format!("not a valid bundle: {error}"))?;
        let manifest = &bundle.manifest;
        threatpack::names::check_pack_name(&manifest.pack)
            .map_err(|error| format!("`{}` is not a pack name: {error}", manifest.pack))?;
        threatpack::names::parse_version(&manifest.version)
            .map_err(|error| format!("`{}` is not a version: {error}", manifest.version))?;
        let trusted = parse_public_keys(&sidecar.public_key)
            .map_err(|error| format!("the key beside it cannot be read: {error}"))?;
        let verified = verify_bundle(&bytes, Some(manifest), &sidecar.signature, &trusted)
            .map_err(|error| format!("its signature is rejected: {error}"))?;
        let namespace = manifest
            .pack
            .split_once('/')
            .map_or(manifest.pack.as_str(), |(namespace, _)| namespace);
        let target = format!("{}@{}", manifest.pack, manifest.version);
        let mut connection = self.lock().map_err(|error| error.to_string())?;
        let transaction = connection
            .transaction()
            .map_err(|error| error.to_string())?;
        let failed = |error: rusqlite::Error| error.to_string();
        let namespace_known = transaction
            .query_row(
                "SELECT 1 FROM namespaces WHERE name = ?1",
                [namespace],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .map_err(failed)?
            .is_some();
        let registered: Option<String> = transaction
            .query_row(
                "SELECT public_key FROM publisher_keys WHERE namespace = ?1 AND key_id = ?2",
                params![namespace, verified.key_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed)?;
        let adopted_key = sidecar.public_key.trim();
        match registered {
            Some(public_key) if public_key.trim() != sidecar.public_key.trim() => {
                return Err(format!(
                    "key {} of `{namespace}` is registered with other bytes than the key beside the blob",
                    verified.key_id
                ));
            }
            Some(_) => {}
            None if namespace_known && self.namespace_has_keys(&transaction, namespace)? => {
                return Err(format!(
                    "it is signed by key {}, which is not a publisher key of `{namespace}`: register the key, then start again with `--adopt-blobs`",
                    verified.key_id
                ));
            }
            None => {
                if !namespace_known {
                    transaction
                        .execute(
                            "INSERT INTO namespaces (name, created_at) VALUES (?1, ?2)",
                            params![namespace, now()],
                        )
                        .map_err(failed)?;
                }
                transaction
                    .execute(
                        "INSERT INTO publisher_keys (namespace, key_id, public_key, added_at)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![namespace, verified.key_id, adopted_key, now()],
                    )
                    .map_err(failed)?;
                super::log::append(
                    &transaction,
                    Event::KeyAdd {
                        namespace: namespace.to_string(),
                        key_id: verified.key_id.clone(),
                    },
                    now(),
                )
                .map_err(|error| error.to_string())?;
            }
        }
        let taken: Option<String> = transaction
            .query_row(
                "SELECT sha256 FROM versions WHERE pack = ?1 AND version = ?2",
                params![manifest.pack, manifest.version],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed)?;
        if let Some(taken) = taken {
            return Err(format!(
                "{target} is already indexed with other bytes (sha256:{taken})"
            ));
        }
        let tags = serde_json::to_string(&crate::api::publish::tags(&bundle.files))
            .map_err(|error| error.to_string())?;
        transaction
            .execute(
                "INSERT INTO packs (name, namespace, description, tags, created_at, index_sequence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET index_sequence = MAX(index_sequence + 1, ?6)",
                params![
                    manifest.pack,
                    namespace,
                    manifest.description,
                    tags,
                    sidecar.published_at,
                    // The database that counted this pack's changes was lost: clients may have
                    // seen any sequence, so the count goes on from the clock (seconds), which
                    // no count of changes reaches, and never backwards.
                    now()
                ],
            )
            .map_err(failed)?;
        let dependencies: Vec<IndexDependency> = manifest
            .dependencies
            .iter()
            .map(IndexDependency::from)
            .collect();
        transaction
            .execute(
                "INSERT INTO versions (pack, version, sha256, size, dependencies, tier,
                     signer_key_id, signature, published_at, semver)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)",
                params![
                    manifest.pack,
                    manifest.version,
                    sha256,
                    i64::try_from(bytes.len()).map_err(|error| error.to_string())?,
                    serde_json::to_string(&dependencies).map_err(|error| error.to_string())?,
                    manifest.tier,
                    verified.key_id,
                    sidecar.signature,
                    sidecar.published_at,
                ],
            )
            .map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    now(),
                    "server",
                    "version.adopt",
                    target,
                    format!(
                        "sha256:{sha256} signed by {} indexed again from its blob (--adopt-blobs)",
                        verified.key_id
                    )
                ],
            )
            .map_err(failed)?;
        // Logged as published now: the log vouches for the version from its adoption on.
        super::log::append(
            &transaction,
            Event::Publish {
                pack: manifest.pack.clone(),
                version: manifest.version.clone(),
                sha256: sha256.to_string(),
                signer: verified.key_id.clone(),
            },
            now(),
        )
        .map_err(|error| error.to_string())?;
        transaction.commit().map_err(failed)?;
        Ok(target)
    }

    fn namespace_has_keys(
        &self,
        connection: &rusqlite::Connection,
        namespace: &str,
    ) -> Result<bool, String> {
        connection
            .query_row(
                "SELECT 1 FROM publisher_keys WHERE namespace = ?1 LIMIT 1",
                [namespace],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(|error| error.to_string())
    }
}
