//! `threatpack new NAMESPACE/NAME [DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The pack name, `namespace/name`
    name: String,
    /// Where to create it (default: the name's last part)
    directory: Option<PathBuf>,
}

pub fn run(args: NewArgs) -> Result<ExitCode, String> {
    let directory = args
        .directory
        .unwrap_or_else(|| PathBuf::from(args.name.rsplit('/').next().unwrap_or(&args.name)));
    let written = threatpack::scaffold::write(&directory, &args.name)?;
    eprintln!("created `{}` in `{}`:", args.name, directory.display());
    for path in written {
        eprintln!("  {path}");
    }
    eprintln!("next: `threatpack check {}`", directory.display());
    Ok(ExitCode::SUCCESS)
}
