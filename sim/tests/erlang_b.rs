//! Request serving (`[serving] mode = "request"`) reduced to textbook queues
//! (`scenarios/validation/erlang-b.toml`): c fixed instances of K request slots, Poisson
//! arrivals, exponential session times.
//!
//! - No waiting room (`max_wait = "0s"`): the rejected fraction must match Erlang B(cK, a)
//!   inside the 95% confidence interval of 10 replications, at three points (one above 5%
//!   blocking).
//! - An unbounded wait: the mean wait for a slot must match the M/M/cK wait of Erlang C.
//!
//! Each point has its own base seed and its replications use `replication_seed(base, r)`: the
//! points are independent experiments (see `erlang_c.rs`).

use rayon::prelude::*;
use sim::engine::rng::replication_seed;
use sim::metrics::queueing::{erlang_b, erlang_c_wait_s};
use sim::metrics::report::RequestSummary;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::path::Path;

const REPLICATIONS: u32 = 10;

struct Point {
    base_seed: u64,
    lambda: f64,
    instances: u32,
    max_concurrency: u32,
    /// `serving.max_wait`.
    max_wait: &'static str,
    horizon_s: f64,
}

fn replications(point: &Point) -> Vec<RequestSummary> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/validation/erlang-b.toml");
    let overrides = vec![
        format!("traffic.rate_per_s={}", point.lambda),
        format!("autoscaler.instances={}", point.instances),
        format!("serving.max_concurrency={}", point.max_concurrency),
        format!("serving.max_wait=\"{}\"", point.max_wait),
        format!("run.horizon={}s", point.horizon_s),
        format!("run.warmup={}s", point.horizon_s / 20.0),
    ];
    let scenario = sim::scenario::load(&path, &overrides).expect("erlang-b.toml loads");
    (0..REPLICATIONS)
        .into_par_iter()
        .map(|r| {
            let mut replication = scenario.clone();
            replication.seed = replication_seed(point.base_seed, r);
            let summary = sim::model::run(&replication).expect("runs").summary;
            summary.requests.expect("request mode reports its requests")
        })
        .collect()
}

/// Mean and 95% half-width (Student t) of `values`.
fn interval(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.975);
    (mean, t * (variance / n).sqrt())
}

fn check_blocking(point: &Point) {
    let slots = point.instances * point.max_concurrency;
    // Mean session time 1 s: a = lambda.
    let theory = erlang_b(slots, point.lambda);
    let runs = replications(point);
    let fractions: Vec<f64> = runs.iter().map(|r| r.rejected_fraction).collect();
    let (mean, half_width) = interval(&fractions);
    eprintln!(
        "c {} K {} lambda {} (base seed {}): rejected {mean:.5} +- {half_width:.5}, Erlang B {theory:.5}",
        point.instances, point.max_concurrency, point.lambda, point.base_seed
    );
    assert!(
        (mean - theory).abs() <= half_width,
        "Erlang B {theory:.5} outside {mean:.5} +- {half_width:.5}"
    );
    assert!(half_width < 0.1 * theory, "interval too wide: {half_width}");
    for run in &runs {
        // A loss system: nobody waits, and every request is admitted or rejected.
        assert_eq!(run.wait_s.max, 0.0);
        assert_eq!(run.withdrawn + run.waiting_at_end, 0);
        assert_eq!(run.admitted + run.rejected, run.requests);
        assert!(run.concurrency_max <= u64::from(slots));
    }
}

const BLOCKING: [Point; 3] = [
    Point {
        base_seed: 201,
        lambda: 9.0,
        instances: 2,
        max_concurrency: 5,
        max_wait: "0s",
        horizon_s: 20_000.0,
    },
    Point {
        base_seed: 202,
        lambda: 15.0,
        instances: 4,
        max_concurrency: 5,
        max_wait: "0s",
        horizon_s: 20_000.0,
    },
    Point {
        base_seed: 203,
        lambda: 30.0,
        instances: 8,
        max_concurrency: 5,
        max_wait: "0s",
        horizon_s: 30_000.0,
    },
];

const DELAY: Point = Point {
    base_seed: 204,
    lambda: 8.0,
    instances: 2,
    max_concurrency: 5,
    max_wait: "1000d",
    horizon_s: 30_000.0,
};

#[test]
fn erlang_b_formula_is_the_loss_probability() {
    assert!((erlang_b(10, 9.0) - 0.167_963).abs() < 1e-6);
    assert!(erlang_b(10, 9.0) > 0.05, "one point blocks above 5%");
}

#[test]
fn no_two_runs_share_a_seed() {
    let mut seeds: Vec<u64> = BLOCKING
        .iter()
        .chain([&DELAY])
        .flat_map(|point| (0..REPLICATIONS).map(|r| replication_seed(point.base_seed, r)))
        .collect();
    seeds.sort_unstable();
    let before = seeds.len();
    seeds.dedup();
    assert_eq!(seeds.len(), before, "a seed is used by two runs");
}

#[test]
fn loss_10_slots_at_9_erlangs() {
    check_blocking(&BLOCKING[0]);
}

#[test]
fn loss_20_slots_at_15_erlangs() {
    check_blocking(&BLOCKING[1]);
}

#[test]
fn loss_40_slots_at_30_erlangs() {
    check_blocking(&BLOCKING[2]);
}

#[test]
fn unbounded_wait_is_erlang_c() {
    let point = &DELAY;
    let slots = point.instances * point.max_concurrency;
    let theory = erlang_c_wait_s(point.lambda, 1.0, slots);
    let runs = replications(point);
    let waits: Vec<f64> = runs.iter().map(|r| r.wait_s.mean).collect();
    let (mean, half_width) = interval(&waits);
    eprintln!(
        "c {} K {} lambda {} (base seed {}): wait {mean:.5} +- {half_width:.5}, Erlang C {theory:.5}",
        point.instances, point.max_concurrency, point.lambda, point.base_seed
    );
    assert!(
        (mean - theory).abs() <= half_width,
        "Erlang C {theory:.5} outside {mean:.5} +- {half_width:.5}"
    );
    assert!(half_width < 0.1 * theory, "interval too wide: {half_width}");
    for run in &runs {
        assert_eq!(
            run.rejected, 0,
            "nobody is turned away with an unbounded wait"
        );
    }
}
