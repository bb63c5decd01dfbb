//! `threatpack token list` and `threatpack token revoke ID`: the registry's tokens as the
//! caller's token may see them (every token for an admin token, itself for any other), and
//! revoking one (itself, or any with an admin token).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::ops::registry::{ListTokensOptions, RevokeTokenOptions, list_tokens, revoke_token};
use threatpack::render::visible;

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// List the tokens your token may see (all of them with an admin token), never a secret
    List(ListArgs),
    /// Revoke a token by id: the registry refuses it from the next request on (your own token,
    /// or any with an admin token)
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    /// `json`: the registry's answer (`tokens`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    /// The token's id, as `threatpack token list` shows it
    id: i64,
    /// `json`: the registry's answer (the `token`, revoked), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: TokenArgs) -> Result<ExitCode, String> {
    match args.command {
        TokenCommand::List(args) => list(args),
        TokenCommand::Revoke(args) => revoke(args),
    }
}

fn list(args: ListArgs) -> Result<ExitCode, String> {
    let options = ListTokensOptions {
        registry: args.registry.authenticated()?,
    };
    let tokens = list_tokens(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&tokens)?;
        return Ok(ExitCode::SUCCESS);
    }
    for token in &tokens.tokens {
        println!("{}", visible(&token.summary()));
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(args: RevokeArgs) -> Result<ExitCode, String> {
    let options = RevokeTokenOptions {
        registry: args.registry.authenticated()?,
        id: args.id,
    };
    let answer = revoke_token(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("revoked: {}", visible(&answer.token.summary()));
    Ok(ExitCode::SUCCESS)
}
