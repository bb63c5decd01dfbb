//! A man-in-the-middle HTTP proxy on loopback, for the attacks of issue 14: it forwards each
//! request to the registry, records every index answer, and lets a test rewrite any answer
//! (swap, replay, strip, re-sign) or send endless data instead.
//!
//! One request per connection (`Connection: close`); the request goes upstream as HTTP/1.0 so
//! the registry answers with a length or closes, never in chunks, and the answer is read whole.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An HTTP answer as the proxy handles it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Names lower-cased; no `content-length`, `connection` or `transfer-encoding`.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: Option<String>) {
        self.headers.retain(|(key, _)| key != name);
        if let Some(value) = value {
            self.headers.push((name.to_string(), value));
        }
    }
}

/// What the proxy does to an answer: given the request path and the registry's answer.
pub type Rewrite = Box<dyn Fn(&str, Answer) -> Answer + Send>;

/// What the proxy does.
pub enum Attack {
    /// Forward untouched.
    None,
    /// Forward, then rewrite the answer.
    Rewrite(Rewrite),
    /// Answer GETs of paths starting with this prefix with an endless body (1 GiB announced).
    Endless(String),
}

pub struct Proxy {
    /// `http://ADDRESS`, the registry URL a client uses.
    pub url: String,
    upstream: Arc<Mutex<SocketAddr>>,
    attack: Arc<Mutex<Attack>>,
    recorded: Arc<Mutex<HashMap<String, Answer>>>,
}

impl Proxy {
    /// A proxy in front of the registry listening on `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let proxy = Proxy {
            url,
            upstream: Arc::new(Mutex::new(upstream)),
            attack: Arc::new(Mutex::new(Attack::None)),
            recorded: Arc::default(),
        };
        let (upstream, attack, recorded) = (
            proxy.upstream.clone(),
            proxy.attack.clone(),
            proxy.recorded.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (upstream, attack, recorded) =
                    (upstream.clone(), attack.clone(), recorded.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &upstream, &attack, &recorded);
                });
            }
        });
        proxy
    }

    pub fn attack(&self, attack: Attack) {
        *self.attack.lock().expect("the attack") = attack;
    }

    /// Points the proxy at a registry restarted elsewhere.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.upstream.lock().expect("the upstream") = upstream;
    }

    /// The last answer the registry gave to `GET path` through the proxy.
    pub fn recorded(&self, path: &str) -> Answer {
        self.recorded
            .lock()
            .expect("the recordings")
            .get(path)
            .cloned()
            .unwrap_or_else(|| panic!("no answer recorded for {path}"))
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &Mutex<SocketAddr>,
    attack: &Mutex<Attack>,
    recorded: &Mutex<HashMap<String, Answer>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (head, body) = read_request(&mut client)?;
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    if let Attack::Endless(prefix) = &*attack.lock().expect("the attack")
        && method == "GET"
        && path.starts_with(prefix.as_str())
    {
        client.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\nconnection: close\r\n\r\n[",
        )?;
        let chunk = vec![b' '; 64 * 1024];
        // Until the client hangs up; at most 64 MiB, so that a client that never stops reading
        // fails the test rather than the machine.
        for _ in 0..1024 {
            client.write_all(&chunk)?;
        }
        return Ok(());
    }
    let upstream_address = *upstream.lock().expect("the upstream");
    let mut server = TcpStream::connect(upstream_address)?;
    server.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut forwarded = format!("{method} {path} HTTP/1.0\r\n");
    for line in head.lines().skip(1).filter(|line| !line.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("\r\n");
    server.write_all(forwarded.as_bytes())?;
    server.write_all(&body)?;
    let mut raw = Vec::new();
    server.read_to_end(&mut raw)?;
    let mut answer = parse_answer(&raw);
    if method == "GET" && path.starts_with("/api/v1/packs/") {
        recorded
            .lock()
            .expect("the recordings")
            .insert(path.clone(), answer.clone());
    }
    if let Attack::Rewrite(rewrite) = &*attack.lock().expect("the attack") {
        answer = rewrite(&path, answer);
    }
    let mut out = format!("HTTP/1.1 {} X\r\n", answer.status);
    for (name, value) in &answer.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        answer.body.len()
    ));
    client.write_all(out.as_bytes())?;
    client.write_all(&answer.body)?;
    client.flush()
}

/// The request's head (text) and its body (by `Content-Length`).
fn read_request(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let split = loop {
        if let Some(position) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            break position;
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = data[split + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..read]);
    }
    Ok((head, body))
}

fn parse_answer(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(502);
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim().to_ascii_lowercase();
            let skip = matches!(
                name.as_str(),
                "content-length" | "connection" | "transfer-encoding"
            );
            (!skip).then(|| (name, value.trim().to_string()))
        })
        .collect();
    Answer {
        status,
        headers,
        body: raw.get(split + 4..).unwrap_or_default().to_vec(),
    }
}
