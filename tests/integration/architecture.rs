//! The shape of the code, checked on its source: the layers of
//! `docs/architecture.md` (each top-level module uses only modules below
//! it), errors by layer (`anyhow` only in `main.rs` and `src/cli/`), and
//! functions short enough to read (at most [`MAX_FUNCTION_LINES`] lines
//! outside tests, no `too_many_arguments` allowance).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules, lowest first (`docs/architecture.md`).
const LAYERS: [&str; 15] = [
    "domain", "config", "metrics", "catalog", "fetch", "discover", "extract", "store", "detect",
    "notify", "pipeline", "console", "daemon", "demo", "cli",
];

/// The longest a function may be outside tests.
const MAX_FUNCTION_LINES: usize = 150;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to (`src/store/sqlite.rs` → `store`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The lines of a file that are code: comments dropped, and everything
/// from the first `#[cfg(test)]` on dropped (tests sit at the end of a file).
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
        .collect()
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut upward = Vec::new();
    for file in rust_files(&src()) {
        let module = module_of(&file);
        let Some(&own) = rank.get(module.as_str()) else {
            assert!(
                module == "lib" || module == "main",
                "{} is a top-level module missing from the layers of docs/architecture.md",
                module
            );
            continue;
        };
        let text = fs::read_to_string(&file).expect("read");
        for (n, line) in code_lines(&text) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if let Some(&theirs) = rank.get(used.as_str())
                    && theirs > own
                {
                    upward.push(format!("{}:{n}: {module} uses {used}", file.display()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "modules using a layer above them:\n{}",
        upward.join("\n")
    );
}

#[test]
fn anyhow_is_used_only_by_the_binary_and_the_cli() {
    let mut found = Vec::new();
    for file in rust_files(&src()) {
        let module = module_of(&file);
        if module == "main" || module == "cli" {
            continue;
        }
        let text = fs::read_to_string(&file).expect("read");
        for (n, line) in code_lines(&text) {
            if line.contains("anyhow") {
                found.push(format!("{}:{n}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "anyhow outside main.rs and src/cli/:\n{}",
        found.join("\n")
    );
}

#[test]
fn functions_are_short_and_take_few_arguments() {
    let mut long = Vec::new();
    for file in rust_files(&src()) {
        let text = fs::read_to_string(&file).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        let end = lines
            .iter()
            .position(|l| l.trim() == "#[cfg(test)]")
            .unwrap_or(lines.len());
        for (i, line) in lines[..end].iter().enumerate() {
            if line.contains("too_many_arguments") {
                long.push(format!(
                    "{}:{}: too many arguments allowed: group them into a struct",
                    file.display(),
                    i + 1
                ));
            }
            let trimmed = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p))
                || (trimmed.starts_with("pub(") && trimmed.contains(") fn "));
            if !is_fn {
                continue;
            }
            // The signature ends with the body's `{`, or with `;` for a
            // declaration without a body (in a trait).
            let declared = lines[i..end]
                .iter()
                .map(|l| l.trim_end())
                .find(|l| l.ends_with('{') || l.ends_with(';'));
            if declared.is_none_or(|l| l.ends_with(';')) {
                continue;
            }
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            let Some(len) = lines[i + 1..end].iter().position(|l| *l == close) else {
                continue;
            };
            if len + 2 > MAX_FUNCTION_LINES {
                long.push(format!("{}:{}: {} lines", file.display(), i + 1, len + 2));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines or with too many arguments:\n{}",
        long.join("\n")
    );
}
