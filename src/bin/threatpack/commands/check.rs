//! `threatpack check [PATH]`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::check::{CheckOptions, check_dir};
use threatpack::diagnostic::{Code, Severity};
use threatpack::render::{SourceMap, render_human, render_json_lines};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The pack directory (holding `pack.toml`)
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Report these lints as errors: `warnings` for all, or a lint code such as `unused-property`
    #[arg(long, value_name = "LINT")]
    deny: Vec<String>,
    /// `human` (rustc-style, on stderr) or `json` (one JSON object per line, on stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    for denied in &args.deny {
        if denied != "warnings"
            && Code::from_name(denied)
                .is_none_or(|code| code.default_severity() != Severity::Warning)
        {
            return Err(format!(
                "`--deny {denied}`: not a lint; use `warnings` or a lint code such as `unused-property`"
            ));
        }
    }
    let display_root = args
        .path
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string();
    let display_root = if display_root.is_empty() {
        ".".to_string()
    } else {
        display_root
    };
    let options = CheckOptions { deny: args.deny };
    let checked =
        check_dir(&args.path, &display_root, &options).map_err(|error| error.to_string())?;
    let mut sources = SourceMap::new();
    for pack in &checked.graph.packs {
        sources.add_pack(&pack.sources);
    }
    let report = &checked.report;
    match args.format {
        Format::Json => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(render_json_lines(&report.diagnostics, &sources).as_bytes())
                .map_err(|error| format!("cannot write to stdout: {error}"))?;
        }
        Format::Human => {
            let styled = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut stderr = std::io::stderr().lock();
            for diagnostic in &report.diagnostics {
                let _ = writeln!(stderr, "{}\n", render_human(diagnostic, &sources, styled));
            }
            let name = checked.graph.packs[0]
                .name()
                .unwrap_or(&display_root)
                .to_string();
            let (errors, warnings) = (
                report.count(Severity::Error),
                report.count(Severity::Warning),
            );
            let summary = match (errors, warnings) {
                (0, 0) => format!("checked `{name}`: no problems"),
                (0, warnings) => format!("checked `{name}`: {}", plural(warnings, "warning")),
                (errors, 0) => format!("error: `{name}` has {}", plural(errors, "error")),
                (errors, warnings) => format!(
                    "error: `{name}` has {} and {}",
                    plural(errors, "error"),
                    plural(warnings, "warning")
                ),
            };
            let _ = writeln!(stderr, "{summary}");
        }
    }
    let failed = report.has_errors();
    // The process exits next: freeing every parsed file one by one would only cost time.
    std::mem::forget(checked);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
