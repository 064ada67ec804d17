//! What the fleet tests need beyond the fakes: a real Redis (the one `cargo xtask test`
//! started, or one of a test's own that it can stop and start again), a fake vendor
//! served over loopback HTTP so that worker processes can reach it, and the worker
//! processes themselves (this test binary, spawned again).

use std::net::{Ipv4Addr, TcpListener as StdListener, TcpStream as StdStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::fakes::Fake;

/// The command that sets up what the fleet tests need.
pub const TEST_COMMAND: &str = "cargo xtask test";

/// The URL of the Redis `cargo xtask test` started.
///
/// # Panics
///
/// Without one, naming the command to use: the fleet tests never skip.
pub fn redis_url() -> String {
    std::env::var("API_TOKENS_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "the fleet tests need a real Redis: run the tests with `{TEST_COMMAND}` (it installs and starts one), or set API_TOKENS_REDIS_URL"
        )
    })
}

/// A key prefix no other test uses, so that tests share one Redis without meeting.
pub fn unique_prefix(test: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}-{test}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Every key under `prefix` and its value, as Redis holds them.
pub async fn dump(url: &str, prefix: &str) -> Vec<(String, String)> {
    let client = redis::Client::open(url).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    let mut out = Vec::new();
    for key in keys {
        let value: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("GET");
        out.push((key, value.unwrap_or_default()));
    }
    out
}

/// Asserts that nothing under `prefix` shows any of `needles` (secrets, user names,
/// hosts) in clear, nor in base64.
pub async fn assert_nothing_readable(url: &str, prefix: &str, needles: &[&str]) {
    use base64::Engine;
    let entries = dump(url, prefix).await;
    for (key, value) in &entries {
        for needle in needles {
            let encoded = [
                base64::engine::general_purpose::STANDARD.encode(needle),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(needle),
            ];
            for form in std::iter::once(needle.to_string()).chain(encoded) {
                let form = form.trim_end_matches('=');
                assert!(
                    !key.contains(form) && !value.contains(form),
                    "Redis shows {needle:?} under {key}"
                );
            }
        }
    }
}

/// A Redis server of a test's own, on a free loopback port, persistence off: to stop
/// and start again in the middle of a test. Stopped by its process id when dropped.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port, the same after a restart.
    pub port: u16,
    /// More `redis-server` arguments (ACL users).
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one, with the `redis-server` that `cargo xtask test` found or installed.
    ///
    /// # Panics
    ///
    /// Without one, naming the command to use.
    pub fn start() -> Self {
        RedisServer::start_with(&[])
    }

    /// Starts one with more `redis-server` arguments (`--user ...`).
    pub fn start_with(extra: &[&str]) -> Self {
        let port = StdListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let extra = extra.iter().map(|a| (*a).to_owned()).collect();
        let mut server = RedisServer {
            child: None,
            port,
            extra,
        };
        server.restart();
        server
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again (empty, as a restarted Redis without persistence is).
    pub fn restart(&mut self) {
        let binary = std::env::var("API_TOKENS_REDIS_SERVER").unwrap_or_else(|_| {
            panic!("this fleet test starts a Redis of its own: run the tests with `{TEST_COMMAND}`, which installs redis-server")
        });
        let child = Command::new(binary)
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(&self.extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while StdStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it (SIGKILL to its process id).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fake vendor served over HTTP/1.1 on loopback, for clients in other processes.
pub struct HttpFake {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `fake` on a free loopback port, on the current tokio runtime.
pub async fn serve<F: Fake>(fake: Arc<F>) -> HttpFake {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move {
                let _ = connection(stream, fake, port).await;
            });
        }
    });
    HttpFake {
        url: format!("http://127.0.0.1:{port}"),
        task,
    }
}

/// Answers the requests of one connection, one after the other (keep-alive).
async fn connection<F: Fake>(stream: tokio::net::TcpStream, fake: Arc<F>, port: u16) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}{target}")).expect("url");
        let mut request = reqwest::Request::new(method, url);
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            read.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                }
                if let (Ok(name), Ok(value)) = (
                    reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                    reqwest::header::HeaderValue::from_str(value),
                ) {
                    request.headers_mut().append(name, value);
                }
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await?;
        *request.body_mut() = Some(body.into());
        let delay = fake.delay(&request);
        let response = fake.answer(&request);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            response.status().as_u16(),
            response.status().canonical_reason().unwrap_or("")
        );
        for (name, value) in response.headers() {
            if name != reqwest::header::CONTENT_LENGTH {
                head.push_str(&format!("{}: {}\r\n", name, value.to_str().unwrap_or("")));
            }
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", response.body().len()));
        write.write_all(head.as_bytes()).await?;
        write.write_all(response.body()).await?;
        write.flush().await?;
    }
}

/// A fake whose first `slow` requests are answered after `delay`.
pub struct SlowAtFirst<F> {
    /// The fake answering.
    pub inner: Arc<F>,
    /// How many requests are slow.
    pub slow: u64,
    /// How slow.
    pub delay: Duration,
    seen: AtomicU64,
    held: std::sync::Mutex<Vec<String>>,
}

impl<F> SlowAtFirst<F> {
    /// `inner`, its first `slow` requests answered after `delay`.
    pub fn new(inner: Arc<F>, slow: u64, delay: Duration) -> Self {
        SlowAtFirst {
            inner,
            slow,
            delay,
            seen: AtomicU64::new(0),
            held: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The `User-Agent` of each request held (answered after `delay`), as they came.
    pub fn held(&self) -> Vec<String> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl<F: Fake> Fake for SlowAtFirst<F> {
    fn answer(&self, request: &reqwest::Request) -> http::Response<Vec<u8>> {
        self.inner.answer(request)
    }

    fn delay(&self, request: &reqwest::Request) -> Duration {
        if self.seen.fetch_add(1, Ordering::SeqCst) < self.slow {
            let agent = request
                .headers()
                .get(reqwest::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            self.held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(agent);
            self.delay
        } else {
            self.inner.delay(request)
        }
    }
}

/// One worker process's settings, passed in its environment.
#[derive(Clone, Debug)]
pub struct Worker {
    /// The fake vendor's URL.
    pub vendor_url: String,
    /// The Redis URL.
    pub redis_url: String,
    /// The key prefix.
    pub prefix: String,
    /// The encryption key's 32 bytes, in base64.
    pub key: String,
    /// How long the worker calls `token()` in a loop.
    pub run: Duration,
    /// The shared lock's time to live.
    pub lock_ttl: Duration,
}

/// What a worker reports when its loop ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `token()` calls that gave a token.
    pub ok: u64,
    /// `token()` calls that failed.
    pub failed: u64,
}

/// The variables a worker reads.
const VARS: [&str; 6] = [
    "FLEET_VENDOR_URL",
    "FLEET_REDIS_URL",
    "FLEET_PREFIX",
    "FLEET_KEY",
    "FLEET_RUN_MS",
    "FLEET_LOCK_TTL_MS",
];

impl Worker {
    /// The settings in this process's environment, if it is a worker.
    pub fn from_env() -> Option<Worker> {
        let var = |name: &str| std::env::var(name).ok();
        let ms = |name: &str| var(name).and_then(|v| v.parse().ok()).map(Duration::from_millis);
        Some(Worker {
            vendor_url: var(VARS[0])?,
            redis_url: var(VARS[1])?,
            prefix: var(VARS[2])?,
            key: var(VARS[3])?,
            run: ms(VARS[4])?,
            lock_ttl: ms(VARS[5])?,
        })
    }

    /// Starts this test binary again as a worker (the ignored test `name`).
    pub fn spawn(&self, name: &str) -> WorkerProcess {
        let exe = std::env::current_exe().expect("the test binary");
        let values = [
            self.vendor_url.clone(),
            self.redis_url.clone(),
            self.prefix.clone(),
            self.key.clone(),
            self.run.as_millis().to_string(),
            self.lock_ttl.as_millis().to_string(),
        ];
        let mut command = Command::new(exe);
        command
            .args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1", "-q"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (var, value) in VARS.iter().zip(values) {
            command.env(var, value);
        }
        WorkerProcess {
            child: Some(command.spawn().expect("a worker process")),
        }
    }
}

/// A worker process.
pub struct WorkerProcess {
    child: Option<Child>,
}

impl WorkerProcess {
    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills it with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for its report (`None` if it died, or was killed, without one).
    pub fn report(mut self) -> Option<Report> {
        let output = self.child.take()?.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.lines().find(|l| l.starts_with("FLEET-REPORT "))?;
        let mut report = Report::default();
        for field in line.split_whitespace().skip(1) {
            match field.split_once('=') {
                Some(("ok", n)) => report.ok = n.parse().ok()?,
                Some(("failed", n)) => report.failed = n.parse().ok()?,
                _ => {}
            }
        }
        Some(report)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
