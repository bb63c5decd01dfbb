//! Searching the registry's packs by name, description and tags.

use super::{Connection, Hints, RegistryError, RegistryOptions};
use crate::client::http::{Request, encode};
use crate::wire::SearchAnswer;

#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub registry: RegistryOptions,
    /// Text to find in pack names, descriptions and tags.
    pub query: String,
    /// From 1.
    pub page: u32,
    /// 1 to 100.
    pub per_page: u32,
}

/// One page of the packs that match, by name, and how many match in all.
pub fn search(options: &SearchOptions) -> Result<SearchAnswer, RegistryError> {
    let connection = Connection::open(&options.registry)?;
    let path = format!(
        "/packs?q={}&page={}&per_page={}",
        encode(&options.query),
        options.page,
        options.per_page
    );
    let (_, answer) = connection.call(&Request::new("GET", &path), Hints::needs("read access"))?;
    Ok(answer)
}
