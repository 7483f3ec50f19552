//! What `sim merge` and `sim sweep --resume` read back is what a sweep wrote: a shard file
//! changed after the sweep (its SHA-256 no longer the one `manifest.json` lists), a `runs.csv`
//! with another header or an impossible value, a saved run edited by hand or holding a value
//! no run produces, are refused with exit 2, naming the file (and line), writing nothing.
//! Shards of different seeds are refused naming both seeds.

use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::{Ran, mmc, sim};

/// `sim sweep` of the M/M/c scenario cut to 300 simulated seconds, 3 points x 2
/// replications, into `out`, with `extra` flags; it must succeed.
fn sweep(cwd: &Path, out: &Path, extra: &[&str]) -> Ran {
    let file = mmc();
    let mut args = vec![
        "sweep",
        &file,
        "--horizon",
        "300s",
        "--set",
        "run.warmup=30s",
        "--grid",
        "temporal.max_concurrent_activities=9,10,11",
        "--replications",
        "2",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    sim(cwd, &args)
}

fn sweep_ok(cwd: &Path, out: &Path, extra: &[&str]) -> Ran {
    let ran = sweep(cwd, out, extra);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    ran
}

/// Shards 1/2 and 2/2 in `cwd/s1` and `cwd/s2`.
fn two_shards(cwd: &Path) -> [PathBuf; 2] {
    let shards = [cwd.join("s1"), cwd.join("s2")];
    sweep_ok(cwd, &shards[0], &["--shard", "1/2"]);
    sweep_ok(cwd, &shards[1], &["--shard", "2/2"]);
    shards
}

fn merge(cwd: &Path, shards: &[PathBuf], out: &Path) -> Ran {
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|s| s.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    sim(cwd, &args)
}

/// A merge that must be refused with exit 2, a message holding every one of `expected`, and
/// nothing written.
fn assert_refused(cwd: &Path, shards: &[PathBuf], expected: &[&str]) {
    let out = cwd.join("merged");
    let ran = merge(cwd, shards, &out);
    assert_eq!(
        ran.code, 2,
        "stdout: {}\nstderr: {}",
        ran.stdout, ran.stderr
    );
    for text in expected {
        assert!(ran.stderr.contains(text), "{text:?} not in {}", ran.stderr);
    }
    assert!(!out.exists(), "a refused merge wrote {}", out.display());
}

/// Sets field `column` of line `line` (1-based, the header is line 1) of a CSV file.
fn set_csv_field(path: &Path, line: usize, column: &str, value: &str) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let index = lines[0].iter().position(|c| c == column).unwrap();
    lines[line - 1][index] = value.to_string();
    let joined: Vec<String> = lines.iter().map(|l| l.join(",")).collect();
    fs::write(path, joined.join("\n") + "\n").unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lists `name` in its folder's `manifest.json` with its current size and SHA-256, as if the
/// sweep had written it: the checks after the manifest's must still refuse what it holds.
fn rehash(dir: &Path, name: &str) {
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    let bytes = fs::read(dir.join(name)).unwrap();
    let entry = manifest["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["path"] == name)
        .unwrap();
    entry["bytes"] = bytes.len().into();
    entry["sha256"] = sha256_hex(&bytes).into();
    fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

#[test]
fn merge_refuses_a_shard_file_changed_since_the_sweep_wrote_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let shards = two_shards(cwd);
    let runs = shards[0].join("sweep/runs.csv");
    let original = fs::read(&runs).unwrap();
    set_csv_field(&runs, 2, "response_latency_p95_s", "1000");
    assert_refused(
        cwd,
        &shards,
        &[
            "cannot merge",
            &format!("{}: changed since the sweep wrote it", runs.display()),
            "manifest.json",
        ],
    );
    fs::write(&runs, original).unwrap();

    // sweep.json is checked too (here its runs_in_file, which would excuse a lost row).
    let json = shards[1].join("sweep/sweep.json");
    let text = fs::read_to_string(&json).unwrap();
    fs::write(
        &json,
        text.replace("\"runs_in_file\": 3", "\"runs_in_file\": 2"),
    )
    .unwrap();
    assert_refused(
        cwd,
        &shards,
        &[&format!(
            "{}: changed since the sweep wrote it",
            json.display()
        )],
    );
    fs::write(&json, text).unwrap();

    // A shard whose sweep did not finish has no manifest.
    fs::rename(
        shards[1].join("sweep/manifest.json"),
        cwd.join("manifest.json"),
    )
    .unwrap();
    assert_refused(cwd, &shards, &["no manifest.json", "did not finish"]);
    fs::rename(
        cwd.join("manifest.json"),
        shards[1].join("sweep/manifest.json"),
    )
    .unwrap();

    // Untouched, the same shards merge.
    let ran = merge(cwd, &shards, &cwd.join("merged"));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn merge_checks_runs_csv_header_and_values_line_by_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let shards = two_shards(cwd);
    let dir = shards[0].join("sweep");
    let runs = dir.join("runs.csv");
    let original = fs::read(&runs).unwrap();
    let path = runs.display().to_string();
    // Each edit is listed in the manifest as if the sweep had written it, so that only the
    // reader's own checks stand between it and the merged results.
    let cases: [(usize, &str, &str, &str); 6] = [
        (
            1,
            "point",
            "pt",
            "line 1: column 1 is \"pt\", expected \"point\"",
        ),
        (
            2,
            "response_latency_p95_s",
            "NaN",
            "line 2: response_latency_p95_s is NaN",
        ),
        (
            3,
            "response_latency_p95_s",
            "inf",
            "line 3: response_latency_p95_s is inf",
        ),
        (
            2,
            "cost_compute_usd",
            "-4.1",
            "line 2: cost_compute_usd is -4.1",
        ),
        (
            3,
            "tool_failure_conversation_fraction",
            "1.5",
            "line 3: tool_failure_conversation_fraction is 1.5: expected a fraction between 0 \
             and 1",
        ),
        (
            2,
            "slo_ok",
            "false",
            "line 2: slo_ok is false but slo_failed is",
        ),
    ];
    for (line, column, value, expected) in cases {
        set_csv_field(&runs, line, column, value);
        rehash(&dir, "runs.csv");
        assert_refused(cwd, &shards, &[&format!("{path}: {expected}")]);
        fs::write(&runs, &original).unwrap();
        rehash(&dir, "runs.csv");
    }
    let ran = merge(cwd, &shards, &cwd.join("merged"));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// The field `column` of every data row of a CSV file, by its header.
fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let index = lines
        .next()
        .unwrap()
        .iter()
        .position(|c| *c == column)
        .unwrap();
    lines.map(|l| l[index].to_string()).collect()
}

/// A metric cell edited to 1e308 (the manifest's hash recomputed) is refused, naming the file,
/// line and column and the largest value a metric takes: its point's sd was inf. A value at
/// that bound, however far from the other replication's, merges with a finite sd and interval.
#[test]
fn merge_refuses_a_value_whose_statistics_would_overflow() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let shards = two_shards(cwd);
    let dir = shards[0].join("sweep");
    let runs = dir.join("runs.csv");
    for value in ["1e308", "1.1e150"] {
        set_csv_field(&runs, 2, "cost_compute_usd", value);
        rehash(&dir, "runs.csv");
        assert_refused(
            cwd,
            &shards,
            &[&format!(
                "{}: line 2: cost_compute_usd is {value}: expected a finite number from 0 to \
                 1e150",
                runs.display()
            )],
        );
    }
    // Point 0, replication 0 (shard 1's line 2) at the bound; replication 1 as it ran.
    set_csv_field(&runs, 2, "cost_compute_usd", "1e150");
    rehash(&dir, "runs.csv");
    let out = cwd.join("merged");
    let ran = merge(cwd, &shards, &out);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let points = out.join("sweep/points.csv");
    for column in [
        "cost_compute_usd_mean",
        "cost_compute_usd_sd",
        "cost_compute_usd_ci95",
    ] {
        let value: f64 = csv_column(&points, column)[0].parse().unwrap();
        assert!(value.is_finite() && value > 1e149, "{column} is {value}");
    }
}

#[test]
fn merge_of_shards_with_different_seeds_names_both_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let shards = [cwd.join("s1"), cwd.join("s2")];
    sweep_ok(cwd, &shards[0], &["--shard", "1/2", "--seed", "1"]);
    sweep_ok(cwd, &shards[1], &["--shard", "2/2", "--seed", "7"]);
    assert_refused(
        cwd,
        &shards,
        &["have different seeds (1 and 7)", "the same --seed"],
    );
}

/// The fingerprint a saved run carries: SHA-256 of its other fields as compact JSON.
fn refingerprint(path: &Path) {
    edit_saved_run(path, |file| {
        let object = file.as_object_mut().unwrap();
        object.remove("fingerprint");
        let fingerprint = sha256_hex(&serde_json::to_vec(&object).unwrap());
        object.insert("fingerprint".into(), fingerprint.into());
    });
}

/// Edits a per-run file's JSON in place (its fingerprint left as it was).
fn edit_saved_run(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut file: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    edit(&mut file);
    fs::write(path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
}

/// Sets the saved value of `metric` in a per-run file.
fn set_saved_metric(path: &Path, metric: &str, value: &str) {
    edit_saved_run(path, |file| {
        let entry = file["metrics"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|m| m[0] == metric)
            .unwrap();
        entry[1] = value.into();
    });
}

/// A refused `--resume`: exit 2, every one of `expected` in the message, and the previous
/// outputs left as they were.
fn assert_resume_refused(cwd: &Path, out: &Path, expected: &[&str]) {
    let set = out.join("sweep");
    let before = [
        fs::read(set.join("manifest.json")).unwrap(),
        fs::read(set.join("points.csv")).unwrap(),
    ];
    let ran = sweep(cwd, out, &["--resume"]);
    assert_eq!(
        ran.code, 2,
        "stdout: {}\nstderr: {}",
        ran.stdout, ran.stderr
    );
    for text in expected {
        assert!(ran.stderr.contains(text), "{text:?} not in {}", ran.stderr);
    }
    let after = [
        fs::read(set.join("manifest.json")).unwrap(),
        fs::read(set.join("points.csv")).unwrap(),
    ];
    assert!(before == after, "a refused --resume changed the outputs");
}

#[test]
fn resume_refuses_a_saved_run_edited_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = cwd.join("out");
    sweep_ok(cwd, &out, &[]);
    let points = fs::read(out.join("sweep/points.csv")).unwrap();
    let saved = out.join("sweep/runs/0-0.json");
    let original = fs::read(&saved).unwrap();
    set_saved_metric(&saved, "response_latency_p95_s", "1e9");
    assert_resume_refused(
        cwd,
        &out,
        &[&format!(
            "{}: changed since the sweep wrote it",
            saved.display()
        )],
    );

    // A saved run without a fingerprint cannot be checked: it is simulated again.
    edit_saved_run(&saved, |file| {
        file.as_object_mut().unwrap().remove("fingerprint");
    });
    let ran = sweep_ok(cwd, &out, &["--resume"]);
    assert!(ran.stdout.contains("= 6 runs (5 reused"), "{}", ran.stdout);
    assert_eq!(fs::read(out.join("sweep/points.csv")).unwrap(), points);
    assert_eq!(
        fs::read(&saved).unwrap(),
        original,
        "the run was saved again"
    );
}

/// A saved run of another build of the same version (a build from source between releases),
/// or one written before runs named their build, is not this sweep's: it is simulated again
/// and saved anew, not reused, even with a matching fingerprint.
#[test]
fn resume_reruns_a_saved_run_of_another_build() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = cwd.join("out");
    sweep_ok(cwd, &out, &[]);
    let points = fs::read(out.join("sweep/points.csv")).unwrap();
    let build_of = |path: &Path| -> Option<String> {
        let file: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        file.get("build").map(|b| b.as_str().unwrap().to_string())
    };
    let runs = out.join("sweep/runs");
    let ours = build_of(&runs.join("0-0.json")).expect("a run file names its build");
    assert_eq!(ours.len(), 16, "{ours}");
    let (other, older) = (runs.join("1-0.json"), runs.join("2-1.json"));
    edit_saved_run(&other, |file| file["build"] = "0123456789abcdef".into());
    refingerprint(&other);
    edit_saved_run(&older, |file| {
        file.as_object_mut().unwrap().remove("build");
    });
    refingerprint(&older);

    let ran = sweep_ok(cwd, &out, &["--resume"]);
    assert!(ran.stdout.contains("= 6 runs (4 reused"), "{}", ran.stdout);
    assert_eq!(fs::read(out.join("sweep/points.csv")).unwrap(), points);
    assert_eq!(build_of(&other).as_deref(), Some(ours.as_str()));
    assert_eq!(build_of(&older).as_deref(), Some(ours.as_str()));
    let again = sweep_ok(cwd, &out, &["--resume"]);
    assert!(
        again.stdout.contains("= 6 runs (6 reused"),
        "{}",
        again.stdout
    );
}

#[test]
fn resume_refuses_impossible_saved_values_even_with_a_matching_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = cwd.join("out");
    sweep_ok(cwd, &out, &[]);
    let points = fs::read(out.join("sweep/points.csv")).unwrap();
    let nan = out.join("sweep/runs/0-1.json");
    let negative = out.join("sweep/runs/2-0.json");
    let originals = [fs::read(&nan).unwrap(), fs::read(&negative).unwrap()];
    set_saved_metric(&nan, "response_latency_p95_s", "NaN");
    refingerprint(&nan);
    set_saved_metric(&negative, "cost_compute_usd", "-3");
    refingerprint(&negative);
    assert_resume_refused(
        cwd,
        &out,
        &[
            &format!(
                "{}: response_latency_p95_s is NaN: expected a finite number",
                nan.display()
            ),
            &format!("{}: cost_compute_usd is -3", negative.display()),
        ],
    );
    // Restored, every run is reused and the outputs are those of the uninterrupted sweep.
    fs::write(&nan, &originals[0]).unwrap();
    fs::write(&negative, &originals[1]).unwrap();
    let ran = sweep_ok(cwd, &out, &["--resume"]);
    assert!(ran.stdout.contains("= 6 runs (6 reused"), "{}", ran.stdout);
    assert_eq!(fs::read(out.join("sweep/points.csv")).unwrap(), points);
}

/// Shard files and saved runs are read bounded: what is not a regular file is refused before
/// it is opened (a FIFO would block the read forever, `/dev/zero` fill memory), and a file
/// over the limit before it is read, each naming the file.
#[cfg(unix)]
#[test]
fn merge_refuses_a_fifo_a_device_or_an_oversized_shard_file_without_reading_it() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let shards = two_shards(cwd);
    let runs = shards[0].join("sweep/runs.csv");
    let original = fs::read(&runs).unwrap();

    // A sparse file past the runs.csv limit (1 GiB): refused by its size, not read.
    fs::File::create(&runs)
        .unwrap()
        .set_len((1 << 30) + 1)
        .unwrap();
    assert_refused(
        cwd,
        &shards,
        &[
            &format!("{}: cannot read: the file has", runs.display()),
            "limit",
        ],
    );

    fs::remove_file(&runs).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&runs).status();
    if made.is_ok_and(|status| status.success()) {
        assert_refused(
            cwd,
            &shards,
            &[&format!(
                "{}: cannot read: not a regular file",
                runs.display()
            )],
        );
        fs::remove_file(&runs).unwrap();
    }
    if Path::new("/dev/zero").exists() {
        let json = shards[1].join("sweep/sweep.json");
        let header = fs::read(&json).unwrap();
        fs::remove_file(&json).unwrap();
        symlink("/dev/zero", &json).unwrap();
        assert_refused(
            cwd,
            &shards,
            &["sweep.json: cannot read: not a regular file"],
        );
        fs::remove_file(&json).unwrap();
        fs::write(&json, header).unwrap();
        // The manifest too.
        let manifest = shards[1].join("sweep/manifest.json");
        let listed = fs::read(&manifest).unwrap();
        fs::remove_file(&manifest).unwrap();
        symlink("/dev/zero", &manifest).unwrap();
        assert_refused(
            cwd,
            &shards,
            &[
                "manifest.json: not a readable manifest",
                "not a regular file",
            ],
        );
        fs::remove_file(&manifest).unwrap();
        fs::write(&manifest, listed).unwrap();
    }
    fs::write(&runs, original).unwrap();
    let ran = merge(cwd, &shards, &cwd.join("merged"));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// A saved run that is a FIFO, a link to `/dev/zero` or a huge sparse file is no run file:
/// `--resume` runs it again (it used to hang, or eat all memory) and saves a real file there.
#[cfg(unix)]
#[test]
fn resume_runs_again_a_saved_run_that_is_not_a_small_regular_file() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = cwd.join("out");
    sweep_ok(cwd, &out, &[]);
    let points = fs::read(out.join("sweep/points.csv")).unwrap();
    let runs = out.join("sweep/runs");
    let saved = [
        runs.join("0-0.json"),
        runs.join("1-1.json"),
        runs.join("2-0.json"),
    ];
    let originals: Vec<Vec<u8>> = saved.iter().map(|p| fs::read(p).unwrap()).collect();
    for path in &saved {
        fs::remove_file(path).unwrap();
    }
    fs::File::create(&saved[0])
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let mut replaced = 1;
    if Path::new("/dev/zero").exists() {
        symlink("/dev/zero", &saved[1]).unwrap();
        replaced += 1;
    }
    if std::process::Command::new("mkfifo")
        .arg(&saved[2])
        .status()
        .is_ok_and(|status| status.success())
    {
        replaced += 1;
    }
    let ran = sweep_ok(cwd, &out, &["--resume"]);
    assert!(
        ran.stdout
            .contains(&format!("= 6 runs ({} reused", 6 - replaced)),
        "{}",
        ran.stdout
    );
    assert_eq!(fs::read(out.join("sweep/points.csv")).unwrap(), points);
    for (path, original) in saved.iter().zip(&originals).take(replaced) {
        assert!(fs::symlink_metadata(path).unwrap().is_file());
        assert_eq!(&fs::read(path).unwrap(), original, "{}", path.display());
    }
}

/// A folder where a run's file goes cannot be replaced by the run: the sweep stops with the
/// run's point, the file once and why (the path was printed twice, without the point), and the
/// outputs as they were.
#[test]
fn a_folder_in_place_of_a_saved_run_is_named_once_with_its_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = cwd.join("out");
    sweep_ok(cwd, &out, &[]);
    let saved = out.join("sweep/runs/1-0.json");
    fs::remove_file(&saved).unwrap();
    fs::create_dir(&saved).unwrap();
    let shown = saved.display().to_string();
    assert_resume_refused(
        cwd,
        &out,
        &[
            "1 run failed",
            "point 1 [",
            "replication 0 seed ",
            &format!(": ran, but its file cannot be saved: {shown}: cannot write: is a directory"),
        ],
    );
    let ran = sweep(cwd, &out, &["--resume"]);
    assert_eq!(ran.stderr.matches(&shown).count(), 1, "{}", ran.stderr);
}
