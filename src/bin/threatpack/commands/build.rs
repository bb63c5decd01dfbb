//! `threatpack build [PATH] [--tier NAME] [--out DIR] [--sign KEY]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use threatpack::build::{BuildOptions, build};
use threatpack::check::CheckOptions;
use threatpack::diagnostic::Severity;
use threatpack::workspace::write_atomically;

use super::{Format, display_root, plural, print_diagnostics, validate_deny};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The pack directory (holding `pack.toml`)
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    dependencies: super::dependencies::DependencyArgs,
    #[command(flatten)]
    registry: super::registry::RegistryArgs,
    /// Keep only the items and links of this tier or smaller (default: everything, each item
    /// with its tier)
    #[arg(long, value_name = "NAME")]
    tier: Option<String>,
    /// Where to write the bundle
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out: PathBuf,
    /// Sign the bundle with this minisign secret key (writes `BUNDLE.minisig`)
    #[arg(long, value_name = "KEY")]
    sign: Option<PathBuf>,
    /// Report these lints as errors: `warnings` for all, or a lint code
    #[arg(long, value_name = "LINT")]
    deny: Vec<String>,
    /// `human` (on stderr) or `json` (diagnostics as JSON lines, then the result, on stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: BuildArgs) -> Result<ExitCode, String> {
    validate_deny(&args.deny)?;
    // Decrypting the key first: a wrong password should not cost a build.
    let signing_key = match &args.sign {
        Some(path) => Some(super::sign::load_key(path)?),
        None => None,
    };
    let display_root = display_root(&args.path);
    let graph = super::dependencies::load_pack_graph(
        &args.path,
        &display_root,
        &args.registry,
        &args.dependencies,
    )?;
    let options = BuildOptions {
        tier: args.tier.clone(),
        check: CheckOptions { deny: args.deny },
    };
    let report = build(&graph, &options);
    print_diagnostics(&report.diagnostics, &graph, args.format)?;
    let errors = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .count();
    let warnings = report.diagnostics.len() - errors;
    let Some(built) = report.built else {
        let name = graph.packs[0].name().unwrap_or(&display_root).to_string();
        eprintln!(
            "error: could not build `{name}`: {}",
            plural(errors.max(1), "error")
        );
        return Ok(ExitCode::from(1));
    };
    let bundle_path = args.out.join(&built.file_name);
    write_atomically(&bundle_path, &built.bytes, 0o644)?;
    let digest = threatpack::digest::sha256(&built.bytes);
    let signature_path = match &signing_key {
        Some(key) => {
            let signature = threatpack::signing::sign_bundle(&built.bytes, &built.manifest, key)?;
            let path = super::sign::signature_path(&bundle_path);
            write_atomically(&path, signature.as_bytes(), 0o644)?;
            Some((path, key.key_id.clone()))
        }
        None => None,
    };
    let kb = &built.kb;
    match args.format {
        Format::Json => {
            let result = serde_json::json!({
                "bundle": bundle_path.display().to_string(),
                "sha256": digest,
                "size": built.bytes.len(),
                "pack": kb.pack,
                "version": kb.version,
                "tier": kb.tier,
                "signature": signature_path.as_ref().map(|(path, _)| path.display().to_string()),
                "key-id": signature_path.as_ref().map(|(_, key_id)| key_id.clone()),
            });
            println!("{result}");
        }
        Format::Human => {
            eprintln!(
                "built `{}` {} (tier {}): {}, {}, {}, {}, {}{}",
                kb.pack,
                kb.version,
                kb.tier.as_deref().unwrap_or("all"),
                plural(kb.entities.len(), "entity"),
                plural(kb.attack_patterns.len(), "attack pattern"),
                plural(kb.mitigations.len(), "mitigation"),
                plural(kb.links.len(), "link"),
                plural(kb.overrides.len(), "override"),
                if warnings > 0 {
                    format!("; {}", plural(warnings, "warning"))
                } else {
                    String::new()
                }
            );
            eprintln!(
                "  {} ({} bytes, {digest})",
                bundle_path.display(),
                built.bytes.len()
            );
            if let Some((path, key_id)) = &signature_path {
                eprintln!("  {} (key {key_id})", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
