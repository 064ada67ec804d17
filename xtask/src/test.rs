//! `cargo xtask test [ARGS…]`: every test, with what the tests need set up first. The
//! fleet tests need a real Redis: this installs `redis-server` from Debian's packages
//! when it is missing (or says the one command that does, without the rights to),
//! starts it on a free loopback port with persistence off, runs `cargo test --workspace
//! ARGS…` against it, and stops it by its process id, whatever the tests did.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's package holding `redis-server`.
const PACKAGE: &str = "redis-server";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let server = redis_server()?;
    let mut redis = Redis::start(&server)?;
    println!(
        "xtask test: {} on 127.0.0.1:{} (pid {}), persistence off",
        server.display(),
        redis.port,
        redis.pid()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root)
        .args(["test", "--workspace"])
        .args(args)
        .env("API_TOKENS_REDIS_URL", format!("redis://127.0.0.1:{}", redis.port))
        .env("API_TOKENS_REDIS_SERVER", &server)
        .status();
    redis.stop();
    let status = status.map_err(|e| format!("cargo test could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed ({status})"))
    }
}

/// The `redis-server` binary: on the `PATH`, or installed now.
fn redis_server() -> Result<PathBuf, String> {
    if let Some(found) = on_path("redis-server") {
        return Ok(found);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let install = format!("apt-get install -y --no-install-recommends {PACKAGE}");
    if !root || on_path("apt-get").is_none() {
        return Err(format!(
            "the fleet tests need redis-server, which is not installed; install it with\n    sudo {install}\nand run `cargo xtask test` again"
        ));
    }
    println!("xtask test: installing {PACKAGE} from Debian's packages");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let args = ["install", "-y", "-q", "--no-install-recommends", PACKAGE];
    // A fresh machine's package lists may be missing or stale: update, then try again.
    let installed = apt(&args) || (apt(&["update", "-q"]) && apt(&args));
    if !installed {
        return Err(format!("installing {PACKAGE} failed; try `{install}` yourself"));
    }
    on_path("redis-server").ok_or_else(|| format!("{PACKAGE} is installed but redis-server is not on the PATH"))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A Redis server of this run's own, stopped by its process id.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(server: &Path) -> Result<Redis, String> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let child = Command::new(server)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            // No persistence: nothing written to disk, nothing read back at start.
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &std::env::temp_dir().to_string_lossy(),
            ])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("{} could not start: {e}", server.display()))?;
        let mut redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() > deadline || redis.child.try_wait().ok().flatten().is_some() {
                redis.stop();
                return Err(format!("redis-server did not listen on 127.0.0.1:{port} within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        // `Child::kill` signals this process id, and only it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
