//! Talking to a registry: one blocking HTTP client (reqwest, rustls with the `ring` provider)
//! with timeouts, a cap on what it reads, and retries with backoff for transient failures. A
//! write (any method but GET and HEAD) is never redirected to another host, nor turned into a
//! GET by a redirect: both are errors, never a success reported for a write that did not happen.

use std::io::Read;
use std::time::Duration;

/// The largest response body read. Bundles are capped far below this by the bundle reader.
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Attempts per request when the failure is transient (connection refused or reset, timeout,
/// 429, 502, 503, 504).
const ATTEMPTS: u32 = 4;
/// The first wait before a retry; each later one is four times longer (0.2 s, 0.8 s, 3.2 s).
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// A request to the registry's API.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path under `/api/v1`, with its query.
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub headers: Vec<(&'a str, String)>,
    /// Content type and bytes.
    pub body: Option<(&'a str, &'a [u8])>,
    /// The largest answer body accepted: a longer one is refused, not cut short.
    pub max_body_bytes: u64,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Request<'a> {
        Request {
            method,
            path,
            token: None,
            headers: Vec::new(),
            body: None,
            max_body_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

/// What the registry answered.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The `ETag` header, when there is one.
    pub etag: Option<String>,
    /// The `Threatpack-Index-Note` header (an index answer's signed envelope), when there is one.
    pub index_note: Option<Vec<u8>>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body read as the wire type `T` (`crate::wire`).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|error| {
            format!(
                "the registry answered {} with a body that is not what the API describes: {error}",
                self.status
            )
        })
    }

    /// The details of the API's error envelope, or the body as text; made visible
    /// (`render::visible`): whatever the server says may be printed.
    pub fn details(&self) -> Vec<String> {
        let details = match serde_json::from_slice::<crate::wire::ErrorEnvelope>(&self.body) {
            Ok(envelope) if !envelope.errors.is_empty() => envelope.details(),
            _ => {
                let text = String::from_utf8_lossy(&self.body);
                let text = text.trim();
                vec![if text.is_empty() {
                    format!("status {}", self.status)
                } else {
                    text.chars().take(500).collect()
                }]
            }
        };
        details
            .iter()
            .map(|detail| crate::render::visible(detail))
            .collect()
    }

    /// The details of the API's error envelope in one line.
    pub fn detail(&self) -> String {
        self.details().join("; ")
    }
}

/// A blocking client for one registry.
#[derive(Clone)]
pub struct Client {
    /// `scheme://host[:port][/prefix]`, without `/api/v1` or a trailing `/`.
    registry: String,
    /// For reads: redirects followed (what they fetch is verified anyway).
    http: reqwest::blocking::Client,
    /// For writes: only a redirect that keeps the method and the body (307, 308) to the same
    /// origin is followed.
    writes: reqwest::blocking::Client,
}

/// The most redirects a write follows (same origin, 307 or 308 only).
const MAX_WRITE_REDIRECTS: usize = 3;

fn write_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        let keeps_the_request = matches!(attempt.status().as_u16(), 307 | 308);
        if same_origin && keeps_the_request && attempt.previous().len() <= MAX_WRITE_REDIRECTS {
            return attempt.follow();
        }
        let error = format!(
            "the registry redirected a write ({}) to `{}`: a write is never sent elsewhere nor turned into a read, so nothing was changed; if the registry moved, use its new address as --registry",
            attempt.status(),
            crate::render::visible(attempt.url().as_str())
        );
        attempt.error(error)
    })
}

impl Client {
    /// A client for `registry` (`http://` or `https://`).
    pub fn new(registry: &str) -> Result<Client, String> {
        let registry = normalize_registry(registry)?;
        install_crypto_provider();
        let builder = || {
            reqwest::blocking::Client::builder()
                .user_agent(concat!("threatpack/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(300))
        };
        let failed = |error: reqwest::Error| format!("cannot set up the HTTP client: {error}");
        let http = builder().build().map_err(failed)?;
        let writes = builder()
            .redirect(write_redirects())
            .build()
            .map_err(failed)?;
        Ok(Client {
            registry,
            http,
            writes,
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Sends a request; transient failures of idempotent requests (GET, PUT, DELETE) are
    /// retried with backoff.
    pub fn send(&self, request: &Request) -> Result<Response, String> {
        let idempotent = matches!(request.method, "GET" | "HEAD" | "PUT" | "DELETE");
        let attempts = if idempotent { ATTEMPTS } else { 1 };
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let result = self.send_once(request);
            let transient = match &result {
                Ok(response) => matches!(response.status, 429 | 502 | 503 | 504),
                Err((_, transient)) => *transient,
            };
            if !transient || attempt >= attempts {
                return result.map_err(|(message, _)| message);
            }
            std::thread::sleep(backoff);
            backoff *= 4;
            attempt += 1;
        }
    }

    /// One attempt; an error says whether trying again could help.
    fn send_once(&self, request: &Request) -> Result<Response, (String, bool)> {
        let url = format!("{}/api/v1{}", self.registry, request.path);
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| (format!("`{}` is not an HTTP method", request.method), false))?;
        let client = if matches!(method, reqwest::Method::GET | reqwest::Method::HEAD) {
            &self.http
        } else {
            &self.writes
        };
        let mut builder = client
            .request(method, &url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = request.token {
            builder = builder.bearer_auth(token);
        }
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some((content_type, body)) = request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.to_vec());
        }
        let unreachable = |error: &dyn std::fmt::Display| {
            format!("cannot reach the registry {}: {error}", self.registry)
        };
        let response = builder.send().map_err(|error| {
            let transient = error.is_connect() || error.is_timeout() || error.is_request();
            let mut message = unreachable(&source_chain(&error));
            if error.is_connect() {
                message.push_str(
                    " (is it running? the registry is --registry, else THREATPACK_REGISTRY)",
                );
            }
            (message, transient)
        })?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let index_note = response
            .headers()
            .get(crate::wire::INDEX_NOTE_HEADER)
            .map(|value| value.as_bytes().to_vec());
        let mut body = Vec::new();
        response
            .take(request.max_body_bytes.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|error| (unreachable(&error), true))?;
        if body.len() as u64 > request.max_body_bytes {
            return Err((
                format!(
                    "the registry {} sent more than {} bytes for `{}`: refused without reading further (no answer of the API is that large: something between you and the registry is sending endless data)\n  help: retry, or from another network; report it to the registry's operator if it persists",
                    self.registry,
                    request.max_body_bytes,
                    crate::render::visible(request.path)
                ),
                false,
            ));
        }
        Ok(Response {
            status,
            etag,
            index_note,
            body,
        })
    }
}

/// Installs rustls's process-wide crypto provider (`ring`), which every reqwest client of the
/// process needs (reqwest is built without a default provider). Installing twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub use crate::wire::normalize_registry;

/// An error with its causes ("error sending request: connection refused").
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// A real HTTP peer on loopback that answers each connection with the next of `statuses`,
    /// and reports how many requests it saw.
    fn peer(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<usize>) {
        peer_with(statuses, None)
    }

    /// `peer`, with a `Location` header in every answer when `location` is given.
    fn peer_with(
        statuses: Vec<u16>,
        location: Option<String>,
    ) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let location = location
            .map(|location| format!("Location: {location}\r\n"))
            .unwrap_or_default();
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for status in statuses {
                let Ok((stream, _)) = listener.accept() else {
                    break;
                };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                // The request head ends with an empty line; these requests have no body.
                while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                    line.clear();
                }
                let body = format!("{{\"status\":{status}}}");
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                served += 1;
            }
            served
        });
        (url, handle)
    }

    #[test]
    fn transient_failures_of_a_get_are_retried_and_a_post_is_not() {
        let (url, handle) = peer(vec![503, 502, 200]);
        let client = Client::new(&url).expect("a client");
        let response = client
            .send(&Request::new("GET", "/health"))
            .expect("answered");
        assert_eq!(response.status, 200);
        assert_eq!(handle.join().expect("the peer"), 3);

        let (url, handle) = peer(vec![503]);
        let client = Client::new(&url).expect("a client");
        let response = client
            .send(&Request::new("POST", "/namespaces"))
            .expect("answered");
        assert_eq!(response.status, 503);
        assert_eq!(handle.join().expect("the peer"), 1);
    }

    #[test]
    fn a_write_redirected_to_another_host_or_into_a_read_fails_and_a_read_follows() {
        let (elsewhere, elsewhere_handle) = peer(vec![200]);
        for status in [307, 308, 301, 302, 303] {
            let (url, handle) =
                peer_with(vec![status], Some(format!("{elsewhere}/api/v1/namespaces")));
            let client = Client::new(&url).expect("a client");
            let mut request = Request::new("POST", "/namespaces");
            request.body = Some(("application/json", b"{}"));
            let error = client.send(&request).expect_err("refused");
            assert!(error.contains("redirected a write"), "{status}: {error}");
            assert_eq!(handle.join().expect("the peer"), 1);
        }
        // Into a read on the same host: a 303 would turn the write into a GET.
        let (url, handle) = peer_with(vec![303], Some("/api/v1/health".to_string()));
        let client = Client::new(&url).expect("a client");
        let error = client
            .send(&Request::new("DELETE", "/tokens/1"))
            .expect_err("refused");
        assert!(error.contains("redirected a write"), "{error}");
        assert_eq!(handle.join().expect("the peer"), 1);
        // A read follows; it is the only request the other host ever saw.
        let (url, handle) = peer_with(vec![302], Some(format!("{elsewhere}/api/v1/health")));
        let client = Client::new(&url).expect("a client");
        let response = client
            .send(&Request::new("GET", "/health"))
            .expect("answered");
        assert_eq!(response.status, 200);
        assert_eq!(handle.join().expect("the peer"), 1);
        assert_eq!(elsewhere_handle.join().expect("the other peer"), 1);
    }

    #[test]
    fn registry_urls_are_normalized_and_other_schemes_refused() {
        assert_eq!(
            normalize_registry("http://127.0.0.1:8080/api/v1/").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            normalize_registry(" https://registry.example/ ").as_deref(),
            Ok("https://registry.example")
        );
        assert!(normalize_registry("ftp://registry.example").is_err());
        assert!(normalize_registry("registry.example").is_err());
    }
}
