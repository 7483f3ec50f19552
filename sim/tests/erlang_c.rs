//! The M/M/c reduction (`scenarios/validation/mmc.toml`) against Erlang C: for each point, the
//! theoretical mean wait must lie inside the 95% confidence interval of the means of 10
//! replications. Seeds are fixed, so the outcome is reproducible.
//!
//! Each point has its own base seed and its replications use `replication_seed(base, r)`: the
//! points are independent experiments. (With one seed for all, every point would see the same
//! random numbers — common random numbers — and their errors would be correlated: four checks
//! that pass or fail together are one check.)

use rayon::prelude::*;
use sim::engine::rng::replication_seed;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::path::Path;

const REPLICATIONS: u32 = 10;

use sim::metrics::queueing::erlang_c_wait_s as erlang_c_wait;

struct Point {
    /// This point's own base seed, different for every point.
    base_seed: u64,
    lambda: f64,
    mean_service_s: f64,
    c: u32,
    horizon_s: f64,
}

fn replication_means(point: &Point) -> Vec<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/validation/mmc.toml");
    let overrides = vec![
        format!("traffic.rate_per_s={}", point.lambda),
        format!("agent.steps.0.latency.mean={}s", point.mean_service_s),
        format!("temporal.max_concurrent_activities={}", point.c),
        format!("run.horizon={}s", point.horizon_s),
        format!("run.warmup={}s", point.horizon_s / 20.0),
    ];
    let scenario = sim::scenario::load(&path, &overrides).expect("mmc.toml loads");
    (0..REPLICATIONS)
        .into_par_iter()
        .map(|r| {
            let mut replication = scenario.clone();
            replication.seed = replication_seed(point.base_seed, r);
            let summary = sim::model::run(&replication).expect("runs").summary;
            summary.activity_schedule_to_start_s.mean
        })
        .collect()
}

fn check(point: &Point) {
    let theory = erlang_c_wait(point.lambda, 1.0 / point.mean_service_s, point.c);
    let means = replication_means(point);
    let n = means.len() as f64;
    let mean = means.iter().sum::<f64>() / n;
    let variance = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.975);
    let half_width = t * (variance / n).sqrt();
    eprintln!(
        "lambda {} 1/mu {} c {} (base seed {}): Wq {mean:.6} +- {half_width:.6}, theory {theory:.6}",
        point.lambda, point.mean_service_s, point.c, point.base_seed
    );
    assert!(
        (mean - theory).abs() <= half_width,
        "Erlang C {theory:.6} outside {mean:.6} +- {half_width:.6}"
    );
    // A real interval: narrow enough to mean something.
    assert!(half_width < 0.1 * theory, "interval too wide: {half_width}");
}

/// The checked points, each with its own base seed.
const POINTS: [Point; 4] = [
    Point {
        base_seed: 101,
        lambda: 8.0,
        mean_service_s: 1.0,
        c: 10,
        horizon_s: 30_000.0,
    },
    Point {
        base_seed: 102,
        lambda: 0.2,
        mean_service_s: 10.0,
        c: 3,
        horizon_s: 300_000.0,
    },
    Point {
        base_seed: 103,
        lambda: 5.0,
        mean_service_s: 1.0,
        c: 10,
        horizon_s: 40_000.0,
    },
    Point {
        base_seed: 104,
        lambda: 9.5,
        mean_service_s: 1.0,
        c: 10,
        horizon_s: 100_000.0,
    },
];

#[test]
fn no_two_runs_share_a_seed() {
    let mut seeds: Vec<u64> = POINTS
        .iter()
        .flat_map(|point| (0..REPLICATIONS).map(|r| replication_seed(point.base_seed, r)))
        .collect();
    seeds.sort_unstable();
    let before = seeds.len();
    seeds.dedup();
    assert_eq!(seeds.len(), before, "a seed is used by two runs");
}

#[test]
fn mmc_10_servers_at_rho_0_8() {
    check(&POINTS[0]);
}

#[test]
fn mmc_3_servers_at_rho_0_67() {
    check(&POINTS[1]);
}

#[test]
fn mmc_10_servers_at_rho_0_5() {
    check(&POINTS[2]);
}

#[test]
fn mmc_10_servers_at_rho_0_95() {
    check(&POINTS[3]);
}
