//! `kill -9` at several moments during `sim run`, `sim sweep` and `sim merge`, into folders
//! that already hold an earlier complete set. After each kill: every file that exists is whole
//! (JSON parses), the folder is either a complete set (its `manifest.json` matches every file:
//! the earlier set, while the new one is still being written in the staging folder, or the
//! new one) or visibly not (no manifest, during the swap); a rerun succeeds, leaves no
//! temporary file and a complete set;
//! and `sim sweep --resume` after a kill gives the `points.csv` of an uninterrupted sweep, byte
//! for byte. Scenarios are small (each command takes a tenth of a second), so the whole file
//! runs in a few seconds; the moments are spread over each command's running time.
#![cfg(unix)]

use sim::output::set::{MANIFEST, STAGING, is_temporary, verify};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn mmc() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/validation/mmc.toml")
        .display()
        .to_string()
}

/// Runs `sim args` to the end; panics unless it exits with `code`.
fn sim_ok(cwd: &Path, args: &[String], code: i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "sim {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Starts `sim args`, kills it with SIGKILL after `after`, and waits for it.
fn sim_killed(cwd: &Path, args: &[String], after: Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill(); // SIGKILL; it may have finished already
    child.wait().unwrap();
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What a kill may leave: whole files, and a complete set or no manifest at all.
fn assert_whole_or_visibly_incomplete(set: &Path, moment: Duration) {
    for path in files_under(set) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_temporary(&name) {
            continue; // the next run deletes it
        }
        if name.ends_with(".json") {
            let bytes = fs::read(&path).unwrap();
            assert!(
                serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                "after a kill at {moment:?}: {} does not parse",
                path.display()
            );
        }
    }
    if set.join(MANIFEST).exists() {
        verify(set).unwrap_or_else(|why| panic!("after a kill at {moment:?}: {why}"));
    }
}

/// Whether a kill landed before the new set was complete: its staging folder is still there,
/// or the swap had begun (no manifest).
fn interrupted_set(set: &Path) -> bool {
    set.join(STAGING).exists() || !set.join(MANIFEST).exists()
}

/// After a successful rerun: a complete set and no temporary file anywhere.
fn assert_complete(set: &Path) {
    verify(set).unwrap();
    assert!(!set.join(STAGING).exists(), "{}", set.display());
    let leftovers: Vec<PathBuf> = files_under(set)
        .into_iter()
        .filter(|p| is_temporary(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

const MOMENTS_MS: [u64; 6] = [0, 15, 35, 60, 90, 130];

#[test]
fn kill_9_during_sim_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = mmc();
    let run = |seed: &str| {
        strings(&[
            "run",
            &file,
            "--horizon",
            "3h",
            "--set",
            "run.warmup=0s",
            "--replications",
            "2",
            "--seed",
            seed,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // An earlier complete run into the same folder, with another seed.
    sim_ok(tmp.path(), &run("1"), 0);
    let old_manifest = fs::read_to_string(out.join(MANIFEST)).unwrap();
    let reference = tmp.path().join("reference");
    let mut fresh = run("2");
    *fresh.last_mut().unwrap() = reference.to_str().unwrap().into();
    sim_ok(tmp.path(), &fresh, 0);
    let mut interrupted = 0;
    for ms in MOMENTS_MS {
        let moment = Duration::from_millis(ms);
        sim_killed(tmp.path(), &run("2"), moment);
        assert_whole_or_visibly_incomplete(&out, moment);
        interrupted += interrupted_set(&out) as usize;
        let new_manifest = fs::read_to_string(reference.join(MANIFEST)).unwrap();
        if let Ok(manifest) = fs::read_to_string(out.join(MANIFEST)) {
            // Complete (and verified above): the old run or the new one, never a mix.
            assert!(
                manifest == old_manifest || manifest == new_manifest,
                "after a kill at {moment:?}: {manifest}"
            );
        }
        sim_ok(tmp.path(), &run("2"), 0);
        assert_complete(&out);
        assert!(
            fs::read(out.join(MANIFEST)).unwrap() == fs::read(reference.join(MANIFEST)).unwrap(),
            "the rerun after a kill at {moment:?} is the uninterrupted run"
        );
    }
    assert!(interrupted > 0, "no kill landed while sim run was writing");
}

#[test]
fn kill_9_during_sim_sweep_then_resume_gives_the_same_points() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc();
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = strings(&[
            "sweep",
            &file,
            "--set",
            "run.horizon=1h",
            "--set",
            "run.warmup=0s",
            "--grid",
            "temporal.max_concurrent_activities=9,10,12",
            "--replications",
            "2",
            "--jobs",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        args.extend(strings(extra));
        args
    };
    let reference = tmp.path().join("reference");
    sim_ok(tmp.path(), &sweep(&reference, &[]), 0);
    let expected = fs::read(reference.join("sweep/points.csv")).unwrap();
    let out = tmp.path().join("out");
    // An earlier complete sweep of another grid in the folder.
    let mut other = sweep(&out, &[]);
    other[7] = "temporal.max_concurrent_activities=8,10,12,14".into();
    sim_ok(tmp.path(), &other, 0);
    let mut interrupted = 0;
    for ms in MOMENTS_MS {
        let moment = Duration::from_millis(ms);
        // Start each kill from a sweep with no saved run, so there is work to interrupt.
        let _ = fs::remove_dir_all(out.join("sweep/runs"));
        sim_killed(tmp.path(), &sweep(&out, &["--resume"]), moment);
        let set = out.join("sweep");
        assert_whole_or_visibly_incomplete(&set, moment);
        interrupted += interrupted_set(&set) as usize;
        sim_ok(tmp.path(), &sweep(&out, &["--resume"]), 0);
        assert_complete(&set);
        assert!(
            fs::read(set.join("points.csv")).unwrap() == expected,
            "points.csv after a kill at {moment:?} and --resume"
        );
        let runs = fs::read_dir(set.join("runs")).unwrap().count();
        assert_eq!(runs, 6, "only this grid's per-run files remain");
    }
    assert!(
        interrupted > 0,
        "no kill landed while sim sweep was running"
    );
}

#[test]
fn kill_9_during_sim_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc();
    let shard = |k: &str, out: &Path| {
        strings(&[
            "sweep",
            &file,
            "--set",
            "run.horizon=1h",
            "--set",
            "run.warmup=0s",
            "--grid",
            "temporal.max_concurrent_activities=9,10,12",
            "--replications",
            "2",
            "--quiet",
            "--shard",
            k,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    sim_ok(tmp.path(), &shard("1/2", &one), 0);
    sim_ok(tmp.path(), &shard("2/2", &two), 0);
    let out = tmp.path().join("merged");
    let merge = strings(&[
        "merge",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    sim_ok(tmp.path(), &merge, 0);
    let expected = fs::read(out.join("sweep").join(MANIFEST)).unwrap();
    for ms in [0, 2, 5, 10, 20] {
        let moment = Duration::from_millis(ms);
        sim_killed(tmp.path(), &merge, moment);
        assert_whole_or_visibly_incomplete(&out.join("sweep"), moment);
        sim_ok(tmp.path(), &merge, 0);
        assert_complete(&out.join("sweep"));
        assert!(
            fs::read(out.join("sweep").join(MANIFEST)).unwrap() == expected,
            "merge after a kill at {moment:?}"
        );
    }
}
