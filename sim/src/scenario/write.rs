//! The resolved scenario back to TOML (`scenario.resolved.toml`): every key written, defaults
//! included, in human units chosen so that `load` reads back an equal `Scenario`.

use super::config::*;
use super::raw::{format_float, format_key, quote};
use super::timeline::{deploy_name, incident_name};
use super::units::{format_duration, format_size};
use std::fmt::Write;

/// Accumulates TOML text; `String` writes cannot fail, so results are ignored.
struct Out {
    text: String,
}

impl Out {
    fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    fn header(&mut self, header: &str) {
        self.line("");
        self.line(header);
    }

    fn key(&mut self, key: &str, value: impl AsRef<str>) {
        let _ = writeln!(self.text, "{} = {}", format_key(key), value.as_ref());
    }

    fn duration(&mut self, key: &str, nanos: Nanos) {
        self.key(key, quote(&format_duration(nanos)));
    }

    fn size(&mut self, key: &str, bytes: u64) {
        self.key(key, quote(&format_size(bytes)));
    }

    fn float(&mut self, key: &str, x: f64) {
        self.key(key, format_float(x));
    }
}

/// Whether a distribution's parameters are durations (written as strings) or counts.
#[derive(Clone, Copy)]
enum Quantity {
    Duration,
    Count,
}

fn parameter(x: f64, quantity: Quantity) -> String {
    match quantity {
        Quantity::Duration => quote(&format_duration(seconds_to_nanos(x))),
        Quantity::Count => format_float(x),
    }
}

fn dist(d: &Dist, q: Quantity) -> String {
    let p = |x: f64| parameter(x, q);
    match d {
        Dist::Constant { value } => format!("{{ kind = \"constant\", value = {} }}", p(*value)),
        Dist::Exponential { mean } => format!("{{ kind = \"exponential\", mean = {} }}", p(*mean)),
        Dist::Lognormal { median, p99, .. } => format!(
            "{{ kind = \"lognormal\", median = {}, p99 = {} }}",
            p(*median),
            p(*p99)
        ),
        Dist::Uniform { min, max } => format!(
            "{{ kind = \"uniform\", min = {}, max = {} }}",
            p(*min),
            p(*max)
        ),
        Dist::Geometric { mean } => {
            format!("{{ kind = \"geometric\", mean = {} }}", format_float(*mean))
        }
        Dist::Empirical { csv, .. } => format!("{{ kind = \"empirical\", csv = {} }}", quote(csv)),
    }
}

pub(crate) fn to_resolved_toml(s: &Scenario) -> String {
    let mut out = Out {
        text: String::new(),
    };
    out.line("# The effective scenario: every setting, defaults included.");
    out.line(format!("# sim version {}", crate::VERSION));
    out.line(format!("# seed {}", s.seed));
    out.line("");
    out.key("name", quote(&s.name));
    out.key("description", quote(&s.description));
    out.key("seed", s.seed.to_string());
    run(&mut out, &s.run);
    for w in &s.workloads {
        match &w.name {
            None => {
                traffic(&mut out, &w.traffic, "traffic");
                conversation(&mut out, &w.conversation, "conversation");
                steps(&mut out, &w.agent.steps, "agent.steps");
            }
            Some(name) => {
                out.header("[[workloads]]");
                out.key("name", quote(name));
                traffic(&mut out, &w.traffic, "workloads.traffic");
                conversation(&mut out, &w.conversation, "workloads.conversation");
                steps(&mut out, &w.agent.steps, "workloads.agent.steps");
            }
        }
    }
    activity_and_retry(&mut out, &s.activity, &s.retry);
    temporal(&mut out, &s.temporal);
    instance(&mut out, &s.instance);
    autoscaler(&mut out, &s.autoscaler);
    serving(&mut out, &s.serving);
    providers(&mut out, s);
    out.header("[cost]");
    out.float("vcpu_second_usd", s.cost.vcpu_second_usd);
    out.float("gib_second_usd", s.cost.gib_second_usd);
    for slo in &s.slos {
        out.header("[[slo]]");
        out.key("name", quote(&slo.name));
        out.key("metric", quote(slo.metric.name));
        out.float("max", slo.max);
        if let Some(workload) = &slo.workload {
            out.key("workload", quote(workload));
        }
    }
    timeline(&mut out, s);
    out.text
}

fn run(out: &mut Out, run: &RunLimits) {
    out.header("[run]");
    out.duration("horizon", run.horizon);
    out.duration("warmup", run.warmup);
    out.key("max_events", run.max_events.to_string());
    out.duration("sample_interval", run.sample_interval);
    out.key(
        "max_open_conversations",
        run.max_open_conversations.to_string(),
    );
    out.size("max_memory", run.max_memory_bytes);
    out.key("max_conversations", run.max_conversations.to_string());
    out.key("max_instances", run.max_instances.to_string());
    out.key("max_timeseries_rows", run.max_timeseries_rows.to_string());
}

fn traffic(out: &mut Out, traffic: &Traffic, table: &str) {
    out.header(&format!("[{table}]"));
    match &traffic.profile {
        TrafficProfile::Constant { rate_per_s } => {
            out.key("kind", "\"constant\"");
            out.float("rate_per_s", *rate_per_s);
        }
        TrafficProfile::Piecewise { points } => {
            out.key("kind", "\"piecewise\"");
            let points: Vec<String> = points
                .iter()
                .map(|p| {
                    format!(
                        "{{ at = {}, rate_per_s = {} }}",
                        quote(&format_duration(p.at)),
                        format_float(p.rate_per_s)
                    )
                })
                .collect();
            out.key("points", format!("[{}]", points.join(", ")));
        }
        TrafficProfile::Diurnal {
            mean_rate_per_s,
            peak_to_trough,
            peak_hour,
        } => {
            out.key("kind", "\"diurnal\"");
            out.float("mean_rate_per_s", *mean_rate_per_s);
            out.float("peak_to_trough", *peak_to_trough);
            out.float("peak_hour", *peak_hour);
        }
        TrafficProfile::Trace { csv, .. } => {
            out.key("kind", "\"trace\"");
            out.key("csv", quote(csv));
        }
    }
    out.float("multiplier", traffic.multiplier);
}

fn conversation(out: &mut Out, c: &Conversation, table: &str) {
    out.header(&format!("[{table}]"));
    out.key("messages", dist(&c.messages, Quantity::Count));
    out.key("think_time", dist(&c.think_time, Quantity::Duration));
    out.duration("idle_timeout", c.idle_timeout);
    out.duration("abandon_after", c.abandon_after);
    if let Some(budget) = c.response_budget {
        out.duration("response_budget", budget);
    }
}

/// Writes `list` as `[[path]]` tables; nested steps follow their step's own keys.
fn steps(out: &mut Out, list: &[Step], path: &str) {
    for step in list {
        out.header(&format!("[[{path}]]"));
        out.key("name", quote(&step.name));
        match &step.kind {
            StepKind::Llm {
                group,
                input_tokens,
                output_tokens,
                prompt,
                ..
            } => {
                out.key("kind", "\"llm\"");
                out.key("group", quote(group));
                out.key("input_tokens", dist(input_tokens, Quantity::Count));
                out.key("output_tokens", dist(output_tokens, Quantity::Count));
                out.key(
                    "input_tokens_per_turn",
                    prompt.input_tokens_per_turn.to_string(),
                );
                out.key(
                    "carry_previous_output",
                    prompt.carry_previous_output.to_string(),
                );
                out.float("cached_input_fraction", prompt.cached_input_fraction);
                if let Some(tokens) = prompt.first_chunk_tokens {
                    out.key("first_chunk_tokens", tokens.to_string());
                }
            }
            StepKind::Tool {
                latency,
                failure_probability,
                price_per_call_usd,
                max_concurrent_calls,
            } => {
                out.key("kind", "\"tool\"");
                out.key("latency", dist(latency, Quantity::Duration));
                out.float("failure_probability", *failure_probability);
                out.float("price_per_call_usd", *price_per_call_usd);
                if let Some(limit) = max_concurrent_calls {
                    out.key("max_concurrent_calls", limit.to_string());
                }
            }
            StepKind::Parallel(p) => {
                out.key("kind", "\"parallel\"");
                if let Some(width) = &p.width {
                    out.key("width", dist(width, Quantity::Count));
                }
                if let Some(k) = p.wait_for {
                    out.key("wait_for", k.to_string());
                }
                let policy = match p.on_branch_failure {
                    BranchFailure::Fail => "fail",
                    BranchFailure::Continue => "continue",
                };
                out.key("on_branch_failure", quote(policy));
                out.key("child_workflow", p.child_workflow.to_string());
            }
            StepKind::Repeat { count, .. } => {
                out.key("kind", "\"repeat\"");
                out.key("count", dist(count, Quantity::Count));
            }
            StepKind::Choice { .. } => out.key("kind", "\"choice\""),
        }
        if step.is_activity() {
            out.duration("cpu", step.cpu);
            out.duration("start_to_close_timeout", step.start_to_close_timeout);
            out.size("memory", step.memory_bytes);
        }
        if let Some(on_failure) = &step.on_failure {
            out.header(&format!("[{path}.on_failure]"));
            out.key("max_runs", on_failure.max_runs.to_string());
            steps(out, &on_failure.steps, &format!("{path}.on_failure.steps"));
        }
        match &step.kind {
            StepKind::Parallel(p) if p.width.is_some() => {
                let template = p.branches.first().map_or(&[][..], |b| &b.steps[..]);
                steps(out, template, &format!("{path}.steps"));
            }
            StepKind::Parallel(p) => {
                for branch in &p.branches {
                    out.header(&format!("[[{path}.branches]]"));
                    out.key("name", quote(&branch.name));
                    steps(out, &branch.steps, &format!("{path}.branches.steps"));
                }
            }
            StepKind::Repeat { steps: body, .. } => steps(out, body, &format!("{path}.steps")),
            StepKind::Choice { options } => {
                for option in options {
                    out.header(&format!("[[{path}.options]]"));
                    out.float("probability", option.probability);
                    steps(out, &option.steps, &format!("{path}.options.steps"));
                }
            }
            StepKind::Llm { .. } | StepKind::Tool { .. } => {}
        }
    }
}

fn activity_and_retry(out: &mut Out, activity: &ActivityDefaults, retry: &RetryPolicy) {
    out.header("[activity]");
    out.duration("start_to_close_timeout", activity.start_to_close_timeout);
    out.size("memory", activity.memory_bytes);
    out.header("[retry]");
    out.duration("initial_interval", retry.initial_interval);
    out.float("backoff_coefficient", retry.backoff_coefficient);
    out.duration("maximum_interval", retry.maximum_interval);
    out.key("maximum_attempts", retry.maximum_attempts.to_string());
}

fn temporal(out: &mut Out, t: &Temporal) {
    out.header("[temporal]");
    out.key("cache_size", t.cache_size.to_string());
    out.key(
        "max_concurrent_workflow_tasks",
        t.max_concurrent_workflow_tasks.to_string(),
    );
    out.key(
        "max_concurrent_activities",
        t.max_concurrent_activities.to_string(),
    );
    out.duration(
        "sticky_schedule_to_start_timeout",
        t.sticky_schedule_to_start_timeout,
    );
    out.duration("workflow_task_timeout", t.workflow_task_timeout);
    out.duration("workflow_task_cpu", t.workflow_task_cpu);
    out.duration("replay_cpu_per_event", t.replay_cpu_per_event);
    out.duration("history_fetch_base", t.history_fetch_base);
    out.duration("history_fetch_per_page", t.history_fetch_per_page);
    out.key("history_page_size", t.history_page_size.to_string());
    out.size("cached_workflow_memory", t.cached_workflow_memory_bytes);
    out.size("cached_memory_per_event", t.cached_memory_per_event_bytes);
    out.size("cached_memory_per_turn", t.cached_memory_per_turn_bytes);
}

fn instance(out: &mut Out, i: &Instance) {
    out.header("[instance]");
    out.key("vcpus", i.vcpus.to_string());
    out.float("cpu_speed", i.cpu_speed);
    out.size("memory_limit", i.memory_limit_bytes);
    out.size("runtime_memory", i.runtime_memory_bytes);
    out.size("leak_per_hour", i.leak_bytes_per_hour);
    out.duration("restart_delay", i.restart_delay);
    out.key("cold_start", dist(&i.cold_start, Quantity::Duration));
    out.duration("startup_cpu", i.startup_cpu);
    out.duration("crash_loop_backoff", i.crash_loop_backoff);
    out.duration("crash_loop_backoff_max", i.crash_loop_backoff_max);
    out.duration("shutdown_grace", i.shutdown_grace);
    match &i.gc {
        Some(gc) => {
            out.header("[instance.gc]");
            out.float("threshold", gc.threshold);
            out.float("max_overhead", gc.max_overhead);
        }
        None => out.line("# no [instance.gc]: no garbage-collection pressure"),
    }
}

fn autoscaler(out: &mut Out, a: &Autoscaler) {
    out.header("[autoscaler]");
    match a {
        Autoscaler::Fixed { instances } => {
            out.key("kind", "\"fixed\"");
            out.key("instances", instances.to_string());
        }
        Autoscaler::CloudRun(c) => {
            out.key("kind", "\"cloud_run\"");
            out.key("min_instances", c.min_instances.to_string());
            out.key("max_instances", c.max_instances.to_string());
            out.key("initial_instances", c.initial_instances.to_string());
            out.float("target_cpu_utilization", c.target_cpu_utilization);
            out.key("max_concurrency", c.max_concurrency.to_string());
            out.float(
                "target_concurrency_utilization",
                c.target_concurrency_utilization,
            );
            out.duration("window", c.window);
            out.duration("evaluation_interval", c.evaluation_interval);
            out.duration("scale_in_stabilization", c.scale_in_stabilization);
        }
        Autoscaler::Hpa(h) => {
            out.key("kind", "\"hpa\"");
            out.key("min_replicas", h.min_replicas.to_string());
            out.key("max_replicas", h.max_replicas.to_string());
            out.key("initial_replicas", h.initial_replicas.to_string());
            match &h.metric {
                HpaMetric::Cpu { target_utilization } => {
                    out.key("metric", "\"cpu\"");
                    out.float("target_utilization", *target_utilization);
                }
                HpaMetric::Memory { target_utilization } => {
                    out.key("metric", "\"memory\"");
                    out.float("target_utilization", *target_utilization);
                }
                HpaMetric::Backlog {
                    queue_types,
                    target_queue_size,
                } => {
                    out.key("metric", "\"backlog\"");
                    out.key("queue_types", quote(queue_types.as_str()));
                    out.float("target_queue_size", *target_queue_size);
                }
                HpaMetric::Concurrency {
                    target_average_value,
                } => {
                    out.key("metric", "\"concurrency\"");
                    out.float("target_average_value", *target_average_value);
                }
            }
            hpa_control(out, &h.control);
        }
        Autoscaler::Keda(k) => {
            out.key("kind", "\"keda\"");
            out.key("min_replica_count", k.min_replica_count.to_string());
            out.key("max_replica_count", k.max_replica_count.to_string());
            out.key("initial_replicas", k.initial_replicas.to_string());
            out.duration("polling_interval", k.polling_interval);
            out.duration("cooldown_period", k.cooldown_period);
            out.key("queue_types", quote(k.queue_types.as_str()));
            out.float("target_queue_size", k.target_queue_size);
            out.float(
                "activation_target_queue_size",
                k.activation_target_queue_size,
            );
            hpa_control(out, &k.control);
        }
    }
}

/// `[serving]`, written only in request mode (poll mode is the section's absence).
fn serving(out: &mut Out, serving: &Serving) {
    let Some(r) = &serving.request else { return };
    out.header("[serving]");
    out.key("mode", "\"request\"");
    let session = match r.session {
        SessionScope::Turn => "turn",
        SessionScope::Conversation => "conversation",
    };
    out.key("session", format!("\"{session}\""));
    out.key("max_concurrency", r.max_concurrency.to_string());
    out.duration("max_wait", r.max_wait);
}

/// The HPA controller's keys and `[autoscaler.behavior.*]`, every policy written out.
fn hpa_control(out: &mut Out, control: &HpaControl) {
    out.float("tolerance", control.tolerance);
    out.duration("sync_period", control.sync_period);
    for (name, rules) in [
        ("scale_up", &control.scale_up),
        ("scale_down", &control.scale_down),
    ] {
        out.header(&format!("[autoscaler.behavior.{name}]"));
        out.duration("stabilization_window", rules.stabilization_window);
        let select = match rules.select_policy {
            SelectPolicy::Max => "max",
            SelectPolicy::Min => "min",
            SelectPolicy::Disabled => "disabled",
        };
        out.key("select_policy", quote(select));
        let policies: Vec<String> = rules
            .policies
            .iter()
            .map(|p| {
                let kind = match p.kind {
                    PolicyKind::Pods => "pods",
                    PolicyKind::Percent => "percent",
                };
                format!(
                    "{{ kind = {}, value = {}, period = {} }}",
                    quote(kind),
                    p.value,
                    quote(&format_duration(p.period))
                )
            })
            .collect();
        out.key("policies", format!("[{}]", policies.join(", ")));
    }
}

fn providers(out: &mut Out, s: &Scenario) {
    for p in &s.providers {
        out.header(&format!("[providers.{}]", format_key(&p.name)));
        out.key("ttft", dist(&p.ttft, Quantity::Duration));
        out.float("output_tokens_per_s", p.output_tokens_per_s);
        out.float("error_probability", p.error_probability);
        out.duration("timeout", p.timeout);
        out.float("input_price_per_million_usd", p.input_price_per_million_usd);
        out.float(
            "output_price_per_million_usd",
            p.output_price_per_million_usd,
        );
        out.float(
            "cached_input_price_per_million_usd",
            p.cached_input_price_per_million_usd,
        );
        if let Some(timeout) = p.ttft_timeout {
            out.duration("ttft_timeout", timeout);
        }
        if let Some(rate) = p.prefill_tokens_per_s {
            out.float("prefill_tokens_per_s", rate);
        }
        if let Some(quota) = p.requests_per_minute {
            out.float("requests_per_minute", quota);
        }
        if let Some(quota) = p.tokens_per_minute {
            out.float("tokens_per_minute", quota);
        }
        if let Some(limit) = p.max_concurrent_requests {
            out.key("max_concurrent_requests", limit.to_string());
        }
    }
    if s.provider_groups.is_empty() {
        return;
    }
    out.header("[provider_groups]");
    for group in &s.provider_groups {
        let names: Vec<String> = group
            .providers
            .iter()
            .map(|&i| quote(s.providers.get(i).map_or("", |p| p.name.as_str())))
            .collect();
        out.key(&group.name, format!("[{}]", names.join(", ")));
    }
}

fn timeline(out: &mut Out, s: &Scenario) {
    for intervention in &s.timeline {
        out.header("[[timeline]]");
        out.duration("at", intervention.at);
        out.key("label", quote(&intervention.label));
        match &intervention.action {
            Action::Set {
                assignments,
                deploy,
                ..
            } => {
                let entries: Vec<String> = assignments
                    .iter()
                    .map(|(k, v)| format!("{} = {v}", quote(k)))
                    .collect();
                out.key("set", format!("{{ {} }}", entries.join(", ")));
                if let Some(deploy) = deploy {
                    out.key("deploy", quote(deploy_name(*deploy)));
                }
            }
            Action::ProviderIncident {
                provider,
                incident,
                duration,
                factor,
            } => {
                out.key("incident", quote(incident_name(*incident)));
                out.key(
                    "provider",
                    quote(s.providers.get(*provider).map_or("", |p| p.name.as_str())),
                );
                out.duration("duration", *duration);
                if *incident == IncidentKind::Degradation {
                    out.float("factor", *factor);
                }
            }
            Action::Deploy { deploy } => out.key("deploy", quote(deploy_name(*deploy))),
        }
    }
}
