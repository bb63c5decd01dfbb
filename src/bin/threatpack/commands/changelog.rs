//! `threatpack changelog OLD NEW [--out FILE]`: the changes between two versions of a pack as
//! a Markdown changelog (additions, breaking changes, changes, patches, deprecations, removals).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::ops;
use threatpack::versioning::changelog;
use threatpack::workspace::write_atomically;

use super::dependencies::{TerminalProgress, report_error};
use super::versions::SourceArgs;

#[derive(Debug, Args)]
pub struct ChangelogArgs {
    /// The old version: a pack directory, a bundle file, or `namespace/name@version` on the
    /// registry
    old: String,
    /// The new version, in the same forms
    new: String,
    /// Write the changelog to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: ChangelogArgs) -> Result<ExitCode, String> {
    let progress = TerminalProgress::default();
    let compared = match ops::compare(&args.old, &args.new, &args.source.options(), &progress) {
        Ok(compared) => compared,
        Err(error) => return Ok(report_error(&error)),
    };
    let text = changelog(&compared.diff, &compared.bump);
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes(), 0o644)?;
            crate::output::status(&format!("wrote `{}`", path.display()));
        }
        None => print!("{}", threatpack::render::visible(&text)),
    }
    Ok(ExitCode::SUCCESS)
}
