//! Backups of a data directory, taken while the server runs, and restoring one into a new
//! directory. A backup is one tar file: `threatpack-registry-backup.json` (what it holds), the
//! database as of one instant (`VACUUM INTO`: a consistent copy, WAL included, that never
//! blocks the server's writes for long), and every blob that copy names with its signature
//! sidecar. Blobs are immutable and only an interrupted publish's are ever removed, so the blobs
//! read after the copy are those it names. Every blob is checked against its digest on the way
//! in and on the way out; a restore writes beside the target and renames, so it lands whole or
//! not at all.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ct_codecs::{Encoder, Hex};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::store::{DATABASE_FILE, is_sha256_hex, quick_check};

/// The name of the description inside a backup.
const DESCRIPTION: &str = "threatpack-registry-backup.json";

/// The largest sidecar or description a restore reads.
const MAX_SMALL_FILE_BYTES: u64 = 64 * 1024;

/// The largest blob a restore reads (bundles are capped far below this at publish).
const MAX_BLOB_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// `threatpack-registry-backup.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Description {
    /// 1 for this layout.
    format: u32,
    /// RFC 3339, UTC.
    created_at: String,
    versions: u64,
    blobs: u64,
}

/// What a backup holds, and what it could not include.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub versions: u64,
    pub blobs: u64,
    /// Blobs the database names that were missing or damaged (left out of the backup).
    pub problems: Vec<String>,
}

/// What a restore put back.
#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub versions: u64,
    pub blobs: u64,
    /// Blobs the database names that the backup lacks (missing or damaged when it was taken).
    pub missing: Vec<String>,
}

/// A file name beside `path` no other process picks: `NAME.SUFFIX-RANDOM`.
fn beside(path: &Path, suffix: &str) -> Result<PathBuf, String> {
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).map_err(|error| format!("no random source: {error}"))?;
    let random = Hex::encode_to_string(random).map_err(|error| error.to_string())?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".to_string());
    Ok(path.with_file_name(format!(".{name}.{suffix}-{random}")))
}

/// Backs up the data directory `data` into the file `out` (replaced only once complete).
pub fn backup(data: &Path, out: &Path) -> Result<BackupSummary, String> {
    let database = data.join(DATABASE_FILE);
    if !database.is_file() {
        return Err(format!(
            "`{}` has no registry database (`{DATABASE_FILE}`): is `--data` the registry's data directory?",
            data.display()
        ));
    }
    let snapshot = beside(out, "database")?;
    let partial = beside(out, "partial")?;
    let result = write_backup(data, &database, &snapshot, &partial, out);
    let _ = fs::remove_file(&snapshot);
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

fn write_backup(
    data: &Path,
    database: &Path,
    snapshot: &Path,
    partial: &Path,
    out: &Path,
) -> Result<BackupSummary, String> {
    let failed = |error: rusqlite::Error| format!("`{}`: {error}", database.display());
    // No create flag: a wrong `--data` must not leave an empty database behind.
    let connection = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(30))
        .map_err(failed)?;
    quick_check(&connection).map_err(|problem| {
        format!(
            "`{}` is damaged ({problem}): a backup of it would be too; restore the latest good backup instead",
            database.display()
        )
    })?;
    let snapshot_text = snapshot
        .to_str()
        .ok_or_else(|| format!("`{}` is not UTF-8", snapshot.display()))?;
    connection
        .execute("VACUUM INTO ?1", [snapshot_text])
        .map_err(failed)?;
    drop(connection);

    let copy = Connection::open_with_flags(snapshot, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|error| format!("`{}`: {error}", snapshot.display()))?;
    let (versions, digests) = named_blobs(&copy)?;
    drop(copy);

    let file = fs::File::create(partial)
        .map_err(|error| format!("cannot create `{}`: {error}", partial.display()))?;
    let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
    let mut summary = BackupSummary {
        versions,
        blobs: 0,
        problems: Vec::new(),
    };
    let blob_directory = data.join("blobs");
    for sha256 in &digests {
        let path = blob_directory.join("sha256").join(sha256);
        match fs::read(&path) {
            Ok(bytes) if threatpack::digest::sha256_hex(&bytes) == *sha256 => {
                append(
                    &mut archive,
                    &format!("blobs/sha256/{sha256}"),
                    &bytes,
                    partial,
                )?;
                summary.blobs += 1;
            }
            Ok(_) => summary.problems.push(format!(
                "sha256:{sha256} is damaged (its bytes do not hash to its name)"
            )),
            Err(error) => summary
                .problems
                .push(format!("sha256:{sha256} cannot be read: {error}")),
        }
        let sidecar = blob_directory
            .join("signatures")
            .join(format!("{sha256}.json"));
        if let Ok(bytes) = fs::read(&sidecar) {
            append(
                &mut archive,
                &format!("blobs/signatures/{sha256}.json"),
                &bytes,
                partial,
            )?;
        }
    }
    // Streamed: the database may be far larger than any blob.
    let mut database_file = fs::File::open(snapshot)
        .map_err(|error| format!("cannot read `{}`: {error}", snapshot.display()))?;
    archive
        .append_file(DATABASE_FILE, &mut database_file)
        .map_err(|error| format!("cannot write `{}`: {error}", partial.display()))?;
    let description = Description {
        format: 1,
        created_at: threatpack::time::format_rfc3339(threatpack::time::now()),
        versions,
        blobs: summary.blobs,
    };
    let description = serde_json::to_vec_pretty(&description).map_err(|error| error.to_string())?;
    append(&mut archive, DESCRIPTION, &description, partial)?;
    let written = |error: std::io::Error| format!("cannot write `{}`: {error}", partial.display());
    let mut writer = archive.into_inner().map_err(written)?;
    writer.flush().map_err(written)?;
    let file = writer
        .into_inner()
        .map_err(|error| written(error.into_error()))?;
    file.sync_all().map_err(written)?;
    fs::rename(partial, out)
        .map_err(|error| format!("cannot rename to `{}`: {error}", out.display()))?;
    Ok(summary)
}

/// The number of versions and the distinct blobs they name, sorted.
fn named_blobs(connection: &Connection) -> Result<(u64, Vec<String>), String> {
    let failed = |error: rusqlite::Error| format!("the database copy: {error}");
    let versions: i64 = connection
        .query_row("SELECT COUNT(*) FROM versions", [], |row| row.get(0))
        .map_err(failed)?;
    let mut statement = connection
        .prepare("SELECT DISTINCT sha256 FROM versions ORDER BY sha256")
        .map_err(failed)?;
    let digests: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .map_err(failed)?
        .collect::<Result<_, _>>()
        .map_err(failed)?;
    if let Some(bad) = digests.iter().find(|digest| !is_sha256_hex(digest)) {
        return Err(format!(
            "the database names a blob `{bad}` that is not a sha256"
        ));
    }
    Ok((u64::try_from(versions).unwrap_or(0), digests))
}

fn append<W: Write>(
    archive: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
    partial: &Path,
) -> Result<(), String> {
    let mut header = tar::Header::new_ustar();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    archive
        .append_data(&mut header, name, bytes)
        .map_err(|error| format!("cannot write `{}`: {error}", partial.display()))
}

/// Restores the backup `file` into `data`, which must not exist or be empty.
pub fn restore(file: &Path, data: &Path) -> Result<RestoreSummary, String> {
    if data.exists() {
        let empty = fs::read_dir(data)
            .map_err(|error| format!("cannot list `{}`: {error}", data.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "`{}` is not empty: restore into a new directory, then point the registry at it (nothing was changed)",
                data.display()
            ));
        }
    }
    let staging = beside(data, "restoring")?;
    let result = unpack(file, &staging).and_then(|summary| {
        if data.exists() {
            fs::remove_dir(data)
                .map_err(|error| format!("cannot replace `{}`: {error}", data.display()))?;
        }
        fs::rename(&staging, data)
            .map_err(|error| format!("cannot rename to `{}`: {error}", data.display()))?;
        // Clients saw the sequences of the registry as it was before, higher than the backup's.
        crate::store::SqliteStore::open(data)?
            .raise_index_sequences_past(threatpack::time::now())
            .map_err(|error| format!("cannot raise the index sequences: {error}"))?;
        Ok(summary)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn unpack(file: &Path, staging: &Path) -> Result<RestoreSummary, String> {
    let blobs = staging.join("blobs/sha256");
    let signatures = staging.join("blobs/signatures");
    for directory in [&blobs, &signatures] {
        fs::create_dir_all(directory)
            .map_err(|error| format!("cannot create `{}`: {error}", directory.display()))?;
    }
    let input = fs::File::open(file)
        .map_err(|error| format!("cannot read `{}`: {error}", file.display()))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(input));
    let bad = |detail: String| format!("`{}` is not a registry backup: {detail}", file.display());
    let mut description: Option<Description> = None;
    let mut has_database = false;
    let mut blob_count = 0;
    let entries = archive.entries().map_err(|error| bad(error.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| bad(error.to_string()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad(
                "it holds something other than regular files".to_string()
            ));
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry
            .header()
            .size()
            .map_err(|error| bad(error.to_string()))?;
        if name == DESCRIPTION {
            let bytes = read_entry(&mut entry, size.min(MAX_SMALL_FILE_BYTES))
                .map_err(|error| bad(error.to_string()))?;
            let read: Description = serde_json::from_slice(&bytes)
                .map_err(|error| bad(format!("`{DESCRIPTION}`: {error}")))?;
            if read.format != 1 {
                return Err(bad(format!(
                    "format {} (this registry reads format 1)",
                    read.format
                )));
            }
            description = Some(read);
        } else if name == DATABASE_FILE {
            let target = staging.join(DATABASE_FILE);
            let mut output = fs::File::create(&target)
                .map_err(|error| format!("cannot create `{}`: {error}", target.display()))?;
            std::io::copy(&mut entry, &mut output)
                .and_then(|_| output.sync_all())
                .map_err(|error| format!("cannot write `{}`: {error}", target.display()))?;
            has_database = true;
        } else if let Some(sha256) = name
            .strip_prefix("blobs/sha256/")
            .filter(|sha256| is_sha256_hex(sha256))
        {
            if size > MAX_BLOB_BYTES {
                return Err(bad(format!("the blob sha256:{sha256} is {size} bytes")));
            }
            let bytes = read_entry(&mut entry, size).map_err(|error| bad(error.to_string()))?;
            if threatpack::digest::sha256_hex(&bytes) != sha256 {
                return Err(bad(format!(
                    "the blob sha256:{sha256} in it is damaged (its bytes do not hash to its name)"
                )));
            }
            write_synced(&blobs.join(sha256), &bytes)?;
            blob_count += 1;
        } else if let Some(sha256) = name
            .strip_prefix("blobs/signatures/")
            .and_then(|rest| rest.strip_suffix(".json"))
            .filter(|sha256| is_sha256_hex(sha256))
        {
            let bytes = read_entry(&mut entry, size.min(MAX_SMALL_FILE_BYTES))
                .map_err(|error| bad(error.to_string()))?;
            write_synced(&signatures.join(format!("{sha256}.json")), &bytes)?;
        } else {
            return Err(bad(format!("unexpected entry `{}`", name.escape_debug())));
        }
    }
    if description.is_none() || !has_database {
        return Err(bad(format!(
            "`{DESCRIPTION}` or `{DATABASE_FILE}` is missing"
        )));
    }
    let database = staging.join(DATABASE_FILE);
    let connection = Connection::open_with_flags(&database, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|error| bad(format!("its database: {error}")))?;
    quick_check(&connection)
        .map_err(|problem| bad(format!("its database is damaged ({problem})")))?;
    let (versions, digests) = named_blobs(&connection)?;
    let missing = digests
        .into_iter()
        .filter(|sha256| !blobs.join(sha256).is_file())
        .map(|sha256| format!("sha256:{sha256}"))
        .collect();
    Ok(RestoreSummary {
        versions,
        blobs: blob_count,
        missing,
    })
}

fn read_entry(entry: &mut impl Read, size: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry.take(size).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let failed = |error: std::io::Error| format!("cannot write `{}`: {error}", path.display());
    let mut file = fs::File::create(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)
}
