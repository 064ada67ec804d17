//! `cargo xtask bench-build`: clean-build cost of `fastly-tokens` against the official
//! `fastly-api` crate, measured in the same run on the same machine.
//!
//! Two throw-away programs under `target/bench-build/` list the user's tokens, one with
//! each crate, on the same tokio. Dependencies are fetched first so the network is not
//! timed; each build then starts from an empty target directory.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const BASELINE: &str = "fastly-api = \"=15.0.0\"";

const OURS_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = fastly_tokens::Client::builder().token("key").build().expect("client");
    if std::env::args().count() > 1 {
        let _ = client.list_tokens_user().send().await;
    }
}
"#;

const BASELINE_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut configuration = fastly_api::apis::configuration::Configuration::default();
    if std::env::args().count() > 1 {
        let _ = fastly_api::apis::tokens_api::list_tokens_user(&mut configuration).await;
    }
}
"#;

struct Measure {
    seconds: f64,
    crates: usize,
    binary_bytes: u64,
}

pub fn run(root: &Path) -> Result<(), String> {
    let dir = root.join("target/bench-build");
    let ours_dep = format!(
        "fastly-tokens = {{ path = {:?} }}",
        root.join("crates/fastly-tokens").display().to_string()
    );
    let ours = measure(&dir.join("ours"), &ours_dep, OURS_MAIN)?;
    let baseline = measure(&dir.join("fastly-api"), BASELINE, BASELINE_MAIN)?;
    println!("clean debug build, same machine, same run:");
    println!("| crate | wall time | crates compiled | binary |");
    println!("|---|---|---|---|");
    for (name, m) in [("fastly-tokens", &ours), ("fastly-api 15.0.0", &baseline)] {
        println!(
            "| {name} | {:.1} s | {} | {:.1} MiB |",
            m.seconds,
            m.crates,
            m.binary_bytes as f64 / 1048576.0
        );
    }
    println!(
        "| ratio (ours / fastly-api) | {:.2} | {:.2} | {:.2} |",
        ours.seconds / baseline.seconds,
        ours.crates as f64 / baseline.crates as f64,
        ours.binary_bytes as f64 / baseline.binary_bytes as f64
    );
    Ok(())
}

fn measure(dir: &Path, dependency: &str, main: &str) -> Result<Measure, String> {
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let manifest = format!(
        "[package]\nname = \"bench\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\n{dependency}\ntokio = {{ version = \"1\", features = [\"macros\", \"rt\"] }}\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("src/main.rs"), main).map_err(|e| e.to_string())?;
    let target = dir.join("target");
    let _ = std::fs::remove_dir_all(&target);
    cargo(dir, &["fetch"])?;
    let start = Instant::now();
    let output = cargo(dir, &["build", "--offline"])?;
    let seconds = start.elapsed().as_secs_f64();
    let crates = output
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count();
    let binary_bytes = std::fs::metadata(target.join("debug/bench"))
        .map_err(|e| e.to_string())?
        .len();
    Ok(Measure {
        seconds,
        crates,
        binary_bytes,
    })
}

fn cargo(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .map_err(|e| format!("cargo {}: {e}", args.join(" ")))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(format!(
            "cargo {} in {} failed:\n{stderr}",
            args.join(" "),
            dir.display()
        ));
    }
    Ok(stderr)
}
