//! `threatpack import FORMAT INPUT --out DIR`: MITRE CAPEC or ATT&CK, pytm's library or a Threat
//! Modeling Tool template as a pack, and the report of what was not translated.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use threatpack::import::{Format as ImportFormat, ImportReport};
use threatpack::ops::{self, ImportFailure, ImportOptions};
use threatpack::render::{SourceMap, render_human, visible};

use super::{Format, plural};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// MITRE CAPEC: a STIX 2.1 bundle (github.com/mitre/cti, capec/2.1) or the official XML
    Capec,
    /// MITRE ATT&CK Enterprise, ICS or Mobile: a STIX 2.0 or 2.1 bundle
    Attack,
    /// OWASP pytm's threat library: threats.json (pytm/threatlib/threats.json)
    Pytm,
    /// A Microsoft Threat Modeling Tool template (.tb7)
    Tmt,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the input is
    #[arg(value_enum)]
    source: Source,
    /// The file to import
    input: PathBuf,
    /// The pack directory to write (must not exist or be empty, unless --force)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The pack's name (default: mitre/capec, mitre/attack-enterprise, -ics, -mobile, owasp/pytm; tmt/TEMPLATE-NAME)
    #[arg(long, value_name = "NAMESPACE/NAME")]
    name: Option<String>,
    /// The pack's version (default: the source's release, e.g. 3.9.0 for CAPEC 3.9; 1.4.0 for pytm)
    #[arg(long, value_name = "SEMVER")]
    version: Option<String>,
    /// A mapping file laid over the built-in mapping (docs/interop.md#mapping-tables)
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Replace the --out directory when it holds files
    #[arg(long)]
    force: bool,
    /// The report: for people (stderr), or one JSON document (stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: ImportArgs) -> Result<ExitCode, String> {
    let options = ImportOptions {
        format: match args.source {
            Source::Capec => ImportFormat::Capec,
            Source::Attack => ImportFormat::Attack,
            Source::Pytm => ImportFormat::Pytm,
            Source::Tmt => ImportFormat::Tmt,
        },
        input: args.input,
        out: args.out,
        name: args.name,
        version: args.version,
        mapping: args.mapping,
        force: args.force,
    };
    let imported = match ops::import(&options) {
        Ok(imported) => imported,
        Err(ImportFailure::Mapping { file, diagnostics }) => {
            let display = file.display().to_string();
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let mut sources = SourceMap::new();
            sources.add_file(&display, &text);
            let styled = crate::output::styled();
            let mut stderr = std::io::stderr().lock();
            for diagnostic in &diagnostics {
                let _ = writeln!(stderr, "{}\n", render_human(diagnostic, &sources, styled));
            }
            let _ = writeln!(
                stderr,
                "error: the mapping `{display}` has {}",
                plural(diagnostics.len(), "problem")
            );
            return Ok(ExitCode::from(1));
        }
        Err(ImportFailure::Other(message)) => return Err(message),
    };
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&imported.report)
                .map_err(|error| format!("cannot write the report: {error}"))?;
            println!("{json}");
        }
        Format::Human => eprint!(
            "{}",
            human(&imported.report, &imported.out.display().to_string())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The report for people: what was made, then every reason with a few of its items.
fn human(report: &ImportReport, out: &str) -> String {
    let mut text = format!(
        "imported {} into `{}` as {} {}: {}, {}, {}, {}\n",
        visible(&report.source),
        visible(out),
        report.pack,
        report.version,
        plural(report.entities, "entity"),
        plural(report.attack_patterns, "attack pattern"),
        plural(report.mitigations, "mitigation"),
        plural(report.links, "link"),
    );
    if let Some(filters) = &report.filters {
        text.push_str(&format!(
            "generation filters translated exactly: {} of {} ({:.1} %)\n",
            filters.exact,
            filters.total,
            if filters.total == 0 {
                100.0
            } else {
                filters.exact as f64 * 100.0 / filters.total as f64
            }
        ));
    }
    for (title, entries) in [
        ("not translated", &report.not_translated),
        ("taken from the mapping", &report.defaults),
    ] {
        if entries.is_empty() {
            continue;
        }
        text.push_str(&format!("{title}:\n"));
        for entry in entries {
            text.push_str(&entry_line(entry));
        }
    }
    text.push_str("the whole list: --format json\n");
    text
}

/// One reason of a report, `  REASON (N): ITEM, ITEM, ITEM, ITEM, and M more`, escaped (the
/// import and export reports alike; `--format json` has every item).
pub(super) fn entry_line(entry: &threatpack::import::ReportEntry) -> String {
    let shown: Vec<String> = entry
        .items
        .iter()
        .take(4)
        .map(|item| visible(item))
        .collect();
    let more = entry.items.len().saturating_sub(shown.len());
    let more = if more > 0 {
        format!(", and {more} more")
    } else {
        String::new()
    };
    format!(
        "  {} ({}): {}{more}\n",
        visible(&entry.reason),
        entry.items.len(),
        shown.join(", ")
    )
}
