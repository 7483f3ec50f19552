//! `cargo xtask pgo [--llvm-profdata PATH]`: a profile-guided build of the `sim` binary. The
//! plain release build lays out and inlines the hot path by the compiler's guesses; this one
//! lays it out by counts taken from the simulator itself:
//!
//! 1. build `sim` instrumented (`-Cprofile-generate`) into `target/pgo/instrumented`;
//! 2. run it on every scenario shipped under `scenarios/` as it is shipped (`sim run FILE`, the
//!    figures drawn, as users run it) and on the bench's M/M/c, each writing its counts;
//! 3. merge the counts with `llvm-profdata merge` into `target/pgo/sim.profdata`;
//! 4. build `sim` again with them (`-Cprofile-use`) into `target/pgo/optimized`;
//! 5. check that the profile-guided binary writes the same bytes as the plain release build
//!    (`cargo build --release -p sim`) on five scenarios (`CHECKS`), figures included.
//!    Determinism is a contract: a build that changed an output is refused here, not shipped.
//!
//! `llvm-profdata` must come from the LLVM that rustc was built with (`rustc -vV` names it):
//! the counts' raw format changes between LLVM releases. It is looked for, in order, at
//! `--llvm-profdata PATH`, `$LLVM_PROFDATA`, rustup's `llvm-tools` component in the toolchain's
//! sysroot, `llvm-profdata-MAJOR` on the `PATH`, `/usr/lib/llvm-MAJOR/bin/llvm-profdata`
//! (Debian's `llvm-MAJOR` package) and `llvm-profdata` on the `PATH`; a candidate of another
//! major version is passed over, and named in the error when none fits.
//!
//! What it buys is measured in `docs/performance.md` (paired whole processes); the plain build
//! stays what the quick start, the tests, the bench and the instruction gate use.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "usage: cargo xtask pgo [--llvm-profdata PATH]";

/// What the check runs on both builds, and how long: every kind of output (the summary, the
/// time series, the events, the figures), and between them each part of the model (a
/// sequential agent; OOM crashes, the sticky cache's misses and KEDA; streamed voice calls;
/// parallel subagents; request-serving beside workers), a few seconds in all.
const CHECKS: [(&str, &str); 5] = [
    ("scenarios/examples/support-agent.toml", "run.horizon=6h"),
    (
        "scenarios/gradient-labs/05-keda-backlog.toml",
        "run.horizon=6h",
    ),
    ("scenarios/thoughtly-voice/peak.toml", "run.horizon=40m"),
    (
        "scenarios/anthropic-research/research.toml",
        "run.horizon=2h",
    ),
    ("scenarios/examples/mixed-fleet.toml", "run.horizon=2h"),
];

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut explicit = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--llvm-profdata" => explicit = Some(PathBuf::from(args.next().ok_or(USAGE)?)),
            other => return Err(format!("pgo: unknown argument {other:?}\n{USAGE}")),
        }
    }
    if std::env::var_os("CARGO_ENCODED_RUSTFLAGS").is_some() {
        return Err(
            "pgo: CARGO_ENCODED_RUSTFLAGS is set, and cargo would use it in place of \
                    the RUSTFLAGS this task sets: unset it (RUSTFLAGS are kept and added to)"
                .into(),
        );
    }
    let major = rustc_llvm_major()?;
    let profdata = find_llvm_profdata(explicit, major)?;
    eprintln!(
        "xtask: pgo: rustc's LLVM is {major}; using {}",
        profdata.display()
    );

    let pgo = root.join("target").join("pgo");
    let profiles = pgo.join("profiles");
    let _ = fs::remove_dir_all(&profiles);
    fs::create_dir_all(&profiles)
        .map_err(|error| format!("pgo: cannot create {}: {error}", profiles.display()))?;

    // 1. Instrumented.
    let flags = rustflags(&format!("-Cprofile-generate={}", profiles.display()));
    let instrumented = build(root, &pgo.join("instrumented"), &flags)?;

    // 2. Training: each run writes its own .profraw file into `profiles`.
    let train = pgo.join("train");
    let runs = training_runs(root)?;
    for (index, (scenario, overrides)) in runs.iter().enumerate() {
        let out = train.join(index.to_string());
        run_sim(&instrumented, root, scenario, overrides, &out)?;
    }
    let _ = fs::remove_dir_all(&train);

    // 3. Merge.
    let merged = pgo.join("sim.profdata");
    crate::process::step(
        "merge the counts",
        root,
        &profdata.to_string_lossy(),
        &[
            "merge",
            "-o",
            &merged.to_string_lossy(),
            &profiles.to_string_lossy(),
        ],
    )?;

    // 4. Optimised by the counts.
    let flags = rustflags(&format!("-Cprofile-use={}", merged.display()));
    let optimized = build(root, &pgo.join("optimized"), &flags)?;

    // 5. The same bytes as the plain release build.
    let plain = crate::process::build_sim(root, "pgo", &[], &[])?;
    let check = pgo.join("check");
    let _ = fs::remove_dir_all(&check);
    let mut files = 0;
    for (index, (scenario, horizon)) in CHECKS.iter().enumerate() {
        let overrides = [horizon.to_string()];
        let (release, guided) = (
            check.join(format!("{index}-release")),
            check.join(format!("{index}-pgo")),
        );
        run_sim(&plain, root, scenario, &overrides, &release)?;
        run_sim(&optimized, root, scenario, &overrides, &guided)?;
        files += same_files(&release, &guided).map_err(|difference| {
            // A refused build is not left where this task says its result is.
            let _ = fs::remove_file(&optimized);
            format!(
                "pgo: the profile-guided build writes other outputs than the release build on \
                 {scenario} (--set {horizon}): {difference}; the build is refused and removed \
                 ({}), both outputs are kept in {}",
                optimized.display(),
                check.display()
            )
        })?;
    }
    let _ = fs::remove_dir_all(&check);
    eprintln!(
        "xtask: pgo: trained on {} runs; the build writes the release build's outputs byte for \
         byte ({files} files from {} scenarios)",
        runs.len(),
        CHECKS.len()
    );
    println!("{}", optimized.display());
    Ok(())
}

/// `RUSTFLAGS` with `flag` added to what the environment already sets.
fn rustflags(flag: &str) -> String {
    match std::env::var("RUSTFLAGS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} {flag}"),
        _ => flag.to_string(),
    }
}

fn build(root: &Path, target_dir: &Path, rustflags: &str) -> Result<PathBuf, String> {
    let target_dir = target_dir.to_string_lossy();
    crate::process::build_sim(
        root,
        "pgo",
        &["--target-dir", &target_dir],
        &[("RUSTFLAGS", rustflags)],
    )
}

/// Every scenario shipped under `scenarios/`, in path order, as shipped; then the bench's
/// M/M/c (4 simulated hours, the instruction gate's), whose hot path the bench times.
fn training_runs(root: &Path) -> Result<Vec<(String, Vec<String>)>, String> {
    let files = crate::ci::scenario_files(&root.join("scenarios"))
        .map_err(|error| format!("pgo: {error}"))?;
    let mut runs: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|file| {
            let relative = file.strip_prefix(root).unwrap_or(file);
            (relative.to_string_lossy().into_owned(), Vec::new())
        })
        .collect();
    let mmc = crate::bench::mmc_overrides()
        .into_iter()
        .map(|o| {
            if o.starts_with("run.horizon=") {
                "run.horizon=4h".to_string()
            } else {
                o
            }
        })
        .collect();
    runs.push((crate::bench::MMC.to_string(), mmc));
    Ok(runs)
}

/// `sim run SCENARIO --set ... --out OUT`. Exit 1 is a broken SLO (the incident replays break
/// theirs on purpose), not a failure of the run; anything else but 0 is.
fn run_sim(
    sim: &Path,
    root: &Path,
    scenario: &str,
    overrides: &[String],
    out: &Path,
) -> Result<(), String> {
    let mut command = Command::new(sim);
    command.current_dir(root).args(["run", scenario]);
    for o in overrides {
        command.args(["--set", o]);
    }
    command.arg("--out").arg(out);
    eprintln!(
        "xtask: pgo: {} run {scenario}{}",
        sim.display(),
        overrides
            .iter()
            .map(|o| format!(" --set {o}"))
            .collect::<String>()
    );
    let output = command
        .output()
        .map_err(|error| format!("pgo: cannot start {}: {error}", sim.display()))?;
    match output.status.code() {
        Some(0 | 1) => Ok(()),
        _ => Err(format!(
            "pgo: `sim run {scenario}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// `rustc -vV`'s LLVM major version: the one whose `llvm-profdata` can read its counts.
fn rustc_llvm_major() -> Result<u32, String> {
    let rustc = crate::process::rustc();
    let output = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|error| format!("pgo: cannot start {rustc}: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    llvm_major(&text).ok_or_else(|| format!("pgo: `{rustc} -vV` names no LLVM version:\n{text}"))
}

/// The major version after "LLVM version" (`rustc -vV`: "LLVM version: 22.1.2";
/// `llvm-profdata --version`: "LLVM version 22.1.8").
fn llvm_major(text: &str) -> Option<u32> {
    let at = text.find("LLVM version")? + "LLVM version".len();
    let rest = text[at..].trim_start_matches(':').trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The LLVM major version of the `llvm-profdata` at `path`, or `None` when it will not run.
fn profdata_major(path: &Path) -> Option<u32> {
    let output = Command::new(path).arg("--version").output().ok()?;
    llvm_major(&String::from_utf8_lossy(&output.stdout))
}

/// Where `llvm-profdata` may be, in the order looked at (see the module's documentation).
fn candidates(explicit: Option<PathBuf>, major: u32) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = explicit.into_iter().collect();
    if let Some(path) = std::env::var_os("LLVM_PROFDATA") {
        found.push(PathBuf::from(path));
    }
    let rustc = crate::process::rustc();
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output();
    let host = Command::new(&rustc)
        .args(["--print", "host-tuple"])
        .output();
    if let (Ok(sysroot), Ok(host)) = (sysroot, host) {
        let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
        let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
        if !sysroot.is_empty() && !host.is_empty() {
            found.push(
                Path::new(&sysroot)
                    .join("lib/rustlib")
                    .join(host)
                    .join("bin/llvm-profdata"),
            );
        }
    }
    found.push(PathBuf::from(format!("llvm-profdata-{major}")));
    found.push(PathBuf::from(format!(
        "/usr/lib/llvm-{major}/bin/llvm-profdata"
    )));
    found.push(PathBuf::from("llvm-profdata"));
    found
}

fn find_llvm_profdata(explicit: Option<PathBuf>, major: u32) -> Result<PathBuf, String> {
    let mut passed_over = Vec::new();
    for candidate in candidates(explicit, major) {
        match profdata_major(&candidate) {
            Some(found) if found == major => return Ok(candidate),
            Some(found) => passed_over.push(format!("{} (LLVM {found})", candidate.display())),
            None => {}
        }
    }
    let passed_over = if passed_over.is_empty() {
        String::new()
    } else {
        format!("; passed over, of another LLVM: {}", passed_over.join(", "))
    };
    Err(format!(
        "pgo: no llvm-profdata from LLVM {major}, the LLVM rustc was built with{passed_over}. \
         Install one (Debian: `apt-get install llvm-{major}`; rustup: `rustup component add \
         llvm-tools`) or name it with --llvm-profdata PATH or LLVM_PROFDATA"
    ))
}

/// Checks that the folders `a` and `b` hold the same files with the same bytes, and returns
/// how many; the error names the first difference.
fn same_files(a: &Path, b: &Path) -> Result<usize, String> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        let mut files = Vec::new();
        all_files(dir, dir, &mut files)?;
        files.sort();
        Ok(files)
    };
    let (in_a, in_b) = (list(a)?, list(b)?);
    if in_a != in_b {
        let only = |x: &[PathBuf], y: &[PathBuf]| {
            x.iter()
                .filter(|f| !y.contains(f))
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "the files differ (only in {}: [{}]; only in {}: [{}])",
            a.display(),
            only(&in_a, &in_b),
            b.display(),
            only(&in_b, &in_a)
        ));
    }
    for file in &in_a {
        let read = |dir: &Path| {
            fs::read(dir.join(file))
                .map_err(|error| format!("cannot read {}: {error}", dir.join(file).display()))
        };
        if read(a)? != read(b)? {
            return Err(format!("{} differs", file.display()));
        }
    }
    Ok(in_a.len())
}

fn all_files(base: &Path, dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        fs::read_dir(dir).map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("cannot read {}: {error}", dir.display()))?
            .path();
        if path.is_dir() {
            all_files(base, &path, found)?;
        } else {
            found.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llvm_major_reads_rustc_and_llvm_profdata() {
        let rustc = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\nhost: \
                     x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";
        assert_eq!(llvm_major(rustc), Some(22));
        let profdata = "Debian LLVM version 22.1.8\n  Optimized build.\n";
        assert_eq!(llvm_major(profdata), Some(22));
        assert_eq!(
            llvm_major("LLVM (http://llvm.org/):\n  LLVM version 14.0.6\n"),
            Some(14)
        );
        assert_eq!(llvm_major("rustc 1.95.0\nLLVM version: \n"), None);
        assert_eq!(llvm_major("no version here"), None);
    }

    #[test]
    fn a_missing_llvm_profdata_is_named_with_how_to_get_one() {
        // LLVM 999 has no llvm-profdata anywhere; an explicit path that does not exist is
        // passed over like any other candidate.
        let error = find_llvm_profdata(Some(PathBuf::from("/nonexistent/llvm-profdata")), 999)
            .expect_err("no llvm-profdata of LLVM 999");
        assert!(error.contains("no llvm-profdata from LLVM 999"), "{error}");
        assert!(error.contains("apt-get install llvm-999"), "{error}");
        assert!(error.contains("--llvm-profdata PATH"), "{error}");
    }

    #[test]
    fn the_training_runs_every_shipped_scenario_and_the_bench_mmc() {
        let root = crate::workspace_root();
        let runs = training_runs(&root).unwrap();
        assert!(
            CHECKS
                .iter()
                .all(|(c, _)| runs.iter().any(|(s, o)| s == c && o.is_empty()))
        );
        assert!(
            runs.iter()
                .any(|(s, _)| s == "scenarios/gradient-labs/incident.toml")
        );
        let (mmc, overrides) = runs.last().unwrap();
        assert_eq!(mmc, crate::bench::MMC);
        assert!(
            overrides.contains(&"run.horizon=4h".to_string()),
            "{overrides:?}"
        );
        assert!(
            overrides.iter().all(|o| o != "run.horizon=34h"),
            "{overrides:?}"
        );
    }

    #[test]
    fn same_files_finds_a_changed_byte_a_missing_file_and_an_extra_one() {
        let base = std::env::temp_dir().join(format!("xtask-pgo-test-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        for dir in [&a, &b] {
            fs::create_dir_all(dir.join("sub")).unwrap();
            fs::write(dir.join("summary.json"), b"{\"p99\": 1.5}").unwrap();
            fs::write(dir.join("sub/series.csv"), b"t,x\n0,1\n").unwrap();
        }
        assert_eq!(same_files(&a, &b), Ok(2));

        fs::write(b.join("sub/series.csv"), b"t,x\n0,2\n").unwrap();
        let error = same_files(&a, &b).unwrap_err();
        assert!(error.contains("series.csv differs"), "{error}");

        fs::write(b.join("sub/series.csv"), b"t,x\n0,1\n").unwrap();
        fs::write(b.join("extra.png"), b"png").unwrap();
        let error = same_files(&a, &b).unwrap_err();
        assert!(error.contains("extra.png"), "{error}");

        fs::remove_file(b.join("extra.png")).unwrap();
        fs::remove_file(b.join("summary.json")).unwrap();
        let error = same_files(&a, &b).unwrap_err();
        assert!(error.contains("summary.json"), "{error}");
        fs::remove_dir_all(&base).unwrap();
    }
}
