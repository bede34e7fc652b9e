//! The workspace's crates are the layers of ARCHITECTURE.md. Cargo refuses a
//! cycle, but not an arrow that skips upward or sideways; this test does, by
//! reading every Cargo.toml. A new crate must be given its place here first.
use std::collections::BTreeSet;
use std::path::Path;

/// Each crate and the workspace crates it may depend on (normal, build and dev
/// dependencies alike). Lower layers come first.
const ALLOWED: &[(&str, &[&str])] = &[
    ("progress", &[]),
    ("columnar", &[]),
    ("text", &[]),
    ("etl", &["progress"]),
    ("decode", &["etl", "text"]),
    ("symbols", &["etl"]),
    ("query", &["columnar"]),
    ("render", &["columnar", "text"]),
    ("model", &["progress", "etl", "decode", "symbols", "columnar"]),
    ("demo", &["etl", "decode", "symbols"]),
    ("session", &["progress", "text", "etl", "decode", "symbols", "columnar", "query", "model", "render", "demo"]),
];

/// The binary at the top: its front ends see the session and the renderer only.
/// (Its tests and benches may use any crate: they check each layer directly.)
const BINARY_ALLOWED: &[&str] = &["session", "render"];

/// The workspace crates a manifest's sections name, by section: the crate
/// name after `etwq-` in `package = "etwq-..."`.
fn workspace_dependencies(manifest: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        if let Some(at) = line.find("package = \"etwq-") {
            let rest = &line[at + "package = \"etwq-".len()..];
            let name = rest.split('"').next().unwrap_or_default();
            found.push((section.clone(), name.to_string()));
        }
    }
    found
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut crates_seen = BTreeSet::new();
    let mut violations = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"etwq-{name}\"")), "crates/{name} must be the package etwq-{name}");
        let Some((_, allowed)) = ALLOWED.iter().find(|(crate_name, _)| *crate_name == name) else {
            panic!(
                "crates/{name} has no place in the layers: add it to ALLOWED in tests/layers.rs and to ARCHITECTURE.md"
            );
        };
        for (section, dependency) in workspace_dependencies(&manifest) {
            if !allowed.contains(&dependency.as_str()) {
                violations.push(format!("crates/{name} [{section}] depends on {dependency}"));
            }
        }
        crates_seen.insert(name);
    }
    let listed: BTreeSet<String> = ALLOWED.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(crates_seen, listed, "ALLOWED lists exactly the crates under crates/");

    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for (section, dependency) in workspace_dependencies(&manifest) {
        let checked =
            section == "dependencies" || section.ends_with(".dependencies") || section == "build-dependencies";
        if checked && !BINARY_ALLOWED.contains(&dependency.as_str()) {
            violations.push(format!("the etwq binary [{section}] depends on {dependency}"));
        }
    }
    assert!(violations.is_empty(), "arrows against the layers:\n{}", violations.join("\n"));
}

#[test]
fn the_allowed_arrows_point_only_downward() {
    // A crate may only name crates listed before it: the table itself has no cycle.
    for (index, (name, allowed)) in ALLOWED.iter().enumerate() {
        for dependency in *allowed {
            let position = ALLOWED.iter().position(|(n, _)| n == dependency);
            assert!(position.is_some_and(|p| p < index), "{name} may depend on {dependency}, which is not below it");
        }
    }
}

#[test]
fn the_checker_sees_a_forbidden_arrow() {
    let manifest = "[package]\nname = \"etwq-query\"\n\n[dependencies]\nmodel = { package = \"etwq-model\", path = \"../model\" }\n\n[dev-dependencies]\netl = { package = \"etwq-etl\", path = \"../etl\" }\n";
    assert_eq!(
        workspace_dependencies(manifest),
        vec![("dependencies".to_string(), "model".to_string()), ("dev-dependencies".to_string(), "etl".to_string())]
    );
}
