//! Generates a large synthetic pack for benchmarking `threatpack check` (see docs/benchmarks.md).
//!
//! ```text
//! cargo run --release --example generate_synthetic_pack -- OUT_DIR \
//!     [--attack-patterns N] [--mitigations N] [--links N] [--per-file N] [--tests N] [--no-conditions]
//! ```
//!
//! Defaults: 10,000 attack patterns, 10,000 mitigations, 30,000 links, 100 items per file,
//! 10 pack tests. The output is a function of the arguments only (no randomness, no clock, no
//! hash-map order), so two runs with the same arguments write byte-identical packs.
//!
//! Shape, chosen to look like a real knowledge base rather than a best case:
//! - 20 entities in four trees (process, data store, external interactor, data flow) plus trust
//!   boundaries, up to three levels deep, with properties of every type (bool, enum, int, string,
//!   list) and a child redeclaring an inherited property with another default;
//! - attack patterns spread over files of `--per-file` items, about 1 in 6 applying to two sibling
//!   entities at once, most with a CEL `condition` of one to three terms over real properties
//!   (bool, enum `==`/`!=`/`in`, int comparisons, string functions, list membership and
//!   `exists`, and `source`/`target`/`crosses_boundary` on data flows);
//! - mitigations spread over files, each with `[[mitigation.addresses]]` links, one in four links
//!   with a condition of its own, some links with their own tier, some mitigations with events;
//! - tiers `["top", "standard", "deep"]`; every TOP attack pattern has a TOP mitigation.
//!
//! With the defaults the pack passes `threatpack check --deny warnings`: every attack pattern is
//! linked, every mitigation links something, every property is read by some condition, and no
//! condition is constant (conditions combine terms over distinct properties, each term depending
//! on its property, so none can be always true or always false). `--no-conditions` drops every
//! condition, to measure the cost of everything else (it then warns about unused properties).
//!
//! Refuses to write into a directory that exists and is not empty.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// ---------------------------------------------------------------------------------------------
// Arguments

struct Options {
    out: PathBuf,
    attack_patterns: usize,
    mitigations: usize,
    links: usize,
    per_file: usize,
    tests: usize,
    conditions: bool,
}

const USAGE: &str = "usage: generate_synthetic_pack OUT_DIR [--attack-patterns N] [--mitigations N] [--links N] \
[--per-file N] [--tests N] [--no-conditions]";

fn parse_args() -> Result<Options, String> {
    let mut out = None;
    let mut options = Options {
        out: PathBuf::new(),
        attack_patterns: 10_000,
        mitigations: 10_000,
        links: 30_000,
        per_file: 100,
        tests: 10,
        conditions: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let value = args
                .next()
                .ok_or_else(|| format!("`{name}` needs a number"))?;
            value
                .replace('_', "")
                .parse()
                .map_err(|_| format!("`{name}`: `{value}` is not a number"))
        };
        match arg.as_str() {
            "--attack-patterns" => options.attack_patterns = number("--attack-patterns")?,
            "--mitigations" => options.mitigations = number("--mitigations")?,
            "--links" => options.links = number("--links")?,
            "--per-file" => options.per_file = number("--per-file")?,
            "--tests" => options.tests = number("--tests")?,
            "--no-conditions" => options.conditions = false,
            "-h" | "--help" => return Err(USAGE.to_string()),
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option `{flag}`\n{USAGE}"));
            }
            path if out.is_none() => out = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument `{extra}`\n{USAGE}")),
        }
    }
    options.out = out.ok_or_else(|| USAGE.to_string())?;
    if options.attack_patterns == 0 || options.mitigations == 0 || options.per_file == 0 {
        return Err(
            "--attack-patterns, --mitigations and --per-file must be at least 1".to_string(),
        );
    }
    let most_per_mitigation = options.links.div_ceil(options.mitigations);
    if most_per_mitigation > options.attack_patterns {
        return Err(format!(
            "{} links over {} mitigations means {most_per_mitigation} links per mitigation, more than the {} attack patterns \
             (a mitigation links an attack pattern at most once)",
            options.links, options.mitigations, options.attack_patterns
        ));
    }
    Ok(options)
}

// ---------------------------------------------------------------------------------------------
// Entities

#[derive(Clone, Copy)]
enum Type {
    Bool {
        default: bool,
    },
    Enum {
        values: &'static [&'static str],
        default: &'static str,
    },
    Int {
        default: i64,
        min: Option<i64>,
        max: Option<i64>,
    },
    Str {
        default: &'static str,
    },
    List {
        values: &'static [&'static str],
        default: &'static [&'static str],
    },
}

#[derive(Clone, Copy)]
struct Property {
    name: &'static str,
    ty: Type,
    /// What it means, completing "The element ...".
    meaning: &'static str,
}

struct EntityDef {
    id: &'static str,
    name: &'static str,
    kind: Option<&'static str>,
    parent: Option<&'static str>,
    properties: Vec<Property>,
}

const fn b(name: &'static str, default: bool, meaning: &'static str) -> Property {
    Property {
        name,
        ty: Type::Bool { default },
        meaning,
    }
}
const fn e(
    name: &'static str,
    values: &'static [&'static str],
    default: &'static str,
    meaning: &'static str,
) -> Property {
    Property {
        name,
        ty: Type::Enum { values, default },
        meaning,
    }
}
const fn i(
    name: &'static str,
    default: i64,
    min: Option<i64>,
    max: Option<i64>,
    meaning: &'static str,
) -> Property {
    Property {
        name,
        ty: Type::Int { default, min, max },
        meaning,
    }
}
const fn s(name: &'static str, default: &'static str, meaning: &'static str) -> Property {
    Property {
        name,
        ty: Type::Str { default },
        meaning,
    }
}
const fn l(
    name: &'static str,
    values: &'static [&'static str],
    default: &'static [&'static str],
    meaning: &'static str,
) -> Property {
    Property {
        name,
        ty: Type::List { values, default },
        meaning,
    }
}

const DATA_CLASSES: &[&str] = &[
    "credentials",
    "personal-data",
    "payment-data",
    "health-data",
    "secrets",
    "logs",
];

fn entity_defs() -> Vec<EntityDef> {
    let entity = |id, name, kind, parent, properties| EntityDef {
        id,
        name,
        kind,
        parent,
        properties,
    };
    vec![
        // Processes.
        entity(
            "process",
            "Process",
            Some("process"),
            None,
            vec![
                b(
                    "internet_facing",
                    false,
                    "accepts connections that originate on the public internet",
                ),
                e(
                    "authentication",
                    &[
                        "none",
                        "password",
                        "password-mfa",
                        "api-key",
                        "bearer-token",
                        "mutual-tls",
                        "unknown",
                    ],
                    "unknown",
                    "authenticates its callers with this mechanism, the weakest one that is enabled",
                ),
                b(
                    "accepts_untrusted_input",
                    true,
                    "processes data that someone outside the operating team can influence",
                ),
                i(
                    "replica_count",
                    1,
                    Some(0),
                    Some(1000),
                    "runs as this many instances",
                ),
                s(
                    "runtime",
                    "",
                    "runs on this language runtime and version, e.g. java-17",
                ),
                l(
                    "handled_data",
                    DATA_CLASSES,
                    &[],
                    "handles these classes of sensitive data",
                ),
            ],
        ),
        entity(
            "web-application",
            "Web application",
            None,
            Some("process"),
            vec![
                // A redeclaration: same type, another default.
                b(
                    "internet_facing",
                    true,
                    "accepts connections that originate on the public internet",
                ),
                e(
                    "session_mechanism",
                    &["none", "cookie", "token", "unknown"],
                    "unknown",
                    "keeps user sessions with this mechanism",
                ),
                b(
                    "renders_user_content",
                    true,
                    "renders content that users supplied into pages",
                ),
                i(
                    "max_upload_mb",
                    10,
                    Some(0),
                    Some(10_240),
                    "accepts uploads up to this many megabytes",
                ),
                l(
                    "frameworks",
                    &[
                        "react", "angular", "django", "rails", "spring", "express", "aspnet",
                    ],
                    &[],
                    "is built with these frameworks",
                ),
            ],
        ),
        entity(
            "web-api",
            "Web API",
            None,
            Some("web-application"),
            vec![
                e(
                    "api_style",
                    &["rest", "graphql", "grpc", "soap"],
                    "rest",
                    "exposes an API of this style",
                ),
                i(
                    "rate_limit_per_minute",
                    0,
                    Some(0),
                    None,
                    "limits each client to this many requests a minute (0: no limit)",
                ),
                b("public_docs", false, "publishes its API documentation"),
            ],
        ),
        entity(
            "background-worker",
            "Background worker",
            None,
            Some("process"),
            vec![
                b("consumes_queue", true, "takes its work from a queue"),
                s("schedule", "", "runs on this cron schedule, if any"),
                i(
                    "retry_limit",
                    3,
                    Some(0),
                    Some(100),
                    "retries a failed job this many times",
                ),
            ],
        ),
        entity(
            "batch-job",
            "Batch job",
            None,
            Some("background-worker"),
            vec![
                b(
                    "runs_as_root",
                    false,
                    "runs with administrative privileges on its host",
                ),
                l(
                    "input_sources",
                    &["files", "database", "queue", "http"],
                    &["files"],
                    "reads its input from these sources",
                ),
            ],
        ),
        entity(
            "serverless-function",
            "Serverless function",
            None,
            Some("process"),
            vec![
                e(
                    "trigger",
                    &["http", "queue", "schedule", "storage-event"],
                    "http",
                    "is started by this kind of event",
                ),
                i(
                    "timeout_seconds",
                    30,
                    Some(1),
                    Some(900),
                    "is stopped after this many seconds",
                ),
                s("execution_role", "", "runs with this cloud role"),
            ],
        ),
        // Data stores.
        entity(
            "data-store",
            "Data store",
            Some("data-store"),
            None,
            vec![
                b("encrypted_at_rest", false, "encrypts the data it stores"),
                e(
                    "backup_policy",
                    &["none", "daily", "continuous", "unknown"],
                    "unknown",
                    "is backed up following this policy",
                ),
                i(
                    "retention_days",
                    365,
                    Some(0),
                    Some(36_500),
                    "keeps records for this many days",
                ),
                l(
                    "stored_data",
                    DATA_CLASSES,
                    &[],
                    "stores these classes of sensitive data",
                ),
                s("engine", "", "is implemented by this product and version"),
            ],
        ),
        entity(
            "relational-database",
            "Relational database",
            None,
            Some("data-store"),
            vec![
                b(
                    "row_level_security",
                    false,
                    "enforces row-level security policies",
                ),
                e(
                    "isolation_level",
                    &[
                        "read-uncommitted",
                        "read-committed",
                        "repeatable-read",
                        "serializable",
                    ],
                    "read-committed",
                    "runs transactions at this isolation level by default",
                ),
            ],
        ),
        entity(
            "document-database",
            "Document database",
            None,
            Some("data-store"),
            vec![
                b(
                    "schema_validation",
                    false,
                    "validates documents against a schema on write",
                ),
                e(
                    "query_language",
                    &["mongo", "sql-like", "custom"],
                    "mongo",
                    "is queried with this language",
                ),
            ],
        ),
        entity(
            "object-storage",
            "Object storage",
            None,
            Some("data-store"),
            vec![
                b("public_read", false, "lets anonymous clients read objects"),
                b(
                    "versioning",
                    false,
                    "keeps previous versions of overwritten objects",
                ),
                i(
                    "lifecycle_days",
                    0,
                    Some(0),
                    Some(3650),
                    "deletes objects after this many days (0: never)",
                ),
            ],
        ),
        entity(
            "cache",
            "Cache",
            None,
            Some("data-store"),
            vec![
                e(
                    "eviction_policy",
                    &["lru", "lfu", "ttl", "none"],
                    "lru",
                    "evicts entries following this policy",
                ),
                i(
                    "max_memory_mb",
                    512,
                    Some(1),
                    Some(1_048_576),
                    "holds at most this many megabytes",
                ),
            ],
        ),
        entity(
            "message-queue",
            "Message queue",
            None,
            Some("data-store"),
            vec![
                e(
                    "delivery",
                    &["at-most-once", "at-least-once", "exactly-once"],
                    "at-least-once",
                    "delivers messages with this guarantee",
                ),
                b(
                    "dead_letter_queue",
                    false,
                    "moves messages that repeatedly fail to a dead-letter queue",
                ),
            ],
        ),
        // External interactors.
        entity(
            "external-interactor",
            "External interactor",
            Some("external-interactor"),
            None,
            vec![
                e(
                    "trust_level",
                    &["anonymous", "authenticated", "partner", "internal"],
                    "anonymous",
                    "is trusted this much",
                ),
                i(
                    "user_count",
                    1,
                    Some(0),
                    None,
                    "stands for this many people or systems",
                ),
                l(
                    "interaction_channels",
                    &["browser", "mobile-app", "cli", "api-client", "email"],
                    &["browser"],
                    "interacts through these channels",
                ),
            ],
        ),
        entity(
            "human-user",
            "Human user",
            None,
            Some("external-interactor"),
            vec![
                b("privileged", false, "has administrative rights"),
                b(
                    "mfa_enrolled",
                    false,
                    "has enrolled a second authentication factor",
                ),
            ],
        ),
        entity(
            "partner-system",
            "Partner system",
            None,
            Some("external-interactor"),
            vec![
                s("contract_reference", "", "is governed by this contract"),
                b(
                    "shares_credentials",
                    false,
                    "shares credentials with other partners",
                ),
            ],
        ),
        // Data flows.
        entity(
            "data-flow",
            "Data flow",
            Some("data-flow"),
            None,
            vec![
                b("encrypted_in_transit", false, "is encrypted on the wire"),
                e(
                    "protocol",
                    &["http", "https", "grpc", "amqp", "sql", "smtp", "other"],
                    "https",
                    "uses this protocol",
                ),
                b(
                    "authenticated_channel",
                    false,
                    "authenticates both ends of the channel",
                ),
                l(
                    "payload_kinds",
                    &[
                        "credentials",
                        "personal-data",
                        "payment-data",
                        "commands",
                        "telemetry",
                    ],
                    &[],
                    "carries these kinds of payload",
                ),
                i(
                    "max_message_kb",
                    1024,
                    Some(0),
                    None,
                    "carries messages up to this many kilobytes",
                ),
            ],
        ),
        entity(
            "http-flow",
            "HTTP flow",
            None,
            Some("data-flow"),
            vec![
                b("uses_cookies", false, "carries cookies"),
                e(
                    "tls_version",
                    &["none", "tls1-0", "tls1-2", "tls1-3"],
                    "tls1-2",
                    "uses this TLS version",
                ),
            ],
        ),
        entity(
            "message-flow",
            "Message flow",
            None,
            Some("data-flow"),
            vec![
                b("signed_messages", false, "carries signed messages"),
                b("ordering_required", false, "needs messages in order"),
            ],
        ),
        // Trust boundaries.
        entity(
            "trust-boundary",
            "Trust boundary",
            Some("trust-boundary"),
            None,
            vec![
                e(
                    "boundary_type",
                    &[
                        "network",
                        "process",
                        "machine",
                        "cloud-account",
                        "organization",
                    ],
                    "network",
                    "separates these",
                ),
                b("monitored", false, "has its crossings monitored"),
                l(
                    "allowed_protocols",
                    &["http", "https", "ssh", "sql", "amqp"],
                    &["https"],
                    "lets these protocols cross",
                ),
            ],
        ),
        entity(
            "internet-boundary",
            "Internet boundary",
            None,
            Some("trust-boundary"),
            vec![
                b(
                    "has_waf",
                    false,
                    "filters traffic with a web application firewall",
                ),
                e(
                    "ddos_protection",
                    &["none", "basic", "advanced"],
                    "none",
                    "is protected against denial of service this well",
                ),
            ],
        ),
    ]
}

/// Sibling pairs an attack pattern may apply to together, with their common parent (whose
/// properties the condition then reads).
const PAIRS: &[(&str, &str, &str)] = &[
    ("web-application", "background-worker", "process"),
    ("relational-database", "document-database", "data-store"),
    ("object-storage", "cache", "data-store"),
    ("human-user", "partner-system", "external-interactor"),
    ("http-flow", "message-flow", "data-flow"),
];

struct Entities {
    defs: Vec<EntityDef>,
    /// Per entity: its properties with inherited ones, the nearest declaration winning, by name.
    resolved: Vec<Vec<Property>>,
    /// Per entity: whether it is (or descends from) a data flow.
    is_flow: Vec<bool>,
}

impl Entities {
    fn new() -> Entities {
        let defs = entity_defs();
        let position = |id: &str| {
            defs.iter()
                .position(|def| def.id == id)
                .expect("known entity")
        };
        let mut resolved = Vec::new();
        let mut is_flow = Vec::new();
        for index in 0..defs.len() {
            let mut chain = vec![index];
            while let Some(parent) = defs[*chain.last().expect("non-empty")].parent {
                chain.push(position(parent));
            }
            let mut properties: Vec<Property> = Vec::new();
            for member in chain.iter().rev() {
                for property in &defs[*member].properties {
                    properties.retain(|known| known.name != property.name);
                    properties.push(*property);
                }
            }
            properties.sort_by_key(|property| property.name);
            resolved.push(properties);
            is_flow.push(
                chain
                    .iter()
                    .any(|member| defs[*member].kind == Some("data-flow")),
            );
        }
        Entities {
            defs,
            resolved,
            is_flow,
        }
    }

    fn position(&self, id: &str) -> usize {
        self.defs
            .iter()
            .position(|def| def.id == id)
            .expect("known entity")
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// One term of a condition over `property` (variant `variant` picks the form). Every term
/// depends on its property: none is constant.
fn term(property: &Property, variant: usize) -> String {
    let name = property.name;
    match property.ty {
        Type::Bool { .. } => {
            if variant.is_multiple_of(2) {
                format!("self.{name}")
            } else {
                format!("!self.{name}")
            }
        }
        Type::Enum { values, .. } => {
            let n = values.len();
            let first = values[variant % n];
            match variant % 3 {
                0 => format!("self.{name} == \"{first}\""),
                1 => {
                    // A strict subset (n >= 3 for every enum here), so never always true.
                    let second = values[(variant + 1) % n];
                    format!("self.{name} in [\"{first}\", \"{second}\"]")
                }
                _ => format!("self.{name} != \"{first}\""),
            }
        }
        Type::Int { min, max, .. } => {
            let low = min.unwrap_or(0);
            let high = max.unwrap_or(low + 1000);
            // Strictly between the bounds, so no comparison is always true or always false.
            let threshold = low + 1 + (variant as i64 * 37) % (high - low - 1).max(1);
            match variant % 3 {
                0 => format!("self.{name} > {threshold}"),
                1 => format!("self.{name} <= {threshold}"),
                _ => format!("self.{name} >= {low} && self.{name} < {threshold}"),
            }
        }
        Type::Str { .. } => match variant % 4 {
            0 => format!("self.{name} == \"\""),
            1 => format!("self.{name}.startsWith(\"legacy\")"),
            2 => format!("self.{name}.contains(\"-1\")"),
            _ => format!("self.{name}.matches(\"^[a-z]+-[0-9]+$\")"),
        },
        Type::List { values, .. } => {
            let value = values[variant % values.len()];
            match variant % 3 {
                0 => format!("\"{value}\" in self.{name}"),
                1 => format!("size(self.{name}) > {}", variant % 2),
                _ => format!("self.{name}.exists(item, item == \"{value}\")"),
            }
        }
    }
}

/// Terms only data-flow conditions can use.
const FLOW_TERMS: &[&str] = &[
    "crosses_boundary",
    "has(source.internet_facing) && source.internet_facing",
    "has(target.encrypted_at_rest) && !target.encrypted_at_rest",
    "has(source.trust_level) && source.trust_level == \"anonymous\"",
];

/// A condition of one to `most` terms over distinct properties of `properties`; `counter` is how
/// many conditions were made for these properties before, so that successive ones start at
/// successive properties (every property gets read) and vary their forms.
fn condition(properties: &[Property], flow: bool, counter: usize, most: usize) -> String {
    let choices = properties.len() + if flow { FLOW_TERMS.len() } else { 0 };
    // Each round starts once at every property; the number of terms and the spacing of the
    // other terms change from round to round.
    let round = counter / choices;
    let count = [1, 2, 3, 2, 3, 2][round % 6].min(most).min(choices);
    let step = 1 + (round / 6) % (choices - 1).max(1);
    let mut chosen: Vec<usize> = Vec::new();
    for j in 0..count {
        let mut candidate = (counter + j * step) % choices;
        while chosen.contains(&candidate) {
            candidate = (candidate + 1) % choices;
        }
        chosen.push(candidate);
    }
    let terms: Vec<String> = chosen
        .iter()
        .enumerate()
        .map(|(j, &choice)| match properties.get(choice) {
            Some(property) => term(property, round + j),
            None => FLOW_TERMS[choice - properties.len()].to_string(),
        })
        .collect();
    let wrap = |term: &String| {
        if term.contains(" && ") || term.contains(" || ") {
            format!("({term})")
        } else {
            term.clone()
        }
    };
    match terms.as_slice() {
        [a] => a.clone(),
        [a, b] => {
            if round % 4 != 3 {
                format!("{a} && {b}")
            } else {
                format!("{} || {}", wrap(a), wrap(b))
            }
        }
        [a, b, c] => match (round / 2) % 4 {
            0 => format!("{a} && {b} && {c}"),
            1 => format!("{a} && ({} || {})", wrap(b), wrap(c)),
            2 => format!("({} || {}) && {c}", wrap(a), wrap(b)),
            _ => format!("{} || {} || {}", wrap(a), wrap(b), wrap(c)),
        },
        _ => unreachable!("one to three terms"),
    }
}

// ---------------------------------------------------------------------------------------------
// Text

const WORDS: &[&str] = &[
    "attacker",
    "request",
    "token",
    "session",
    "payload",
    "boundary",
    "service",
    "client",
    "record",
    "account",
    "credential",
    "header",
    "parameter",
    "response",
    "queue",
    "message",
    "query",
    "file",
    "upload",
    "key",
    "certificate",
    "policy",
    "tenant",
    "resource",
    "endpoint",
    "secret",
    "log",
    "identity",
    "role",
    "permission",
    "cache",
    "replica",
    "backup",
    "network",
    "proxy",
    "gateway",
    "cookie",
    "signature",
    "nonce",
    "timestamp",
];
const VERBS: &[&str] = &[
    "forges",
    "replays",
    "tampers with",
    "exfiltrates",
    "floods",
    "guesses",
    "injects into",
    "escalates through",
    "intercepts",
    "spoofs",
    "deletes",
    "enumerates",
    "poisons",
    "hijacks",
    "downgrades",
    "bypasses",
];
const ACTIONS: &[&str] = &[
    "Validate",
    "Sign",
    "Encrypt",
    "Rate-limit",
    "Log",
    "Authenticate",
    "Authorize",
    "Rotate",
    "Isolate",
    "Monitor",
    "Pin",
    "Expire",
    "Sanitize",
    "Back up",
    "Restrict",
    "Review",
];
const CATEGORIES: &[&str] = &[
    "spoofing",
    "tampering",
    "repudiation",
    "information-disclosure",
    "denial-of-service",
    "elevation-of-privilege",
];
const RATINGS: &[&str] = &["very-low", "low", "medium", "high", "very-high"];
const SEVERITIES: &[&str] = &["info", "low", "medium", "high", "critical"];
const STRENGTHS: &[&str] = &["negligible", "weak", "average", "strong", "maximum"];
const CONTROLS: &[&str] = &[
    "preventive",
    "detective",
    "corrective",
    "recovery",
    "deterrent",
    "compensating",
];
const COSTS: &[&str] = &["low", "medium", "high"];

/// A deterministic word sequence: a linear congruential generator with a fixed seed per item.
struct Words(u64);

impl Words {
    fn new(seed: usize) -> Words {
        Words(
            (seed as u64)
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        )
    }

    fn next(&mut self, list: &[&'static str]) -> &'static str {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        list[((self.0 >> 33) % list.len() as u64) as usize]
    }

    /// `count` sentences of six to eleven words, wrapped for a TOML multi-line string.
    fn paragraph(&mut self, count: usize) -> String {
        let mut text = String::new();
        for sentence in 0..count {
            let length = 6 + (self.0 >> 40) as usize % 6;
            let mut words: Vec<&str> = vec!["The", self.next(WORDS)];
            words.push(self.next(VERBS));
            for _ in 0..length {
                words.push(self.next(WORDS));
            }
            if sentence > 0 {
                text.push_str(if sentence % 2 == 0 { " \\\n" } else { " " });
            }
            text.push_str(&words.join(" "));
            text.push('.');
        }
        text
    }
}

fn quote_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

// ---------------------------------------------------------------------------------------------
// The pack

struct AttackPattern {
    id: String,
    /// Entities it applies to.
    subjects: Vec<usize>,
    /// The entity whose properties conditions read (the common parent for pairs).
    scope: usize,
    condition: Option<String>,
    tier: Option<&'static str>,
}

fn plan_attack_patterns(entities: &Entities, options: &Options) -> Vec<AttackPattern> {
    let mut counters = vec![0usize; entities.defs.len()];
    (0..options.attack_patterns)
        .map(|index| {
            // 20 of 24 apply to one entity (each in turn), 4 to a sibling pair.
            let slot = index % 24;
            let (subjects, scope) = if slot < entities.defs.len().min(20) {
                (vec![slot], slot)
            } else {
                let (a, b, parent) = PAIRS[(index / 24 + slot) % PAIRS.len()];
                (
                    vec![entities.position(a), entities.position(b)],
                    entities.position(parent),
                )
            };
            let condition = if options.conditions && index % 17 != 16 {
                let counter = counters[scope];
                counters[scope] += 1;
                Some(condition(
                    &entities.resolved[scope],
                    entities.is_flow[scope],
                    counter,
                    3,
                ))
            } else {
                None
            };
            let tier = match (index / 24) % 10 {
                0 => Some("top"),
                1..=3 => Some("standard"),
                4 => Some("deep"),
                _ => None,
            };
            let id = format!(
                "{}-threat-{index:05}",
                entities.defs[scope].id.split('-').next().unwrap_or("item")
            );
            AttackPattern {
                id,
                subjects,
                scope,
                condition,
                tier,
            }
        })
        .collect()
}

/// The attack patterns of each mitigation: link `j` goes to attack pattern `j % A`; mitigations
/// take consecutive runs of links, so a mitigation never links an attack pattern twice and,
/// with at least as many links as attack patterns, every attack pattern is linked.
fn plan_links(options: &Options) -> Vec<Vec<usize>> {
    let (m, a) = (options.mitigations, options.attack_patterns);
    let mut next = 0;
    (0..m)
        .map(|mitigation| {
            let count = options.links / m + usize::from(mitigation < options.links % m);
            let targets = (next..next + count).map(|link| link % a).collect();
            next += count;
            targets
        })
        .collect()
}

fn write_file(root: &Path, relative: &str, text: &str) -> Result<(), String> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create `{}`: {error}", parent.display()))?;
    }
    fs::write(&path, text).map_err(|error| format!("cannot write `{}`: {error}", path.display()))
}

fn manifest() -> String {
    "[pack]\n\
     format = 1\n\
     name = \"bench/synthetic\"\n\
     version = \"1.0.0\"\n\
     description = \"A synthetic pack generated by examples/generate_synthetic_pack.rs to benchmark `threatpack check`.\"\n\
     license = \"CC0-1.0\"\n\
     authors = [\"threatpack contributors\"]\n\
     tags = [\"benchmark\", \"synthetic\"]\n\
     tiers = [\"top\", \"standard\", \"deep\"]\n"
        .to_string()
}

fn entities_files(entities: &Entities) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for def in &entities.defs {
        // One file per tree, named after its root.
        let mut root = def;
        while let Some(parent) = root.parent {
            root = &entities.defs[entities.position(parent)];
        }
        let file = format!("entities/{}.toml", root.id);
        if !files.iter().any(|(name, _)| *name == file) {
            files.push((
                file.clone(),
                format!("# Generated: the {} tree.\n", root.name.to_lowercase()),
            ));
        }
        let text = &mut files
            .iter_mut()
            .find(|(name, _)| *name == file)
            .expect("just added")
            .1;
        let _ = write!(
            text,
            "\n[[entity]]\nid = \"{}\"\nname = \"{}\"\n",
            def.id, def.name
        );
        if let Some(kind) = def.kind {
            let _ = writeln!(text, "kind = \"{kind}\"");
        }
        if let Some(parent) = def.parent {
            let _ = writeln!(text, "parent = \"{parent}\"");
        }
        let _ = writeln!(
            text,
            "description = \"A {} in a data-flow diagram; conditions of the attack patterns below read its properties.\"",
            def.name.to_lowercase()
        );
        for property in &def.properties {
            let _ = write!(text, "\n[entity.properties.{}]\n", property.name);
            match property.ty {
                Type::Bool { default } => {
                    let _ = write!(text, "type = \"bool\"\ndefault = {default}\n");
                }
                Type::Enum { values, default } => {
                    let _ = write!(
                        text,
                        "type = \"enum\"\nvalues = {}\ndefault = \"{default}\"\n",
                        quote_list(values)
                    );
                }
                Type::Int { default, min, max } => {
                    let _ = write!(text, "type = \"int\"\ndefault = {default}\n");
                    if let Some(min) = min {
                        let _ = writeln!(text, "min = {min}");
                    }
                    if let Some(max) = max {
                        let _ = writeln!(text, "max = {max}");
                    }
                }
                Type::Str { default } => {
                    let _ = write!(text, "type = \"string\"\ndefault = \"{default}\"\n");
                }
                Type::List { values, default } => {
                    let _ = write!(
                        text,
                        "type = \"list\"\nvalues = {}\ndefault = {}\n",
                        quote_list(values),
                        quote_list(default)
                    );
                }
            }
            let meaning = property.meaning;
            let _ = write!(
                text,
                "description = \"The element {meaning}.\"\nquestion = \"{}\"\n\
                 rationale = \"The answer to whether the element {meaning} decides which attack patterns apply to it and which mitigations are advised.\"\n",
                match property.ty {
                    Type::Bool { .. } => format!("Is it true that the element {meaning}?"),
                    _ => format!("Complete the sentence: the element {meaning}."),
                },
            );
        }
    }
    files
}

fn attack_pattern_files(
    entities: &Entities,
    plan: &[AttackPattern],
    options: &Options,
) -> Vec<(String, String)> {
    plan.chunks(options.per_file)
        .enumerate()
        .map(|(file, chunk)| {
            let mut text = format!("# Generated: attack patterns {} to {}.\n", file * options.per_file, file * options.per_file + chunk.len() - 1);
            for (offset, item) in chunk.iter().enumerate() {
                let index = file * options.per_file + offset;
                let mut words = Words::new(index);
                let scope = &entities.defs[item.scope];
                let applies_to: Vec<&str> = item.subjects.iter().map(|subject| entities.defs[*subject].id).collect();
                let _ = write!(
                    text,
                    "\n[[attack-pattern]]\nid = \"{}\"\nname = \"The {} {} the {} of a {}\"\ndescription = \"\"\"\n{}\"\"\"\n",
                    item.id,
                    words.next(WORDS),
                    words.next(VERBS),
                    words.next(WORDS),
                    scope.name.to_lowercase(),
                    words.paragraph(3 + index % 3),
                );
                let first = CATEGORIES[index % CATEGORIES.len()];
                let second = CATEGORIES[(index / 6 + index + 1) % CATEGORIES.len()];
                let mut categories = vec![first];
                if index.is_multiple_of(3) && second != first {
                    categories.push(second);
                }
                if index.is_multiple_of(11) {
                    categories.push("linddun:linking");
                }
                let _ = write!(text, "categories = {}\napplies-to = {}\n", quote_list(&categories), quote_list(&applies_to));
                if let Some(condition) = &item.condition {
                    let _ = writeln!(text, "condition = '{condition}'");
                }
                let _ = writeln!(text, "severity = \"{}\"", SEVERITIES[(index * 7 + 3) % SEVERITIES.len()]);
                if index % 4 != 3 {
                    let _ = write!(
                        text,
                        "likelihood = \"{}\"\nimpact = \"{}\"\n",
                        RATINGS[(index * 3) % RATINGS.len()],
                        RATINGS[(index * 5 + 2) % RATINGS.len()]
                    );
                }
                if let Some(tier) = item.tier {
                    let _ = writeln!(text, "tier = \"{tier}\"");
                }
                let _ = write!(
                    text,
                    "\n[attack-pattern.references]\ncapec = [{}, {}]\ncwe = [{}]\n",
                    1 + index % 700,
                    701 + index % 300,
                    20 + index % 1300
                );
                if index.is_multiple_of(2) {
                    let _ = writeln!(text, "attack = [\"T{}\"]", 1000 + index % 600);
                }
                if index.is_multiple_of(5) {
                    let _ = writeln!(text, "url = [\"https://example.org/threats/{}\"]", item.id);
                }
            }
            (format!("attack-patterns/part-{file:04}.toml"), text)
        })
        .collect()
}

fn mitigation_files(
    entities: &Entities,
    plan: &[AttackPattern],
    links: &[Vec<usize>],
    options: &Options,
) -> Vec<(String, String)> {
    let mut link_counters = vec![0usize; entities.defs.len()];
    let mut link_index = 0usize;
    let mut files = Vec::new();
    for (file, chunk) in links.chunks(options.per_file).enumerate() {
        let mut text = format!(
            "# Generated: mitigations {} to {}.\n",
            file * options.per_file,
            file * options.per_file + chunk.len() - 1
        );
        for (offset, targets) in chunk.iter().enumerate() {
            let index = file * options.per_file + offset;
            let mut words = Words::new(1_000_000 + index);
            // TOP when it addresses a TOP attack pattern, so that each has a TOP mitigation.
            let tier = if targets
                .iter()
                .any(|target| plan[*target].tier == Some("top"))
            {
                Some("top")
            } else if index.is_multiple_of(2) {
                Some("standard")
            } else {
                None
            };
            let _ = write!(
                text,
                "\n[[mitigation]]\nid = \"mitigation-{index:05}\"\nname = \"{} the {} of every {}\"\ndescription = \"{}\"\n\
                 control = \"{}\"\ncost = \"{}\"\n",
                words.next(ACTIONS),
                words.next(WORDS),
                words.next(WORDS),
                words.paragraph(1),
                CONTROLS[index % CONTROLS.len()],
                COSTS[(index / 2) % COSTS.len()],
            );
            if let Some(tier) = tier {
                let _ = writeln!(text, "tier = \"{tier}\"");
            }
            let _ = write!(
                text,
                "implementation = \"\"\"\n{}\"\"\"\nverification = \"\"\"\n{}\"\"\"\n",
                words.paragraph(2 + index % 3),
                words.paragraph(2 + index % 2),
            );
            if index.is_multiple_of(5) {
                let _ = write!(
                    text,
                    "events = [\n  {{ id = \"bench.event-{index}\", description = \"The {} was rejected.\" }},\n]\n",
                    words.next(WORDS)
                );
            }
            if index.is_multiple_of(3) {
                let _ = write!(
                    text,
                    "\n[mitigation.references]\nasvs = [\"V{}.{}.{}\"]\n",
                    1 + index % 14,
                    1 + index % 9,
                    1 + index % 7
                );
            }
            for target in targets {
                let attack_pattern = &plan[*target];
                let _ = write!(
                    text,
                    "\n[[mitigation.addresses]]\nattack-pattern = \"{}\"\nstrength = \"{}\"\n",
                    attack_pattern.id,
                    STRENGTHS[(link_index * 3 + 1) % STRENGTHS.len()]
                );
                // Own tiers only on links to attack patterns outside TOP (a TOP attack pattern
                // keeps its TOP links).
                if attack_pattern.tier != Some("top") && link_index % 9 == 4 {
                    let _ = writeln!(text, "tier = \"deep\"");
                }
                if options.conditions && link_index % 4 == 1 {
                    let scope = attack_pattern.scope;
                    let counter = link_counters[scope];
                    link_counters[scope] += 1;
                    let condition = condition(
                        &entities.resolved[scope],
                        entities.is_flow[scope],
                        counter + 5,
                        2,
                    );
                    let _ = writeln!(text, "condition = '{condition}'");
                }
                link_index += 1;
            }
        }
        files.push((format!("mitigations/part-{file:04}.toml"), text));
    }
    files
}

/// Pack tests with small models; each expects an unconditional attack pattern on an element of
/// a kind it applies to, so the expectations hold. None when the pack has no such attack pattern
/// (a very small pack).
fn test_files(entities: &Entities, plan: &[AttackPattern], count: usize) -> Vec<(String, String)> {
    let applies = |entity: &str| -> Vec<&AttackPattern> {
        let position = entities.position(entity);
        plan.iter()
            .filter(|item| item.condition.is_none() && item.subjects.contains(&position))
            .collect()
    };
    let (apis, databases) = (applies("web-api"), applies("relational-database"));
    (0..count)
        .filter_map(|test| {
            let mut expect = Vec::new();
            if let Some(item) = apis.get(test % apis.len().max(1)) {
                expect.push(format!("{}@api", item.id));
            }
            if let Some(item) = databases.get(test % databases.len().max(1)) {
                expect.push(format!("{}@db", item.id));
            }
            let mut text = format!("[test]\ndescription = \"Synthetic system {test}: an API behind the internet boundary with a database\"\n");
            if expect.is_empty() {
                return None;
            }
            let expect: Vec<&str> = expect.iter().map(String::as_str).collect();
            let _ = writeln!(text, "expect = {}", quote_list(&expect));
            let _ = write!(
                text,
                "\n[[component]]\nid = \"browser\"\nkind = \"human-user\"\nproperties = {{ mfa_enrolled = {} }}\n\
                 \n[[component]]\nid = \"api\"\nkind = \"web-api\"\nproperties = {{ internet_facing = true, authentication = \"{}\", replica_count = {}, frameworks = [\"spring\"] }}\n\
                 \n[[component]]\nid = \"db\"\nkind = \"relational-database\"\nproperties = {{ encrypted_at_rest = {}, stored_data = [\"personal-data\"] }}\n\
                 \n[[flow]]\nid = \"browser-to-api\"\nkind = \"http-flow\"\nsource = \"browser\"\ntarget = \"api\"\nproperties = {{ tls_version = \"tls1-3\" }}\n\
                 \n[[flow]]\nid = \"api-to-db\"\nkind = \"data-flow\"\nsource = \"api\"\ntarget = \"db\"\nproperties = {{ protocol = \"sql\" }}\n\
                 \n[[boundary]]\nid = \"internet\"\nkind = \"internet-boundary\"\ncontains = [\"browser\"]\n",
                test % 2 == 0,
                ["none", "password", "bearer-token", "mutual-tls"][test % 4],
                1 + test % 5,
                test % 3 == 0,
            );
            Some((format!("tests/system-{test:03}.toml"), text))
        })
        .collect()
}

fn run(options: &Options) -> Result<(), String> {
    match fs::read_dir(&options.out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "`{}` is not empty; give a new or empty directory",
                    options.out.display()
                ));
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot read `{}`: {error}", options.out.display())),
    }
    fs::create_dir_all(&options.out)
        .map_err(|error| format!("cannot create `{}`: {error}", options.out.display()))?;

    let entities = Entities::new();
    let plan = plan_attack_patterns(&entities, options);
    let links = plan_links(options);
    let mut files = vec![("pack.toml".to_string(), manifest())];
    files.extend(entities_files(&entities));
    files.extend(attack_pattern_files(&entities, &plan, options));
    files.extend(mitigation_files(&entities, &plan, &links, options));
    let tests = test_files(&entities, &plan, options.tests);
    let test_count = tests.len();
    files.extend(tests);
    let mut bytes = 0;
    for (relative, text) in &files {
        write_file(&options.out, relative, text)?;
        bytes += text.len();
    }
    let conditions = plan.iter().filter(|item| item.condition.is_some()).count();
    eprintln!(
        "wrote {} files ({:.1} MB) to {}: {} entities, {} attack patterns ({} with a condition), {} mitigations, {} links, {} tests",
        files.len(),
        bytes as f64 / 1e6,
        options.out.display(),
        entities.defs.len(),
        plan.len(),
        conditions,
        options.mitigations,
        links.iter().map(Vec::len).sum::<usize>(),
        test_count,
    );
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
