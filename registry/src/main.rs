//! `threatpack-registry`: serves a registry from a data directory, or manages its tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use threatpack_registry::api::{ApiOptions, DEFAULT_MAX_BUNDLE_BYTES};
use threatpack_registry::server::{TokenOptions, create_token, open, serve};
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

#[derive(Debug, Args)]
struct ServeArgs {
    /// The data directory (SQLite database and blobs); created if missing
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The address to listen on (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The largest bundle a publish accepts, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUNDLE_BYTES)]
    max_bundle_bytes: usize,
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
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
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
    let data = args
        .data
        .as_ref()
        .ok_or("`--data DIR` is required: where the registry keeps its database and blobs")?;
    let opened = open(data)?;
    if opened.orphans_removed > 0 {
        eprintln!(
            "collected {} orphan blob(s) left by an interrupted publish",
            opened.orphans_removed
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("cannot read the bound address: {error}"))?;
        println!("listening on http://{address}");
        if let Some(token) = &opened.admin_token {
            println!("admin token (shown once, store it now): {token}");
        }
        serve(
            listener,
            opened.store,
            ApiOptions {
                max_bundle_bytes: args.max_bundle_bytes,
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
        expires_in_seconds: parse_expiry(&args.expires)?,
    };
    let store = SqliteStore::open(&args.data)?;
    let (token, id) = create_token(&store, &options, "cli")?;
    eprintln!("token {id} created (shown once, store it now):");
    println!("{token}");
    Ok(())
}
