//! The `threatpack` command line: parses flags, calls one library function per subcommand,
//! prints the result. Exit codes: 0 success, 1 the pack has errors, 2 usage or I/O failure,
//! 3 a gate failed (`apply --fail-on`, `--policy`).

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The environment variables the client reads, listed under `threatpack --help`.
const ENVIRONMENT_HELP: &str = "\
Environment:
  THREATPACK_REGISTRY      the registry's URL (default http://127.0.0.1:8080)
  THREATPACK_TOKEN         a registry token, instead of the one `threatpack login` stored
  THREATPACK_CONFIG_DIR    where `login` stores credentials (default $XDG_CONFIG_HOME/threatpack)
  THREATPACK_CACHE_DIR     the cache of fetched bundles and indexes (default $XDG_CACHE_HOME/threatpack)
  THREATPACK_KEY_PASSWORD  the password of an encrypted secret key (else asked on the terminal)
  NO_COLOR, CLICOLOR_FORCE turn colour off, or on even when stderr is not a terminal";

#[derive(Debug, Parser)]
#[command(
    name = "threatpack",
    version,
    about = "Author, check and distribute threat-modeling knowledge bases",
    after_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    /// When to colour messages
    #[arg(long, global = true, value_enum, default_value_t = output::ColorChoice::Auto)]
    color: output::ColorChoice,
    /// Say only errors and warnings
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more about each step
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a pack: TOML syntax, JSON Schemas, references, conditions, overrides, tests and lints
    Check(commands::check::CheckArgs),
    /// Print the JSON Schema of a pack file kind (for editors and other tools)
    Schema(commands::schema::SchemaArgs),
    /// Create a new pack that passes `check`, with one file of each kind
    New(commands::new::NewArgs),
    /// Turn MITRE CAPEC or ATT&CK, pytm's threat library or a Threat Modeling Tool template into a pack, reporting what could not be translated
    Import(commands::import::ImportArgs),
    /// Write a pack or bundle in another tool's format (pytm, a Threat Modeling Tool template), reporting what it cannot express
    Export(commands::export::ExportArgs),
    /// Compile a pack (dependencies, overrides, tier) into a deterministic bundle
    Build(commands::build::BuildArgs),
    /// Show a bundle: manifest, contents, signature, and where each field came from
    Inspect(commands::inspect::InspectArgs),
    /// Manage signing keys, and register or remove publisher keys on the registry
    Key(commands::key::KeyArgs),
    /// Sign a bundle (minisign format: BUNDLE.minisig)
    Sign(commands::sign::SignArgs),
    /// Verify a bundle's signature against trusted keys
    Verify(commands::verify::VerifyArgs),
    /// Maintain overrides across upstream changes
    Overrides(commands::overrides::OverridesArgs),
    /// Apply a pack to a system model: threats, mitigations, residual risk, backlog
    Apply(Box<commands::apply::ApplyArgs>),
    /// What a candidate pack version changes in every project's threat model, before it ships
    Impact(commands::impact::ImpactArgs),
    /// Compare JSON reports (`report diff OLD NEW`), or push one to the registry's portfolio
    Report(commands::report::ReportArgs),
    /// Run a pack's tests: models with the findings they must and must not produce
    Test(commands::test::TestArgs),
    /// List the questions a system model has not answered yet, per element and STRIDE category
    Questions(commands::questions::QuestionsArgs),
    /// Store a registry token (from stdin, or asked on the terminal)
    Login(commands::login::LoginArgs),
    /// Upload a signed bundle (BUNDLE and BUNDLE.minisig) to the registry
    Publish(commands::publish::PublishArgs),
    /// Mark a published version as yanked (still downloadable, no longer chosen)
    Yank(commands::yank::YankArgs),
    /// Undo a yank
    Unyank(commands::yank::UnyankArgs),
    /// Mark a published version as deprecated (still chosen, with a warning and a replacement)
    Deprecate(commands::deprecate::DeprecateArgs),
    /// Undo a deprecation
    Undeprecate(commands::deprecate::UndeprecateArgs),
    /// Show a pack's versions on the registry: digest, tier, signer, yanked, deprecated
    Info(commands::info::InfoArgs),
    /// Monitor the registry's transparency log (`log verify`)
    Log(commands::log::LogArgs),
    /// Search the registry's packs by name, description and tags
    Search(commands::search::SearchArgs),
    /// Pin a pack's or project's registry dependencies in threatpack.lock
    Lock(commands::lock::LockArgs),
    /// Move locked registry dependencies to the newest matching versions
    Update(commands::lock::UpdateArgs),
    /// Download the locked packs into the cache, verifying sha256 and signatures
    Fetch(commands::lock::FetchArgs),
    /// List, add and remove the owners of a namespace on the registry
    Owner(commands::owner::OwnerArgs),
    /// Create and show namespaces on the registry
    Namespace(commands::namespace::NamespaceArgs),
    /// List the registry's tokens and revoke one
    Token(commands::token::TokenArgs),
    /// The registry's portfolio of pushed reports: risk, packs behind, trends, dependents
    Portfolio(commands::portfolio::PortfolioArgs),
    /// Show what changed between two versions of a pack and the semver bump it requires
    Diff(commands::diff::DiffArgs),
    /// Check that pack.toml's version is bumped enough over a baseline (the registry's, by default)
    SemverCheck(commands::semver_check::SemverCheckArgs),
    /// Write the changes between two versions of a pack as a Markdown changelog
    Changelog(commands::changelog::ChangelogArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(commands::completions::CompletionsArgs),
    /// Write man pages for threatpack and each subcommand into a directory
    Man(commands::completions::ManArgs),
}

/// The stack of the thread that runs a command. The checks bound every recursion (TOML and
/// CEL nesting limits), but the parsers they call recurse before those limits apply; a large
/// stack keeps a hostile file from crashing the process. Only touched pages use memory.
const COMMAND_STACK_BYTES: usize = 256 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::configure(cli.color, cli.quiet, cli.verbose);
    let command = std::thread::Builder::new()
        .name("threatpack".to_string())
        .stack_size(COMMAND_STACK_BYTES)
        .spawn(move || match cli.command {
            Command::Check(args) => commands::check::run(args),
            Command::Schema(args) => commands::schema::run(args),
            Command::New(args) => commands::new::run(args),
            Command::Import(args) => commands::import::run(args),
            Command::Export(args) => commands::export::run(args),
            Command::Build(args) => commands::build::run(args),
            Command::Inspect(args) => commands::inspect::run(args),
            Command::Key(args) => commands::key::run(args),
            Command::Sign(args) => commands::sign::run(args),
            Command::Verify(args) => commands::verify::run(args),
            Command::Overrides(args) => commands::overrides::run(args),
            Command::Apply(args) => commands::apply::run(*args),
            Command::Impact(args) => commands::impact::run(args),
            Command::Report(args) => commands::report::run(args),
            Command::Test(args) => commands::test::run(args),
            Command::Questions(args) => commands::questions::run(args),
            Command::Login(args) => commands::login::run(args),
            Command::Publish(args) => commands::publish::run(args),
            Command::Yank(args) => commands::yank::run_yank(args),
            Command::Unyank(args) => commands::yank::run_unyank(args),
            Command::Deprecate(args) => commands::deprecate::run_deprecate(args),
            Command::Undeprecate(args) => commands::deprecate::run_undeprecate(args),
            Command::Info(args) => commands::info::run(args),
            Command::Log(args) => commands::log::run(args),
            Command::Search(args) => commands::search::run(args),
            Command::Lock(args) => commands::lock::run_lock(args),
            Command::Update(args) => commands::lock::run_update(args),
            Command::Fetch(args) => commands::lock::run_fetch(args),
            Command::Owner(args) => commands::owner::run(args),
            Command::Namespace(args) => commands::namespace::run(args),
            Command::Token(args) => commands::token::run(args),
            Command::Portfolio(args) => commands::portfolio::run(args),
            Command::Diff(args) => commands::diff::run(args),
            Command::SemverCheck(args) => commands::semver_check::run(args),
            Command::Changelog(args) => commands::changelog::run(args),
            Command::Completions(args) => commands::completions::run_completions(args),
            Command::Man(args) => commands::completions::run_man(args),
        });
    let result = match command.map(|handle| handle.join()) {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err("internal error: the command panicked; please report it".to_string()),
        Err(error) => Err(format!("cannot start the command thread: {error}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            // Messages quote registries, bundles and packs: the one escape, once more.
            eprintln!("error: {}", threatpack::render::visible(&message));
            ExitCode::from(2)
        }
    }
}
