//! API tokens: random secrets shown once and stored as their sha256, each with scopes, the
//! packs it may touch (patterns such as `acme/*`) and an expiry.

use ct_codecs::{Encoder, Hex};

/// The prefix of every token, so that a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "tpr_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Publish,
    Yank,
    ManageKeys,
    /// Everything, in every namespace; also creating namespaces.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Publish, Scope::Yank, Scope::ManageKeys, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Publish => "publish",
            Scope::Yank => "yank",
            Scope::ManageKeys => "manage-keys",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| {
                format!("unknown scope `{text}` (scopes: publish, yank, manage-keys, admin)")
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

/// Parses namespace patterns: `acme/*,vendor/web`. A `*` matches any run of characters.
pub fn parse_patterns(text: &str) -> Result<Vec<String>, String> {
    let patterns: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|pattern| !pattern.is_empty())
        .map(str::to_string)
        .collect();
    if patterns.is_empty() {
        return Err("no namespace pattern given (`*` for every pack)".to_string());
    }
    Ok(patterns)
}

/// Parses an expiry: `30d`, `12h`, `45m`, or `never`. Returns seconds.
pub fn parse_expiry(text: &str) -> Result<Option<i64>, String> {
    if text == "never" {
        return Ok(None);
    }
    let invalid =
        || format!("invalid expiry `{text}`: expected e.g. `30d`, `12h`, `45m` or `never`");
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
    number.checked_mul(seconds).map(Some).ok_or_else(invalid)
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

/// A glob where `*` matches any run of characters (`/` included) and everything else itself.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole text must be the pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(position) => rest = &rest[position + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
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
            ("a*/w*b", "acme/web", true),
            ("a*/w*b", "acme/wet", false),
        ] {
            assert_eq!(pattern_matches(pattern, text), expected, "{pattern} {text}");
        }
    }

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry("30d"), Ok(Some(30 * 86_400)));
        assert_eq!(parse_expiry("2h"), Ok(Some(7_200)));
        assert_eq!(parse_expiry("never"), Ok(None));
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
