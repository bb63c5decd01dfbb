//! `threatpack schema [KIND] [--out DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::ops;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// pack, entities, attack-patterns, mitigations, overrides, pack-test, model, otm-mapping,
    /// manifest, kb, report, backlog, project, lockfile, diff, semver-check or common
    kind: Option<String>,
    /// Write every schema into this directory instead of printing one
    #[arg(long, value_name = "DIR", conflicts_with = "kind")]
    out: Option<PathBuf>,
}

pub fn run(args: SchemaArgs) -> Result<ExitCode, String> {
    if let Some(directory) = args.out {
        let written = ops::write_schemas(&directory).map_err(|error| error.to_string())?;
        crate::output::status(&format!(
            "wrote {written} schemas into `{}`",
            directory.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = args.kind else {
        return Err(format!(
            "name a schema ({}) or pass `--out DIR`",
            ops::schema_names()
        ));
    };
    let kind = ops::schema(&name).map_err(|error| error.to_string())?;
    print!("{}", kind.text());
    Ok(ExitCode::SUCCESS)
}
