//! What the registry commands share: the registry URL, the stored tokens, a small HTTP/1.1
//! client over `std::net` (plain `http://` only: enough for a registry on loopback or behind a
//! TLS-terminating proxy on the same host), and the API's error envelope.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// The registry used when neither `--registry` nor `THREATPACK_REGISTRY` says otherwise.
pub const DEFAULT_REGISTRY: &str = "http://127.0.0.1:8080";
pub const REGISTRY_ENV: &str = "THREATPACK_REGISTRY";
pub const TOKEN_ENV: &str = "THREATPACK_TOKEN";
pub const CONFIG_DIR_ENV: &str = "THREATPACK_CONFIG_DIR";

/// The largest response read (bundles are not downloaded by these commands).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// The registry (default: `THREATPACK_REGISTRY`, else http://127.0.0.1:8080)
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
}

impl RegistryArgs {
    /// The registry URL, without a trailing `/` or `/api/v1`.
    pub fn url(&self) -> Result<String, String> {
        let url = match &self.registry {
            Some(url) => url.clone(),
            None => std::env::var(REGISTRY_ENV).unwrap_or_else(|_| DEFAULT_REGISTRY.to_string()),
        };
        let url = url.trim().trim_end_matches('/');
        let url = url.strip_suffix("/api/v1").unwrap_or(url).to_string();
        if !url.starts_with("http://") {
            return Err(format!(
                "registry `{url}`: only `http://` URLs are supported so far (put a TLS-terminating proxy on the same host, or reach the registry over loopback)"
            ));
        }
        Ok(url)
    }
}

/// The configuration directory: `THREATPACK_CONFIG_DIR`, else `$XDG_CONFIG_HOME/threatpack`,
/// else `~/.config/threatpack`.
pub fn config_dir() -> Result<PathBuf, String> {
    if let Some(directory) = std::env::var_os(CONFIG_DIR_ENV).filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(directory));
    }
    if let Some(directory) = std::env::var_os("XDG_CONFIG_HOME").filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(directory).join("threatpack"));
    }
    match std::env::var_os("HOME").filter(|value| !value.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config/threatpack")),
        None => Err(format!(
            "cannot find the configuration directory: set {CONFIG_DIR_ENV}, XDG_CONFIG_HOME or HOME"
        )),
    }
}

pub fn credentials_path() -> Result<PathBuf, String> {
    Ok(config_dir()?.join("credentials.toml"))
}

/// The stored credentials: `[registries."URL"] token = "..."`.
pub fn read_credentials() -> Result<toml::Table, String> {
    let path = credentials_path()?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(toml::Table::new());
        }
        Err(error) => return Err(format!("cannot read `{}`: {error}", path.display())),
    };
    let text =
        String::from_utf8(bytes).map_err(|_| format!("`{}` is not UTF-8", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|error| format!("`{}` is not valid TOML: {error}", path.display()))
}

/// The token for `registry`: `THREATPACK_TOKEN`, else the one `threatpack login` stored.
pub fn token(registry: &str) -> Result<String, String> {
    if let Ok(token) = std::env::var(TOKEN_ENV)
        && !token.trim().is_empty()
    {
        return Ok(token.trim().to_string());
    }
    let credentials = read_credentials()?;
    credentials
        .get("registries")
        .and_then(|registries| registries.get(registry))
        .and_then(|entry| entry.get("token"))
        .and_then(|token| token.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "no token for {registry}: run `threatpack login --registry {registry}`, or set {TOKEN_ENV}"
            )
        })
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|error| {
            format!(
                "the registry answered {} with a body that is not JSON: {error}",
                self.status
            )
        })
    }

    /// The `detail` of the error envelope, or the body as text.
    pub fn detail(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| body["errors"][0]["detail"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&self.body);
                let text = text.trim();
                if text.is_empty() {
                    format!("status {}", self.status)
                } else {
                    text.chars().take(500).collect()
                }
            })
    }
}

pub struct Request<'a> {
    pub method: &'a str,
    /// The path under `/api/v1`, with its query.
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<(&'a str, &'a [u8])>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Request<'a> {
        Request {
            method,
            path,
            token: None,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// Sends one request (one connection, `Connection: close`) and reads the whole answer.
pub fn send(registry: &str, request: &Request) -> Result<Response, String> {
    let rest = registry.strip_prefix("http://").unwrap_or(registry);
    let (authority, prefix) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    let address = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let unreachable =
        |error: std::io::Error| format!("cannot reach the registry {registry}: {error}");
    let mut stream = TcpStream::connect(&address).map_err(unreachable)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(120)));
    let mut head = format!(
        "{} {prefix}/api/v1{} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: threatpack/{}\r\nAccept: application/json\r\nConnection: close\r\n",
        request.method,
        request.path,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(token) = request.token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = request.body.map_or(&[][..], |(_, body)| body);
    if let Some((content_type, _)) = request.body {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(unreachable)?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .map_err(unreachable)?;
    parse_response(&raw).ok_or_else(|| format!("the registry {registry} sent a malformed answer"))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().ok()?);
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = length {
        rest.get(..length)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Response { status, body })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|window| window == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Percent-encodes a query value or path segment.
pub fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `namespace/name`, checked enough to build a URL from it.
pub fn split_pack(name: &str) -> Result<(&str, &str), String> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    match name.split_once('/') {
        Some((namespace, pack)) if valid(namespace) && valid(pack) => Ok((namespace, pack)),
        _ => Err(format!(
            "`{name}` is not a pack name: expected `namespace/name`, e.g. `acme/web`"
        )),
    }
}

/// `namespace/name@version`.
pub fn split_pack_version(text: &str) -> Result<(&str, &str), String> {
    let Some((name, version)) = text.rsplit_once('@') else {
        return Err(format!(
            "`{text}`: expected `namespace/name@version`, e.g. `acme/web@1.2.0`"
        ));
    };
    split_pack(name)?;
    semver::Version::parse(version)
        .map_err(|error| format!("`{version}` is not a version: {error}"))?;
    Ok((name, version))
}

/// The message for an error status that means the same for every command.
pub fn common_error(registry: &str, response: &Response, needs: &str) -> String {
    let detail = response.detail();
    match response.status {
        401 => format!(
            "the registry refused the token ({detail}): run `threatpack login --registry {registry}` with a valid token, or set {TOKEN_ENV}"
        ),
        403 => format!(
            "the token may not do this ({detail}): ask the registry's administrator for a token with {needs}"
        ),
        status => format!("the registry answered {status}: {detail}"),
    }
}
