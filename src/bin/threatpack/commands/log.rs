//! `threatpack log verify`: monitor a registry's transparency log (`ops::registry::verify_log`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use threatpack::client::cache::Cache;
use threatpack::ops::registry::{LogVerifyOptions, verify_log};
use threatpack::render::visible;
use threatpack::transparency::RegistryKey;

/// A signed note for the terminal: each line made visible, the newlines kept.
fn visible_note(note: &str) -> String {
    note.lines()
        .map(|line| format!("{}\n", visible(line)))
        .collect()
}

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Download the registry's whole transparency log, recompute its tree, check its signed
    /// checkpoint and that it extends the last one seen, and check every index against it
    /// (exit 1 on any problem: run it nightly)
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The registry key to check the checkpoint with (`ORIGIN+KEYID+BASE64`, as
    /// `GET /api/v1/registry/key` shows it); default: the pinned key, else the registry's own
    #[arg(long, value_name = "VKEY")]
    key: Option<String>,
    /// Witness mode: when the log verifies, cosign its checkpoint with this note private key
    /// (`PRIVATE+KEY+NAME+ID+BASE64`, Go's note format) and print the cosigned checkpoint
    #[arg(long, value_name = "KEYFILE")]
    cosign: Option<std::path::PathBuf>,
    /// `json`: the report as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: LogArgs) -> Result<ExitCode, String> {
    match args.command {
        LogCommand::Verify(args) => run_verify(args),
    }
}

fn run_verify(args: VerifyArgs) -> Result<ExitCode, String> {
    let witness = match &args.cosign {
        Some(path) => {
            let text = threatpack::workspace::read_capped(path, 4096)
                .map_err(|error| format!("the witness key: {error}"))?;
            let key = RegistryKey::parse(String::from_utf8_lossy(&text).trim())
                .map_err(|error| format!("`{}` is not a witness key: {error}", path.display()))?;
            Some(key)
        }
        None => None,
    };
    let options = LogVerifyOptions {
        registry: args.registry.public()?,
        key: args.key,
        cache: Cache::from_env()?,
        witness,
    };
    let report = verify_log(&options).map_err(message)?;
    let status = if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if args.format == Format::Json {
        print_json(&report)?;
        return Ok(status);
    }
    println!(
        "{} log `{}`: {} entries, root {}",
        report.registry,
        visible(&report.origin),
        report.size,
        report.root
    );
    let kinds: Vec<String> = report
        .entries
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    if !kinds.is_empty() {
        println!("  entries: {}", kinds.join(", "));
    }
    println!(
        "  checked {} versions of {} packs against the log{}",
        report.versions_checked,
        report.packs_checked,
        if report.versions_newer_than_checkpoint > 0 {
            format!(
                " ({} logged after the checkpoint, checked next time)",
                report.versions_newer_than_checkpoint
            )
        } else {
            String::new()
        }
    );
    if report.problems.is_empty() {
        println!(
            "  no problems: the tree matches the signed checkpoint, which extends the last one seen, and every index agrees with the log"
        );
        if let Some(cosigned) = &report.cosigned_checkpoint {
            println!("cosigned checkpoint:");
            print!("{}", visible_note(cosigned));
        }
    } else {
        for problem in &report.problems {
            eprintln!("problem: {problem}");
        }
        eprintln!(
            "{} problem(s): the registry's history is not what it signed or what it serves; keep this output and report it",
            report.problems.len()
        );
    }
    Ok(status)
}
