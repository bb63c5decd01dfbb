//! Pushing a threat-model report (`POST /api/v1/projects/{namespace}/{name}/reports`): the
//! token's `report` scope over the project, a body capped before it is parsed (after gzip
//! decompression too, so a bomb stops at the cap), the report's numbers taken at push, its pack
//! claims checked against the registry's own index, then one store call.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde::de::IgnoredAny;
use threatpack::wire::{ErrorEnvelope, PackClaim, ReportNumbers, ReportPush, ReportPushAnswer};

use super::auth::{actor, authenticate, authorize};
use super::errors::{ApiError, unprocessable};
use super::publish::{body_error, content_length};
use super::{ApiResult, AppState, blocking, pack_name};
use crate::store::NewReport;
use crate::tokens::Scope;

/// The largest report push (after decompression), unless configured otherwise.
pub const DEFAULT_MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;

/// How long reports are kept (the latest of each project always is), unless configured
/// otherwise.
pub const DEFAULT_REPORT_RETENTION_DAYS: u32 = 730;

/// The most pack claims a report may make (a knowledge base is compiled from a few packs).
const MAX_PACK_CLAIMS: usize = 256;
/// The most activities a report may list, and the longest id kept (they are stored with the
/// project's numbers and listed in every portfolio answer).
const MAX_ACTIVITIES: usize = 1024;
const MAX_ACTIVITY_ID: usize = 256;

#[utoipa::path(post, path = "/api/v1/projects/{namespace}/{name}/reports", tag = "reports",
    security(("token" = ["report"])),
    params(
        ("namespace" = String, Path, description = "e.g. `acme`"),
        ("name" = String, Path, description = "e.g. `shop`"),
        ("content-encoding" = Option<String>, Header, description = "`gzip`, or none"),
    ),
    request_body(content = ReportPush, description = "The JSON report and, optionally, its model"),
    responses(
        (status = 201, description = "Stored", body = ReportPushAnswer),
        (status = 400, description = "A malformed project name, an unknown content encoding, or a body that could not be read", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "The token may not push reports for this project", body = ErrorEnvelope),
        (status = 413, description = "The body is over `max-report-size` (before or after decompression)", body = ErrorEnvelope),
        (status = 422, description = "The body is not a report push, or the report names another project", body = ErrorEnvelope),
    ))]
pub(crate) async fn push(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let project = pack_name(&namespace, &name)?;
    let token = authenticate(&state, &headers).await?;
    authorize(&token, Scope::Report, &project)?;
    let max = state.options.max_report_bytes;
    if let Some(declared) = content_length(&headers)?
        && declared > max as u64
    {
        return Err(too_large(max));
    }
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap_or("?").trim().to_ascii_lowercase())
    {
        None => false,
        Some(encoding) if encoding == "identity" => false,
        Some(encoding) if encoding == "gzip" => true,
        Some(encoding) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "content encoding `{}` is not accepted: send `gzip` or none",
                    encoding.escape_debug()
                ),
            ));
        }
    };
    // A body and its parsed JSON in memory: as many at once as publishes.
    let _permit = state.publish_permits.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the registry is shutting down: try again",
        )
    })?;
    let bytes = receive(body, max).await?;
    let checked_project = project.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let bytes = if gzip { gunzip(&bytes, max)? } else { bytes };
        prepare(&bytes, &checked_project)
    })
    .await
    .map_err(|error| ApiError::internal(format!("the registry failed: {error}")))??;
    let Prepared {
        numbers,
        claims,
        report_gzip,
        model,
    } = prepared;
    // A claim counts only when the registry serves that name and version with that sha256 (and
    // that signer, when it names one).
    let packs = blocking(&state, move |store| {
        let mut indexes = BTreeMap::new();
        let mut packs = Vec::with_capacity(claims.len());
        for claim in claims {
            if !indexes.contains_key(&claim.name) {
                indexes.insert(claim.name.clone(), store.index(&claim.name)?);
            }
            let verified = indexes
                .get(&claim.name)
                .and_then(Option::as_ref)
                .is_some_and(|index| {
                    index.versions.iter().any(|version| {
                        version.version == claim.version
                            && claim
                                .sha256
                                .as_ref()
                                .is_some_and(|sha256| version.digest == format!("sha256:{sha256}"))
                            // A signer named must be the one the registry checked.
                            && claim
                                .signer
                                .as_ref()
                                .is_none_or(|signer| *signer == version.signer_key_id)
                    })
                });
            packs.push((claim, verified));
        }
        Ok(packs)
    })
    .await?;
    let received_at = threatpack::time::now();
    let retention = i64::from(state.options.report_retention_days) * 86_400;
    let record = NewReport {
        project: project.clone(),
        received_at,
        numbers,
        packs: packs.clone(),
        report_gzip,
        model,
    };
    let actor = actor(&token);
    let report_id = blocking(&state, move |store| {
        let id = store.store_report(&record, &actor)?;
        store.prune_reports(received_at - retention)?;
        Ok(id)
    })
    .await?;
    let (verified_packs, unverified_packs) = packs.into_iter().partition::<Vec<_>, _>(|(_, v)| *v);
    Ok((
        StatusCode::CREATED,
        Json(ReportPushAnswer {
            project,
            received_at: threatpack::time::format_rfc3339(received_at),
            report_id,
            unverified_packs: unverified_packs
                .into_iter()
                .map(|(claim, _)| claim)
                .collect(),
            verified_packs: verified_packs.into_iter().map(|(claim, _)| claim).collect(),
        }),
    )
        .into_response())
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the report push is too large: at most {max} bytes, after decompression (the server's `max-report-size`)"
        ),
    )
}

/// The body, refused once past `max` bytes.
async fn receive(mut body: Body, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len().saturating_add(data.len()) > max {
                return Err(too_large(max));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// Decompresses a gzip body, refused once past `max` bytes: a bomb costs `max`, no more.
fn gunzip(bytes: &[u8], max: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid gzip: {error}"),
            )
        })?;
    if out.len() > max {
        return Err(too_large(max));
    }
    Ok(out)
}

pub(crate) fn gzip(bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|error| ApiError::internal(format!("cannot compress a report: {error}")))
}

/// What a push stores, taken from its body.
pub struct Prepared {
    pub numbers: ReportNumbers,
    pub claims: Vec<PackClaim>,
    pub report_gzip: Vec<u8>,
    pub model: Option<(String, Vec<u8>)>,
}

/// Parses a push body for `project`: its numbers, its pack claims, the report and model
/// compressed. Public for the benchmark's generator, which stores reports as a push would.
pub fn prepare(body: &[u8], project: &str) -> Result<Prepared, ApiError> {
    let push: ReportPush = serde_json::from_slice(body).map_err(|error| {
        unprocessable(format!(
            "the body is not a report push `{{\"report\": REPORT, \"model\": {{\"file\", \"text\"}}}}`: {error}"
        ))
    })?;
    let (numbers, claims) = measure(&push.report, project)?;
    let report_text = serde_json::to_vec(&push.report)
        .map_err(|error| ApiError::internal(format!("cannot write a report: {error}")))?;
    let report_gzip = gzip(&report_text)?;
    let model = match push.model {
        Some(model) => {
            check_model_file(&model.file)?;
            Some((model.file, gzip(model.text.as_bytes())?))
        }
        None => None,
    };
    Ok(Prepared {
        numbers,
        claims,
        report_gzip,
        model,
    })
}

/// A model's file name as it is shown and used again (`impact`): a relative path of printable
/// characters.
fn check_model_file(file: &str) -> Result<(), ApiError> {
    let valid = !file.is_empty()
        && file.len() <= 512
        && !file.chars().any(char::is_control)
        && !file.starts_with('/')
        && !file.split(['/', '\\']).any(|part| part == "..");
    if valid {
        Ok(())
    } else {
        Err(unprocessable(format!(
            "`{}` is not a model file name: a relative path of at most 512 printable characters",
            file.escape_debug()
        )))
    }
}

/// The fields of a JSON report the portfolio reads (schema/report.schema.json); others are
/// ignored, so newer reports push to an older registry.
#[derive(Deserialize)]
struct ReportView {
    #[serde(default)]
    provenance: Option<Provenance>,
    threats: Vec<ThreatView>,
    #[serde(default)]
    backlog: Vec<IgnoredAny>,
    #[serde(default)]
    questions: Option<Vec<QuestionView>>,
    #[serde(default)]
    activities: Option<ActivitiesView>,
}

#[derive(Deserialize)]
struct ActivitiesView {
    #[serde(default)]
    activities: Vec<ActivityView>,
}

#[derive(Deserialize)]
struct ActivityView {
    id: String,
    status: String,
}

#[derive(Deserialize)]
struct Provenance {
    #[serde(default)]
    packs: Vec<PackClaim>,
    #[serde(default)]
    project: Option<ProvenanceProject>,
}

#[derive(Deserialize)]
struct ProvenanceProject {
    name: String,
}

#[derive(Deserialize)]
struct ThreatView {
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    state: Option<String>,
    residual: ResidualView,
    #[serde(default)]
    mitigations: Vec<MitigationView>,
}

#[derive(Deserialize)]
struct MitigationView {
    #[serde(default)]
    acceptance: Option<AcceptanceView>,
}

#[derive(Deserialize)]
struct AcceptanceView {
    #[serde(default)]
    expired: bool,
}

#[derive(Deserialize)]
struct ResidualView {
    severity: String,
}

#[derive(Deserialize)]
struct QuestionView {
    #[serde(default)]
    answered: bool,
}

/// The numbers of a report (docs/portfolio.md) and its pack claims; refused when its
/// provenance names another project than `project`.
fn measure(
    report: &serde_json::Value,
    project: &str,
) -> Result<(ReportNumbers, Vec<PackClaim>), ApiError> {
    let view = ReportView::deserialize(report).map_err(|error| {
        unprocessable(format!(
            "the report is not a JSON report (schema/report.schema.json): {error}"
        ))
    })?;
    let mut claims = Vec::new();
    if let Some(provenance) = view.provenance {
        if let Some(named) = provenance.project
            && named.name != project
        {
            return Err(unprocessable(format!(
                "the report is for project `{}`, not `{project}`: push it to its own project",
                named.name.escape_debug()
            )));
        }
        if provenance.packs.len() > MAX_PACK_CLAIMS {
            return Err(unprocessable(format!(
                "the report claims {} packs: at most {MAX_PACK_CLAIMS}",
                provenance.packs.len()
            )));
        }
        claims = provenance.packs;
    }
    let mut numbers = ReportNumbers {
        threats: view.threats.len() as u64,
        open_backlog: view.backlog.len() as u64,
        unanswered_questions: view.questions.map(|questions| {
            questions
                .iter()
                .filter(|question| !question.answered)
                .count() as u64
        }),
        ..ReportNumbers::default()
    };
    for threat in &view.threats {
        let level = threat.residual.severity.as_str();
        numbers.risk += threatpack::analysis::view::residual_score(level);
        *numbers.by_residual.entry(level.to_string()).or_default() += 1;
        for category in &threat.categories {
            *numbers.by_category.entry(category.clone()).or_default() += 1;
        }
        if threat.tier.as_deref() == Some("top") && threat.state.as_deref() == Some("unmitigated") {
            numbers.unmitigated_top += 1;
        }
        numbers.expired_acceptances += threat
            .mitigations
            .iter()
            .filter(|mitigation| mitigation.acceptance.as_ref().is_some_and(|a| a.expired))
            .count() as u64;
    }
    if let Some(activities) = view.activities {
        if activities.activities.len() > MAX_ACTIVITIES {
            return Err(unprocessable(format!(
                "the report lists {} activities: at most {MAX_ACTIVITIES}",
                activities.activities.len()
            )));
        }
        if let Some(long) = activities
            .activities
            .iter()
            .find(|activity| activity.id.len() > MAX_ACTIVITY_ID)
        {
            return Err(unprocessable(format!(
                "an activity id of {} bytes: at most {MAX_ACTIVITY_ID}",
                long.id.len()
            )));
        }
        numbers.activities_owed = activities
            .activities
            .into_iter()
            .filter(|activity| activity.status != "done")
            .map(|activity| activity.id)
            .collect();
    }
    Ok((numbers, claims))
}
