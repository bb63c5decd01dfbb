//! How the CLI talks to people: colour (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`) and how much
//! it says (`-q`, `-v`). Data goes to stdout; these settings only shape messages on stderr.

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;

/// `--color`: when to style messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set (or if `CLICOLOR_FORCE` is)
    #[default]
    Auto,
    Always,
    Never,
}

/// How much the CLI says on stderr besides errors and the data it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors and warnings only.
    Quiet,
    Normal,
    /// `-v`: also what each step did in detail.
    Verbose,
}

struct Settings {
    styled: bool,
    verbosity: Verbosity,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Records the global flags; called once by `main` before any command runs.
pub fn configure(color: ColorChoice, quiet: bool, verbose: u8) {
    let styled = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            // https://no-color.org and https://bixense.com/clicolors: a set, non-empty variable.
            let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
            if set("NO_COLOR") {
                false
            } else {
                set("CLICOLOR_FORCE") || std::io::stderr().is_terminal()
            }
        }
    };
    let verbosity = match (quiet, verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, _) => Verbosity::Verbose,
    };
    let _ = SETTINGS.set(Settings { styled, verbosity });
}

fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings {
        styled: false,
        verbosity: Verbosity::Normal,
    })
}

/// Whether messages on stderr may carry ANSI styles.
pub fn styled() -> bool {
    settings().styled
}

/// The verbosity chosen with `-q`/`-v`.
pub fn verbosity() -> Verbosity {
    settings().verbosity
}

/// A status line on stderr ("wrote FILE", "locked 3 packs"), silenced by `-q`.
pub fn status(message: &str) {
    if verbosity() >= Verbosity::Normal {
        eprintln!("{message}");
    }
}

/// `say!("wrote `{}`", path)`: [`status`] with `format!` arguments.
macro_rules! say {
    ($($argument:tt)*) => {
        $crate::output::status(&format!($($argument)*))
    };
}
pub(crate) use say;
