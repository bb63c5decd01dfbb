//! `threatpack inspect BUNDLE [--format json] [--provenance ID] [--key PUB] [--trusted-comment]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value as Json, json};
use threatpack::ops::{
    self, BundleError, InspectOptions, Inspection, ItemProvenance, SignatureStatus, name_of,
};

use super::Format;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle to inspect
    bundle: PathBuf,
    /// Show where each field of this item came from (`namespace/pack:kind/id`, or an id that
    /// is unique in the bundle)
    #[arg(long, value_name = "ID")]
    provenance: Option<String>,
    /// Check the signature (BUNDLE.minisig) against this trusted public key (repeatable)
    #[arg(long, value_name = "PUB")]
    key: Vec<PathBuf>,
    /// Print only the trusted comment that binds this bundle (for `minisign -S -t`)
    #[arg(long)]
    trusted_comment: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: InspectArgs) -> Result<ExitCode, String> {
    if args.trusted_comment {
        say(ops::bundle_trusted_comment(&args.bundle).map_err(message)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(id) = &args.provenance {
        let found = ops::provenance(&args.bundle, id).map_err(message)?;
        print_provenance(&found, args.format);
        return Ok(ExitCode::SUCCESS);
    }
    let options = InspectOptions {
        bundle: args.bundle.clone(),
        keys: args.key.clone(),
    };
    let inspection = ops::inspect(&options).map_err(message)?;
    let bundle = &inspection.bundle;
    match args.format {
        Format::Json => {
            let output = json!({
                "bundle": args.bundle.display().to_string(),
                "sha256": bundle.digest,
                "size": bundle.size,
                "manifest": bundle.manifest,
                "signature": inspection.signature,
                "counts": inspection.counts,
                "packs": bundle.kb.packs,
                "overrides": bundle.kb.overrides,
            });
            say(format!("{output:#}"));
        }
        Format::Human => print_human(&args, &inspection),
    }
    Ok(ExitCode::SUCCESS)
}

fn message(error: BundleError) -> String {
    error.to_string()
}

fn print_human(args: &InspectArgs, inspection: &Inspection) {
    let (bundle, counts) = (&inspection.bundle, &inspection.counts);
    let manifest = &bundle.manifest;
    let kb = &bundle.kb;
    say(format!(
        "{} {} (tier {}; tiers {})",
        manifest.pack,
        manifest.version,
        manifest.tier.as_deref().unwrap_or("all"),
        kb.tiers.join(", ")
    ));
    say(format!(
        "bundle:       {} ({} bytes, {})",
        args.bundle.display(),
        bundle.size,
        bundle.digest
    ));
    say(format!(
        "format:       {}, built by {}",
        manifest.bundle_format, manifest.builder
    ));
    say(format!("licence:      {}", manifest.license));
    let signature_line = match &inspection.signature {
        SignatureStatus::Verified { key_id, .. } => format!("verified, key {key_id}"),
        SignatureStatus::Invalid { error, .. } => format!("INVALID: {error}"),
        SignatureStatus::NotChecked { key_id, .. } => format!(
            "present (key {}), not checked: pass --key PUB",
            key_id.as_deref().unwrap_or("?")
        ),
        SignatureStatus::Unsigned => "none".to_string(),
    };
    say(format!("signature:    {signature_line}"));
    if manifest.dependencies.is_empty() {
        say("dependencies: none");
    } else {
        say("dependencies:");
        for dependency in &manifest.dependencies {
            say(format!(
                "  {} {} ({} from {}) {}",
                dependency.name,
                dependency.version,
                dependency.requirement,
                dependency.source,
                dependency.digest
            ));
        }
    }
    say("packs compiled in:");
    for pack in &kb.packs {
        let attribution = if pack.attribution.is_empty() {
            String::new()
        } else {
            format!("; attribution: {}", pack.attribution.join(", "))
        };
        say(format!(
            "  {} {} ({}{attribution})",
            pack.name, pack.version, pack.license
        ));
    }
    say(format!(
        "contents:     {} entities, {} attack patterns, {} mitigations, {} links",
        counts.entities, counts.attack_patterns, counts.mitigations, counts.links
    ));
    say(format!(
        "  entities by kind:        {}",
        pairs(&counts.entities_by_kind)
    ));
    say(format!(
        "  attack patterns by STRIDE category: {}",
        pairs(&counts.attack_patterns_by_category)
    ));
    say(format!(
        "  attack patterns by severity: {}",
        pairs(&counts.attack_patterns_by_severity)
    ));
    say("  by tier (attack patterns / mitigations / links):");
    for tier in &counts.by_tier {
        say(format!(
            "    {:<10} {} / {} / {}",
            tier.tier, tier.attack_patterns, tier.mitigations, tier.links
        ));
    }
    say(format!("overrides:    {}", kb.overrides.len()));
    for applied in &kb.overrides {
        let superseded = if applied.superseded.is_empty() {
            String::new()
        } else {
            format!(" (superseded: {})", applied.superseded.join(", "))
        };
        say(format!(
            "  {} [{}]{superseded}\n    by {} {}:{}: {}",
            applied.target,
            applied.fields.join(", "),
            applied.pack,
            applied.file,
            applied.line,
            applied.reason
        ));
    }
    say("files:");
    for (path, digest) in &manifest.files {
        let size = bundle.files.get(path).map_or(0, Vec::len);
        say(format!("  {path} ({size} bytes, {digest})"));
    }
}

fn text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Null => "?".to_string(),
        other => other.to_string(),
    }
}

fn pairs(counts: &std::collections::BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return "none".to_string();
    }
    counts
        .iter()
        .map(|(key, count)| format!("{key} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--provenance ID`: each field of one item, its value and where it came from.
fn print_provenance(found: &ItemProvenance, format: Format) {
    let (item, item_id, links) = (&found.item, &found.id, &found.links);
    if format == Format::Json {
        say(format!("{:#}", json!({ "item": item, "links": links })));
        return;
    }
    say(item_id);
    for (field, source) in &found.provenance {
        let value = match field.strip_prefix("properties.") {
            Some(property) => {
                let definition = &item["properties"][property];
                format!(
                    "{} (default {})",
                    text(&definition["type"]),
                    definition["default"]
                )
            }
            None => threatpack::render::short_json(&item[field.as_str()], 72),
        };
        let reason = source
            .reason
            .as_ref()
            .map(|reason| format!("\n      override: {reason}"))
            .unwrap_or_default();
        say(format!(
            "  {field} = {value}\n      from {} {} {}:{}{reason}",
            source.pack, source.version, source.file, source.line
        ));
    }
    for link in links {
        let other = if link.mitigation == *item_id {
            &link.attack_pattern
        } else {
            &link.mitigation
        };
        let strength = link
            .provenance
            .get("strength")
            .map(|source| {
                let reason = if source.reason.is_some() {
                    " (override)"
                } else {
                    ""
                };
                format!("{} {}:{}{reason}", source.pack, source.file, source.line)
            })
            .unwrap_or_default();
        say(format!(
            "  link {other}: {} (tier {}) from {strength}",
            name_of(&link.strength),
            link.tier
        ));
    }
}

/// Prints a line of bundle content with control characters made visible: a hostile bundle
/// must not drive the terminal.
fn say(line: impl AsRef<str>) {
    println!("{}", threatpack::render::visible(line.as_ref()));
}
