//! `threatpack namespace create NAME --owner EMAIL` (an `admin` token) and `threatpack
//! namespace show NAME`: the namespaces of the registry, which packs are published into.

use std::process::ExitCode;
use threatpack::render::visible;

use clap::{Args, Subcommand};
use threatpack::ops::registry::{
    CreateNamespaceOptions, ShowNamespaceOptions, create_namespace, show_namespace,
};
use threatpack::wire::{Namespace, NamespaceAnswer};

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct NamespaceArgs {
    #[command(subcommand)]
    command: NamespaceCommand,
}

#[derive(Debug, Subcommand)]
enum NamespaceCommand {
    /// Create a namespace (needs an `admin` token)
    Create(CreateArgs),
    /// Show a namespace: its owners and when it was created
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// The namespace: lower-case letters, digits and `-`, e.g. `acme`
    name: String,
    /// An owner: a user name or an e-mail address (repeat for several)
    #[arg(long = "owner", value_name = "EMAIL")]
    owners: Vec<String>,
    /// `json`: the registry's answer (`namespace`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The namespace, e.g. `acme`
    name: String,
    /// `json`: the registry's answer (`namespace`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: NamespaceArgs) -> Result<ExitCode, String> {
    match args.command {
        NamespaceCommand::Create(args) => {
            let options = CreateNamespaceOptions {
                registry: args.registry.authenticated()?,
                name: args.name,
                owners: args.owners,
            };
            let namespace = create_namespace(&options).map_err(message)?;
            if args.format == Format::Human {
                println!("created namespace `{}`", visible(&namespace.name));
            }
            print(namespace, args.format)
        }
        NamespaceCommand::Show(args) => {
            let options = ShowNamespaceOptions {
                registry: args.registry.public()?,
                name: args.name,
            };
            let namespace = show_namespace(&options).map_err(message)?;
            if args.format == Format::Human {
                println!("{}", visible(&namespace.name));
            }
            print(namespace, args.format)
        }
    }
}

fn print(namespace: Namespace, format: Format) -> Result<ExitCode, String> {
    match format {
        Format::Json => print_json(&NamespaceAnswer { namespace })?,
        Format::Human => {
            let owners = if namespace.owners.is_empty() {
                "(none)".to_string()
            } else {
                namespace.owners.join(", ")
            };
            println!("  owners: {}", visible(&owners));
            println!("  created: {}", visible(&namespace.created_at));
        }
    }
    Ok(ExitCode::SUCCESS)
}
