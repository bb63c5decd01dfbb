//! `threatpack schema [KIND] [--out DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::schema::SchemaKind;

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
    let names = || {
        SchemaKind::ALL
            .iter()
            .map(|kind| kind.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(directory) = args.out {
        std::fs::create_dir_all(&directory)
            .map_err(|error| format!("cannot create `{}`: {error}", directory.display()))?;
        for kind in SchemaKind::ALL {
            let path = directory.join(kind.file_name());
            std::fs::write(&path, kind.text())
                .map_err(|error| format!("cannot write `{}`: {error}", path.display()))?;
        }
        crate::output::status(&format!(
            "wrote {} schemas into `{}`",
            SchemaKind::ALL.len(),
            directory.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = args.kind else {
        return Err(format!("name a schema ({}) or pass `--out DIR`", names()));
    };
    let kind = SchemaKind::from_name(&name)
        .ok_or_else(|| format!("unknown schema `{name}`; the schemas are {}", names()))?;
    print!("{}", kind.text());
    Ok(ExitCode::SUCCESS)
}
