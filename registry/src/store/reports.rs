//! Pushed threat-model reports (issue 16): each report and its model stored gzip-compressed
//! with the numbers taken from it at push, each project's latest numbers and packs kept on its
//! row (so the portfolio reads one row per project), and its residual risk per ISO week (so a
//! trend reads one row per project and week, whatever the retention removed since).

use rusqlite::{Connection, OptionalExtension, params};
use threatpack::time::format_rfc3339;
use threatpack::wire::{Dependent, PackClaim, ReportNumbers};

use super::StoreError;
use super::sqlite::{audit, internal};

/// Migration 7: projects, reports, their pack claims and the weekly residual risk.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    latest_report INTEGER NOT NULL,
    latest_at INTEGER NOT NULL,
    latest_numbers TEXT NOT NULL,
    latest_packs TEXT NOT NULL
);
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(name),
    received_at INTEGER NOT NULL,
    numbers TEXT NOT NULL,
    report BLOB NOT NULL,
    model_file TEXT,
    model BLOB
);
CREATE INDEX reports_by_project ON reports (project, id);
CREATE INDEX reports_by_time ON reports (received_at);
CREATE TABLE report_packs (
    report INTEGER NOT NULL REFERENCES reports(id),
    pack TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT,
    signer TEXT,
    source TEXT,
    verified INTEGER NOT NULL
);
CREATE INDEX report_packs_by_report ON report_packs (report);
CREATE INDEX report_packs_by_pack ON report_packs (pack, verified);
CREATE TABLE project_weeks (
    project TEXT NOT NULL,
    week INTEGER NOT NULL,
    at INTEGER NOT NULL,
    report INTEGER NOT NULL,
    risk INTEGER NOT NULL,
    PRIMARY KEY (project, week)
) WITHOUT ROWID;
CREATE INDEX project_weeks_by_week ON project_weeks (week);
"#;

/// The portfolio's trend reads every project's weeks in a window: an index holding the risk
/// answers it without a lookup per row (100 ms to 30 ms at 5,000 projects × 12 weeks).
pub(super) const WEEKS_COVERING_INDEX: &str = r#"
DROP INDEX project_weeks_by_week;
CREATE INDEX project_weeks_by_week ON project_weeks (week, project, risk);
"#;

/// Each project counts the reports kept for it: the portfolio lists the count of every
/// project, and counting them on each request read every report's index entry (a quarter of
/// its time at 5,000 projects × 52 reports).
pub(super) const REPORT_COUNT: &str = r#"
ALTER TABLE projects ADD COLUMN report_count INTEGER NOT NULL DEFAULT 0;
UPDATE projects SET report_count = (SELECT COUNT(*) FROM reports WHERE reports.project = projects.name);
"#;

/// A report about to be stored, checked and measured by the caller (`api::reports`).
#[derive(Debug, Clone)]
pub struct NewReport {
    /// `namespace/name`.
    pub project: String,
    /// Unix seconds.
    pub received_at: i64,
    pub numbers: ReportNumbers,
    /// Each pack claim and whether the registry's index confirmed it.
    pub packs: Vec<(PackClaim, bool)>,
    /// The report's JSON, gzip-compressed.
    pub report_gzip: Vec<u8>,
    /// The model's file name and its text, gzip-compressed.
    pub model: Option<(String, Vec<u8>)>,
}

/// A project's latest report, as the portfolio reads it.
#[derive(Debug, Clone)]
pub struct LatestReport {
    pub project: String,
    pub report_id: i64,
    pub received_at: i64,
    pub numbers: ReportNumbers,
    pub packs: Vec<(PackClaim, bool)>,
    /// Reports kept for the project.
    pub reports: u64,
}

/// The latest model stored for a project.
#[derive(Debug, Clone)]
pub struct StoredModel {
    pub report_id: i64,
    pub file: String,
    /// Its text, gzip-compressed.
    pub text_gzip: Vec<u8>,
    pub packs: Vec<PackClaim>,
}

/// One stored report of a project, as its history lists it.
#[derive(Debug, Clone)]
pub struct ReportEntry {
    pub report_id: i64,
    pub received_at: i64,
    pub numbers: ReportNumbers,
    pub has_model: bool,
}

/// The week (Monday to Sunday, UTC) of a Unix time, counted from the week of 1970-01-01.
pub fn week_of(unix: i64) -> i64 {
    // 1970-01-01 was a Thursday: three days after the Monday its week began on.
    (unix.div_euclid(86_400) + 3).div_euclid(7)
}

/// The ISO 8601 name of a week from `week_of`: `2026-W49`.
pub fn iso_week(week: i64) -> String {
    // The ISO year is the year of the week's Thursday; its week number counts the Thursdays.
    let thursday = week * 7;
    let year: i64 = format_rfc3339(thursday * 86_400)[..4]
        .parse()
        .unwrap_or(1970);
    let number = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    format!("{year:04}-W{number:02}")
}

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(internal)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Internal(format!("a stored report's numbers: {error}")))
}

/// Stores a report, makes it its project's latest (unless a later one is stored) and its
/// week's, all in one transaction with its audit entry. Returns its id.
pub(super) fn store(
    connection: &mut Connection,
    report: &NewReport,
    actor: &str,
) -> Result<i64, StoreError> {
    let transaction = connection.transaction().map_err(internal)?;
    let numbers = to_json(&report.numbers)?;
    let packs = to_json(&report.packs)?;
    transaction
        .execute(
            "INSERT OR IGNORE INTO projects
                 (name, created_at, latest_report, latest_at, latest_numbers, latest_packs)
             VALUES (?1, ?2, 0, ?2, ?3, ?4)",
            params![report.project, report.received_at, numbers, packs],
        )
        .map_err(internal)?;
    let (model_file, model) = match &report.model {
        Some((file, text)) => (Some(file.as_str()), Some(text.as_slice())),
        None => (None, None),
    };
    transaction
        .execute(
            "INSERT INTO reports (project, received_at, numbers, report, model_file, model)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                report.project,
                report.received_at,
                numbers,
                report.report_gzip,
                model_file,
                model
            ],
        )
        .map_err(internal)?;
    let id = transaction.last_insert_rowid();
    transaction
        .execute(
            "UPDATE projects SET report_count = report_count + 1 WHERE name = ?1",
            [&report.project],
        )
        .map_err(internal)?;
    for (claim, verified) in &report.packs {
        transaction
            .execute(
                "INSERT INTO report_packs (report, pack, version, sha256, signer, source, verified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    claim.name,
                    claim.version,
                    claim.sha256,
                    claim.signer,
                    claim.source,
                    verified
                ],
            )
            .map_err(internal)?;
    }
    transaction
        .execute(
            "UPDATE projects SET latest_report = ?2, latest_at = ?3, latest_numbers = ?4,
                 latest_packs = ?5
             WHERE name = ?1 AND latest_at <= ?3",
            params![report.project, id, report.received_at, numbers, packs],
        )
        .map_err(internal)?;
    transaction
        .execute(
            "INSERT INTO project_weeks (project, week, at, report, risk)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (project, week) DO UPDATE
                 SET at = excluded.at, report = excluded.report, risk = excluded.risk
                 WHERE excluded.at >= project_weeks.at",
            params![
                report.project,
                week_of(report.received_at),
                report.received_at,
                id,
                i64::try_from(report.numbers.risk).unwrap_or(i64::MAX)
            ],
        )
        .map_err(internal)?;
    audit(
        &transaction,
        actor,
        "report.push",
        &report.project,
        &format!("report {id}, residual risk {}", report.numbers.risk),
    )?;
    transaction.commit().map_err(internal)?;
    Ok(id)
}

/// Every project's latest report (or only `project`'s), by project name.
pub(super) fn latest(
    connection: &Connection,
    project: Option<&str>,
) -> Result<Vec<LatestReport>, StoreError> {
    let sql = match project {
        Some(_) => {
            "SELECT name, latest_report, latest_at, latest_numbers, latest_packs, report_count
             FROM projects WHERE name = ?1"
        }
        None => {
            "SELECT name, latest_report, latest_at, latest_numbers, latest_packs, report_count
             FROM projects WHERE ?1 IS NULL ORDER BY name"
        }
    };
    let mut statement = connection.prepare_cached(sql).map_err(internal)?;
    let rows = statement
        .query_map([project], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    rows.into_iter()
        .map(
            |(project, report_id, received_at, numbers, packs, reports)| {
                Ok(LatestReport {
                    project,
                    report_id,
                    received_at,
                    numbers: from_json(&numbers)?,
                    packs: from_json(&packs)?,
                    reports: u64::try_from(reports).unwrap_or(0),
                })
            },
        )
        .collect()
}

/// The weekly residual risk of one project (or every project) from `from_week` on, and for
/// each project its last week before that (to carry forward): `(project, week, risk)`.
pub(super) fn weeks(
    connection: &Connection,
    project: Option<&str>,
    from_week: i64,
) -> Result<Vec<(String, i64, u64)>, StoreError> {
    // Each query reads by an index: one project's rows by the primary key, every project's by
    // the covering week index; the week carried in is one seek per project (`MAX` over the
    // primary key), with `projects` as the outer loop (`CROSS JOIN` fixes SQLite's join
    // order: left to itself it scans every week of every project, 40 times slower).
    let sql = match project {
        Some(_) => {
            "SELECT project, week, risk FROM project_weeks WHERE project = ?1 AND week >= ?2
             UNION ALL
             SELECT project, week, risk FROM project_weeks
             WHERE project = ?1
               AND week = (SELECT MAX(week) FROM project_weeks WHERE project = ?1 AND week < ?2)"
        }
        None => {
            "SELECT project, week, risk FROM project_weeks WHERE week >= ?2 AND ?1 IS NULL
             UNION ALL
             SELECT pw.project, pw.week, pw.risk FROM projects CROSS JOIN project_weeks AS pw
                 ON pw.project = projects.name
                AND pw.week = (SELECT MAX(week) FROM project_weeks
                               WHERE project = projects.name AND week < ?2)"
        }
    };
    let mut statement = connection.prepare_cached(sql).map_err(internal)?;
    statement
        .query_map(params![project, from_week], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
            ))
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)
}

/// The latest model stored for `project`, with its report's pack claims.
pub(super) fn model(
    connection: &Connection,
    project: &str,
) -> Result<Option<StoredModel>, StoreError> {
    let found = connection
        .query_row(
            "SELECT id, model_file, model FROM reports
             WHERE project = ?1 AND model IS NOT NULL
             ORDER BY received_at DESC, id DESC LIMIT 1",
            [project],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(internal)?;
    let Some((report_id, file, text_gzip)) = found else {
        return Ok(None);
    };
    let mut statement = connection
        .prepare(
            "SELECT pack, version, sha256, signer, source FROM report_packs
             WHERE report = ?1 ORDER BY pack",
        )
        .map_err(internal)?;
    let packs = statement
        .query_map([report_id], |row| {
            Ok(PackClaim {
                name: row.get(0)?,
                version: row.get(1)?,
                sha256: row.get(2)?,
                signer: row.get(3)?,
                source: row.get(4)?,
            })
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    Ok(Some(StoredModel {
        report_id,
        file,
        text_gzip,
        packs,
    }))
}

/// The `limit` latest reports kept for `project`, newest first.
pub(super) fn history(
    connection: &Connection,
    project: &str,
    limit: u64,
) -> Result<Vec<ReportEntry>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT id, received_at, numbers, model IS NOT NULL FROM reports
             WHERE project = ?1 ORDER BY received_at DESC, id DESC LIMIT ?2",
        )
        .map_err(internal)?;
    let rows = statement
        .query_map(
            params![project, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, bool>(3)?,
                ))
            },
        )
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    rows.into_iter()
        .map(|(report_id, received_at, numbers, has_model)| {
            Ok(ReportEntry {
                report_id,
                received_at,
                numbers: from_json(&numbers)?,
                has_model,
            })
        })
        .collect()
}

/// A stored report's JSON, gzip-compressed, by its id.
pub(super) fn report(
    connection: &Connection,
    report_id: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    connection
        .query_row(
            "SELECT report FROM reports WHERE id = ?1",
            [report_id],
            |row| row.get::<_, Vec<u8>>(0),
        )
        .optional()
        .map_err(internal)
}

/// The projects whose latest report claims `pack` with a verified claim.
pub(super) fn dependents(
    connection: &Connection,
    pack: &str,
) -> Result<Vec<Dependent>, StoreError> {
    let mut statement = connection
        .prepare(
            "SELECT projects.name, report_packs.version, projects.latest_report, projects.latest_at
             FROM report_packs JOIN projects ON projects.latest_report = report_packs.report
             WHERE report_packs.pack = ?1 AND report_packs.verified = 1
             ORDER BY projects.name",
        )
        .map_err(internal)?;
    statement
        .query_map([pack], |row| {
            Ok(Dependent {
                project: row.get(0)?,
                version: row.get(1)?,
                report_id: row.get(2)?,
                received_at: format_rfc3339(row.get(3)?),
            })
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)
}

/// Removes the reports received before `before`, except each project's latest (its weekly
/// risk stays, so the trend does too). Returns how many went.
pub(super) fn prune(connection: &mut Connection, before: i64) -> Result<u64, StoreError> {
    let transaction = connection.transaction().map_err(internal)?;
    let old = "SELECT id FROM reports WHERE received_at < ?1
               AND id NOT IN (SELECT latest_report FROM projects)";
    let touched: Vec<String> = transaction
        .prepare(&format!(
            "SELECT DISTINCT project FROM reports WHERE id IN ({old})"
        ))
        .and_then(|mut statement| {
            statement
                .query_map([before], |row| row.get(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(internal)?;
    transaction
        .execute(
            &format!("DELETE FROM report_packs WHERE report IN ({old})"),
            [before],
        )
        .map_err(internal)?;
    let removed = transaction
        .execute(
            &format!("DELETE FROM reports WHERE id IN ({old})"),
            [before],
        )
        .map_err(internal)?;
    for project in &touched {
        transaction
            .execute(
                "UPDATE projects SET report_count =
                     (SELECT COUNT(*) FROM reports WHERE reports.project = ?1)
                 WHERE name = ?1",
                [project],
            )
            .map_err(internal)?;
    }
    if removed > 0 {
        audit(
            &transaction,
            "server",
            "report.prune",
            "*",
            &format!(
                "{removed} reports received before {}",
                format_rfc3339(before)
            ),
        )?;
    }
    transaction.commit().map_err(internal)?;
    Ok(removed as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks() {
        let at = |text: &str| threatpack::time::parse_rfc3339(text).expect("a time");
        for (time, expected) in [
            ("2026-12-07T20:00:00Z", "2026-W50"),
            ("2026-12-06T23:59:59Z", "2026-W49"),
            // 2021-01-03 was a Sunday of the last week of 2020 (ISO year 2020 has 53 weeks).
            ("2021-01-03T12:00:00Z", "2020-W53"),
            ("2021-01-04T00:00:00Z", "2021-W01"),
            // 2024-12-30 (Monday) starts 2025's first week.
            ("2024-12-30T00:00:00Z", "2025-W01"),
            ("1970-01-01T00:00:00Z", "1970-W01"),
        ] {
            assert_eq!(iso_week(week_of(at(time))), expected, "{time}");
        }
        assert_eq!(
            week_of(at("2026-12-13T23:59:59Z")),
            week_of(at("2026-12-07T00:00:00Z"))
        );
    }
}
