//! Runs the condition checker on a condition written in the root pack and turns its problems
//! into diagnostics positioned in the file.

use crate::condition::{ConditionScope, PropertySet, check_condition};
use crate::diagnostic::Diagnostic;
use crate::document::string_content_offset;
use crate::index::Index;
use crate::lints::Facts;
use crate::model::ElementKind;
use crate::parse::Origin;

/// What a condition is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subjects<'s> {
    /// Elements of these entities (indices into `Index::entities`): `self` is one of them.
    Elements(&'s [usize]),
    /// The system as a whole (a tier rule): only `system` may be read.
    System,
    /// The system and the threat model's results (an activity rule): `system` and `report`.
    SystemAndReport,
}

/// Checks `condition`, found at `fields` of the root-pack item at `origin`, about `subjects`.
pub(crate) fn check(
    index: &Index<'_>,
    facts: &mut Facts,
    diagnostics: &mut Vec<Diagnostic>,
    condition: &str,
    origin: &Origin,
    fields: &[&str],
    subjects: Subjects<'_>,
) {
    let report = matches!(subjects, Subjects::SystemAndReport);
    let subjects = match subjects {
        Subjects::System | Subjects::SystemAndReport => &[],
        // Nothing to check against: the unresolved `applies-to` is reported on its own.
        Subjects::Elements([]) => return,
        Subjects::Elements(entities) => entities,
    };
    let names: Vec<String> = subjects
        .iter()
        .map(|entity| index.entities[*entity].located.item.id.clone())
        .collect();
    let property_sets: Vec<&PropertySet<'_>> = subjects
        .iter()
        .map(|entity| &index.resolved[*entity].properties)
        .collect();
    let all_flows = subjects
        .iter()
        .all(|entity| index.resolved[*entity].kind == Some(ElementKind::DataFlow));
    let scope = ConditionScope {
        subjects: names
            .iter()
            .map(String::as_str)
            .zip(property_sets.iter().copied())
            .collect(),
        endpoints: (all_flows && !subjects.is_empty()).then_some(&index.endpoint_properties),
        system: &index.system_properties,
        report,
    };
    let mut report = check_condition(condition, &scope);
    // An entity whose ancestor failed lacks what it would have inherited: its reads cannot be
    // attributed, and a property missing on it (or on every component kind, when some entity
    // failed) was already reported where the failure is.
    let subjects_complete = subjects
        .iter()
        .all(|entity| index.resolved[*entity].complete);
    if report
        .problems
        .iter()
        .any(|problem| problem.code == crate::diagnostic::Code::ConditionSyntax)
        || !subjects_complete
    {
        facts.all_reads_known = false;
    }
    report.problems.retain(|problem| {
        if problem.code != crate::diagnostic::Code::ConditionUnknownProperty {
            return true;
        }
        match problem
            .span
            .as_ref()
            .and_then(|span| variable_read(condition, span.start))
        {
            Some("self") => subjects_complete,
            Some("source" | "target") => index.endpoints_complete,
            Some("system") => index.system_complete,
            _ => true,
        }
    });
    facts.property_reads.extend(report.reads);
    if let Some(value) = report.constant {
        facts.constant_conditions.push((
            origin.clone(),
            fields.iter().map(|field| field.to_string()).collect(),
            value,
        ));
    }
    let root = index.root();
    let file = root.display_path(origin);
    let value_span = root.locate(origin, fields);
    for problem in report.problems {
        let span = problem
            .span
            .as_ref()
            .and_then(|inner| {
                let node = root.node(origin, fields)?;
                let text = root.text(origin);
                let start = string_content_offset(text, node, inner.start)?;
                let end = string_content_offset(text, node, inner.end)?;
                Some(start..end)
            })
            .unwrap_or_else(|| value_span.clone());
        let mut diagnostic =
            Diagnostic::new(problem.code, problem.message).at(file, span, problem.label);
        if let Some(help) = problem.help {
            diagnostic = diagnostic.help(help);
        }
        diagnostics.push(diagnostic);
    }
}

/// The variable read at `start` in `condition`: `self` for a problem placed on `self.x` or on
/// the `x` of `self.x`.
fn variable_read(condition: &str, start: usize) -> Option<&str> {
    let is_name = |character: char| character.is_alphanumeric() || character == '_';
    let after = condition.get(start..)?;
    let name_end = after
        .find(|character: char| !is_name(character))
        .unwrap_or(after.len());
    if after[name_end..].trim_start().starts_with('.') {
        return Some(&after[..name_end]);
    }
    let before = condition.get(..start)?.trim_end();
    let before = before.strip_suffix('.')?.trim_end();
    let name_start = before
        .rfind(|character: char| !is_name(character))
        .map_or(0, |at| at + 1);
    Some(&before[name_start..])
}

#[cfg(test)]
mod tests {
    use super::variable_read;

    #[test]
    fn finds_the_variable_of_a_field_read() {
        let condition = "self.a && has(target.b) && source . c";
        assert_eq!(variable_read(condition, 0), Some("self"));
        assert_eq!(variable_read(condition, 5), Some("self"));
        assert_eq!(variable_read(condition, 14), Some("target"));
        assert_eq!(variable_read(condition, 21), Some("target"));
        assert_eq!(variable_read(condition, 36), Some("source"));
        assert_eq!(variable_read(condition, 10), None);
    }
}
