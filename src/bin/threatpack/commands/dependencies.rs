//! What the commands on the consuming side share: the `--locked`/`--offline` flags as
//! [`DependencyOptions`], the terminal's [`Progress`] (a bar on a terminal only), and printing
//! an operation's error (with its diagnostics) as the exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Mutex;
use threatpack::render::visible;

use clap::Args;
use threatpack::ops::{DependencyOptions, Error, Progress};
use threatpack::render::{SourceMap, render_human};

use super::registry::RegistryArgs;

#[derive(Debug, Args, Clone, Default)]
pub struct DependencyArgs {
    /// Fail instead of changing threatpack.lock
    #[arg(long)]
    pub locked: bool,
    /// Use only the cache: no index reads, no downloads
    #[arg(long)]
    pub offline: bool,
    /// Accept an index whose signed envelope has expired, with a warning (an offline mirror);
    /// it may hide versions and yanks published since
    #[arg(long)]
    pub allow_expired_index: bool,
}

impl DependencyArgs {
    /// The options of the operations: `--registry` (else the project's, the environment's or
    /// the default, as the library decides), `--locked`, `--offline`, the cache from the
    /// environment.
    pub fn options(&self, registry: &RegistryArgs) -> DependencyOptions {
        DependencyOptions {
            registry: registry.registry.clone(),
            locked: self.locked,
            offline: self.offline,
            cache: None,
            allow_expired_index: self.allow_expired_index,
        }
    }
}

/// Progress on stderr: a bar while a step runs (on a terminal only), notes as `note:` lines.
#[derive(Default)]
pub struct TerminalProgress {
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Progress for TerminalProgress {
    fn start(&self, step: &str, total: u64) {
        use crate::output::{Verbosity, verbosity};
        if verbosity() == Verbosity::Verbose {
            eprintln!("{step}: {total}");
        }
        // A bar only on a terminal, and not with `-q`; `-v` lists each unit instead.
        if !std::io::stderr().is_terminal() || verbosity() != Verbosity::Normal {
            return;
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(step.to_string());
        if let Ok(mut current) = self.bar.lock() {
            *current = Some(bar);
        }
    }

    fn advance(&self, what: &str) {
        if let Ok(current) = self.bar.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.set_message(what.to_string());
            bar.inc(1);
        } else if crate::output::verbosity() == crate::output::Verbosity::Verbose {
            eprintln!("  {what}");
        }
    }

    fn finish(&self) {
        if let Ok(mut current) = self.bar.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }

    fn note(&self, message: &str) {
        self.print("note", message);
    }

    fn warn(&self, message: &str) {
        self.print("warning", message);
    }
}

impl TerminalProgress {
    /// `label: message` on stderr, around the bar if one is shown.
    fn print(&self, label: &str, message: &str) {
        let print = || eprintln!("{label}: {}", visible(message));
        match self.bar.lock().ok().as_ref().and_then(|bar| bar.as_ref()) {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

/// Prints an operation's error (a pack's or a model's diagnostics first) and returns the exit
/// code: 1 when the input has errors, 2 for an operational failure.
pub fn report_error(error: &Error) -> ExitCode {
    match error {
        Error::PackHasErrors {
            diagnostics, graph, ..
        } => {
            let _ = super::print_diagnostics(diagnostics, graph, super::Format::Human);
            eprintln!("error: {}", visible(&error.to_string()));
            ExitCode::from(1)
        }
        Error::ModelHasErrors {
            file,
            text,
            diagnostics,
        } => {
            print_model_diagnostics(diagnostics, file, text);
            eprintln!("error: {}", visible(&error.to_string()));
            ExitCode::from(1)
        }
        _ => {
            eprintln!("error: {}", visible(&error.to_string()));
            ExitCode::from(2)
        }
    }
}

/// Prints diagnostics about a model file.
fn print_model_diagnostics(
    diagnostics: &[threatpack::diagnostic::Diagnostic],
    display_path: &str,
    text: &str,
) {
    let mut sources = SourceMap::new();
    sources.add_file(display_path, text);
    let styled = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for diagnostic in diagnostics {
        eprintln!("{}\n", render_human(diagnostic, &sources, styled));
    }
}
