//! Sweep machinery tests against a fake, fast, deterministic model: thread-count independence,
//! shards and merge, `--resume`, `diff` numbers, grid key validation and per-point statistics.

use sim::engine::rng;
use sim::sweep::{self, Grid, RunMetrics, Shard, SweepConfig, SweepError, SweepModel};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A toy fleet: latency falls with min instances and rises with cache size, cost the other way;
/// the seed adds workload noise shared by every point (common random numbers).
#[derive(Clone, Debug)]
struct Toy {
    seed: u64,
    cache_size: f64,
    min_instances: f64,
    latency_limit_s: f64,
}

struct ToyModel {
    calls: AtomicUsize,
    /// Sleep a little, varying by run, so that runs finish out of order.
    jitter: bool,
}

impl ToyModel {
    fn new() -> ToyModel {
        ToyModel {
            calls: AtomicUsize::new(0),
            jitter: true,
        }
    }
}

impl SweepModel for ToyModel {
    type Scenario = Toy;

    fn load(&self, overrides: &[String]) -> Result<Toy, String> {
        let mut toy = Toy {
            seed: 42,
            cache_size: 10_000.0,
            min_instances: 0.0,
            latency_limit_s: 4.7,
        };
        let mut errors = Vec::new();
        for o in overrides {
            let (key, value) = o.split_once('=').unwrap();
            let number = value
                .parse::<f64>()
                .map_err(|_| format!("{key}: `{value}` is not a number"));
            match (key, number) {
                ("temporal.cache_size", Ok(v)) => toy.cache_size = v,
                ("autoscaler.min_instances", Ok(v)) => toy.min_instances = v,
                ("slo.limit", Ok(v)) => toy.latency_limit_s = v,
                ("seed", Ok(v)) => toy.seed = v as u64,
                (_, Err(e)) => errors.push(e),
                (key, _) => errors.push(format!(
                    "{key}: unknown key, did you mean `temporal.cache_size`?"
                )),
            }
        }
        if errors.is_empty() {
            Ok(toy)
        } else {
            Err(errors.join("\n"))
        }
    }

    fn describe(&self, toy: &Toy) -> (String, u64) {
        ("toy".into(), toy.seed)
    }

    fn run(&self, toy: &Toy, seed: u64) -> Result<RunMetrics, String> {
        use rand::Rng;
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut workload = rng::stream(seed, 1, 0);
        let noise: f64 = workload.random_range(-0.5..0.5);
        if self.jitter {
            let ms = (seed ^ toy.cache_size as u64 ^ toy.min_instances as u64) % 4;
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let p95 = 1.0 + toy.cache_size / 10_000.0 + 3.0 / (1.0 + toy.min_instances) + noise;
        let compute = 5.0 + 2.0 * toy.min_instances + toy.cache_size / 20_000.0 + 0.1 * noise;
        let llm = 20.0 + noise;
        let mut values = [0.0; sweep::metrics::METRIC_COUNT];
        values[0] = p95 * 0.5;
        values[1] = p95;
        values[2] = p95 * 1.5;
        values[3] = 0.1 * p95;
        values[4] = (p95 * 3.0).floor();
        values[5] = if toy.cache_size > 20_000.0 { 2.0 } else { 0.0 };
        values[6] = 1.0 + toy.min_instances;
        values[7] = compute;
        values[8] = llm;
        values[9] = compute + llm;
        values[10] = (compute + llm) / 24.0;
        let slos = vec![
            ("p95".to_string(), p95 <= toy.latency_limit_s),
            ("oom".to_string(), values[5] == 0.0),
        ];
        Ok(RunMetrics {
            values,
            slos,
            vacuous: Vec::new(),
        })
    }
}

fn config(out: &Path, grid: &[&str], replications: u32, threads: usize) -> SweepConfig {
    let args: Vec<String> = grid.iter().map(|s| s.to_string()).collect();
    SweepConfig {
        objective: sim::sweep::metrics::default_objective(),
        grid: Grid::from_args(&args).unwrap(),
        replications,
        shard: None,
        resume: false,
        threads: Some(threads),
        progress: false,
        plots: true,
        out_dir: out.to_path_buf(),
        scenario_hash: sweep::scenario_hash(b"toy scenario", &[]),
        // Recorded in sweep.json (and read back by merge) for the command that reruns it.
        overrides: vec!["run.horizon=2h".into(), "traffic.multiplier=1.5".into()],
        search: sim::sweep::Search::Grid,
        from: None,
    }
}

const GRID: [&str; 2] = [
    "temporal.cache_size=1000,10000,30000",
    "autoscaler.min_instances=0..3:1",
];

/// Every file of `<out>/sweep/` except the per-run folder, sorted by name.
fn files(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.join("sweep"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(names(&fa), names(&fb));
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn outputs_are_byte_identical_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two, four) = (
        dir.path().join("one"),
        dir.path().join("two"),
        dir.path().join("four"),
    );
    sweep::sweep(&ToyModel::new(), &config(&one, &GRID, 4, 1)).unwrap();
    sweep::sweep(&ToyModel::new(), &config(&two, &GRID, 4, 2)).unwrap();
    sweep::sweep(&ToyModel::new(), &config(&four, &GRID, 4, 4)).unwrap();
    let written = files(&one);
    assert_eq!(
        names(&written),
        [
            "heatmap_cost.png",
            "heatmap_cost.svg",
            "heatmap_latency_p95.png",
            "heatmap_latency_p95.svg",
            "manifest.json",
            "pareto.png",
            "pareto.svg",
            "points.csv",
            "report.html",
            "runs.csv",
            "sweep.json"
        ]
    );
    assert_same_files(&one, &two);
    assert_same_files(&one, &four);
    // 12 points x 4 replications, each saved on its own.
    assert_eq!(
        std::fs::read_dir(one.join("sweep/runs")).unwrap().count(),
        48
    );
}

#[test]
fn statistics_feasibility_and_cheapest_point() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = sweep::sweep(&ToyModel::new(), &config(dir.path(), &GRID, 5, 2)).unwrap();
    assert_eq!(outcome.points.len(), 12);
    let runs = std::fs::read_to_string(dir.path().join("sweep/runs.csv")).unwrap();
    let rows: Vec<Vec<&str>> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 60);
    // Common random numbers: replication r has one seed across all points; replication 0 is the
    // scenario's own seed.
    for row in &rows {
        assert_eq!(row[2], rows[row[1].parse::<usize>().unwrap()][2]);
    }
    assert_eq!(rows[0][2], "42");
    // Point 5 = cache 10000, min instances 1: the p95 column (index 3 + 2 keys + 2 + 1) of its
    // five runs gives the point's statistics.
    let p95: Vec<f64> = rows[25..30].iter().map(|r| r[8].parse().unwrap()).collect();
    assert_eq!(
        outcome.points[5].parameters[1],
        ("autoscaler.min_instances".into(), "1".into())
    );
    assert_eq!(outcome.points[5].stats[1], sweep::Stats::of(&p95));
    // p95 = 1 + cache/10000 + 3/(1+m) + noise against a 4.7 s limit. Cache 10000 with m = 0 is
    // 5 s + noise: the noises of seed 42's five replications are -0.35, -0.24, -0.08, -0.48 and
    // -0.40, so three of five meet the SLO. Cache 30000 always OOMs.
    assert_eq!(outcome.points[4].slo_feasible_fraction, 0.6);
    assert!(!outcome.points[4].feasible);
    assert!(outcome.points[0].feasible);
    assert!(outcome.points[3].feasible); // cache 1000, 3 min instances
    assert_eq!(outcome.points[8].slo_feasible_fraction, 0.0); // cache 30000
    // The cheapest feasible point has the smallest cache and the fewest min instances that pass.
    let cheapest = outcome.cheapest_feasible.unwrap();
    assert_eq!(outcome.points[cheapest].parameters[0].1, "1000");
    assert!(outcome.summary_text().contains(&format!(
        "best feasible point (lowest compute cost): #{cheapest}"
    )));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sweep/sweep.json")).unwrap())
            .unwrap();
    assert_eq!(json["cheapest_feasible"]["index"], cheapest);
    assert_eq!(json["points"][5]["stats"]["response_latency_p95_s"]["n"], 5);
    let points_csv = std::fs::read_to_string(dir.path().join("sweep/points.csv")).unwrap();
    assert!(points_csv.starts_with(
        "point,temporal.cache_size,autoscaler.min_instances,replications,slo_feasible_fraction,feasible,\
         response_latency_p50_s_mean,response_latency_p50_s_sd,response_latency_p50_s_ci95,"
    ));
}

#[test]
fn one_replication_leaves_spread_empty() {
    let dir = tempfile::tempdir().unwrap();
    sweep::sweep(
        &ToyModel::new(),
        &config(dir.path(), &["autoscaler.min_instances=0..2:1"], 1, 1),
    )
    .unwrap();
    let points = std::fs::read_to_string(dir.path().join("sweep/points.csv")).unwrap();
    let row: Vec<&str> = points.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(&row[5..8], [row[5], "", ""]);
    assert!(dir.path().join("sweep/sweep_1d.png").is_file());
    assert!(dir.path().join("sweep/sweep_1d.svg").is_file());
}

fn shard_config(out: &Path, k: u32, n: u32) -> SweepConfig {
    let mut c = config(out, &GRID, 3, 2);
    c.shard = Some(Shard { index: k, count: n });
    c
}

#[test]
fn shards_merge_into_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    sweep::sweep(&ToyModel::new(), &config(&whole, &GRID, 3, 2)).unwrap();
    let shards: Vec<PathBuf> = (1..=4)
        .map(|k| dir.path().join(format!("shard{k}")))
        .collect();
    let model = ToyModel::new();
    for (k, shard) in shards.iter().enumerate() {
        let outcome = sweep::sweep(&model, &shard_config(shard, k as u32 + 1, 4)).unwrap();
        assert_eq!(outcome.runs_executed, 9);
        assert_eq!(
            names(&files(shard)),
            ["manifest.json", "runs.csv", "sweep.json"]
        );
    }
    assert_eq!(model.calls.load(Ordering::SeqCst), 36);
    let merged = dir.path().join("merged");
    // Shards in any order; a shard named by its `<out>/sweep` folder works too.
    let order = [
        shards[2].clone(),
        shards[0].join("sweep"),
        shards[3].clone(),
        shards[1].clone(),
    ];
    let outcome = sweep::merge(&order, &merged, true).unwrap();
    assert!(outcome.cheapest_feasible.is_some());
    assert_same_files(&whole, &merged);
}

fn merge_error(dirs: &[PathBuf], out: &Path) -> String {
    match sweep::merge(dirs, out, false) {
        Err(SweepError::Merge(why)) => why,
        other => panic!("expected a merge error, got {other:?}"),
    }
}

#[test]
fn merge_refuses_shards_that_do_not_belong_together() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let model = ToyModel::new();
    for k in 1..=3 {
        sweep::sweep(&model, &shard_config(&d(&format!("s{k}")), k, 3)).unwrap();
    }
    let out = d("out");
    let e = merge_error(&[d("s1"), d("s2")], &out);
    assert!(e.contains("missing shard 3/3"), "{e}");
    let e = merge_error(&[d("s1"), d("s2"), d("s2"), d("s3")], &out);
    assert!(e.contains("shard 2/3 is given twice"), "{e}");

    let mut other = shard_config(&d("hash"), 3, 3);
    other.scenario_hash = sweep::scenario_hash(b"another scenario", &[]);
    sweep::sweep(&model, &other).unwrap();
    let e = merge_error(&[d("s1"), d("s2"), d("hash")], &out);
    assert!(e.contains("different scenarios"), "{e}");

    let mut other = shard_config(&d("grid"), 3, 3);
    other.grid = Grid::from_args(&[
        "temporal.cache_size=1000,10000,30000",
        "autoscaler.min_instances=0..4:1",
    ])
    .unwrap();
    sweep::sweep(&model, &other).unwrap();
    let e = merge_error(&[d("s1"), d("s2"), d("grid")], &out);
    assert!(e.contains("different grids"), "{e}");

    let mut other = shard_config(&d("reps"), 3, 3);
    other.replications = 4;
    sweep::sweep(&model, &other).unwrap();
    let e = merge_error(&[d("s1"), d("s2"), d("reps")], &out);
    assert!(e.contains("different replication counts"), "{e}");

    sweep::sweep(&model, &shard_config(&d("four"), 3, 4)).unwrap();
    let e = merge_error(&[d("s1"), d("s2"), d("four")], &out);
    assert!(e.contains("different shard counts"), "{e}");

    // A shard written by another program version.
    let version = d("version");
    sweep::sweep(&model, &shard_config(&version, 3, 3)).unwrap();
    let json = version.join("sweep/sweep.json");
    let text = std::fs::read_to_string(&json).unwrap();
    std::fs::write(
        &json,
        text.replace(
            &format!("\"version\": \"{}\"", sim::VERSION),
            "\"version\": \"0.0.1\"",
        ),
    )
    .unwrap();
    let e = merge_error(&[d("s1"), d("s2"), version.clone()], &out);
    assert!(e.contains("different program versions"), "{e}");

    // A shard whose runs.csv lost a row.
    let truncated = d("truncated");
    sweep::sweep(&model, &shard_config(&truncated, 3, 3)).unwrap();
    let csv = truncated.join("sweep/runs.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let kept: Vec<&str> = text.lines().take(text.lines().count() - 1).collect();
    std::fs::write(&csv, kept.join("\n") + "\n").unwrap();
    let e = merge_error(&[d("s1"), d("s2"), truncated], &out);
    assert!(e.contains("the shard is damaged"), "{e}");

    // A whole sweep is not a shard.
    sweep::sweep(&model, &config(&d("whole"), &GRID, 3, 2)).unwrap();
    let e = merge_error(&[d("whole")], &out);
    assert!(e.contains("not a shard"), "{e}");
    assert!(
        !out.join("sweep").exists(),
        "a refused merge writes nothing"
    );
}

#[test]
fn resume_skips_finished_runs_and_reruns_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    sweep::sweep(&ToyModel::new(), &config(&fresh, &GRID, 3, 2)).unwrap();

    let out = dir.path().join("resumed");
    sweep::sweep(&ToyModel::new(), &config(&out, &GRID, 3, 2)).unwrap();
    let runs = out.join("sweep/runs");
    // An interrupted sweep: some runs never finished, one left a temporary file, one result
    // belongs to another scenario.
    std::fs::remove_file(runs.join("0-0.json")).unwrap();
    std::fs::remove_file(runs.join("11-2.json")).unwrap();
    std::fs::write(runs.join(".5-1.json.tmp"), "{\"partial").unwrap();
    let stale = runs.join("7-1.json");
    let text = std::fs::read_to_string(&stale).unwrap();
    let hash = sweep::scenario_hash(b"toy scenario", &[]);
    std::fs::write(&stale, text.replace(&hash, "0000000000000000")).unwrap();
    std::fs::remove_file(out.join("sweep/points.csv")).unwrap();

    let model = ToyModel::new();
    let mut c = config(&out, &GRID, 3, 2);
    c.resume = true;
    let outcome = sweep::sweep(&model, &c).unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst), 3);
    assert_eq!((outcome.runs_executed, outcome.runs_resumed), (3, 33));
    assert_same_files(&fresh, &out);

    // Without --resume every run is simulated again.
    let model = ToyModel::new();
    sweep::sweep(&model, &config(&out, &GRID, 3, 2)).unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst), 36);
}

#[test]
fn grid_keys_are_validated_by_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(
        dir.path(),
        &["temporal.cache_sise=1,2", "autoscaler.min_instances=0..3:1"],
        2,
        2,
    );
    let model = ToyModel::new();
    match sweep::sweep(&model, &c) {
        Err(SweepError::Scenario(messages)) => {
            // Reported once, not once per point.
            assert_eq!(
                messages,
                ["temporal.cache_sise: unknown key, did you mean `temporal.cache_size`?"]
            );
        }
        other => panic!("expected a scenario error, got {other:?}"),
    }
    assert_eq!(
        model.calls.load(Ordering::SeqCst),
        0,
        "nothing runs when a point is invalid"
    );
    assert!(
        !dir.path().join("sweep").exists(),
        "nothing is written when a point is invalid"
    );
}

#[test]
fn run_failures_name_the_run() {
    struct Failing;
    impl SweepModel for Failing {
        type Scenario = u64;
        fn load(&self, overrides: &[String]) -> Result<u64, String> {
            Ok(overrides[0].split_once('=').unwrap().1.parse().unwrap())
        }
        fn describe(&self, _: &u64) -> (String, u64) {
            ("failing".into(), 9)
        }
        fn run(&self, x: &u64, _: u64) -> Result<RunMetrics, String> {
            if *x == 2 {
                Err("limit reached: max_events".into())
            } else {
                ToyModel::new().run(&ToyModel::new().load(&[]).unwrap(), 1)
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), &["a.x=1,2"], 2, 2);
    match sweep::sweep(&Failing, &c) {
        Err(SweepError::RunFailed { failures, count }) => {
            assert_eq!(count, 2);
            assert!(
                failures[0].starts_with("point 1 [a.x=2] replication 0 seed 9: limit reached"),
                "{failures:?}"
            );
        }
        other => panic!("expected run failures, got {other:?}"),
    }
}

#[test]
fn replications_come_from_the_flag_then_the_sweep_table_then_one() {
    let grid = Grid::from_args(&["c.z=5,6"]).unwrap();
    assert_eq!(sweep::check_plan(&grid, Some(7), None).unwrap(), 7);
    assert_eq!(sweep::check_plan(&grid, Some(7), Some(2)).unwrap(), 2);
    assert_eq!(sweep::check_plan(&Grid::default(), None, None).unwrap(), 1);
    assert!(sweep::check_plan(&grid, None, Some(0)).is_err());
    let e = sweep::check_plan(&grid, None, Some(600_000)).unwrap_err();
    assert!(e.message.contains("1..=10000"), "{e}");
    let big = Grid::from_args(&["a.x=1..1000:1", "a.y=1..10:1"]).unwrap();
    let e = sweep::check_plan(&big, Some(200), None).unwrap_err();
    assert!(e.message.contains("2000000 runs"), "{e}");
}

#[test]
fn diff_pairs_replications_with_common_random_numbers() {
    let model = ToyModel {
        calls: AtomicUsize::new(0),
        jitter: false,
    };
    let a = model
        .load(&["autoscaler.min_instances=2".into(), "slo.limit=3.5".into()])
        .unwrap();
    let b = model
        .load(&["autoscaler.min_instances=0".into(), "slo.limit=3.5".into()])
        .unwrap();
    let report = sweep::diff_with(&model, &a, &b, 6, Some(2), None, false).unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst), 12);
    // Same noise in A and B, so the p95 difference is exactly 3/1 - 3/3 = 2 s in every pair,
    // while A and B each vary across replications.
    let p95 = &report.metrics[1];
    assert_eq!(p95.metric, "response_latency_p95_s");
    assert!((p95.difference.mean - 2.0).abs() < 1e-12, "{p95:?}");
    assert!(p95.difference.ci95.unwrap() < 1e-12);
    assert!(p95.a.sd.unwrap() > 0.05);
    assert_eq!(
        p95.sentence,
        "B raises p95 response latency by 2.0 s ± 0.0 s"
    );
    let cost = &report.metrics[9];
    assert_eq!(cost.sentence, "B lowers total cost by $4.00 ± $0.00");
    // The compute part of the noise is scaled, so check the paired statistics by hand.
    let compute = &report.metrics[7];
    assert!((compute.difference.mean + 4.0).abs() < 1e-9);
    // A (p95 = 2 + 1 + noise <= 3.5) meets the latency SLO; B (p95 = 5 + noise) does not.
    assert!(report.breaks_slo);
    assert_eq!(report.slos[0].name, "p95");
    assert_eq!(
        (report.slos[0].a_met, report.slos[0].b_met),
        (Some(true), Some(false))
    );
    assert!(
        report
            .summary_text()
            .contains("slo p95: A met, B failed  <- B breaks it")
    );
    // Swapped, B improves things and breaks nothing.
    let report = sweep::diff_with(&model, &b, &a, 6, Some(1), None, false).unwrap();
    assert!(!report.breaks_slo);
    assert_eq!(
        report.metrics[1].sentence,
        "B lowers p95 response latency by 2.0 s ± 0.0 s"
    );
}

#[test]
fn diff_statistics_are_those_of_the_paired_differences() {
    let model = ToyModel {
        calls: AtomicUsize::new(0),
        jitter: false,
    };
    let a = model.load(&["temporal.cache_size=1000".into()]).unwrap();
    let b = model.load(&["temporal.cache_size=21000".into()]).unwrap();
    let report = sweep::diff_with(&model, &a, &b, 4, None, None, false).unwrap();
    let mut d = Vec::new();
    for r in 0..4 {
        let seed = rng::replication_seed(42, r);
        let (ra, rb) = (model.run(&a, seed).unwrap(), model.run(&b, seed).unwrap());
        d.push(rb.values[5] - ra.values[5]);
    }
    assert_eq!(report.metrics[5].difference, sweep::Stats::of(&d));
    assert_eq!(
        report.metrics[5].sentence,
        "B raises OOM crashes by 2.0 ± 0.0"
    );
    assert!(report.breaks_slo, "B OOMs, A does not");
}

#[test]
fn a_panicking_run_is_a_failure_with_its_seed_and_reproduce_command() {
    // The model panics at one grid point, in every replication; the sweep reports each run
    // with its seed and the command the model gives, instead of unwinding through rayon.
    struct Panicking;
    impl SweepModel for Panicking {
        type Scenario = u64;
        fn load(&self, overrides: &[String]) -> Result<u64, String> {
            Ok(overrides[0].split_once('=').unwrap().1.parse().unwrap())
        }
        fn describe(&self, _: &u64) -> (String, u64) {
            ("panicking".into(), 9)
        }
        fn run(&self, x: &u64, _: u64) -> Result<RunMetrics, String> {
            if *x == 2 {
                panic!("event scheduled in the past");
            }
            ToyModel::new().run(&ToyModel::new().load(&[]).unwrap(), 1)
        }
        fn reproduce(&self, overrides: &[String], seed: u64) -> Option<String> {
            Some(format!(
                "sim run toy.toml --set {} --seed {seed}",
                overrides[0]
            ))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), &["a.x=1,2"], 2, 2);
    match sweep::sweep(&Panicking, &c) {
        Err(SweepError::RunFailed { failures, count }) => {
            assert_eq!(count, 2);
            assert_eq!(
                failures[0],
                "point 1 [a.x=2] replication 0 seed 9: bug: the model panicked: event scheduled \
                 in the past\n    reproduce with: sim run toy.toml --set a.x=2 --seed 9"
            );
        }
        other => panic!("expected run failures, got {other:?}"),
    }
    assert!(
        !dir.path()
            .join("sweep")
            .join(sim::output::MANIFEST)
            .exists(),
        "a failed sweep leaves no manifest"
    );
}

#[test]
fn the_objective_ranks_the_points_and_the_table_lists_every_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), &GRID, 5, 2);
    c.objective = sweep::metrics::metric_index("response_latency_p95_s").unwrap();
    let outcome = sweep::sweep(&ToyModel::new(), &c).unwrap();
    // p95 = 1 + cache/10000 + 3/(1+m): the lowest feasible is the smallest cache, 3 instances
    // (by compute cost it is the fewest instances that pass).
    let best = outcome.cheapest_feasible.unwrap();
    assert_eq!(best, 3);
    let text = outcome.summary_text();
    assert!(
        text.contains(
            "best feasible point (lowest p95 response latency): #3 temporal.cache_size=1000 \
             autoscaler.min_instances=3"
        ),
        "{text}"
    );
    // The noise is shared by every point of a replication (common random numbers) but wide
    // across replications: the next point's own interval overlaps the best's, yet the paired
    // differences do not vary, so the two are told apart (an overlap test, unpaired, called
    // them indistinguishable).
    let (best_stats, next) = (&outcome.points[3], &outcome.points[2]);
    let overlap = (best_stats.stats[1].mean - next.stats[1].mean).abs()
        <= best_stats.stats[1].ci95.unwrap() + next.stats[1].ci95.unwrap();
    assert!(overlap, "the intervals overlap");
    assert!(
        !text.contains("not distinguishable at 95% from #2"),
        "{text}"
    );
    let json = outcome.points_json();
    let point_2 = json["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["point"] == 2)
        .unwrap();
    assert_eq!(point_2["indistinguishable_from_best"], false);
    // The table: a row per point, feasible first, each group by the objective.
    let ranked = outcome.ranked_points();
    assert_eq!(ranked.len(), 12);
    assert_eq!(ranked[0].index, best);
    let first_infeasible = ranked.iter().position(|p| !p.feasible).unwrap();
    assert!(ranked[first_infeasible..].iter().all(|p| !p.feasible));
    for group in [&ranked[..first_infeasible], &ranked[first_infeasible..]] {
        let means: Vec<f64> = group.iter().map(|p| p.stats[1].mean).collect();
        assert!(means.windows(2).all(|w| w[0] <= w[1]), "{means:?}");
    }
    let table = outcome.points_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 13, "{table}");
    assert!(
        lines[0].contains("response_latency_p95_s (objective)"),
        "{table}"
    );
    assert!(lines[0].contains("cost_compute_usd"), "{table}");
    for (line, point) in lines[1..].iter().zip(&ranked) {
        assert!(
            line.trim_start().starts_with(&format!("#{} ", point.index)),
            "{table}"
        );
    }
    assert!(text.contains(&table), "{text}");
    // A non-default objective is written to sweep.json (merge reads it back).
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sweep/sweep.json")).unwrap())
            .unwrap();
    assert_eq!(json["objective"], "response_latency_p95_s");
    let report = std::fs::read_to_string(dir.path().join("sweep/report.html")).unwrap();
    assert!(
        report.contains("<h2>Best feasible point (lowest p95 response latency)</h2>"),
        "{report}"
    );
}

/// Shards carry a non-default objective in `sweep.json`: the merge picks the same best point
/// and writes the same files as the unsharded sweep, and refuses shards of other objectives.
#[test]
fn shards_carry_the_objective_into_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let p95 = sweep::metrics::metric_index("response_latency_p95_s").unwrap();
    let whole = dir.path().join("whole");
    let mut c = config(&whole, &GRID, 3, 2);
    c.objective = p95;
    let unsharded = sweep::sweep(&ToyModel::new(), &c).unwrap();
    let shards: Vec<PathBuf> = (1..=2)
        .map(|k| dir.path().join(format!("shard{k}")))
        .collect();
    for (k, shard) in shards.iter().enumerate() {
        let mut c = shard_config(shard, k as u32 + 1, 2);
        c.objective = p95;
        sweep::sweep(&ToyModel::new(), &c).unwrap();
    }
    let merged = dir.path().join("merged");
    let outcome = sweep::merge(&shards, &merged, true).unwrap();
    assert_eq!(outcome.meta.objective, p95);
    assert_eq!(outcome.cheapest_feasible, unsharded.cheapest_feasible);
    assert_same_files(&whole, &merged);
    // A shard run with the default objective does not belong with them.
    let other = dir.path().join("other");
    sweep::sweep(&ToyModel::new(), &shard_config(&other, 2, 2)).unwrap();
    let e = merge_error(&[shards[0].clone(), other], &dir.path().join("bad"));
    assert!(e.contains("different objectives"), "{e}");
}

/// A grid too big to run whole: 10 cache sizes x 10 minimum instance counts.
const BIG_GRID: [&str; 2] = [
    "temporal.cache_size=1000..19000:2000",
    "autoscaler.min_instances=0..9:1",
];

fn halving_config(out: &Path, replications: u32, threads: usize) -> SweepConfig {
    let mut c = config(out, &BIG_GRID, replications, threads);
    c.search = sweep::Search::Halving(sweep::Halving {
        initial_replications: 1,
        factor: 2,
    });
    c
}

/// The rows of `runs.csv` (without its header).
fn run_rows(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("sweep/runs.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(String::from)
        .collect()
}

#[test]
fn halving_finds_the_grid_best_with_at_most_half_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (grid_out, halving_out) = (dir.path().join("grid"), dir.path().join("halving"));
    let grid_model = ToyModel::new();
    let grid = sweep::sweep(&grid_model, &config(&grid_out, &BIG_GRID, 8, 2)).unwrap();
    assert_eq!(grid_model.calls.load(Ordering::SeqCst), 800);
    let model = ToyModel::new();
    let halving = sweep::sweep(&model, &halving_config(&halving_out, 8, 2)).unwrap();
    let runs = model.calls.load(Ordering::SeqCst);
    assert!(grid.cheapest_feasible.is_some());
    assert_eq!(halving.cheapest_feasible, grid.cheapest_feasible);
    assert!(runs * 2 <= 800, "{runs} runs");
    assert_eq!(halving.runs_total, runs);
    // Every run is the grid's run of that point and replication, with the same seed and values.
    let grid_rows = run_rows(&grid_out);
    let rows = run_rows(&halving_out);
    assert_eq!(rows.len(), runs);
    for row in &rows {
        assert!(grid_rows.contains(row), "{row} is not a run of the grid");
    }
    // Every point is in the table; those eliminated early say when.
    assert_eq!(halving.points.len(), 100);
    let best = &halving.points[halving.cheapest_feasible.unwrap()];
    assert_eq!(best.replications, 8);
    assert_eq!(best.stats, grid.points[best.index].stats);
    let eliminated = halving.points.iter().filter(|p| p.eliminated.is_some());
    assert!(
        eliminated.clone().count() >= 85,
        "{}",
        halving.summary_text()
    );
    assert!(eliminated.clone().all(|p| !p.feasible));
    let text = halving.summary_text();
    assert!(
        text.contains(&format!("{runs} runs in ")) && text.contains("of the 800 a full grid"),
        "{text}"
    );
    assert!(text.contains("eliminated: round 0, "), "{text}");
    let points_csv = std::fs::read_to_string(halving_out.join("sweep/points.csv")).unwrap();
    assert!(
        points_csv
            .lines()
            .next()
            .unwrap()
            .contains(",feasible,eliminated,")
    );
    assert_eq!(points_csv.lines().count(), 101);
}

#[test]
fn halving_is_byte_identical_across_thread_counts_and_round_by_round_shards() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let whole = sweep::sweep(&ToyModel::new(), &halving_config(&d("one"), 8, 1)).unwrap();
    sweep::sweep(&ToyModel::new(), &halving_config(&d("four"), 8, 4)).unwrap();
    assert_same_files(&d("one"), &d("four"));

    // Each round: three shards carry on from the previous merge, then they are merged.
    let model = ToyModel::new();
    let mut from: Option<PathBuf> = None;
    let mut rounds = 0;
    let merged = loop {
        let shards: Vec<PathBuf> = (1..=3).map(|k| d(&format!("r{rounds}-s{k}"))).collect();
        for (k, shard) in shards.iter().enumerate() {
            let mut c = halving_config(shard, 8, 2);
            c.shard = Some(Shard {
                index: k as u32 + 1,
                count: 3,
            });
            c.from = from.clone();
            let outcome = sweep::sweep(&model, &c).unwrap();
            assert_eq!(outcome.meta.round, Some(rounds));
        }
        if rounds == 0 {
            // A round's shards all have to be there.
            let e = merge_error(&shards[..2], &d("refused"));
            assert!(e.contains("missing shard 3/3"), "{e}");
        }
        let out = d(&format!("m{rounds}"));
        let outcome = sweep::merge(&shards, &out, true).unwrap();
        rounds += 1;
        match outcome.meta.next_round {
            Some(next) => {
                assert_eq!(next, rounds);
                assert_eq!(
                    names(&files(&out)),
                    ["manifest.json", "runs.csv", "sweep.json"]
                );
                from = Some(out);
            }
            None => break out,
        }
    };
    assert_eq!(rounds as usize, whole.rounds);
    assert_eq!(model.calls.load(Ordering::SeqCst), whole.runs_total);
    assert_same_files(&d("one"), &merged);

    // A shard of a round that is over, or a merge of shards of different rounds, is refused.
    let mut c = halving_config(&d("late"), 8, 2);
    c.shard = Some(Shard { index: 1, count: 3 });
    c.from = Some(merged.clone());
    assert!(sweep::sweep(&model, &c).is_err());
    let e = merge_error(&[d("r0-s1"), d("r1-s2"), d("r0-s3")], &d("refused"));
    assert!(e.contains("different halving rounds"), "{e}");
    // Carrying on unsharded from a merged round gives the same outputs too.
    let mut c = halving_config(&d("carried"), 8, 2);
    c.from = Some(d("m1"));
    sweep::sweep(&ToyModel::new(), &c).unwrap();
    assert_same_files(&d("one"), &d("carried"));
}
