//! Limits derived up front: everything a scenario can make large (arrivals over the horizon,
//! open conversations, instances, events, time-series rows, SLO and timeline counts, file and
//! CSV sizes) is checked against a documented limit before anything runs, so a run cannot eat
//! memory or time until it is killed. Each message names the key, the limit and how to raise it.
//!
//! `check_raw` runs on the parsed tree before resolution (counts that would make validation
//! itself slow); `check_resolved` runs on the resolved scenario, timeline included.

use super::config::*;
use super::diag::{Diags, Origin};
use super::raw::{Node, Value};

/// The largest scenario file: 8 MiB (the largest real one is under 20 KB).
pub const MAX_SCENARIO_FILE_BYTES: usize = 8 << 20;
/// The largest CSV file a scenario may name (a trace or an empirical distribution): 256 MiB.
pub const MAX_CSV_FILE_BYTES: usize = 256 << 20;
/// The most values a CSV file may hold: 10 million rows.
pub const MAX_CSV_ROWS: usize = 10_000_000;
/// The most `[[slo]]` tables.
pub const MAX_SLOS: usize = 1_000;
/// The most `[[timeline]]` entries: each `set` resolves a whole effective scenario.
pub const MAX_TIMELINE_ENTRIES: usize = 1_000;
/// The most (timeline sets) x (scenario file bytes): 100 MB, e.g. 1,000 sets on a 100 KB file.
pub const MAX_TIMELINE_WORK_BYTES: usize = 100_000_000;
/// The most `[providers.NAME]` tables, and the most `[provider_groups]` entries.
pub const MAX_PROVIDERS: usize = 1_000;
/// The most points of a piecewise traffic profile.
pub const MAX_RATE_POINTS: usize = 100_000;

/// The default of `run.max_events`, a fixed number rather than one scaled to the scenario: it
/// fits a voice fleet's day of 10,000,000 calls at up to 1,000 events per call (the voice story
/// processes about 64 per call over a day), so a fleet that large runs with the defaults, and
/// it still stops a runaway run after about half an hour of CPU at the model's event rate. The
/// up-front estimate in `check_resolved` refuses a scenario sure to exceed it.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

/// The default of `run.max_memory`: the state of a run that falls behind its traffic grows
/// without end, and this stops it with an error long before it takes a laptop's memory. The
/// stories' runs hold a few megabytes (the voice peak, a million calls a day, under 4 MiB at
/// about 1,900 calls open), so a fleet ten times that holds tens of megabytes at most.
pub const DEFAULT_MAX_MEMORY: u64 = 2 << 30;
/// The least `run.max_memory`: below it a run could fail on its fixed structures alone.
pub const MIN_MAX_MEMORY: u64 = 1 << 20;

/// The most activities one turn may have in flight at once: the widths of nested parallel
/// steps multiply (three levels of 1,000 are a billion activities, started by one event, before
/// any memory check could run), so their product is bounded; 100,000 is some tens of megabytes.
pub const MAX_IN_FLIGHT_PER_TURN: f64 = 100_000.0;

/// Defaults of the `[run]` limit keys that only this module reads.
pub const DEFAULT_MAX_CONVERSATIONS: u64 = 10_000_000;
pub const DEFAULT_MAX_INSTANCES: u64 = 10_000;
pub const DEFAULT_MAX_TIMESERIES_ROWS: u64 = 1_000_000;
/// The most values (rows x columns) the time series may hold: a fixed limit, so that a fleet
/// of many providers (three columns each) at a fine sample interval cannot fill gigabytes. The
/// default row limit at the stories' 29 columns is under a third of it.
pub const MAX_TIMESERIES_VALUES: u64 = 100_000_000;

pub(crate) fn file_too_large(bytes: usize) -> String {
    format!(
        "the file has {bytes} bytes, more than the limit of {MAX_SCENARIO_FILE_BYTES} \
         (a scenario file is at most 8 MiB; put large data in a CSV file)"
    )
}

/// Counts in the raw tree; false when one is over its limit (resolution is then skipped, since
/// resolving it is what would take long).
pub(crate) fn check_raw(root: &Node, file_bytes: usize, diags: &mut Diags) -> bool {
    let Value::Table(top) = &root.value else {
        return true;
    };
    let mut ok = true;
    // Each timeline set resolves (and keeps) a whole copy of the scenario.
    if let Some(Node {
        value: Value::Array(entries),
        origin,
    }) = top.get("timeline")
    {
        let sets = entries
            .iter()
            .filter(|e| matches!(&e.value, Value::Table(t) if t.get("set").is_some()))
            .count();
        let work = sets.saturating_mul(file_bytes.max(1));
        if work > MAX_TIMELINE_WORK_BYTES {
            ok = false;
            diags.error(
                origin,
                "timeline",
                format!(
                    "{sets} timeline sets on a scenario of {file_bytes} bytes: each set keeps a \
                     whole copy of the scenario, and sets x bytes must stay below \
                     {MAX_TIMELINE_WORK_BYTES} (a fixed limit of sim): use fewer sets or a \
                     smaller file"
                ),
            );
        }
    }
    let mut count = |node: Option<&Node>, path: &str, limit: usize, what: &str| {
        let Some(node) = node else { return };
        let n = match &node.value {
            Value::Array(items) => items.len(),
            Value::Table(table) => table.entries.len(),
            _ => return,
        };
        if n > limit {
            ok = false;
            diags.error(
                &node.origin,
                path,
                format!(
                    "{n} {what}, more than the limit of {limit} (a fixed limit of sim: \
                     split the scenario into several files)"
                ),
            );
        }
    };
    // Borrowed, not cloned: a copy of `agent.steps` to count it cost as much as resolving
    // the steps (a sweep does this for every grid point).
    fn table_of<'n>(node: Option<&'n Node>, key: &str) -> Option<&'n Node> {
        match node.map(|n| &n.value) {
            Some(Value::Table(t)) => t.get(key),
            _ => None,
        }
    }
    count(top.get("slo"), "slo", MAX_SLOS, "[[slo]] tables");
    count(
        top.get("timeline"),
        "timeline",
        MAX_TIMELINE_ENTRIES,
        "[[timeline]] entries",
    );
    count(
        table_of(top.get("agent"), "steps"),
        "agent.steps",
        MAX_STEPS,
        "[[agent.steps]]",
    );
    count(
        top.get("workloads"),
        "workloads",
        MAX_WORKLOADS,
        "[[workloads]] tables",
    );
    let workloads: &[Node] = match top.get("workloads").map(|n| &n.value) {
        Some(Value::Array(items)) if items.len() <= MAX_WORKLOADS => items,
        _ => &[],
    };
    for (i, workload) in workloads.iter().enumerate() {
        count(
            table_of(table_of(Some(workload), "agent"), "steps"),
            &format!("workloads.{i}.agent.steps"),
            MAX_STEPS,
            "[[workloads.agent.steps]]",
        );
        count(
            table_of(table_of(Some(workload), "traffic"), "points"),
            &format!("workloads.{i}.traffic.points"),
            MAX_RATE_POINTS,
            "rate points",
        );
    }
    count(
        top.get("providers"),
        "providers",
        MAX_PROVIDERS,
        "[providers.NAME] tables",
    );
    count(
        top.get("provider_groups"),
        "provider_groups",
        MAX_PROVIDERS,
        "provider groups",
    );
    count(
        table_of(top.get("traffic"), "points"),
        "traffic.points",
        MAX_RATE_POINTS,
        "rate points",
    );
    ok
}

/// The limits that need the resolved scenario: expected arrivals, open conversations,
/// instances, events and time-series rows.
pub(crate) fn check_resolved(scenario: &Scenario, diags: &mut Diags) {
    let run = &scenario.run;
    let horizon = run.horizon;
    let phases = phases(scenario);

    let arrivals: f64 = phases
        .iter()
        .map(|(from, to, s)| {
            s.workloads
                .iter()
                .map(|w| expected_arrivals(&w.traffic, *from, *to))
                .sum::<f64>()
        })
        .sum();
    if arrivals > run.max_conversations as f64 {
        diags.error(
            &Origin::Whole,
            "run.max_conversations",
            format!(
                "the traffic brings about {} conversations over the horizon, more than the \
                 limit of {}: lower the rate or the horizon, or raise run.max_conversations",
                round(arrivals),
                run.max_conversations
            ),
        );
    }

    // Little's law: conversations open at once ~ arrival rate x how long one stays open.
    let open_peak = phases
        .iter()
        .map(|(from, to, s)| {
            s.workloads
                .iter()
                .map(|w| peak_rate(&w.traffic, *from, *to) * conversation_lifetime_s(w))
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    if open_peak > run.max_open_conversations as f64 {
        diags.error(
            &Origin::Whole,
            "run.max_open_conversations",
            format!(
                "at the peak arrival rate about {} conversations would be open at once \
                 (rate x (messages x think time + idle_timeout)), more than \
                 the limit of {}: lower the rate or raise run.max_open_conversations",
                round(open_peak),
                run.max_open_conversations
            ),
        );
    }

    for (i, w) in scenario.workloads.iter().enumerate() {
        // The timeline may set a width: the most over every phase.
        let in_flight = phases
            .iter()
            .filter_map(|(_, _, s)| Some(most_in_flight(&s.workloads.get(i)?.agent.steps)))
            .fold(0.0, f64::max);
        if in_flight > MAX_IN_FLIGHT_PER_TURN {
            diags.error(
                &Origin::Whole,
                &format!("{}agent.steps", w.key_prefix(i)),
                format!(
                    "one turn may have up to {} activities in flight at once (the widths of \
                     nested parallel steps multiply), more than the limit of {}: narrow a \
                     width, or run the inner fan-out in sequence",
                    round(in_flight),
                    round(MAX_IN_FLIGHT_PER_TURN)
                ),
            );
        }
    }

    for (_, _, s) in &phases {
        let (key, instances) = s.autoscaler.max_instances_key();
        if u64::from(instances) > run.max_instances {
            diags.error(
                &Origin::Whole,
                key,
                format!(
                    "{instances} instances, more than the limit of run.max_instances = {}: \
                     raise run.max_instances if the fleet really is this large",
                    run.max_instances
                ),
            );
            break;
        }
    }

    let rows = horizon / run.sample_interval.max(1);
    if rows > run.max_timeseries_rows {
        diags.error(
            &Origin::Whole,
            "run.sample_interval",
            format!(
                "{rows} time-series rows (horizon / sample_interval), more than the limit of \
                 run.max_timeseries_rows = {}: use a longer sample_interval or raise \
                 run.max_timeseries_rows",
                run.max_timeseries_rows
            ),
        );
    }

    // Each row has a value per column, and the per-provider columns multiply: 1,000 providers
    // at a one-second interval over 11 days is a billion values, gigabytes held and written.
    let columns = timeseries_columns(scenario, &phases);
    let values = rows.saturating_mul(columns);
    if values > MAX_TIMESERIES_VALUES {
        diags.error(
            &Origin::Whole,
            "run.sample_interval",
            format!(
                "{rows} time-series rows of {columns} columns (3 per provider, more per \
                 provider with a quota) are {values} values, more than the limit of \
                 {MAX_TIMESERIES_VALUES} (a fixed limit of sim: a timeseries.csv of gigabytes): \
                 use a longer sample_interval, a shorter horizon or fewer providers"
            ),
        );
    }

    let events = event_estimate(scenario);
    if events > run.max_events as f64 {
        diags.error(
            &Origin::Whole,
            "run.max_events",
            format!(
                "the run would need more than {} events (half the expected arrivals x \
                 messages reached x (1 + the llm and tool steps of a turn reached, nested ones \
                 at their mean widths and counts, retries counted twice; the attempts of steps \
                 with CPU work at most as many as the fleet's vCPUs can run), plus time-series \
                 samples and autoscaler evaluations), more than the limit of {}: shorten the \
                 horizon, lengthen run.sample_interval or the autoscaler's interval \
                 (evaluation_interval, sync_period, polling_interval), lower a tool's \
                 failure_probability or a provider's error_probability, raise a \
                 start_to_close_timeout or a provider's timeout, or set \
                 retry.maximum_attempts, or raise run.max_events",
                round(events),
                run.max_events
            ),
        );
    }
}

/// The events a run of `scenario` surely needs, as `run.max_events` is checked against:
/// an estimate of the events per message, with a margin so that a run that could fit is never
/// refused: every periodic tick, and for half the expected arrivals (a run's arrivals are
/// random) each message's arrival and its turn's activities. The attempts of steps with CPU
/// work are counted at most as many as the fleet's vCPUs can run (`cpu_capacity_s`): a step
/// retried without limit that always fails would otherwise count as many attempts per turn as
/// fit in the span, for every turn, where a saturated fleet runs far fewer (its requests wait
/// or are rejected, its activities queue).
pub fn event_estimate(scenario: &Scenario) -> f64 {
    let horizon = scenario.run.horizon;
    let phases = phases(scenario);
    let rows = horizon / scenario.run.sample_interval.max(1);
    let mut events = rows as f64;
    if let Some(interval) = scenario.autoscaler.shortest_evaluation_interval() {
        events += horizon as f64 / interval.max(1) as f64;
    }
    // Every activity of a turn, nested ones included, at the chance it is reached (see
    // `sequence_outlook`): a tool that fails or times out is retried, each retry adding at least
    // its backoff timer and its completion; a step that fails for good ends its turn, and a turn
    // that fails ends the conversation, so the steps and messages after it count at the chance
    // they are reached.
    let ctx = Context {
        retry: &scenario.retry,
        span_s: seconds(horizon) / 2.0,
        providers: &scenario.providers,
        groups: &scenario.provider_groups,
    };
    // The messages and the activities without CPU work; those with CPU work, and that work.
    let mut with_cpu = Cost::default();
    for (i, w) in scenario.workloads.iter().enumerate() {
        let turn = sequence_outlook(&w.agent.steps, &ctx);
        let messages = mean_count(&w.conversation.messages).max(1.0);
        // Messages reached: 1 + S + S^2 + ... over the conversation's messages.
        let reached = runs_until_failure(turn.succeeds, messages);
        let arrivals: f64 = phases
            .iter()
            .filter_map(|(from, to, s)| {
                let traffic = &s.workloads.get(i)?.traffic;
                Some(expected_arrivals(traffic, *from, *to))
            })
            .sum();
        let messages_reached = 0.5 * arrivals * reached;
        events += messages_reached * (1.0 + turn.cost.events - turn.cost.cpu_events);
        with_cpu = with_cpu + turn.cost * messages_reached;
    }
    // The halved arrivals' work is set against half the capacity, so that the margin holds
    // whether the fleet keeps up or not.
    let capacity = 0.5 * cpu_capacity_s(&phases, horizon);
    let share = if with_cpu.work_s > capacity {
        capacity / with_cpu.work_s
    } else {
        1.0
    };
    let total = events + with_cpu.cpu_events * share;
    // Counts past what a float holds (infinite less infinite, infinite times a share of 0) must
    // still refuse the run: NaN compares below every limit.
    if total.is_nan() { f64::INFINITY } else { total }
}

/// The CPU work (in seconds at `cpu_speed` 1) the fleet's vCPUs can do over the horizon: as
/// many instances as the autoscaler allows in any phase, each with the most vCPUs and the
/// fastest `cpu_speed` of any phase, working the whole horizon. Instances draining beside their
/// replacements (a scale-in's or a deploy's grace) can exceed the autoscaler's bound for a
/// while, but cold starts keep the fleet below it for as long, and the halved arrivals leave
/// the estimate a margin besides.
fn cpu_capacity_s(phases: &[(Nanos, Nanos, &Scenario)], horizon: Nanos) -> f64 {
    let fleet = phases
        .iter()
        .map(|(_, _, s)| {
            let (_, instances) = s.autoscaler.max_instances_key();
            f64::from(instances) * f64::from(s.instance.vcpus) * s.instance.cpu_speed
        })
        .fold(0.0, f64::max);
    seconds(horizon) * fleet
}

/// The most columns `timeseries.csv` can have: the fixed ones, those of request mode, and per
/// provider its own and, if it has a quota in some phase, the quota's.
fn timeseries_columns(scenario: &Scenario, phases: &[(Nanos, Nanos, &Scenario)]) -> u64 {
    use crate::metrics::registry::{
        PROVIDER_COLUMNS, QUOTA_COLUMNS, REQUEST_COLUMNS, TIMESERIES_COLUMNS,
    };
    let with_quota = (0..scenario.providers.len())
        .filter(|&i| {
            phases
                .iter()
                .any(|(_, _, s)| s.providers.get(i).is_some_and(Provider::has_quota))
        })
        .count();
    (TIMESERIES_COLUMNS.len()
        + REQUEST_COLUMNS.len()
        + PROVIDER_COLUMNS.len() * scenario.providers.len()
        + QUOTA_COLUMNS.len() * with_quota) as u64
}

/// `[from, to)` spans of the horizon with the scenario in effect in each (the base, then each
/// timeline `set`'s effective scenario).
fn phases(scenario: &Scenario) -> Vec<(Nanos, Nanos, &Scenario)> {
    let mut phases = vec![(0, scenario.run.horizon, scenario)];
    for intervention in &scenario.timeline {
        if let Action::Set { effective, .. } = &intervention.action {
            let at = intervention.at.min(scenario.run.horizon);
            if let Some(last) = phases.last_mut() {
                last.1 = at.max(last.0);
            }
            phases.push((at, scenario.run.horizon, effective));
        }
    }
    phases
}

fn seconds(nanos: Nanos) -> f64 {
    nanos as f64 / NANOS_PER_SECOND
}

fn round(x: f64) -> String {
    if x >= 1e15 {
        format!("{x:.2e}")
    } else {
        format!("{:.0}", x.ceil())
    }
}

/// The integral of rate x multiplier over `[from, to)`.
fn expected_arrivals(traffic: &Traffic, from: Nanos, to: Nanos) -> f64 {
    let span = seconds(to.saturating_sub(from));
    let mass = match &traffic.profile {
        TrafficProfile::Constant { rate_per_s } => rate_per_s * span,
        TrafficProfile::Piecewise { points } => points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let end = points.get(i + 1).map_or(Nanos::MAX, |next| next.at);
                let (a, b) = (p.at.max(from), end.min(to));
                if b > a {
                    p.rate_per_s * seconds(b - a)
                } else {
                    0.0
                }
            })
            .sum(),
        TrafficProfile::Diurnal {
            mean_rate_per_s,
            peak_to_trough,
            peak_hour,
        } => {
            // mean * (t + a * 24h / 2pi * [sin(2pi (hour - peak) / 24)]), exact.
            let a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
            let day = 86_400.0;
            let phase = |t: f64| {
                let hours = t / 3600.0;
                (2.0 * std::f64::consts::PI * (hours - peak_hour) / 24.0).sin()
            };
            let (t0, t1) = (seconds(from), seconds(to));
            let wave = a * day / (2.0 * std::f64::consts::PI) * (phase(t1) - phase(t0));
            mean_rate_per_s * ((t1 - t0) + wave).max(0.0)
        }
        TrafficProfile::Trace { arrivals, .. } => {
            return arrivals.iter().filter(|t| (from..to).contains(*t)).count() as f64
                * traffic.multiplier.max(1.0);
        }
    };
    mass * traffic.multiplier
}

/// The highest arrival rate (per second, multiplier included) in `[from, to)`.
fn peak_rate(traffic: &Traffic, from: Nanos, to: Nanos) -> f64 {
    let peak = match &traffic.profile {
        TrafficProfile::Constant { rate_per_s } => *rate_per_s,
        TrafficProfile::Piecewise { points } => points
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                let end = points.get(i + 1).map_or(Nanos::MAX, |next| next.at);
                p.at < to && end > from
            })
            .map(|(_, p)| p.rate_per_s)
            .fold(0.0, f64::max),
        TrafficProfile::Diurnal {
            mean_rate_per_s,
            peak_to_trough,
            ..
        } => mean_rate_per_s * (1.0 + (peak_to_trough - 1.0) / (peak_to_trough + 1.0)),
        // A trace's rate is its count over the span: Little's law on the average.
        TrafficProfile::Trace { .. } => {
            expected_arrivals(traffic, from, to) / seconds(to.saturating_sub(from)).max(1.0)
        }
    };
    peak * traffic.multiplier
}

/// How long a conversation stays open, in seconds, at least on average (an estimate compared
/// against a limit, so it leaves out the response times): its messages' think times, then the
/// idle timeout.
fn conversation_lifetime_s(w: &Workload) -> f64 {
    let c = &w.conversation;
    let messages = mean_count(&c.messages).max(1.0);
    messages * mean(&c.think_time) + seconds(c.idle_timeout)
}

/// What the event estimate of a program needs besides its steps.
struct Context<'s> {
    retry: &'s RetryPolicy,
    /// Half the horizon, in seconds: the span over which an activity's attempts are counted.
    span_s: f64,
    providers: &'s [Provider],
    groups: &'s [ProviderGroup],
}

/// An activity whose attempts fail with chance `fails` and take `attempt_s` each, `work_s` of
/// it CPU work: its completion, and per retry one more completion and its backoff timer.
fn activity_outlook(fails: f64, attempt_s: f64, work_s: f64, ctx: &Context) -> Outlook {
    let (attempts, succeeds) = expected_attempts(fails, ctx.retry, attempt_s, ctx.span_s);
    let events = 1.0 + 2.0 * (attempts - 1.0);
    let cost = if work_s > 0.0 {
        Cost {
            events,
            cpu_events: events,
            work_s: attempts * work_s,
        }
    } else {
        Cost {
            events,
            ..Cost::default()
        }
    };
    Outlook { cost, succeeds }
}

/// What one run of some steps costs, on average and at least roughly (the estimate is halved
/// before it is compared with the limit), and the chance it succeeds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Outlook {
    cost: Cost,
    succeeds: f64,
}

/// Events, and of them those of activities with CPU work, with that work in seconds (at
/// `cpu_speed` 1). Weighted and summed alike, so each is an expectation over the same runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cost {
    events: f64,
    cpu_events: f64,
    work_s: f64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            events: self.events + other.events,
            cpu_events: self.cpu_events + other.cpu_events,
            work_s: self.work_s + other.work_s,
        }
    }
}

impl std::ops::Mul<f64> for Cost {
    type Output = Cost;
    fn mul(self, k: f64) -> Cost {
        Cost {
            events: self.events * k,
            cpu_events: self.cpu_events * k,
            work_s: self.work_s * k,
        }
    }
}

/// A sequence: each step counted at the chance the ones before it succeeded (a step that fails
/// for good, after its retries and its `on_failure` steps, ends the sequence).
fn sequence_outlook(steps: &[Step], ctx: &Context) -> Outlook {
    let mut cost = Cost::default();
    let mut reached = 1.0;
    for step in steps {
        let step = step_outlook(step, ctx);
        cost = cost + step.cost * reached;
        reached *= step.succeeds;
    }
    Outlook {
        cost,
        succeeds: reached,
    }
}

/// One step, its `on_failure` steps included. An activity counts its attempts, each retry
/// adding its completion and its backoff timer: a tool fails with its `failure_probability` or
/// when its CPU and latency overrun `start_to_close_timeout`; an LLM call when every provider
/// of its group fails (an error, or a TTFT past the provider's timeout). A repeat counts its
/// mean count of runs (stopping at the first that fails), a choice its options by their
/// probabilities, a parallel step its branches (`parallel_outlook`).
fn step_outlook(step: &Step, ctx: &Context) -> Outlook {
    let own = match &step.kind {
        StepKind::Llm {
            group_index,
            output_tokens,
            ..
        } => {
            let (cpu_s, timeout_s) = (seconds(step.cpu), seconds(step.start_to_close_timeout));
            let providers = ctx
                .groups
                .get(*group_index)
                .map_or(&[][..], |g| &g.providers[..]);
            // The call fails when every provider of its group fails. A provider fails at least
            // with its error_probability, and when its TTFT alone passes its timeout (or its
            // ttft_timeout); prefill, degradation and the generation only add failures, and are
            // left out (the estimate must stay below what runs).
            let mut fails = 1.0;
            let mut call_s = 0.0;
            for provider in providers.iter().filter_map(|&i| ctx.providers.get(i)) {
                let limit = provider
                    .ttft_timeout
                    .map_or(provider.timeout, |t| t.min(provider.timeout));
                let in_time = chance_at_most(&provider.ttft, seconds(limit));
                fails *= 1.0 - (1.0 - provider.error_probability) * in_time;
                let generation = mean_count(output_tokens) / provider.output_tokens_per_s;
                call_s += (mean(&provider.ttft) + generation).min(seconds(provider.timeout));
            }
            // Its CPU alone past start_to_close_timeout fails every attempt.
            let fails = if cpu_s > timeout_s { 1.0 } else { fails };
            activity_outlook(
                fails,
                (cpu_s + call_s).min(timeout_s),
                cpu_s.min(timeout_s),
                ctx,
            )
        }
        StepKind::Tool {
            latency,
            failure_probability,
            ..
        } => {
            let (cpu_s, timeout_s) = (seconds(step.cpu), seconds(step.start_to_close_timeout));
            let in_time = chance_at_most(latency, timeout_s - cpu_s);
            let fails = 1.0 - (1.0 - failure_probability) * in_time;
            let attempt_s = (cpu_s + mean(latency)).min(timeout_s);
            activity_outlook(fails, attempt_s, cpu_s.min(timeout_s), ctx)
        }
        StepKind::Parallel(parallel) => parallel_outlook(parallel, ctx),
        StepKind::Repeat { count, steps } => {
            let body = sequence_outlook(steps, ctx);
            let n = mean_count(count).min(f64::from(MAX_REPEAT));
            Outlook {
                cost: body.cost * runs_until_failure(body.succeeds, n),
                succeeds: body.succeeds.powf(n),
            }
        }
        StepKind::Choice { options } => options.iter().fold(
            Outlook {
                cost: Cost::default(),
                succeeds: 0.0,
            },
            |sum, option| {
                let run = sequence_outlook(&option.steps, ctx);
                Outlook {
                    cost: sum.cost + run.cost * option.probability,
                    succeeds: sum.succeeds + option.probability * run.succeeds,
                }
            },
        ),
    };
    let Some(on_failure) = &step.on_failure else {
        return own;
    };
    // After the step fails, its fallback runs until one run succeeds, at most `max_runs` times.
    let fallback = sequence_outlook(&on_failure.steps, ctx);
    let runs = f64::from(on_failure.max_runs);
    let fails = 1.0 - own.succeeds;
    Outlook {
        cost: own.cost
            + fallback.cost * (fails * runs_until_failure(1.0 - fallback.succeeds, runs)),
        succeeds: own.succeeds + fails * (1.0 - (1.0 - fallback.succeeds).powf(runs)),
    }
}

/// A parallel step: a fixed list of branches once each, or the template its mean width (at
/// most 1,000). With `on_branch_failure = "fail"` a branch is counted to its end only at the
/// chance that no other branch fails (the first failure decides the join, and the branches
/// still running are cut short when the turn ends); with `"continue"` every branch runs to its
/// end. When `wait_for` is below the branches run, the join decides once that many have
/// succeeded: only that share of the branches' events is counted. The step succeeds when every
/// branch does (`"fail"`), or when one does (`"continue"`).
fn parallel_outlook(parallel: &Parallel, ctx: &Context) -> Outlook {
    let branches: Vec<(Outlook, f64)> = match &parallel.width {
        Some(width) => {
            let template = parallel.branches.first().map_or(&[][..], |b| &b.steps[..]);
            let copies = mean_count(width).min(f64::from(MAX_BRANCHES));
            vec![(sequence_outlook(template, ctx), copies)]
        }
        None => parallel
            .branches
            .iter()
            .map(|branch| (sequence_outlook(&branch.steps, ctx), 1.0))
            .collect(),
    };
    let total: f64 = branches.iter().map(|(_, copies)| copies).sum();
    if total <= 0.0 {
        return Outlook {
            cost: Cost::default(),
            succeeds: 1.0,
        };
    }
    // Each entry's chance that all its copies succeed, and before each entry the product of
    // those before it: with the product of those after, the chance the others all succeed, in
    // one pass rather than a product per branch (a fixed list may hold 1,000 branches).
    let each: Vec<f64> = branches
        .iter()
        .map(|(branch, copies)| branch.succeeds.powf(*copies))
        .collect();
    let before: Vec<f64> = each
        .iter()
        .scan(1.0, |product, p| {
            let here = *product;
            *product *= p;
            Some(here)
        })
        .collect();
    let all_succeed: f64 = each.iter().product();
    let (cost, succeeds) = match parallel.on_branch_failure {
        BranchFailure::Fail => {
            let mut after = 1.0;
            let mut cost = Cost::default();
            for (i, (branch, copies)) in branches.iter().enumerate().rev() {
                // The chance every other branch succeeds (this entry's copies less one).
                let others = before[i] * after * branch.succeeds.powf((copies - 1.0).max(0.0));
                cost = cost + branch.cost * *copies * others;
                after *= each[i];
            }
            (cost, all_succeed)
        }
        BranchFailure::Continue => {
            let cost = branches
                .iter()
                .fold(Cost::default(), |sum, (branch, copies)| {
                    sum + branch.cost * *copies
                });
            let none_succeed: f64 = branches
                .iter()
                .map(|(branch, copies)| (1.0 - branch.succeeds).powf(*copies))
                .product();
            (cost, 1.0 - none_succeed)
        }
    };
    let share = parallel
        .wait_for
        .map_or(1.0, |wait_for| (f64::from(wait_for) / total).min(1.0));
    Outlook {
        cost: cost * share,
        succeeds,
    }
}

/// The runs of something done up to `n` times that stops at its first failure, each run
/// succeeding with chance `s`: 1 + s + s^2 + ... (n terms).
fn runs_until_failure(s: f64, n: f64) -> f64 {
    if s >= 1.0 {
        n
    } else {
        (1.0 - s.powf(n)) / (1.0 - s)
    }
}

/// The chance a duration drawn from `dist` (in seconds) is at most `x`.
fn chance_at_most(dist: &Dist, x: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    let below = |at_most: bool| if at_most { 1.0 } else { 0.0 };
    match dist {
        Dist::Constant { value } => below(*value <= x),
        Dist::Exponential { mean } if *mean > 0.0 => 1.0 - (-x / mean).exp(),
        Dist::Exponential { .. } => 1.0,
        Dist::Lognormal { median, sigma, .. } if x > 0.0 => {
            0.5 * statrs::function::erf::erfc(
                -(x / median).ln() / (sigma * std::f64::consts::SQRT_2),
            )
        }
        Dist::Lognormal { .. } => 0.0,
        Dist::Uniform { min, max } if max > min => ((x - min) / (max - min)).clamp(0.0, 1.0),
        Dist::Uniform { min, .. } => below(*min <= x),
        Dist::Empirical { values, .. } => {
            values.iter().filter(|v| **v <= x).count() as f64 / values.len().max(1) as f64
        }
        // A count distribution, not a duration.
        Dist::Geometric { .. } => 1.0,
    }
}

/// The most activities `steps` (a sequence) can have in flight at once: the most of any step,
/// plus the streaming LLM calls before it that may still be running.
fn most_in_flight(steps: &[Step]) -> f64 {
    let mut streaming = 0.0;
    let mut most: f64 = 0.0;
    for step in steps {
        most = most.max(streaming + step_in_flight(step));
        if let StepKind::Llm { prompt, .. } = &step.kind
            && prompt.first_chunk_tokens.is_some()
        {
            streaming += 1.0;
        }
    }
    most
}

fn step_in_flight(step: &Step) -> f64 {
    let own = match &step.kind {
        StepKind::Llm { .. } | StepKind::Tool { .. } => 1.0,
        StepKind::Parallel(parallel) => match &parallel.width {
            Some(width) => {
                let template = parallel
                    .branches
                    .first()
                    .map_or(0.0, |b| most_in_flight(&b.steps));
                largest_count(width, MAX_BRANCHES) * template
            }
            None => parallel
                .branches
                .iter()
                .map(|branch| most_in_flight(&branch.steps))
                .sum(),
        },
        StepKind::Repeat { steps, .. } => most_in_flight(steps),
        StepKind::Choice { options } => options
            .iter()
            .map(|option| most_in_flight(&option.steps))
            .fold(0.0, f64::max),
    };
    // A step's on_failure steps run once it has failed, not beside it.
    let recovery = step
        .on_failure
        .as_ref()
        .map_or(0.0, |on_failure| most_in_flight(&on_failure.steps));
    own.max(recovery)
}

/// The largest count `dist` draws in practice, with draws clamped to `cap` (as the model does):
/// the largest it can draw when that is bounded, and for an unbounded distribution the value
/// one draw in 10,000 exceeds (nested geometric widths of mean 3 would otherwise count as the
/// cap at every level and be refused; a rarer draw is caught by the memory check at run time).
fn largest_count(dist: &Dist, cap: u32) -> f64 {
    /// ln(10,000), and the standard normal's quantile at 1 - 1/10,000.
    const LN_TAIL: f64 = 9.210_340_371_976_184;
    const Z_TAIL: f64 = 3.719_016_485_455_68;
    let largest = match dist {
        Dist::Constant { value } => value.ceil(),
        Dist::Uniform { max, .. } => max.ceil(),
        Dist::Empirical { values, .. } => values.iter().fold(0.0, |m: f64, v| m.max(v.ceil())),
        Dist::Exponential { mean } => (mean * LN_TAIL).ceil(),
        Dist::Lognormal { median, sigma, .. } => (median * (sigma * Z_TAIL).exp()).ceil(),
        // P(X > k) = (1 - 1/mean)^k.
        Dist::Geometric { mean } if *mean > 1.0 => (LN_TAIL / -(1.0 - 1.0 / mean).ln()).ceil(),
        Dist::Geometric { .. } => 1.0,
    };
    if largest.is_finite() {
        largest.min(f64::from(cap))
    } else {
        f64::from(cap)
    }
}

/// The mean number of attempts of an activity that fails with probability `p` under `retry`,
/// and the chance that one of them succeeds: the geometric mean `1 / (1 - p)`, truncated at
/// `retry.maximum_attempts` (0: none) and at the attempts that fit in `span_s` seconds, each
/// taking `attempt_s` and at most the longest backoff (so an activity that always fails,
/// retried without limit, still counts a finite number: as many as fit, at the slowest backoff,
/// in the span).
fn expected_attempts(p: f64, retry: &RetryPolicy, attempt_s: f64, span_s: f64) -> (f64, f64) {
    let limit = match retry.maximum_attempts {
        0 => f64::INFINITY,
        n => f64::from(n),
    };
    let per_attempt = attempt_s + seconds(retry.maximum_interval);
    let fit = if per_attempt > 0.0 {
        1.0 + (span_s / per_attempt).floor()
    } else {
        f64::INFINITY
    };
    let n = limit.min(fit);
    if p >= 1.0 {
        (n, 0.0)
    } else {
        // Sum over k < n of p^k; p^infinity is 0 for p < 1.
        ((1.0 - p.powf(n)) / (1.0 - p), 1.0 - p.powf(n))
    }
}

fn mean_count(dist: &Dist) -> f64 {
    mean(dist)
}

/// The mean of a distribution (seconds or counts), finite.
fn mean(dist: &Dist) -> f64 {
    let m = dist.mean();
    if m.is_finite() { m } else { f64::MAX }
}
