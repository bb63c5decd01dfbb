//! `threatpack portfolio [--project NS/NAME | --dependents PACK] [--top N] [--weeks N]`: the
//! registry's portfolio of pushed reports (the `portfolio` scope; docs/portfolio.md).

use std::process::ExitCode;

use clap::Args;
use threatpack::ops::registry::{dependents, portfolio, project_status, project_trend};
use threatpack::render::visible;
use threatpack::wire::{PackInUse, ProjectStatus, ReportNumbers, Trend};

use super::Format;
use super::registry::{RegistryArgs, message, print_json};

#[derive(Debug, Args)]
pub struct PortfolioArgs {
    /// One project: its latest numbers, its packs and its weekly trend
    #[arg(long, value_name = "NS/NAME", conflicts_with = "dependents")]
    project: Option<String>,
    /// The projects whose latest report uses this pack, and which version
    #[arg(long, value_name = "NS/NAME")]
    dependents: Option<String>,
    /// How many of the riskiest projects to list
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: u64,
    /// How many ISO weeks of trend, up to this one [default: 12; 52 with `--project`]
    #[arg(long, value_name = "N")]
    weeks: Option<u64>,
    /// `json`: the registry's answer as it is, as one JSON document
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: PortfolioArgs) -> Result<ExitCode, String> {
    let registry = args.registry.authenticated()?;
    if let Some(pack) = &args.dependents {
        let answer = dependents(&registry, pack).map_err(message)?;
        if args.format == Format::Json {
            print_json(&answer)?;
            return Ok(ExitCode::SUCCESS);
        }
        if answer.dependents.is_empty() {
            println!("no project's latest report uses {pack} (with a digest this registry serves)");
        }
        for dependent in &answer.dependents {
            println!(
                "{}  {}  (report {}, {})",
                visible(&dependent.project),
                visible(&dependent.version),
                dependent.report_id,
                dependent.received_at
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(project) = &args.project {
        let status = project_status(&registry, project).map_err(message)?;
        let trend = project_trend(&registry, project, args.weeks.unwrap_or(52)).map_err(message)?;
        if args.format == Format::Json {
            print_json(&serde_json::json!({"project": status, "trend": trend}))?;
            return Ok(ExitCode::SUCCESS);
        }
        print_project(&status);
        print_trend(&trend);
        return Ok(ExitCode::SUCCESS);
    }
    let answer = portfolio(&registry, args.top, args.weeks.unwrap_or(12)).map_err(message)?;
    if args.format == Format::Json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let totals = &answer.totals;
    println!(
        "{} project(s): residual risk {} ({}), {} unmitigated TOP threat(s), {} open backlog item(s), {} unanswered question(s), {} expired risk acceptance(s), security activities owed: {}",
        totals.projects,
        totals.risk,
        levels(&totals.by_residual),
        totals.unmitigated_top,
        totals.open_backlog,
        totals.unanswered_questions,
        totals.expired_acceptances,
        totals.activities_owed
    );
    if !answer.riskiest.is_empty() {
        println!("\nriskiest:");
    }
    for name in &answer.riskiest {
        if let Some(project) = answer.projects.iter().find(|p| &p.project == name) {
            println!(
                "  {:<30} risk {:>6}  {} unmitigated TOP  last report {} day(s) ago",
                visible(&project.project),
                project.numbers.risk,
                project.numbers.unmitigated_top,
                project.age_days
            );
        }
    }
    if !answer.behind.is_empty() {
        println!("\non yanked, deprecated or outdated packs:");
    }
    for name in &answer.behind {
        if let Some(project) = answer.projects.iter().find(|p| &p.project == name) {
            let packs: Vec<String> = project
                .packs
                .iter()
                .filter(|pack| pack.is_behind())
                .map(pack_line)
                .collect();
            println!("  {}: {}", visible(name), packs.join("; "));
        }
    }
    if !answer.owing.is_empty() {
        println!("\nsecurity activities owed:");
    }
    for (activity, projects) in &answer.owing {
        let names: Vec<String> = projects.iter().map(|name| visible(name)).collect();
        println!(
            "  {} ({} project(s)): {}",
            visible(activity),
            projects.len(),
            names.join(", ")
        );
    }
    print_trend(&answer.trend);
    Ok(ExitCode::SUCCESS)
}

/// `critical 6, high 24, …` in the order of severity, the levels with none left out.
fn levels(by_residual: &std::collections::BTreeMap<String, u64>) -> String {
    let shown: Vec<String> = threatpack::analysis::view::RESIDUAL_SCORES
        .iter()
        .filter_map(|(level, _)| {
            by_residual
                .get(*level)
                .filter(|count| **count > 0)
                .map(|count| format!("{level} {count}"))
        })
        .collect();
    if shown.is_empty() {
        "no threats".to_string()
    } else {
        shown.join(", ")
    }
}

fn pack_line(pack: &PackInUse) -> String {
    let mut line = format!("{}@{}", visible(&pack.name), visible(&pack.version));
    if !pack.verified {
        line.push_str(" (unverified: not a version this registry serves)");
        return line;
    }
    if let (Some(behind), Some(newest)) = (pack.behind, &pack.newest_matching)
        && behind > 0
    {
        line.push_str(&format!(" → {} ({behind} behind)", visible(newest)));
    }
    if pack.yanked {
        line.push_str(&format!(
            " yanked: {}",
            visible(pack.yank_reason.as_deref().unwrap_or(""))
        ));
    }
    if let Some(message) = &pack.deprecated {
        line.push_str(&format!(" deprecated: {}", visible(message)));
    }
    line
}

fn print_project(status: &ProjectStatus) {
    let numbers: &ReportNumbers = &status.numbers;
    println!(
        "{}: residual risk {} ({}), {} threat(s), {} unmitigated TOP, {} open backlog item(s){}",
        visible(&status.project),
        numbers.risk,
        levels(&numbers.by_residual),
        numbers.threats,
        numbers.unmitigated_top,
        numbers.open_backlog,
        numbers
            .unanswered_questions
            .map(|count| format!(", {count} unanswered question(s)"))
            .unwrap_or_default()
    );
    println!(
        "last report {} ({} day(s) ago), {} kept",
        status.received_at, status.age_days, status.reports
    );
    if numbers.expired_acceptances > 0 {
        println!(
            "expired risk acceptances: {} (their threats count as unmitigated)",
            numbers.expired_acceptances
        );
    }
    if !numbers.activities_owed.is_empty() {
        let owed: Vec<String> = numbers
            .activities_owed
            .iter()
            .map(|id| visible(id))
            .collect();
        println!("security activities owed: {}", owed.join(", "));
    }
    let categories: Vec<String> = numbers
        .by_category
        .iter()
        .map(|(category, count)| format!("{} {count}", visible(category)))
        .collect();
    if !categories.is_empty() {
        println!("by category: {}", categories.join(", "));
    }
    for pack in &status.packs {
        println!("  {}", pack_line(pack));
    }
}

fn print_trend(trend: &Trend) {
    println!("\nresidual risk per week:");
    for week in &trend.weeks {
        println!(
            "  {}  {:>8}  ({} project(s))",
            week.week, week.risk, week.projects
        );
    }
}
