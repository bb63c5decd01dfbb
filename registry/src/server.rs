//! Opening a registry's data directory and serving it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::{ApiOptions, router};
use crate::config::ADMIN_TOKEN_ENV;
use crate::connections::{ConnectionOptions, serve_connections};
use crate::registry_key::load_or_create;
use crate::store::{NewToken, SqliteStore, StartOptions, StartReport, Store};
use threatpack::transparency::RegistryKey;

use crate::tokens::{
    FIRST_ADMIN_TOKEN_SECONDS, MAX_EXPIRY_SECONDS, Scope, check_pattern, generate_token, hash_token,
};

/// The file of the data directory the first admin token is written to (mode 0600), unless it
/// came from `THREATPACK_REGISTRY_ADMIN_TOKEN`.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// The shortest token accepted from `THREATPACK_REGISTRY_ADMIN_TOKEN`.
const MIN_TOKEN_CHARS: usize = 32;

/// A data directory opened and ready to serve.
pub struct Opened {
    pub store: Arc<SqliteStore>,
    /// The admin token made on first start (no token existed), for an embedding program; the
    /// server never prints it. The store keeps only its hash.
    pub admin_token: Option<String>,
    /// Where the first admin token was written (`DATA/admin-token`, mode 0600); `None` when
    /// there was a token already, or it came from the environment.
    pub admin_token_file: Option<PathBuf>,
    /// What the checks at start did and found (`SqliteStore::check_at_start`).
    pub start: StartReport,
    /// The key the registry signs its index envelopes with (`crate::registry_key`).
    pub registry_key: Arc<RegistryKey>,
    /// Where the registry key was made at this start (first start); `None` when it existed.
    pub registry_key_file: Option<PathBuf>,
    /// The key was made for a registry that already served packs: its old key was lost.
    pub registry_key_replaced: bool,
}

/// Opens `data` (creating it) with the default checks, and on first start creates an admin
/// token.
pub fn open(data: &Path) -> Result<Opened, String> {
    open_with(data, &StartOptions::default(), None)
}

/// Opens `data` (creating it), checks it before serving (`SqliteStore::check_at_start`), and
/// on first start creates an admin token and the registry key (for `origin`, or a random one).
pub fn open_with(
    data: &Path,
    options: &StartOptions,
    origin: Option<&str>,
) -> Result<Opened, String> {
    let store = SqliteStore::open(data)?;
    let start = store.check_at_start(options)?;
    let key = load_or_create(data, origin, &store)?;
    let (admin_token, admin_token_file) = first_admin_token(&store, data)?;
    Ok(Opened {
        store: Arc::new(store),
        admin_token,
        admin_token_file,
        start,
        registry_key: Arc::new(key.key),
        registry_key_file: key.created,
        registry_key_replaced: key.replaced_lost_key,
    })
}

/// On first start (the store has never had a token, revoked ones included): an admin token,
/// taken from `THREATPACK_REGISTRY_ADMIN_TOKEN` or made and written to `DATA/admin-token` with
/// mode 0600. It never reaches stdout or stderr, so it never lands in a container's or a
/// journal's log. It expires after 30 days, like any token it must be replaced.
fn first_admin_token(
    store: &SqliteStore,
    data: &Path,
) -> Result<(Option<String>, Option<PathBuf>), String> {
    if store.token_count().map_err(|error| error.to_string())? != 0 {
        return Ok((None, None));
    }
    let from_environment = std::env::var(ADMIN_TOKEN_ENV)
        .ok()
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty());
    if let Some(token) = &from_environment
        && (token.chars().count() < MIN_TOKEN_CHARS
            || !token.chars().all(|character| character.is_ascii_graphic()))
    {
        return Err(format!(
            "{ADMIN_TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces\n  help: e.g. `tpr_` and 64 hex digits: `tpr_$(openssl rand -hex 32)`"
        ));
    }
    let options = TokenOptions {
        description: "admin token created on first start".to_string(),
        scopes: vec![Scope::Admin],
        namespaces: vec!["*".to_string()],
        expires_in_seconds: Some(FIRST_ADMIN_TOKEN_SECONDS),
    };
    if let Some(token) = from_environment {
        store_token(store, &token, &options, "server")?;
        return Ok((Some(token), None));
    }
    let token = generate_token()?;
    let path = data.join(ADMIN_TOKEN_FILE);
    // Written before the token exists in the store: a failed write leaves no token nobody has.
    threatpack::workspace::write_atomically(&path, format!("{token}\n").as_bytes(), 0o600)?;
    store_token(store, &token, &options, "server")?;
    Ok((Some(token), Some(path)))
}

pub struct TokenOptions {
    pub description: String,
    pub scopes: Vec<Scope>,
    /// Pack patterns: `*`, `namespace/*` or `namespace/name`.
    pub namespaces: Vec<String>,
    /// `None`: the longest allowed, `MAX_EXPIRY_SECONDS`.
    pub expires_in_seconds: Option<i64>,
}

/// Creates a token; returns it (to show once) and its id. The store keeps only its hash.
pub fn create_token(
    store: &dyn Store,
    options: &TokenOptions,
    actor: &str,
) -> Result<(String, i64), String> {
    let token = generate_token()?;
    let id = store_token(store, &token, options, actor)?;
    Ok((token, id))
}

/// Stores `token`'s hash with `options`, checked: patterns of the three forms, an expiry of at
/// most `MAX_EXPIRY_SECONDS` (`None`: that longest; a negative one makes an expired token).
fn store_token(
    store: &dyn Store,
    token: &str,
    options: &TokenOptions,
    actor: &str,
) -> Result<i64, String> {
    if options.namespaces.is_empty() {
        return Err("a token needs at least one pack pattern (`*` for every pack)".to_string());
    }
    for pattern in &options.namespaces {
        check_pattern(pattern)?;
    }
    let seconds = options.expires_in_seconds.unwrap_or(MAX_EXPIRY_SECONDS);
    if seconds > MAX_EXPIRY_SECONDS {
        return Err(format!(
            "a token lives at most {} days",
            MAX_EXPIRY_SECONDS / 86_400
        ));
    }
    store
        .create_token(
            &NewToken {
                hash: hash_token(token),
                description: options.description.clone(),
                scopes: options.scopes.clone(),
                namespaces: options.namespaces.clone(),
                expires_at: Some(threatpack::time::now().saturating_add(seconds)),
            },
            actor,
        )
        .map_err(|error| format!("cannot create the token: {error}"))
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
