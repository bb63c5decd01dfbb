//! The renderings of a report (terminal summary, Markdown, backlog CSV and JSON) and the schemas
//! of the report and backlog JSON, on a realistic report built here by hand: a web shop with
//! threats in every state, a mitigation needed in two places, user stories and an evaluation
//! error. Snapshots: `tests/it/snapshots/report_outputs/`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};
use threatpack::analysis::backlog::{CSV_COLUMNS, backlog_csv, backlog_json};
use threatpack::analysis::markdown::markdown;
use threatpack::analysis::report::{
    Acceptance, Alignment, BacklogItem, ClauseRef, ElementEvents, EvaluationError, EventAt,
    IdentitySource, MitigationAt, ModelOrigin, ModelSummary, OutOfScopeElement, PackOrigin,
    PackRef, PackSource, Place, ProjectIdentity, Provenance, REPORT_FORMAT, Report, Residual,
    StoryWork, ThreatInstance, ThreatState, TierChoice, TierSource, ToolRef, Totals,
};
use threatpack::analysis::summary::{WIDTH, summary};
use threatpack::digest::sha256_hex;
use threatpack::model::{ImplementationStatus, Rating, Severity, Strength};
use threatpack::schema::{SchemaKind, compile};

const PACK: &str = "threatpack/stride-core";

fn attack_pattern(id: &str) -> String {
    format!("{PACK}:attack-pattern/{id}")
}

fn mitigation_id(id: &str) -> String {
    format!("{PACK}:mitigation/{id}")
}

fn threat_id(attack: &str, element: &str) -> String {
    format!(
        "T-{}",
        &sha256_hex(format!("{}@{element}", attack_pattern(attack)).as_bytes())[..12]
    )
}

fn backlog_id(mitigation: &str) -> String {
    format!(
        "M-{}",
        &sha256_hex(mitigation_id(mitigation).as_bytes())[..12]
    )
}

fn at(
    mitigation: &str,
    name: &str,
    strength: Strength,
    status: ImplementationStatus,
    note: Option<&str>,
) -> MitigationAt {
    MitigationAt {
        mitigation: mitigation_id(mitigation),
        name: name.to_string(),
        strength,
        status,
        note: note.map(str::to_string),
        // Every accepted risk is governed.
        acceptance: (status == ImplementationStatus::AcceptedRisk).then(|| Acceptance {
            owner: "head of e-commerce".to_string(),
            reason: "a decision for the test".to_string(),
            until: "2027-03-31".to_string(),
            expired: false,
        }),
    }
}

/// The residual as docs/apply.md defines it.
fn residual(severity: Severity, mitigations: &[MitigationAt]) -> Residual {
    let strongest = mitigations
        .iter()
        .filter(|mitigation| mitigation.status == ImplementationStatus::Existing)
        .map(|mitigation| mitigation.strength.percent())
        .max();
    let score = match strongest {
        Some(percent) => (severity.score() * (100 - percent) + 50) / 100,
        None => severity.score(),
    };
    Residual {
        score,
        severity: Severity::of_score(score),
    }
}

struct ThreatSpec<'a> {
    attack: &'a str,
    name: &'a str,
    element: &'a str,
    element_name: &'a str,
    categories: &'a [&'a str],
    severity: Severity,
    tier: &'a str,
    mitigations: Vec<MitigationAt>,
    state: ThreatState,
}

fn threat(spec: ThreatSpec<'_>) -> ThreatInstance {
    ThreatInstance {
        id: threat_id(spec.attack, spec.element),
        attack_pattern: attack_pattern(spec.attack),
        name: spec.name.to_string(),
        element: spec.element.to_string(),
        element_name: spec.element_name.to_string(),
        categories: spec.categories.iter().map(|c| c.to_string()).collect(),
        severity: spec.severity,
        likelihood: Some(Rating::Medium),
        impact: Some(Rating::High),
        tier: spec.tier.to_string(),
        residual: residual(spec.severity, &spec.mitigations),
        mitigations: spec.mitigations,
        state: spec.state,
    }
}

/// The totals of a report, counted the way `analyse` counts them.
fn totals_of(threats: &[ThreatInstance], backlog: &[BacklogItem]) -> Totals {
    let mut totals = Totals {
        threats: threats.len(),
        ..Totals::default()
    };
    for threat in threats {
        for category in &threat.categories {
            *totals.by_category.entry(category.clone()).or_default() += 1;
            *totals
                .by_category_and_severity
                .entry(category.clone())
                .or_default()
                .entry(threat.severity.as_str().to_string())
                .or_default() += 1;
        }
        *totals
            .by_severity
            .entry(threat.severity.as_str().to_string())
            .or_default() += 1;
        let level = threat.residual.severity.map_or("none", Severity::as_str);
        *totals.by_residual.entry(level.to_string()).or_default() += 1;
        *totals
            .by_state
            .entry(threatpack::analysis::state_name(threat.state).to_string())
            .or_default() += 1;
        if !matches!(
            threat.state,
            ThreatState::Mitigated | ThreatState::PartiallyMitigated
        ) {
            totals.unmitigated += 1;
        }
    }
    totals.backlog_items = backlog.len();
    totals.backlog_places = backlog.iter().map(|item| item.places.len()).sum();
    totals
}

fn place(element: &str, status: ImplementationStatus, note: Option<&str>) -> Place {
    Place {
        element: element.to_string(),
        status,
        note: note.map(str::to_string),
    }
}

/// A web shop: a frontend, a payments API, an admin back office, a customer database and the
/// checkout flow; threats in every state; one mitigation needed in two places.
/// A provenance with every part present: a registry pack, a directory one, a project.
fn provenance() -> Provenance {
    Provenance {
        tool: ToolRef {
            name: "threatpack".to_string(),
            version: "0.1.0".to_string(),
        },
        generated_at: "2026-12-07T20:00:00Z".to_string(),
        model: ModelOrigin {
            file: "models/web-shop.toml".to_string(),
            sha256: sha256_hex(b"the model"),
        },
        packs: vec![
            PackOrigin {
                name: "acme/web".to_string(),
                version: "0.1.0".to_string(),
                sha256: None,
                signer: None,
                source: PackSource::Directory,
            },
            PackOrigin {
                name: PACK.to_string(),
                version: "1.0.0".to_string(),
                sha256: Some(sha256_hex(b"the bundle")),
                signer: Some("0123456789ABCDEF".to_string()),
                source: PackSource::Registry,
            },
        ],
        project: Some(ProjectIdentity {
            name: "acme/shop".to_string(),
            revision: Some("9f1c2d".to_string()),
            source: IdentitySource::GithubActions,
        }),
    }
}

fn web_shop() -> Report {
    use ImplementationStatus::{AcceptedRisk, Existing, Missing, Planned};
    let authenticate = || {
        at(
            "authenticate-every-request",
            "Authenticate every request at a central enforcement point",
            Strength::Strong,
            Missing,
            None,
        )
    };
    let rate_limits = || {
        at(
            "request-rate-limits",
            "Rate-limit requests per client",
            Strength::Average,
            Missing,
            None,
        )
    };
    let mut threats = vec![
        threat(ThreatSpec {
            attack: "missing-authentication",
            name: "Missing authentication",
            element: "payments-api",
            element_name: "Payments API",
            categories: &["spoofing", "elevation-of-privilege"],
            severity: Severity::Critical,
            tier: "top",
            mitigations: vec![authenticate()],
            state: ThreatState::Unmitigated,
        }),
        threat(ThreatSpec {
            attack: "missing-authentication",
            name: "Missing authentication",
            element: "admin",
            element_name: "Admin | back office",
            categories: &["spoofing", "elevation-of-privilege"],
            severity: Severity::Critical,
            tier: "top",
            mitigations: vec![authenticate()],
            state: ThreatState::Unmitigated,
        }),
        threat(ThreatSpec {
            attack: "credential-stuffing",
            name: "Credential stuffing and password guessing",
            element: "web-frontend",
            element_name: "Web frontend",
            categories: &["spoofing"],
            severity: Severity::High,
            tier: "top",
            mitigations: vec![
                at(
                    "multi-factor-authentication",
                    "Multi-factor authentication",
                    Strength::Strong,
                    Planned,
                    Some("with the identity provider migration in Q3"),
                ),
                at(
                    "login-throttling",
                    "Throttle failed logins",
                    Strength::Average,
                    Existing,
                    None,
                ),
            ],
            state: ThreatState::PartiallyMitigated,
        }),
        threat(ThreatSpec {
            attack: "sql-injection",
            name: "SQL injection",
            element: "payments-api",
            element_name: "Payments API",
            categories: &["tampering", "information-disclosure"],
            severity: Severity::Critical,
            tier: "top",
            mitigations: vec![at(
                "parameterized-queries",
                "Parameterized queries only",
                Strength::Maximum,
                Existing,
                Some("enforced by the query builder"),
            )],
            state: ThreatState::Mitigated,
        }),
        threat(ThreatSpec {
            attack: "missing-security-logging",
            name: "No record of security-relevant actions",
            element: "payments-api",
            element_name: "Payments API",
            categories: &["repudiation"],
            severity: Severity::Medium,
            tier: "standard",
            mitigations: vec![at(
                "security-event-logging",
                "Log security events with who, what, when and where",
                Strength::Strong,
                AcceptedRisk,
                Some("the payment provider keeps the audit trail"),
            )],
            state: ThreatState::Accepted,
        }),
        threat(ThreatSpec {
            attack: "cleartext-flow",
            name: "Data in transit read or changed",
            element: "checkout-flow",
            element_name: "Checkout → Payments API",
            categories: &["information-disclosure", "tampering"],
            severity: Severity::High,
            tier: "top",
            mitigations: vec![at(
                "tls-everywhere",
                "TLS 1.2+ on every connection",
                Strength::Strong,
                Existing,
                None,
            )],
            state: ThreatState::PartiallyMitigated,
        }),
        threat(ThreatSpec {
            attack: "resource-exhaustion",
            name: "Resource exhaustion by request floods",
            element: "web-frontend",
            element_name: "Web frontend",
            categories: &["denial-of-service"],
            severity: Severity::Low,
            tier: "standard",
            mitigations: vec![rate_limits()],
            state: ThreatState::Unmitigated,
        }),
        threat(ThreatSpec {
            attack: "resource-exhaustion",
            name: "Resource exhaustion by request floods",
            element: "payments-api",
            element_name: "Payments API",
            categories: &["denial-of-service"],
            severity: Severity::Low,
            tier: "standard",
            mitigations: vec![rate_limits()],
            state: ThreatState::Unmitigated,
        }),
        threat(ThreatSpec {
            attack: "linkable-identifiers",
            name: "Records linkable across data sets",
            element: "customer-db",
            element_name: "Customer database",
            categories: &["linddun:linking"],
            severity: Severity::Info,
            tier: "deep",
            mitigations: vec![at(
                "pseudonymous-identifiers",
                "Pseudonymous identifiers per purpose",
                Strength::Weak,
                Missing,
                None,
            )],
            state: ThreatState::Unmitigated,
        }),
    ];
    threats.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.residual.score),
            std::cmp::Reverse(a.severity),
            &a.element,
            &a.attack_pattern,
        )
            .cmp(&(
                std::cmp::Reverse(b.residual.score),
                std::cmp::Reverse(b.severity),
                &b.element,
                &b.attack_pattern,
            ))
    });
    let backlog = vec![
        BacklogItem {
            id: backlog_id("authenticate-every-request"),
            mitigation: mitigation_id("authenticate-every-request"),
            title: "Authenticate every request at a central enforcement point".to_string(),
            description: "Every non-public endpoint requires a verified identity, enforced by one \
                          shared mechanism that runs before any handler."
                .to_string(),
            implementation: "Put authentication in a framework filter, middleware or gateway \
                             applied to all routes.\nKeep the list of public routes short.\n\n\
                             Internal services authenticate their callers too."
                .to_string(),
            verification: "Call every route without credentials and with an expired token: \
                           every non-public route answers 401.\n- the public-route list matches \
                           the design"
                .to_string(),
            priority: 1,
            severity: Severity::Critical,
            places: vec![
                place("admin", Missing, None),
                place("payments-api", Missing, None),
            ],
            threats: vec![
                threat_id("missing-authentication", "admin"),
                threat_id("missing-authentication", "payments-api"),
            ],
            attack_patterns: vec![attack_pattern("missing-authentication")],
            events: vec!["authn.unauthenticated-request-rejected".to_string()],
            references: vec!["ASVS V1.2.3".to_string(), "ASVS V1.2.4".to_string()],
        },
        BacklogItem {
            id: backlog_id("multi-factor-authentication"),
            mitigation: mitigation_id("multi-factor-authentication"),
            title: "Multi-factor authentication".to_string(),
            description: "Users prove possession of a second factor in addition to their \
                          password."
                .to_string(),
            implementation: "Use the identity provider's MFA rather than building it.".to_string(),
            verification: "Log in as an administrator without a second factor: refused."
                .to_string(),
            priority: 2,
            severity: Severity::High,
            places: vec![place(
                "web-frontend",
                Planned,
                Some("with the identity provider migration in Q3"),
            )],
            threats: vec![threat_id("credential-stuffing", "web-frontend")],
            attack_patterns: vec![attack_pattern("credential-stuffing")],
            events: vec!["authn.mfa-failed".to_string()],
            references: vec!["ASVS V2.8.1".to_string()],
        },
        BacklogItem {
            id: backlog_id("request-rate-limits"),
            mitigation: mitigation_id("request-rate-limits"),
            title: "Rate-limit requests per client".to_string(),
            description: "Each client gets a bounded share of capacity.".to_string(),
            implementation: "Configure limits at the gateway, per client identifier.".to_string(),
            verification: "=Send 10x the limit in one second: the excess gets 429.".to_string(),
            priority: 4,
            severity: Severity::Low,
            places: vec![
                place("payments-api", Missing, None),
                place("web-frontend", Missing, None),
            ],
            threats: vec![
                threat_id("resource-exhaustion", "payments-api"),
                threat_id("resource-exhaustion", "web-frontend"),
            ],
            attack_patterns: vec![attack_pattern("resource-exhaustion")],
            events: Vec::new(),
            references: vec!["https://cheatsheetseries.owasp.org/".to_string()],
        },
        BacklogItem {
            id: backlog_id("pseudonymous-identifiers"),
            mitigation: mitigation_id("pseudonymous-identifiers"),
            title: "Pseudonymous identifiers per purpose".to_string(),
            description: "Records carry identifiers that differ per purpose.".to_string(),
            implementation: "Derive identifiers with a keyed hash per purpose.".to_string(),
            verification: "Join two exports on their identifiers: nothing matches.".to_string(),
            priority: 5,
            severity: Severity::Info,
            places: vec![place("customer-db", Missing, None)],
            threats: vec![threat_id("linkable-identifiers", "customer-db")],
            attack_patterns: vec![attack_pattern("linkable-identifiers")],
            events: Vec::new(),
            references: Vec::new(),
        },
    ];
    let covered = [
        threat_id("missing-authentication", "payments-api"),
        threat_id("missing-security-logging", "payments-api"),
    ];
    let alignment = Alignment {
        threats_without_clause: threats
            .iter()
            .map(|threat| threat.id.clone())
            .filter(|id| !covered.contains(id))
            .collect(),
        clauses_without_threat: vec![ClauseRef {
            story: "checkout#3".to_string(),
            clause: "WITHOUT an attacker replaying a captured payment".to_string(),
        }],
        stories: vec![StoryWork {
            story: "checkout".to_string(),
            text: "As a customer I want to pay by card so that I can buy goods".to_string(),
            threats: covered.to_vec(),
            open_mitigations: vec![mitigation_id("authenticate-every-request")],
        }],
        events: vec![
            ElementEvents {
                element: "payments-api".to_string(),
                events: vec![
                    EventAt {
                        id: "authn.login-failed".to_string(),
                        description: "A login failed; include the account and source address."
                            .to_string(),
                        mitigation: mitigation_id("security-event-logging"),
                        status: AcceptedRisk,
                    },
                    EventAt {
                        id: "authn.unauthenticated-request-rejected".to_string(),
                        description: "A request to a protected route had no valid credentials."
                            .to_string(),
                        mitigation: mitigation_id("authenticate-every-request"),
                        status: Missing,
                    },
                ],
            },
            ElementEvents {
                element: "web-frontend".to_string(),
                events: vec![EventAt {
                    id: "authn.mfa-failed".to_string(),
                    description: "A second factor was wrong or missing.".to_string(),
                    mitigation: mitigation_id("multi-factor-authentication"),
                    status: Planned,
                }],
            },
        ],
    };
    let totals = totals_of(&threats, &backlog);
    Report {
        format: REPORT_FORMAT,
        provenance: provenance(),
        model: ModelSummary {
            name: "Web shop".to_string(),
            file: "models/web-shop.toml".to_string(),
            components: 5,
            flows: 6,
            boundaries: 2,
            out_of_scope: vec![OutOfScopeElement {
                element: "card-vault".to_string(),
                reason: Some("the payment provider's; covered by its PCI assessment".to_string()),
            }],
        },
        pack: PackRef {
            name: PACK.to_string(),
            version: "1.0.0".to_string(),
        },
        tier: TierChoice {
            name: Some("standard".to_string()),
            chosen_by: TierSource::Rule,
            reason: "rule `internet-facing` matched: the system is reachable from the internet \
                     (system.internet_facing = true)"
                .to_string(),
        },
        threats,
        totals,
        backlog,
        alignment,
        activities: Some(sample_activities()),
        errors: vec![EvaluationError {
            rule: attack_pattern("weak-session-tokens"),
            element: "web-frontend".to_string(),
            message: "no such key: session_lifetime".to_string(),
        }],
    }
}

/// A penetration test done and a DAST owed, and a rule that could not be evaluated.
fn sample_activities() -> threatpack::analysis::activities::ActivitiesReport {
    use threatpack::analysis::activities::{ActivitiesReport, ActivityStatus, RequiredActivity};
    use threatpack::model::{ActivityDone, ActivityKind};
    let activity =
        |id: &str, name: &str, kind, status, rule: &str, values: Json| RequiredActivity {
            id: format!("threatpack/stride-core:activity/{id}"),
            name: name.to_string(),
            kind,
            status,
            rule: rule.to_string(),
            source: "threatpack/stride-core activities/security-activities.toml:26".to_string(),
            values: serde_json::from_value(values).expect("a map"),
            error: None,
            done: None,
        };
    let mut pentest = activity(
        "penetration-test",
        "Penetration test",
        ActivityKind::PenetrationTest,
        ActivityStatus::Done,
        "report.internet_facing_components > 0 && system.handles_personal_data",
        serde_json::json!({"report.internet_facing_components": 2, "system.handles_personal_data": true}),
    );
    pentest.done = Some(ActivityDone {
        id: "penetration-test".to_string(),
        date: "2026-11-30".to_string(),
        evidence: "https://tracker.example/SEC-1234".to_string(),
        note: Some("retest passed".to_string()),
    });
    let dast = activity(
        "dast",
        "Dynamic application security testing",
        ActivityKind::Dast,
        ActivityStatus::Owed,
        "system.internet_facing",
        serde_json::json!({"system.internet_facing": true}),
    );
    let mut custom = activity(
        "threat-hunt",
        "Threat hunt",
        ActivityKind::Custom,
        ActivityStatus::Error,
        "report.newer_field > 0",
        serde_json::json!({}),
    );
    custom.error = Some("No such key: newer_field in `report.newer_field > 0`".to_string());
    ActivitiesReport {
        required: 3,
        done: 1,
        owed: 2,
        activities: vec![dast, pentest, custom],
    }
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "snapshots/report_outputs", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn the_summary_of_a_web_shop() {
    let text = summary(&web_shop());
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "wider than {WIDTH} columns: {line:?}"
        );
    }
    snapshot("summary", &text);
}

#[test]
fn the_summary_counts_from_the_totals_when_the_report_keeps_only_the_worst_threats() {
    // What `analyse` with `Detail::Summary` gives: the worst few threats, the totals of all.
    let mut report = web_shop();
    report.threats.truncate(3);
    report.alignment = Alignment::default();
    for item in &mut report.backlog {
        item.places.clear();
        item.threats.clear();
    }
    let text = summary(&report);
    // 9 threats, 1 with nothing left: 8 with residual risk, 3 shown.
    assert!(
        text.contains("highest residual risk (8 of 9 threat instances have some left):"),
        "{text}"
    );
    assert!(text.contains("  and 5 more"), "{text}");
    assert!(
        text.contains("backlog: 4 mitigations in 6 places"),
        "{text}"
    );
    // The category table comes from the totals too.
    assert!(text.contains("denial-of-service"), "{text}");
    let full = summary(&web_shop());
    let table = |text: &str| {
        text.lines()
            .skip_while(|line| !line.starts_with("category"))
            .take_while(|line| !line.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&text), table(&full));
}

#[test]
fn the_markdown_report_of_a_web_shop() {
    snapshot("markdown", &markdown(&web_shop()));
}

#[test]
fn the_backlog_csv_of_a_web_shop() {
    let report = web_shop();
    let text = backlog_csv(&report, "Task").expect("the backlog writes");
    snapshot("backlog-csv", &text);

    // It parses back: a header and one record per backlog item, every record as wide.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header row").clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), CSV_COLUMNS.to_vec());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every record parses");
    assert_eq!(records.len(), report.backlog.len());
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .expect("the column exists")
    };
    let titles: Vec<&str> = records.iter().map(|r| &r[column("Title")]).collect();
    assert_eq!(
        titles,
        [
            "Authenticate every request at a central enforcement point",
            "Multi-factor authentication",
            "Rate-limit requests per client",
            "Pseudonymous identifiers per purpose",
        ]
    );
    // Azure DevOps priorities stop at 4: the info item is written as 4.
    let priorities: Vec<&str> = records.iter().map(|r| &r[column("Priority")]).collect();
    assert_eq!(priorities, ["1", "2", "4", "4"]);
    assert!(
        records
            .iter()
            .all(|r| &r[column("Work Item Type")] == "Task")
    );
    // The item needed in two places is one row naming both.
    let description = &records[0][column("Description")];
    assert!(description.contains("Places (2):\n- Admin | back office (admin): missing\n- Payments API (payments-api): missing"), "{description}");
    // Its stable id is a tag, to find the work item again on the next run.
    let tags = &records[0][column("Tags")];
    assert_eq!(
        tags.split("; ").collect::<Vec<_>>(),
        [
            "threatpack",
            &backlog_id("authenticate-every-request"),
            "severity-critical",
            "elevation-of-privilege",
            "spoofing"
        ]
    );
    // A verification that starts with `=` is defused.
    assert!(records[2][column("Acceptance Criteria")].starts_with("'=Send"));
}

#[test]
fn the_work_item_type_is_a_parameter_and_cannot_be_empty() {
    let report = web_shop();
    let text = backlog_csv(&report, "Product Backlog Item").expect("the backlog writes");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert!(
        reader
            .records()
            .all(|record| &record.expect("a record")[0] == "Product Backlog Item")
    );
    assert!(backlog_csv(&report, " \n").is_err());
}

/// OWASP CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
/// would be evaluated by a spreadsheet.
#[test]
fn cells_a_spreadsheet_would_evaluate_are_defused() {
    let mut report = web_shop();
    let payloads = [
        "=HYPERLINK(\"http://attacker.invalid\",\"Click\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1,2)",
        "\t=1",
        "\r=1",
    ];
    let item = report.backlog[0].clone();
    report.backlog = payloads
        .iter()
        .enumerate()
        .map(|(index, payload)| BacklogItem {
            id: format!("M-00000000000{index}"),
            title: payload.to_string(),
            description: payload.to_string(),
            verification: payload.to_string(),
            ..item.clone()
        })
        .collect();
    let text = backlog_csv(&report, "=Task").expect("the backlog writes");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every record parses");
    assert_eq!(records.len(), payloads.len());
    for record in &records {
        for (index, cell) in record.iter().enumerate() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "column {} is live: {cell:?}",
                CSV_COLUMNS[index]
            );
        }
        assert!(record[0].starts_with("'=Task"));
        assert!(record[1].starts_with('\''), "{:?}", &record[1]);
        assert!(record[2].starts_with('\''), "{:?}", &record[2]);
        assert!(record[3].starts_with('\''), "{:?}", &record[3]);
    }
}

#[test]
fn the_backlog_json_of_a_web_shop() {
    let report = web_shop();
    let text = backlog_json(&report);
    snapshot("backlog-json", &text);
    let document: Json = serde_json::from_str(&text).expect("the backlog is JSON");
    assert_eq!(document["size"], json!({ "items": 4, "places": 6 }));
    assert_eq!(document["items"].as_array().map(Vec::len), Some(4));
    // Priority keeps its 1–5 range in JSON.
    assert_eq!(document["items"][3]["priority"], json!(5));
    let errors = violations(SchemaKind::Backlog, &document);
    assert!(errors.is_empty(), "{errors:#?}");
    let mut broken = document.clone();
    broken["items"][0]["priority"] = json!(0);
    assert_invalid_at(SchemaKind::Backlog, &broken, "/items/0/priority");
    let mut broken = document;
    broken["size"]["mitigations"] = json!(5);
    assert_invalid_at(SchemaKind::Backlog, &broken, "/size");
}

fn violations(kind: SchemaKind, instance: &Json) -> Vec<String> {
    let validator = compile(kind).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect()
}

fn assert_invalid_at(kind: SchemaKind, instance: &Json, path: &str) {
    let found = violations(kind, instance);
    assert!(
        found
            .iter()
            .any(|violation| violation.starts_with(&format!("{path}:"))
                || violation.starts_with(&format!("{path}/"))),
        "expected a violation at `{path}`, found {found:#?}"
    );
}

fn report_json() -> Json {
    serde_json::to_value(web_shop()).expect("the report serializes")
}

#[test]
fn a_report_matches_its_schema_and_reads_back() {
    let report = web_shop();
    let json = serde_json::to_value(&report).expect("the report serializes");
    let errors = violations(SchemaKind::Report, &json);
    assert!(errors.is_empty(), "{errors:#?}");
    let back: Report = serde_json::from_value(json).expect("the report deserializes");
    assert_eq!(back, report);
}

/// A change to a report's JSON.
type Mutation = fn(&mut Json);

#[test]
fn a_report_that_breaks_the_format_does_not_match_the_schema() {
    let cases: [(&str, Mutation); 10] = [
        ("/format", |r| r["format"] = json!(1)),
        ("", |r| r["extra"] = json!(true)),
        ("/threats/0/id", |r| r["threats"][0]["id"] = json!("T-XYZ")),
        ("/threats/0/severity", |r| {
            r["threats"][0]["severity"] = json!("severe")
        }),
        ("/threats/0/residual/score", |r| {
            r["threats"][0]["residual"]["score"] = json!(101)
        }),
        ("/threats/0/mitigations/0/status", |r| {
            r["threats"][0]["mitigations"][0]["status"] = json!("done")
        }),
        ("/totals/by-state", |r| {
            r["totals"]["by-state"]["closed"] = json!(1)
        }),
        ("/backlog/0/priority", |r| {
            r["backlog"][0]["priority"] = json!(6)
        }),
        ("/backlog/0", |r| {
            r["backlog"][0]
                .as_object_mut()
                .expect("an object")
                .remove("verification");
        }),
        ("/alignment/stories/0/open-mitigations/0", |r| {
            r["alignment"]["stories"][0]["open-mitigations"][0] = json!("not a mitigation id")
        }),
    ];
    for (path, break_it) in cases {
        let mut json = report_json();
        break_it(&mut json);
        assert_invalid_at(SchemaKind::Report, &json, path);
    }
}

/// Every property the schema declares appears in the serde form of a report with every
/// optional part present, and the other way round: the schema is the serde form, no more.
#[test]
fn the_report_schema_declares_exactly_the_fields_of_the_serde_form() {
    let schema = SchemaKind::Report.json();
    let mut declared = BTreeSet::new();
    collect_declared(&schema, &mut declared);
    let mut emitted = BTreeSet::new();
    collect_emitted(&report_json(), &mut emitted);
    let only_declared: Vec<_> = declared.difference(&emitted).collect();
    let only_emitted: Vec<_> = emitted.difference(&declared).collect();
    assert!(
        only_declared.is_empty() && only_emitted.is_empty(),
        "declared but never emitted: {only_declared:?}; emitted but not declared: {only_emitted:?}"
    );
}

fn collect_declared(schema: &Json, names: &mut BTreeSet<String>) {
    match schema {
        Json::Object(object) => {
            for (key, value) in object {
                if key == "properties"
                    && let Json::Object(properties) = value
                {
                    names.extend(properties.keys().cloned());
                }
                collect_declared(value, names);
            }
        }
        Json::Array(items) => items.iter().for_each(|item| collect_declared(item, names)),
        _ => {}
    }
}

/// Object keys of the instance, except the keys of count maps (`by-*`), which are data.
fn collect_emitted(instance: &Json, names: &mut BTreeSet<String>) {
    match instance {
        Json::Object(object) => {
            for (key, value) in object {
                names.insert(key.clone());
                // `by-*` and an activity's `values` are maps keyed by data.
                if !key.starts_with("by-") && key != "values" {
                    collect_emitted(value, names);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|item| collect_emitted(item, names)),
        _ => {}
    }
}

/// Content nobody would write but a report may hold: control characters, Markdown and CSV
/// syntax, empty strings, ids that are not ids, counts that disagree with the lists, priorities
/// out of range. Every rendering works, and none lets a control character through.
#[test]
fn hostile_report_content_renders_without_panics_or_control_characters() {
    let mut report = web_shop();
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J| *x* <b>&amp;</b> `y` \r\n# z\u{0}";
    report.model.name = hostile.to_string();
    report.model.file = String::new();
    report.tier.name = Some(hostile.to_string());
    report.tier.reason = hostile.repeat(20);
    for threat in &mut report.threats {
        threat.name = hostile.to_string();
        threat.element_name = String::new();
        threat.categories.push(hostile.to_string());
        threat.id = hostile.to_string();
    }
    report.threats[0].mitigations.clear();
    report.threats[1].name = String::new();
    report.totals.threats = 0;
    report.totals.by_state = BTreeMap::from([(hostile.to_string(), usize::MAX)]);
    report
        .totals
        .by_category_and_severity
        .insert(hostile.repeat(10), BTreeMap::from([("??".to_string(), 3)]));
    for item in &mut report.backlog {
        item.priority = 200;
        item.title = hostile.repeat(30);
        item.description = hostile.to_string();
        item.places
            .push(place(hostile, ImplementationStatus::Missing, Some(hostile)));
        item.threats.push(hostile.to_string());
        item.events.push(hostile.to_string());
    }
    report.backlog[0].priority = 0;
    report
        .alignment
        .threats_without_clause
        .push(hostile.to_string());
    report.alignment.clauses_without_threat[0].clause = hostile.to_string();
    report.alignment.events[0].events[0].description = hostile.to_string();
    report.errors = (0..30)
        .map(|_| EvaluationError {
            rule: hostile.to_string(),
            element: hostile.to_string(),
            message: hostile.repeat(5),
        })
        .collect();

    let outputs = [
        ("summary", summary(&report)),
        ("markdown", markdown(&report)),
        (
            "csv",
            backlog_csv(&report, hostile).expect("the backlog writes"),
        ),
        ("json", backlog_json(&report)),
    ];
    for (name, text) in &outputs {
        let raw: Vec<char> = text
            .chars()
            .filter(|character| character.is_control() && *character != '\n')
            .collect();
        assert!(raw.is_empty(), "{name} lets {raw:?} through");
    }
    // The CSV still has one row per item, and titles stay within the trackers' 255 characters.
    let csv_text = &outputs[2].1;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every record parses");
    assert_eq!(records.len(), report.backlog.len());
    assert!(records.iter().all(|r| r[1].chars().count() <= 255));
    assert!(records.iter().all(|r| ["1", "4"].contains(&&r[4])));
    // Markdown: no table row gains a cell from a pipe in the content.
    let markdown_text = &outputs[1].1;
    for line in markdown_text.lines().filter(|line| line.starts_with("| ")) {
        assert!(!line.contains(" | | *x*"), "{line}");
    }
    assert!(!markdown_text.contains("<b>"));
}

#[test]
fn an_empty_report_renders() {
    let report = Report {
        format: REPORT_FORMAT,
        provenance: Provenance {
            project: None,
            ..provenance()
        },
        model: ModelSummary {
            name: "empty".to_string(),
            file: "empty.toml".to_string(),
            components: 0,
            flows: 0,
            boundaries: 0,
            out_of_scope: Vec::new(),
        },
        pack: PackRef {
            name: PACK.to_string(),
            version: "1.0.0".to_string(),
        },
        tier: TierChoice {
            name: None,
            chosen_by: TierSource::All,
            reason: String::new(),
        },
        threats: Vec::new(),
        totals: Totals::default(),
        backlog: Vec::new(),
        alignment: Alignment::default(),
        activities: None,
        errors: Vec::new(),
    };
    let text = summary(&report);
    assert!(text.contains("no threat applies to this model"), "{text}");
    assert!(text.contains("backlog: nothing to do"), "{text}");
    assert!(markdown(&report).contains("No threat of the knowledge base applies"));
    let csv_text = backlog_csv(&report, "Task").expect("the backlog writes");
    assert_eq!(csv_text.lines().count(), 1, "only the header: {csv_text}");
    let json_value: Json = serde_json::from_str(&backlog_json(&report)).expect("JSON");
    assert!(violations(SchemaKind::Backlog, &json_value).is_empty());
    let report_value = serde_json::to_value(&report).expect("the report serializes");
    let errors = violations(SchemaKind::Report, &report_value);
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Within a priority the report's order stands (`analyse` puts the strongest and widest fixes
/// first); only the priority reorders.
#[test]
fn backlog_outputs_keep_the_report_order_within_a_priority() {
    let mut report = web_shop();
    let [authenticate, mfa, mut rate_limits, pseudonyms] =
        <[BacklogItem; 4]>::try_from(report.backlog.clone()).expect("four items");
    rate_limits.priority = 1;
    // Ids would put rate limits (`M-4a…`) before authentication (`M-bf…`).
    report.backlog = vec![
        mfa.clone(),
        authenticate.clone(),
        rate_limits.clone(),
        pseudonyms,
    ];
    let expected = [&authenticate.title, &rate_limits.title, &mfa.title];
    let text = backlog_csv(&report, "Task").expect("the backlog writes");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let titles: Vec<String> = reader
        .records()
        .map(|record| record.expect("a record")[1].to_string())
        .collect();
    assert_eq!(titles[..3], expected.map(String::as_str));
    let document: Json = serde_json::from_str(&backlog_json(&report)).expect("JSON");
    let json_titles: Vec<&str> = document["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["title"].as_str())
        .collect();
    assert_eq!(json_titles[..3], expected.map(String::as_str));
    let markdown_text = markdown(&report);
    let positions: Vec<usize> = expected
        .iter()
        .map(|title| {
            markdown_text
                .find(&format!(": {title}\n"))
                .expect("a backlog heading")
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );
}
