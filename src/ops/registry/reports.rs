//! Reports and the portfolio: pushing a JSON report (and its model) for a project (the `report`
//! scope), and reading the portfolio, one project, its trend, its latest model and a pack's
//! dependents (the `portfolio` scope). docs/portfolio.md.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Connection, Hints, RegistryError, RegistryOptions, json_body, split_pack};
use crate::client::http::Request;
use crate::wire::{
    Dependents, Portfolio, ProjectModel, ProjectStatus, PushedModel, ReportPush, ReportPushAnswer,
    Trend,
};

/// The largest report or model file read: the registry's default cap on a push.
pub const MAX_REPORT_FILE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct PushReportOptions {
    pub registry: RegistryOptions,
    /// A JSON report (`apply --format json`).
    pub report: PathBuf,
    /// `namespace/name`; when `None`, the report's `provenance.project.name`.
    pub project: Option<String>,
    /// The model the report was made from, stored for `impact`.
    pub model: Option<PathBuf>,
    /// Without `model`: send the file the report's `model.file` names, when it exists (`apply
    /// --push` right after the report was made from it).
    pub model_from_report: bool,
}

/// Pushes a report (gzip-compressed) for its project.
pub fn push_report(options: &PushReportOptions) -> Result<ReportPushAnswer, RegistryError> {
    let text = read(&options.report, "report")?;
    let report: serde_json::Value = serde_json::from_slice(&text).map_err(|error| {
        RegistryError::Invalid(format!(
            "`{}` is not a JSON report (`threatpack apply --format json`): {error}",
            options.report.display()
        ))
    })?;
    let named = report
        .pointer("/provenance/project/name")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let project = options.project.clone().or(named).ok_or_else(|| {
        RegistryError::Invalid(format!(
            "`{}` names no project: give `--project NAMESPACE/NAME`",
            options.report.display()
        ))
    })?;
    let (namespace, name) = split_pack(&project).map_err(|_| {
        RegistryError::Invalid(format!(
            "`{project}` is not a project name: expected `namespace/name`, e.g. `acme/shop`"
        ))
    })?;
    let named_model = report
        .pointer("/model/file")
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from)
        .filter(|path| options.model_from_report && path.is_file());
    let model = match options.model.as_ref().or(named_model.as_ref()) {
        Some(path) => {
            let text = String::from_utf8(read(path, "model")?).map_err(|_| {
                RegistryError::Invalid(format!("the model `{}` is not UTF-8", path.display()))
            })?;
            Some(PushedModel {
                file: model_name(path),
                text,
            })
        }
        None => None,
    };
    let body = json_body(&ReportPush { model, report })?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let body = encoder
        .write_all(&body)
        .and_then(|()| encoder.finish())
        .map_err(|error| RegistryError::Invalid(format!("cannot compress the report: {error}")))?;
    let connection = Connection::open(&options.registry)?;
    let path = format!("/projects/{namespace}/{name}/reports");
    let mut request = Request::new("POST", &path);
    request.token = Some(connection.token()?);
    request
        .headers
        .push(("content-encoding", "gzip".to_string()));
    request.body = Some(("application/json", &body));
    let hints = Hints::needs(format!("the `report` scope covering `{project}`"));
    let (_, answer) = connection.call(&request, hints)?;
    Ok(answer)
}

/// The model's name as the registry keeps it: the path as given when relative, else its file
/// name (an absolute path says nothing to whoever reads it back).
fn model_name(path: &Path) -> String {
    if path.is_relative() && !path.components().any(|part| part.as_os_str() == "..") {
        path.to_string_lossy().replace('\\', "/")
    } else {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string())
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, RegistryError> {
    crate::workspace::read_capped(path, MAX_REPORT_FILE_BYTES)
        .map_err(|error| RegistryError::Invalid(format!("cannot read the {what}: {error}")))
}

/// `threatpack portfolio`: every project the token may read.
pub fn portfolio(
    registry: &RegistryOptions,
    top: u64,
    weeks: u64,
) -> Result<Portfolio, RegistryError> {
    let path = format!("/portfolio?top={top}&weeks={weeks}");
    get(registry, &path, Hints::needs("the `portfolio` scope"))
}

/// One project's latest numbers and packs.
pub fn project_status(
    registry: &RegistryOptions,
    project: &str,
) -> Result<ProjectStatus, RegistryError> {
    let (namespace, name) = split_pack(project)?;
    let hints = Hints::needs(format!("the `portfolio` scope covering `{project}`")).not_found(
        format!("push a report first: `threatpack report push REPORT --project {project}`"),
    );
    get(registry, &format!("/projects/{namespace}/{name}"), hints)
}

/// One project's residual risk per ISO week.
pub fn project_trend(
    registry: &RegistryOptions,
    project: &str,
    weeks: u64,
) -> Result<Trend, RegistryError> {
    let (namespace, name) = split_pack(project)?;
    let hints = Hints::needs(format!("the `portfolio` scope covering `{project}`"));
    get(
        registry,
        &format!("/projects/{namespace}/{name}/trend?weeks={weeks}"),
        hints,
    )
}

/// The latest model pushed with a report of `project` (what `impact` applies a candidate to).
pub fn project_model(
    registry: &RegistryOptions,
    project: &str,
) -> Result<ProjectModel, RegistryError> {
    ModelReader::open(registry)?.model(project)
}

/// Reads the stored models of many projects over one HTTP client (`impact` from the registry
/// reads thousands; a client per read costs its own threads and TLS set-up). Shared by threads.
pub struct ModelReader<'a> {
    connection: Connection<'a>,
}

impl<'a> ModelReader<'a> {
    pub fn open(registry: &'a RegistryOptions) -> Result<ModelReader<'a>, RegistryError> {
        Ok(ModelReader {
            connection: Connection::open(registry)?,
        })
    }

    /// The latest model pushed with a report of `project`.
    pub fn model(&self, project: &str) -> Result<ProjectModel, RegistryError> {
        let (namespace, name) = split_pack(project)?;
        let hints = Hints::needs(format!("the `portfolio` scope covering `{project}`")).not_found(
            format!("push one: `threatpack report push REPORT --project {project} --model FILE`"),
        );
        let path = format!("/projects/{namespace}/{name}/model");
        let mut request = Request::new("GET", &path);
        request.token = Some(self.connection.token()?);
        let (_, answer) = self.connection.call(&request, hints)?;
        Ok(answer)
    }

    /// Where a project's model is read from, for people.
    pub fn model_url(&self, project: &str) -> String {
        format!("{}/api/v1/projects/{project}/model", self.connection.url)
    }
}

/// The projects whose latest report uses `pack`, with the version.
pub fn dependents(registry: &RegistryOptions, pack: &str) -> Result<Dependents, RegistryError> {
    let (namespace, name) = split_pack(pack)?;
    get(
        registry,
        &format!("/packs/{namespace}/{name}/dependents"),
        Hints::needs("the `portfolio` scope"),
    )
}

fn get<T: serde::de::DeserializeOwned>(
    registry: &RegistryOptions,
    path: &str,
    hints: Hints,
) -> Result<T, RegistryError> {
    let connection = Connection::open(registry)?;
    let mut request = Request::new("GET", path);
    request.token = Some(connection.token()?);
    let (_, answer) = connection.call(&request, hints)?;
    Ok(answer)
}
