//! `threatpack export FORMAT PACK|BUNDLE --out FILE`: a pack or bundle in another tool's
//! format, and the report of what that format could not express.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::export::ExportReport;
use threatpack::ops::{self, ExportFormat, ExportOptions};
use threatpack::render::visible;

use super::dependencies::{DependencyArgs, TerminalProgress, report_error};
use super::registry::RegistryArgs;
use super::{Format, plural};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// An OWASP pytm threat library (threats.json, loaded by pytm 1.4's TM.threatsFile)
    Pytm,
    /// A Microsoft Threat Modeling Tool template (.tb7)
    Tmt,
}

impl Target {
    fn format(self) -> ExportFormat {
        match self {
            Target::Pytm => ExportFormat::Pytm,
            Target::Tmt => ExportFormat::Tmt,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write
    #[arg(value_enum)]
    target: Target,
    /// A pack directory (checked and compiled) or a built bundle
    input: PathBuf,
    /// The file to write (replaced when it exists)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The report: for people (stderr), or one JSON document (stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    dependencies: DependencyArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: ExportArgs) -> Result<ExitCode, String> {
    let options = ExportOptions {
        format: args.target.format(),
        input: args.input,
        out: args.out,
        dependencies: args.dependencies.options(&args.registry),
    };
    let exported = match ops::export(&options, &TerminalProgress::default()) {
        Ok(exported) => exported,
        Err(error) => return Ok(report_error(&error)),
    };
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&exported.report)
                .map_err(|error| format!("cannot write the report: {error}"))?;
            println!("{json}");
        }
        Format::Human => eprint!(
            "{}",
            human(&exported.report, &exported.out.display().to_string())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The report for people: what was written, then every reason with a few of its items.
fn human(report: &ExportReport, out: &str) -> String {
    let written: Vec<String> = report
        .written
        .iter()
        .map(|(what, count)| plural(*count, what.replace('-', " ").trim_end_matches('s')))
        .collect();
    let mut text = format!(
        "exported {} {} to `{}` as {}: {}\nconditions expressed exactly: {} of {}\n",
        report.pack,
        report.version,
        visible(out),
        report.format,
        written.join(", "),
        report.exact_conditions,
        report.conditions,
    );
    if !report.not_exported.is_empty() {
        text.push_str("not exported or changed:\n");
        for entry in &report.not_exported {
            text.push_str(&super::import::entry_line(entry));
        }
        text.push_str("the whole list: --format json\n");
    }
    text
}
