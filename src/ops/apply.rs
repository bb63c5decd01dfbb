//! Applying a knowledge base to a system model: the threat model ([`apply`]), why an attack
//! pattern applies to an element or not ([`explain`]), and what the model has not answered
//! ([`questions`]).

use std::path::{Path, PathBuf};

use super::Error;
use super::knowledge::Knowledge;
use crate::analysis::otm_report::OtmSource;
use crate::analysis::questions::Questions;
use crate::analysis::report::{Provenance, Report, TierChoice};
use crate::analysis::{Detail, Header, analyse};
use crate::engine::bind::{BoundModel, bind};
use crate::engine::tiers::{TierRequest, choose_tier};
use crate::engine::{Engine, Rules};
use crate::system::flat::FlatModel;
use crate::system::otm::Mapping;
use crate::system::{MAX_MODEL_BYTES, ModelFile, Syntax, load_model_or_text};
use crate::workspace::read_capped;

/// Options of [`apply`], [`explain`] and [`questions`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The system model (threatpack TOML/JSON or Open Threat Model). `None`: the project's
    /// ([`Knowledge::model`]).
    pub model: Option<PathBuf>,
    /// For OTM, Threat Dragon and .tm7 models: the table mapping their types to entity kinds.
    pub mapping: Option<PathBuf>,
    /// A tier name, `auto` (the pack's tier rules choose from the model's `[system]`) or
    /// `all`. `None`: `auto` when the pack has tier rules, else `all`.
    pub tier: Option<String>,
    /// Every threat instance ([`Detail::Full`]) or the worst ones and totals.
    pub detail: Detail,
    /// The project the report is about (`ns/name`); `None`: `threatpack.toml`'s, else the CI
    /// system's ([`super::report::project_identity`]).
    pub project_name: Option<String>,
    /// The VCS revision of the model; `None`: the CI system's, if any.
    pub revision: Option<String>,
}

impl Default for ApplyOptions {
    /// The project's model, the default tier, the full report.
    fn default() -> ApplyOptions {
        ApplyOptions {
            model: None,
            mapping: None,
            tier: None,
            detail: Detail::Full,
            project_name: None,
            revision: None,
        }
    }
}

/// The threat model of the system: every threat instance with its mitigations, residual risk
/// and the backlog. Conditions that could not be evaluated are in [`Report::errors`] (never
/// counted as absent). [`Error::ModelHasErrors`] when the model does not bind to the
/// knowledge base.
pub fn apply(knowledge: &Knowledge, options: &ApplyOptions) -> Result<Report, Error> {
    apply_to(knowledge, None, options)
}

/// [`apply`] to a model file already read ([`read_model`]; `None`: read `options.model`), so
/// that a caller may read it while the knowledge loads.
pub fn apply_to(
    knowledge: &Knowledge,
    file: Option<ModelFile>,
    options: &ApplyOptions,
) -> Result<Report, Error> {
    with_model(
        knowledge,
        file,
        options,
        |engine, model, max_rank, tier, provenance| {
            let rules = engine.rules(max_rank);
            let header = Header {
                model_file: provenance.model.file.clone(),
                tier,
                provenance,
            };
            Ok(analyse(engine, &rules, model, header, options.detail))
        },
    )
}

/// A report with the model it was made on: what the formats that draw or give back the model
/// need (`apply --format html`, `mermaid`, `otm`).
#[derive(Debug)]
pub struct AppliedModel {
    pub report: Report,
    pub model: FlatModel,
    /// When the model was read from an Open Threat Model file: that file.
    pub otm: Option<OtmSource>,
    /// The line (1-based) where each element is declared in the model file, by element id:
    /// where SARIF places its threats.
    pub element_lines: std::collections::BTreeMap<String, usize>,
}

/// [`apply_to`], keeping the model (and the OTM file it came from, if it did).
pub fn apply_with_model(
    knowledge: &Knowledge,
    file: Option<ModelFile>,
    options: &ApplyOptions,
) -> Result<AppliedModel, Error> {
    let file = match file {
        Some(file) => file,
        None => read_model(
            &knowledge.model(options.model.as_deref())?,
            options.mapping.as_deref(),
        )?,
    };
    let model = file.model.clone();
    let element_lines = element_lines(&file);
    // Only a converted file has origins; a native JSON model is not parsed again to find out.
    let otm = (file.syntax != Syntax::Toml
        && !file.origins.is_empty()
        && crate::system::otm::is_otm(file.document()))
    .then(|| OtmSource {
        document: file.document().to_json(),
        origins: file.origins.clone(),
    });
    let report = apply_to(knowledge, Some(file), options)?;
    Ok(AppliedModel {
        report,
        model,
        otm,
        element_lines,
    })
}

/// Where each element is declared: the line of its table (`[[component]]`) or, for a model
/// converted from another format, of the place it came from.
fn element_lines(file: &ModelFile) -> std::collections::BTreeMap<String, usize> {
    file.model
        .elements()
        .map(|element| {
            let position = element.position.to_string();
            let span = file.locate_key(&[element.role.table(), &position]);
            let line = crate::source::line_column(&file.text, span.start).line;
            (element.id.to_string(), line)
        })
        .collect()
}

/// The whole threat model as JSON (schema/report.schema.json), written to `out` as it is
/// made: threat instances and backlog items are never all in memory, only the findings (a
/// few words each) and their assessments, never their text. Returns how many conditions could not
/// be evaluated (they are in the report's `errors`).
pub fn write_report_json(
    knowledge: &Knowledge,
    file: Option<ModelFile>,
    options: &ApplyOptions,
    out: &mut dyn std::io::Write,
) -> Result<usize, Error> {
    with_model(
        knowledge,
        file,
        options,
        |engine, model, max_rank, tier, provenance| {
            let rules = engine.rules(max_rank);
            let header = Header {
                model_file: provenance.model.file.clone(),
                tier,
                provenance,
            };
            crate::analysis::write_report_json(engine, &rules, model, header, out)
                .map_err(|error| Error::Other(format!("cannot write the report: {error}")))
        },
    )
}

/// Why each `ATTACK-PATTERN@ELEMENT` of `questions` applies, or not: one explanation each,
/// concatenated.
pub fn explain(
    knowledge: &Knowledge,
    options: &ApplyOptions,
    questions: &[String],
) -> Result<String, Error> {
    with_model(knowledge, None, options, |engine, model, max_rank, _, _| {
        let mut out = String::new();
        for question in questions {
            out.push_str(&crate::engine::explain::explain(
                engine, model, max_rank, question,
            )?);
        }
        Ok(out)
    })
}

/// The questions the model has not answered yet, per element and STRIDE category.
pub fn questions(knowledge: &Knowledge, options: &ApplyOptions) -> Result<Questions, Error> {
    with_model(knowledge, None, options, |engine, model, max_rank, _, _| {
        let rules: Rules = engine.rules(max_rank);
        Ok(crate::analysis::questions::questions(engine, &rules, model))
    })
}

/// Reads and binds the model, chooses the tier, then runs `then`.
fn with_model<T>(
    knowledge: &Knowledge,
    file: Option<ModelFile>,
    options: &ApplyOptions,
    then: impl FnOnce(
        &mut Engine<'_>,
        &BoundModel,
        Option<usize>,
        TierChoice,
        Provenance,
    ) -> Result<T, Error>,
) -> Result<T, Error> {
    let file = match file {
        Some(file) => file,
        None => read_model(
            &knowledge.model(options.model.as_deref())?,
            options.mapping.as_deref(),
        )?,
    };
    let mut engine = Engine::new(&knowledge.kb);
    let mut model = bind(&mut engine, &file).map_err(|diagnostics| Error::ModelHasErrors {
        file: file.display_path.clone(),
        text: file.text.clone(),
        diagnostics,
    })?;
    // The model is in its slots now: its text and parsed form give their memory back to the
    // evaluation, which needs it more. Freeing them takes a while: on another core.
    let env = super::report::process_env;
    let project = super::report::project_identity(
        options.project_name.as_deref(),
        options.revision.as_deref(),
        knowledge,
        &env,
    );
    let provenance = super::report::provenance(
        knowledge,
        &file.display_path,
        &file.text,
        project,
        super::report::generated_at(&env),
    );
    // Acceptances expire on the report's date (`SOURCE_DATE_EPOCH` makes it reproducible).
    crate::engine::bind::expire_acceptances(&mut model, today(&provenance.generated_at));
    let freeing = std::thread::spawn(move || drop(file));
    let (max_rank, tier) = choose_tier(
        &mut engine,
        &model,
        TierRequest::parse(options.tier.as_deref()),
    )?;
    let result = then(&mut engine, &model, max_rank, tier, provenance);
    let _ = freeing.join();
    result
}

/// The `YYYY-MM-DD` of an RFC 3339 time.
fn today(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}

pub fn read_model(path: &Path, mapping: Option<&Path>) -> Result<ModelFile, Error> {
    let display = path.display().to_string();
    let text = read_text(path)?;
    let mapping = match mapping {
        Some(path) => Some(read_mapping(path)?),
        None => None,
    };
    // The text comes back with the diagnostics: a model of megabytes is not copied.
    load_model_or_text(&display, text, mapping.as_ref()).map_err(|(diagnostics, text)| {
        Error::ModelHasErrors {
            file: display,
            text,
            diagnostics,
        }
    })
}

/// A mapping table (`--mapping`) for OTM, Threat Dragon and .tm7 models.
pub(crate) fn read_mapping(path: &Path) -> Result<Mapping, Error> {
    let display = path.display().to_string();
    let text = read_text(path)?;
    Mapping::parse(&display, &text).map_err(|diagnostics| Error::ModelHasErrors {
        file: display,
        text,
        diagnostics,
    })
}

fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = read_capped(path, MAX_MODEL_BYTES)?;
    String::from_utf8(bytes)
        .map_err(|_| Error::Other(format!("`{}` is not UTF-8 text", path.display())))
}
