//! A published version as the registry serves it, for comparing versions (`diff`,
//! `semver-check`, `changelog`): the bundle whose sha256 the pack's index records, read as
//! hostile input. Its signature is not checked and nothing is written to the cache: nothing
//! from here is installed or applied, and the lockfile's trust rules (`fetch`) stay the only
//! way into the cache. A bundle already in the cache with that sha256 is used as it is.

use semver::Version;

use super::cache::{Cache, checksum_hex};
use super::fetch::download;
use super::http::Client;
use super::index::IndexSource;
use crate::bundle::{Bundle, ReadLimits, read_bundle};
use crate::workspace::read_capped;

/// Every version of `name` the registry lists (yanked ones included), unordered, with the tier
/// each was built for (`None`: the whole pack).
pub fn published_versions(
    indexes: &mut dyn IndexSource,
    registry: &str,
    name: &str,
) -> Result<Vec<(Version, Option<String>)>, String> {
    let index = indexes.index(registry, name)?;
    Ok(index
        .versions
        .iter()
        .filter_map(|version| Some((Version::parse(&version.version).ok()?, version.tier.clone())))
        .collect())
}

/// The bundle of `name` `version` on `registry`: from the cache when a copy with the index's
/// sha256 is there, else downloaded (unless `offline`). Its sha256 must equal the index's, and
/// its manifest must name that pack and version.
pub fn fetch_published(
    indexes: &mut dyn IndexSource,
    cache: &Cache,
    registry: &str,
    name: &str,
    version: &str,
    offline: bool,
) -> Result<Bundle, String> {
    let label = format!("`{name}` {version}");
    let index = indexes.index(registry, name)?;
    let Some(entry) = index.versions.iter().find(|entry| entry.version == version) else {
        let mut known: Vec<Version> = index
            .versions
            .iter()
            .filter_map(|entry| Version::parse(&entry.version).ok())
            .collect();
        known.sort();
        let known: Vec<String> = known.iter().map(Version::to_string).collect();
        return Err(format!(
            "{registry} has no version {version} of `{name}`; it has {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let hex = checksum_hex(&entry.digest)?;
    let limits = ReadLimits::default();
    let cached = cache
        .bundle_path(&entry.digest)
        .ok()
        .and_then(|path| read_capped(&path, limits.max_bundle_bytes).ok())
        .filter(|bytes| crate::digest::sha256(bytes) == entry.digest);
    let bytes = match cached {
        Some(bytes) => bytes,
        None if offline => {
            return Err(format!(
                "{label} is not in the cache and --offline forbids downloading it"
            ));
        }
        None => {
            let client = Client::new(registry)?;
            let bytes = download(&client, &format!("/blobs/sha256/{hex}"), &label)?;
            let actual = crate::digest::sha256(&bytes);
            if actual != entry.digest {
                return Err(format!(
                    "refusing {label} from {registry}: its sha256 is {actual}, but the index records {}",
                    entry.digest
                ));
            }
            bytes
        }
    };
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("{label} from {registry} is not a valid bundle: {error}"))?;
    if bundle.manifest.pack != name || bundle.manifest.version != version {
        return Err(format!(
            "refusing {label} from {registry}: the bundle is `{}` {}",
            bundle.manifest.pack, bundle.manifest.version
        ));
    }
    Ok(bundle)
}
