//! Reading the portfolio (scope `portfolio`, over the projects the token's patterns match):
//! every project's latest numbers and packs against the index, the totals, the riskiest
//! projects, the projects behind, the weekly trend; one project's trend; the latest stored
//! model of a project; and the projects that depend on a pack.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use threatpack::wire::{
    Dependents, ErrorEnvelope, PackClaim, PackInUse, Portfolio, PortfolioTotals, ProjectModel,
    ProjectStatus, Trend, TrendWeek,
};

use super::auth::{authenticate, authorize};
use super::errors::ApiError;
use super::{ApiResult, AppState, blocking, pack_name};
use crate::store::{LatestReport, PackIndex, ReportEntry, TokenRecord, iso_week, week_of};
use crate::tokens::{Scope, pattern_matches};

/// The most weeks a trend covers (ten years).
const MAX_WEEKS: u64 = 520;

/// The query of `GET /portfolio` and of a project's trend.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PortfolioQuery {
    /// How many of the riskiest projects to list (default 10, at most 1000)
    top: Option<u64>,
    /// How many ISO weeks of trend, up to this one (default 12, at most 520)
    weeks: Option<u64>,
}

/// Who reads the portfolio: the request's token, or, for a request without one, the token of
/// its web session (web/session.rs), so that the JSON a portfolio page links to opens in the
/// same browser. Reads only: no write accepts a session.
async fn reader(state: &AppState, headers: &HeaderMap) -> Result<TokenRecord, ApiError> {
    if !headers.contains_key(axum::http::header::AUTHORIZATION)
        && let Some(token) = crate::web::session::viewer(state, headers).await
    {
        return Ok(token);
    }
    authenticate(state, headers).await
}

/// The token has `portfolio` (or `admin`): which projects it may read is `may_read`.
pub(crate) fn require_portfolio(token: &TokenRecord) -> Result<(), ApiError> {
    if token.scopes.contains(&Scope::Admin) || token.scopes.contains(&Scope::Portfolio) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the token lacks the `portfolio` scope",
        ))
    }
}

/// The token may read `project` in the portfolio (given `require_portfolio`).
pub(crate) fn may_read(token: &TokenRecord, project: &str) -> bool {
    token.scopes.contains(&Scope::Admin)
        || token
            .namespaces
            .iter()
            .any(|pattern| pattern_matches(pattern, project))
}

#[utoipa::path(get, path = "/api/v1/portfolio", tag = "portfolio",
    security(("token" = ["portfolio"])),
    params(PortfolioQuery),
    responses(
        (status = 200, description = "The projects the token may read", body = Portfolio),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token lacks the `portfolio` scope", body = ErrorEnvelope),
    ))]
pub(crate) async fn portfolio(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PortfolioQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let token = reader(&state, &headers).await?;
    require_portfolio(&token)?;
    let answer = portfolio_of(&state, token, query.top, query.weeks).await?;
    Ok(Json(answer.as_ref()).into_response())
}

/// The portfolio of the projects `token` may read (`GET /portfolio` and the web page): the
/// `top` riskiest (default 10), the trend over `weeks` weeks (default 12). Kept in
/// `PortfolioCache` until the store changes or the minute does.
pub(crate) async fn portfolio_of(
    state: &AppState,
    token: TokenRecord,
    top: Option<u64>,
    weeks: Option<u64>,
) -> Result<Arc<Portfolio>, ApiError> {
    let top = top.unwrap_or(10).min(1000) as usize;
    let weeks = weeks.unwrap_or(12).clamp(1, MAX_WEEKS) as i64;
    let now = threatpack::time::now();
    let from_week = week_of(now) - weeks + 1;
    let cache = state.portfolio_cache.clone();
    blocking(state, move |store| {
        let key = PortfolioKey {
            admin: token.scopes.contains(&Scope::Admin),
            namespaces: token.namespaces.clone(),
            top,
            weeks,
            minute: now.div_euclid(60),
            marker: store.change_marker()?,
        };
        if let Some(cached) = cache.get(&key) {
            return Ok(cached);
        }
        let latest: Vec<LatestReport> = store
            .latest_reports()?
            .into_iter()
            .filter(|report| may_read(&token, &report.project))
            .collect();
        let mut indexes = BTreeMap::new();
        for report in &latest {
            for (claim, verified) in &report.packs {
                if *verified && !indexes.contains_key(&claim.name) {
                    indexes.insert(claim.name.clone(), store.index(&claim.name)?);
                }
            }
        }
        let rows = store
            .weekly_risk(None, from_week)?
            .into_iter()
            .filter(|(project, _, _)| may_read(&token, project))
            .collect();
        let projects: Vec<ProjectStatus> = latest
            .into_iter()
            .map(|report| status(report, &indexes, now))
            .collect();
        let portfolio = Arc::new(summarize(
            projects,
            top,
            trend(None, rows, from_week, weeks),
        ));
        cache.put(key, portfolio.clone());
        Ok(portfolio)
    })
    .await
}

/// What a cached portfolio was computed for: the projects the token covers, the request, the
/// minute (ages are in days, the trend's window in weeks) and the store's content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PortfolioKey {
    admin: bool,
    namespaces: Vec<String>,
    top: usize,
    weeks: i64,
    minute: i64,
    marker: (u64, u64),
}

/// The last few portfolios computed: summarising every project takes tens of milliseconds at
/// thousands of projects (docs/benchmarks.md), and a dashboard asks again and again for the
/// same one. Any write to the store changes the key, so an answer is never staler than the
/// minute it was computed in.
#[derive(Default)]
pub(crate) struct PortfolioCache {
    entries: std::sync::Mutex<Vec<(PortfolioKey, Arc<Portfolio>)>>,
}

/// Portfolios kept (token scopes × requests in use at once).
const PORTFOLIO_CACHE_ENTRIES: usize = 16;

impl PortfolioCache {
    fn get(&self, key: &PortfolioKey) -> Option<Arc<Portfolio>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(cached, _)| cached == key)
            .map(|(_, portfolio)| portfolio.clone())
    }

    fn put(&self, key: PortfolioKey, portfolio: Arc<Portfolio>) {
        if let Ok(mut entries) = self.entries.lock() {
            // Entries of an older store or minute are never asked for again.
            entries
                .retain(|(cached, _)| cached.marker == key.marker && cached.minute == key.minute);
            if entries.len() >= PORTFOLIO_CACHE_ENTRIES {
                entries.remove(0);
            }
            entries.push((key, portfolio));
        }
    }
}

/// The totals, the riskiest and the projects behind, over `projects`.
fn summarize(projects: Vec<ProjectStatus>, top: usize, trend: Trend) -> Portfolio {
    let mut totals = PortfolioTotals {
        projects: projects.len() as u64,
        ..PortfolioTotals::default()
    };
    let mut owing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for project in &projects {
        let numbers = &project.numbers;
        totals.risk += numbers.risk;
        totals.threats += numbers.threats;
        totals.open_backlog += numbers.open_backlog;
        totals.unmitigated_top += numbers.unmitigated_top;
        totals.unanswered_questions += numbers.unanswered_questions.unwrap_or(0);
        totals.expired_acceptances += numbers.expired_acceptances;
        totals.activities_owed += numbers.activities_owed.len() as u64;
        for (level, count) in &numbers.by_residual {
            *totals.by_residual.entry(level.clone()).or_default() += count;
        }
        for activity in &numbers.activities_owed {
            owing
                .entry(activity.clone())
                .or_default()
                .push(project.project.clone());
        }
    }
    let mut ranked: Vec<&ProjectStatus> = projects.iter().collect();
    ranked.sort_by(|a, b| {
        b.numbers
            .risk
            .cmp(&a.numbers.risk)
            .then_with(|| a.project.cmp(&b.project))
    });
    let riskiest = ranked
        .iter()
        .take(top)
        .map(|project| project.project.clone())
        .collect();
    let behind = projects
        .iter()
        .filter(|project| project.packs.iter().any(PackInUse::is_behind))
        .map(|project| project.project.clone())
        .collect();
    Portfolio {
        behind,
        owing,
        projects,
        riskiest,
        totals,
        trend,
    }
}

/// A project's latest report against the index: each pack in use and how far behind it is.
fn status(
    report: LatestReport,
    indexes: &BTreeMap<String, Option<PackIndex>>,
    now: i64,
) -> ProjectStatus {
    let packs = report
        .packs
        .iter()
        .map(|(claim, verified)| pack_in_use(claim, *verified, indexes))
        .collect();
    ProjectStatus {
        age_days: u64::try_from((now - report.received_at).max(0) / 86_400).unwrap_or(0),
        numbers: report.numbers,
        packs,
        project: report.project,
        received_at: threatpack::time::format_rfc3339(report.received_at),
        report_id: report.report_id,
        reports: report.reports,
    }
}

/// A claimed version against its pack's index: unverified claims get no "behind" numbers.
fn pack_in_use(
    claim: &PackClaim,
    verified: bool,
    indexes: &BTreeMap<String, Option<PackIndex>>,
) -> PackInUse {
    let mut in_use = PackInUse {
        behind: None,
        deprecated: None,
        name: claim.name.clone(),
        newest_matching: None,
        newest: None,
        verified,
        version: claim.version.clone(),
        yank_reason: None,
        yanked: false,
    };
    let Some(Some(index)) = indexes.get(&claim.name).filter(|_| verified) else {
        return in_use;
    };
    let (Ok(current), Ok(requirement)) = (
        semver::Version::parse(&claim.version),
        semver::VersionReq::parse(&format!("^{}", claim.version)),
    ) else {
        return in_use;
    };
    if let Some(used) = index.versions.iter().find(|v| v.version == claim.version) {
        in_use.yanked = used.yanked;
        in_use.yank_reason = used.yank_reason.clone();
        in_use.deprecated = used
            .deprecated
            .as_ref()
            .map(|deprecation| deprecation.message.clone());
    }
    let available: Vec<semver::Version> = index
        .versions
        .iter()
        .filter(|version| !version.yanked)
        .filter_map(|version| semver::Version::parse(&version.version).ok())
        .collect();
    let matching: Vec<&semver::Version> = available
        .iter()
        .filter(|version| requirement.matches(version))
        .collect();
    in_use.newest = available.iter().max().map(ToString::to_string);
    in_use.newest_matching = matching.iter().max().map(ToString::to_string);
    in_use.behind = Some(
        matching
            .iter()
            .filter(|version| ***version > current)
            .count() as u64,
    );
    in_use
}

/// The trend of `weeks` weeks from `from_week`: per week, each project's latest report of
/// that week, or its previous one carried forward.
fn trend(
    project: Option<String>,
    rows: Vec<(String, i64, u64)>,
    from_week: i64,
    weeks: i64,
) -> Trend {
    let mut by_project: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for (name, week, risk) in rows {
        by_project.entry(name).or_default().push((week, risk));
    }
    let mut totals = vec![(0u64, 0u64); weeks as usize];
    for mut series in by_project.into_values() {
        series.sort_unstable();
        let mut next = 0;
        let mut carried: Option<u64> = None;
        for (offset, total) in totals.iter_mut().enumerate() {
            let week = from_week + offset as i64;
            while next < series.len() && series[next].0 <= week {
                carried = Some(series[next].1);
                next += 1;
            }
            if let Some(risk) = carried {
                total.0 += risk;
                total.1 += 1;
            }
        }
    }
    Trend {
        project,
        weeks: totals
            .into_iter()
            .enumerate()
            .map(|(offset, (risk, projects))| TrendWeek {
                projects,
                risk,
                week: iso_week(from_week + offset as i64),
            })
            .collect(),
    }
}

/// A project the token may read with the `portfolio` scope, by its URL.
async fn readable_project(
    state: &AppState,
    headers: &HeaderMap,
    namespace: &str,
    name: &str,
) -> Result<String, ApiError> {
    let project = pack_name(namespace, name)?;
    let token = reader(state, headers).await?;
    authorize(&token, Scope::Portfolio, &project)?;
    Ok(project)
}

#[utoipa::path(get, path = "/api/v1/projects/{namespace}/{name}", tag = "portfolio",
    security(("token" = ["portfolio"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `shop`"),
    ),
    responses(
        (status = 200, description = "The project's latest numbers and packs", body = ProjectStatus),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not read this project", body = ErrorEnvelope),
        (status = 404, description = "No report was pushed for this project", body = ErrorEnvelope),
    ))]
pub(crate) async fn project(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let project = readable_project(&state, &headers, &namespace, &name).await?;
    let status = project_of(&state, project)
        .await?
        .ok_or_else(|| no_reports(&namespace, &name))?;
    Ok(Json(status).into_response())
}

/// A project's latest numbers and packs against the index; `None` before its first report.
pub(crate) async fn project_of(
    state: &AppState,
    project: String,
) -> Result<Option<ProjectStatus>, ApiError> {
    let now = threatpack::time::now();
    blocking(state, move |store| {
        let Some(report) = store.latest_report(&project)? else {
            return Ok(None);
        };
        let mut indexes = BTreeMap::new();
        for (claim, verified) in &report.packs {
            if *verified && !indexes.contains_key(&claim.name) {
                indexes.insert(claim.name.clone(), store.index(&claim.name)?);
            }
        }
        Ok(Some(status(report, &indexes, now)))
    })
    .await
}

/// The `limit` latest reports kept for `project`, newest first (its page's history).
pub(crate) async fn history_of(
    state: &AppState,
    project: String,
    limit: u64,
) -> Result<Vec<ReportEntry>, ApiError> {
    blocking(state, move |store| store.report_history(&project, limit)).await
}

fn no_reports(namespace: &str, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no report was pushed for `{namespace}/{name}`: `threatpack report push REPORT --project {namespace}/{name}`"
        ),
    )
}

#[utoipa::path(get, path = "/api/v1/projects/{namespace}/{name}/trend", tag = "portfolio",
    security(("token" = ["portfolio"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `shop`"),
        PortfolioQuery,
    ),
    responses(
        (status = 200, description = "The project's residual risk per ISO week, oldest first", body = Trend),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not read this project", body = ErrorEnvelope),
    ))]
pub(crate) async fn project_trend(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<PortfolioQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query?;
    let project = readable_project(&state, &headers, &namespace, &name).await?;
    Ok(Json(project_trend_of(&state, project, query.weeks).await?).into_response())
}

/// One project's trend over `weeks` weeks (default 52).
pub(crate) async fn project_trend_of(
    state: &AppState,
    project: String,
    weeks: Option<u64>,
) -> Result<Trend, ApiError> {
    let weeks = weeks.unwrap_or(52).clamp(1, MAX_WEEKS) as i64;
    let from_week = week_of(threatpack::time::now()) - weeks + 1;
    let lookup = project.clone();
    let rows = blocking(state, move |store| {
        store.weekly_risk(Some(&lookup), from_week)
    })
    .await?;
    Ok(trend(Some(project), rows, from_week, weeks))
}

#[utoipa::path(get, path = "/api/v1/projects/{namespace}/{name}/model", tag = "portfolio",
    security(("token" = ["portfolio"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `shop`"),
    ),
    responses(
        (status = 200, description = "The latest model pushed with a report of the project", body = ProjectModel),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not read this project", body = ErrorEnvelope),
        (status = 404, description = "No model was pushed for this project", body = ErrorEnvelope),
    ))]
pub(crate) async fn model(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let project = readable_project(&state, &headers, &namespace, &name).await?;
    let model = model_of(&state, project.clone()).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no model was pushed for `{project}`: push one with `threatpack report push REPORT --project {project} --model FILE`"),
        )
    })?;
    Ok(Json(model).into_response())
}

/// The latest model pushed with a report of `project`, if any.
pub(crate) async fn model_of(
    state: &AppState,
    project: String,
) -> Result<Option<ProjectModel>, ApiError> {
    let lookup = project.clone();
    let Some(stored) = blocking(state, move |store| store.latest_model(&lookup)).await? else {
        return Ok(None);
    };
    // Stored by a push under the same cap; read back under it all the same.
    let text = gunzip(&stored.text_gzip, state.options.max_report_bytes)
        .map_err(|error| ApiError::internal(format!("a stored model is damaged: {error}")))?;
    Ok(Some(ProjectModel {
        file: stored.file,
        packs: stored.packs,
        project,
        report_id: stored.report_id,
        text,
    }))
}

/// A stored report's JSON text by its id, if it is still kept.
pub(crate) async fn report_text_of(
    state: &AppState,
    report_id: i64,
) -> Result<Option<String>, ApiError> {
    let Some(gzip) = blocking(state, move |store| store.report_gzip(report_id)).await? else {
        return Ok(None);
    };
    gunzip(&gzip, state.options.max_report_bytes)
        .map(Some)
        .map_err(|error| ApiError::internal(format!("a stored report is damaged: {error}")))
}

/// Text stored gzip-compressed by a push, read back under the push's cap.
fn gunzip(gzip: &[u8], max: usize) -> std::io::Result<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gzip)
        .take(max as u64)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[utoipa::path(get, path = "/api/v1/packs/{namespace}/{name}/dependents", tag = "portfolio",
    security(("token" = ["portfolio"])),
    params(
        ("namespace" = String, Path, description = "e.g. `threatpack`"),
        ("name" = String, Path, description = "e.g. `stride-core`"),
    ),
    responses(
        (status = 200, description = "The projects (that the token may read) whose latest report uses the pack, with a claim the index confirmed", body = Dependents),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token lacks the `portfolio` scope", body = ErrorEnvelope),
    ))]
pub(crate) async fn dependents(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let pack = pack_name(&namespace, &name)?;
    let token = reader(&state, &headers).await?;
    require_portfolio(&token)?;
    Ok(Json(dependents_of(&state, token, pack).await?).into_response())
}

/// The projects `token` may read whose latest report uses `pack` (a checked pack name).
pub(crate) async fn dependents_of(
    state: &AppState,
    token: TokenRecord,
    pack: String,
) -> Result<Dependents, ApiError> {
    let lookup = pack.clone();
    let dependents = blocking(state, move |store| store.dependents(&lookup))
        .await?
        .into_iter()
        .filter(|dependent| may_read(&token, &dependent.project))
        .collect();
    Ok(Dependents { dependents, pack })
}
