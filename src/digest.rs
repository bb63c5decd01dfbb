//! Content digests: sha256 of bytes, and of the canonical JSON of an item.
//!
//! Canonical JSON is `serde_json`'s compact form of a `Value`, whose objects are sorted maps
//! (the crate's `preserve_order` feature is off; a test guards it). So an item's digest does
//! not change with formatting, comments or key order in its TOML, only with its content.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// `sha256:` followed by the lowercase hex sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The lowercase hex sha256 of `bytes` (what `sha256sum` prints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The digest of a JSON value in canonical form.
pub fn json_digest(value: &Json) -> String {
    sha256(canonical_json(value).as_bytes())
}

/// Compact JSON with object keys sorted.
pub fn canonical_json(value: &Json) -> String {
    // A `Value` serializes infallibly: its map keys are strings.
    serde_json::to_string(value).unwrap_or_default()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_whatever_the_input_order() {
        let a: Json = serde_json::from_str(r#"{"b": 1, "a": {"d": 2, "c": 3}}"#).expect("json");
        let b: Json = serde_json::from_str(r#"{"a": {"c": 3, "d": 2}, "b": 1}"#).expect("json");
        assert_eq!(canonical_json(&a), r#"{"a":{"c":3,"d":2},"b":1}"#);
        assert_eq!(json_digest(&a), json_digest(&b));
    }
}
