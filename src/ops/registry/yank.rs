//! Yanking a published version (still downloadable, no longer chosen) and undoing it; and the
//! request a change to one published version makes (yank and deprecate alike).

use serde::de::DeserializeOwned;

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
    let body = json_body(&YankRequest {
        reason: reason.map(str::to_string),
    })?;
    change_version(
        &VersionChange {
            registry: &options.registry,
            pack: &options.pack,
            version: &options.version,
            action: if options.yanked { "yank" } else { "unyank" },
            scope: "yank",
        },
        Some(&body),
    )
}

/// `PUT /packs/NAME/VERSION/ACTION` with a token that has `scope` on the pack.
pub(super) struct VersionChange<'a> {
    pub registry: &'a RegistryOptions,
    pub pack: &'a str,
    pub version: &'a str,
    pub action: &'a str,
    pub scope: &'a str,
}

/// Sends a change of one published version, its name and version checked first.
pub(super) fn change_version<T: DeserializeOwned>(
    change: &VersionChange<'_>,
    body: Option<&[u8]>,
) -> Result<T, RegistryError> {
    let name = change.pack;
    split_pack(name)?;
    check_version(change.version)?;
    let connection = Connection::open(change.registry)?;
    let token = connection.token()?;
    let path = format!("/packs/{name}/{}/{}", change.version, change.action);
    let mut request = Request::new("PUT", &path);
    request.token = Some(token);
    request.body = body.map(|body| ("application/json", body));
    let hints = Hints::needs(format!("the `{}` scope covering `{name}`", change.scope)).not_found(
        format!("check the name and version with `threatpack info {name}`"),
    );
    let (_, answer) = connection.call(&request, hints)?;
    Ok(answer)
}

pub(super) fn check_version(version: &str) -> Result<(), RegistryError> {
    semver::Version::parse(version)
        .map(|_| ())
        .map_err(|error| RegistryError::Invalid(format!("`{version}` is not a version: {error}")))
}
