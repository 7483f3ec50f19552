//! The model's measurements: counters, latency histograms (run totals and per sample
//! interval), time integrals (busy and available vCPUs, instance count), and the two sides of
//! Little's law. Updated by the model as things happen; read at sample time and at the end.

use crate::engine::Time;
use crate::metrics::checks::LittleAccumulator;
use crate::metrics::histogram::{IntervalHistogram, LatencyHistogram};
use crate::metrics::report::StepStats;
use crate::model::llm::{AttemptResult, CallOutcome};
use crate::model::state::NONE;
use crate::scenario::{Provider, Scenario};

/// Tokens of one LLM call.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallTokens {
    pub input: u64,
    /// Of `input`, read from the provider's prompt cache.
    pub cached_input: u64,
    pub output: u64,
}

/// A step's figures while the run goes on.
pub struct StepAccumulator {
    pub latency: LatencyHistogram,
    pub figures: StepStats,
}

/// One workload's figures (kept when the scenario has named workloads). Its tokens and
/// prices are its steps' (see `StepAccumulator`).
pub struct WorkloadAccumulator {
    pub response: LatencyHistogram,
    pub conversations_started: u64,
    pub conversations_completed: u64,
    pub conversations_with_tool_failure: u64,
    pub conversations_with_replan: u64,
    pub messages_received: u64,
    pub messages_answered: u64,
    pub messages_unanswered: u64,
    pub turns_answered_after_warmup: u64,
    pub turns_within_budget: u64,
    /// CPU work (nanoseconds, before GC and speed factors) of its workflow tasks and
    /// activities: the workload's share of the fleet.
    pub cpu_work: u128,
}

impl WorkloadAccumulator {
    fn new() -> Self {
        WorkloadAccumulator {
            response: LatencyHistogram::new(3),
            conversations_started: 0,
            conversations_completed: 0,
            conversations_with_tool_failure: 0,
            conversations_with_replan: 0,
            messages_received: 0,
            messages_answered: 0,
            messages_unanswered: 0,
            turns_answered_after_warmup: 0,
            turns_within_budget: 0,
            cpu_work: 0,
        }
    }

    /// A message answered; `after_warmup` has its latency and whether it met the budget when
    /// it arrived after warm-up.
    pub fn answered(&mut self, after_warmup: Option<(Time, bool)>) {
        self.messages_answered += 1;
        if let Some((latency, within)) = after_warmup {
            self.response.record(latency);
            self.turns_answered_after_warmup += 1;
            self.turns_within_budget += u64::from(within);
        }
    }
}

/// A time integral of an integer level, kept in offset form: the area from 0 to `t` is
/// `offset + level * t`, and a change of the level by `delta` at `now` takes `delta * now` off
/// `offset`. A change is then an add, without reading back the time of the last change and
/// multiplying the interval since (the busy cores change twice per CPU job); the area is the
/// same integer as the sum of level x interval taken piece by piece.
#[derive(Default)]
pub struct Integral {
    pub level: i64,
    offset: i128,
}

impl Integral {
    #[inline]
    pub fn change(&mut self, now: Time, delta: i64) {
        self.offset -= i128::from(delta) * i128::from(now);
        self.level += delta;
        debug_assert!(self.level >= 0);
    }

    /// The area under the level from 0 to `now` (level-nanoseconds), `now` at or after the
    /// last change.
    pub fn area_at(&self, now: Time) -> u128 {
        let area = self.offset + i128::from(self.level) * i128::from(now);
        u128::try_from(area).expect("a level that is never negative has a non-negative area")
    }
}

pub struct Stats {
    pub warmup: Time,
    pub response: LatencyHistogram,
    pub activity_schedule_to_start: LatencyHistogram,
    pub workflow_task_schedule_to_start: LatencyHistogram,
    pub llm_latency: Vec<LatencyHistogram>,
    pub llm_calls: Vec<crate::metrics::report::LlmCallCounts>,
    pub llm_cost_usd: f64,
    pub tools_cost_usd: f64,
    pub steps: Vec<StepAccumulator>,
    /// Per workload, when the scenario names its workloads (empty otherwise).
    pub workloads: Vec<WorkloadAccumulator>,
    pub turns: u64,
    pub turns_within_budget: u64,
    pub turns_answered_after_warmup: u64,
    /// Of those, the turns of workloads with a response budget.
    pub turns_budgeted_after_warmup: u64,
    pub tool_calls: u64,
    pub conversations_with_tool_failure: u64,
    pub conversations_with_replan: u64,
    pub fallbacks_run: u64,
    pub branches_started: u64,
    pub branches_succeeded: u64,
    pub branches_failed: u64,
    pub branches_abandoned: u64,
    pub activities_completed: u64,
    pub activities_failed: u64,
    pub activities_orphaned: u64,
    pub interval_llm_tokens: Vec<u64>,
    pub interval_response: IntervalHistogram,
    pub interval_activity_wait: IntervalHistogram,
    pub interval_llm_latency: Vec<IntervalHistogram>,
    pub messages: LittleAccumulator,
    pub conversations: LittleAccumulator,
    pub messages_received: u64,
    pub messages_answered: u64,
    pub messages_unanswered: u64,
    pub conversations_started: u64,
    pub conversations_completed: u64,
    pub activities_scheduled: u64,
    pub attempts_started: u64,
    pub attempts_completed: u64,
    pub attempts_failed: u64,
    pub attempts_timed_out: u64,
    pub retries: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_evictions: u64,
    pub replayed_events: u64,
    pub oom_crashes: u64,
    pub memory_peak_bytes: u64,
    pub instance_seconds: f64,
    pub compute_cost_usd: f64,
    pub busy_cores: Integral,
    pub capacity_cores: Integral,
    pub instances: Integral,
    pub instances_min: u64,
    pub instances_max: u64,
    pub instances_desired: u32,
    pub interval_messages_received: u64,
    pub interval_messages_unanswered: u64,
    pub interval_crashes: u64,
    pub interval_cache_misses: u64,
    pub interval_memory_max: u64,
    pub interval_busy_area: u128,
    pub interval_capacity_area: u128,
}

impl Stats {
    pub fn new(scenario: &Scenario) -> Self {
        let providers = scenario.providers.len();
        Stats {
            warmup: scenario.run.warmup,
            response: LatencyHistogram::new(3),
            activity_schedule_to_start: LatencyHistogram::new(3),
            workflow_task_schedule_to_start: LatencyHistogram::new(3),
            llm_latency: (0..providers).map(|_| LatencyHistogram::new(3)).collect(),
            llm_calls: vec![Default::default(); providers],
            llm_cost_usd: 0.0,
            tools_cost_usd: 0.0,
            steps: super::program::Program::compile(&scenario.workloads)
                .step_names
                .iter()
                .map(|_| StepAccumulator {
                    latency: LatencyHistogram::new(3),
                    figures: StepStats::default(),
                })
                .collect(),
            workloads: if scenario.has_named_workloads() {
                scenario
                    .workloads
                    .iter()
                    .map(|_| WorkloadAccumulator::new())
                    .collect()
            } else {
                Vec::new()
            },
            turns: 0,
            turns_within_budget: 0,
            turns_answered_after_warmup: 0,
            turns_budgeted_after_warmup: 0,
            tool_calls: 0,
            conversations_with_tool_failure: 0,
            conversations_with_replan: 0,
            fallbacks_run: 0,
            branches_started: 0,
            branches_succeeded: 0,
            branches_failed: 0,
            branches_abandoned: 0,
            activities_completed: 0,
            activities_failed: 0,
            activities_orphaned: 0,
            interval_llm_tokens: vec![0; providers],
            interval_response: IntervalHistogram::new(),
            interval_activity_wait: IntervalHistogram::new(),
            interval_llm_latency: (0..providers).map(|_| IntervalHistogram::new()).collect(),
            messages: LittleAccumulator::default(),
            conversations: LittleAccumulator::default(),
            messages_received: 0,
            messages_answered: 0,
            messages_unanswered: 0,
            conversations_started: 0,
            conversations_completed: 0,
            activities_scheduled: 0,
            attempts_started: 0,
            attempts_completed: 0,
            attempts_failed: 0,
            attempts_timed_out: 0,
            retries: 0,
            cache_hits: 0,
            cache_misses: 0,
            cache_evictions: 0,
            replayed_events: 0,
            oom_crashes: 0,
            memory_peak_bytes: 0,
            instance_seconds: 0.0,
            compute_cost_usd: 0.0,
            busy_cores: Integral::default(),
            capacity_cores: Integral::default(),
            instances: Integral::default(),
            instances_min: u64::MAX,
            instances_max: 0,
            instances_desired: 0,
            interval_messages_received: 0,
            interval_messages_unanswered: 0,
            interval_crashes: 0,
            interval_cache_misses: 0,
            interval_memory_max: 0,
            interval_busy_area: 0,
            interval_capacity_area: 0,
        }
    }

    pub fn record_response(&mut self, latency: Time) {
        self.response.record(latency);
        self.interval_response.record(latency);
    }

    pub fn record_activity_wait(&mut self, now: Time, waited: Time) {
        if now >= self.warmup {
            self.activity_schedule_to_start.record(waited);
        }
        self.interval_activity_wait.record(waited);
    }

    /// Per provider: successful calls' latency; errors, timeouts and 429s counted. Tokens and
    /// their price are charged for successful calls only, to the provider and to the step.
    pub fn record_llm_call(
        &mut self,
        now: Time,
        outcome: &CallOutcome,
        providers: &[Provider],
        tokens: CallTokens,
        step: u32,
    ) {
        let attempts = outcome.attempts_made();
        let step_figures = match self.steps.get_mut(step as usize) {
            Some(s) => {
                s.figures.llm_calls += attempts.len() as u64;
                Some(&mut s.figures)
            }
            None => None,
        };
        for attempt in attempts {
            let p = attempt.provider as usize;
            let counts = &mut self.llm_calls[p];
            counts.calls += 1;
            match attempt.result {
                AttemptResult::Ok => {
                    // Token sums saturate: a count distribution with an absurd tail can draw
                    // u64::MAX tokens, and a sum must then stay there, not wrap (or panic).
                    counts.input_tokens = counts.input_tokens.saturating_add(tokens.input);
                    counts.cached_input_tokens = counts
                        .cached_input_tokens
                        .saturating_add(tokens.cached_input);
                    counts.output_tokens = counts.output_tokens.saturating_add(tokens.output);
                    let provider = &providers[p];
                    let uncached = tokens.input - tokens.cached_input;
                    let cost = (uncached as f64 * provider.input_price_per_million_usd
                        + tokens.cached_input as f64 * provider.cached_input_price_per_million_usd
                        + tokens.output as f64 * provider.output_price_per_million_usd)
                        / 1e6;
                    self.llm_cost_usd += cost;
                    let interval = &mut self.interval_llm_tokens[p];
                    *interval = interval
                        .saturating_add(tokens.input)
                        .saturating_add(tokens.output);
                    // Only one attempt of a call succeeds (the call stops there), so the
                    // step's figures are borrowed for this one.
                    if let Some(figures) = step_figures {
                        figures.input_tokens = figures.input_tokens.saturating_add(tokens.input);
                        figures.cached_input_tokens = figures
                            .cached_input_tokens
                            .saturating_add(tokens.cached_input);
                        figures.output_tokens = figures.output_tokens.saturating_add(tokens.output);
                        figures.cost_usd += cost;
                    }
                    if now >= self.warmup {
                        self.llm_latency[p].record(attempt.elapsed);
                    }
                    self.interval_llm_latency[p].record(attempt.elapsed);
                    break;
                }
                AttemptResult::Error => counts.errors += 1,
                AttemptResult::Timeout => counts.timeouts += 1,
                AttemptResult::RateLimited => counts.rate_limited += 1,
                // Counted by the provider's quota state (`quota.rs`).
                AttemptResult::QuotaLimited(_) => {}
            }
        }
    }

    /// One tool call (attempt) at its price.
    #[inline]
    pub fn record_tool_call(&mut self, step: u32, price_usd: f64) {
        self.tool_calls += 1;
        self.tools_cost_usd += price_usd;
        if step != NONE {
            let figures = &mut self.steps[step as usize].figures;
            figures.tool_calls += 1;
            figures.cost_usd += price_usd;
        }
    }

    /// A step finished after `latency`: counted, and its latency kept when it succeeded and
    /// started after warm-up.
    #[inline]
    pub fn record_step(&mut self, step: u32, now: Time, latency: Time, ok: bool) {
        let Some(s) = self.steps.get_mut(step as usize) else {
            return;
        };
        if ok {
            s.figures.completed += 1;
            if now - latency >= self.warmup {
                s.latency.record(latency);
            }
        } else {
            s.figures.failed += 1;
        }
    }

    pub fn note_memory(&mut self, bytes: u64) {
        self.interval_memory_max = self.interval_memory_max.max(bytes);
        self.memory_peak_bytes = self.memory_peak_bytes.max(bytes);
    }

    pub fn change_busy(&mut self, now: Time, delta: i64) {
        self.busy_cores.change(now, delta);
    }

    pub fn change_capacity(&mut self, now: Time, delta: i64) {
        self.capacity_cores.change(now, delta);
    }

    pub fn change_instances(&mut self, now: Time, delta: i64) {
        self.instances.change(now, delta);
        let level = self.instances.level.max(0) as u64;
        self.instances_min = self.instances_min.min(level);
        self.instances_max = self.instances_max.max(level);
    }
}

#[cfg(test)]
mod tests {
    use super::Integral;

    /// The offset form's area is the piecewise sum of level x interval, read at any time at or
    /// after the last change, including changes at the same time and back to zero.
    #[test]
    fn an_integral_is_the_sum_of_level_times_interval() {
        let mut state = 20261207u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut integral = Integral::default();
        let (mut now, mut level, mut last, mut area) = (0u64, 0i64, 0u64, 0u128);
        for _ in 0..10_000 {
            now += next(3) * next(1_000_000_000_000);
            let delta = if level == 0 {
                1 + next(4) as i64
            } else {
                next(9) as i64 - 4
            }
            .max(-level);
            area += level as u128 * (now - last) as u128;
            last = now;
            level += delta;
            integral.change(now, delta);
            assert_eq!(integral.level, level);
            assert_eq!(integral.area_at(now), area);
            let later = now + next(1_000_000_000);
            assert_eq!(
                integral.area_at(later),
                area + level as u128 * (later - now) as u128
            );
        }
    }
}
