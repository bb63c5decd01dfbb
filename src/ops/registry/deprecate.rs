//! Deprecating a published version (still chosen by `lock` and `update`, with a warning that
//! names the message and the version to use instead) and undoing it.

use super::yank::{VersionChange, change_version, check_version};
use super::{RegistryError, RegistryOptions, json_body};
use crate::wire::{DeprecateAnswer, DeprecateRequest, VersionDeprecation};

#[derive(Debug, Clone)]
pub struct DeprecateOptions {
    pub registry: RegistryOptions,
    /// `namespace/name`.
    pub pack: String,
    pub version: String,
    /// `Some` to deprecate (the message is shown to everyone who locks, fetches or applies the
    /// version; the replacement is a published version of the same pack), `None` to
    /// undeprecate.
    pub deprecation: Option<VersionDeprecation>,
}

/// Deprecates or undeprecates one version (the `publish` scope on the pack).
pub fn set_deprecated(options: &DeprecateOptions) -> Result<DeprecateAnswer, RegistryError> {
    let body = match &options.deprecation {
        Some(deprecation) => {
            let message = deprecation.message.trim();
            if message.is_empty() {
                return Err(RegistryError::Invalid(
                    "`--message` is empty: say why the version is deprecated and what to use instead"
                        .to_string(),
                ));
            }
            if let Some(replacement) = &deprecation.replacement {
                check_version(replacement)?;
            }
            Some(json_body(&DeprecateRequest {
                message: message.to_string(),
                replacement: deprecation.replacement.clone(),
            })?)
        }
        None => None,
    };
    change_version(
        &VersionChange {
            registry: &options.registry,
            pack: &options.pack,
            version: &options.version,
            action: if options.deprecation.is_some() {
                "deprecate"
            } else {
                "undeprecate"
            },
            scope: "publish",
        },
        body.as_deref(),
    )
}
