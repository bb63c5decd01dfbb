//! Yanking a published version (still downloadable, no longer chosen) and undoing it.

use super::{Connection, Hints, RegistryError, RegistryOptions, json_body, split_pack};
use crate::client::http::Request;
use crate::wire::{YankAnswer, YankRequest};

#[derive(Debug, Clone)]
pub struct YankOptions {
    pub registry: RegistryOptions,
    /// `namespace/name`.
    pub pack: String,
    pub version: String,
    /// `true` to yank, `false` to unyank.
    pub yanked: bool,
    /// Why: required to yank (the index shows it); recorded in the audit log for an unyank.
    pub reason: Option<String>,
}

/// Yanks or unyanks one version (the `yank` scope).
pub fn set_yanked(options: &YankOptions) -> Result<YankAnswer, RegistryError> {
    let name = &options.pack;
    split_pack(name)?;
    semver::Version::parse(&options.version).map_err(|error| {
        RegistryError::Invalid(format!("`{}` is not a version: {error}", options.version))
    })?;
    let reason = options
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    if options.yanked && reason.is_none() {
        return Err(RegistryError::Invalid(
            "`--reason` is empty: say why the version is yanked".to_string(),
        ));
    }
    let connection = Connection::open(&options.registry)?;
    let token = connection.token()?;
    let action = if options.yanked { "yank" } else { "unyank" };
    let path = format!("/packs/{name}/{}/{action}", options.version);
    let body = json_body(&YankRequest {
        reason: reason.map(str::to_string),
    })?;
    let mut request = Request::new("PUT", &path);
    request.token = Some(token);
    request.body = Some(("application/json", &body));
    let hints = Hints::needs(format!("the `yank` scope covering `{name}`")).not_found(format!(
        "check the name and version with `threatpack info {name}`"
    ));
    let (_, answer) = connection.call(&request, hints)?;
    Ok(answer)
}
