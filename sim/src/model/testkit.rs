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
            max_events: crate::scenario::limits::DEFAULT_MAX_EVENTS,
            sample_interval: secs(60.0),
            max_open_conversations: 10_000_000,
            max_memory_bytes: crate::scenario::limits::DEFAULT_MAX_MEMORY,
            max_conversations: 10_000_000,
            max_instances: 10_000,
            max_timeseries_rows: 1_000_000,
        },
        workloads: vec![Workload {
            name: None,
            traffic: Traffic {
                profile: TrafficProfile::Constant { rate_per_s: lambda },
                multiplier: 1.0,
            },
            conversation: Conversation {
                messages: Dist::Constant { value: 1.0 },
                think_time: Dist::Constant { value: 1.0 },
                idle_timeout: 0,
                abandon_after: secs(1e9),
                response_budget: None,
            },
            agent: Agent {
                steps: vec![Step {
                    name: "service".into(),
                    kind: StepKind::Tool {
                        latency: Dist::Exponential { mean: 1.0 / mu },
                        failure_probability: 0.0,
                        price_per_call_usd: 0.0,
                        max_concurrent_calls: None,
                    },
                    cpu: 0,
                    start_to_close_timeout: secs(1e9),
                    memory_bytes: 0,
                    on_failure: None,
                }],
            },
        }],
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
            cpu_speed: 1.0,
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
        serving: Serving::default(),
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

/// A small agent fleet: conversations of several turns, an LLM step on a two-provider group
/// and a tool step, a cache that matters, one instance.
pub fn fleet(rate_per_s: f64, horizon_s: f64) -> Scenario {
    let mut s = mmc(rate_per_s, 1.0, 100, horizon_s);
    s.name = "fleet".into();
    s.workloads[0].conversation = Conversation {
        messages: Dist::Constant { value: 4.0 },
        think_time: Dist::Constant { value: 20.0 },
        idle_timeout: secs(120.0),
        abandon_after: secs(300.0),
        response_budget: None,
    };
    s.providers = vec![
        Provider {
            name: "maker".into(),
            ttft: Dist::lognormal(0.8, 4.0),
            output_tokens_per_s: 100.0,
            error_probability: 0.0,
            timeout: secs(60.0),
            input_price_per_million_usd: 3.0,
            output_price_per_million_usd: 15.0,
            cached_input_price_per_million_usd: 3.0,
            ttft_timeout: None,
            prefill_tokens_per_s: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            max_concurrent_requests: None,
        },
        Provider {
            name: "cloud".into(),
            ttft: Dist::lognormal(1.0, 5.0),
            output_tokens_per_s: 80.0,
            error_probability: 0.0,
            timeout: secs(60.0),
            input_price_per_million_usd: 3.0,
            output_price_per_million_usd: 15.0,
            cached_input_price_per_million_usd: 3.0,
            ttft_timeout: None,
            prefill_tokens_per_s: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            max_concurrent_requests: None,
        },
    ];
    s.provider_groups = vec![ProviderGroup {
        name: "main".into(),
        providers: vec![0, 1],
    }];
    s.workloads[0].agent.steps = vec![
        Step {
            name: "think".into(),
            kind: StepKind::Llm {
                group: "main".into(),
                group_index: 0,
                input_tokens: Dist::Constant { value: 2000.0 },
                output_tokens: Dist::Constant { value: 200.0 },
                prompt: LlmPrompt::default(),
            },
            cpu: secs(0.002),
            start_to_close_timeout: secs(120.0),
            memory_bytes: 1 << 20,
            on_failure: None,
        },
        Step {
            name: "lookup".into(),
            kind: StepKind::Tool {
                latency: Dist::Exponential { mean: 0.3 },
                failure_probability: 0.0,
                price_per_call_usd: 0.0,
                max_concurrent_calls: None,
            },
            cpu: secs(0.001),
            start_to_close_timeout: secs(60.0),
            memory_bytes: 1 << 20,
            on_failure: None,
        },
    ];
    s.temporal.cache_size = 10_000;
    s.temporal.max_concurrent_workflow_tasks = 1000;
    s.temporal.max_concurrent_activities = 1000;
    s.temporal.workflow_task_cpu = secs(0.001);
    s.temporal.replay_cpu_per_event = secs(0.00005);
    s.temporal.history_fetch_base = secs(0.02);
    s.temporal.history_fetch_per_page = secs(0.01);
    s.temporal.cached_workflow_memory_bytes = 64 << 10;
    s.temporal.cached_memory_per_event_bytes = 1 << 10;
    s.instance.vcpus = 2;
    s.instance.memory_limit_bytes = 2 << 30;
    s.instance.runtime_memory_bytes = 64 << 20;
    s.instance.startup_cpu = secs(1.0);
    s.run.sample_interval = secs(10.0);
    s
}

/// Cloud Run's autoscaler with its documented defaults (60% CPU target over 60 s, evaluated
/// every 2 s, 15 minutes before scaling in) and the given instance bounds.
pub fn cloud_run(min: u32, max: u32, initial: u32) -> CloudRunAutoscaler {
    CloudRunAutoscaler {
        min_instances: min,
        max_instances: max,
        initial_instances: initial,
        target_cpu_utilization: 0.6,
        max_concurrency: 80,
        target_concurrency_utilization: 0.6,
        window: secs(60.0),
        evaluation_interval: secs(2.0),
        scale_in_stabilization: secs(900.0),
    }
}

/// Kubernetes' HPA on CPU with its documented defaults (tolerance 0.1, 15 s sync, 5-minute
/// scale-down window, default rate policies), `target` utilisation and the given bounds.
pub fn hpa_cpu(min: u32, max: u32, target: f64) -> HpaAutoscaler {
    HpaAutoscaler {
        min_replicas: min,
        max_replicas: max,
        initial_replicas: min,
        metric: HpaMetric::Cpu {
            target_utilization: target,
        },
        control: HpaControl::kubernetes_defaults(),
    }
}

/// KEDA with the Temporal scaler and its documented defaults (target queue size 5, activation
/// 0, workflow queue, 30 s polling, 5-minute cooldown) and the given bounds.
pub fn keda(min: u32, max: u32) -> KedaAutoscaler {
    KedaAutoscaler {
        min_replica_count: min,
        max_replica_count: max,
        initial_replicas: min.max(1),
        polling_interval: secs(30.0),
        cooldown_period: secs(300.0),
        queue_types: QueueTypes {
            workflow: true,
            activity: false,
        },
        target_queue_size: 5.0,
        activation_target_queue_size: 0.0,
        control: HpaControl::kubernetes_defaults(),
    }
}
