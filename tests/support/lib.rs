//! Helpers shared by the workspace tests.

pub mod calls;
pub mod fakes;
pub mod fleet;

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

/// Fails when `haystack` holds `secret` or a 12-character piece of it, in any letter
/// case, percent-encoded, or inside base64 at any byte offset.
pub fn assert_no_secret(haystack: &str, secret: &str, context: &str) {
    assert_no_secrets(haystack, &[secret.to_owned()], context);
}

/// [`assert_no_secret`] for several secrets, decoding the haystack once.
pub fn assert_no_secrets(haystack: &str, secrets: &[String], context: &str) {
    let views = [
        ("as printed", haystack.to_lowercase()),
        ("percent-decoded", percent_decode(haystack).to_lowercase()),
        ("base64-decoded", base64_decode_runs(haystack).to_lowercase()),
    ];
    for secret in secrets {
        let secret = secret.to_lowercase();
        let window = 12.min(secret.len());
        for (view, text) in &views {
            for start in 0..=secret.len() - window {
                let Some(piece) = secret.get(start..start + window) else {
                    continue;
                };
                assert!(
                    !text.contains(piece),
                    "{context}: part `{piece}` of a secret leaked ({view}) in:\n{haystack}"
                );
            }
        }
    }
}

/// Every `%XX` turned back into its byte (either hex case), `+` into a space.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every run of 16 or more base64 characters (standard or URL-safe), decoded from each
/// of its first four characters, so that text encoded at any byte offset comes back.
fn base64_decode_runs(text: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_');
    let mut out = String::new();
    for run in text.split(|c: char| !is_b64(c)).filter(|r| r.len() >= 16) {
        let run: String = run
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        for offset in 0..4 {
            let usable = (run.len() - offset) / 4 * 4;
            if let Ok(bytes) = engine.decode(&run[offset..offset + usable]) {
                out.push_str(&String::from_utf8_lossy(&bytes));
                out.push('\n');
            }
        }
    }
    out
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
    /// Like `Echo`, with the request rewritten in `form` first: how a vendor message may
    /// repeat a secret other than as sent.
    EchoAs {
        status: u16,
        body_template: String,
        form: EchoForm,
    },
    /// No answer at all, until the client gives up.
    Silent,
    /// A 2xx answer streaming `bytes` bytes of JSON-ish filler, without Content-Length.
    Huge { status: u16, bytes: usize },
    /// `body` without Content-Length (its end is the connection's), in one write, or in
    /// two a moment apart (`split`): a body read chunk by chunk.
    Streamed { status: u16, body: Vec<u8>, split: bool },
    /// Closes the connection without answering.
    Close,
    /// A 302 to `location`.
    Redirect { location: String },
    /// A head announcing `length` bytes of body, and then nothing, until the client
    /// gives up.
    Announced { status: u16, length: usize },
    /// A head announcing `length` bytes, then `chunks`, each its own write a moment
    /// apart, then nothing, until the client gives up.
    Trickle {
        status: u16,
        length: u64,
        chunks: Vec<Vec<u8>>,
    },
}

/// How an echoing server rewrites the request before repeating it.
#[derive(Clone, Copy, Debug)]
pub enum EchoForm {
    /// In upper case.
    UpperCase,
    /// Percent-encoded as a form value, with lower-case hex digits (`%3d`).
    LowerHex,
    /// Base64 of the whole request, so each secret sits at some byte offset inside.
    Base64,
    /// Every word (run between spaces, `&`, `=`, `:` and line ends) cut to its first 13
    /// characters and masked, as in `'eyJhbGciOiJIU****'`.
    Truncated,
    /// The first run of six or more digits as a bare JSON number (a one-time code), in
    /// place of the quoted string `"ECHO"`.
    Number,
}

impl EchoForm {
    /// Every form.
    pub const ALL: [EchoForm; 5] = [
        EchoForm::UpperCase,
        EchoForm::LowerHex,
        EchoForm::Base64,
        EchoForm::Truncated,
        EchoForm::Number,
    ];

    /// The JSON text that replaces `"ECHO"` (quotes included) in a body template.
    fn render(self, request: &str) -> String {
        use base64::Engine;
        let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
        match self {
            EchoForm::UpperCase => quoted(&request.to_uppercase()),
            EchoForm::LowerHex => {
                let encoded: String = url::form_urlencoded::byte_serialize(request.as_bytes()).collect();
                let mut out = String::new();
                let mut hex_left = 0;
                for c in encoded.chars() {
                    if c == '%' {
                        hex_left = 2;
                        out.push(c);
                    } else if hex_left > 0 {
                        hex_left -= 1;
                        out.push(c.to_ascii_lowercase());
                    } else {
                        out.push(c);
                    }
                }
                quoted(&out)
            }
            EchoForm::Base64 => quoted(&base64::engine::general_purpose::STANDARD.encode(request)),
            EchoForm::Truncated => {
                let mut out = String::new();
                let mut word = String::new();
                for c in request.chars().chain(['\n']) {
                    if matches!(c, ' ' | '&' | '=' | ':' | '\r' | '\n') {
                        out.extend(word.chars().take(13));
                        if word.chars().count() > 13 {
                            out.push_str("****");
                        }
                        word.clear();
                        out.push(c);
                    } else {
                        word.push(c);
                    }
                }
                quoted(&out)
            }
            EchoForm::Number => {
                let digits = request
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|run| run.len() >= 6 && !run.starts_with('0'))
                    .unwrap_or("1");
                digits.to_owned()
            }
        }
    }
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

/// Asserts that each mock was hit exactly once. httpmock records no order between
/// mocks: a test that needs one makes its calls in that order and checks each result.
pub async fn assert_each_hit_once(mocks: &[&httpmock::Mock<'_>]) {
    for mock in mocks {
        mock.assert_async().await;
    }
}

/// A mock answering `status` with the JSON `body` to `method path`, whatever else the
/// request holds: for tests about the answer, not the request.
pub async fn answering<'a>(
    server: &'a httpmock::MockServer,
    method: httpmock::Method,
    path: &str,
    status: u16,
    body: serde_json::Value,
) -> httpmock::Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method(method).path(path);
            then.status(status).json_body(body);
        })
        .await
}

/// A catch-all mock answering `body` to anything: tests that prove a call fails before
/// sending assert it was never hit.
pub async fn answering_anything(server: &httpmock::MockServer, body: serde_json::Value) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(body);
        })
        .await
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
        Reply::EchoAs {
            status,
            body_template,
            form,
        } => {
            let json = form.render(&String::from_utf8_lossy(&request));
            let body = body_template.replace("\"ECHO\"", &json);
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
        Reply::Streamed { status, body, split } => {
            let _ = stream.write_all(head(status, "application/json", None).as_bytes());
            let _ = stream.flush();
            // In two pieces, a moment apart: the client reads two chunks.
            let (first, second) = body.split_at(if split { body.len() / 2 } else { body.len() });
            let _ = stream.write_all(first);
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(30));
            let _ = stream.write_all(second);
        }
        Reply::Close => {}
        Reply::Announced { status, length } => {
            let _ = stream.write_all(head(status, "application/json", Some(length)).as_bytes());
            let _ = stream.flush();
            std::thread::sleep(Duration::from_secs(30));
        }
        Reply::Trickle { status, length, chunks } => {
            let head = head(status, "application/json", None)
                .replace("\r\n\r\n", &format!("\r\ncontent-length: {length}\r\n\r\n"));
            let _ = stream.write_all(head.as_bytes());
            for chunk in chunks {
                let _ = stream.flush();
                std::thread::sleep(Duration::from_millis(50));
                let _ = stream.write_all(&chunk);
            }
            let _ = stream.flush();
            std::thread::sleep(Duration::from_secs(30));
        }
        Reply::Redirect { location } => {
            let head =
                format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
        }
    }
    let _ = stream.flush();
}

/// Everything `tracing` receives on this thread, at `TRACE`, as text: spans with their
/// fields, and events. Tests run on tokio's current-thread runtime, so spawned tasks (a
/// lifecycle's loads) report here too.
///
/// One subscriber is installed for the whole test binary, once: a subscriber set per
/// thread would race the process-wide cache of which call sites are enabled, and miss
/// events while other tests run. Only threads holding a capture are formatted at all.
pub struct TracingCapture {
    thread: std::thread::ThreadId,
}

type Buffers = std::sync::Mutex<std::collections::HashMap<std::thread::ThreadId, Vec<u8>>>;

fn buffers() -> &'static Buffers {
    static BUFFERS: std::sync::OnceLock<Buffers> = std::sync::OnceLock::new();
    BUFFERS.get_or_init(Default::default)
}

/// Starts capturing this thread's `tracing` output; stops when the capture is dropped.
pub fn capture_tracing() -> TracingCapture {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::Layer;
        use tracing_subscriber::layer::SubscriberExt;
        // Asked on every event (a `FilterFn` would cache its first answer per call site,
        // for every thread).
        let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
            buffers()
                .lock()
                .is_ok_and(|b| b.contains_key(&std::thread::current().id()))
        });
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(|| CaptureWriter)
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_filter(capturing);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    });
    let thread = std::thread::current().id();
    buffers().lock().expect("lock").insert(thread, Vec::new());
    TracingCapture { thread }
}

impl TracingCapture {
    /// What was captured so far.
    pub fn text(&self) -> String {
        let buffers = buffers().lock().expect("lock");
        String::from_utf8_lossy(buffers.get(&self.thread).map(Vec::as_slice).unwrap_or_default()).into_owned()
    }
}

impl Drop for TracingCapture {
    fn drop(&mut self) {
        if let Ok(mut buffers) = buffers().lock() {
            buffers.remove(&self.thread);
        }
    }
}

/// Writes into the buffer of the thread writing.
struct CaptureWriter;

impl std::io::Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(buffer) = buffers().lock().expect("lock").get_mut(&std::thread::current().id()) {
            buffer.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An answer with `status`, `media` type and `body`, dated `date` (every real server
/// sends `Date`, and the lifecycles read expiries on the server's terms from it).
pub fn dated_reply(
    status: u16,
    media: &str,
    body: impl Into<String>,
    date: std::time::SystemTime,
) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.into().into_bytes());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    let headers = response.headers_mut();
    headers.insert("content-type", media.parse().expect("media"));
    headers.insert("date", httpdate::fmt_http_date(date).parse().expect("date"));
    response
}

/// A JWT issued at `iat` and expiring at `exp` (a server's clock), numbered `n`; the
/// payload is all a client reads of it.
pub fn jwt_between(iat: std::time::SystemTime, exp: std::time::SystemTime, n: usize) -> String {
    use base64::Engine;
    let unix = |at: std::time::SystemTime| {
        at.duration_since(std::time::SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    };
    let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.sig{n}",
        encode(r#"{"alg":"HS256"}"#.to_owned()),
        encode(format!(r#"{{"sub":"u","iat":{},"exp":{}}}"#, unix(iat), unix(exp)))
    )
}
