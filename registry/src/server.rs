//! Opening a registry's data directory and serving it.

use std::path::Path;
use std::sync::Arc;

use crate::api::{ApiOptions, router};
use crate::connections::{ConnectionOptions, serve_connections};
use crate::store::{NewToken, SqliteStore, Store};
use crate::tokens::{Scope, generate_token, hash_token};

/// A data directory opened and ready to serve.
pub struct Opened {
    pub store: Arc<SqliteStore>,
    /// The admin token made on first start (no token existed): shown once, never stored.
    pub admin_token: Option<String>,
    /// Orphan blobs (and temporary files) collected at start.
    pub orphans_removed: usize,
}

/// Opens `data` (creating it), collects orphans, and on first start creates an admin token.
pub fn open(data: &Path) -> Result<Opened, String> {
    let store = SqliteStore::open(data)?;
    let orphans_removed = store.collect_orphans()?;
    let admin_token = if store.token_count().map_err(|error| error.to_string())? == 0 {
        let (token, _) = create_token(
            &store,
            &TokenOptions {
                description: "admin token created on first start".to_string(),
                scopes: vec![Scope::Admin],
                namespaces: vec!["*".to_string()],
                expires_in_seconds: None,
            },
            "server",
        )?;
        Some(token)
    } else {
        None
    };
    Ok(Opened {
        store: Arc::new(store),
        admin_token,
        orphans_removed,
    })
}

pub struct TokenOptions {
    pub description: String,
    pub scopes: Vec<Scope>,
    pub namespaces: Vec<String>,
    pub expires_in_seconds: Option<i64>,
}

/// Creates a token; returns it (to show once) and its id. The store keeps only its hash.
pub fn create_token(
    store: &dyn Store,
    options: &TokenOptions,
    actor: &str,
) -> Result<(String, i64), String> {
    let token = generate_token()?;
    let id = store
        .create_token(
            &NewToken {
                hash: hash_token(&token),
                description: options.description.clone(),
                scopes: options.scopes.clone(),
                namespaces: options.namespaces.clone(),
                expires_at: options
                    .expires_in_seconds
                    .map(|seconds| crate::time::now().saturating_add(seconds)),
            },
            actor,
        )
        .map_err(|error| format!("cannot create the token: {error}"))?;
    Ok((token, id))
}

/// Serves the API on `listener` until the process ends, with the default connection limits.
/// The runtime must have its IO and time drivers (`enable_all`): the timeouts need timers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    options: ApiOptions,
) -> std::io::Result<()> {
    serve_until(
        listener,
        store,
        options,
        &ConnectionOptions::default(),
        std::future::pending(),
    )
    .await
}

/// Serves the API on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (`crate::connections`).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    options: ApiOptions,
    connections: &ConnectionOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_connections(listener, router(store, options), connections, shutdown).await
}
