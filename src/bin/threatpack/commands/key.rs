//! `threatpack key generate [--out PREFIX] [--unencrypted] [--force]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::signing::generate_key;
use threatpack::workspace::write_new_file;

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Generate a minisign key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub
    Generate(GenerateArgs),
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
    let KeyCommand::Generate(args) = args.command;
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

fn with_extension(prefix: &std::path::Path, extension: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}
