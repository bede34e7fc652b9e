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
    ("export", &["columnar", "text"]),
    ("model", &["progress", "etl", "decode", "symbols", "columnar"]),
    ("demo", &["etl", "decode", "symbols"]),
    ("session", &["progress", "text", "etl", "decode", "symbols", "columnar", "query", "model", "render", "demo"]),
];

/// The binary at the top: its front ends see the session, the renderer and the exporter only.
/// (Its tests and benches may use any crate: they check each layer directly.)
const BINARY_ALLOWED: &[&str] = &["session", "render", "export"];

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

/// Inside a crate the same rule holds between its top-level modules: two
/// modules that import each other are one concept split in two, or a type
/// living in the wrong place. Test code (`#[cfg(test)]` onward) is left out.
#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources: Vec<std::path::PathBuf> = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        sources.push(entry.unwrap().path().join("src"));
    }
    let mut loops = Vec::new();
    for src in sources {
        let graph = module_graph(&src);
        for cycle in cycles(&graph) {
            loops.push(format!("{}: {}", src.strip_prefix(root).unwrap().display(), cycle.join(" <-> ")));
        }
    }
    assert!(loops.is_empty(), "modules that import each other:\n{}", loops.join("\n"));
}

#[test]
fn the_module_checker_sees_imports_and_loops() {
    let top = "use super::a::X;\nuse crate::{b::{Y, Z}, c};\n// use crate::f;\n#[cfg(test)]\nuse crate::e;";
    assert_eq!(referenced_modules(top, &["m".into()]), BTreeSet::from(["a", "b", "c"].map(String::from)));
    // In m/n.rs, `super` is m itself: only crate:: and super::super reach other modules.
    let nested = "use super::a::X;\nuse crate::{b::{Y, Z}, c};\nfn f() { super::super::d::g(); }";
    assert_eq!(
        referenced_modules(nested, &["m".into(), "n".into()]),
        BTreeSet::from(["b", "c", "d"].map(String::from))
    );
    let graph = std::collections::BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(cycles(&graph), vec![vec!["a".to_string(), "b".to_string()]]);
}

type ModuleGraph = std::collections::BTreeMap<String, BTreeSet<String>>;

/// Each top-level module of a crate and the other top-level modules its files name.
fn module_graph(src: &Path) -> ModuleGraph {
    let mut graph = ModuleGraph::new();
    let mut files = Vec::new();
    collect_rust_files(src, &mut files);
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        let mut path: Vec<String> =
            relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
        if path.last().is_some_and(|last| last == "mod") {
            path.pop();
        }
        // The crate roots: lib.rs, main.rs (a crate of its own) and bin targets.
        if path.is_empty() || path == ["lib"] || path == ["main"] || path[0] == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let names = referenced_modules(&text, &path);
        graph.entry(path[0].clone()).or_default().extend(names);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for (module, names) in graph.iter_mut() {
        names.retain(|name| name != module && modules.contains(name));
    }
    graph
}

fn collect_rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules that a file at module `path` names through `crate::`
/// or enough `super::`s to reach the crate root, in `use` lists and in code.
fn referenced_modules(text: &str, path: &[String]) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let code: String = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(offset) = code[at..].find(['c', 's']) {
        let start = at + offset;
        at = start + 1;
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &code[start..];
        let (depth, tail) = if let Some(tail) = rest.strip_prefix("crate::") {
            (path.len(), tail)
        } else if rest.starts_with("super::") {
            let mut tail = rest;
            let mut supers = 0;
            while let Some(t) = tail.strip_prefix("super::") {
                tail = t;
                supers += 1;
            }
            (supers, tail)
        } else {
            continue;
        };
        // `super` from a top-level module is the crate root; deeper, it stays inside the module.
        if depth < path.len() {
            continue;
        }
        for name in first_segments(tail) {
            found.insert(name);
        }
    }
    found
}

/// `a::b` gives a; `{a::b, c, d::{e}}` gives a, c, d.
fn first_segments(tail: &str) -> Vec<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let Some(group) = tail.strip_prefix('{') else {
        return vec![ident(tail)];
    };
    let (mut names, mut depth, mut item_start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(ident(group[item_start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(group[item_start..i].trim_start()));
                item_start = i + 1;
            }
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// The groups of modules that reach each other (strongly connected, two or more).
fn cycles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    let reaches = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(module) = todo.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: std::collections::BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reaches(m))).collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        if groups.iter().any(|g| g.contains(module)) {
            continue;
        }
        let group: Vec<String> = graph
            .keys()
            .filter(|other| *other == module || (reach[module].contains(*other) && reach[*other].contains(module)))
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}
