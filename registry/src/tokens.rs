//! API tokens: random secrets shown once and stored as their sha256, each with scopes, the
//! packs it may touch (patterns such as `acme/*`) and an expiry; listed and revoked by id.

use ct_codecs::{Encoder, Hex};

/// The prefix of every token, so that a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "tpr_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Publish,
    Yank,
    ManageKeys,
    /// Push threat-model reports for the projects its patterns match (`acme/*`, `acme/shop`).
    Report,
    /// Read the portfolio and the stored models of the projects its patterns match.
    Portfolio,
    /// Everything, in every namespace; also creating namespaces.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Publish,
        Scope::Yank,
        Scope::ManageKeys,
        Scope::Report,
        Scope::Portfolio,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Publish => "publish",
            Scope::Yank => "yank",
            Scope::ManageKeys => "manage-keys",
            Scope::Report => "report",
            Scope::Portfolio => "portfolio",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| {
                format!("unknown scope `{text}` (scopes: publish, yank, manage-keys, report, portfolio, admin)")
            })
    }
}

/// Parses `publish,yank`.
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>, String> {
    let scopes = text
        .split(',')
        .map(str::trim)
        .filter(|scope| !scope.is_empty())
        .map(Scope::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err("no scope given".to_string());
    }
    Ok(scopes)
}

/// The longest a token may live: a token is a secret that leaks sooner or later, so every one
/// expires and is replaced (`threatpack-registry token create`).
/// (Migration 3 of the store gives the same bound to tokens made before every token expired.)
pub const MAX_EXPIRY_SECONDS: i64 = 366 * 86_400;

/// How long the first admin token lives: long enough to set the registry up and create the
/// tokens people use, no longer.
pub const FIRST_ADMIN_TOKEN_SECONDS: i64 = 30 * 86_400;

/// Parses pack patterns: `acme/*,vendor/web`. Each is checked (`check_pattern`).
pub fn parse_patterns(text: &str) -> Result<Vec<String>, String> {
    let patterns: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|pattern| !pattern.is_empty())
        .map(str::to_string)
        .collect();
    if patterns.is_empty() {
        return Err("no pack pattern given (`*` for every pack)".to_string());
    }
    for pattern in &patterns {
        check_pattern(pattern)?;
    }
    Ok(patterns)
}

/// A pack pattern is one of three forms, checked like pack names: `*` (every pack),
/// `namespace/*` (every pack of one namespace) or `namespace/name` (one pack). Nothing else: a
/// `*` inside a name (`acme*` would cover `acmecorp`) or a path (`ACME/../*`) is refused.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern == "*" {
        return Ok(());
    }
    let checked = match pattern.strip_suffix("/*") {
        Some(namespace) => threatpack::names::check_pack_name(&format!("{namespace}/x")),
        None => threatpack::names::check_pack_name(pattern),
    };
    checked.map_err(|problem| {
        format!(
            "`{}` is not a pack pattern ({problem}): use `*`, `namespace/*` or `namespace/name`",
            pattern.escape_debug()
        )
    })
}

/// Parses an expiry: `30d`, `12h` or `45m`, at most 366 days. Returns seconds.
pub fn parse_expiry(text: &str) -> Result<i64, String> {
    let invalid =
        || format!("invalid expiry `{text}`: expected e.g. `30d`, `12h` or `45m`, at most `366d`");
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        _ => return Err(invalid()),
    };
    if number <= 0 {
        return Err(invalid());
    }
    number
        .checked_mul(seconds)
        .filter(|seconds| *seconds <= MAX_EXPIRY_SECONDS)
        .ok_or_else(invalid)
}

/// A new random token: the prefix and 32 random bytes in hex.
pub fn generate_token() -> Result<String, String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|error| format!("no random source: {error}"))?;
    let hex = Hex::encode_to_string(secret).map_err(|error| error.to_string())?;
    Ok(format!("{TOKEN_PREFIX}{hex}"))
}

/// What the store keeps of a token: its sha256, so a stolen database reveals no token.
pub fn hash_token(token: &str) -> String {
    threatpack::digest::sha256_hex(token.as_bytes())
}

/// Whether `pattern` (`*`, `namespace/*` or `namespace/name`) covers `target`: a pack
/// `namespace/name`, or `namespace/*` for the namespace itself (its keys). A pattern that is not
/// one of the three forms (stored before they were checked) covers nothing.
pub fn pattern_matches(pattern: &str, target: &str) -> bool {
    if check_pattern(pattern).is_err() {
        return false;
    }
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(namespace) => target
            .split_once('/')
            .is_some_and(|(target_namespace, _)| target_namespace == namespace),
        None => pattern == target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for (pattern, text, expected) in [
            ("*", "acme/web", true),
            ("acme/*", "acme/web", true),
            ("acme/*", "acme/*", true),
            ("acme/*", "acmex/web", false),
            ("acme/web", "acme/web", true),
            ("acme/web", "acme/webs", false),
            ("acme/web", "acme/*", false),
            // Stored before patterns were checked: they cover nothing.
            ("acme*", "acmecorp/web", false),
            ("a*/w*b", "acme/web", false),
            ("ACME/../*", "acme/web", false),
        ] {
            assert_eq!(pattern_matches(pattern, text), expected, "{pattern} {text}");
        }
    }

    #[test]
    fn only_the_three_forms_of_pattern_are_accepted() {
        assert_eq!(
            parse_patterns("acme/*, vendor/web,*"),
            Ok(vec!["acme/*".into(), "vendor/web".into(), "*".into()])
        );
        for bad in [
            "acme*",
            "ACME/../*",
            "acme/w*",
            "acme",
            "acme/*/*",
            "*/web",
            "acme/web\u{1b}]0;x",
        ] {
            assert!(parse_patterns(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry("30d"), Ok(30 * 86_400));
        assert_eq!(parse_expiry("2h"), Ok(7_200));
        assert_eq!(parse_expiry("366d"), Ok(MAX_EXPIRY_SECONDS));
        assert!(parse_expiry("367d").is_err());
        assert!(parse_expiry("never").is_err());
        assert!(parse_expiry("0d").is_err());
        assert!(parse_expiry("d").is_err());
        assert!(parse_expiry("3w").is_err());
    }

    #[test]
    fn scopes() {
        assert_eq!(
            parse_scopes("publish, manage-keys"),
            Ok(vec![Scope::Publish, Scope::ManageKeys])
        );
        assert_eq!(
            parse_scopes("report,portfolio"),
            Ok(vec![Scope::Report, Scope::Portfolio])
        );
        assert!(parse_scopes("publish,root").is_err());
    }

    #[test]
    fn tokens_are_random_and_prefixed() {
        let one = generate_token().expect("a token");
        let two = generate_token().expect("a token");
        assert!(one.starts_with(TOKEN_PREFIX));
        assert_eq!(one.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(one, two);
        assert_eq!(hash_token(&one).len(), 64);
    }
}
