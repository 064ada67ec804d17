//! Adding a vendor is a checklist that cannot go stale: for every spec in `specs/`, each
//! place a vendor crate must be known in is checked here, and a missing one fails,
//! naming the place. What can be derived from `specs/` is not listed anywhere (`.ci/run`
//! reads the crate list from `crates/*/Cargo.toml`). `specs/README.md` ("Adding a
//! vendor") lists the same places for a person.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap_or_default()
}

/// The places crate `name` (`<vendor>-tokens`) must be known in, each with whether it
/// is.
fn places(root: &Path, name: &str) -> Vec<(String, bool)> {
    let vendor = name.trim_end_matches("-tokens");
    let snake = name.replace('-', "_");
    let exists = |file: &str| root.join(file).is_file();
    let has = |file: &str, text: &str| read(root, file).contains(text);
    let facade = "crates/api-tokens/Cargo.toml";
    vec![
        (
            format!("crates/{name}/Cargo.toml"),
            exists(&format!("crates/{name}/Cargo.toml")),
        ),
        (
            format!("crates/{name}/README.md"),
            exists(&format!("crates/{name}/README.md")),
        ),
        (
            format!("crates/{name}/src/generated.rs (cargo xtask codegen)"),
            exists(&format!("crates/{name}/src/generated.rs")),
        ),
        (
            format!("crates/{name}/src/lib.rs: `mod generated;`"),
            has(&format!("crates/{name}/src/lib.rs"), "mod generated;"),
        ),
        (
            format!("Cargo.toml [workspace.dependencies]: `{name} = {{ path = \"crates/{name}\"`"),
            has("Cargo.toml", &format!("{name} = {{ path = \"crates/{name}\"")),
        ),
        (
            format!("{facade}: feature `{vendor} = [\"dep:{name}\"]`"),
            has(facade, &format!("{vendor} = [\"dep:{name}\"]")),
        ),
        (format!("{facade}: `\"{vendor}\"` in feature `full`"), {
            let text = read(root, facade);
            text.lines()
                .find(|l| l.starts_with("full = "))
                .is_some_and(|l| l.contains(&format!("\"{vendor}\"")))
        }),
        (
            format!("{facade}: `\"{name}?/middleware\"`"),
            has(facade, &format!("\"{name}?/middleware\"")),
        ),
        (
            format!("{facade}: `\"{name}?/test-util\"`"),
            has(facade, &format!("\"{name}?/test-util\"")),
        ),
        (
            format!("{facade}: `{name} = {{ workspace = true, optional = true }}`"),
            has(facade, &format!("{name} = {{ workspace = true, optional = true }}")),
        ),
        (
            format!("crates/api-tokens/src/lib.rs: `pub use {snake} as {vendor};`"),
            has("crates/api-tokens/src/lib.rs", &format!("pub use {snake} as {vendor};")),
        ),
        (
            format!("tests/Cargo.toml: `{name} = {{ workspace = true`"),
            has("tests/Cargo.toml", &format!("{name} = {{ workspace = true")),
        ),
        (
            format!("tests/{vendor}.rs (the wire tests)"),
            exists(&format!("tests/{vendor}.rs")),
        ),
        (
            format!("tests/all.rs: `mod {vendor};`"),
            has("tests/all.rs", &format!("mod {vendor};")),
        ),
        (
            format!("tests/arguments.rs: `(\"{vendor}\", &{snake}::wire::API)`"),
            has("tests/arguments.rs", &format!("(\"{vendor}\", &{snake}::wire::API)")),
        ),
        (
            format!("tests/support/calls.rs: its operations (`{snake}::`)"),
            has("tests/support/calls.rs", &format!("{snake}::")),
        ),
        (
            format!("crates/api-tokens/examples/tour/{vendor}.rs (its tour)"),
            exists(&format!("crates/api-tokens/examples/tour/{vendor}.rs")),
        ),
        (
            format!("crates/api-tokens/examples/tour/main.rs: `mod {vendor};`"),
            has("crates/api-tokens/examples/tour/main.rs", &format!("mod {vendor};")),
        ),
    ]
}

fn specs(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("specs"))
        .expect("specs/")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".yaml").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_spec_has_every_place_a_vendor_crate_needs() {
    let root = root();
    let names = specs(&root);
    assert_eq!(names.len(), 5, "{names:?}");
    let missing: Vec<String> = names
        .iter()
        .flat_map(|name| {
            places(&root, name)
                .into_iter()
                .filter(|(_, present)| !present)
                .map(move |(place, _)| format!("specs/{name}.yaml: missing {place}"))
        })
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn a_spec_without_its_crate_misses_every_place_by_name() {
    let places = places(&root(), "newvendor-tokens");
    assert!(places.iter().all(|(_, present)| !present), "{places:?}");
    assert!(
        places
            .iter()
            .any(|(place, _)| place == "tests/newvendor.rs (the wire tests)")
    );
    assert_eq!(places.len(), 18);
}
