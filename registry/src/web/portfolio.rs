//! The portfolio's pages (signed in, web/session.rs): the projects the token may read with
//! their totals, the riskiest, those behind on a pack, the activities owed, expired
//! acceptances and the trend; one project with its packs, trend, report history and the
//! data-flow diagram of its latest model; the projects depending on each version of a pack.
//! The data comes from the same functions as the API's (api/portfolio.rs).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use threatpack::analysis::diagram::{Diagram, svg_style};
use threatpack::model::Severity;
use threatpack::wire::{Dependent, Dependents, PackInUse, Portfolio, ProjectStatus, ReportNumbers};

use super::chart::trend_chart;
use super::layout::{Page, error_page, not_found, render};
use super::session::{to_login, viewer};
use crate::api::ApiError;
use crate::api::AppState;
use crate::api::auth::authorize;
use crate::api::portfolio::{
    dependents_of, history_of, model_of, portfolio_of, project_of, project_trend_of, report_text_of,
};
use crate::store::{ReportEntry, TokenRecord};
use crate::tokens::Scope;

/// Projects a page of the portfolio lists in full.
const PROJECTS_PER_PAGE: u64 = 100;

/// Rows of the other lists of the portfolio page (projects behind, projects owing an activity).
const LISTED: usize = 100;

/// Reports listed in a project's history.
const HISTORY_LENGTH: u64 = 100;

/// The portfolio's routes, and signing in and out.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/portfolio", get(portfolio_page))
        .route("/portfolio/projects/{namespace}/{name}", get(project_page))
        .route(
            "/portfolio/projects/{namespace}/{name}/diagram.svg",
            get(diagram_svg),
        )
        .route(
            "/portfolio/dependents/{namespace}/{name}",
            get(dependents_page),
        )
        .merge(super::session::router())
}

/// The query of `/portfolio`: which page of the list of every project (from 1).
#[derive(Deserialize)]
struct PortfolioQuery {
    page: Option<u64>,
}

async fn portfolio_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PortfolioQuery>, QueryRejection>,
) -> Response {
    let Some(token) = viewer(&state, &headers).await else {
        return to_login("/portfolio");
    };
    let page = query
        .ok()
        .and_then(|Query(query)| query.page)
        .unwrap_or(1)
        .max(1);
    let covers = token.namespaces.join(", ");
    match portfolio_of(&state, token, None, None).await {
        Ok(portfolio) => private(render(
            Page {
                title: "Portfolio",
                crumbs: vec![("Home".to_string(), "/".to_string())],
                json: Some("/api/v1/portfolio".to_string()),
                signed_in: true,
            },
            portfolio_body(&portfolio, &covers, page),
        )),
        Err(error) => failed(&error),
    }
}

/// The portfolio page's content, with `page` (from 1) of the list of every project. Long lists
/// are cut (`LISTED`): a portfolio of thousands of projects stays a page, its JSON has them all.
fn portfolio_body(portfolio: &Portfolio, covers: &str, page: u64) -> Markup {
    let pages = (portfolio.projects.len() as u64)
        .div_ceil(PROJECTS_PER_PAGE)
        .max(1);
    let page = page.min(pages);
    let listed = portfolio
        .projects
        .iter()
        .skip(((page - 1) * PROJECTS_PER_PAGE) as usize)
        .take(PROJECTS_PER_PAGE as usize);
    let by_name: BTreeMap<&str, &ProjectStatus> = portfolio
        .projects
        .iter()
        .map(|project| (project.project.as_str(), project))
        .collect();
    let totals = &portfolio.totals;
    let expired: Vec<&ProjectStatus> = portfolio
        .projects
        .iter()
        .filter(|project| project.numbers.expired_acceptances > 0)
        .collect();
    html! {
        p { (totals.projects) " project" @if totals.projects != 1 { "s" } " that the token may read (it covers " code { (covers) } ")." }
        section aria-labelledby="totals" {
            h2 id="totals" { "Totals" }
            div.table-wrap { table.numbers {
                thead { tr { th scope="col" { "Residual risk" } th scope="col" { "Threats" } th scope="col" { "Unmitigated top-tier threats" } th scope="col" { "Open backlog items" } th scope="col" { "Unanswered questions" } th scope="col" { "Expired acceptances" } th scope="col" { "Security activities owed" } } }
                tbody { tr { td { (totals.risk) } td { (totals.threats) } td { (totals.unmitigated_top) } td { (totals.open_backlog) } td { (totals.unanswered_questions) } td { (totals.expired_acceptances) } td { (totals.activities_owed) } } }
            } }
            (by_residual(&totals.by_residual))
        }
        section aria-labelledby="trend" {
            h2 id="trend" { "Trend" }
            figure.table-wrap {
                (trend_chart("portfolio-trend", "Residual risk of the portfolio per week", &portfolio.trend.weeks))
                figcaption { "The sum of each project's latest residual risk, week by week." }
            }
        }
        section aria-labelledby="riskiest" {
            h2 id="riskiest" { "Riskiest projects" }
            @if portfolio.riskiest.is_empty() { p { "No project has pushed a report yet." } }
            @else {
                (projects_table(portfolio.riskiest.iter().filter_map(|name| by_name.get(name.as_str()).copied())))
            }
        }
        section aria-labelledby="behind" {
            h2 id="behind" { "Projects behind on their packs" }
            @if portfolio.behind.is_empty() { p { "Every project uses the newest compatible version of its packs." } }
            @if portfolio.behind.len() > LISTED { p { "The first " (LISTED) " of " (portfolio.behind.len()) " projects behind; the JSON lists them all." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Project" } th scope="col" { "Pack" } th scope="col" { "In use" } th scope="col" { "Newest compatible" } th scope="col" { "Newest" } th scope="col" { "Versions behind" } } }
                    tbody {
                        @for name in portfolio.behind.iter().take(LISTED) {
                            @if let Some(project) = by_name.get(name.as_str()) {
                                @for pack in project.packs.iter().filter(|pack| pack.is_behind()) {
                                    tr {
                                        th scope="row" { (project_link(name)) }
                                        td { (pack_link(&pack.name)) }
                                        td { (version_cell(pack)) }
                                        td { (pack.newest_matching.as_deref().unwrap_or("–")) }
                                        td { (pack.newest.as_deref().unwrap_or("–")) }
                                        td { (pack.behind.unwrap_or(0)) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="owing" {
            h2 id="owing" { "Security activities owed" }
            @if portfolio.owing.is_empty() { p { "No project owes a security activity." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Activity" } th scope="col" { "Owed by" } } }
                    tbody {
                        @for (activity, projects) in &portfolio.owing {
                            tr {
                                th scope="row" { code { (activity) } }
                                td {
                                    ul class="inline" { @for project in projects.iter().take(LISTED) { li { (project_link(project)) } } }
                                    @if projects.len() > LISTED { p { "and " (projects.len() - LISTED) " more (the JSON lists them all)" } }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="expired" {
            h2 id="expired" { "Expired risk acceptances" }
            @if expired.is_empty() { p { "No risk acceptance has expired." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Project" } th scope="col" { "Expired acceptances" } } }
                    tbody {
                        @for project in &expired {
                            tr { th scope="row" { (project_link(&project.project)) } td { (project.numbers.expired_acceptances) } }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="projects" {
            h2 id="projects" { "All projects" }
            @if portfolio.projects.is_empty() {
                p { "No project has pushed a report yet: " code { "threatpack report push REPORT --project NAMESPACE/NAME" } }
            } @else {
                (projects_table(listed))
                @if pages > 1 {
                    nav aria-label="Pages of projects" {
                        p {
                            "Page " (page) " of " (pages) ". "
                            @if page > 1 { a href=(format!("/portfolio?page={}#projects", page - 1)) { "Previous page" } " " }
                            @if page < pages { a href=(format!("/portfolio?page={}#projects", page + 1)) { "Next page" } }
                        }
                    }
                }
            }
        }
    }
}

fn projects_table<'a>(projects: impl Iterator<Item = &'a ProjectStatus>) -> Markup {
    html! {
        div.table-wrap { table {
            thead {
                tr {
                    th scope="col" { "Project" }
                    th scope="col" { "Residual risk" }
                    th scope="col" { "Threats" }
                    th scope="col" { "Unmitigated top tier" }
                    th scope="col" { "Open backlog" }
                    th scope="col" { "Latest report" }
                }
            }
            tbody {
                @for project in projects {
                    tr {
                        th scope="row" { (project_link(&project.project)) }
                        td { (project.numbers.risk) }
                        td { (project.numbers.threats) }
                        td { (project.numbers.unmitigated_top) }
                        td { (project.numbers.open_backlog) }
                        td { time datetime=(project.received_at) { (date(&project.received_at)) } " (" (project.age_days) " d ago)" }
                    }
                }
            }
        } }
    }
}

fn by_residual(levels: &BTreeMap<String, u64>) -> Markup {
    const ORDER: [&str; 6] = ["critical", "high", "medium", "low", "info", "none"];
    let mut rows: Vec<(&str, u64)> = ORDER
        .iter()
        .filter_map(|level| levels.get(*level).map(|count| (*level, *count)))
        .collect();
    rows.extend(
        levels
            .iter()
            .filter(|(level, _)| !ORDER.contains(&level.as_str()))
            .map(|(level, count)| (level.as_str(), *count)),
    );
    html! {
        @if !rows.is_empty() {
            div.table-wrap { table {
                caption { "Threats by residual risk" }
                thead { tr { th scope="col" { "Residual" } th scope="col" { "Threats" } } }
                tbody { @for (level, count) in rows { tr { th scope="row" { (level) } td { (count) } } } }
            } }
        }
    }
}

/// A project's page; project names are checked pack names (`namespace/name`: no character
/// that needs escaping in a path).
fn project_link(project: &str) -> Markup {
    html! { a href=(format!("/portfolio/projects/{project}")) { (project) } }
}

fn pack_link(pack: &str) -> Markup {
    html! { a href=(format!("/packs/{pack}")) { (pack) } }
}

/// The version in use, linked when the registry serves it, with its yank.
fn version_cell(pack: &PackInUse) -> Markup {
    html! {
        @if pack.verified {
            a href=(format!("/packs/{}/{}", pack.name, pack.version)) { (pack.version) }
        } @else {
            (pack.version) " (not verified)"
        }
        @if pack.yanked {
            " " strong { "yanked" }
            @if let Some(reason) = &pack.yank_reason { ": " (reason) }
        }
        @if let Some(message) = &pack.deprecated {
            " " strong { "deprecated" } ": " (message)
        }
    }
}

/// The day of an RFC 3339 time.
fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// An error of the shared portfolio functions as a page.
fn failed(error: &ApiError) -> Response {
    let (status, detail) = error.parts();
    error_page(
        status,
        status.canonical_reason().unwrap_or("Error"),
        Some(detail),
    )
}

/// The signed-in token and the project of `/portfolio/projects/{namespace}/{name}…`, or the
/// response to give instead (sign in, not a project name, not the token's).
async fn readable_project(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    namespace: &str,
    name: &str,
) -> Result<(TokenRecord, String), Response> {
    let Some(token) = viewer(state, headers).await else {
        return Err(to_login(path));
    };
    let project = format!("{namespace}/{name}");
    if threatpack::names::check_pack_name(&project).is_err() {
        return Err(not_found("project"));
    }
    authorize(&token, Scope::Portfolio, &project).map_err(|error| failed(&error))?;
    Ok((token, project))
}

async fn project_page(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (_, project) = match readable_project(&state, &headers, uri.path(), &namespace, &name).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let loaded = async {
        let Some(status) = project_of(&state, project.clone()).await? else {
            return Ok(None);
        };
        let trend = project_trend_of(&state, project.clone(), None).await?;
        let history = history_of(&state, project.clone(), HISTORY_LENGTH).await?;
        let diagram = diagram_of(&state, project.clone()).await?;
        Ok::<_, ApiError>(Some((status, trend, history, diagram)))
    };
    let (status, trend, history, diagram) = match loaded.await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                &format!("No report for {project}"),
                Some(&format!(
                    "no report was pushed for {project}: `threatpack report push REPORT --project {project}`"
                )),
            );
        }
        Err(error) => return failed(&error),
    };
    let body = html! {
        p {
            "Latest report " (status.report_id) ", received "
            time datetime=(status.received_at) { (date(&status.received_at)) }
            " (" (status.age_days) " days ago); " (status.reports) " report" @if status.reports != 1 { "s" } " kept."
        }
        section aria-labelledby="numbers" {
            h2 id="numbers" { "Numbers" }
            (numbers_list(&status.numbers))
            (by_residual(&status.numbers.by_residual))
            @if !status.numbers.activities_owed.is_empty() {
                h3 { "Security activities owed" }
                ul { @for activity in &status.numbers.activities_owed { li { code { (activity) } } } }
            }
        }
        section aria-labelledby="packs" {
            h2 id="packs" { "Packs" }
            @if status.packs.is_empty() { p { "The report names no pack." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Pack" } th scope="col" { "In use" } th scope="col" { "Newest compatible" } th scope="col" { "Newest" } th scope="col" { "Versions behind" } } }
                    tbody {
                        @for pack in &status.packs {
                            tr {
                                th scope="row" { (pack_link(&pack.name)) }
                                td { (version_cell(pack)) }
                                td { (pack.newest_matching.as_deref().unwrap_or("–")) }
                                td { (pack.newest.as_deref().unwrap_or("–")) }
                                td { @match pack.behind { Some(behind) => (behind), None => "unknown" } }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="trend" {
            h2 id="trend" { "Trend" }
            figure.table-wrap {
                (trend_chart("project-trend", &format!("Residual risk of {project} per week"), &trend.weeks))
                figcaption { "The residual risk of the project's latest report of each week." }
            }
        }
        section aria-labelledby="diagram" {
            h2 id="diagram" { "Data-flow diagram" }
            (diagram_figure(&project, diagram.as_ref()))
        }
        section aria-labelledby="history" {
            h2 id="history" { "Report history" }
            (history_table(&history))
        }
    };
    private(render(
        Page {
            title: &format!("Project {project}"),
            crumbs: vec![
                ("Home".to_string(), "/".to_string()),
                ("Portfolio".to_string(), "/portfolio".to_string()),
            ],
            json: Some(format!("/api/v1/projects/{project}")),
            signed_in: true,
        },
        body,
    ))
}

fn numbers_list(numbers: &ReportNumbers) -> Markup {
    html! {
        div.table-wrap { table.numbers {
            thead { tr { th scope="col" { "Residual risk" } th scope="col" { "Threats" } th scope="col" { "Unmitigated top-tier threats" } th scope="col" { "Open backlog items" } th scope="col" { "Unanswered questions" } th scope="col" { "Expired acceptances" } } }
            tbody { tr { td { (numbers.risk) } td { (numbers.threats) } td { (numbers.unmitigated_top) } td { (numbers.open_backlog) } td { @match numbers.unanswered_questions { Some(count) => (count), None => "not listed" } } td { (numbers.expired_acceptances) } } }
        } }
    }
}

fn history_table(history: &[ReportEntry]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th scope="col" { "Report" } th scope="col" { "Received" } th scope="col" { "Residual risk" } th scope="col" { "Threats" } th scope="col" { "Open backlog" } th scope="col" { "Model" } } }
            tbody {
                @for entry in history {
                    @let received = threatpack::time::format_rfc3339(entry.received_at);
                    tr {
                        th scope="row" { (entry.report_id) }
                        td { time datetime=(received) { (received) } }
                        td { (entry.numbers.risk) }
                        td { (entry.numbers.threats) }
                        td { (entry.numbers.open_backlog) }
                        td { @if entry.has_model { "pushed" } @else { "–" } }
                    }
                }
            }
        } }
        @if history.len() as u64 == HISTORY_LENGTH { p { "The " (HISTORY_LENGTH) " latest reports." } }
    }
}

/// The diagram of a project's latest model, or why there is none.
enum ModelDiagram {
    Drawn { file: String, diagram: Diagram },
    Unreadable { file: String, problem: String },
}

/// The only fields of a stored report the diagram reads (any report format that has them).
#[derive(Deserialize)]
struct ReportThreats {
    #[serde(default)]
    threats: Vec<ThreatOnElement>,
}

#[derive(Deserialize)]
struct ThreatOnElement {
    element: String,
    residual: ResidualOnly,
}

#[derive(Deserialize)]
struct ResidualOnly {
    severity: Option<Severity>,
}

/// The latest model of `project` drawn, each element marked with the threats its report
/// found; `None` when no model was pushed.
async fn diagram_of(state: &AppState, project: String) -> Result<Option<ModelDiagram>, ApiError> {
    let Some(model) = model_of(state, project).await? else {
        return Ok(None);
    };
    let report = report_text_of(state, model.report_id).await?;
    // Reading a model is work for a blocking thread (a large model takes milliseconds).
    tokio::task::spawn_blocking(move || {
        let threats: Vec<ThreatOnElement> = report
            .and_then(|text| serde_json::from_str::<ReportThreats>(&text).ok())
            .map(|report| report.threats)
            .unwrap_or_default();
        match threatpack::system::load_model(&model.file, model.text, None) {
            Ok(file) => ModelDiagram::Drawn {
                diagram: Diagram::with_threats(
                    &file.model,
                    threats
                        .iter()
                        .map(|threat| (threat.element.as_str(), threat.residual.severity)),
                ),
                file: model.file,
            },
            Err(problems) => ModelDiagram::Unreadable {
                problem: problems.first().map_or_else(
                    || "it does not parse".to_string(),
                    |problem| problem.message.clone(),
                ),
                file: model.file,
            },
        }
    })
    .await
    .map(Some)
    .map_err(|error| ApiError::internal(format!("drawing a model failed: {error}")))
}

fn diagram_figure(project: &str, diagram: Option<&ModelDiagram>) -> Markup {
    html! {
        @match diagram {
            None => p { "No model was pushed with this project's reports: " code { "threatpack report push REPORT --project " (project) " --model FILE" } },
            Some(ModelDiagram::Unreadable { file, problem }) => p { "The latest model, " code { (file) } ", cannot be read by this registry: " (problem) },
            Some(ModelDiagram::Drawn { file, diagram }) => figure.diagram.table-wrap {
                // An image, not inline: the drawing's own style stays inside it (the page's
                // policy allows no inline style).
                img src=(format!("/portfolio/projects/{project}/diagram.svg")) width=(diagram.width) height=(diagram.height)
                    alt=(format!("Data-flow diagram of {file}: {} components, {} boundaries, {} flows; the list below says what was found on each.", diagram.nodes.len(), diagram.zones.len(), diagram.arrows.len()));
                figcaption { "The data-flow diagram of " code { (file) } ", each element coloured by its worst residual risk." }
                details {
                    summary { "Components and what was found on them" }
                    div.table-wrap { table {
                        thead { tr { th scope="col" { "Component" } th scope="col" { "Kind" } th scope="col" { "Threats" } th scope="col" { "Worst residual" } } }
                        tbody {
                            @for node in &diagram.nodes {
                                tr {
                                    th scope="row" { (node.name) " (" code { (node.id) } ")" }
                                    td { (node.kind) }
                                    td { (node.findings.threats) }
                                    td { (node.findings.worst.map_or("none", Severity::as_str)) }
                                }
                            }
                        }
                    } }
                }
            },
        }
    }
}

/// The diagram of a project's latest model as a standalone SVG image with its own style: no
/// script runs in an image, and its policy allows nothing but that style.
async fn diagram_svg(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (_, project) = match readable_project(&state, &headers, uri.path(), &namespace, &name).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let diagram = match diagram_of(&state, project.clone()).await {
        Ok(Some(ModelDiagram::Drawn { diagram, .. })) => diagram,
        Ok(_) => return not_found("model"),
        Err(error) => return failed(&error),
    };
    let svg = diagram.svg();
    // The drawing's style, with a background so that it reads on a dark page too.
    let style = format!("svg.dfd{{background:#fff}}{}", svg_style());
    let svg = match svg.find('>') {
        Some(end) => format!("{}<style>{style}</style>{}", &svg[..=end], &svg[end + 1..]),
        None => svg,
    };
    let mut response = ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

async fn dependents_page(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(token) = viewer(&state, &headers).await else {
        return to_login(uri.path());
    };
    let pack = format!("{namespace}/{name}");
    if threatpack::names::check_pack_name(&pack).is_err() {
        return not_found("pack");
    }
    let dependents = match dependents_of(&state, token, pack.clone()).await {
        Ok(dependents) => dependents,
        Err(error) => return failed(&error),
    };
    private(render(
        Page {
            title: &format!("Projects using {pack}"),
            crumbs: vec![
                ("Home".to_string(), "/".to_string()),
                ("Portfolio".to_string(), "/portfolio".to_string()),
            ],
            json: Some(format!("/api/v1/packs/{pack}/dependents")),
            signed_in: true,
        },
        html! {
            p { "The projects you may read whose latest report uses " (pack_link(&pack)) ", by version." }
            (dependents_table(&dependents))
        },
    ))
}

/// The projects the viewer may read that use a pack, by version (newest first).
fn dependents_table(dependents: &Dependents) -> Markup {
    let mut by_version: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for dependent in &dependents.dependents {
        by_version
            .entry(dependent.version.as_str())
            .or_default()
            .push(dependent.project.as_str());
    }
    let mut versions: Vec<(&str, Vec<&str>)> = by_version.into_iter().collect();
    versions.sort_by(|(a, _), (b, _)| {
        match (semver::Version::parse(a), semver::Version::parse(b)) {
            (Ok(a), Ok(b)) => b.cmp(&a),
            _ => b.cmp(a),
        }
    });
    html! {
        @if versions.is_empty() {
            p { "No project you may read uses " (dependents.pack) " in its latest report." }
        } @else {
            div.table-wrap { table {
                caption { "Projects whose latest report uses each version" }
                thead { tr { th scope="col" { "Version" } th scope="col" { "Projects" } } }
                tbody {
                    @for (version, projects) in &versions {
                        tr {
                            th scope="row" { a href=(format!("/packs/{}/{version}", dependents.pack)) { (version) } }
                            td { ul class="inline" { @for project in projects { li { (project_link(project)) } } } }
                        }
                    }
                }
            } }
        }
    }
}

/// The projects using `pack` (a checked pack name) that the viewer may read, for the pack
/// page's section of dependents: `None` when the request has no session whose token may read
/// the portfolio.
pub(crate) async fn viewer_dependents(
    state: &AppState,
    headers: &HeaderMap,
    pack: &str,
) -> Option<Vec<Dependent>> {
    let token = viewer(state, headers).await?;
    let dependents = dependents_of(state, token, pack.to_string()).await.ok()?;
    Some(dependents.dependents)
}

/// A page shown under a token: no cache but the browser's may keep it.
pub(crate) fn private(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

#[cfg(test)]
mod tests {
    use threatpack::wire::{PortfolioTotals, Trend, TrendWeek};

    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>";

    fn project(name: &str, risk: u64) -> ProjectStatus {
        ProjectStatus {
            age_days: 2,
            numbers: ReportNumbers {
                risk,
                threats: 3,
                activities_owed: vec![HOSTILE.to_string()],
                expired_acceptances: 1,
                ..ReportNumbers::default()
            },
            packs: vec![PackInUse {
                behind: Some(1),
                name: "acme/web".to_string(),
                newest_matching: Some("1.1.0".to_string()),
                newest: Some(HOSTILE.to_string()),
                verified: true,
                version: "1.0.0".to_string(),
                yank_reason: Some(HOSTILE.to_string()),
                yanked: true,
                deprecated: Some(HOSTILE.to_string()),
            }],
            project: name.to_string(),
            received_at: "2026-12-07T20:00:00Z".to_string(),
            report_id: 4,
            reports: 1,
        }
    }

    #[test]
    fn the_portfolio_lists_every_section_and_escapes_what_reports_say() {
        let portfolio = Portfolio {
            behind: vec!["acme/shop".to_string()],
            owing: BTreeMap::from([(HOSTILE.to_string(), vec!["acme/shop".to_string()])]),
            projects: vec![project("acme/shop", 7)],
            riskiest: vec!["acme/shop".to_string()],
            totals: PortfolioTotals {
                projects: 1,
                risk: 7,
                ..PortfolioTotals::default()
            },
            trend: Trend {
                project: None,
                weeks: vec![TrendWeek {
                    projects: 1,
                    risk: 7,
                    week: "2026-W49".to_string(),
                }],
            },
        };
        let page = portfolio_body(&portfolio, HOSTILE, 1).into_string();
        for heading in [
            "Totals",
            "Trend",
            "Riskiest projects",
            "Projects behind on their packs",
            "Security activities owed",
            "Expired risk acceptances",
            "All projects",
        ] {
            assert!(page.contains(&format!(">{heading}</h2>")), "{heading}");
        }
        assert!(page.contains(r#"<a href="/portfolio/projects/acme/shop">acme/shop</a>"#));
        assert!(page.contains(r#"<a href="/packs/acme/web/1.0.0">1.0.0</a>"#));
        assert!(page.contains("<svg"));
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
    }

    #[test]
    fn a_large_portfolio_is_listed_a_page_at_a_time() {
        let projects: Vec<ProjectStatus> = (0..250)
            .map(|index| project(&format!("acme/p{index:03}"), 1))
            .collect();
        let portfolio = Portfolio {
            behind: projects
                .iter()
                .map(|project| project.project.clone())
                .collect(),
            owing: BTreeMap::new(),
            projects,
            riskiest: Vec::new(),
            totals: PortfolioTotals::default(),
            trend: Trend {
                project: None,
                weeks: Vec::new(),
            },
        };
        let page = portfolio_body(&portfolio, "acme/*", 3).into_string();
        assert!(page.contains("Page 3 of 3."), "{page}");
        assert!(page.contains(r#"<a href="/portfolio?page=2#projects">Previous page</a>"#));
        assert!(!page.contains("Next page"));
        assert!(page.contains("The first 100 of 250 projects behind"));
        let all = page.split(r#"id="projects""#).nth(1).expect("the list");
        assert_eq!(
            all.matches("<tr>").count(),
            1 + 50,
            "a header and the last 50"
        );
        let beyond = portfolio_body(&portfolio, "acme/*", 99).into_string();
        assert!(
            beyond.contains("Page 3 of 3."),
            "past the end: the last page"
        );
    }

    #[test]
    fn dependents_are_listed_by_version_newest_first() {
        let dependent = |project: &str, version: &str| threatpack::wire::Dependent {
            project: project.to_string(),
            received_at: "2026-12-07T20:00:00Z".to_string(),
            report_id: 1,
            version: version.to_string(),
        };
        let table = dependents_table(&Dependents {
            dependents: vec![
                dependent("acme/a", "1.2.0"),
                dependent("acme/b", "1.10.0"),
                dependent("acme/c", "1.2.0"),
            ],
            pack: "acme/web".to_string(),
        })
        .into_string();
        let newest = table.find(">1.10.0<").expect("1.10.0");
        let older = table.find(">1.2.0<").expect("1.2.0");
        assert!(newest < older, "{table}");
        assert!(table.contains(r#"<a href="/portfolio/projects/acme/c">acme/c</a>"#));
    }

    #[test]
    fn a_diagram_is_an_image_with_a_text_alternative() {
        let model = threatpack::system::load_model(
            "model.toml",
            include_str!("../../../examples/online-shop/model.toml").to_string(),
            None,
        )
        .expect("the example model reads");
        let diagram = Diagram::with_threats(&model.model, [("web", Some(Severity::High))]);
        let drawn = ModelDiagram::Drawn {
            file: HOSTILE.to_string(),
            diagram,
        };
        let figure = diagram_figure("acme/shop", Some(&drawn)).into_string();
        assert!(figure.contains(r#"<img src="/portfolio/projects/acme/shop/diagram.svg""#));
        assert!(!figure.contains("<script>"), "{figure}");
        assert!(figure.contains("components"));
    }
}
