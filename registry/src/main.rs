//! `threatpack-registry`: serves a registry from a data directory, or manages its tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use threatpack_registry::api::ApiOptions;
use threatpack_registry::config::{
    BODY_TIMEOUT_ENV, DATA_ENV, HEADER_TIMEOUT_ENV, LISTEN_ENV, LOG_FORMAT_ENV, LogFormat,
    MAX_BUNDLE_BYTES_ENV, MAX_CONNECTIONS_ENV, PartialSettings, ServerSettings, WRITE_RATE_ENV,
    read_config_file,
};
use threatpack_registry::connections::ConnectionOptions;
use threatpack_registry::server::{TokenOptions, create_token, open, serve_until};
use threatpack_registry::store::SqliteStore;
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
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
struct TokenCreateArgs {
    /// The registry's configuration file (for its `data`)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The registry's data directory
    #[arg(long, value_name = "DIR", env = DATA_ENV)]
    data: Option<PathBuf>,
    /// Comma-separated: publish, yank, manage-keys, admin
    #[arg(long)]
    scopes: String,
    /// Comma-separated pack patterns, e.g. `acme/*` (`*` matches anything)
    #[arg(long, default_value = "*")]
    namespaces: String,
    /// How long the token lives: `30d`, `12h`, `45m` or `never`
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
    let opened = open(&settings.data)?;
    let upload_dir = settings.data.join("uploads");
    std::fs::create_dir_all(&upload_dir)
        .map_err(|error| format!("cannot create `{}`: {error}", upload_dir.display()))?;
    if opened.orphans_removed > 0 {
        eprintln!(
            "collected {} orphan blob(s) left by an interrupted publish",
            opened.orphans_removed
        );
    }
    // Before binding: a token already made must be shown even if the address is taken. The
    // `listening on` line comes last, so a script that waits for it has everything.
    if let Some(token) = &opened.admin_token {
        println!("admin token (shown once, store it now): {token}");
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

fn token_create(args: &TokenCreateArgs) -> Result<(), String> {
    let options = TokenOptions {
        description: args.description.clone(),
        scopes: parse_scopes(&args.scopes)?,
        namespaces: parse_patterns(&args.namespaces)?,
        expires_in_seconds: parse_expiry(&args.expires)?,
    };
    let data = PartialSettings {
        data: args.data.clone(),
        ..PartialSettings::default()
    }
    .or(config_file(args.config.as_deref())?)
    .data()?;
    let store = SqliteStore::open(&data)?;
    let (token, id) = create_token(&store, &options, "cli")?;
    eprintln!("token {id} created (shown once, store it now):");
    println!("{token}");
    Ok(())
}
