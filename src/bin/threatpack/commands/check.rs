//! `threatpack check [PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::check::CheckOptions;
use threatpack::diagnostic::Severity;
use threatpack::ops::PackCheck;

use super::{Format, plural, print_diagnostics, validate_deny};

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

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    validate_deny(&args.deny)?;
    let options = CheckOptions { deny: args.deny };
    let PackCheck { name, checked } =
        threatpack::ops::check(&args.path, &options).map_err(|error| error.to_string())?;
    let report = &checked.report;
    print_diagnostics(&report.diagnostics, &checked.graph, args.format)?;
    if args.format == Format::Human {
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
        eprintln!("{summary}");
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
