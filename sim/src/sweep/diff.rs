//! `sim diff A.toml B.toml`: runs both scenarios with common random numbers (replication r of
//! each uses `replication_seed(A's seed, r)`, so both see the same customers) and reports the
//! paired differences B − A of the key metrics with 95% confidence intervals. Pairing removes
//! the workload noise both share, so small effects show with few replications.
//!
//! An SLO counts as met by a scenario when it held in every replication. `breaks_slo` is true
//! when B fails (in at least one replication) an SLO, matched by name, that A met: the CI gate.
//! An SLO of A that B does not declare is judged on B's runs all the same (`diff`), so a
//! change cannot pass the gate by deleting the SLO it breaks. Nor by removing or renaming the
//! workload it bounds: an SLO of A that A meets, bound to a workload B has no workload of that
//! name for, counts as broken (`b_lacks_workload`). A deliberate rename keeps the SLO's name in
//! B (`name = "chat.response_latency_p95_s"`, `workload = "chat2"`), so B declares it and it
//! judges the renamed workload. An SLO of B bound to a workload A lacks (a new workload) judges
//! only B: the gate holds A to A's SLOs alone (`a_lacks_workload`).
//!
//! Two scenarios that run for different horizons, or skip different warmups, still diff, but
//! their numbers measure different things (`incomparable`): the report carries a warning, and
//! `sim diff` prints it before anything runs. Not an error: comparing a day with an hour can be
//! the point, but it should never pass unnoticed.

use super::metrics::{METRICS, Unit};
use super::{RunMetrics, Stats, SweepError, SweepModel, with_pool};
use crate::engine::rng::replication_seed;
use rayon::prelude::*;
use serde::Serialize;

/// One metric of a diff.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricDiff {
    pub metric: &'static str,
    pub a: Stats,
    pub b: Stats,
    /// Statistics of the paired differences B − A.
    pub difference: Stats,
    /// "B raises p95 response latency by 4.1 s ± 0.6 s".
    pub sentence: String,
}

/// One SLO of a diff, by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloDiff {
    pub name: String,
    /// Held in every replication of A; `None` when A has no SLO of that name.
    pub a_met: Option<bool>,
    pub b_met: Option<bool>,
    /// B does not declare this SLO: `b_met` judges B's runs by A's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub b_judged_by_a: bool,
    /// The workload A's SLO bounds, which B (not declaring the SLO) has no workload of that name
    /// for: B cannot be judged by it (`b_met` is `None`), and when A meets it that counts as B
    /// breaking it. Absent from the JSON otherwise, so other reports are unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_lacks_workload: Option<String>,
    /// The same the other way round: B's SLO bounds a workload A has none of (a new workload),
    /// so A is not judged by it (`a_met` is `None`) and it cannot break the gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_lacks_workload: Option<String>,
}

impl SloDiff {
    /// The gate's verdict on this SLO: A met it in every replication, and B failed it in one or
    /// has no workload to judge it on. A change must not pass the gate by deleting the workload
    /// an SLO bounds any more than by deleting the SLO.
    pub fn breaks(&self) -> bool {
        self.a_met == Some(true) && (self.b_met == Some(false) || self.b_lacks_workload.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffReport {
    pub a: String,
    pub b: String,
    pub replications: u32,
    /// A's master seed, used for both.
    pub seed: u64,
    pub metrics: Vec<MetricDiff>,
    pub slos: Vec<SloDiff>,
    /// B fails an SLO that A meets: `sim diff` exits 1.
    pub breaks_slo: bool,
    /// Why A's and B's numbers are not comparable (`incomparable`); absent from the JSON when
    /// there is nothing to say, so the report of a like-for-like diff is unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl DiffReport {
    /// The human summary for stdout.
    pub fn summary_text(&self) -> String {
        let mut text = format!(
            "diff A = {} vs B = {}: {}, seed {}\n",
            self.a,
            self.b,
            crate::output::text::count(self.replications, "paired replication"),
            self.seed
        );
        for m in &self.metrics {
            text += &format!("  {}\n", m.sentence);
        }
        let short =
            |name: &str| crate::output::text::ellipsize(name, crate::output::text::MAX_CELL_CHARS);
        // Why a side has no verdict: the workload the SLO bounds is missing there.
        let state = |met: Option<bool>, lacks: &Option<String>| match (met, lacks) {
            (Some(true), _) => "met".to_string(),
            (Some(false), _) => "failed".to_string(),
            (None, Some(w)) => format!("has no workload \"{}\"", short(w)),
            (None, None) => "absent".to_string(),
        };
        let mut lacking = Vec::new();
        for s in &self.slos {
            let mark = if s.breaks() { "  <- B breaks it" } else { "" };
            let judged = if s.b_judged_by_a {
                " (by A's SLO: B does not declare it)"
            } else {
                ""
            };
            text += &format!(
                "  slo {}: A {}, B {}{judged}{mark}\n",
                short(&s.name),
                state(s.a_met, &s.a_lacks_workload),
                state(s.b_met, &s.b_lacks_workload)
            );
            if let (true, Some(w)) = (s.breaks(), &s.b_lacks_workload) {
                lacking.push((short(&s.name), short(w)));
            }
        }
        // The fix for a deliberate rename is not obvious from the verdict alone: say it.
        for (name, workload) in lacking {
            text += &format!(
                "B lacks workload \"{workload}\", which A's SLO {name} bounds: removing or \
                 renaming a workload breaks its SLOs; to rename it, give B an [[slo]] named \
                 \"{name}\" on the new workload\n"
            );
        }
        if self.breaks_slo {
            text += "B breaks an SLO that A meets\n";
        }
        text
    }
}

/// Diffs two scenarios with the real model. `run_commands` are the `sim run` commands (without
/// `--seed`) that load A and B, for the reproduce line of a failed run; `progress` shows a bar
/// of the runs on stderr (drawn only when it is a terminal).
pub fn diff(
    a: &crate::scenario::Scenario,
    b: &crate::scenario::Scenario,
    replications: u32,
    threads: Option<usize>,
    run_commands: Option<&[String; 2]>,
    progress: bool,
) -> Result<DiffReport, SweepError> {
    // A's SLOs that B does not declare (by name) judge B's runs too; SLOs change no draw, so
    // B runs as it would. One bound to a workload B does not have cannot be judged.
    let mut judged = b.clone();
    let mut adopted = Vec::new();
    let has_workload = |s: &crate::scenario::Scenario, w: &String| {
        s.workloads.iter().any(|x| x.name.as_ref() == Some(w))
    };
    for slo in &a.slos {
        let declared = b.slos.iter().any(|s| s.name == slo.name);
        let judgeable = slo.workload.as_ref().is_none_or(|w| has_workload(b, w));
        if !declared && judgeable {
            judged.slos.push(slo.clone());
            adopted.push(slo.name.clone());
        }
    }
    let mut report = diff_with(
        &super::Fleet::default(),
        &super::FleetPoint::Resolved(Box::new(a.clone())),
        &super::FleetPoint::Resolved(Box::new(judged)),
        replications,
        threads,
        run_commands,
        progress,
    )?;
    // A side with no verdict on an SLO the other side has: say whether that is because the
    // workload it bounds is missing there. For B that breaks the gate (see `SloDiff::breaks`),
    // so a removed or renamed workload cannot slip through as "absent".
    let lacks = |declared: &[crate::scenario::Slo], s: &crate::scenario::Scenario, name: &str| {
        declared
            .iter()
            .find(|slo| slo.name == name)
            .and_then(|slo| slo.workload.clone())
            .filter(|w| !has_workload(s, w))
    };
    for slo in &mut report.slos {
        slo.b_judged_by_a = adopted.contains(&slo.name);
        if slo.b_met.is_none() {
            slo.b_lacks_workload = lacks(&a.slos, b, &slo.name);
        }
        if slo.a_met.is_none() {
            slo.a_lacks_workload = lacks(&b.slos, a, &slo.name);
        }
    }
    report.breaks_slo = report.slos.iter().any(SloDiff::breaks);
    report.warnings = incomparable(a, b);
    Ok(report)
}

/// What makes A's and B's numbers measure different things although both run: a different
/// `run.horizon` (counts, crashes and cost are totals over different times; percentiles cover
/// different hours of the day) or a different `run.warmup` (latency statistics and cache
/// counters skip different starts). One sentence per key, naming both values, the key and the
/// flag that makes them one. The seeds may differ: both run with A's.
pub fn incomparable(a: &crate::scenario::Scenario, b: &crate::scenario::Scenario) -> Vec<String> {
    use crate::scenario::format_duration;
    let mut warnings = Vec::new();
    if a.run.horizon != b.run.horizon {
        warnings.push(format!(
            "A runs for {} and B for {} (run.horizon): totals (counts, crashes, cost) are not \
             comparable, and percentiles cover different hours; --horizon DURATION gives both one \
             horizon",
            format_duration(a.run.horizon),
            format_duration(b.run.horizon)
        ));
    }
    if a.run.warmup != b.run.warmup {
        warnings.push(format!(
            "A's warmup is {} and B's {} (run.warmup): latency percentiles and cache counters \
             skip different starts and are not comparable; --set run.warmup=DURATION gives \
             both one warmup",
            format_duration(a.run.warmup),
            format_duration(b.run.warmup)
        ));
    }
    warnings
}

/// Diffs two scenarios of any model: both run `replications` times with the seeds of A. A run
/// that fails or panics is reported with its seed and, given `run_commands`, the command that
/// reproduces it alone. `progress`: a bar counting the runs, as `sim sweep` shows.
pub fn diff_with<M: SweepModel>(
    model: &M,
    a: &M::Scenario,
    b: &M::Scenario,
    replications: u32,
    threads: Option<usize>,
    run_commands: Option<&[String; 2]>,
    progress: bool,
) -> Result<DiffReport, SweepError> {
    if replications == 0 {
        return Err(SweepError::Usage(
            "--replications must be at least 1".into(),
        ));
    }
    let (a_name, seed) = model.describe(a);
    let (b_name, _) = model.describe(b);
    // Run order: A0, B0, A1, B1, ...; collected in that order whatever finishes first.
    let jobs: Vec<(bool, u32)> = (0..replications)
        .flat_map(|r| [(false, r), (true, r)])
        .collect();
    let bar = crate::progress::counter(
        crate::progress::enabled(progress),
        &format!("{a_name} vs {b_name}"),
        jobs.len() as u64,
        "runs",
    );
    let results: Vec<Result<RunMetrics, String>> = with_pool(threads, || {
        jobs.par_iter()
            .map(|&(is_b, r)| {
                let s = replication_seed(seed, r);
                let result = super::catch_panic(|| model.run(if is_b { b } else { a }, s));
                bar.inc(1);
                result.map_err(|e| {
                    let mut text = format!(
                        "{} replication {r} seed {s}: {e}",
                        if is_b { "B" } else { "A" }
                    );
                    if let Some(commands) = run_commands {
                        let command = &commands[is_b as usize];
                        text += &format!("\n    reproduce with: {command} --seed {s}");
                    }
                    text
                })
            })
            .collect()
    })?;
    bar.finish_and_clear();
    let mut failures = Vec::new();
    let mut runs = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(m) => runs.push(m),
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        let count = failures.len();
        failures.truncate(5);
        return Err(SweepError::RunFailed { failures, count });
    }
    let a_runs: Vec<&RunMetrics> = runs.iter().step_by(2).collect();
    let b_runs: Vec<&RunMetrics> = runs.iter().skip(1).step_by(2).collect();
    let metrics = METRICS
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let a_values: Vec<f64> = a_runs.iter().map(|m| m.values[i]).collect();
            let b_values: Vec<f64> = b_runs.iter().map(|m| m.values[i]).collect();
            let d: Vec<f64> = a_values.iter().zip(&b_values).map(|(x, y)| y - x).collect();
            let difference = Stats::of(&d);
            MetricDiff {
                metric: metric.name,
                a: Stats::of(&a_values),
                b: Stats::of(&b_values),
                difference,
                sentence: sentence(metric.label, metric.unit, &difference),
            }
        })
        .collect();
    let met = |runs: &[&RunMetrics], name: &str| -> Option<bool> {
        let mut found = false;
        let mut all_ok = true;
        for m in runs {
            for (n, ok) in &m.slos {
                if n == name {
                    found = true;
                    all_ok &= *ok;
                }
            }
        }
        found.then_some(all_ok)
    };
    let mut names: Vec<String> = Vec::new();
    for m in a_runs.iter().chain(&b_runs) {
        for (n, _) in &m.slos {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let slos: Vec<SloDiff> = names
        .into_iter()
        .map(|name| SloDiff {
            a_met: met(&a_runs, &name),
            b_met: met(&b_runs, &name),
            b_judged_by_a: false,
            b_lacks_workload: None,
            a_lacks_workload: None,
            name,
        })
        .collect();
    let breaks_slo = slos.iter().any(SloDiff::breaks);
    Ok(DiffReport {
        a: a_name,
        b: b_name,
        replications,
        seed,
        metrics,
        slos,
        breaks_slo,
        warnings: Vec::new(),
    })
}

/// Decimal places that show `scale` with two significant digits (at most 6).
fn places(scale: f64) -> usize {
    if scale <= 0.0 || !scale.is_finite() {
        return 0;
    }
    (1 - scale.log10().floor() as i64).clamp(0, 6) as usize
}

/// Decimal places that show `scale` with one significant digit (at most 6).
fn places_one_digit(scale: f64) -> usize {
    if scale <= 0.0 || !scale.is_finite() {
        return 0;
    }
    (-(scale.log10().floor() as i64)).clamp(0, 6) as usize
}

fn quantity(v: f64, unit: Unit, places: usize) -> String {
    match unit {
        Unit::Seconds => format!("{v:.places$} s"),
        Unit::Usd => format!("${v:.places$}"),
        Unit::UsdPerHour => format!("${v:.places$}/h"),
        _ => format!("{v:.places$}"),
    }
}

/// "B raises p95 response latency by 4.1 s ± 0.6 s", "B lowers total cost by $1.20 ± $0.30",
/// "B leaves OOM crashes unchanged"; "(not significant)" when the interval contains zero.
pub fn sentence(label: &str, unit: Unit, d: &Stats) -> String {
    let mean = d.mean;
    if mean == 0.0 && d.sd.unwrap_or(0.0) == 0.0 {
        return format!("B leaves {label} unchanged");
    }
    let verb = if mean > 0.0 {
        "raises"
    } else if mean < 0.0 {
        "lowers"
    } else {
        "changes"
    };
    // Sub-millisecond times (a wait for a slot that is mostly nil) in microseconds: six
    // decimals of a second showed "by 0.000000 s ± 0.000000 s".
    let micro = unit == Unit::Seconds && mean.abs().max(d.ci95.unwrap_or(0.0)) < 1e-3;
    let scale = if micro { 1e6 } else { 1.0 };
    let mean = mean * scale;
    let ci95 = d.ci95.map(|h| h * scale);
    let quantity = |v: f64, places: usize| {
        if micro {
            format!("{v:.places$} µs")
        } else {
            quantity(v, unit, places)
        }
    };
    let half = ci95.unwrap_or(0.0);
    // Two significant digits of the larger of the two, and at least one of the half-width, so
    // that a tight interval does not round to "± 0" ("91 s ± 0 s" is "91.2 s ± 0.3 s"). A
    // half-width that is rounding noise beside the mean counts as none.
    let mut places = places(mean.abs().max(half));
    if half > crate::output::text::TINY * mean.abs().max(1.0) {
        places = places.max(places_one_digit(half));
    }
    if matches!(unit, Unit::Usd | Unit::UsdPerHour) {
        places = places.max(2);
    }
    let by = quantity(mean.abs(), places);
    match ci95 {
        None => format!("B {verb} {label} by {by} (one replication: no confidence interval)"),
        Some(h) => {
            let note = if h >= mean.abs() {
                " (not significant at 95%)"
            } else {
                ""
            };
            format!("B {verb} {label} by {by} ± {}{note}", quantity(h, places))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mean difference of exactly zero that varies neither raises nor lowers.
    #[test]
    fn a_zero_mean_that_varies_changes() {
        let d = Stats::of(&[1.0, -1.0]);
        assert!(
            sentence("p95 response latency", Unit::Seconds, &d)
                .starts_with("B changes p95 response latency by 0"),
            "{}",
            sentence("p95 response latency", Unit::Seconds, &d)
        );
    }

    #[test]
    fn sentences() {
        let d = Stats {
            n: 5,
            mean: 4.1234,
            sd: Some(0.5),
            ci95: Some(0.61),
        };
        assert_eq!(
            sentence("p95 response latency", Unit::Seconds, &d),
            "B raises p95 response latency by 4.1 s ± 0.6 s"
        );
        let d = Stats {
            n: 5,
            mean: -1.2,
            sd: Some(0.2),
            ci95: Some(0.3),
        };
        assert_eq!(
            sentence("total cost", Unit::Usd, &d),
            "B lowers total cost by $1.20 ± $0.30"
        );
        let d = Stats {
            n: 3,
            mean: 0.0,
            sd: Some(0.0),
            ci95: Some(0.0),
        };
        assert_eq!(
            sentence("OOM crashes", Unit::Count, &d),
            "B leaves OOM crashes unchanged"
        );
        // Sub-millisecond times in microseconds, not "0.000000 s ± 0.000000 s".
        let d = Stats {
            n: 10,
            mean: 3e-7,
            sd: Some(4.83e-7),
            ci95: Some(3.46e-7),
        };
        assert_eq!(
            sentence("p95 activity schedule-to-start", Unit::Seconds, &d),
            "B raises p95 activity schedule-to-start by 0.30 µs ± 0.35 µs (not significant at \
             95%)"
        );
        let d = Stats {
            n: 3,
            mean: 0.02,
            sd: Some(0.1),
            ci95: Some(0.25),
        };
        assert_eq!(
            sentence("p50 response latency", Unit::Seconds, &d),
            "B raises p50 response latency by 0.02 s ± 0.25 s (not significant at 95%)"
        );
    }

    /// An interval much tighter than its mean shows a digit of its own rather than "± 0".
    #[test]
    fn a_tight_interval_keeps_a_significant_digit() {
        let cases = [
            (
                Unit::Seconds,
                91.234,
                0.31,
                "B raises lag by 91.2 s ± 0.3 s",
            ),
            (
                Unit::Usd,
                0.001234,
                0.000021,
                "B raises lag by $0.00123 ± $0.00002",
            ),
            (Unit::Count, 660.4, 18.2, "B raises lag by 660 ± 18"),
            (Unit::Count, 5.0, 1e-12, "B raises lag by 5.0 ± 0.0"),
            (Unit::Seconds, 3.0, 0.0, "B raises lag by 3.0 s ± 0.0 s"),
        ];
        for (unit, mean, half, expected) in cases {
            let d = Stats {
                n: 10,
                mean,
                sd: Some(half),
                ci95: Some(half),
            };
            assert_eq!(sentence("lag", unit, &d), expected, "{mean} ± {half}");
        }
    }
}
