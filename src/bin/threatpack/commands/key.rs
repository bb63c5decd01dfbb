//! `threatpack key generate [--out PREFIX] [--unencrypted] [--force]`,
//! `threatpack key add NAMESPACE PUBFILE`, which registers a public key as a publisher key of a
//! namespace on the registry, `threatpack key remove NAMESPACE KEY_ID` and
//! `threatpack key list NAMESPACE`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::ops::registry::{
    AddKeyOptions, ListKeysOptions, RemoveKeyOptions, add_key, list_keys, remove_key,
};
use threatpack::ops::{GenerateKeyOptions, generate_key_files};
use threatpack::render::visible;

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Generate a minisign key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub
    Generate(GenerateArgs),
    /// Register a public key (PREFIX.pub) as a publisher key of a namespace on the registry
    /// (needs the `manage-keys` scope on the namespace)
    Add(AddArgs),
    /// Remove a publisher key of a namespace on the registry (a lost or retired key): no new
    /// version may be signed by it; the versions it signed stay for the lockfiles that pin
    /// them (needs the `manage-keys` scope on the namespace)
    Remove(RemoveArgs),
    /// List the publisher keys of a namespace on the registry
    List(ListArgs),
}

#[derive(Debug, Args)]
struct RemoveArgs {
    /// The namespace, e.g. `acme`
    namespace: String,
    /// The key id, 16 hex digits (`threatpack key list NAMESPACE` shows them)
    key_id: String,
    /// `json`: the registry's answer (the `keys` left), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The namespace whose bundles the key signs, e.g. `acme`
    namespace: String,
    /// The public key file (`threatpack key generate` writes PREFIX.pub)
    #[arg(value_name = "PUBFILE")]
    public_key: PathBuf,
    /// `json`: the registry's answer (`key_id`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The namespace, e.g. `acme`
    namespace: String,
    /// `json`: the registry's answer (`keys`), as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// The key files' path without extension
    #[arg(long, value_name = "PREFIX", default_value = "threatpack")]
    out: PathBuf,
    /// Store the secret key without a password (for throwaway keys; anyone who reads the file
    /// can sign)
    #[arg(long)]
    unencrypted: bool,
    /// Replace existing key files
    #[arg(long)]
    force: bool,
}

pub fn run(args: KeyArgs) -> Result<ExitCode, String> {
    match args.command {
        KeyCommand::Generate(args) => generate(args),
        KeyCommand::Add(args) => add(args),
        KeyCommand::Remove(args) => remove(args),
        KeyCommand::List(args) => list(args),
    }
}

fn generate(args: GenerateArgs) -> Result<ExitCode, String> {
    let options = GenerateKeyOptions {
        prefix: args.out,
        encrypted: !args.unencrypted,
        force: args.force,
    };
    let generated =
        generate_key_files(&options, &new_password).map_err(|error| error.to_string())?;
    crate::output::say!("key {}:", generated.key_id);
    crate::output::say!(
        "  secret: {}{}",
        generated.secret.display(),
        if args.unencrypted {
            " (NOT encrypted)"
        } else {
            " (encrypted)"
        }
    );
    crate::output::say!("  public: {}", generated.public.display());
    Ok(ExitCode::SUCCESS)
}

/// The password of a new key: `THREATPACK_KEY_PASSWORD`, else asked twice on the terminal.
fn new_password() -> Result<String, String> {
    if let Ok(password) = std::env::var(threatpack::signing::PASSWORD_ENV) {
        return Ok(password);
    }
    let first = super::key_password("Password for the new key: ")?;
    let second = rpassword::prompt_password("Password (again): ")
        .map_err(|error| format!("cannot read the password: {error}"))?;
    if first != second {
        return Err("the passwords do not match".to_string());
    }
    Ok(first)
}

fn add(args: AddArgs) -> Result<ExitCode, String> {
    let options = AddKeyOptions {
        registry: args.registry.authenticated()?,
        namespace: args.namespace,
        public_key_file: args.public_key,
    };
    let addition = add_key(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&addition.answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (key_id, namespace) = (&visible(&addition.answer.key_id), &options.namespace);
    if addition.added {
        println!("key {key_id} registered for `{namespace}`");
    } else {
        println!("key {key_id} was already registered for `{namespace}`");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs) -> Result<ExitCode, String> {
    let options = ListKeysOptions {
        registry: args.registry.public()?,
        namespace: args.namespace,
    };
    let keys = list_keys(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&keys)?;
        return Ok(ExitCode::SUCCESS);
    }
    for key in &keys.keys {
        println!("{}  added {}", visible(&key.key_id), visible(&key.added_at));
    }
    if keys.keys.is_empty() {
        eprintln!(
            "`{}` has no publisher keys: register one with `threatpack key add {} PUBFILE`",
            options.namespace, options.namespace
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(args: RemoveArgs) -> Result<ExitCode, String> {
    let options = RemoveKeyOptions {
        registry: args.registry.authenticated()?,
        namespace: args.namespace,
        key_id: args.key_id,
    };
    let keys = remove_key(&options).map_err(message)?;
    if args.format == Format::Json {
        print_json(&keys)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "key {} removed from `{}`; the versions it signed stay for the lockfiles that pin them",
        options.key_id, options.namespace
    );
    let left: Vec<String> = keys.keys.iter().map(|key| visible(&key.key_id)).collect();
    if left.is_empty() {
        eprintln!(
            "`{}` has no publisher keys left: register one with `threatpack key add {} PUBFILE` before the next publish",
            options.namespace, options.namespace
        );
    } else {
        println!("keys left: {}", left.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
