//! Fills a registry data directory with a portfolio for bench/portfolio.sh: PROJECTS projects
//! with WEEKS weekly reports each, stored as a push stores them (`api::reports::prepare`, then
//! `Store::store_report`), received one week apart up to now. Each report is the template
//! report with its threats repeated REPEAT times and their residual levels varied by project
//! and week (so each project's risk moves), and the template model with it.
//!
//!   cargo run --release -p threatpack-registry --example portfolio_gen -- \
//!       DATA_DIR REPORT.json MODEL PROJECTS WEEKS REPEAT
//!
//! Prints the median and 99th percentile time of `store_report` (the store's part of a push:
//! one transaction) and of `prepare` (parsing, numbers, compression) of the variants.

use std::time::Instant;

use threatpack_registry::api::reports::prepare;
use threatpack_registry::store::{NewReport, SqliteStore, Store};

const LEVELS: [&str; 6] = ["critical", "high", "medium", "low", "info", "none"];

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, report, model, projects, weeks, repeat] = args.as_slice() else {
        return Err("usage: portfolio_gen DATA_DIR REPORT.json MODEL PROJECTS WEEKS REPEAT".into());
    };
    let number = |text: &str| {
        text.parse::<usize>()
            .map_err(|error| format!("{text}: {error}"))
    };
    let (projects, weeks, repeat) = (number(projects)?, number(weeks)?, number(repeat)?);
    let template: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report).map_err(|error| format!("{report}: {error}"))?,
    )
    .map_err(|error| format!("{report}: {error}"))?;
    let model_text = std::fs::read_to_string(model).map_err(|error| format!("{model}: {error}"))?;
    let threats: Vec<serde_json::Value> = template["threats"]
        .as_array()
        .ok_or("the template has no threats")?
        .iter()
        .cycle()
        .take(template["threats"].as_array().map_or(0, Vec::len) * repeat)
        .cloned()
        .collect();
    let store = SqliteStore::open(std::path::Path::new(data))?;
    let now = threatpack::time::now();
    let mut store_times = Vec::with_capacity(projects * weeks);
    let mut prepare_times = Vec::new();
    // A report's levels depend on (project + week) % LEVELS.len() only: each variant is
    // prepared once (parsed, measured, compressed, as a push does) and stored many times, so
    // that generating 260,000 reports takes minutes, not hours. Pushes over HTTP are timed
    // apart by bench/portfolio.sh.
    let mut variants = Vec::with_capacity(LEVELS.len());
    for variant in 0..LEVELS.len() {
        let mut report = template.clone();
        let mut varied = threats.clone();
        // A few threats per report change level: risk drifts by project and week.
        for (index, threat) in varied.iter_mut().enumerate().step_by(7) {
            let level = LEVELS[(index + variant) % LEVELS.len()];
            threat["residual"]["severity"] = serde_json::Value::from(level);
        }
        report["threats"] = serde_json::Value::Array(varied);
        let body = serde_json::to_vec(&serde_json::json!({
            "report": report,
            "model": {"file": "model.toml", "text": model_text},
        }))
        .map_err(|error| error.to_string())?;
        let started = Instant::now();
        let prepared = prepare(&body, "bench/project").map_err(|error| format!("{error:?}"))?;
        prepare_times.push(started.elapsed().as_secs_f64());
        variants.push(prepared);
    }
    for week in 0..weeks {
        let received_at = now - ((weeks - 1 - week) as i64) * 7 * 86_400;
        for project in 0..projects {
            let prepared = &variants[(project + week) % LEVELS.len()];
            let record = NewReport {
                project: format!("team{:03}/service{project:05}", project % 200),
                received_at,
                numbers: prepared.numbers.clone(),
                packs: Vec::new(),
                report_gzip: prepared.report_gzip.clone(),
                model: prepared.model.clone(),
            };
            let started = Instant::now();
            store
                .store_report(&record, "bench")
                .map_err(|error| error.to_string())?;
            store_times.push(started.elapsed().as_secs_f64());
        }
        eprintln!("week {}/{weeks} stored", week + 1);
    }
    for (what, times) in [
        ("store_report", &mut store_times),
        ("prepare", &mut prepare_times),
    ] {
        times.sort_by(f64::total_cmp);
        let at = |quantile: f64| times[((times.len() - 1) as f64 * quantile) as usize] * 1000.0;
        println!(
            "{what}: {} reports, median {:.2} ms, p99 {:.2} ms",
            times.len(),
            at(0.5),
            at(0.99)
        );
    }
    Ok(())
}
