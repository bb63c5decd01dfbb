//! The report as SARIF 2.1.0 (`apply --format sarif`), for code-scanning dashboards: a rule
//! per attack pattern found, a result per threat instance at its element's line in the model
//! file, stable fingerprints from the threat ids. Mapping: docs/ci.md#sarif.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use super::report::{Report, ThreatInstance, ThreatState};
use crate::compile::KnowledgeBase;
use crate::model::Severity;

/// The key of the fingerprint that carries a threat's stable id.
pub const FINGERPRINT: &str = "threatpackThreatId/v1";

/// The SARIF log of `report`; `lines` gives each element's line in the model file.
pub fn sarif(report: &Report, kb: &KnowledgeBase, lines: &BTreeMap<String, usize>) -> String {
    let used: BTreeSet<&str> = report
        .threats
        .iter()
        .map(|threat| threat.attack_pattern.as_str())
        .collect();
    let index: BTreeMap<&str, usize> = used
        .iter()
        .enumerate()
        .map(|(position, id)| (*id, position))
        .collect();
    let rules: Vec<Json> = used.iter().map(|id| rule(kb, id)).collect();
    let results: Vec<Json> = report
        .threats
        .iter()
        .map(|threat| result(report, threat, index[threat.attack_pattern.as_str()], lines))
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "threatpack",
                "version": report.provenance.tool.version,
                "informationUri": "https://github.com/threatpack/threatpack",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("threatpack/{}/", report.model.name)},
            "results": results,
            "properties": {
                "model": report.model.name,
                "pack": format!("{} {}", report.pack.name, report.pack.version),
                "tier": report.tier.name,
            },
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// An attack pattern as a rule: its description, and the mitigations the pack links to it
/// as help.
fn rule(kb: &KnowledgeBase, id: &str) -> Json {
    let Some(pattern) = kb.attack_patterns.iter().find(|pattern| pattern.id == id) else {
        return json!({"id": id, "shortDescription": {"text": id}});
    };
    let mut help = String::from("Mitigations:\n");
    let mut markdown = String::from("**Mitigations**\n\n");
    for link in kb.links.iter().filter(|link| link.attack_pattern == id) {
        if let Some(mitigation) = kb.mitigations.iter().find(|m| m.id == link.mitigation) {
            let strength = format!("{:?}", link.strength).to_lowercase();
            help.push_str(&format!(
                "- {} ({strength}): {}\n",
                mitigation.name, mitigation.description
            ));
            markdown.push_str(&format!(
                "- **{}** ({strength}): {}\n",
                mitigation.name, mitigation.description
            ));
        }
    }
    let mut tags = vec!["security".to_string(), "threat-model".to_string()];
    tags.extend(pattern.categories.iter().cloned());
    json!({
        "id": pattern.id,
        "name": pascal_case(&pattern.name),
        "shortDescription": {"text": pattern.name},
        "fullDescription": {"text": pattern.description},
        "help": {"text": help.trim_end(), "markdown": markdown.trim_end()},
        "defaultConfiguration": {"level": level(Some(pattern.severity))},
        "properties": {
            "tags": tags,
            "security-severity": security_severity(pattern.severity),
            "precision": "high",
        },
    })
}

fn result(
    report: &Report,
    threat: &ThreatInstance,
    rule_index: usize,
    lines: &BTreeMap<String, usize>,
) -> Json {
    let residual = threat.residual.severity;
    let mitigated = residual.is_none();
    let state = serde_json::to_value(threat.state).unwrap_or(Json::Null);
    let residual_name = residual.map_or("none", severity_name);
    let mut message = format!(
        "{} on {} ({}): residual risk {residual_name}, {}.",
        threat.name,
        threat.element_name,
        threat.element,
        state.as_str().unwrap_or("unknown").replace('-', " ")
    );
    if threat.state == ThreatState::Unmitigated
        && threat
            .mitigations
            .iter()
            .any(|m| m.acceptance.as_ref().is_some_and(|a| a.expired))
    {
        message.push_str(" Its risk acceptance expired.");
    }
    json!({
        "ruleId": threat.attack_pattern,
        "ruleIndex": rule_index,
        "kind": if mitigated { "pass" } else { "fail" },
        "level": if mitigated { "none" } else { level(residual) },
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&report.model.file)},
                "region": {"startLine": lines.get(&threat.element).copied().unwrap_or(1).max(1)},
            },
            "logicalLocations": [{"name": threat.element, "kind": "element"}],
        }],
        "partialFingerprints": {FINGERPRINT: threat.id},
        "properties": {
            "threat": threat.id,
            "severity": severity_name(threat.severity),
            "residual-score": threat.residual.score,
            "state": state,
        },
    })
}

/// SARIF levels: what remains `critical` or `high` is an error, `medium` a warning, the rest
/// a note.
fn level(severity: Option<Severity>) -> &'static str {
    match severity {
        Some(Severity::Critical | Severity::High) => "error",
        Some(Severity::Medium) => "warning",
        Some(Severity::Low | Severity::Info) | None => "note",
    }
}

/// GitHub code scanning's `security-severity` (critical above 9, high from 7, medium from 4).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Info => "0.0",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The model file as a relative URI reference (forward slashes, spaces and the like
/// percent-encoded).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for byte in path.replace('\\', "/").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out.trim_start_matches("./").to_string()
}

/// A rule's `name`: the attack pattern's name in PascalCase, as SARIF suggests.
fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().collect::<String>() + chars.as_str()
            })
        })
        .collect()
}
