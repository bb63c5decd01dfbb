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
    let created = threatpack::ops::new_pack(&args.name, args.directory.as_deref())
        .map_err(|error| error.to_string())?;
    let directory = created.directory.display();
    crate::output::say!("created `{}` in `{directory}`:", args.name);
    for path in created.files {
        crate::output::say!("  {path}");
    }
    crate::output::say!("next: `threatpack check {directory}`");
    Ok(ExitCode::SUCCESS)
}
