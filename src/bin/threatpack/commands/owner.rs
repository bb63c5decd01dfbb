//! `threatpack owner list|add|remove NAMESPACE [OWNER]`: who answers for a namespace on the
//! registry. Listing is public; adding and removing need an `admin` token.

use std::process::ExitCode;
use threatpack::render::visible;

use clap::{Args, Subcommand};
use threatpack::ops::registry::{
    AddOwnerOptions, ListOwnersOptions, RemoveOwnerOptions, add_owner, list_owners, remove_owner,
};

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct OwnerArgs {
    #[command(subcommand)]
    command: OwnerCommand,
}

#[derive(Debug, Subcommand)]
enum OwnerCommand {
    /// List the owners of a namespace, one per line
    List(ListArgs),
    /// Add an owner to a namespace (needs an `admin` token)
    Add(ChangeArgs),
    /// Remove an owner from a namespace (needs an `admin` token; the last owner stays)
    Remove(ChangeArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The namespace, e.g. `acme`
    namespace: String,
    /// `json`: the registry's answer (`namespace`, `owners`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct ChangeArgs {
    /// The namespace, e.g. `acme`
    namespace: String,
    /// A user name or an e-mail address, e.g. `alice@acme.example`
    owner: String,
    /// `json`: the registry's answer (the owners after the change), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: OwnerArgs) -> Result<ExitCode, String> {
    match args.command {
        OwnerCommand::List(args) => list(args),
        OwnerCommand::Add(args) => add(args),
        OwnerCommand::Remove(args) => remove(args),
    }
}

fn list(args: ListArgs) -> Result<ExitCode, String> {
    let options = ListOwnersOptions {
        registry: args.registry.public()?,
        namespace: args.namespace,
    };
    let owners = list_owners(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&owners)?;
    } else {
        for owner in &owners.owners {
            println!("{}", visible(owner));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn add(args: ChangeArgs) -> Result<ExitCode, String> {
    let options = AddOwnerOptions {
        registry: args.registry.authenticated()?,
        namespace: args.namespace,
        owner: args.owner,
    };
    let change = add_owner(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&change.owners)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (namespace, owner) = (&options.namespace, &options.owner);
    if change.added {
        println!("added `{owner}` to the owners of `{namespace}`");
    } else {
        println!("`{owner}` already owns `{namespace}`");
    }
    println!("owners: {}", visible(&change.owners.owners.join(", ")));
    Ok(ExitCode::SUCCESS)
}

fn remove(args: ChangeArgs) -> Result<ExitCode, String> {
    let options = RemoveOwnerOptions {
        registry: args.registry.authenticated()?,
        namespace: args.namespace,
        owner: args.owner,
    };
    let owners = remove_owner(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&owners)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "removed `{}` from the owners of `{}`",
        options.owner, options.namespace
    );
    println!("owners: {}", visible(&owners.owners.join(", ")));
    Ok(ExitCode::SUCCESS)
}
