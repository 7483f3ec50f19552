//! Headroom: how far one setting can move before an SLO breaks ("how far are we from the
//! cliff"). For each replication r (seed `replication_seed(base_seed, r)`, the same at every
//! probed value: common random numbers, as in a sweep), bisection over a lattice of the key's
//! values finds that replication's cliff: the last value at which every SLO held. The report is
//! the mean cliff with its Student-t 95% CI across replications, widened by one lattice step
//! (each replication's crossing lies between its cliff and the next value, which broke).
//!
//! The lattice: `lo + k * step` for k in 0..=K (the last value is `hi`), `step` the tolerance
//! (1 for integer keys). Direction `Max` (load-like keys: the traffic multiplier) looks for the
//! largest value that holds, with `lo` the safe end; `Min` (capacity-like keys: slots,
//! instances) for the smallest, with `hi` the safe end. Without `--direction` both ends are run
//! first in every replication and the end at which every replication held is the safe one.
//!
//! Bisection assumes that, in one replication, an SLO that breaks at a value stays broken past
//! it. A replication that is not monotone gets one of its crossings, not necessarily the first.
//!
//! Determinism: replications run in parallel (one rayon task per replication, its probes in
//! sequence); results are collected in replication order and reduced on one thread, so the
//! report is byte-identical whatever the thread count.

use super::{RunMetrics, SweepError, SweepModel, catch_panic, with_pool};
use crate::engine::rng::replication_seed;
use crate::metrics::stats::Stats;
use crate::output::text::{count, number};
use rayon::prelude::*;
use serde::Serialize;

/// The most lattice steps a bracket may have (20 bisection steps): a guard against a tolerance
/// typo that would only cost a few more runs, but print unreadable values.
pub const MAX_STEPS: u64 = 1 << 20;

/// A cliff closer to today's value than this ratio is worth a warning.
pub const WARNING_RATIO: f64 = 1.2;

/// Which end of the key holds: look for the largest value that holds, or the smallest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Load-like keys: more is worse; the cliff is the largest value that holds.
    Max,
    /// Capacity-like keys: less is worse; the cliff is the smallest value that holds.
    Min,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Max => "max",
            Direction::Min => "min",
        }
    }
}

/// What `sim headroom` searches (its flags, validated), with the key's value in the scenario.
#[derive(Clone, Debug)]
pub struct HeadroomConfig {
    /// The dotted key, as `--set` takes it.
    pub key: String,
    /// The key's value in the scenario as resolved (defaults applied, `--set` included).
    pub current: f64,
    /// The key takes integers (bisection on integers).
    pub integer: bool,
    /// `--range LO..HI`; `None`: from a quarter of today's value to four times it.
    pub range: Option<(f64, f64)>,
    /// `--tolerance`: the lattice step; `None`: 1 for an integer key, else a round number
    /// near a two-hundredth of the bracket.
    pub tolerance: Option<f64>,
    /// `--direction`; `None`: chosen by the two ends of the bracket.
    pub direction: Option<Direction>,
    pub replications: u32,
    /// Worker threads; `None` uses rayon's global pool.
    pub threads: Option<usize>,
    pub progress: bool,
}

/// The values the search may probe.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Lattice {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
    /// Values `0..=steps`.
    pub steps: u64,
    pub integer: bool,
}

impl Lattice {
    /// Checks the bracket and the tolerance against the key's kind, or says what is expected.
    pub fn new(config: &HeadroomConfig) -> Result<Lattice, String> {
        let key = &config.key;
        let current = config.current;
        let (lo, hi) = match config.range {
            Some(range) => range,
            None if current > 0.0 && config.integer => {
                (((current / 4.0).floor()).max(1.0), current * 4.0)
            }
            None if current > 0.0 => (current / 4.0, current * 4.0),
            None => {
                return Err(format!(
                    "--key {key}: it is {} in the scenario, so no bracket can be derived from \
                     it; give one with --range LO..HI",
                    number(current)
                ));
            }
        };
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(format!(
                "--range: expected LO..HI with LO < HI, found {}..{}",
                number(lo),
                number(hi)
            ));
        }
        if config.integer && (lo.fract() != 0.0 || hi.fract() != 0.0) {
            return Err(format!(
                "--range: {key} takes integers, found {}..{}",
                number(lo),
                number(hi)
            ));
        }
        let step = match config.tolerance {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                return Err(format!("--tolerance: expected a number > 0, found {t}"));
            }
            Some(t) if config.integer && t.fract() != 0.0 => {
                return Err(format!(
                    "--tolerance: {key} takes integers, so the tolerance is a whole number \
                     (at least 1), found {t}"
                ));
            }
            Some(t) if t >= hi - lo => {
                let show = |v: f64| show_value(v, config.integer);
                return Err(format!(
                    "--tolerance {}: as wide as the bracket {}..{} or wider, so the cliff \
                     could be anywhere in it; give a tolerance below {}",
                    show(t),
                    show(lo),
                    show(hi),
                    show(hi - lo)
                ));
            }
            Some(t) => t,
            None if config.integer => 1.0,
            None => round_step((hi - lo) / 200.0),
        };
        let steps = step_count(lo, hi, step);
        Ok(Lattice {
            lo,
            hi,
            step,
            // Saturates for a bracket too fine to search: `check_steps` refuses it, after the
            // ends are checked against the key (an end it cannot take is the first thing to
            // say).
            steps: (steps as u64).max(1),
            integer: config.integer,
        })
    }

    /// Refuses a bracket with more than `MAX_STEPS` values to probe, naming the tolerance the
    /// user gave or saying it is the default.
    pub fn check_steps(&self, config: &HeadroomConfig) -> Result<(), String> {
        let steps = step_count(self.lo, self.hi, self.step);
        if steps <= MAX_STEPS as f64 {
            return Ok(());
        }
        let show = |v: f64| show_value(v, self.integer);
        // A tolerance too small to print in decimals is shown as written (1e-300, not 0).
        let shown_step = if self.step < 1e-6 {
            format!("{:e}", self.step)
        } else {
            show(self.step)
        };
        let (tolerance, remedy) = match config.tolerance {
            Some(_) => (
                format!("--tolerance {shown_step}"),
                "use a larger tolerance",
            ),
            None if self.integer => (
                format!("--tolerance (not given: {shown_step}, as for every integer key)"),
                "narrow the --range or give a larger --tolerance",
            ),
            None => (
                format!("--tolerance (not given: {shown_step})"),
                "narrow the --range or give a larger --tolerance",
            ),
        };
        Err(format!(
            "{tolerance}: the bracket {}..{} would have {} steps, more than {MAX_STEPS}; {remedy}",
            show(self.lo),
            show(self.hi),
            number(steps)
        ))
    }

    /// Value `k`: `lo + k * step` (rounded to 9 decimals so it prints as typed), `hi` last.
    pub fn value(&self, k: u64) -> f64 {
        if k >= self.steps {
            return self.hi;
        }
        let v = self.lo + k as f64 * self.step;
        if self.integer {
            v.round()
        } else if v.abs() < 1e15 {
            (v * 1e9).round() / 1e9
        } else {
            // Already whole to far past 1e-9 (and `v * 1e9` could overflow to infinity).
            v
        }
    }

    /// `key=value` as `--set` takes it: integers without a decimal point, numbers with one.
    pub fn assignment(&self, key: &str, k: u64) -> String {
        format!("{key}={}", format_value(self.value(k), self.integer))
    }
}

/// The steps of `step` from `lo` to `hi`, the last one partial (a hair's rounding below a
/// whole number of steps counts as that number), unbounded: `Lattice::steps` saturates.
fn step_count(lo: f64, hi: f64, step: f64) -> f64 {
    ((hi - lo) / step - 1e-9).ceil()
}

/// A value as the scenario file would hold it: a float as the scenario writer prints one
/// (`1e308`, not 309 digits, which TOML would not read as a number).
pub fn format_value(v: f64, integer: bool) -> String {
    // Beyond a TOML integer (i64) an integer key's value is written as the float it is, which
    // the key then refuses with the number as typed (not i64::MAX, where `as` would clamp it).
    if integer && v.abs() < 9.2e18 {
        format!("{}", v as i64)
    } else {
        crate::scenario::format_float(v)
    }
}

/// A value for people: an integer key's as an integer, a float (or a huge integer) in three
/// significant digits.
fn show_value(v: f64, integer: bool) -> String {
    if integer && v.abs() < 1e15 {
        format_value(v.round(), true)
    } else {
        number(v)
    }
}

/// The largest of 1, 2 and 5 times a power of ten that is at most `x`.
fn round_step(x: f64) -> f64 {
    let scale = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * scale)
        .find(|&s| s <= x * (1.0 + 1e-12))
        .unwrap_or(scale)
}

/// One probe: did every SLO hold, and which broke.
#[derive(Clone, Debug, PartialEq)]
struct Probe {
    holds: bool,
    broken: Vec<String>,
    /// The broken SLOs that had nothing to measure, with why.
    vacuous: Vec<(String, String)>,
}

impl Probe {
    fn of(metrics: &RunMetrics) -> Probe {
        Probe {
            holds: metrics.slo_ok(),
            broken: metrics
                .slos
                .iter()
                .filter(|(_, ok)| !ok)
                .map(|(name, _)| name.clone())
                .collect(),
            vacuous: metrics.vacuous.clone(),
        }
    }

    /// Broken, but every broken SLO only for having nothing to measure: the run says nothing
    /// of whether the SLOs hold at this value.
    fn breaks_only_vacuously(&self) -> bool {
        !self.holds
            && self
                .broken
                .iter()
                .all(|name| self.vacuous.iter().any(|(v, _)| v == name))
    }
}

/// One replication's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicationCliff {
    pub replication: u32,
    pub seed: u64,
    /// The last value at which every SLO held (the safe end when no value in the bracket broke
    /// one in this replication).
    pub cliff: f64,
    /// The neighbouring value, at which an SLO broke; `None` when none did in the bracket.
    pub first_breaking: Option<f64>,
    /// The SLOs broken at `first_breaking`, in the scenario's order.
    pub broken: Vec<String>,
    /// Runs this replication took.
    pub runs: u32,
}

/// What the search found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Verdict {
    /// A cliff inside the bracket in at least one replication.
    Found,
    /// Every SLO held at both ends in every replication: the cliff, if any, is beyond the
    /// bracket.
    NoCliff,
    /// The safe end (both ends, when the direction was to be chosen) broke an SLO in some
    /// replication: no value in the bracket is known to hold.
    SafeEndBreaks { broken: Vec<String> },
}

/// What a headroom report's `interval` is worth, for a reader of the JSON as of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    /// The 95% confidence interval of the mean cliff (two replications or more), widened by
    /// one step of resolution.
    Ci95,
    /// One replication: no spread to estimate, so the interval is one step of resolution.
    Resolution,
    /// Every replication held across the whole bracket: the mean is the bracket's end, a
    /// bound on the cliff, not an estimate of it.
    Bound,
}

/// The report of `sim headroom`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeadroomReport {
    pub scenario: String,
    pub key: String,
    /// The key's value in the scenario, `--set` included: today's value.
    pub current: f64,
    pub direction: Direction,
    /// True when `--direction` chose it, false when the bracket's ends did.
    pub direction_given: bool,
    pub lattice: Lattice,
    pub replications: u32,
    pub verdict: Verdict,
    /// In replication order; empty unless `Found` or `NoCliff`.
    pub per_replication: Vec<ReplicationCliff>,
    /// Statistics of the per-replication cliffs (`None` without them).
    pub cliff: Option<Stats>,
    /// Where the cliff is: the 95% CI of the mean, widened by one step on the breaking side;
    /// what it is worth is in `interval_kind`.
    pub interval: Option<(f64, f64)>,
    /// What `interval` is (`None` with it): a 95% interval, one step of resolution around a
    /// single replication's cliff, or a bound when every replication held across the bracket.
    pub interval_kind: Option<IntervalKind>,
    /// How far today's value is from the mean cliff: cliff / today for `Max`, today / cliff for
    /// `Min` (above 1: room to spare; below 1: already past it).
    pub headroom_ratio: Option<f64>,
    /// The same ratio at the interval's pessimistic end.
    pub headroom_ratio_worst: Option<f64>,
    /// The worst-case ratio is below `WARNING_RATIO`.
    pub warning: bool,
    /// The SLOs broken just past each replication's cliff, with in how many replications.
    pub broken_first: Vec<(String, u32)>,
    /// Replications in which no value in the bracket broke an SLO (their cliff is the end).
    pub censored: u32,
    /// Runs simulated.
    pub runs: u64,
}

/// The search: both ends in every replication, then bisection per replication. Errors: a value
/// the scenario refuses (every problem once), a failed or panicking run (seed and reproduce
/// command), a bad bracket.
pub fn headroom<M: SweepModel>(
    model: &M,
    config: &HeadroomConfig,
) -> Result<HeadroomReport, SweepError>
where
    M::Scenario: Send,
{
    if config.replications == 0 || config.replications > super::grid::MAX_REPLICATIONS {
        return Err(SweepError::Usage(format!(
            "--replications must be in 1..={}",
            super::grid::MAX_REPLICATIONS
        )));
    }
    let lattice = Lattice::new(config).map_err(SweepError::Usage)?;
    let key = config.key.as_str();
    // What the messages about the bracket's ends blame: the user's --range, or the default
    // they did not choose (said as such, so they know what to give instead).
    let bracket = match config.range {
        Some(_) => "--range".to_string(),
        None => format!(
            "--range (not given: the default bracket {}..{}, a quarter to four times today's \
             value)",
            format_value(lattice.value(0), lattice.integer),
            format_value(lattice.value(lattice.steps), lattice.integer)
        ),
    };
    // Both ends load before anything runs: a bad key or an out-of-range end is bad input.
    let ends = [0, lattice.steps];
    let loaded: Vec<Result<M::Scenario, String>> = ends
        .iter()
        .map(|&k| {
            let assignment = lattice.assignment(key, k);
            catch_panic(|| model.load(std::slice::from_ref(&assignment))).map_err(|why| {
                why.replace(&format!("--set {assignment}: "), &format!("{bracket}: "))
            })
        })
        .collect();
    let mut errors: Vec<String> = Vec::new();
    for message in loaded.iter().filter_map(|r| r.as_ref().err()) {
        for line in message.lines() {
            if !errors.iter().any(|e| e == line) {
                errors.push(line.to_string());
            }
        }
    }
    if !errors.is_empty() {
        return Err(SweepError::Scenario(errors));
    }
    lattice.check_steps(config).map_err(SweepError::Usage)?;
    let loaded: Vec<M::Scenario> = loaded.into_iter().flatten().collect();
    let (name, base_seed) = model.describe(&loaded[0]);
    let seeds: Vec<u64> = (0..config.replications)
        .map(|r| replication_seed(base_seed, r))
        .collect();
    let total_guess =
        u64::from(config.replications) * (2 + 64 - lattice.steps.leading_zeros()) as u64;
    let bar = crate::progress::counter(
        crate::progress::enabled(config.progress),
        &name,
        total_guess,
        "runs",
    );

    // Phase 1: both ends, every replication, in parallel; collected in (end, replication) order.
    let tasks: Vec<(usize, u32)> = (0..2)
        .flat_map(|end| (0..config.replications).map(move |r| (end, r)))
        .collect();
    let end_probes: Vec<Result<Probe, String>> = with_pool(config.threads, || {
        tasks
            .par_iter()
            .map(|&(end, r)| {
                let result = run_probe(
                    model,
                    &loaded[end],
                    &lattice,
                    key,
                    ends[end],
                    seeds[r as usize],
                );
                bar.inc(1);
                result
            })
            .collect()
    })?;
    let end_probes = collect_failures(end_probes)?;
    let reps = config.replications as usize;
    let (lo_probes, hi_probes) = end_probes.split_at(reps);
    // An end where the runs that break have only SLOs with nothing to measure (no traffic at
    // `traffic.multiplier = 0`) cannot say which end is safe, nor where the cliff is.
    for (&k, probes) in ends.iter().zip([lo_probes, hi_probes]) {
        let mut failing = probes.iter().zip(&seeds).filter(|(p, _)| !p.holds);
        let first = failing.clone().next();
        if let Some((probe, seed)) = first
            && failing.all(|(p, _)| p.breaks_only_vacuously())
        {
            bar.finish_and_clear();
            let (slo, why) = &probe.vacuous[0];
            return Err(SweepError::Usage(format!(
                "{bracket}: at {key} = {} the runs that break have nothing to measure (seed \
                 {seed}: \"{slo}\": {why}), so that end cannot tell whether the SLOs hold; \
                 start the bracket where the runs have traffic to measure, or lengthen \
                 --horizon",
                format_value(lattice.value(k), lattice.integer)
            )));
        }
    }
    let all_hold = |probes: &[Probe]| probes.iter().all(|p| p.holds);
    let direction = match config.direction {
        Some(direction) => direction,
        None if all_hold(lo_probes) => Direction::Max,
        None if all_hold(hi_probes) => Direction::Min,
        None => Direction::Max,
    };
    let (safe, unsafe_end) = match direction {
        Direction::Max => (lo_probes, hi_probes),
        Direction::Min => (hi_probes, lo_probes),
    };
    let mut report = HeadroomReport {
        scenario: name,
        key: key.to_string(),
        current: config.current,
        direction,
        direction_given: config.direction.is_some(),
        lattice,
        replications: config.replications,
        verdict: Verdict::Found,
        per_replication: Vec::new(),
        cliff: None,
        interval: None,
        interval_kind: None,
        headroom_ratio: None,
        headroom_ratio_worst: None,
        warning: false,
        broken_first: Vec::new(),
        censored: 0,
        runs: 2 * reps as u64,
    };
    if !all_hold(safe) {
        let mut broken: Vec<String> = Vec::new();
        for p in safe.iter().chain(if config.direction.is_none() {
            unsafe_end
        } else {
            &[]
        }) {
            for name in &p.broken {
                if !broken.contains(name) {
                    broken.push(name.clone());
                }
            }
        }
        report.verdict = Verdict::SafeEndBreaks { broken };
        bar.finish_and_clear();
        return Ok(report);
    }
    if all_hold(unsafe_end) {
        report.verdict = Verdict::NoCliff;
    }

    // Phase 2: bisection, one task per replication, its probes in sequence.
    let (safe_k, unsafe_k) = match direction {
        Direction::Max => (0, lattice.steps),
        Direction::Min => (lattice.steps, 0),
    };
    let cliffs: Vec<Result<ReplicationCliff, String>> = with_pool(config.threads, || {
        (0..config.replications)
            .into_par_iter()
            .map(|r| {
                let seed = seeds[r as usize];
                let end = &unsafe_end[r as usize];
                if end.holds {
                    return Ok(ReplicationCliff {
                        replication: r,
                        seed,
                        cliff: lattice.value(unsafe_k),
                        first_breaking: None,
                        broken: Vec::new(),
                        runs: 2,
                    });
                }
                let (mut good, mut bad, mut broken, mut runs) =
                    (safe_k, unsafe_k, end.broken.clone(), 2);
                while good.abs_diff(bad) > 1 {
                    let middle = good.min(bad) + good.abs_diff(bad) / 2;
                    let assignment = lattice.assignment(key, middle);
                    let scenario = catch_panic(|| model.load(std::slice::from_ref(&assignment)))
                        .map_err(|why| format!("{assignment}: {why}"))?;
                    let probe = run_probe(model, &scenario, &lattice, key, middle, seed)?;
                    bar.inc(1);
                    runs += 1;
                    if probe.holds {
                        good = middle;
                    } else {
                        bad = middle;
                        broken = probe.broken;
                    }
                }
                Ok(ReplicationCliff {
                    replication: r,
                    seed,
                    cliff: lattice.value(good),
                    first_breaking: Some(lattice.value(bad)),
                    broken,
                    runs,
                })
            })
            .collect()
    })?;
    bar.finish_and_clear();
    let cliffs = collect_failures(cliffs)?;
    summarise(&mut report, cliffs);
    Ok(report)
}

/// Fills the statistics from the per-replication cliffs, reduced in replication order.
fn summarise(report: &mut HeadroomReport, cliffs: Vec<ReplicationCliff>) {
    let values: Vec<f64> = cliffs.iter().map(|c| c.cliff).collect();
    let stats = Stats::of(&values);
    let step = report.lattice.step;
    let ci = stats.ci95.unwrap_or(0.0);
    let (lo, hi) = match report.direction {
        Direction::Max => (stats.mean - ci, stats.mean + ci + step),
        Direction::Min => (stats.mean - ci - step, stats.mean + ci),
    };
    let ratio = |cliff: f64| match report.direction {
        Direction::Max if report.current > 0.0 => Some(cliff / report.current),
        Direction::Min if cliff > 0.0 => Some(report.current / cliff),
        _ => None,
    };
    report.headroom_ratio = ratio(stats.mean);
    report.headroom_ratio_worst = match report.direction {
        Direction::Max => ratio(lo),
        Direction::Min => ratio(hi),
    };
    // "Within 20% of today's value": the pessimistic end below 1.2x today for a maximum, above
    // 0.8x today for a minimum (a ratio today / end below 1 / 0.8 = 1.25).
    let margin = WARNING_RATIO - 1.0;
    let threshold = match report.direction {
        Direction::Max => 1.0 + margin,
        Direction::Min => 1.0 / (1.0 - margin),
    };
    report.warning = report.verdict == Verdict::Found
        && report.headroom_ratio_worst.is_some_and(|r| r < threshold);
    let mut broken_first: Vec<(String, u32)> = Vec::new();
    for cliff in &cliffs {
        for name in &cliff.broken {
            match broken_first.iter_mut().find(|(n, _)| n == name) {
                Some((_, n)) => *n += 1,
                None => broken_first.push((name.clone(), 1)),
            }
        }
    }
    report.censored = cliffs.iter().filter(|c| c.first_breaking.is_none()).count() as u32;
    report.runs = cliffs.iter().map(|c| u64::from(c.runs)).sum();
    report.broken_first = broken_first;
    report.cliff = Some(stats);
    report.interval = Some((lo, hi));
    report.interval_kind = Some(if report.verdict == Verdict::NoCliff {
        IntervalKind::Bound
    } else if stats.ci95.is_none() {
        IntervalKind::Resolution
    } else {
        IntervalKind::Ci95
    });
    report.per_replication = cliffs;
}

/// One run at lattice value `k` with `seed`; a failure names the value, the seed and the
/// command that reproduces it.
fn run_probe<M: SweepModel>(
    model: &M,
    scenario: &M::Scenario,
    lattice: &Lattice,
    key: &str,
    k: u64,
    seed: u64,
) -> Result<Probe, String> {
    let assignment = lattice.assignment(key, k);
    catch_panic(|| model.run(scenario, seed))
        .map(|metrics| Probe::of(&metrics))
        .map_err(|why| {
            let mut text = format!("{assignment} seed {seed}: {why}");
            if let Some(command) = model.reproduce(std::slice::from_ref(&assignment), seed) {
                text += &format!("\n    reproduce with: {command}");
            }
            text
        })
}

/// The values in order, or every failure (first five) as `RunFailed`.
fn collect_failures<T>(results: Vec<Result<T, String>>) -> Result<Vec<T>, SweepError> {
    let mut failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().cloned())
        .collect();
    if !failures.is_empty() {
        let count = failures.len();
        failures.truncate(5);
        return Err(SweepError::RunFailed { failures, count });
    }
    Ok(results.into_iter().flatten().collect())
}

impl HeadroomReport {
    fn show(&self, v: f64) -> String {
        show_value(v, self.lattice.integer)
    }

    /// The human report for stdout.
    pub fn summary_text(&self) -> String {
        let l = &self.lattice;
        let mut text = format!(
            "headroom {} on {}: {} today; bracket {}..{} in steps of {}; {}; {}\n",
            self.scenario,
            self.key,
            self.show(self.current),
            self.show(l.lo),
            self.show(l.hi),
            self.show(l.step),
            count(self.replications, "replication"),
            count(self.runs, "run"),
        );
        let what = match self.direction {
            Direction::Max => "the largest value at which every SLO holds",
            Direction::Min => "the smallest value at which every SLO holds",
        };
        let chosen = if self.direction_given {
            "--direction"
        } else {
            "chosen by the bracket's ends"
        };
        text += &format!(
            "looking for {what} (direction {}, {chosen})\n",
            self.direction.name()
        );
        match &self.verdict {
            Verdict::SafeEndBreaks { broken } => {
                let end = match (self.direction_given, self.direction) {
                    (false, _) => {
                        format!("both ends ({} and {})", self.show(l.lo), self.show(l.hi))
                    }
                    (true, Direction::Max) => format!("the safe end {}", self.show(l.lo)),
                    (true, Direction::Min) => format!("the safe end {}", self.show(l.hi)),
                };
                text += &format!(
                    "no cliff found: {end} already break an SLO in some replication ({}); \
                     move --range toward safer values\n",
                    broken.join("; ")
                );
                return text;
            }
            Verdict::NoCliff => {
                text += &format!(
                    "no cliff in the bracket: every SLO held at both ends in every replication; \
                     widen --range to find it (headroom at least {})\n",
                    self.headroom_ratio
                        .map_or("unknown".into(), |r| format!("{r:.2}x"))
                );
            }
            Verdict::Found => {}
        }
        if let (Some(stats), Some((lo, hi)), Some(kind)) =
            (&self.cliff, self.interval, self.interval_kind)
        {
            let ci = stats.ci95.map_or(String::new(), |h| {
                format!(" ± {}", crate::output::text::half_width(h, stats.mean))
            });
            let interval = match kind {
                IntervalKind::Bound => {
                    "beyond the bracket in every replication: a bound, not an interval".to_string()
                }
                IntervalKind::Resolution => format!(
                    "one replication, so no 95% interval: {}..{} is one step of resolution",
                    number(lo),
                    number(hi)
                ),
                IntervalKind::Ci95 => format!(
                    "95% interval {}..{}, including one step of resolution",
                    number(lo),
                    number(hi)
                ),
            };
            text += &format!(
                "cliff: {} = {}{ci} ({interval})\n",
                self.key,
                number(stats.mean)
            );
            if let (Some(r), Some(worst)) = (self.headroom_ratio, self.headroom_ratio_worst) {
                text += &format!(
                    "headroom: {r:.2}x today's value ({worst:.2}x at the interval's pessimistic \
                     end)\n"
                );
            }
            if self.censored > 0 {
                text += &format!(
                    "  {} held across the whole bracket: the cliff is beyond the bracket there \
                     and the mean is a bound\n",
                    count(self.censored, "replication")
                );
            }
            if !self.broken_first.is_empty() {
                let parts: Vec<String> = self
                    .broken_first
                    .iter()
                    .map(|(name, n)| format!("{name} ({n} of {})", self.replications))
                    .collect();
                text += &format!("breaks first past the cliff: {}\n", parts.join(", "));
            }
            if self.warning {
                text += &format!(
                    "WARNING: the cliff is within {:.0}% of today's value: a small change in {} \
                     breaks an SLO\n",
                    (WARNING_RATIO - 1.0) * 100.0,
                    self.key
                );
            }
            let rows: Vec<Vec<String>> = self
                .per_replication
                .iter()
                .map(|c| {
                    vec![
                        c.replication.to_string(),
                        c.seed.to_string(),
                        self.show(c.cliff),
                        c.first_breaking.map_or("-".into(), |v| self.show(v)),
                        if c.broken.is_empty() {
                            "-".into()
                        } else {
                            c.broken.join("; ")
                        },
                    ]
                })
                .collect();
            text += &crate::output::text::table(
                &["replication", "seed", "holds at", "breaks at", "broken"],
                rows,
            );
        }
        text
    }

    /// Whether the safe end already broke an SLO (exit 1).
    pub fn safe_end_breaks(&self) -> bool {
        matches!(self.verdict, Verdict::SafeEndBreaks { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A model whose SLO holds in replication `seed` while `value <= cliff(seed)` (`Max`) or
    /// `value >= cliff(seed)` (`Min`); it counts its runs and panics for `panic_seed`.
    struct Cliff {
        key: &'static str,
        min: bool,
        runs: AtomicUsize,
        panic_seed: Option<u64>,
        /// Below this value a run has no traffic: "p95" fails with nothing to measure, and
        /// "always" too, for real, when `idle_breaks` is set.
        idle_below: f64,
        idle_breaks: bool,
    }

    impl Cliff {
        fn new(key: &'static str, min: bool) -> Cliff {
            Cliff {
                key,
                min,
                runs: AtomicUsize::new(0),
                panic_seed: None,
                idle_below: 0.0,
                idle_breaks: false,
            }
        }
        /// Replication `seed`'s cliff: 2.00 to 2.99 (`Max`), 10 to 19 (`Min`).
        fn cliff(&self, seed: u64) -> f64 {
            if self.min {
                10.0 + (seed % 10) as f64
            } else {
                2.0 + (seed % 100) as f64 / 100.0
            }
        }
    }

    impl SweepModel for Cliff {
        type Scenario = f64;
        fn load(&self, overrides: &[String]) -> Result<f64, String> {
            let (key, value) = overrides[0].split_once('=').unwrap();
            if key != self.key {
                return Err(format!("{key}: unknown key"));
            }
            let value: f64 = value.parse().unwrap();
            if value < 0.0 {
                return Err(format!("{key}: expected a number >= 0, found {value}"));
            }
            Ok(value)
        }
        fn describe(&self, _: &f64) -> (String, u64) {
            ("cliff".into(), 7)
        }
        fn run(&self, value: &f64, seed: u64) -> Result<RunMetrics, String> {
            self.runs.fetch_add(1, Ordering::Relaxed);
            if self.panic_seed == Some(seed) {
                panic!("injected");
            }
            if *value < self.idle_below {
                return Ok(RunMetrics {
                    values: [0.0; super::super::metrics::METRIC_COUNT],
                    slos: vec![("always".into(), !self.idle_breaks), ("p95".into(), false)],
                    vacuous: vec![("p95".into(), "no sample".into())],
                });
            }
            let cliff = self.cliff(seed);
            let ok = if self.min {
                *value >= cliff
            } else {
                *value <= cliff
            };
            Ok(RunMetrics {
                values: [0.0; super::super::metrics::METRIC_COUNT],
                slos: vec![("always".into(), true), ("p95".into(), ok)],
                vacuous: Vec::new(),
            })
        }
        fn reproduce(&self, overrides: &[String], seed: u64) -> Option<String> {
            Some(format!(
                "sim run f.toml --set {} --seed {seed}",
                overrides[0]
            ))
        }
    }

    fn config(key: &str, current: f64, integer: bool) -> HeadroomConfig {
        HeadroomConfig {
            key: key.into(),
            current,
            integer,
            range: None,
            tolerance: None,
            direction: None,
            replications: 5,
            threads: Some(1),
            progress: false,
        }
    }

    #[test]
    fn bisection_finds_each_replications_cliff_and_the_interval_holds_their_mean() {
        let model = Cliff::new("traffic.multiplier", false);
        let mut config = config("traffic.multiplier", 1.0, false);
        config.tolerance = Some(0.001);
        let report = headroom(&model, &config).unwrap();
        assert_eq!(report.verdict, Verdict::Found);
        assert_eq!(report.direction, Direction::Max);
        assert!(!report.direction_given);
        // The default bracket is a quarter to four times today's value.
        assert_eq!((report.lattice.lo, report.lattice.hi), (0.25, 4.0));
        let mut truth = Vec::new();
        for c in &report.per_replication {
            let cliff = model.cliff(c.seed);
            truth.push(cliff);
            assert!(
                c.cliff <= cliff && cliff < c.cliff + 0.001 + 1e-9,
                "{c:?} vs {cliff}"
            );
            assert_eq!(c.first_breaking, Some(model.lattice_next(c.cliff, 0.001)));
            assert_eq!(c.broken, ["p95"]);
        }
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        let (lo, hi) = report.interval.unwrap();
        assert!(lo <= mean && mean <= hi, "{lo}..{hi} vs {mean}");
        assert_eq!(report.interval_kind, Some(IntervalKind::Ci95));
        // The seeds are the sweep's: replication r uses replication_seed(7, r).
        let seeds: Vec<u64> = report.per_replication.iter().map(|c| c.seed).collect();
        assert_eq!(
            seeds,
            (0..5).map(|r| replication_seed(7, r)).collect::<Vec<_>>()
        );
        assert_eq!(report.broken_first, [("p95".to_string(), 5)]);
        assert_eq!(report.runs, model.runs.load(Ordering::Relaxed) as u64);
        // 3,750 steps: 2 ends and 11 or 12 bisection steps (log2 3,750 = 11.9) per replication.
        assert!(
            (5 * (2 + 11)..=5 * (2 + 12)).contains(&report.runs),
            "{}",
            report.runs
        );
        assert!(report.headroom_ratio.unwrap() > 2.0 && !report.warning);
    }

    impl Cliff {
        fn lattice_next(&self, v: f64, step: f64) -> f64 {
            ((v + step) * 1e9).round() / 1e9
        }
    }

    #[test]
    fn the_report_is_the_same_whatever_the_thread_count() {
        let model = Cliff::new("traffic.multiplier", false);
        let mut one = config("traffic.multiplier", 1.0, false);
        one.replications = 7;
        let mut four = one.clone();
        four.threads = Some(4);
        let a = headroom(&model, &one).unwrap();
        let b = headroom(&model, &four).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.summary_text(), b.summary_text());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    #[test]
    fn integer_keys_bisect_on_integers_and_capacity_keys_look_for_the_smallest_value() {
        let model = Cliff::new("temporal.max_concurrent_activities", true);
        let config = config("temporal.max_concurrent_activities", 25.0, true);
        let report = headroom(&model, &config).unwrap();
        assert_eq!(report.direction, Direction::Min);
        assert_eq!((report.lattice.lo, report.lattice.hi), (6.0, 100.0));
        assert_eq!(report.lattice.step, 1.0);
        for c in &report.per_replication {
            let cliff = model.cliff(c.seed);
            assert_eq!(c.cliff, cliff, "{c:?}");
            assert_eq!(c.first_breaking, Some(cliff - 1.0));
        }
        let (lo, hi) = report.interval.unwrap();
        let mean = report.cliff.unwrap().mean;
        assert_eq!(hi, mean + report.cliff.unwrap().ci95.unwrap());
        assert!(lo < mean - 1.0);
        // today / cliff: 25 slots against a cliff of 10-19.
        let ratio = report.headroom_ratio.unwrap();
        assert!((ratio - 25.0 / mean).abs() < 1e-12);
        assert!(report.summary_text().contains("smallest value"));
        // An integer key refuses a fractional tolerance or bracket.
        let mut bad = config.clone();
        bad.tolerance = Some(0.5);
        assert!(
            matches!(headroom(&model, &bad), Err(SweepError::Usage(m)) if m.contains("integers"))
        );
        let mut bad = config.clone();
        bad.range = Some((1.5, 30.0));
        assert!(
            matches!(headroom(&model, &bad), Err(SweepError::Usage(m)) if m.contains("integers"))
        );
    }

    #[test]
    fn a_given_direction_is_followed_and_a_safe_end_that_breaks_is_reported() {
        let model = Cliff::new("traffic.multiplier", false);
        let mut config = config("traffic.multiplier", 1.0, false);
        // Min on a load-like key: the safe end (4.0) breaks in every replication.
        config.direction = Some(Direction::Min);
        let report = headroom(&model, &config).unwrap();
        assert_eq!(
            report.verdict,
            Verdict::SafeEndBreaks {
                broken: vec!["p95".into()]
            }
        );
        assert!(report.safe_end_breaks() && report.per_replication.is_empty());
        assert_eq!(report.runs, 10, "only the ends ran");
        // Both ends break: no direction can be chosen.
        config.direction = None;
        config.range = Some((3.5, 8.0));
        assert!(headroom(&model, &config).unwrap().safe_end_breaks());
        // Both ends hold: no cliff in the bracket, each replication's cliff is the far end.
        config.range = Some((0.5, 1.5));
        let report = headroom(&model, &config).unwrap();
        assert_eq!(report.verdict, Verdict::NoCliff);
        assert_eq!(report.censored, 5);
        let text = report.summary_text();
        assert!(text.contains("no cliff in the bracket"));
        // Every replication censored: the mean is a bound, and no "95% interval" is claimed.
        assert!(text.contains("a bound, not an interval"), "{text}");
        assert!(!text.contains("95% interval"), "{text}");
        // And the JSON says so beside the interval.
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["interval_kind"], "bound", "{json}");
    }

    #[test]
    fn a_close_cliff_warns() {
        let model = Cliff::new("traffic.multiplier", false);
        let mut config = config("traffic.multiplier", 2.3, false);
        config.range = Some((1.0, 4.0));
        let report = headroom(&model, &config).unwrap();
        assert!(report.warning, "{report:?}");
        assert!(report.summary_text().contains("WARNING"));
        config.current = 1.0;
        assert!(!headroom(&model, &config).unwrap().warning);
    }

    /// For a minimum, "within 20% of today's value" is a pessimistic end above 0.8x today
    /// (the ratio today / end below 1.25): it used to take 1.2, i.e. above 0.83x.
    #[test]
    fn a_close_minimum_warns_within_twenty_percent() {
        let model = Cliff::new("temporal.max_concurrent_activities", true);
        let mut config = config("temporal.max_concurrent_activities", 25.0, true);
        // Some today's value puts the ratio today / hi between 1.2 and 1.25: within 20%.
        let close = (40..120)
            .find_map(|half| {
                config.current = f64::from(half) / 2.0;
                let report = headroom(&model, &config).unwrap();
                let worst = report.headroom_ratio_worst?;
                (1.2..1.25).contains(&worst).then_some(report)
            })
            .expect("a today's value within 20% of the cliff");
        let (_, hi) = close.interval.unwrap();
        assert!(hi >= 0.8 * config.current, "{close:?}");
        assert!(close.warning, "{close:?}");
    }

    /// One replication has no spread: the text gives the step of resolution, not a 95% interval.
    #[test]
    fn one_replication_claims_no_ninety_five_percent_interval() {
        let model = Cliff::new("traffic.multiplier", false);
        let mut config = config("traffic.multiplier", 1.0, false);
        config.replications = 1;
        let report = headroom(&model, &config).unwrap();
        let text = report.summary_text();
        assert!(
            text.contains("one replication, so no 95% interval"),
            "{text}"
        );
        // A reader of the JSON is told the same, not handed an interval to take as a 95% one.
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["interval_kind"], "resolution", "{json}");
        assert!(json["interval"].is_array(), "{json}");
    }

    #[test]
    fn bad_input_runs_nothing_and_names_the_key() {
        let model = Cliff::new("traffic.multiplier", false);
        let error = headroom(&model, &config("traffic.multipler", 1.0, false)).unwrap_err();
        assert!(
            matches!(&error, SweepError::Scenario(m) if m == &["traffic.multipler: unknown key"])
        );
        let mut negative = config("traffic.multiplier", 1.0, false);
        negative.range = Some((-1.0, 2.0));
        let error = headroom(&model, &negative).unwrap_err();
        assert!(
            error.to_string().contains("expected a number >= 0"),
            "{error}"
        );
        let zero = config("traffic.multiplier", 0.0, false);
        let error = headroom(&model, &zero).unwrap_err();
        assert!(error.to_string().contains("--range"), "{error}");
        let mut tiny = config("traffic.multiplier", 1.0, false);
        tiny.tolerance = Some(1e-9);
        assert!(matches!(headroom(&model, &tiny), Err(SweepError::Usage(_))));
        assert_eq!(model.runs.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_panicking_run_is_reported_with_its_seed_and_command() {
        let mut model = Cliff::new("traffic.multiplier", false);
        let seed = replication_seed(7, 2);
        model.panic_seed = Some(seed);
        let error = headroom(&model, &config("traffic.multiplier", 1.0, false)).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, SweepError::RunFailed { .. }));
        assert!(
            text.contains(&format!("seed {seed}: bug: the model panicked")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "reproduce with: sim run f.toml --set traffic.multiplier=0.25 --seed {seed}"
            )),
            "{text}"
        );
    }

    #[test]
    fn an_end_that_breaks_only_with_nothing_to_measure_is_refused() {
        let mut model = Cliff::new("traffic.multiplier", false);
        model.idle_below = 0.1;
        let mut config = config("traffic.multiplier", 1.0, false);
        config.range = Some((0.0, 4.0));
        let error = headroom(&model, &config).unwrap_err();
        assert!(matches!(error, SweepError::Usage(_)), "{error}");
        let text = error.to_string();
        assert!(
            text.starts_with(
                "--range: at traffic.multiplier = 0.0 the runs that break have nothing to \
                 measure (seed "
            ) && text.contains("\"p95\": no sample"),
            "{text}"
        );
        // Above the idle values the search runs as before.
        config.range = Some((0.5, 4.0));
        assert_eq!(headroom(&model, &config).unwrap().verdict, Verdict::Found);
        // An end with a real break besides is a verdict, not bad input.
        model.idle_breaks = true;
        config.range = Some((0.0, 4.0));
        assert!(headroom(&model, &config).is_ok());
    }

    #[test]
    fn lattice_values_print_as_typed() {
        let lattice = Lattice {
            lo: 0.25,
            hi: 4.0,
            step: 0.01,
            steps: 375,
            integer: false,
        };
        assert_eq!(lattice.assignment("k", 7), "k=0.32");
        assert_eq!(lattice.assignment("k", 75), "k=1.0");
        assert_eq!(lattice.value(375), 4.0);
        assert_eq!(round_step(3.75 / 200.0), 0.01);
        assert_eq!(round_step(0.05), 0.05);
        assert_eq!(round_step(0.3), 0.2);
        assert_eq!(format_value(12.0, true), "12");
        assert_eq!(format_value(0.0, false), "0.0");
        assert_eq!(format_value(0.5, false), "0.5");
        // Huge and tiny ends stay numbers TOML reads back exactly (a 309-digit integer would
        // overflow and be read as a string).
        assert_eq!(format_value(1e308, false), "1e308");
        assert_eq!(format_value(1e16, false), "1e16");
        assert_eq!(format_value(2.5e-7, false), "0.00000025");
        for v in [1e308, 1e15, 2.5e-7, 1e-320, 0.1 + 0.2] {
            assert_eq!(format_value(v, false).parse::<f64>(), Ok(v));
        }
        // A bracket too fine for its tolerance names its ends as typed, integers as integers.
        let mut huge = config("temporal.max_concurrent_activities", 10.0, true);
        huge.range = Some((1.0, 1e30));
        let check = |c: &HeadroomConfig| Lattice::new(c).and_then(|l| l.check_steps(c));
        assert_eq!(
            check(&huge).err().unwrap(),
            "--tolerance (not given: 1, as for every integer key): the bracket 1..1.00e30 would \
             have 1.00e30 steps, more than 1048576; narrow the --range or give a larger \
             --tolerance"
        );
        huge.tolerance = Some(1.0);
        assert_eq!(
            check(&huge).err().unwrap(),
            "--tolerance 1: the bracket 1..1.00e30 would have 1.00e30 steps, more than 1048576; \
             use a larger tolerance"
        );
        // A tolerance too small to print in decimals is shown as written, not as 0.
        let mut tiny = config("traffic.rate_per_s", 8.0, false);
        tiny.range = Some((1.0, 2.0));
        tiny.tolerance = Some(1e-300);
        let error = check(&tiny).err().unwrap();
        assert!(error.starts_with("--tolerance 1e-300: "), "{error}");
        // A tolerance as wide as the bracket cannot place the cliff: refused.
        tiny.tolerance = Some(5.0);
        assert_eq!(
            Lattice::new(&tiny).err().unwrap(),
            "--tolerance 5.00: as wide as the bracket 1.00..2.00 or wider, so the cliff could \
             be anywhere in it; give a tolerance below 1.00"
        );
        tiny.tolerance = Some(0.5);
        assert!(check(&tiny).is_ok());
    }
}
