//! Names and identifiers: pack names, versions, item ids and qualified references.

use std::fmt;

/// Namespaces no pack may use: they collide with registry routes or would mislead users.
pub const RESERVED_NAMESPACES: &[&str] = &[
    "admin", "api", "assets", "docs", "help", "login", "logout", "new", "registry", "settings",
    "static", "www",
];

/// The longest namespace or name part.
pub const MAX_NAME_PART: usize = 64;

/// Checks a pack name `namespace/name`; the error says what is wrong.
pub fn check_pack_name(name: &str) -> Result<(), String> {
    let Some((namespace, pack)) = name.split_once('/') else {
        return Err("a pack name is `namespace/name`, with exactly one `/`".to_string());
    };
    for (part, what) in [(namespace, "namespace"), (pack, "name")] {
        check_name_part(part).map_err(|problem| format!("the {what} `{part}` {problem}"))?;
    }
    if RESERVED_NAMESPACES.contains(&namespace) {
        return Err(format!("the namespace `{namespace}` is reserved"));
    }
    Ok(())
}

fn check_name_part(part: &str) -> Result<(), &'static str> {
    if part.is_empty() {
        return Err("is empty");
    }
    if part.len() > MAX_NAME_PART {
        return Err("is longer than 64 characters");
    }
    if !part.starts_with(|character: char| character.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter");
    }
    if !part.chars().all(|character| {
        character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
    }) {
        return Err("may only contain lowercase ASCII letters, digits and `-`");
    }
    if part.ends_with('-') || part.contains("--") {
        return Err("may not end with `-` or contain `--`");
    }
    Ok(())
}

/// Parses a pack version: semver 2.0 without build metadata (a bundle is identified by name and
/// version alone, and build metadata is ignored by semver precedence).
pub fn parse_version(version: &str) -> Result<semver::Version, String> {
    let parsed = semver::Version::parse(version).map_err(|error| error.to_string())?;
    if !parsed.build.is_empty() {
        return Err("build metadata (`+...`) is not allowed in a pack version".to_string());
    }
    Ok(parsed)
}

/// The kinds of item that have ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    Entity,
    AttackPattern,
    Mitigation,
}

impl ItemKind {
    /// The name used in qualified ids and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Entity => "entity",
            ItemKind::AttackPattern => "attack-pattern",
            ItemKind::Mitigation => "mitigation",
        }
    }

    pub fn from_name(name: &str) -> Option<ItemKind> {
        [
            ItemKind::Entity,
            ItemKind::AttackPattern,
            ItemKind::Mitigation,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }

    /// "an entity", "an attack pattern", "a mitigation".
    pub fn article_name(self) -> &'static str {
        match self {
            ItemKind::Entity => "an entity",
            ItemKind::AttackPattern => "an attack pattern",
            ItemKind::Mitigation => "a mitigation",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A reference to an item: a local id (`web-api`) or qualified (`ns/pack:entity/web-api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRef<'a> {
    /// The pack named by a qualified reference; `None` for the pack holding the reference.
    pub pack: Option<&'a str>,
    pub id: &'a str,
}

/// Splits a reference of a known kind. The schema has already checked its shape; a qualified
/// reference of another kind is returned with `None`.
pub fn parse_item_ref(reference: &str, kind: ItemKind) -> Option<ItemRef<'_>> {
    match reference.split_once(':') {
        None => Some(ItemRef {
            pack: None,
            id: reference,
        }),
        Some((pack, rest)) => {
            let (found_kind, id) = rest.split_once('/')?;
            (found_kind == kind.as_str()).then_some(ItemRef {
                pack: Some(pack),
                id,
            })
        }
    }
}

/// What an override changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    Item {
        pack: &'a str,
        kind: ItemKind,
        id: &'a str,
    },
    Link {
        pack: &'a str,
        mitigation: &'a str,
        attack_pattern: &'a str,
    },
}

impl<'a> Target<'a> {
    pub fn pack(&self) -> &'a str {
        match self {
            Target::Item { pack, .. } | Target::Link { pack, .. } => pack,
        }
    }
}

/// Parses an override target `ns/pack:KIND/ID` or `ns/pack:link/MITIGATION/ATTACK-PATTERN`.
pub fn parse_target(target: &str) -> Option<Target<'_>> {
    let (pack, rest) = target.split_once(':')?;
    let mut parts = rest.split('/');
    let kind = parts.next()?;
    let first = parts.next()?;
    let second = parts.next();
    if parts.next().is_some() {
        return None;
    }
    match (kind, second) {
        ("link", Some(attack_pattern)) => Some(Target::Link {
            pack,
            mitigation: first,
            attack_pattern,
        }),
        (kind, None) => Some(Target::Item {
            pack,
            kind: ItemKind::from_name(kind)?,
            id: first,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_names() {
        for good in ["threatpack/stride-core", "a/b", "acme2/x-1-y"] {
            assert_eq!(check_pack_name(good), Ok(()), "{good}");
        }
        let cases = [
            ("nonamespace", "exactly one `/`"),
            ("a/b/c", "may only contain"),
            ("Acme/x", "must start with a lowercase letter"),
            ("acme/x_y", "may only contain"),
            ("acme/x-", "may not end with"),
            ("acme/x--y", "may not end with"),
            ("/x", "is empty"),
            ("api/x", "reserved"),
            ("1acme/x", "must start with a lowercase letter"),
        ];
        for (name, expected) in cases {
            let error = check_pack_name(name).expect_err(name);
            assert!(error.contains(expected), "{name}: {error}");
        }
        let long = format!("acme/{}", "a".repeat(65));
        assert!(check_pack_name(&long).expect_err("too long").contains("64"));
    }

    #[test]
    fn versions() {
        assert!(parse_version("1.2.3-rc.1").is_ok());
        assert!(parse_version("1.2").is_err());
        assert!(
            parse_version("1.2.3+build.5")
                .expect_err("build")
                .contains("build metadata")
        );
    }

    #[test]
    fn references_and_targets() {
        assert_eq!(
            parse_item_ref("a/b:entity/web", ItemKind::Entity),
            Some(ItemRef {
                pack: Some("a/b"),
                id: "web"
            })
        );
        assert_eq!(parse_item_ref("a/b:mitigation/web", ItemKind::Entity), None);
        assert_eq!(
            parse_target("a/b:link/m/ap"),
            Some(Target::Link {
                pack: "a/b",
                mitigation: "m",
                attack_pattern: "ap"
            })
        );
        assert_eq!(
            parse_target("a/b:attack-pattern/x"),
            Some(Target::Item {
                pack: "a/b",
                kind: ItemKind::AttackPattern,
                id: "x"
            })
        );
        assert_eq!(parse_target("a/b:thing/x"), None);
    }
}
