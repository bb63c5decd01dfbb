//! `threatpack inspect BUNDLE [--format json] [--provenance ID] [--key PUB] [--trusted-comment]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value as Json, json};
use threatpack::bundle::{Bundle, ReadLimits, read_bundle};
use threatpack::compile::{KnowledgeBase, Provenance};
use threatpack::signing::{trusted_comment, verify_bundle};
use threatpack::workspace::read_capped;

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
    let limits = ReadLimits::default();
    let bytes = read_capped(&args.bundle, limits.max_bundle_bytes)?;
    let bundle = read_bundle(&bytes, &limits)
        .map_err(|error| format!("`{}` is not a valid bundle: {error}", args.bundle.display()))?;
    if args.trusted_comment {
        say(trusted_comment(
            &bundle.manifest,
            &threatpack::digest::sha256_hex(&bytes),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(id) = &args.provenance {
        return provenance(&bundle.kb, id, args.format);
    }
    let signature = signature_status(&args, &bytes, &bundle)?;
    let counts = counts(&bundle.kb);
    match args.format {
        Format::Json => {
            let output = json!({
                "bundle": args.bundle.display().to_string(),
                "sha256": bundle.digest,
                "size": bundle.size,
                "manifest": bundle.manifest,
                "signature": signature,
                "counts": counts,
                "packs": bundle.kb.packs,
                "overrides": bundle.kb.overrides,
            });
            say(format!("{output:#}"));
        }
        Format::Human => print_human(&args, &bundle, &signature, &counts),
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a signature sits beside the bundle, and whether it verifies against `--key`.
fn signature_status(args: &InspectArgs, bytes: &[u8], bundle: &Bundle) -> Result<Json, String> {
    let path = super::sign::signature_path(&args.bundle);
    let Ok(signature_bytes) = read_capped(&path, 1024 * 1024) else {
        return Ok(json!({ "status": "unsigned" }));
    };
    let signature = String::from_utf8_lossy(&signature_bytes);
    let signer = threatpack::signing::signature_key_id(&signature);
    if args.key.is_empty() {
        return Ok(json!({
            "status": "not-checked",
            "file": path.display().to_string(),
            "key-id": signer,
        }));
    }
    let trusted = super::verify::trusted_keys(&args.key, None)?;
    Ok(
        match verify_bundle(bytes, Some(&bundle.manifest), &signature, &trusted) {
            Ok(verified) => json!({
                "status": "verified",
                "file": path.display().to_string(),
                "key-id": verified.key_id,
            }),
            Err(error) => json!({
                "status": "invalid",
                "file": path.display().to_string(),
                "key-id": signer,
                "error": error.to_string(),
            }),
        },
    )
}

/// Counts per entity kind, STRIDE category, tier and severity.
fn counts(kb: &KnowledgeBase) -> Json {
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for entity in &kb.entities {
        *kinds.entry(name_of(&entity.kind)).or_default() += 1;
    }
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    let mut severities: BTreeMap<String, usize> = BTreeMap::new();
    let mut tiers: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for attack_pattern in &kb.attack_patterns {
        for category in &attack_pattern.categories {
            *categories.entry(category).or_default() += 1;
        }
        *severities
            .entry(name_of(&attack_pattern.severity))
            .or_default() += 1;
        tiers.entry(&attack_pattern.tier).or_default()[0] += 1;
    }
    for mitigation in &kb.mitigations {
        tiers.entry(&mitigation.tier).or_default()[1] += 1;
    }
    for link in &kb.links {
        tiers.entry(&link.tier).or_default()[2] += 1;
    }
    let tiers: Vec<Json> = kb
        .tiers
        .iter()
        .map(|tier| {
            let [attack_patterns, mitigations, links] =
                tiers.get(tier.as_str()).copied().unwrap_or_default();
            json!({ "tier": tier, "attack-patterns": attack_patterns, "mitigations": mitigations, "links": links })
        })
        .collect();
    json!({
        "entities": kb.entities.len(),
        "attack-patterns": kb.attack_patterns.len(),
        "mitigations": kb.mitigations.len(),
        "links": kb.links.len(),
        "overrides": kb.overrides.len(),
        "entities-by-kind": kinds,
        "attack-patterns-by-category": categories,
        "attack-patterns-by-severity": severities,
        "by-tier": tiers,
    })
}

/// The kebab-case name of a serialized enum value.
fn name_of(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Json::String(name)) => name,
        _ => "?".to_string(),
    }
}

fn print_human(args: &InspectArgs, bundle: &Bundle, signature: &Json, counts: &Json) {
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
    let signature_line = match signature["status"].as_str() {
        Some("verified") => format!("verified, key {}", text(&signature["key-id"])),
        Some("invalid") => format!("INVALID: {}", text(&signature["error"])),
        Some("not-checked") => format!(
            "present (key {}), not checked: pass --key PUB",
            text(&signature["key-id"])
        ),
        _ => "none".to_string(),
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
        counts["entities"], counts["attack-patterns"], counts["mitigations"], counts["links"]
    ));
    say(format!(
        "  entities by kind:        {}",
        pairs(&counts["entities-by-kind"])
    ));
    say(format!(
        "  attack patterns by STRIDE category: {}",
        pairs(&counts["attack-patterns-by-category"])
    ));
    say(format!(
        "  attack patterns by severity: {}",
        pairs(&counts["attack-patterns-by-severity"])
    ));
    say("  by tier (attack patterns / mitigations / links):");
    if let Some(tiers) = counts["by-tier"].as_array() {
        for tier in tiers {
            say(format!(
                "    {:<10} {} / {} / {}",
                text(&tier["tier"]),
                tier["attack-patterns"],
                tier["mitigations"],
                tier["links"]
            ));
        }
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

fn pairs(value: &Json) -> String {
    match value.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(key, count)| format!("{key} {count}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".to_string(),
    }
}

/// `--provenance ID`: each field of one item, its value and where it came from.
fn provenance(kb: &KnowledgeBase, id: &str, format: Format) -> Result<ExitCode, String> {
    let mut candidates: Vec<(Json, &Provenance, &str)> = Vec::new();
    let matches = |item_id: &str| item_id == id || item_id.rsplit('/').next() == Some(id);
    for entity in &kb.entities {
        if matches(&entity.id) {
            candidates.push((to_json(entity), &entity.provenance, &entity.id));
        }
    }
    for attack_pattern in &kb.attack_patterns {
        if matches(&attack_pattern.id) {
            candidates.push((
                to_json(attack_pattern),
                &attack_pattern.provenance,
                &attack_pattern.id,
            ));
        }
    }
    for mitigation in &kb.mitigations {
        if matches(&mitigation.id) {
            candidates.push((to_json(mitigation), &mitigation.provenance, &mitigation.id));
        }
    }
    let (item, item_provenance, item_id) = match candidates.len() {
        0 => return Err(format!("no item `{id}` in this bundle")),
        1 => candidates.remove(0),
        _ => {
            let ids: Vec<&str> = candidates.iter().map(|(_, _, id)| *id).collect();
            return Err(format!("`{id}` is ambiguous: {}", ids.join(", ")));
        }
    };
    let links: Vec<_> = kb
        .links
        .iter()
        .filter(|link| link.mitigation == item_id || link.attack_pattern == item_id)
        .collect();
    if format == Format::Json {
        say(format!("{:#}", json!({ "item": item, "links": links })));
        return Ok(ExitCode::SUCCESS);
    }
    say(item_id);
    for (field, source) in item_provenance {
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
        let other = if link.mitigation == item_id {
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
    Ok(ExitCode::SUCCESS)
}

/// Prints a line of bundle content with control characters made visible: a hostile bundle
/// must not drive the terminal.
fn say(line: impl AsRef<str>) {
    println!("{}", threatpack::render::visible(line.as_ref()));
}

fn to_json(value: &impl serde::Serialize) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}
