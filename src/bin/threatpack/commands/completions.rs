//! `threatpack completions SHELL` and `threatpack man --out DIR`: generated from the clap
//! definition of the command line, so they always match its flags.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write `threatpack.1` and `threatpack-SUBCOMMAND.1` into
    #[arg(long, default_value = "man")]
    out: PathBuf,
}

pub fn run_completions(args: CompletionsArgs) -> Result<ExitCode, String> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "threatpack",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_man(args: ManArgs) -> Result<ExitCode, String> {
    std::fs::create_dir_all(&args.out)
        .map_err(|error| format!("cannot create `{}`: {error}", args.out.display()))?;
    // One page per command and subcommand, named as `man threatpack-apply` expects.
    clap_mangen::generate_to(Cli::command(), &args.out).map_err(|error| {
        format!(
            "cannot write man pages into `{}`: {error}",
            args.out.display()
        )
    })?;
    let pages = std::fs::read_dir(&args.out)
        .map(|entries| entries.filter_map(Result::ok).count())
        .unwrap_or(0);
    crate::output::status(&format!(
        "wrote {} into `{}`",
        super::plural(pages, "man page"),
        args.out.display()
    ));
    Ok(ExitCode::SUCCESS)
}
