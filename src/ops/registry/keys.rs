//! The publisher keys of a namespace: registering and removing one (`manage-keys`) and listing
//! them (public; consumers decide whom to trust from the list).

use std::path::PathBuf;

use super::{Connection, Hints, RegistryError, RegistryOptions, json_body};
use crate::client::http::{Request, encode};
use crate::signing::parse_public_keys;
use crate::wire::{KeyAdded, Keys, NewKey};

/// A public key file is a few lines; anything larger is not one.
const MAX_PUBLIC_KEY_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone)]
pub struct AddKeyOptions {
    pub registry: RegistryOptions,
    pub namespace: String,
    /// The public key file (`threatpack key generate` writes PREFIX.pub).
    pub public_key_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct RemoveKeyOptions {
    pub registry: RegistryOptions,
    pub namespace: String,
    /// The key id, 16 hex digits (`threatpack key list` shows them).
    pub key_id: String,
}

#[derive(Debug, Clone)]
pub struct ListKeysOptions {
    pub registry: RegistryOptions,
    pub namespace: String,
}

/// What registering a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAddition {
    /// `false` when the namespace already had the key.
    pub added: bool,
    pub answer: KeyAdded,
}

/// Registers the key of `public_key_file`. The file is read and checked to hold exactly one
/// minisign public key before anything is sent, so a secret key passed by mistake never leaves
/// the machine.
pub fn add_key(options: &AddKeyOptions) -> Result<KeyAddition, RegistryError> {
    let shown = options.public_key_file.display();
    let bytes = crate::workspace::read_capped(&options.public_key_file, MAX_PUBLIC_KEY_BYTES)
        .map_err(RegistryError::Invalid)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        RegistryError::Invalid(format!(
            "`{shown}` is not a minisign public key (not UTF-8)"
        ))
    })?;
    let keys = parse_public_keys(&text).map_err(|error| {
        RegistryError::Invalid(format!(
            "`{shown}` is not a minisign public key ({error})\nhelp: pass the `.pub` file `threatpack key generate` wrote, never the `.key` file"
        ))
    })?;
    if keys.len() != 1 {
        return Err(RegistryError::Invalid(format!(
            "`{shown}` holds {} public keys: register them one at a time, one file each",
            keys.len()
        )));
    }
    let namespace = &options.namespace;
    let connection = Connection::open(&options.registry)?;
    let token = connection.token()?;
    let path = format!("/namespaces/{}/keys", encode(namespace));
    let body = json_body(&NewKey { public_key: text })?;
    let mut request = Request::new("POST", &path);
    request.token = Some(token);
    request.body = Some(("application/json", &body));
    let hints = Hints::needs(format!("the `manage-keys` scope covering `{namespace}/*`"))
        .not_found("ask the registry's administrator to create it (`threatpack namespace create`)");
    let (status, answer) = connection.call(&request, hints)?;
    Ok(KeyAddition {
        added: status == 201,
        answer,
    })
}

pub fn list_keys(options: &ListKeysOptions) -> Result<Keys, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let path = format!("/namespaces/{}/keys", encode(&options.namespace));
    let hints = Hints::needs("read access").not_found(
        "check the name, or ask the registry's administrator to create it (`threatpack namespace create`)",
    );
    let (_, keys) = connection.call(&Request::new("GET", &path), hints)?;
    Ok(keys)
}

/// Removes a publisher key: the registry accepts no new version signed by it; the versions it
/// signed stay downloadable for the lockfiles that pin them, marked in the index. Answers the
/// keys left.
pub fn remove_key(options: &RemoveKeyOptions) -> Result<Keys, RegistryError> {
    let namespace = &options.namespace;
    let connection = Connection::open(&options.registry)?;
    let token = connection.token()?;
    let path = format!(
        "/namespaces/{}/keys/{}",
        encode(namespace),
        encode(&options.key_id)
    );
    let mut request = Request::new("DELETE", &path);
    request.token = Some(token);
    let hints = Hints::needs(format!("the `manage-keys` scope covering `{namespace}/*`"))
        .not_found(format!(
            "see the keys with `threatpack key list {namespace}`"
        ));
    let (_, keys) = connection.call(&request, hints)?;
    Ok(keys)
}
