//! The code's shape, read from the sources (no emulator): no module of any
//! crate imports one that imports it back, directly or around a circle, so
//! each crate's modules read bottom-up. A module naming its own ancestor
//! (`super::`, the crate root) is how Rust nests and does not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` the root.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a use tree starting at `text` names: `a::b`, and for
/// `a::{b, c::{d, e}}` each of `a::b`, `a::c::d` and `a::c::e` (an import
/// in braces names its module as surely as one on its own line).
fn use_paths(text: &str) -> Vec<String> {
    let path: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let rest = &text[path.len()..];
    if !(path.is_empty() || path.ends_with("::")) || !rest.starts_with('{') {
        return vec![path];
    }
    let mut depth = 0;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let inner = &rest[1..end];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .flat_map(|i| use_paths(i).into_iter().map(|p| format!("{path}{p}")))
        .collect()
}

/// The modules `file` names through `crate::` and `super::` paths, outside
/// comments, braced imports included: each path's longest prefix that is
/// a module.
fn references(modules: &BTreeSet<Module>, module: &Module, file: &Path) -> BTreeSet<Module> {
    let text: String = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", {
            let mut parent = module.clone();
            parent.pop();
            parent
        }),
    ] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(prefix) {
            for path in use_paths(&rest[at + prefix.len()..]) {
                let mut parts = base.clone();
                parts.extend(
                    path.split("::")
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                );
                while !parts.is_empty() && !modules.contains(&parts) {
                    parts.pop();
                }
                // A module naming itself or one of its ancestors is nesting.
                if !parts.is_empty() && !module.starts_with(&parts) {
                    found.insert(parts);
                }
            }
            rest = &rest[at + prefix.len()..];
        }
    }
    found
}

#[test]
fn braced_imports_name_each_module_inside_them() {
    assert_eq!(
        use_paths("{exposure, release::{self, Release}, a as b};"),
        ["exposure", "release::self", "release::Release", "a"]
    );
    assert_eq!(use_paths("release::failed;"), ["release::failed"]);
}

/// A circle of modules through `from`, if there is one.
fn circle(graph: &BTreeMap<Module, BTreeSet<Module>>, from: &Module) -> Option<Vec<Module>> {
    fn walk(
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        target: &Module,
        at: &Module,
        path: &mut Vec<Module>,
        seen: &mut BTreeSet<Module>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == target {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, target, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.clone()];
    walk(graph, from, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![("paysec".to_owned(), root.join("src"))];
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        sources.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path().join("src"),
        ));
    }
    let mut circles = Vec::new();
    for (krate, src) in sources {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<Module, PathBuf> = files
            .iter()
            .map(|f| (module_of(&src, f), f.clone()))
            .collect();
        let names: BTreeSet<Module> = modules.keys().cloned().collect();
        let graph: BTreeMap<Module, BTreeSet<Module>> = modules
            .iter()
            .map(|(m, f)| (m.clone(), references(&names, m, f)))
            .collect();
        assert!(
            graph.len() > 1 || krate == "paysec",
            "{krate}: no modules read"
        );
        for m in graph.keys() {
            if let Some(path) = circle(&graph, m) {
                circles.push(format!(
                    "{krate}: {} -> back",
                    path.iter()
                        .map(|p| p.join("::"))
                        .collect::<Vec<_>>()
                        .join(" -> ")
                ));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn a_circle_is_found_and_nesting_is_not_one() {
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let nested: Module = vec!["a".into(), "inner".into()];
    let graph: BTreeMap<Module, BTreeSet<Module>> = [
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
        (nested.clone(), BTreeSet::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(circle(&graph, &a), Some(vec![a.clone(), b.clone()]));
    assert_eq!(circle(&graph, &nested), None);
}
