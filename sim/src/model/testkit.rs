//! Scenarios built in code for the model's unit tests, with the documented defaults.

use crate::scenario::*;

pub fn secs(s: f64) -> Nanos {
    seconds_to_nanos(s)
}

/// A minimal M/M/c-style scenario: Poisson arrivals at `lambda`, one message per conversation,
/// one tool step with exponential latency of mean `1/mu`, `c` activity slots on one instance,
/// no CPU, no cache effects.
pub fn mmc(lambda: f64, mu: f64, c: u32, horizon_s: f64) -> Scenario {
    Scenario {
        name: "mmc".into(),
        description: String::new(),
        seed: 1,
        run: RunLimits {
            horizon: secs(horizon_s),
            warmup: 0,
            max_events: 2_000_000_000,
            sample_interval: secs(60.0),
            max_open_conversations: 10_000_000,
        },
        traffic: Traffic {
            profile: TrafficProfile::Constant { rate_per_s: lambda },
            multiplier: 1.0,
        },
        conversation: Conversation {
            messages: Dist::Constant { value: 1.0 },
            think_time: Dist::Constant { value: 1.0 },
            idle_timeout: 0,
            abandon_after: secs(1e9),
        },
        agent: Agent {
            steps: vec![Step {
                name: "service".into(),
                kind: StepKind::Tool {
                    latency: Dist::Exponential { mean: 1.0 / mu },
                    failure_probability: 0.0,
                },
                cpu: 0,
                start_to_close_timeout: secs(1e9),
                memory_bytes: 0,
            }],
        },
        activity: ActivityDefaults {
            start_to_close_timeout: secs(600.0),
            memory_bytes: 0,
        },
        retry: RetryPolicy {
            initial_interval: secs(1.0),
            backoff_coefficient: 2.0,
            maximum_interval: secs(100.0),
            maximum_attempts: 0,
        },
        temporal: Temporal {
            cache_size: 1_000_000,
            max_concurrent_workflow_tasks: 1_000_000,
            max_concurrent_activities: c,
            sticky_schedule_to_start_timeout: secs(5.0),
            workflow_task_timeout: secs(10.0),
            workflow_task_cpu: 0,
            replay_cpu_per_event: 0,
            history_fetch_base: 0,
            history_fetch_per_page: 0,
            history_page_size: 256,
            cached_workflow_memory_bytes: 0,
            cached_memory_per_event_bytes: 0,
            cached_memory_per_turn_bytes: 0,
        },
        instance: Instance {
            vcpus: 1,
            memory_limit_bytes: 1 << 40,
            runtime_memory_bytes: 0,
            leak_bytes_per_hour: 0,
            gc: None,
            restart_delay: secs(1.0),
            cold_start: Dist::Constant { value: 10.0 },
            startup_cpu: 0,
            crash_loop_backoff: 0,
            crash_loop_backoff_max: secs(300.0),
            shutdown_grace: secs(10.0),
        },
        autoscaler: Autoscaler::Fixed { instances: 1 },
        providers: Vec::new(),
        provider_groups: Vec::new(),
        cost: CostPrices {
            vcpu_second_usd: 0.000018,
            gib_second_usd: 0.000002,
        },
        slos: Vec::new(),
        timeline: Vec::new(),
    }
}
