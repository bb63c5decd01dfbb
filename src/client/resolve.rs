//! Choosing the registry packs of a lockfile: for every requirement, transitively, the
//! highest non-yanked version that matches (semver's rules: a pre-release only matches a
//! requirement that names a pre-release of the same version); a version already locked is
//! kept while it still matches, even when yanked since. One version of each pack, as in a
//! build. A version's tier is part of what is resolved: a requirement only matches versions
//! built for the tier it asks for (`tier = "top"`; none asks for the whole pack), and a pack's
//! own dependencies keep the tier of the bundle it was built against. Then the signer of each
//! chosen version must be trusted: by the project's `[trust]`, else by the keys the lockfile
//! recorded, else — first use — by the registry's key list (a key whose id is not its own
//! bytes' is refused), recorded in the lockfile from then on.
//!
//! What an index says is checked before it is used: a version the lockfile pins must keep its
//! digest (for `lock` and `update` alike), digests and key ids must be well formed, and a
//! version whose signer's key was removed is not chosen anew. The dependencies an index lists
//! are only a guide: `ops::lock` checks them against each bundle's signed manifest
//! ([`Resolution::listed`]) before the lockfile is written.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use semver::{Version, VersionReq};

use super::index::{IndexDependency, IndexSource, IndexVersion};
use super::log::LoggedVersion;
use crate::lockfile::{LockedKey, LockedPack, Lockfile, namespace_of};
use crate::project::ConfiguredKey;
use crate::render::visible;

/// A requirement of the pack or project being locked (or of a pack on disk it depends on).
#[derive(Debug, Clone)]
pub struct RootRequirement {
    pub name: String,
    pub requirement: String,
    /// The tier asked for (`tier = "top"` in the dependency); `None`: the whole pack.
    pub tier: Option<String>,
    /// Who declares it, for messages: "`acme/web` 1.0.0 (packs/web)".
    pub declared_by: String,
}

/// Which locked versions may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// Keep every locked version that still matches (`lock`).
    Nothing,
    /// Choose everything again (`update`).
    All,
    /// Choose these packs again (`update NAME…`).
    Packs(BTreeSet<String>),
}

pub struct LockRequest<'a> {
    pub registry: &'a str,
    pub requirements: &'a [RootRequirement],
    pub previous: Option<&'a Lockfile>,
    pub unlock: &'a Unlock,
    pub configured: &'a [ConfiguredKey],
}

/// A new lockfile, and what the user should know about it.
#[derive(Debug)]
pub struct Resolution {
    pub lock: Lockfile,
    pub notes: Vec<String>,
    /// The dependencies the index lists for each chosen pack, by name: resolution followed
    /// them, so each must equal its bundle's signed manifest.
    pub listed: BTreeMap<String, Vec<IndexDependency>>,
}

struct Chosen {
    version: Version,
    entry: IndexVersion,
    chain: String,
}

/// The tier a requirement is resolved in.
enum WantedTier {
    /// Asked for by a root requirement (`None`: the whole pack).
    Named(Option<String>),
    /// A dependency of a published version: the tier of the bundle it was built against
    /// (`sha256:HEX`), the whole pack if the registry does not list that bundle.
    BuiltAgainst(String),
}

/// How a tier is named in messages.
fn tier_label(tier: Option<&str>) -> String {
    format!("tier {}", tier.unwrap_or("all"))
}

pub fn resolve_lock(
    request: &LockRequest<'_>,
    indexes: &mut dyn IndexSource,
) -> Result<Resolution, String> {
    let mut notes = Vec::new();
    let mut chosen: BTreeMap<String, Chosen> = BTreeMap::new();
    let mut queue: VecDeque<(String, String, String, WantedTier)> = request
        .requirements
        .iter()
        .map(|root| {
            (
                root.name.clone(),
                root.requirement.clone(),
                root.declared_by.clone(),
                WantedTier::Named(root.tier.clone()),
            )
        })
        .collect();
    while let Some((name, requirement_text, declared_by, wanted)) = queue.pop_front() {
        let requirement = VersionReq::parse(&requirement_text).map_err(|error| {
            format!("{declared_by} requires `{name}` \"{requirement_text}\", which is not a version requirement: {error}")
        })?;
        let index = indexes.index(request.registry, &name)?;
        let tier = match wanted {
            WantedTier::Named(tier) => tier,
            WantedTier::BuiltAgainst(digest) => index
                .versions
                .iter()
                .find(|entry| entry.digest == digest)
                .and_then(|entry| entry.tier.clone()),
        };
        let chain = match &tier {
            Some(tier) => {
                format!("{declared_by} requires `{name}` {requirement_text} (tier {tier})")
            }
            None => format!("{declared_by} requires `{name}` {requirement_text}"),
        };
        if let Some(choice) = chosen.get(&name) {
            if !requirement.matches(&choice.version) {
                return Err(format!(
                    "{chain}, but {}, which chose {}: one version of each pack is used; make the requirements agree",
                    choice.chain, choice.version
                ));
            }
            if choice.entry.tier != tier {
                return Err(format!(
                    "{chain}, but {}, which chose {} built for {}: one version of each pack is used, in one tier; make the requirements agree",
                    choice.chain,
                    choice.version,
                    tier_label(choice.entry.tier.as_deref())
                ));
            }
            continue;
        }
        let previously = request
            .previous
            .and_then(|lock| lock.pack(&name))
            .filter(|locked| locked.registry == request.registry);
        // Whether or not it may move, a pinned version must not have changed.
        if let Some(pinned) = previously
            && let Some(entry) = index
                .versions
                .iter()
                .find(|entry| entry.version == pinned.version)
            && entry.digest != pinned.checksum
        {
            return Err(format!(
                "{} lists `{name}` {} with sha256 {}, but threatpack.lock records {}: a published version never changes, so the registry (or the lockfile) was altered; find out which before going on",
                request.registry,
                pinned.version,
                visible(&entry.digest),
                pinned.checksum
            ));
        }
        let locked = previously.filter(|_| match request.unlock {
            Unlock::Nothing => true,
            Unlock::All => false,
            Unlock::Packs(names) => !names.contains(&name),
        });
        let mut candidates: Vec<(Version, &IndexVersion)> = index
            .versions
            .iter()
            .filter_map(|entry| Some((Version::parse(&entry.version).ok()?, entry)))
            .filter(|(version, _)| requirement.matches(version))
            .collect();
        candidates.sort_by(|a, b| b.0.cmp(&a.0));
        // Versions built for another tier match no requirement: never switched to silently.
        let other_tiers: Vec<String> = candidates
            .iter()
            .filter(|(_, entry)| entry.tier != tier)
            .map(|(version, entry)| format!("{version} ({})", tier_label(entry.tier.as_deref())))
            .collect();
        candidates.retain(|(_, entry)| entry.tier == tier);
        // The tier the index lists for the locked version (a lockfile written before tiers were
        // recorded does not say).
        let locked_tier = locked.and_then(|locked| {
            index
                .versions
                .iter()
                .find(|entry| entry.version == locked.version && entry.digest == locked.checksum)
                .map(|entry| entry.tier.clone())
        });
        if let (Some(locked), Some(locked_tier)) = (locked, locked_tier)
            && locked_tier != tier
        {
            notes.push(format!(
                "`{name}` {} was locked for {}; the requirement asks for {}, so it is chosen again",
                locked.version,
                tier_label(locked_tier.as_deref()),
                tier_label(tier.as_deref())
            ));
        }
        let kept = locked.and_then(|locked| {
            candidates
                .iter()
                .find(|(version, _)| version.to_string() == locked.version)
                .map(|candidate| (locked, candidate))
        });
        let (version, entry) = match kept {
            Some((_, (version, entry))) => {
                if entry.yanked {
                    notes.push(format!(
                        "`{name}` {version} is yanked ({}); it stays locked: run `threatpack update {name}` to move off it",
                        visible(entry.yank_reason.as_deref().unwrap_or("no reason given"))
                    ));
                }
                if entry.signer_key_removed {
                    notes.push(format!(
                        "`{name}` {version} is signed by key {}, which its publisher has removed; it stays locked: run `threatpack update {name}` to move off it",
                        visible(&entry.signer_key_id)
                    ));
                }
                (version.clone(), (*entry).clone())
            }
            None => match candidates
                .iter()
                .find(|(_, entry)| !entry.yanked && !entry.signer_key_removed)
            {
                Some((version, entry)) => (version.clone(), (*entry).clone()),
                None => {
                    return Err(no_match(
                        &chain,
                        &name,
                        request.registry,
                        &candidates,
                        &index.versions,
                        &other_tiers,
                    ));
                }
            },
        };
        check_entry(&name, &entry, request.registry)?;
        for dependency in &entry.dependencies {
            queue.push_back((
                dependency.name.clone(),
                dependency.requirement.clone(),
                format!("`{name}` {version}"),
                WantedTier::BuiltAgainst(dependency.digest.clone()),
            ));
        }
        chosen.insert(
            name,
            Chosen {
                version,
                entry,
                chain,
            },
        );
    }

    let mut lock = Lockfile::new();
    let listed = chosen
        .iter()
        .map(|(name, choice)| (name.clone(), choice.entry.dependencies.clone()))
        .collect();
    for (name, choice) in &chosen {
        let namespace = namespace_of(name);
        let signer = &choice.entry.signer_key_id;
        let key = trusted_key(request, indexes, namespace, name, choice, &mut notes)?;
        if !lock.keys.contains(&key) {
            lock.keys.push(key);
        }
        let log_index = indexes.check_logged(
            request.registry,
            &LoggedVersion {
                name,
                version: &choice.entry.version,
                digest: &choice.entry.digest,
                signer,
                log_index: choice.entry.log_index,
                signer_key_removed_log_index: choice.entry.signer_key_removed_log_index,
            },
        )?;
        lock.packs.push(LockedPack {
            log_index,
            name: name.clone(),
            version: choice.version.to_string(),
            registry: request.registry.to_string(),
            checksum: choice.entry.digest.clone(),
            signer: signer.clone(),
            tier: choice.entry.tier.clone(),
            dependencies: choice
                .entry
                .dependencies
                .iter()
                .filter_map(|dependency| {
                    chosen
                        .get(&dependency.name)
                        .map(|dep| format!("{} {}", dependency.name, dep.version))
                })
                .collect(),
        });
    }
    // Keys recorded earlier for namespaces still in use stay (a rotation keeps working).
    if let Some(previous) = request.previous {
        for key in &previous.keys {
            let in_use = chosen
                .keys()
                .any(|name| namespace_of(name) == key.namespace);
            if in_use && key.trusted == "first-use" && !lock.keys.contains(key) {
                lock.keys.push(key.clone());
            }
        }
    }
    // Normalize the order the way `render` writes it, so equal locks compare equal.
    lock.keys
        .sort_by(|a, b| (&a.namespace, &a.id).cmp(&(&b.namespace, &b.id)));
    Ok(Resolution {
        lock,
        notes,
        listed,
    })
}

/// An index entry's digest and signer are what they claim to be shaped like: they go into
/// threatpack.lock, file names and messages.
fn check_entry(name: &str, entry: &IndexVersion, registry: &str) -> Result<(), String> {
    super::cache::checksum_hex(&entry.digest).map_err(|_| {
        format!(
            "{registry} lists `{name}` {} with a malformed digest `{}`: refusing the index",
            visible(&entry.version),
            visible(&entry.digest)
        )
    })?;
    if !is_key_id(&entry.signer_key_id) {
        return Err(format!(
            "{registry} lists `{name}` {} as signed by `{}`, which is not a key id (16 hex digits): refusing the index",
            visible(&entry.version),
            visible(&entry.signer_key_id)
        ));
    }
    Ok(())
}

fn is_key_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The key that makes the signer of `choice` trusted, or why it is not.
fn trusted_key(
    request: &LockRequest<'_>,
    indexes: &mut dyn IndexSource,
    namespace: &str,
    name: &str,
    choice: &Chosen,
    notes: &mut Vec<String>,
) -> Result<LockedKey, String> {
    let signer = &choice.entry.signer_key_id;
    let configured: Vec<&ConfiguredKey> = request
        .configured
        .iter()
        .filter(|key| key.namespace == namespace)
        .collect();
    if !configured.is_empty() {
        return configured
            .iter()
            .find(|key| &key.id == signer)
            .map(|key| LockedKey {
                namespace: namespace.to_string(),
                id: key.id.clone(),
                public_key: key.public_key.clone(),
                trusted: "configured".to_string(),
            })
            .ok_or_else(|| {
                format!(
                    "`{name}` {} is signed by key {signer}, but [trust] lists only {} for `{namespace}`: if the publisher really uses {signer}, verify it with them and add it to [trust]",
                    choice.version,
                    ids(configured.iter().map(|key| key.id.as_str()))
                )
            });
    }
    let recorded: Vec<&LockedKey> = request
        .previous
        .map(|lock| lock.keys_of(namespace).collect())
        .unwrap_or_default();
    if !recorded.is_empty() {
        return recorded
            .iter()
            .find(|key| &key.id == signer)
            .map(|key| (*key).clone())
            .ok_or_else(|| {
                format!(
                    "`{name}` {} is signed by key {signer}, but threatpack.lock trusts only {} for `{namespace}`: a new publisher key may be a rotation or an attack; verify {signer} with the publisher, then add it to [trust] in threatpack.toml (or delete the `{namespace}` [[key]] entries of threatpack.lock to trust the registry's keys again)",
                    choice.version,
                    ids(recorded.iter().map(|key| key.id.as_str()))
                )
            });
    }
    let listed = indexes.keys(request.registry, namespace)?;
    let key = listed
        .into_iter()
        .find(|key| &key.key_id == signer)
        .ok_or_else(|| {
            format!(
                "`{name}` {} is signed by key {signer}, which {} does not list as a publisher key of `{namespace}`: refusing it",
                choice.version, request.registry
            )
        })?;
    // The id a registry lists must be the id of the bytes it lists: else a lockfile would record
    // a key under another key's name.
    let parsed = crate::signing::parse_public_keys(&key.public_key);
    if !matches!(&parsed.as_deref(), Ok([only]) if only.key_id == key.key_id) {
        return Err(format!(
            "{} lists key {signer} of `{namespace}` with bytes that are {}: refusing to trust it",
            request.registry,
            match &parsed.as_deref() {
                Ok([only]) => format!("key {}", visible(&only.key_id)),
                Ok(_) => "not exactly one key".to_string(),
                Err(error) => format!("not a minisign public key ({})", visible(error)),
            }
        ));
    }
    notes.push(format!(
        "trusting key {signer} for `{namespace}` on first use (as listed by {}); it is recorded in threatpack.lock",
        request.registry
    ));
    Ok(LockedKey {
        namespace: namespace.to_string(),
        id: key.key_id,
        public_key: key.public_key,
        trusted: "first-use".to_string(),
    })
}

fn ids<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

fn no_match(
    chain: &str,
    name: &str,
    registry: &str,
    matching: &[(Version, &IndexVersion)],
    all: &[IndexVersion],
    other_tiers: &[String],
) -> String {
    if matching.is_empty() && !other_tiers.is_empty() {
        return format!(
            "{chain}, but only versions built for another tier match ({}): a dependency gets the tier it asks for (`tier = \"NAME\"` in the dependency, none for the whole pack), never another one",
            other_tiers.join(", ")
        );
    }
    if !matching.is_empty() {
        let unusable: Vec<String> = matching
            .iter()
            .map(|(version, entry)| {
                if entry.yanked {
                    format!("{version} yanked")
                } else {
                    format!("{version} signed by a removed key")
                }
            })
            .collect();
        return format!(
            "{chain}, but no matching version is usable ({}): a yanked version, or one signed by a key its publisher removed, is only used when already locked; ask the publisher, or change the requirement",
            unusable.join(", ")
        );
    }
    let available: Vec<&str> = all
        .iter()
        .filter(|entry| !entry.yanked)
        .map(|entry| entry.version.as_str())
        .collect();
    if available.is_empty() {
        format!("{chain}, but {registry} has no usable version of `{name}`")
    } else {
        format!(
            "{chain}, but no version on {registry} matches (available: {}); change the requirement",
            available.join(", ")
        )
    }
}

/// Whether `lock` already answers every requirement, transitively, with nothing to ask the
/// registry: then commands use it as it is, offline.
pub fn lock_satisfies(lock: &Lockfile, registry: &str, requirements: &[RootRequirement]) -> bool {
    // A root requirement, or (`None`) a locked pack's dependency, which it already pins.
    let mut needed: Vec<(String, Option<&RootRequirement>)> = requirements
        .iter()
        .map(|root| (root.name.clone(), Some(root)))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some((name, root)) = needed.pop() {
        let Some(locked) = lock.pack(&name) else {
            return false;
        };
        if locked.registry != registry {
            return false;
        }
        if let Some(root) = root {
            if locked.tier != root.tier {
                return false;
            }
            let matches = VersionReq::parse(&root.requirement)
                .ok()
                .zip(Version::parse(&locked.version).ok())
                .is_some_and(|(requirement, version)| requirement.matches(&version));
            if !matches {
                return false;
            }
        }
        if seen.insert(name.clone()) {
            for dependency in &locked.dependencies {
                let dependency_name = dependency.split(' ').next().unwrap_or_default();
                needed.push((dependency_name.to_string(), None));
            }
        }
    }
    lock.packs.iter().all(|pack| seen.contains(&pack.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::index::{Index, IndexDependency, PublisherKey};

    /// Indexes given as data: the resolver is a pure function of what the registry lists.
    struct Listed(Vec<Index>);

    /// The publisher key every listed version is signed by.
    fn publisher() -> &'static crate::signing::GeneratedKey {
        static KEY: std::sync::OnceLock<crate::signing::GeneratedKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| crate::signing::generate_key(None).expect("a key"))
    }

    /// The base64 line of a public key file.
    fn key_line(public: &str) -> String {
        public
            .lines()
            .find(|line| line.starts_with("RW"))
            .expect("a key line")
            .to_string()
    }

    impl IndexSource for Listed {
        fn index(&mut self, _: &str, name: &str) -> Result<Index, String> {
            self.0
                .iter()
                .find(|index| index.name == name)
                .cloned()
                .ok_or_else(|| format!("no pack `{name}`"))
        }
        fn keys(&mut self, _: &str, _: &str) -> Result<Vec<PublisherKey>, String> {
            Ok(vec![PublisherKey {
                added_at: "2026-05-01T12:00:00Z".into(),
                key_id: publisher().key_id.clone(),
                public_key: key_line(&publisher().public),
            }])
        }
        fn check_logged(
            &mut self,
            _: &str,
            version: &LoggedVersion<'_>,
        ) -> Result<Option<u64>, String> {
            // The resolver's choices are tested here; the log's checks against the real
            // registry (tests/it/registry_log.rs).
            Ok(version.log_index)
        }
    }

    fn version(version: &str, digest: char, dependencies: &[(&str, &str)]) -> IndexVersion {
        IndexVersion {
            deprecated: None,
            version: version.into(),
            digest: format!("sha256:{}", digest.to_string().repeat(64)),
            dependencies: dependencies
                .iter()
                .map(|(name, requirement)| IndexDependency {
                    digest: String::new(),
                    name: (*name).into(),
                    requirement: (*requirement).into(),
                    source: String::new(),
                    version: String::new(),
                })
                .collect(),
            published_at: "2026-05-01T12:00:00Z".into(),
            log_index: None,
            semver: None,
            size: 0,
            tier: None,
            signer_key_id: publisher().key_id.clone(),
            signer_key_removed: false,
            signer_key_removed_log_index: None,
            yanked: false,
            yank_reason: None,
        }
    }

    fn registry() -> Listed {
        Listed(vec![
            Index {
                name: "a/policy".into(),
                versions: vec![version("1.0.0", 'a', &[("v/base", "^1.0")])],
            },
            Index {
                name: "v/base".into(),
                versions: vec![
                    version("1.4.0", 'b', &[]),
                    version("2.0.0", 'c', &[]),
                    version("2.1.0-rc.1", 'd', &[]),
                ],
            },
        ])
    }

    fn requirement(name: &str, requirement: &str) -> RootRequirement {
        RootRequirement {
            name: name.into(),
            requirement: requirement.into(),
            tier: None,
            declared_by: "the project `shop`".into(),
        }
    }

    fn lock(
        requirements: &[RootRequirement],
        previous: Option<&Lockfile>,
    ) -> Result<Resolution, String> {
        resolve(requirements, previous, &Unlock::Nothing, &mut registry())
    }

    fn resolve(
        requirements: &[RootRequirement],
        previous: Option<&Lockfile>,
        unlock: &Unlock,
        source: &mut dyn IndexSource,
    ) -> Result<Resolution, String> {
        resolve_lock(
            &LockRequest {
                registry: "http://r",
                requirements,
                previous,
                unlock,
                configured: &[],
            },
            source,
        )
    }

    #[test]
    fn requirements_that_disagree_name_both_chains() {
        let error = lock(
            &[requirement("v/base", "^2"), requirement("a/policy", "1")],
            None,
        )
        .expect_err("conflict");
        assert!(
            error.contains("`a/policy` 1.0.0 requires `v/base` ^1.0")
                && error.contains("the project `shop` requires `v/base` ^2, which chose 2.0.0"),
            "{error}"
        );
    }

    #[test]
    fn pre_releases_are_chosen_only_when_asked_for() {
        let chosen = |text: &str| {
            let resolution = lock(&[requirement("v/base", text)], None).expect("resolves");
            resolution.lock.packs[0].version.clone()
        };
        assert_eq!(chosen(">=2"), "2.0.0");
        assert_eq!(chosen(">=2.1.0-rc.1"), "2.1.0-rc.1");
    }

    #[test]
    fn a_locked_version_whose_digest_changed_on_the_registry_stops_resolution() {
        let mut previous = lock(&[requirement("v/base", "^1")], None)
            .expect("resolves")
            .lock;
        previous.packs[0].checksum = format!("sha256:{}", "e".repeat(64));
        let error = lock(&[requirement("v/base", "^1")], Some(&previous)).expect_err("altered");
        assert!(error.contains("was altered"), "{error}");
        // `update` refuses it exactly as `lock` does, though it may move off the version.
        for unlock in [
            Unlock::All,
            Unlock::Packs(BTreeSet::from(["v/base".to_string()])),
        ] {
            let error = resolve(
                &[requirement("v/base", "^1")],
                Some(&previous),
                &unlock,
                &mut registry(),
            )
            .expect_err("altered");
            assert!(error.contains("was altered"), "{error}");
        }
    }

    #[test]
    fn a_version_whose_signer_was_removed_is_kept_when_locked_and_never_chosen_anew() {
        let mut source = registry();
        let base = &mut source.0[1].versions;
        base.insert(1, version("1.5.0", 'e', &[]));
        base[1].signer_key_removed = true;
        let chosen = resolve(
            &[requirement("v/base", "^1")],
            None,
            &Unlock::Nothing,
            &mut source,
        )
        .expect("resolves");
        assert_eq!(chosen.lock.packs[0].version, "1.4.0");
        let mut previous = chosen.lock;
        previous.packs[0].version = "1.5.0".into();
        previous.packs[0].checksum = format!("sha256:{}", "e".repeat(64));
        let kept = resolve(
            &[requirement("v/base", "^1")],
            Some(&previous),
            &Unlock::Nothing,
            &mut source,
        )
        .expect("resolves");
        assert_eq!(kept.lock.packs[0].version, "1.5.0");
        assert!(
            kept.notes.iter().any(|note| note.contains("removed")),
            "{:?}",
            kept.notes
        );
    }

    /// A registry whose key list names the publisher's key id with another key's bytes.
    struct Misnamed(Listed);

    impl IndexSource for Misnamed {
        fn index(&mut self, registry: &str, name: &str) -> Result<Index, String> {
            self.0.index(registry, name)
        }
        fn keys(&mut self, _: &str, _: &str) -> Result<Vec<PublisherKey>, String> {
            let other = crate::signing::generate_key(None).expect("a key");
            Ok(vec![PublisherKey {
                added_at: "2026-05-01T12:00:00Z".into(),
                key_id: publisher().key_id.clone(),
                public_key: key_line(&other.public),
            }])
        }
        fn check_logged(
            &mut self,
            registry: &str,
            version: &LoggedVersion<'_>,
        ) -> Result<Option<u64>, String> {
            self.0.check_logged(registry, version)
        }
    }

    #[test]
    fn a_key_listed_under_another_keys_id_is_not_trusted_on_first_use() {
        let error = resolve(
            &[requirement("v/base", "^1")],
            None,
            &Unlock::Nothing,
            &mut Misnamed(registry()),
        )
        .expect_err("refused");
        assert!(error.contains("refusing to trust it"), "{error}");
    }

    #[test]
    fn a_malformed_digest_or_signer_in_an_index_is_refused() {
        let mut source = registry();
        source.0[1].versions[0].digest = "sha256:\u{1b}]0;x".into();
        let error = resolve(
            &[requirement("v/base", "^1")],
            None,
            &Unlock::Nothing,
            &mut source,
        )
        .expect_err("refused");
        assert!(
            error.contains("malformed digest") && !error.contains('\u{1b}'),
            "{error}"
        );
    }

    /// A registry where `v/base` is published for the whole pack and for tier `top`, and
    /// `a/policy` was built against the `top` bundle.
    fn tiered_registry() -> Listed {
        let tiered = |version: &str, digest: char, tier: Option<&str>| IndexVersion {
            tier: tier.map(str::to_string),
            ..self::version(version, digest, &[])
        };
        let mut policy = version("1.0.0", 'a', &[("v/base", "^1.0")]);
        policy.dependencies[0].digest = format!("sha256:{}", "f".repeat(64));
        Listed(vec![
            Index {
                name: "a/policy".into(),
                versions: vec![policy],
            },
            Index {
                name: "v/base".into(),
                versions: vec![
                    tiered("1.0.0", 'b', None),
                    tiered("1.0.1", 'f', Some("top")),
                    tiered("1.0.2", 'c', None),
                ],
            },
        ])
    }

    fn tiered_lock(requirements: &[RootRequirement]) -> Result<Resolution, String> {
        resolve_lock(
            &LockRequest {
                registry: "http://r",
                requirements,
                previous: None,
                unlock: &Unlock::Nothing,
                configured: &[],
            },
            &mut tiered_registry(),
        )
    }

    fn with_tier(mut requirement: RootRequirement, tier: &str) -> RootRequirement {
        requirement.tier = Some(tier.into());
        requirement
    }

    /// Issue 13: a `^1.0` consumer never gets a version built for another tier.
    #[test]
    fn a_requirement_resolves_only_to_versions_of_the_tier_it_asks_for() {
        let chosen = |requirement: RootRequirement| {
            let lock = tiered_lock(&[requirement]).expect("resolves").lock;
            (lock.packs[0].version.clone(), lock.packs[0].tier.clone())
        };
        assert_eq!(
            chosen(requirement("v/base", "^1.0")),
            ("1.0.2".into(), None)
        );
        assert_eq!(
            chosen(with_tier(requirement("v/base", "^1.0"), "top")),
            ("1.0.1".into(), Some("top".into()))
        );
        let error = tiered_lock(&[requirement("v/base", "=1.0.1")]).expect_err("other tier");
        assert!(
            error.contains("only versions built for another tier match (1.0.1 (tier top))"),
            "{error}"
        );
        let lock = tiered_lock(&[requirement("v/base", "^1.0")])
            .expect("resolves")
            .lock;
        let top = [with_tier(requirement("v/base", "^1.0"), "top")];
        assert!(
            !lock_satisfies(&lock, "http://r", &top),
            "a lock of another tier does not answer the requirement"
        );
    }

    /// A lockfile written before tiers were recorded, pinning a `top` version under a
    /// requirement that asks for none: chosen again, and said.
    #[test]
    fn a_locked_version_of_another_tier_is_chosen_again_with_a_note() {
        let mut previous = tiered_lock(&[with_tier(requirement("v/base", "^1.0"), "top")])
            .expect("resolves")
            .lock;
        previous.packs[0].tier = None;
        let resolution = resolve_lock(
            &LockRequest {
                registry: "http://r",
                requirements: &[requirement("v/base", "^1.0")],
                previous: Some(&previous),
                unlock: &Unlock::Nothing,
                configured: &[],
            },
            &mut tiered_registry(),
        )
        .expect("resolves");
        assert_eq!(resolution.lock.packs[0].version, "1.0.2");
        assert!(
            resolution
                .notes
                .iter()
                .any(|note| note.contains("1.0.1 was locked for tier top")),
            "{:?}",
            resolution.notes
        );
    }

    #[test]
    fn a_dependency_of_a_published_version_keeps_the_tier_it_was_built_against() {
        let lock = tiered_lock(&[requirement("a/policy", "^1")])
            .expect("resolves")
            .lock;
        let base = lock.pack("v/base").expect("locked");
        assert_eq!(
            (base.version.as_str(), base.tier.as_deref()),
            ("1.0.1", Some("top"))
        );
        let error = tiered_lock(&[requirement("a/policy", "^1"), requirement("v/base", "^1")])
            .expect_err("two tiers of one pack");
        assert!(error.contains("in one tier"), "{error}");
    }
}
