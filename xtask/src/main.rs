//! `cargo xtask codegen [--check] [CRATE…]`: compiles every `specs/<crate>.yaml` into
//! `crates/<crate>/src/generated.rs` through progenitor, used as a library.
//! `cargo xtask bench-build`: clean-build cost against the official Fastly client.
//! `cargo xtask test [ARGS…]`: every test, with a Redis of its own for the fleet tests.
//!
//! Pipeline, one module a step (`spec` holds the lookups the first two share):
//! `lint` (the spec rules progenitor needs, as readable errors) → `lower` (vendor media
//! types, security, envelopes → a progenitor-ready spec plus runtime tables) → `emit` (progenitor; then `fixups`, the named list of changes
//! to its output; `tables`; `builder`) → write, or compare with `--check`.

mod bench;
mod builder;
mod emit;
mod fixups;
mod lint;
mod lower;
mod model;
mod spec;
mod tables;
mod test;
#[cfg(test)]
mod test_specs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo xtask codegen [--check] [CRATE...] | cargo xtask bench-build | cargo xtask test [CARGO TEST ARGS...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    match command.as_str() {
        "codegen" => {}
        "bench-build" => return bench::run(&workspace_root()?),
        "test" => return test::run(&workspace_root()?, rest),
        "-h" | "--help" | "help" => {
            println!(
                "{USAGE}\n\n  codegen          compile specs/<crate>.yaml into crates/<crate>/src/generated.rs\n  codegen --check  fail with a diff when a generated file is stale\n  bench-build      clean-build cost against bare reqwest and fastly-api\n  test [ARGS]      every test (`cargo test --workspace ARGS`), with redis-server installed\n                   if missing, started on a free loopback port and stopped after"
            );
            return Ok(());
        }
        _ => return Err(USAGE.to_owned()),
    }
    let check = rest.iter().any(|a| a == "--check");
    if let Some(flag) = rest.iter().find(|a| a.starts_with('-') && *a != "--check") {
        return Err(format!("unknown flag {flag}\n{USAGE}"));
    }
    let wanted: Vec<&String> = rest.iter().filter(|a| !a.starts_with('-')).collect();
    codegen(&workspace_root()?, &wanted, check)
}

/// Generates (or with `check`, compares) the code of the `wanted` specs, or of all,
/// in the checkout at `root`.
fn codegen(root: &Path, wanted: &[&String], check: bool) -> Result<(), String> {
    let specs = list_specs(root)?;
    if let Some(unknown) = wanted
        .iter()
        .find(|w| !specs.iter().any(|(name, _)| name == w.as_str()))
    {
        return Err(format!("no spec specs/{unknown}.yaml"));
    }
    let mut stale = Vec::new();
    for (name, path) in &specs {
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        let code = generate(name, path)?;
        let out = root.join("crates").join(name).join("src/generated.rs");
        if check {
            let current = std::fs::read_to_string(&out).unwrap_or_default();
            if current != code {
                let shown = out.strip_prefix(root).unwrap_or(&out);
                print_diff(shown, &current, &code);
                stale.push(shown.display().to_string());
            }
        } else {
            if !out.parent().is_some_and(Path::exists) {
                return Err(format!(
                    "crates/{name}/src does not exist: create the crate (Cargo.toml, src/lib.rs) first"
                ));
            }
            write_if_changed(&out, out.strip_prefix(root).unwrap_or(&out), &code)?;
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "generated code is out of date with specs/: {}\nrun `cargo xtask codegen`",
            stale.join(", ")
        ))
    }
}

fn generate(name: &str, path: &Path) -> Result<String, String> {
    let display = format!("specs/{name}.yaml");
    let text = std::fs::read_to_string(path).map_err(|e| format!("{display}: {e}"))?;
    let raw: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| format!("{display}: not YAML: {e}"))?;
    let unknown = lint::unknown_extensions(&raw);
    if !unknown.is_empty() {
        let lines: Vec<String> = unknown
            .iter()
            .map(|(at, key)| {
                format!(
                    "{display}: {at}: unknown extension `{key}` (known: {})",
                    lint::EXTENSIONS.join(", ")
                )
            })
            .collect();
        return Err(lines.join("\n"));
    }
    let dangling = lint::dangling_references(&raw);
    if !dangling.is_empty() {
        let lines: Vec<String> = dangling
            .iter()
            .map(|(owner, problem)| format!("{display}: {owner}: {problem}"))
            .collect();
        return Err(lines.join("\n"));
    }
    let spec: openapiv3::OpenAPI =
        serde_yaml::from_str(&text).map_err(|e| format!("{display}: not an OpenAPI 3.0 document: {e}"))?;
    lint::check(&spec).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(|p| format!("{display}: {p}")).collect();
        lines.join("\n")
    })?;
    let lowered = lower::lower(spec, name).map_err(|e| format!("{display}: {e}"))?;
    emit::emit(&lowered, &display).map_err(|e| format!("{display}: {e}"))
}

/// The checkout the command runs in, found at run time from the current directory: a
/// path baked in at build time would, with a `CARGO_TARGET_DIR` shared by two checkouts,
/// act on the other one.
fn workspace_root() -> Result<PathBuf, String> {
    let here = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    find_root(&here)
}

/// The nearest directory at or above `start` with a workspace `Cargo.toml` and `specs/`.
fn find_root(start: &Path) -> Result<PathBuf, String> {
    start
        .ancestors()
        .find(|dir| {
            dir.join("specs").is_dir()
                && std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "{} is not inside an api-tokens checkout (a workspace Cargo.toml beside specs/): run cargo xtask there",
                start.display()
            )
        })
}

/// `(crate name, path)` of every spec, sorted: the file name is the crate name.
fn list_specs(root: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let dir = root.join("specs");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut specs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "yaml")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            specs.push((stem.to_owned(), path));
        }
    }
    specs.sort();
    Ok(specs)
}

/// Writes `code` to `path` unless it is there already; `shown` is the path as printed.
fn write_if_changed(path: &Path, shown: &Path, code: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(code) {
        return Ok(());
    }
    std::fs::write(path, code).map_err(|e| format!("{}: {e}", shown.display()))?;
    println!("wrote {}", shown.display());
    Ok(())
}

fn print_diff(path: &Path, old: &str, new: &str) {
    let diff = similar::TextDiff::from_lines(old, new);
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("{} (committed)", path.display()), "(from spec)")
        .to_string();
    let lines: Vec<&str> = unified.lines().collect();
    for line in lines.iter().take(200) {
        eprintln!("{line}");
    }
    if lines.len() > 200 {
        eprintln!("... {} more diff lines", lines.len() - 200);
    }
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::test_specs::{OK_RESPONSE, problems, spec};

    #[test]
    fn a_fixup_that_no_longer_applies_fails_naming_itself() {
        // A `#fragment`, so that `drop_path_fragments` has something to do too.
        let yaml = spec(&format!("      operationId: op\n{OK_RESPONSE}"), "").replace("  /t:", "  /t#one:");
        let spec: openapiv3::OpenAPI = serde_yaml::from_str(&yaml).expect("yaml");
        let lowered = super::lower::lower(spec, "demo-tokens").expect("lower");
        // Output of a progenitor that changed shape: nothing any fix-up expects.
        let mut file: syn::File = syn::parse_quote!(
            pub struct Client;
        );
        let error = super::fixups::apply(&mut file, &lowered).expect_err("nothing to fix");
        assert!(
            error.starts_with("fix-up `hide_progenitor_error` no longer applies:"),
            "{error}"
        );
        // Each fix-up alone fails the same way on it.
        for fixup in super::fixups::FIXUPS {
            let mut file: syn::File = syn::parse_quote!(
                pub struct Client;
            );
            assert!(
                (fixup.apply)(&mut file, &lowered).is_err(),
                "{} accepted output it cannot fix",
                fixup.name
            );
        }
    }

    #[test]
    fn spec_errors_name_the_file_and_the_operation() {
        let dir = std::env::temp_dir().join(format!("xtask-named-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("demo-tokens.yaml");
        let bad = spec(
            "      operationId: makeThing\n      responses:\n        default: {description: d}",
            "",
        );
        std::fs::write(&path, bad).expect("spec");
        let error = super::generate("demo-tokens", &path).expect_err("refused");
        assert!(
            error.starts_with("specs/demo-tokens.yaml: operation makeThing: rule \"no default response\""),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_extension_the_xtask_reads_is_defined_in_the_specs_readme() {
        let root = super::find_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).expect("root");
        let readme = std::fs::read_to_string(root.join("specs/README.md")).expect("specs/README.md");
        for key in super::lint::EXTENSIONS {
            assert!(
                readme.contains(&format!("| `{key}` |")),
                "{key} has no row in specs/README.md's table"
            );
        }
    }

    #[test]
    fn help_succeeds_and_bad_usage_fails_with_the_usage() {
        assert_eq!(super::run(&["--help".to_owned()]), Ok(()));
        assert_eq!(super::run(&["help".to_owned()]), Ok(()));
        let bad = super::run(&["codegen".to_owned(), "--chek".to_owned()]).expect_err("unknown flag");
        assert!(bad.contains("unknown flag --chek") && bad.contains("usage:"), "{bad}");
        assert!(super::run(&[]).expect_err("no command").starts_with("usage:"));
    }

    #[test]
    fn check_names_stale_files_relative_to_the_checkout() {
        let root = std::env::temp_dir().join(format!("xtask-check-{}", std::process::id()));
        std::fs::create_dir_all(root.join("specs")).expect("specs");
        std::fs::create_dir_all(root.join("crates/demo-tokens/src")).expect("crate");
        let yaml = spec(&format!("      operationId: op\n{OK_RESPONSE}"), "");
        std::fs::write(root.join("specs/demo-tokens.yaml"), yaml).expect("spec");
        std::fs::write(root.join("crates/demo-tokens/src/generated.rs"), "// stale\n").expect("stale");
        let error = super::codegen(&root, &[], true).expect_err("stale");
        assert!(
            error.contains("out of date with specs/: crates/demo-tokens/src/generated.rs\n"),
            "{error}"
        );
        assert!(!error.contains(&root.display().to_string()), "{error}");
        super::codegen(&root, &[], false).expect("written");
        super::codegen(&root, &[], true).expect("now current");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_workspace_root_is_the_checkout_the_command_runs_in() {
        let base = std::env::temp_dir().join(format!("xtask-root-{}", std::process::id()));
        let (one, two) = (base.join("one"), base.join("two"));
        for checkout in [&one, &two] {
            std::fs::create_dir_all(checkout.join("specs")).expect("specs");
            std::fs::create_dir_all(checkout.join("crates/x/src")).expect("crates");
            std::fs::write(checkout.join("Cargo.toml"), "[workspace]\n").expect("manifest");
        }
        assert_eq!(super::find_root(&one.join("crates/x/src")).expect("root"), one);
        assert_eq!(super::find_root(&two).expect("root"), two);
        let outside = super::find_root(&base).expect_err("no checkout");
        assert!(outside.contains("not inside an api-tokens checkout"), "{outside}");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn generation_is_deterministic_and_marked() {
        let yaml = spec(
            &format!("      operationId: makeThing\n      security: [{{key: []}}]\n{OK_RESPONSE}"),
            "servers: [{url: 'https://api.example.com'}]",
        );
        let generate = || {
            let spec: openapiv3::OpenAPI = serde_yaml::from_str(&yaml).expect("yaml");
            let lowered = super::lower::lower(spec, "demo-tokens").expect("lower");
            super::emit::emit(&lowered, "specs/demo-tokens.yaml").expect("emit")
        };
        let first = generate();
        assert_eq!(first, generate());
        assert!(first.starts_with("// @generated by `cargo xtask codegen` from specs/demo-tokens.yaml. Do not edit"));
        assert!(first.contains("pub fn send(") && first.contains("async fn dispatch("));
        assert!(first.contains("security: &[&[\"key\"]]"));
        assert!(first.contains("Some(\"https://api.example.com\")"));
        // Every call sends through the runtime (credentials, retries, limits), never
        // through progenitor's hooks, and no silent fallback impl of them is left.
        assert!(
            first.contains("= ::api_tokens_runtime::hooks::send(")
                && first.contains("::api_tokens_runtime::hooks::decode(")
        );
        assert!(!first.contains("client.exec(") && !first.contains("ClientHooks<::api_tokens_runtime"));
        assert!(!first.contains("for &Client"));
    }
}
