//! A pack's index on the registry: every version with its digest, tier, signer, semver decision
//! and whether it is yanked.

use super::{Connection, Hints, RegistryError, RegistryOptions, split_pack};
use crate::client::http::Request;
use crate::wire::Index;

#[derive(Debug, Clone)]
pub struct InfoOptions {
    pub registry: RegistryOptions,
    /// `namespace/name`.
    pub pack: String,
}

/// The index of `options.pack` (no token needed).
pub fn info(options: &InfoOptions) -> Result<Index, RegistryError> {
    split_pack(&options.pack)?;
    let connection = Connection::open(&options.registry)?;
    let path = format!("/packs/{}", options.pack);
    let hints = Hints::needs("read access").not_found("check the name with `threatpack search`");
    let (_, index) = connection.call::<Index>(&Request::new("GET", &path), hints)?;
    if index.name != options.pack {
        return Err(RegistryError::Unexpected {
            status: 200,
            detail: format!(
                "asked for the index of `{}`, got the index of `{}`",
                options.pack, index.name
            ),
        });
    }
    Ok(index)
}
