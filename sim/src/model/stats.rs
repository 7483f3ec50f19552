//! The model's measurements: counters, latency histograms (run totals and per sample
//! interval), time integrals (busy and available vCPUs, instance count), and the two sides of
//! Little's law. Updated by the model as things happen; read at sample time and at the end.

use crate::engine::Time;
use crate::metrics::checks::LittleAccumulator;
use crate::metrics::histogram::LatencyHistogram;
use crate::model::llm::{AttemptResult, CallOutcome};
use crate::scenario::{Provider, Scenario};

/// A time integral of an integer level.
#[derive(Default)]
pub struct Integral {
    pub level: i64,
    last: Time,
    pub area: u128,
}

impl Integral {
    pub fn change(&mut self, now: Time, delta: i64) {
        self.advance(now);
        self.level += delta;
        debug_assert!(self.level >= 0);
    }

    pub fn advance(&mut self, now: Time) {
        self.area += self.level.max(0) as u128 * (now - self.last) as u128;
        self.last = now;
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
    pub interval_response: LatencyHistogram,
    pub interval_activity_wait: LatencyHistogram,
    pub interval_llm_latency: Vec<LatencyHistogram>,
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
            interval_response: LatencyHistogram::new(2),
            interval_activity_wait: LatencyHistogram::new(2),
            interval_llm_latency: (0..providers).map(|_| LatencyHistogram::new(2)).collect(),
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
    /// their price are charged for successful calls only.
    pub fn record_llm_call(
        &mut self,
        now: Time,
        outcome: &CallOutcome,
        providers: &[Provider],
        input_tokens: u64,
        output_tokens: u64,
    ) {
        for attempt in outcome.attempts.iter().flatten() {
            let counts = &mut self.llm_calls[attempt.provider];
            counts.calls += 1;
            match attempt.result {
                AttemptResult::Ok => {
                    counts.input_tokens += input_tokens;
                    counts.output_tokens += output_tokens;
                    let provider = &providers[attempt.provider];
                    self.llm_cost_usd += (input_tokens as f64
                        * provider.input_price_per_million_usd
                        + output_tokens as f64 * provider.output_price_per_million_usd)
                        / 1e6;
                    if now >= self.warmup {
                        self.llm_latency[attempt.provider].record(attempt.elapsed);
                    }
                    self.interval_llm_latency[attempt.provider].record(attempt.elapsed);
                }
                AttemptResult::Error => counts.errors += 1,
                AttemptResult::Timeout => counts.timeouts += 1,
                AttemptResult::RateLimited => counts.rate_limited += 1,
            }
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
