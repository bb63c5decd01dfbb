//! `threatpack-registry`: serves a registry from a data directory, manages its tokens, backs it
//! up and restores it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use threatpack_registry::api::ApiOptions;
use threatpack_registry::config::{
    ADMIN_TOKEN_ENV, BODY_TIMEOUT_ENV, DATA_ENV, HEADER_TIMEOUT_ENV, INDEX_EXPIRY_ENV,
    KEY_FILE_ENV, LISTEN_ENV, LOG_FORMAT_ENV, LogFormat, MAX_BUNDLE_BYTES_ENV, MAX_CONNECTIONS_ENV,
    MAX_REPORT_SIZE_ENV, ORIGIN_ENV, PartialSettings, REPORT_RETENTION_ENV, ServerSettings,
    WRITE_RATE_ENV, parse_index_expiry, read_config_file,
};
use threatpack_registry::connections::ConnectionOptions;
use threatpack_registry::server::{TokenOptions, create_token, open_with, serve_until};
use threatpack_registry::store::{SqliteStore, StartOptions, StartReport, Store, listed};
use threatpack_registry::tokens::{parse_expiry, parse_patterns, parse_scopes};

/// The threatpack registry: publish, index, download and yank signed bundles.
#[derive(Debug, Parser)]
#[command(
    name = "threatpack-registry",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Each setting comes from its flag, else its environment variable, else the `--config` file,
/// else its default.
#[derive(Debug, Args)]
struct ServeArgs {
    /// A TOML file with any of the settings below, named as their flags (flags and environment
    /// variables take precedence over it)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory (SQLite database and blobs); created if missing
    #[arg(long, value_name = "DIR", env = DATA_ENV)]
    data: Option<PathBuf>,
    /// The address to listen on; port 0 is any free port [default: 127.0.0.1:8080, the client's default]
    #[arg(long, value_name = "ADDR", env = LISTEN_ENV)]
    listen: Option<SocketAddr>,
    /// The largest bundle a publish accepts, in bytes [default: 67108864, 64 MiB]
    #[arg(long, value_name = "BYTES", env = MAX_BUNDLE_BYTES_ENV)]
    max_bundle_bytes: Option<usize>,
    /// Index the bundles in `blobs/` that no version names, from their own manifests and
    /// signatures (after a database was lost; docs/registry-data.md)
    #[arg(long)]
    adopt_blobs: bool,
    /// Refuse to start when an indexed bundle is missing from `blobs/`
    #[arg(long)]
    strict: bool,
    /// Seconds a client has to send a request's headers; also the longest an idle connection
    /// is kept open [default: 10]
    #[arg(long, value_name = "SECONDS", env = HEADER_TIMEOUT_ENV)]
    header_timeout: Option<u64>,
    /// Seconds a request body may go without sending anything [default: 30]
    #[arg(long, value_name = "SECONDS", env = BODY_TIMEOUT_ENV)]
    body_timeout: Option<u64>,
    /// Connections served at once; more wait until one closes [default: 1024]
    #[arg(long, value_name = "COUNT", env = MAX_CONNECTIONS_ENV)]
    max_connections: Option<usize>,
    /// Writes a minute per token, or per address for requests without a token [default: 120]
    #[arg(long, value_name = "PER_MINUTE", env = WRITE_RATE_ENV)]
    write_rate: Option<u32>,
    /// The request log's format, one line per request on stderr [default: text]
    #[arg(long, value_name = "FORMAT", env = LOG_FORMAT_ENV)]
    log_format: Option<LogFormat>,
    /// How long an index envelope is valid (clients refuse an expired one): `1d`, `12h`, `30m`
    /// or `90s`; re-signed when half of it has passed [default: 1d]
    #[arg(long, value_name = "DURATION", env = INDEX_EXPIRY_ENV, value_parser = parse_index_expiry)]
    index_expiry: Option<i64>,
    /// The registry's origin, the name in its key and in every note it signs, e.g. its host
    /// name; fixed when the key is made at first start [default: threatpack-registry/<random>]
    #[arg(long, value_name = "NAME", env = ORIGIN_ENV)]
    origin: Option<String>,
    /// The largest report push, in bytes after decompression [default: 33554432, 32 MiB]
    #[arg(long, value_name = "BYTES", env = MAX_REPORT_SIZE_ENV)]
    max_report_size: Option<usize>,
    /// Days pushed reports are kept; each project's latest is always kept [default: 730]
    #[arg(long, value_name = "DAYS", env = REPORT_RETENTION_ENV)]
    report_retention: Option<u32>,
}

impl ServeArgs {
    fn settings(&self) -> Result<ServerSettings, String> {
        let command_line = PartialSettings {
            data: self.data.clone(),
            listen: self.listen,
            max_bundle_bytes: self.max_bundle_bytes,
            header_timeout_seconds: self.header_timeout,
            body_timeout_seconds: self.body_timeout,
            max_connections: self.max_connections,
            write_rate_per_minute: self.write_rate,
            log_format: self.log_format,
            index_expiry_seconds: self.index_expiry,
            max_report_bytes: self.max_report_size,
            report_retention_days: self.report_retention,
        };
        command_line
            .or(config_file(self.config.as_deref())?)
            .resolve()
    }
}

fn config_file(path: Option<&std::path::Path>) -> Result<PartialSettings, String> {
    path.map_or(Ok(PartialSettings::default()), read_config_file)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Back up a data directory into one file, consistently, while the server runs
    Backup(BackupArgs),
    /// Restore a backup into a new data directory
    Restore(RestoreArgs),
    /// Show or rotate the registry key (the key index envelopes are signed with)
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Print the registry's public key (what clients pin) and its origin
    Show(DataArgs),
    /// Make a new registry key, introduced by a statement the old key signs; clients that
    /// pinned the old key follow it. Restart the server afterwards: it signs with the key it
    /// read at start
    Rotate(DataArgs),
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// The registry's configuration file (for its `data`)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The registry's data directory
    #[arg(long, value_name = "DIR", env = DATA_ENV)]
    data: Option<PathBuf>,
    /// The backup file to write (replaced only once complete)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// A file written by `threatpack-registry backup`
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The data directory to create (it must not exist, or be empty)
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once
    Create(TokenCreateArgs),
    /// List the tokens (never their secrets): id, scopes, packs, expiry, revoked
    List(TokenListArgs),
    /// Revoke a token by id: the next request with it is refused
    Revoke(TokenRevokeArgs),
}

/// Where the registry's data is, for the commands that open it.
#[derive(Debug, Args)]
struct DataArgs {
    /// The registry's configuration file (for its `data`)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The registry's data directory
    #[arg(long, value_name = "DIR", env = DATA_ENV)]
    data: Option<PathBuf>,
}

impl DataArgs {
    fn directory(&self) -> Result<PathBuf, String> {
        PartialSettings {
            data: self.data.clone(),
            ..PartialSettings::default()
        }
        .or(config_file(self.config.as_deref())?)
        .data()
    }

    fn store(&self) -> Result<SqliteStore, String> {
        SqliteStore::open(&self.directory()?)
    }
}

#[derive(Debug, Args)]
struct TokenListArgs {
    #[command(flatten)]
    data: DataArgs,
    /// `json`: `{"tokens":[…]}`, as `GET /api/v1/tokens` answers
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct TokenRevokeArgs {
    /// The token's id, as `token list` shows it
    id: i64,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
struct TokenCreateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Comma-separated: publish, yank, manage-keys, report, portfolio, admin
    #[arg(long)]
    scopes: String,
    /// Comma-separated pack (or, for `report` and `portfolio`, project) patterns: `*`,
    /// `NAMESPACE/*` or `NAMESPACE/NAME`
    #[arg(long, default_value = "*")]
    namespaces: String,
    /// How long the token lives: `30d`, `12h` or `45m`, at most `366d`
    #[arg(long, default_value = "90d")]
    expires: String,
    /// What the token is for (kept in the store and the audit log)
    #[arg(long, default_value = "")]
    description: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(TokenCommand::Create(args))) => token_create(&args),
        Some(Command::Token(TokenCommand::List(args))) => token_list(&args),
        Some(Command::Token(TokenCommand::Revoke(args))) => token_revoke(&args),
        Some(Command::Backup(args)) => backup(&args),
        Some(Command::Restore(args)) => restore(&args),
        Some(Command::Key(KeyCommand::Show(args))) => key_show(&args),
        Some(Command::Key(KeyCommand::Rotate(args))) => key_rotate(&args),
        None => run_server(&cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn run_server(args: &ServeArgs) -> Result<(), String> {
    let settings = args.settings()?;
    start_logging(settings.log_format);
    let opened = open_with(
        &settings.data,
        &StartOptions {
            adopt_blobs: args.adopt_blobs,
            strict: args.strict,
        },
        args.origin.as_deref(),
    )?;
    let upload_dir = settings.data.join("uploads");
    std::fs::create_dir_all(&upload_dir)
        .map_err(|error| format!("cannot create `{}`: {error}", upload_dir.display()))?;
    report_start(&opened.start);
    // The token itself is never printed: stdout and stderr end up in logs. Before binding, so
    // that the file is named even if the address is taken.
    if let Some(path) = &opened.admin_token_file {
        eprintln!(
            "first start: an admin token (expires in 30 days) is in `{}` (mode 0600); read it, keep it safe, and delete the file",
            path.display()
        );
    }
    if opened.registry_key_replaced {
        eprintln!(
            "warning: no registry key was found, so a new one was made, but this registry already serves packs: every client that pinned the old key will refuse it\n  help: if the old key still exists, stop the server and put it back at `{}`; if it is lost, publish the new public key below through a trusted channel (docs/security.md, \"Registry key rotation\")",
            threatpack_registry::registry_key::key_path(&settings.data).display()
        );
    }
    if let Some(path) = &opened.registry_key_file {
        eprintln!(
            "first start: the registry key (origin `{}`) is in `{}` (mode 0600); back it up with your secrets: clients pin its public key `{}`",
            opened.registry_key.origin(),
            path.display(),
            opened.registry_key.vkey()
        );
    }
    if opened.admin_token_file.is_none() && opened.admin_token.is_some() {
        eprintln!(
            "first start: the admin token is the one {ADMIN_TOKEN_ENV} gave (expires in 30 days)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|error| {
                format!(
                    "cannot listen on {}: {error}\n  help: choose another address with `--listen`, e.g. `--listen 127.0.0.1:0` for any free port",
                    settings.listen
                )
            })?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("cannot read the bound address: {error}"))?;
        // The client's way to reach this server, ready to paste (stderr: stdout is for scripts).
        eprintln!("clients reach it with: export THREATPACK_REGISTRY=http://{address}");
        println!("listening on http://{address}");
        serve_until(
            listener,
            opened.store,
            ApiOptions {
                max_bundle_bytes: settings.max_bundle_bytes,
                upload_dir,
                body_timeout: Duration::from_secs(settings.body_timeout_seconds),
                write_rate_per_minute: settings.write_rate_per_minute,
                registry_key: opened.registry_key.clone(),
                index_expiry_seconds: settings.index_expiry_seconds,
                max_report_bytes: settings.max_report_bytes,
                report_retention_days: settings.report_retention_days,
            },
            &ConnectionOptions {
                header_timeout: Duration::from_secs(settings.header_timeout_seconds),
                max_connections: settings.max_connections,
                ..ConnectionOptions::default()
            },
            shutdown_signal(),
        )
        .await
        .map_err(|error| format!("the server stopped: {error}"))
    })
}

/// The request log (and any warning) on stderr, a line per write: stdout is for the lines
/// scripts read. (A writer thread of its own, tracing-appender's, doubled the CPU time of an
/// index GET: a wake-up per line.)
fn start_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// SIGTERM (systemd, docker stop) or SIGINT (Ctrl-C): the server stops accepting and drains.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

fn backup(args: &BackupArgs) -> Result<(), String> {
    let data = PartialSettings {
        data: args.data.clone(),
        ..PartialSettings::default()
    }
    .or(config_file(args.config.as_deref())?)
    .data()?;
    let summary = threatpack_registry::backup::backup(&data, &args.out)?;
    eprintln!(
        "backed up {} version(s) and {} blob(s) to `{}`",
        summary.versions,
        summary.blobs,
        args.out.display()
    );
    if summary.problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the backup was written without {} blob(s) its database names: {}\n  help: repair them (their publishers republish the identical bytes, or restore them from an earlier backup), then back up again",
        summary.problems.len(),
        listed(&summary.problems)
    ))
}

fn restore(args: &RestoreArgs) -> Result<(), String> {
    let summary = threatpack_registry::backup::restore(&args.file, &args.data)?;
    eprintln!(
        "restored {} version(s) and {} blob(s) into `{}`; put the registry key (`registry-key`, kept with your secrets: backups do not hold it) into it or set {KEY_FILE_ENV}, then start the registry with `--data {}` (with a new key, every client that pinned the old one refuses the registry)",
        summary.versions,
        summary.blobs,
        args.data.display(),
        args.data.display()
    );
    if !summary.missing.is_empty() {
        eprintln!(
            "warning: the backup lacks {} blob(s) its database names (missing or damaged when it was taken): {}",
            summary.missing.len(),
            listed(&summary.missing)
        );
    }
    Ok(())
}

/// What the checks at start did, on stderr; silent when there was nothing to do.
fn report_start(report: &StartReport) {
    let collected = report.temporary_removed + report.interrupted_removed;
    if collected > 0 {
        eprintln!(
            "collected {collected} orphan file(s) left by an interrupted publish ({} bundle(s), {} temporary file(s))",
            report.interrupted_removed, report.temporary_removed
        );
    }
    for adopted in &report.adopted {
        eprintln!("adopted {adopted} from its blob");
    }
    for reason in &report.not_adopted {
        eprintln!("warning: not adopted: {reason}");
    }
    if report.unindexed_kept > 0 {
        eprintln!(
            "warning: kept {} blob(s) that no version names (a database older than its blobs?)\n  help: `--adopt-blobs` indexes them again from their own manifests and signatures",
            report.unindexed_kept
        );
    }
    if !report.missing.is_empty() {
        eprintln!(
            "warning: {} indexed bundle(s) are missing from `blobs/sha256` and cannot be downloaded: {}\n  help: restore them from a backup, or have their publishers republish the identical bytes; `--strict` refuses to start like this",
            report.missing.len(),
            listed(&report.missing)
        );
    }
}

fn key_show(args: &DataArgs) -> Result<(), String> {
    let path = threatpack_registry::registry_key::key_path(&args.directory()?);
    let store = args.store()?;
    let key = threatpack_registry::registry_key::load_existing(&path, &store)?;
    eprintln!("origin `{}`, key file `{}`", key.origin(), path.display());
    println!("{}", key.vkey());
    Ok(())
}

fn key_rotate(args: &DataArgs) -> Result<(), String> {
    let store = args.store()?;
    let (old, new) = threatpack_registry::registry_key::rotate(&args.directory()?, &store)?;
    eprintln!(
        "rotated the registry key: `{}` -> `{}`; restart the server to sign with the new key (clients that pinned the old one follow the signed rotation)",
        threatpack::transparency::key::vkey_id(old.vkey()),
        threatpack::transparency::key::vkey_id(new.vkey())
    );
    println!("{}", new.vkey());
    Ok(())
}

fn token_create(args: &TokenCreateArgs) -> Result<(), String> {
    let options = TokenOptions {
        description: args.description.clone(),
        scopes: parse_scopes(&args.scopes)?,
        namespaces: parse_patterns(&args.namespaces)?,
        expires_in_seconds: Some(parse_expiry(&args.expires)?),
    };
    let store = args.data.store()?;
    let (token, id) = create_token(&store, &options, "cli")?;
    eprintln!("token {id} created (shown once, store it now):");
    println!("{token}");
    Ok(())
}

fn token_list(args: &TokenListArgs) -> Result<(), String> {
    let tokens = args
        .data
        .store()?
        .tokens()
        .map_err(|error| error.to_string())?;
    if args.json {
        let text = serde_json::to_string_pretty(&threatpack::wire::Tokens { tokens })
            .map_err(|error| format!("cannot write the tokens as JSON: {error}"))?;
        println!("{text}");
        return Ok(());
    }
    for token in &tokens {
        println!("{}", token.summary());
    }
    if tokens.is_empty() {
        eprintln!("no tokens: the server makes the first admin token on its first start");
    }
    Ok(())
}

fn token_revoke(args: &TokenRevokeArgs) -> Result<(), String> {
    let token = args
        .data
        .store()?
        .revoke_token(args.id, "cli")
        .map_err(|error| error.to_string())?;
    eprintln!("revoked: {}", token.summary());
    Ok(())
}
