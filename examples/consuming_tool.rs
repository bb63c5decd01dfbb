//! A consuming tool embedding threatpack: open a project, load its locked and verified
//! knowledge, apply it to the project's model and walk the threats.
//! `cargo run --example consuming_tool -- [PROJECT_DIR]` (default: examples/online-shop).

use std::path::PathBuf;
use std::process::ExitCode;

use threatpack::ops::{self, ApplyOptions, KnowledgeOptions, NoProgress};

fn main() -> ExitCode {
    let directory = std::env::args_os()
        .nth(1)
        .map_or("examples/online-shop".into(), PathBuf::from);
    // threatpack.lock must pin the project's packs as they are (`--locked`); each pack is
    // verified (sha256, signature) in the cache, or downloaded and verified first.
    let options = KnowledgeOptions::locked_project(&directory);
    let report = ops::load_knowledge(&options, &NoProgress)
        .and_then(|knowledge| ops::apply(&knowledge, &ApplyOptions::default()));
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{} with {} {}",
        report.model.name, report.pack.name, report.pack.version
    );
    for threat in &report.threats {
        let (id, severity, name) = (&threat.id, threat.severity, &threat.name);
        println!("{id} {severity:?} {name} on {}", threat.element_name);
        for mitigation in &threat.mitigations {
            let (strength, status) = (mitigation.strength, mitigation.status);
            println!("    {} ({strength:?}, {status:?})", mitigation.name);
        }
    }
    ExitCode::SUCCESS
}
