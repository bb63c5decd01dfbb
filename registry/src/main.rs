//! `threatpack-registry`: serves a registry from a data directory, or manages its tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use threatpack_registry::api::ApiOptions;
use threatpack_registry::config::{
    ADMIN_TOKEN_ENV, DATA_ENV, LISTEN_ENV, MAX_BUNDLE_BYTES_ENV, PartialSettings, ServerSettings,
    read_config_file,
};
use threatpack_registry::server::{TokenOptions, create_token, open, serve};
use threatpack_registry::store::{SqliteStore, Store, TokenInfo};
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
    /// A TOML file with any of `data`, `listen`, `max-bundle-bytes` (flags and environment
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
}

impl ServeArgs {
    fn settings(&self) -> Result<ServerSettings, String> {
        let command_line = PartialSettings {
            data: self.data.clone(),
            listen: self.listen,
            max_bundle_bytes: self.max_bundle_bytes,
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
    fn store(&self) -> Result<SqliteStore, String> {
        let data = PartialSettings {
            data: self.data.clone(),
            ..PartialSettings::default()
        }
        .or(config_file(self.config.as_deref())?)
        .data()?;
        SqliteStore::open(&data)
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
    /// Comma-separated: publish, yank, manage-keys, admin
    #[arg(long)]
    scopes: String,
    /// Comma-separated pack patterns: `*` (every pack), `NAMESPACE/*` or `NAMESPACE/NAME`
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
    let opened = open(&settings.data)?;
    if opened.orphans_removed > 0 {
        eprintln!(
            "collected {} orphan blob(s) left by an interrupted publish",
            opened.orphans_removed
        );
    }
    // The token itself is never printed: stdout and stderr end up in logs. Before binding, so
    // that the file is named even if the address is taken.
    if let Some(path) = &opened.admin_token_file {
        eprintln!(
            "first start: an admin token (expires in 30 days) is in `{}` (mode 0600); read it, keep it safe, and delete the file",
            path.display()
        );
    } else if opened.admin_token.is_some() {
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
        serve(
            listener,
            opened.store,
            ApiOptions {
                max_bundle_bytes: settings.max_bundle_bytes,
            },
        )
        .await
        .map_err(|error| format!("the server stopped: {error}"))
    })
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
        println!("{}", token_line(token));
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
    eprintln!("revoked: {}", token_line(&token));
    Ok(())
}

/// `3  publish,yank  acme/*  expires 2027-01-01T00:00:00Z  "CI"  [revoked …]`.
fn token_line(token: &TokenInfo) -> String {
    format!(
        "{}  {}  {}  expires {}  {:?}{}",
        token.id,
        token.scopes.join(","),
        token.namespaces.join(","),
        token.expires_at.as_deref().unwrap_or("never"),
        token.description,
        token
            .revoked_at
            .as_deref()
            .map(|at| format!("  revoked {at}"))
            .unwrap_or_default()
    )
}
