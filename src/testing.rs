//! Pack tests (`tests/*.toml`): a small system model and the findings a pack must and must not
//! produce on it. Running them is running the engine on each model and comparing; a failure
//! says what was missing or extra, with the engine's explanation of why.

use std::collections::BTreeSet;

use crate::compile::KnowledgeBase;
use crate::diagnostic::Diagnostic;
use crate::engine::bind::bind;
use crate::engine::explain::explain;
use crate::engine::tiers::TierChoice;
use crate::engine::tiers::{TierRequest, choose_tier};
use crate::engine::{Engine, RuleProblem, Sink};
use crate::resolve::PackGraph;
use crate::system::ModelFile;
use crate::system::validate::resolve_id;

/// The result of one pack test.
#[derive(Debug)]
pub struct TestOutcome {
    /// The test file, as displayed.
    pub file: String,
    pub description: String,
    pub tier: Option<TierChoice>,
    /// Expected findings that were not produced, each with the explanation.
    pub missing: Vec<(String, String)>,
    /// Findings produced though expected absent, each with the explanation.
    pub unexpected: Vec<(String, String)>,
    /// `expect-tier` that was not chosen: (expected, chosen).
    pub wrong_tier: Option<(String, String)>,
    /// Conditions that failed to evaluate, and problems that stopped the test.
    pub errors: Vec<String>,
    /// Problems in the test's model.
    pub diagnostics: Vec<Diagnostic>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.wrong_tier.is_none()
            && self.errors.is_empty()
            && self.diagnostics.is_empty()
    }
}

#[derive(Default)]
struct Findings {
    found: BTreeSet<(usize, usize)>,
    problems: Vec<RuleProblem>,
}

impl Sink for Findings {
    fn finding(&mut self, attack_pattern: usize, element: usize, _: &[usize]) {
        self.found.insert((attack_pattern, element));
    }

    fn problem(&mut self, problem: RuleProblem) {
        self.problems.push(problem);
    }
}

/// Runs every test of the root pack of `graph` against its compiled knowledge base.
pub fn run_pack_tests(graph: &PackGraph, kb: &KnowledgeBase) -> Vec<TestOutcome> {
    let root = &graph.packs[0];
    root.tests
        .iter()
        .map(|located| {
            let document = root
                .documents
                .get(located.origin.file)
                .cloned()
                .flatten()
                .unwrap_or(crate::document::Node {
                    span: 0..0,
                    value: crate::document::NodeValue::Table(Vec::new()),
                });
            let file = ModelFile::with_document(
                root.display_path(&located.origin),
                root.text(&located.origin).to_string(),
                crate::system::Syntax::Toml,
                document,
                located.item.model.clone(),
                Vec::new(),
            );
            run_one(kb, &file, &located.item.test)
        })
        .collect()
}

fn run_one(
    kb: &KnowledgeBase,
    file: &ModelFile,
    test: &crate::model::TestExpectations,
) -> TestOutcome {
    let mut outcome = TestOutcome {
        file: file.display_path.clone(),
        description: test.description.clone(),
        tier: None,
        missing: Vec::new(),
        unexpected: Vec::new(),
        wrong_tier: None,
        errors: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut engine = Engine::new(kb);
    let model = match bind(&mut engine, file) {
        Ok(model) => model,
        Err(diagnostics) => {
            outcome.diagnostics = diagnostics;
            return outcome;
        }
    };
    // Omitted: the whole pack; `auto` (or an `expect-tier`): the pack's tier rules.
    let request = match test.tier.as_deref() {
        None if test.expect_tier.is_some() => TierRequest::Auto,
        None => TierRequest::All,
        Some(tier) => TierRequest::parse(Some(tier)).unwrap_or(TierRequest::All),
    };
    let (max_rank, choice) = match choose_tier(&mut engine, &model, Some(request)) {
        Ok(chosen) => chosen,
        Err(problem) => {
            outcome.errors.push(problem);
            return outcome;
        }
    };
    if let Some(expected) = &test.expect_tier {
        let chosen = choice.name.clone().unwrap_or_else(|| "all".to_string());
        if &chosen != expected {
            outcome.wrong_tier = Some((expected.clone(), format!("{chosen} ({})", choice.reason)));
        }
    }
    outcome.tier = Some(choice.clone());
    let rules = engine.rules(max_rank);
    if let Some(expected) = &test.expect_activities {
        use crate::analysis::report::{ModelOrigin, Provenance, ToolRef};
        // Only the activities are read: the provenance is this run's, with no packs.
        let header = crate::analysis::Header {
            model_file: file.display_path.clone(),
            tier: choice.clone(),
            provenance: Provenance {
                tool: ToolRef {
                    name: "threatpack".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                },
                generated_at: crate::time::format_rfc3339(crate::time::now()),
                model: ModelOrigin {
                    file: file.display_path.clone(),
                    sha256: String::new(),
                },
                packs: Vec::new(),
                project: None,
            },
        };
        let report = crate::analysis::analyse(
            &engine,
            &rules,
            &model,
            header,
            crate::analysis::Detail::Summary { limit: 0 },
        );
        check_activities(kb, &report, expected, &mut outcome);
    }
    let mut findings = Findings::default();
    engine.evaluate(&rules, &model, &mut findings);
    outcome.errors.extend(
        rules
            .problems
            .iter()
            .chain(&findings.problems)
            .map(|problem| {
                format!(
                    "{} on `{}`: {}",
                    problem.rule, problem.subject, problem.message
                )
            }),
    );
    let ids: Vec<&str> = kb
        .attack_patterns
        .iter()
        .map(|item| item.id.as_str())
        .collect();
    // `check` has made sure every expectation names an attack pattern of the pack or its
    // dependencies; one missing from the compiled knowledge base was disabled by an override:
    // it cannot be produced, which satisfies `expect-absent` and fails `expect`.
    let resolve = |expectation: &str| -> Result<(usize, usize), String> {
        let (pattern, element) = expectation
            .rsplit_once('@')
            .ok_or_else(|| format!("`{expectation}` is not ATTACK-PATTERN@ELEMENT"))?;
        let pattern = resolve_id(kb, &ids, "attack-pattern", pattern)
            .map_err(|unresolved| format!("{} (disabled by an override?)", unresolved.message))?;
        let element = model
            .element(element)
            .ok_or_else(|| format!("no element `{element}` in the model"))?;
        Ok((pattern, element))
    };
    let mut missing = Vec::new();
    for expectation in &test.expect {
        match resolve(expectation) {
            Ok(key) if findings.found.contains(&key) => {}
            Ok(_) => missing.push(expectation.clone()),
            Err(problem) => outcome.missing.push((expectation.clone(), problem)),
        }
    }
    let mut unexpected = Vec::new();
    for expectation in &test.expect_absent {
        if let Ok(key) = resolve(expectation)
            && findings.found.contains(&key)
        {
            unexpected.push(expectation.clone());
        }
    }
    let why = |engine: &mut Engine<'_>, expectation: &str| {
        explain(engine, &model, max_rank, expectation).unwrap_or_else(|problem| problem)
    };
    for expectation in missing {
        let explanation = why(&mut engine, &expectation);
        outcome.missing.push((expectation, explanation));
    }
    for expectation in unexpected {
        let explanation = why(&mut engine, &expectation);
        outcome.unexpected.push((expectation, explanation));
    }
    outcome
}

/// The outcomes as JUnit XML (`threatpack test --format junit`), for CI test reports: one
/// `testsuite` named `suite` (the pack), one `testcase` per test file, a `failure` with what
/// went wrong for each failed test. Text is escaped; characters XML 1.0 cannot hold become
/// U+FFFD.
pub fn junit_xml(suite: &str, outcomes: &[TestOutcome]) -> String {
    let failed = outcomes.iter().filter(|outcome| !outcome.passed()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"threatpack test\" tests=\"{}\" failures=\"{failed}\" errors=\"0\">\n",
        outcomes.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">\n",
        xml(suite),
        outcomes.len()
    ));
    for outcome in outcomes {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(suite),
            xml(&outcome.file)
        ));
        if outcome.passed() {
            out.push_str("/>\n");
            continue;
        }
        let mut details = Vec::new();
        for diagnostic in &outcome.diagnostics {
            details.push(format!("model: {}", diagnostic.message));
        }
        for error in &outcome.errors {
            details.push(format!("error: {error}"));
        }
        if let Some((expected, chosen)) = &outcome.wrong_tier {
            details.push(format!("tier {chosen} chosen, {expected} expected"));
        }
        for (finding, explanation) in &outcome.missing {
            details.push(format!(
                "- {finding} (expected, not produced)\n{explanation}"
            ));
        }
        for (finding, explanation) in &outcome.unexpected {
            details.push(format!(
                "+ {finding} (produced, expected absent)\n{explanation}"
            ));
        }
        let message = format!(
            "{}: {} missing, {} unexpected, {} errors",
            outcome.description.trim(),
            outcome.missing.len(),
            outcome.unexpected.len(),
            outcome.errors.len() + outcome.diagnostics.len()
        );
        out.push_str(&format!(
            ">\n      <failure message=\"{}\" type=\"findings\">{}</failure>\n    </testcase>\n",
            xml(&message),
            xml(&details.join("\n"))
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Text as XML character data or an attribute value.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `expect-activities`: each expected activity must be required (else `missing`), and no other
/// (else `unexpected`), each with the rule and the values it read.
fn check_activities(
    kb: &KnowledgeBase,
    report: &crate::analysis::report::Report,
    expected: &[String],
    outcome: &mut TestOutcome,
) {
    let required = report
        .activities
        .as_ref()
        .map_or(&[][..], |activities| activities.activities.as_slice());
    let ids: Vec<&str> = kb
        .activities
        .iter()
        .map(|activity| activity.id.as_str())
        .collect();
    let mut wanted = Vec::new();
    for expectation in expected {
        match resolve_id(kb, &ids, "activity", expectation) {
            Ok(index) => wanted.push(ids[index]),
            Err(unresolved) => outcome
                .missing
                .push((format!("activity {expectation}"), unresolved.message)),
        }
    }
    for id in &wanted {
        if !required.iter().any(|activity| activity.id == *id) {
            let rule = kb
                .activities
                .iter()
                .find(|activity| activity.id == *id)
                .map_or("", |activity| activity.when.trim());
            outcome.missing.push((
                format!("activity {id}"),
                format!("not required: `{rule}` does not hold"),
            ));
        }
    }
    for activity in required {
        if !wanted.contains(&activity.id.as_str()) {
            outcome.unexpected.push((
                format!("activity {}", activity.id),
                format!(
                    "required: `{}` holds with {}",
                    activity.rule,
                    crate::analysis::activities::values_text(&activity.values)
                ),
            ));
        }
    }
}
