//! A report's provenance as `apply` records it: the tool, the time (`SOURCE_DATE_EPOCH` when
//! set), the model's digest, the packs, and the project's identity from a flag,
//! `threatpack.toml` or the environment of a CI system.

use super::knowledge::Knowledge;
use crate::analysis::report::{IdentitySource, ModelOrigin, ProjectIdentity, Provenance, ToolRef};

/// The CI systems whose environment names the project and its revision, tried in order:
/// (source, the variable naming the project, the variable holding the revision).
const CI_SYSTEMS: [(IdentitySource, &str, &str); 5] = [
    (
        IdentitySource::Environment,
        "THREATPACK_PROJECT",
        "THREATPACK_REVISION",
    ),
    (
        IdentitySource::GithubActions,
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
    ),
    (IdentitySource::GitlabCi, "CI_PROJECT_PATH", "CI_COMMIT_SHA"),
    (
        IdentitySource::AzurePipelines,
        "BUILD_REPOSITORY_NAME",
        "BUILD_SOURCEVERSION",
    ),
    (IdentitySource::Jenkins, "JOB_NAME", "GIT_COMMIT"),
];

/// The project a report is about. The name, first found: `name` (a flag), `[project] name`
/// in the project's `threatpack.toml`, then the environment (`THREATPACK_PROJECT`, GitHub
/// Actions, GitLab CI, Azure Pipelines, Jenkins). The revision: `revision`, else the
/// revision variable of the first CI system whose variables are set. `env` reads a variable
/// (the process environment in the CLI; a map in tests).
pub fn project_identity(
    name: Option<&str>,
    revision: Option<&str>,
    knowledge: &Knowledge,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<ProjectIdentity> {
    let set = |variable: &str| env(variable).filter(|value| !value.trim().is_empty());
    let from_ci = CI_SYSTEMS
        .iter()
        .find_map(|(source, name, revision)| Some((*source, set(name)?, set(revision))));
    let from_toml = knowledge
        .project
        .as_ref()
        .and_then(|project| project.manifest.project.name.clone());
    let (name, source) = match (name, from_toml, &from_ci) {
        (Some(name), _, _) => (name.to_string(), IdentitySource::Flag),
        (None, Some(name), _) => (name, IdentitySource::ThreatpackToml),
        (None, None, Some((source, name, _))) => (name.clone(), *source),
        (None, None, None) => return None,
    };
    let revision = revision
        .map(str::to_string)
        .or_else(|| from_ci.and_then(|(_, _, revision)| revision));
    Some(ProjectIdentity {
        name,
        revision,
        source,
    })
}

/// The time a report is made: `SOURCE_DATE_EPOCH` (seconds) when set and valid, else now.
pub fn generated_at(env: &dyn Fn(&str) -> Option<String>) -> String {
    let epoch = env("SOURCE_DATE_EPOCH").and_then(|text| text.trim().parse::<i64>().ok());
    crate::time::format_rfc3339(epoch.unwrap_or_else(crate::time::now))
}

/// The provenance of a report on the model `file` (its display path and text).
pub(crate) fn provenance(
    knowledge: &Knowledge,
    model_file: &str,
    model_text: &str,
    project: Option<ProjectIdentity>,
    generated_at: String,
) -> Provenance {
    Provenance {
        tool: ToolRef {
            name: "threatpack".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        generated_at,
        model: ModelOrigin {
            file: model_file.to_string(),
            sha256: crate::digest::sha256_hex(model_text.as_bytes()),
        },
        packs: knowledge.packs.clone(),
        project,
    }
}

/// The process environment, as [`project_identity`] and [`generated_at`] read it.
pub fn process_env(variable: &str) -> Option<String> {
    std::env::var(variable).ok()
}
