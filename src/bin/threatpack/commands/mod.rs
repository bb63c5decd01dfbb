//! One module per subcommand. Each returns the exit code, or an operational error message
//! (printed as `error: ...` with exit code 2).

pub mod apply;
pub mod build;
pub mod changelog;
pub mod check;
pub mod completions;
pub mod dependencies;
pub mod deprecate;
pub mod diff;
pub mod export;
pub mod impact;
pub mod import;
pub mod info;
pub mod inspect;
pub mod key;
pub mod knowledge;
pub mod lock;
pub mod log;
pub mod login;
pub mod namespace;
pub mod new;
pub mod overrides;
pub mod owner;
pub mod portfolio;
pub mod publish;
pub mod questions;
pub mod registry;
pub mod report;
pub mod schema;
pub mod search;
pub mod semver_check;
pub mod sign;
pub mod test;
pub mod token;
pub mod verify;
pub mod versions;
pub mod yank;

use std::io::{IsTerminal, Write};
use std::path::Path;

use clap::ValueEnum;
use threatpack::diagnostic::{Code, Diagnostic, Severity};
use threatpack::render::{SourceMap, render_human, render_json_lines};
use threatpack::resolve::PackGraph;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// A path as shown in messages: as typed, without a trailing `/`.
pub fn display_root(path: &Path) -> String {
    let shown = path.to_string_lossy().trim_end_matches('/').to_string();
    if shown.is_empty() {
        ".".to_string()
    } else {
        shown
    }
}

/// `--deny` takes `warnings` or a lint code.
pub fn validate_deny(deny: &[String]) -> Result<(), String> {
    for denied in deny {
        if denied != "warnings"
            && Code::from_name(denied)
                .is_none_or(|code| code.default_severity() != Severity::Warning)
        {
            return Err(format!(
                "`--deny {denied}`: not a lint; use `warnings` or a lint code such as `unused-property`"
            ));
        }
    }
    Ok(())
}

/// Prints diagnostics: rustc-style on stderr, or JSON lines on stdout.
pub fn print_diagnostics(
    diagnostics: &[Diagnostic],
    graph: &PackGraph,
    format: Format,
) -> Result<(), String> {
    let mut sources = SourceMap::new();
    for pack in &graph.packs {
        sources.add_pack(&pack.sources);
    }
    match format {
        Format::Json => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(render_json_lines(diagnostics, &sources).as_bytes())
                .map_err(|error| format!("cannot write to stdout: {error}"))?;
        }
        Format::Human => {
            let styled = crate::output::styled();
            let mut stderr = std::io::stderr().lock();
            for diagnostic in diagnostics {
                let _ = writeln!(stderr, "{}\n", render_human(diagnostic, &sources, styled));
            }
        }
    }
    Ok(())
}

pub fn plural(count: usize, noun: &str) -> String {
    match (count, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{count} {stem}ies"),
        _ => format!("{count} {noun}s"),
    }
}

/// The password of a secret key: `THREATPACK_KEY_PASSWORD`, else asked on the terminal.
pub fn key_password(prompt: &str) -> Result<String, String> {
    if let Ok(password) = std::env::var(threatpack::signing::PASSWORD_ENV) {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "the secret key is encrypted: set {} or run in a terminal",
            threatpack::signing::PASSWORD_ENV
        ));
    }
    rpassword::prompt_password(prompt).map_err(|error| format!("cannot read the password: {error}"))
}
