//! The owners of a namespace: who answers for it. Listing is public; adding and removing need
//! an `admin` token.

use super::{Connection, Hints, RegistryError, RegistryOptions, json_body};
use crate::client::http::{Request, encode};
use crate::wire::{NewOwner, Owners};

#[derive(Debug, Clone)]
pub struct ListOwnersOptions {
    pub registry: RegistryOptions,
    pub namespace: String,
}

#[derive(Debug, Clone)]
pub struct AddOwnerOptions {
    pub registry: RegistryOptions,
    pub namespace: String,
    /// A user name or an e-mail address.
    pub owner: String,
}

#[derive(Debug, Clone)]
pub struct RemoveOwnerOptions {
    pub registry: RegistryOptions,
    pub namespace: String,
    pub owner: String,
}

/// What adding an owner did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerChange {
    /// `false` when it already was an owner.
    pub added: bool,
    /// The owners now.
    pub owners: Owners,
}

fn unknown_namespace_help() -> String {
    "check the name, or ask the registry's administrator to create it (`threatpack namespace create`)"
        .to_string()
}

pub fn list_owners(options: &ListOwnersOptions) -> Result<Owners, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let path = format!("/namespaces/{}/owners", encode(&options.namespace));
    let hints = Hints::needs("read access").not_found(unknown_namespace_help());
    let (_, owners) = connection.call(&Request::new("GET", &path), hints)?;
    Ok(owners)
}

pub fn add_owner(options: &AddOwnerOptions) -> Result<OwnerChange, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let token = connection.token()?;
    let path = format!("/namespaces/{}/owners", encode(&options.namespace));
    let body = json_body(&NewOwner {
        owner: options.owner.clone(),
    })?;
    let mut request = Request::new("POST", &path);
    request.token = Some(token);
    request.body = Some(("application/json", &body));
    let hints = Hints::needs("the `admin` scope").not_found(unknown_namespace_help());
    let (status, owners) = connection.call(&request, hints)?;
    Ok(OwnerChange {
        added: status == 201,
        owners,
    })
}

/// Removes an owner; the last owner of a namespace stays (`Conflict`).
pub fn remove_owner(options: &RemoveOwnerOptions) -> Result<Owners, RegistryError> {
    let (namespace, owner) = (&options.namespace, &options.owner);
    let connection = Connection::open(&options.registry)?;
    let token = connection.token()?;
    let path = format!("/namespaces/{}/owners/{}", encode(namespace), encode(owner));
    let mut request = Request::new("DELETE", &path);
    request.token = Some(token);
    let hints = Hints::needs("the `admin` scope")
        .not_found(format!(
            "see the owners with `threatpack owner list {namespace}`"
        ))
        .conflict(format!(
            "`threatpack owner add {namespace} OWNER`, then remove `{owner}`"
        ));
    match connection.call(&request, hints) {
        Ok((_, owners)) => Ok(owners),
        Err(RegistryError::NotFound {
            registry, detail, ..
        }) if detail.starts_with("no namespace") => Err(RegistryError::NotFound {
            registry,
            detail,
            help: Some(unknown_namespace_help()),
        }),
        Err(error) => Err(error),
    }
}
