//! Namespaces: creating one (an `admin` token) and showing one (public).

use super::{Connection, Hints, RegistryError, RegistryOptions, json_body};
use crate::client::http::{Request, encode};
use crate::wire::{Namespace, NamespaceAnswer, NewNamespace};

#[derive(Debug, Clone)]
pub struct CreateNamespaceOptions {
    pub registry: RegistryOptions,
    /// Lower-case letters, digits and `-`, e.g. `acme`.
    pub name: String,
    /// User names or e-mail addresses.
    pub owners: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ShowNamespaceOptions {
    pub registry: RegistryOptions,
    pub name: String,
}

pub fn create_namespace(options: &CreateNamespaceOptions) -> Result<Namespace, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let token = connection.token()?;
    let body = json_body(&NewNamespace {
        name: options.name.clone(),
        owners: options.owners.clone(),
    })?;
    let mut request = Request::new("POST", "/namespaces");
    request.token = Some(token);
    request.body = Some(("application/json", &body));
    let hints = Hints::needs("the `admin` scope").conflict(format!(
        "see it with `threatpack namespace show {}`",
        options.name
    ));
    let (_, answer) = connection.call::<NamespaceAnswer>(&request, hints)?;
    Ok(answer.namespace)
}

pub fn show_namespace(options: &ShowNamespaceOptions) -> Result<Namespace, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let path = format!("/namespaces/{}", encode(&options.name));
    let hints = Hints::needs("read access").not_found(
        "check the name, or ask the registry's administrator to create it (`threatpack namespace create`)",
    );
    let (_, answer) = connection.call::<NamespaceAnswer>(&Request::new("GET", &path), hints)?;
    Ok(answer.namespace)
}
