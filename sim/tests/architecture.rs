//! Architecture invariants of ARCHITECTURE.md checked on the source text, in the spirit of a
//! tidy test: "output files are written by one function, `output::write_atomic`".

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir` (or `dir` itself when it is a file), sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
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
    let test_module = [
        "#[cfg(test)]\nmod tests",
        "#[cfg(test)]\npub(crate) mod tests",
    ]
    .iter()
    .filter_map(|start| text.find(start))
    .min();
    match test_module {
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
    // The check itself can fail: the writer is where it is said to be (its rename, the
    // output set's, which moves staged files in, and `write_all_or_none`'s, man pages').
    assert_eq!(uses("sim/src", "fs::rename(").len(), 3);
}

/// `uses`, without the hits in the files or folders `allowed` (paths from the repository root;
/// a folder ends with `/`).
fn uses_outside(dir: &str, needle: &str, allowed: &[&str]) -> Vec<String> {
    uses(dir, needle)
        .into_iter()
        .filter(|at| {
            let file = at.rsplit_once(':').map_or(at.as_str(), |(file, _)| file);
            !allowed.iter().any(|a| {
                if a.ends_with('/') {
                    file.starts_with(a)
                } else {
                    file == *a
                }
            })
        })
        .collect()
}

#[test]
fn only_scenario_parses_input_and_only_the_writers_read_their_files_back() {
    // What a user writes (TOML, CSV, `--set`, `--grid`) is parsed in scenario/; the one other
    // reading is sim's own files read back by the code that writes them: a sweep's sweep.json,
    // runs.csv and run cache (sweep/output.rs), an output folder's manifest (output/set.rs).
    let readers = [
        "sim/src/scenario/",
        "sim/src/sweep/output.rs",
        "sim/src/output/set.rs",
    ];
    for needle in [
        "serde_json::from",
        "toml::from",
        "toml::de",
        "csv::Reader",
        "fs::read",
        "read_to_string(",
        "File::open(",
    ] {
        let found = uses_outside("sim/src", needle, &readers);
        assert!(
            found.is_empty(),
            "`{needle}` outside {readers:?}: {found:?}"
        );
    }
    // The check can fail: the readers are where they are said to be.
    assert!(!uses("sim/src/scenario", "toml::de").is_empty());
    assert!(!uses("sim/src/sweep/output.rs", "serde_json::from").is_empty());
}

#[test]
fn only_output_changes_the_file_system() {
    for needle in ["fs::create_dir", "fs::remove_", "set_permissions("] {
        let found = uses_outside("sim/src", needle, &["sim/src/output/"]);
        assert!(found.is_empty(), "`{needle}` outside output/: {found:?}");
    }
    assert!(!uses("sim/src/output", "fs::remove_file(").is_empty());
}

/// The `crate::` modules and external crates each folder may not name, on any line of its
/// non-test code (`use` lines and paths written in full alike).
#[test]
fn each_folder_uses_only_the_layers_below_it() {
    let forbidden: [(&str, &[&str]); 4] = [
        (
            "sim/src/engine",
            &[
                "crate::model",
                "crate::scenario",
                "crate::metrics",
                "crate::output",
                "crate::sweep",
                "serde",
                "std::fs",
            ],
        ),
        (
            // A run is a pure function of (scenario, seed, version): no files, clock,
            // environment, threads or hash-ordered iteration, and no serialisable state.
            "sim/src/model",
            &[
                "crate::output",
                "crate::sweep",
                "crate::commands",
                "crate::cli",
                "serde",
                "std::fs",
                "std::env",
                "std::time",
                "std::thread",
                "HashMap",
                "HashSet",
                "rayon",
            ],
        ),
        (
            "sim/src/metrics",
            &[
                "crate::model",
                "crate::output",
                "crate::sweep",
                "crate::commands",
                "std::fs",
            ],
        ),
        (
            "sim/src/scenario",
            &["crate::output", "crate::commands", "crate::cli"],
        ),
    ];
    for (dir, names) in forbidden {
        for name in names {
            let found = uses(dir, name);
            assert!(found.is_empty(), "{dir} names `{name}`: {found:?}");
        }
    }
    // clap belongs to cli.rs, exiting to main.rs.
    let found = uses_outside("sim/src", "clap", &["sim/src/cli.rs"]);
    assert!(found.is_empty(), "clap outside cli.rs: {found:?}");
    let found = uses_outside("sim/src", "process::exit", &["sim/src/main.rs"]);
    assert!(found.is_empty(), "exit outside main.rs: {found:?}");
    // The check can fail: the model does name the layers it builds on.
    assert!(!uses("sim/src/model", "crate::engine").is_empty());
}
