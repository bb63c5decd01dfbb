//! `threatpack key generate [--out PREFIX] [--unencrypted] [--force]` and
//! `threatpack key add NAMESPACE PUBFILE`, which registers a public key as a publisher key of a
//! namespace on the registry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::signing::{generate_key, parse_public_keys};
use threatpack::workspace::{read_capped, write_new_file};

use super::registry::{RegistryArgs, Request, common_error, encode, send, token};

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
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The namespace whose bundles the key signs, e.g. `acme`
    namespace: String,
    /// The public key file (`threatpack key generate` writes PREFIX.pub)
    #[arg(value_name = "PUBFILE")]
    public_key: PathBuf,
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
        KeyCommand::Add(args) => add(&args),
    }
}

fn generate(args: GenerateArgs) -> Result<ExitCode, String> {
    let secret_path = with_extension(&args.out, "key");
    let public_path = with_extension(&args.out, "pub");
    if !args.force {
        for path in [&secret_path, &public_path] {
            if path.exists() {
                return Err(format!(
                    "`{}` exists; pass `--force` to replace it",
                    path.display()
                ));
            }
        }
    }
    let password = if args.unencrypted {
        None
    } else {
        let password = match std::env::var(threatpack::signing::PASSWORD_ENV) {
            Ok(password) => password,
            Err(_) => {
                let first = super::key_password("Password for the new key: ")?;
                let second = rpassword::prompt_password("Password (again): ")
                    .map_err(|error| format!("cannot read the password: {error}"))?;
                if first != second {
                    return Err("the passwords do not match".to_string());
                }
                first
            }
        };
        if password.is_empty() {
            return Err(format!(
                "an empty password: give one, or pass `--unencrypted` to store the key without one ({} was empty or unset)",
                threatpack::signing::PASSWORD_ENV
            ));
        }
        Some(password)
    };
    let key = generate_key(password)?;
    write_new_file(&secret_path, key.secret.as_bytes(), 0o600, args.force)?;
    write_new_file(&public_path, key.public.as_bytes(), 0o644, args.force)?;
    eprintln!("key {}:", key.key_id);
    eprintln!(
        "  secret: {}{}",
        secret_path.display(),
        if args.unencrypted {
            " (NOT encrypted)"
        } else {
            " (encrypted)"
        }
    );
    eprintln!("  public: {}", public_path.display());
    Ok(ExitCode::SUCCESS)
}

/// A public key file is a few lines; anything larger is not one.
const MAX_PUBLIC_KEY_BYTES: u64 = 64 * 1024;

fn add(args: &AddArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let shown = args.public_key.display();
    // Read and checked here, so that nothing but one public key ever leaves the machine (not a
    // secret key given by mistake).
    let text = String::from_utf8(read_capped(&args.public_key, MAX_PUBLIC_KEY_BYTES)?)
        .map_err(|_| format!("`{shown}` is not a minisign public key (not UTF-8)"))?;
    let keys = parse_public_keys(&text).map_err(|error| {
        format!("`{shown}` is not a minisign public key ({error})\nhelp: pass the `.pub` file `threatpack key generate` wrote, never the `.key` file")
    })?;
    let [key] = &keys[..] else {
        return Err(format!(
            "`{shown}` holds {} public keys: register them one at a time, one file each",
            keys.len()
        ));
    };
    let token = token(&registry)?;
    let namespace = &args.namespace;
    let path = format!("/namespaces/{}/keys", encode(namespace));
    let body = serde_json::json!({ "public_key": text }).to_string();
    let mut request = Request::new("POST", &path);
    request.token = Some(&token);
    request.body = Some(("application/json", body.as_bytes()));
    let response = send(&registry, &request)?;
    match response.status {
        201 => println!("key {} registered for `{namespace}`", key.key_id),
        200 => println!(
            "key {} was already registered for `{namespace}`",
            key.key_id
        ),
        404 => {
            return Err(format!(
                "no namespace `{namespace}` on {registry}: ask the registry's administrator to create it"
            ));
        }
        422 => {
            return Err(format!(
                "the registry refused the key: {}",
                response.detail()
            ));
        }
        _ => {
            return Err(common_error(
                &registry,
                &response,
                &format!("the `manage-keys` scope covering `{namespace}/*`"),
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn with_extension(prefix: &std::path::Path, extension: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}
