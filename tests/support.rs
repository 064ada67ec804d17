//! Helpers shared by the workspace tests.

pub mod calls;

use base64::Engine;

/// `Basic base64(user:password)`, as a server expects it.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Every way an error can be printed: `Display`, `{:#}`, `Debug`, `{:#?}` and the
/// whole `source()` chain.
pub fn all_renderings(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("{error}\n{error:#}\n{error:?}\n{error:#?}\n");
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    out
}

/// Fails when `haystack` holds `secret` or a long piece of it.
pub fn assert_no_secret(haystack: &str, secret: &str, context: &str) {
    assert!(!haystack.contains(secret), "{context}: secret leaked in:\n{haystack}");
    let window = 12.min(secret.len());
    for start in 0..=secret.len() - window {
        let piece = &secret[start..start + window];
        assert!(
            !haystack.contains(piece),
            "{context}: part `{piece}` of a secret leaked in:\n{haystack}"
        );
    }
}

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What [`RawServer`] answers.
#[derive(Clone)]
pub enum Reply {
    /// A fixed answer.
    Fixed {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// `body_template` with `ECHO` replaced by the whole request (head and body) as a
    /// JSON string's content: a server that repeats everything it was sent.
    Echo { status: u16, body_template: String },
    /// No answer at all, until the client gives up.
    Silent,
    /// A 2xx answer streaming `bytes` bytes of JSON-ish filler, without Content-Length.
    Huge { status: u16, bytes: usize },
    /// Closes the connection without answering.
    Close,
    /// A 302 to `location`.
    Redirect { location: String },
}

/// A loopback HTTP/1.1 server answering every request with the current [`Reply`]. It
/// does what httpmock cannot: hang, cut connections, stream huge bodies, echo requests.
pub struct RawServer {
    url: String,
    reply: Arc<Mutex<Reply>>,
    hits: Arc<AtomicUsize>,
}

impl RawServer {
    /// Starts a server on 127.0.0.1 answering `reply`.
    pub fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let reply = Arc::new(Mutex::new(reply));
        let hits = Arc::new(AtomicUsize::new(0));
        let (shared, counter) = (reply.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = shared.lock().map(|r| r.clone()).unwrap_or(Reply::Close);
                std::thread::spawn(move || serve(stream, reply));
            }
        });
        RawServer { url, reply, hits }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Changes the answer.
    pub fn set(&self, reply: Reply) {
        if let Ok(mut r) = self.reply.lock() {
            *r = reply;
        }
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A base URL where nothing listens.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    url
}

fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return data;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return data,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn serve(mut stream: TcpStream, reply: Reply) {
    if matches!(reply, Reply::Close) {
        return;
    }
    let request = read_request(&mut stream);
    let head = |status: u16, content_type: &str, length: Option<usize>| {
        let length = length.map(|l| format!("content-length: {l}\r\n")).unwrap_or_default();
        format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n{length}connection: close\r\n\r\n")
    };
    match reply {
        Reply::Fixed {
            status,
            content_type,
            body,
        } => {
            let _ = stream.write_all(head(status, &content_type, Some(body.len())).as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Echo { status, body_template } => {
            let echo = serde_json::to_string(&String::from_utf8_lossy(&request)).unwrap_or_default();
            let body = body_template.replace("ECHO", echo.trim_matches('"'));
            let _ = stream.write_all(head(status, "application/json", Some(body.len())).as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
        Reply::Silent => std::thread::sleep(Duration::from_secs(30)),
        Reply::Huge { status, bytes } => {
            let _ = stream.write_all(head(status, "application/json", None).as_bytes());
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < bytes && stream.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
        Reply::Close => {}
        Reply::Redirect { location } => {
            let head =
                format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
        }
    }
    let _ = stream.flush();
}
