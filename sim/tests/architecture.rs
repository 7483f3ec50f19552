//! Architecture invariants of ARCHITECTURE.md checked on the source text, in the spirit of a
//! tidy test: "output files are written by one function, `output::write_atomic`".

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The code of a file that is not test code: a `tests.rs` file is a test module, and a file's
/// `#[cfg(test)]` module comes last.
fn non_test_code(path: &Path) -> String {
    if path
        .file_name()
        .is_some_and(|n| n == "tests.rs" || n == "testkit.rs")
    {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// (file relative to the repository, line) of every `needle` in the non-test code under `dir`.
fn uses(dir: &str, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(&root().join(dir)) {
        for (i, line) in non_test_code(&file).lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(needle) {
                let relative = file.strip_prefix(root()).unwrap().display().to_string();
                found.push(format!("{relative}:{}", i + 1));
            }
        }
    }
    found
}

#[test]
fn sim_writes_files_through_its_one_atomic_writer() {
    for needle in ["fs::write(", "fs::rename(", "File::create("] {
        let found = uses("sim/src", needle);
        assert!(
            found
                .iter()
                .all(|at| at.starts_with("sim/src/output/set.rs:")),
            "`{needle}` outside output/set.rs (use output::write_atomic): {found:?}"
        );
    }
    // xtask writes results through sim's writer too: no rename of its own.
    assert_eq!(uses("xtask/src", "rename("), Vec::<String>::new());
    // The check itself can fail: the writer is where it is said to be.
    assert_eq!(uses("sim/src", "fs::rename(").len(), 1);
}
