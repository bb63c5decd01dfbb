//! The OpenAPI 3.1 description of the API (registry/openapi.json), generated from the handlers'
//! `#[utoipa::path]` attributes and the wire types (`threatpack::wire`). A test regenerates it
//! and fails when it differs from the committed file: `UPDATE_OPENAPI=1 cargo test -p
//! threatpack-registry --test it openapi` rewrites the file.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "threatpack registry",
        description = "Publish, index, download, yank and deprecate signed threat-modeling knowledge bases (registry/API.md).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        api::health,
        api::ready,
        api::metrics,
        api::namespaces::create_namespace,
        api::namespaces::show_namespace,
        api::owners::list_owners,
        api::owners::add_owner,
        api::owners::remove_owner,
        api::keys::list_keys,
        api::keys::add_key,
        api::keys::remove_key,
        api::search::search,
        api::index::index,
        api::publish::publish,
        api::yank::yank,
        api::yank::unyank,
        api::deprecate::deprecate,
        api::deprecate::undeprecate,
        api::blobs::download,
        api::blobs::signature,
        api::log::checkpoint,
        api::log::entries,
        api::log::inclusion,
        api::log::consistency,
        api::tokens::list_tokens,
        api::tokens::revoke_token,
        api::registry_key::registry_key,
        api::reports::push,
        api::portfolio::portfolio,
        api::portfolio::project,
        api::portfolio::project_trend,
        api::portfolio::model,
        api::portfolio::dependents,
    ),
    modifiers(&BearerToken),
)]
struct ApiDocument;

/// `Authorization: Bearer TOKEN`; the scopes a call needs are listed with it.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The description as the committed file holds it: pretty JSON ending with a newline.
pub fn document() -> String {
    let mut openapi = ApiDocument::openapi();
    // The document describes the API, not the build: no crate version in it.
    openapi.info.version = "v1".to_string();
    let mut text = openapi
        .to_pretty_json()
        .expect("an OpenAPI document always serializes");
    text.push('\n');
    text
}
