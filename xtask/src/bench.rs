//! `cargo xtask bench-build`: clean-build cost of a one-vendor program, measured in the
//! same run on the same machine against two baselines: the same program written with
//! bare reqwest + serde + tokio (same TLS), and with the official `fastly-api` crate.
//!
//! Each throw-away program under `target/bench-build/` lists the user's Fastly tokens.
//! `fastly-tokens` and the bare program are built with each rustls flavour (aws-lc-rs,
//! reqwest's own and our default, and ring). Dependencies are fetched first so the network is not timed;
//! each build then starts from an empty target directory.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const OURS_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = fastly_tokens::Client::builder().token("key").build().expect("client");
    if std::env::args().count() > 1 {
        let _ = client.list_tokens_user().send().await;
    }
}
"#;

const BARE_MAIN: &str = r#"#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Token {
    id: String,
    name: Option<String>,
    scope: Option<String>,
    expires_at: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    PROVIDER
    let client = reqwest::Client::builder().build().expect("client");
    if std::env::args().count() > 1 {
        let answer = client.get("https://api.fastly.com/tokens").header("fastly-key", "key").send().await;
        if let Ok(answer) = answer {
            let _ = answer.json::<Vec<Token>>().await;
        }
    }
}
"#;

const FASTLY_API_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
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

/// One program to build: its dependencies and its `main.rs`.
struct Program {
    name: &'static str,
    dependencies: String,
    main: String,
}

pub fn run(root: &Path) -> Result<(), String> {
    let dir = root.join("target/bench-build");
    let ours = |features: &str| {
        format!(
            "fastly-tokens = {{ path = {:?}, default-features = false, features = [{features:?}] }}",
            root.join("crates/fastly-tokens").display().to_string()
        )
    };
    let bare = |tls: &str| {
        format!(
            "reqwest = {{ version = \"0.13\", default-features = false, features = [\"json\", {tls:?}] }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\""
        )
    };
    let ring_provider = "let _ = rustls::crypto::ring::default_provider().install_default();";
    let programs = [
        Program {
            name: "fastly-tokens (default: rustls, aws-lc-rs)",
            dependencies: ours("rustls"),
            main: OURS_MAIN.to_owned(),
        },
        Program {
            name: "bare reqwest + serde + tokio (rustls, aws-lc-rs)",
            dependencies: bare("rustls"),
            main: BARE_MAIN.replace("PROVIDER", ""),
        },
        Program {
            name: "fastly-tokens (rustls-ring)",
            dependencies: ours("rustls-ring"),
            main: OURS_MAIN.to_owned(),
        },
        Program {
            name: "bare reqwest + serde + tokio (rustls, ring)",
            dependencies: format!(
                "{}\nrustls = {{ version = \"0.23\", default-features = false, features = [\"std\", \"tls12\", \"ring\"] }}",
                bare("rustls-no-provider")
            ),
            main: BARE_MAIN.replace("PROVIDER", ring_provider),
        },
        Program {
            name: "fastly-api 15.0.0 (its default TLS)",
            dependencies: "fastly-api = \"=15.0.0\"".to_owned(),
            main: FASTLY_API_MAIN.to_owned(),
        },
    ];
    let mut measured = Vec::new();
    for (index, program) in programs.iter().enumerate() {
        eprintln!("building {} …", program.name);
        let m = measure(&dir.join(format!("p{index}")), &program.dependencies, &program.main)?;
        measured.push((program.name, m));
    }
    println!("clean debug build, same machine, same run:");
    println!("| program | wall time | crates compiled | binary |");
    println!("|---|---|---|---|");
    for (name, m) in &measured {
        println!(
            "| {name} | {:.1} s | {} | {:.1} MiB |",
            m.seconds,
            m.crates,
            m.binary_bytes as f64 / 1048576.0
        );
    }
    let ratio = |a: &Measure, b: &Measure, label: &str| {
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} |",
            a.seconds / b.seconds,
            a.crates as f64 / b.crates as f64,
            a.binary_bytes as f64 / b.binary_bytes as f64
        );
    };
    let m = |i: usize| &measured[i].1;
    ratio(
        m(0),
        m(1),
        "ratio fastly-tokens / bare reqwest (aws-lc-rs, the default)",
    );
    ratio(m(2), m(3), "ratio fastly-tokens / bare reqwest (ring)");
    ratio(m(0), m(4), "ratio fastly-tokens (default) / fastly-api");
    ratio(m(2), m(0), "ratio ring / aws-lc-rs (fastly-tokens)");
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
