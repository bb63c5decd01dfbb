//! `threatpack changelog OLD NEW [--out FILE]`: the changes between two versions of a pack as
//! a Markdown changelog (additions, breaking changes, changes, patches, deprecations, removals).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::versioning::{changelog, diff, required_bump};
use threatpack::workspace::write_atomically;

use super::versions::{SourceArgs, load};

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
    let old = match load(&args.old, &args.source)? {
        Ok(kb) => kb,
        Err(code) => return Ok(code),
    };
    let new = match load(&args.new, &args.source)? {
        Ok(kb) => kb,
        Err(code) => return Ok(code),
    };
    let diff = diff(&old, &new);
    let text = changelog(&diff, &required_bump(&diff));
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes(), 0o644)?;
            crate::output::status(&format!("wrote `{}`", path.display()));
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
