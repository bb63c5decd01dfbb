//! The server's settings and where they come from. Precedence: a flag, then its environment
//! variable (`THREATPACK_REGISTRY_*`; clap reads both), then the TOML file given with
//! `--config`, then the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use threatpack::document::{Node, NodeValue};
use threatpack::schema::suggest;
use threatpack::source::line_column;

use crate::api::DEFAULT_MAX_BUNDLE_BYTES;

pub const DATA_ENV: &str = "THREATPACK_REGISTRY_DATA";
pub const LISTEN_ENV: &str = "THREATPACK_REGISTRY_LISTEN";
pub const MAX_BUNDLE_BYTES_ENV: &str = "THREATPACK_REGISTRY_MAX_BUNDLE_BYTES";
/// The first admin token, when the operator provides it (a secret store) instead of reading it
/// from `DATA/admin-token`; used on the data directory's first start only.
pub const ADMIN_TOKEN_ENV: &str = "THREATPACK_REGISTRY_ADMIN_TOKEN";
/// Where the registry key is kept, when not in `DATA/registry-key` (a secret store's mount).
pub const KEY_FILE_ENV: &str = "THREATPACK_REGISTRY_KEY_FILE";
/// The registry's origin (the name in its key and its signed notes), used when the key is made.
pub const ORIGIN_ENV: &str = "THREATPACK_REGISTRY_ORIGIN";
pub const HEADER_TIMEOUT_ENV: &str = "THREATPACK_REGISTRY_HEADER_TIMEOUT";
pub const BODY_TIMEOUT_ENV: &str = "THREATPACK_REGISTRY_BODY_TIMEOUT";
pub const MAX_CONNECTIONS_ENV: &str = "THREATPACK_REGISTRY_MAX_CONNECTIONS";
pub const WRITE_RATE_ENV: &str = "THREATPACK_REGISTRY_WRITE_RATE";
pub const LOG_FORMAT_ENV: &str = "THREATPACK_REGISTRY_LOG_FORMAT";
pub const INDEX_EXPIRY_ENV: &str = "THREATPACK_REGISTRY_INDEX_EXPIRY";
pub const MAX_REPORT_SIZE_ENV: &str = "THREATPACK_REGISTRY_MAX_REPORT_SIZE";
pub const REPORT_RETENTION_ENV: &str = "THREATPACK_REGISTRY_REPORT_RETENTION";

/// Seconds a client has to send a request's headers, and the longest a kept-alive connection
/// may stay idle between requests (hyper's header-read timer covers both).
pub const DEFAULT_HEADER_TIMEOUT_SECONDS: u64 = 10;
/// Seconds a request body may go without sending anything.
pub const DEFAULT_BODY_TIMEOUT_SECONDS: u64 = 30;
/// Connections served at once; more wait in the kernel's queue until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Writes (publish, yank, namespaces, owners, keys) per minute, per token and per address.
pub const DEFAULT_WRITE_RATE_PER_MINUTE: u32 = 120;
/// How long an index envelope is valid: clients refuse it after that (freeze protection).
pub const DEFAULT_INDEX_EXPIRY_SECONDS: i64 = 86_400;
/// The longest index expiry: past a year, freeze protection means little.
const MAX_INDEX_EXPIRY_SECONDS: i64 = 366 * 86_400;

/// Where the server listens unless told otherwise: loopback, port 8080, the address the
/// `threatpack` client uses when neither `--registry` nor `THREATPACK_REGISTRY` says otherwise,
/// so that the two defaults meet.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    8080,
));

/// Every key a configuration file may hold, named as the flags are.
pub const KEYS: [&str; 11] = [
    "data",
    "listen",
    "max-bundle-bytes",
    "header-timeout",
    "body-timeout",
    "max-connections",
    "write-rate",
    "log-format",
    "index-expiry",
    "max-report-size",
    "report-retention",
];

/// A configuration file is a few lines; anything larger is not one.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The settings one source gives; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartialSettings {
    pub data: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub max_bundle_bytes: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub body_timeout_seconds: Option<u64>,
    pub max_connections: Option<usize>,
    pub write_rate_per_minute: Option<u32>,
    pub log_format: Option<LogFormat>,
    pub index_expiry_seconds: Option<i64>,
    pub max_report_bytes: Option<usize>,
    pub report_retention_days: Option<u32>,
}

/// The settings the server runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub max_bundle_bytes: usize,
    pub header_timeout_seconds: u64,
    pub body_timeout_seconds: u64,
    pub max_connections: usize,
    pub write_rate_per_minute: u32,
    pub log_format: LogFormat,
    pub index_expiry_seconds: i64,
    pub max_report_bytes: usize,
    pub report_retention_days: u32,
}

/// How the request log is written (stderr, one line per request).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl PartialSettings {
    /// What `self` says, and `lower` where `self` says nothing.
    pub fn or(self, lower: PartialSettings) -> PartialSettings {
        PartialSettings {
            data: self.data.or(lower.data),
            listen: self.listen.or(lower.listen),
            max_bundle_bytes: self.max_bundle_bytes.or(lower.max_bundle_bytes),
            header_timeout_seconds: self.header_timeout_seconds.or(lower.header_timeout_seconds),
            body_timeout_seconds: self.body_timeout_seconds.or(lower.body_timeout_seconds),
            max_connections: self.max_connections.or(lower.max_connections),
            write_rate_per_minute: self.write_rate_per_minute.or(lower.write_rate_per_minute),
            log_format: self.log_format.or(lower.log_format),
            index_expiry_seconds: self.index_expiry_seconds.or(lower.index_expiry_seconds),
            max_report_bytes: self.max_report_bytes.or(lower.max_report_bytes),
            report_retention_days: self.report_retention_days.or(lower.report_retention_days),
        }
    }

    /// The data directory: there is no default, since a registry's data must not land
    /// somewhere by surprise.
    pub fn data(&self) -> Result<PathBuf, String> {
        self.data.clone().ok_or_else(|| {
            format!(
                "no data directory: pass `--data DIR`, set {DATA_ENV}, or set `data` in the `--config` file (where the registry keeps its database and blobs; created if missing)"
            )
        })
    }

    /// The settings to run with: the defaults where no source said anything.
    pub fn resolve(self) -> Result<ServerSettings, String> {
        let max_bundle_bytes = self.max_bundle_bytes.unwrap_or(DEFAULT_MAX_BUNDLE_BYTES);
        if max_bundle_bytes == 0 {
            return Err("`max-bundle-bytes` is 0: no bundle could be published; give a size in bytes, e.g. 67108864 (64 MiB)".to_string());
        }
        let positive = |value: Option<u64>, key: &str, default: u64| match value {
            Some(0) => Err(format!(
                "`{key}` is 0: give a positive number (the default is {default})"
            )),
            value => Ok(value.unwrap_or(default)),
        };
        Ok(ServerSettings {
            data: self.data()?,
            listen: self.listen.unwrap_or(DEFAULT_LISTEN),
            max_bundle_bytes,
            header_timeout_seconds: positive(
                self.header_timeout_seconds,
                "header-timeout",
                DEFAULT_HEADER_TIMEOUT_SECONDS,
            )?,
            body_timeout_seconds: positive(
                self.body_timeout_seconds,
                "body-timeout",
                DEFAULT_BODY_TIMEOUT_SECONDS,
            )?,
            max_connections: usize::try_from(positive(
                self.max_connections.map(|count| count as u64),
                "max-connections",
                DEFAULT_MAX_CONNECTIONS as u64,
            )?)
            .unwrap_or(usize::MAX),
            write_rate_per_minute: u32::try_from(positive(
                self.write_rate_per_minute.map(u64::from),
                "write-rate",
                u64::from(DEFAULT_WRITE_RATE_PER_MINUTE),
            )?)
            .unwrap_or(u32::MAX),
            log_format: self.log_format.unwrap_or_default(),
            index_expiry_seconds: self
                .index_expiry_seconds
                .unwrap_or(DEFAULT_INDEX_EXPIRY_SECONDS),
            max_report_bytes: usize::try_from(positive(
                self.max_report_bytes.map(|bytes| bytes as u64),
                "max-report-size",
                crate::api::reports::DEFAULT_MAX_REPORT_BYTES as u64,
            )?)
            .unwrap_or(usize::MAX),
            report_retention_days: u32::try_from(positive(
                self.report_retention_days.map(u64::from),
                "report-retention",
                u64::from(crate::api::reports::DEFAULT_REPORT_RETENTION_DAYS),
            )?)
            .unwrap_or(u32::MAX),
        })
    }
}

/// Reads a configuration file (see `parse_config`).
pub fn read_config_file(path: &Path) -> Result<PartialSettings, String> {
    let bytes = threatpack::workspace::read_capped(path, MAX_CONFIG_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("the configuration file `{}` is not UTF-8", path.display()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    parse_config(&text, &path.display().to_string(), base)
}

/// Parses a configuration file: top-level `data` (a path, relative to `base`, the file's
/// directory, so that the file means the same from any working directory), `listen` (an
/// address) and `max-bundle-bytes`. Every problem is reported at once, each with its line;
/// `file` names the file in them.
pub fn parse_config(text: &str, file: &str, base: &Path) -> Result<PartialSettings, String> {
    let (root, syntax_errors) = threatpack::document::parse(text);
    let mut problems: Vec<Problem> = syntax_errors
        .into_iter()
        .map(|error| Problem {
            offset: error.span.start,
            message: error.message.trim().to_string(),
            help: None,
        })
        .collect();
    let mut settings = PartialSettings::default();
    if problems.is_empty()
        && let NodeValue::Table(entries) = &root.value
    {
        for entry in entries {
            let value = &entry.value;
            let result = match entry.key.as_str() {
                "data" => config_path(value).map(|path| settings.data = Some(base.join(path))),
                "listen" => config_address(value).map(|address| settings.listen = Some(address)),
                "max-bundle-bytes" => {
                    config_size(value).map(|bytes| settings.max_bundle_bytes = Some(bytes))
                }
                "header-timeout" => config_number(value, "header-timeout", "10")
                    .map(|seconds| settings.header_timeout_seconds = Some(seconds)),
                "body-timeout" => config_number(value, "body-timeout", "30")
                    .map(|seconds| settings.body_timeout_seconds = Some(seconds)),
                "max-connections" => config_number(value, "max-connections", "1024")
                    .map(|count| settings.max_connections = usize::try_from(count).ok()),
                "write-rate" => config_number(value, "write-rate", "120").and_then(|rate| {
                    let rate = u32::try_from(rate).map_err(|_| {
                        Problem::at(value, format!("`write-rate = {rate}` is too large"))
                    })?;
                    settings.write_rate_per_minute = Some(rate);
                    Ok(())
                }),
                "log-format" => {
                    config_log_format(value).map(|format| settings.log_format = Some(format))
                }
                "max-report-size" => {
                    config_size(value).map(|bytes| settings.max_report_bytes = Some(bytes))
                }
                "report-retention" => {
                    config_number(value, "report-retention", "730").and_then(|days| {
                        let days = u32::try_from(days).map_err(|_| {
                            Problem::at(value, format!("`report-retention = {days}` is too large"))
                        })?;
                        settings.report_retention_days = Some(days);
                        Ok(())
                    })
                }
                "index-expiry" => parse_index_expiry(value.as_str().unwrap_or_default())
                    .map(|seconds| settings.index_expiry_seconds = Some(seconds))
                    .map_err(|error| Problem::at(value, error)),
                unknown => Err(Problem {
                    offset: entry.key_span.start,
                    message: format!("unknown key `{unknown}`"),
                    help: Some(match suggest(unknown, KEYS) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "the keys are {}",
                            KEYS.map(|key| format!("`{key}`")).join(", ")
                        ),
                    }),
                }),
            };
            problems.extend(result.err());
        }
    }
    if problems.is_empty() {
        return Ok(settings);
    }
    problems.sort_by_key(|problem| problem.offset);
    let line = |problem: &Problem| line_column(text, problem.offset).line;
    let rendered = if let [problem] = &problems[..] {
        format!("`{file}` line {}: {}", line(problem), problem.render("  "))
    } else {
        let mut rendered = format!("`{file}` has {} problems:", problems.len());
        for problem in &problems {
            rendered.push_str(&format!(
                "\n  line {}: {}",
                line(problem),
                problem.render("    ")
            ));
        }
        rendered
    };
    Err(rendered)
}

/// A problem of a configuration file, at a byte offset.
struct Problem {
    offset: usize,
    message: String,
    help: Option<String>,
}

impl Problem {
    fn at(node: &Node, message: String) -> Problem {
        Problem {
            offset: node.span.start,
            message,
            help: None,
        }
    }

    fn render(&self, indent: &str) -> String {
        match &self.help {
            Some(help) => format!("{}\n{indent}help: {help}", self.message),
            None => self.message.clone(),
        }
    }
}

fn config_path(value: &Node) -> Result<PathBuf, Problem> {
    match &value.value {
        NodeValue::String(text) if !text.is_empty() => Ok(PathBuf::from(text)),
        _ => Err(Problem::at(
            value,
            "`data` must be a directory path, e.g. `data = \"/var/lib/threatpack-registry\"`"
                .to_string(),
        )),
    }
}

fn config_address(value: &Node) -> Result<SocketAddr, Problem> {
    let text = value.as_str().ok_or_else(|| {
        Problem::at(
            value,
            "`listen` must be an address in quotes, e.g. `listen = \"127.0.0.1:8080\"`".to_string(),
        )
    })?;
    text.parse().map_err(|error| {
        Problem::at(
            value,
            format!(
                "`listen = \"{text}\"` is not an address ({error}): give an IP address and a port, e.g. `127.0.0.1:8080`"
            ),
        )
    })
}

fn config_size(value: &Node) -> Result<usize, Problem> {
    match &value.value {
        NodeValue::Integer(number) if *number > 0 => usize::try_from(*number)
            .map_err(|_| Problem::at(value, format!("`max-bundle-bytes = {number}` is too large"))),
        _ => Err(Problem::at(
            value,
            "`max-bundle-bytes` must be a positive number of bytes, e.g. `max-bundle-bytes = 67108864` (64 MiB)"
                .to_string(),
        )),
    }
}

fn config_log_format(value: &Node) -> Result<LogFormat, Problem> {
    match value.as_str() {
        Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        _ => Err(Problem::at(
            value,
            "`log-format` must be \"text\" or \"json\"".to_string(),
        )),
    }
}

/// An index expiry: a positive number and a unit, `s`, `m`, `h` or `d` (`1d`, `12h`, `90s`), at
/// most 366 days.
pub fn parse_index_expiry(text: &str) -> Result<i64, String> {
    let invalid = || {
        format!(
            "`index-expiry = \"{text}\"` is not a duration: give a number and a unit, e.g. \"1d\", \"12h\", \"30m\" or \"90s\", at most \"366d\""
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let unit_seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(unit_seconds)
        .filter(|seconds| (1..=MAX_INDEX_EXPIRY_SECONDS).contains(seconds))
        .ok_or_else(invalid)
}

/// A positive whole number for `key` (seconds or a count); `example` shows one.
fn config_number(value: &Node, key: &str, example: &str) -> Result<u64, Problem> {
    match &value.value {
        NodeValue::Integer(number) if *number > 0 => u64::try_from(*number)
            .map_err(|_| Problem::at(value, format!("`{key} = {number}` is too large"))),
        _ => Err(Problem::at(
            value,
            format!("`{key}` must be a positive whole number, e.g. `{key} = {example}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PartialSettings, String> {
        parse_config(text, "registry.toml", Path::new("/etc/threatpack"))
    }

    #[test]
    fn the_default_address_is_the_clients_default_registry() {
        assert_eq!(
            format!("http://{DEFAULT_LISTEN}"),
            threatpack::wire::DEFAULT_REGISTRY
        );
    }

    #[test]
    fn every_key_is_read_and_a_relative_data_path_is_relative_to_the_file() {
        let settings =
            parse("data = \"registry-data\"\nlisten = \"0.0.0.0:8080\"\nmax-bundle-bytes = 1024\nheader-timeout = 5\nbody-timeout = 6\nmax-connections = 7\nwrite-rate = 8\nlog-format = \"json\"\nindex-expiry = \"2h\"\nmax-report-size = 2048\nreport-retention = 30\n")
                .expect("a valid file");
        assert_eq!(
            settings,
            PartialSettings {
                data: Some(PathBuf::from("/etc/threatpack/registry-data")),
                listen: Some("0.0.0.0:8080".parse().expect("an address")),
                max_bundle_bytes: Some(1024),
                header_timeout_seconds: Some(5),
                body_timeout_seconds: Some(6),
                max_connections: Some(7),
                write_rate_per_minute: Some(8),
                log_format: Some(LogFormat::Json),
                index_expiry_seconds: Some(7200),
                max_report_bytes: Some(2048),
                report_retention_days: Some(30),
            }
        );
        let absolute = parse("data = \"/srv/registry\"\n").expect("a valid file");
        assert_eq!(absolute.data, Some(PathBuf::from("/srv/registry")));
        assert_eq!(
            parse("").expect("an empty file"),
            PartialSettings::default()
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key_with_a_suggestion() {
        let error = parse("data = \"d\"\n\nmax-bundle-byte = 10\n").expect_err("unknown key");
        assert_eq!(
            error,
            "`registry.toml` line 3: unknown key `max-bundle-byte`\n  help: did you mean `max-bundle-bytes`?"
        );
        let error = parse("[server]\nport = 1\n").expect_err("unknown table");
        assert_eq!(
            error,
            "`registry.toml` line 1: unknown key `server`\n  help: the keys are `data`, `listen`, `max-bundle-bytes`, `header-timeout`, `body-timeout`, `max-connections`, `write-rate`, `log-format`, `index-expiry`, `max-report-size`, `report-retention`"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let error =
            parse("lisen = \"127.0.0.1:1\"\nmax-bundle-bytes = -1\nlisten = \"localhost\"\n")
                .expect_err("three problems");
        assert!(
            error.starts_with("`registry.toml` has 3 problems:\n  line 1: unknown key `lisen`\n    help: did you mean `listen`?\n  line 2: `max-bundle-bytes` must be a positive number"),
            "{error}"
        );
        assert!(
            error.contains("\n  line 3: `listen = \"localhost\"` is not an address"),
            "{error}"
        );
    }

    #[test]
    fn syntax_errors_and_wrong_types_have_lines() {
        let error = parse("data = \"d\"\nlisten = \n").expect_err("a syntax error");
        assert!(error.starts_with("`registry.toml` line 2: "), "{error}");
        let error = parse("data = 3\n").expect_err("a number for a path");
        assert!(
            error.starts_with("`registry.toml` line 1: `data` must be a directory path"),
            "{error}"
        );
        let error = parse("data = \"a\"\ndata = \"b\"\n").expect_err("a duplicate key");
        assert!(error.starts_with("`registry.toml` line 2: "), "{error}");
    }

    #[test]
    fn a_higher_source_wins_key_by_key_and_defaults_fill_the_rest() {
        let flags = PartialSettings {
            max_bundle_bytes: Some(3),
            ..PartialSettings::default()
        };
        let file = PartialSettings {
            data: Some(PathBuf::from("from-file")),
            max_bundle_bytes: Some(1),
            ..PartialSettings::default()
        };
        let settings = flags.or(file).resolve().expect("settings");
        assert_eq!(
            settings,
            ServerSettings {
                data: PathBuf::from("from-file"),
                listen: DEFAULT_LISTEN,
                max_bundle_bytes: 3,
                header_timeout_seconds: DEFAULT_HEADER_TIMEOUT_SECONDS,
                body_timeout_seconds: DEFAULT_BODY_TIMEOUT_SECONDS,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                write_rate_per_minute: DEFAULT_WRITE_RATE_PER_MINUTE,
                log_format: LogFormat::Text,
                index_expiry_seconds: DEFAULT_INDEX_EXPIRY_SECONDS,
                max_report_bytes: crate::api::reports::DEFAULT_MAX_REPORT_BYTES,
                report_retention_days: crate::api::reports::DEFAULT_REPORT_RETENTION_DAYS,
            }
        );
        let error = PartialSettings::default()
            .resolve()
            .expect_err("no data directory");
        assert!(
            error.contains("--data DIR") && error.contains(DATA_ENV),
            "{error}"
        );
    }
}
