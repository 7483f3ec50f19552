//! The `[autoscaler]` section: its `kind` picks one reader here, each applying the kind's
//! documented defaults and checking its rules (min <= max and the like). A new autoscaler kind
//! adds its reader here, its type to `config.rs`, its writer to `write.rs` and its model to
//! `model/autoscaler/`.

use super::config::*;
use super::diag::{Diags, Origin};
use super::raw::{Node, Value};
use super::read::*;
use super::resolve::WithTimeline;
use super::units::format_duration;

pub(crate) fn autoscaler(
    node: Option<&Node>,
    with_timeline: WithTimeline,
    diags: &mut Diags,
) -> Autoscaler {
    let placeholder = Autoscaler::Fixed { instances: 1 };
    let mut s = Section::open(node, "autoscaler", &Origin::Whole, diags);
    if !s.is_present() {
        return placeholder;
    }
    // `--set autoscaler.instances=3` (or a grid or search over it) on a scenario without
    // [autoscaler] sets the default autoscaler's instance count: the table it makes has no
    // kind, and the default's is fixed. Any other key needs the kind that reads it.
    let made_outside_the_file = node.and_then(|n| match &n.value {
        Value::Table(t)
            if !matches!(n.origin, Origin::File { .. } | Origin::Whole)
                && t.get("kind").is_none() =>
        {
            Some((n, t.entries.iter().all(|e| e.key == "instances")))
        }
        _ => None,
    });
    let kind = match made_outside_the_file {
        Some((_, true)) => Some("fixed"),
        Some((made, false)) => {
            diags.error(
                &made.origin,
                "autoscaler.kind",
                "missing required key, expected \"fixed\", \"cloud_run\", \"hpa\" or \"keda\" \
                 (the scenario has no [autoscaler], and its default, kind = \"fixed\", reads only \
                 instances: set autoscaler.kind too)",
            );
            return placeholder;
        }
        None => s.kind(diags, &["fixed", "cloud_run", "hpa", "keda"]),
    };
    let autoscaler = match kind {
        None => return placeholder,
        Some("fixed") => Autoscaler::Fixed {
            instances: s.u32(diags, "instances", 1, 0),
        },
        Some("hpa") => Autoscaler::Hpa(hpa(&mut s, with_timeline, diags)),
        Some("keda") => Autoscaler::Keda(keda(&mut s, with_timeline, diags)),
        Some(_) => Autoscaler::CloudRun(cloud_run(&mut s, with_timeline, diags)),
    };
    s.finish(diags);
    autoscaler
}

/// `initial_instances` only matters at t = 0: a timeline `set` that moves min or max clamps it
/// rather than failing (which also keeps the resolved file's round trip exact).
fn cloud_run(
    s: &mut Section<'_>,
    with_timeline: WithTimeline,
    diags: &mut Diags,
) -> CloudRunAutoscaler {
    let min_instances = s.u32(diags, "min_instances", 0, 0);
    let max_instances = s.u32(diags, "max_instances", 100, 1);
    if min_instances > max_instances {
        let message = format!(
            "min_instances ({min_instances}) must not exceed max_instances ({max_instances})"
        );
        let (origin, path) = s.conflict("min_instances", &["max_instances"]);
        diags.error(&origin, &path, message);
    }
    let default_initial = min_instances
        .max(1)
        .clamp(min_instances.min(max_instances), max_instances);
    let mut initial_instances = s.u32(diags, "initial_instances", default_initial, 0);
    // A sweep that moves min or max means "start within the new bounds": an initial count the
    // grid does not set itself is clamped, as a timeline `set` does.
    let bound_swept =
        s.origin_of("min_instances").is_grid() || s.origin_of("max_instances").is_grid();
    let clamp = with_timeline == WithTimeline::No
        || (bound_swept && !s.origin_of("initial_instances").is_grid());
    if clamp && min_instances <= max_instances {
        initial_instances = initial_instances.clamp(min_instances, max_instances);
    }
    if !(min_instances..=max_instances).contains(&initial_instances)
        && min_instances <= max_instances
    {
        let message = format!(
            "initial_instances ({initial_instances}) must be within [min_instances, max_instances] = [{min_instances}, {max_instances}]"
        );
        let (origin, path) = s.conflict("initial_instances", &["min_instances", "max_instances"]);
        diags.error(&origin, &path, message);
    }
    let window = s.duration_min(diags, "window", 60_000_000_000, 1);
    let evaluation_interval = s.duration_min(diags, "evaluation_interval", 2_000_000_000, 1);
    if !window.is_multiple_of(evaluation_interval) {
        let message = format!(
            "evaluation_interval ({}) must divide window ({})",
            format_duration(evaluation_interval),
            format_duration(window)
        );
        let (origin, path) = s.conflict("evaluation_interval", &["window"]);
        diags.error(&origin, &path, message);
    }
    CloudRunAutoscaler {
        min_instances,
        max_instances,
        initial_instances,
        target_cpu_utilization: s.number(diags, "target_cpu_utilization", 0.6, FRACTION_POSITIVE),
        max_concurrency: s.u32_in(diags, "max_concurrency", 80, 1, SLOTS_MAX),
        target_concurrency_utilization: s.number(
            diags,
            "target_concurrency_utilization",
            0.6,
            FRACTION_POSITIVE,
        ),
        window,
        evaluation_interval,
        scale_in_stabilization: s.duration(diags, "scale_in_stabilization", 900_000_000_000),
    }
}

/// An instance range: `min_key` (default `min_default`, at least `min_floor`), `max_key`
/// (`max_default`, or required when `None`; at least 1 and at least the minimum), and
/// `initial_replicas` (default `initial_default(min, max)`, clamped into the range when a
/// timeline `set` resolves it, or when a sweep grid moves the bounds and not it).
struct Bounds {
    min: u32,
    max: u32,
    initial: u32,
}

fn bounds(
    s: &mut Section<'_>,
    with_timeline: WithTimeline,
    diags: &mut Diags,
    (min_key, min_default, min_floor): (&'static str, u32, u32),
    (max_key, max_default): (&'static str, Option<u32>),
    initial_default: fn(u32, u32) -> u32,
) -> Bounds {
    let min = s.u32(diags, min_key, min_default, min_floor);
    if max_default.is_none() && !s.has(max_key) {
        s.missing(max_key, "an integer >= 1", diags);
    }
    let max = s.u32(diags, max_key, max_default.unwrap_or(min.max(1)), 1);
    if min > max {
        let message = format!("{min_key} ({min}) must not exceed {max_key} ({max})");
        let (origin, path) = s.conflict(min_key, &[max_key]);
        diags.error(&origin, &path, message);
    }
    let default_initial = initial_default(min, max).clamp(min.min(max), max);
    let mut initial = s.u32(diags, "initial_replicas", default_initial, 0);
    // As for cloud_run: a sweep that moves min or max clamps an initial count it does not set.
    let bound_swept = s.origin_of(min_key).is_grid() || s.origin_of(max_key).is_grid();
    let clamp = with_timeline == WithTimeline::No
        || (bound_swept && !s.origin_of("initial_replicas").is_grid());
    if clamp && min <= max {
        initial = initial.clamp(min, max);
    }
    if min <= max && !(min..=max).contains(&initial) {
        let message = format!(
            "initial_replicas ({initial}) must be within [{min_key}, {max_key}] = [{min}, {max}]"
        );
        let (origin, path) = s.conflict("initial_replicas", &[min_key, max_key]);
        diags.error(&origin, &path, message);
    }
    Bounds { min, max, initial }
}

/// `kind = "hpa"`: Kubernetes' Horizontal Pod Autoscaler.
fn hpa(s: &mut Section<'_>, with_timeline: WithTimeline, diags: &mut Diags) -> HpaAutoscaler {
    let bounds = bounds(
        s,
        with_timeline,
        diags,
        ("min_replicas", 1, 1),
        ("max_replicas", None),
        |min, _| min,
    );
    let metric = match s.choice(
        diags,
        "metric",
        &["cpu", "memory", "backlog", "concurrency"],
    ) {
        Some("concurrency") => {
            if !s.has("target_average_value") {
                s.missing(
                    "target_average_value",
                    "a number > 0 (requests per replica)",
                    diags,
                );
            }
            HpaMetric::Concurrency {
                target_average_value: s.number(diags, "target_average_value", 1.0, QUEUE_SIZE),
            }
        }
        Some("memory") => HpaMetric::Memory {
            target_utilization: s.number(diags, "target_utilization", 0.8, FRACTION_POSITIVE),
        },
        Some("backlog") => HpaMetric::Backlog {
            queue_types: queue_types(s, diags),
            target_queue_size: s.number(diags, "target_queue_size", 5.0, QUEUE_SIZE),
        },
        _ => {
            if !s.has("metric") {
                s.missing(
                    "metric",
                    "one of \"cpu\", \"memory\", \"backlog\", \"concurrency\"",
                    diags,
                );
            }
            HpaMetric::Cpu {
                target_utilization: s.number(diags, "target_utilization", 0.8, FRACTION_POSITIVE),
            }
        }
    };
    // A key of another metric is not a misspelling: say which metric takes it.
    let chosen = match metric {
        HpaMetric::Cpu { .. } => "cpu",
        HpaMetric::Memory { .. } => "memory",
        HpaMetric::Backlog { .. } => "backlog",
        HpaMetric::Concurrency { .. } => "concurrency",
    };
    for (key, metrics, wording) in HPA_METRIC_KEYS {
        if s.has(key) && !metrics.contains(&chosen) {
            diags.error(
                &s.origin_of(key),
                &s.key_path(key),
                format!("only applies with {wording}, not metric = \"{chosen}\""),
            );
            s.take(key);
        }
    }
    HpaAutoscaler {
        min_replicas: bounds.min,
        max_replicas: bounds.max,
        initial_replicas: bounds.initial,
        metric,
        control: control(s, diags),
    }
}

/// The hpa keys that belong to some metrics only: (key, metrics, how a message says so).
const HPA_METRIC_KEYS: [(&str, &[&str], &str); 4] = [
    (
        "target_utilization",
        &["cpu", "memory"],
        "metric = \"cpu\" or \"memory\"",
    ),
    ("queue_types", &["backlog"], "metric = \"backlog\""),
    ("target_queue_size", &["backlog"], "metric = \"backlog\""),
    (
        "target_average_value",
        &["concurrency"],
        "metric = \"concurrency\"",
    ),
];

/// `kind = "keda"`: a KEDA ScaledObject with the Temporal scaler.
fn keda(s: &mut Section<'_>, with_timeline: WithTimeline, diags: &mut Diags) -> KedaAutoscaler {
    let bounds = bounds(
        s,
        with_timeline,
        diags,
        ("min_replica_count", 0, 0),
        ("max_replica_count", Some(100)),
        |min, _| min.max(1),
    );
    KedaAutoscaler {
        min_replica_count: bounds.min,
        max_replica_count: bounds.max,
        initial_replicas: bounds.initial,
        polling_interval: s.duration_min(diags, "polling_interval", 30 * SECOND, 1),
        cooldown_period: s.duration(diags, "cooldown_period", 300 * SECOND),
        queue_types: queue_types(s, diags),
        target_queue_size: s.number(diags, "target_queue_size", 5.0, QUEUE_SIZE),
        activation_target_queue_size: s.number(
            diags,
            "activation_target_queue_size",
            0.0,
            closed(0.0, COUNT_MAX),
        ),
        control: control(s, diags),
    }
}

const SECOND: Nanos = 1_000_000_000;

/// A backlog per replica: positive, at most a billion.
const QUEUE_SIZE: Range = positive_up_to(COUNT_MAX);

/// Kubernetes caps a stabilisation window at one hour and a policy period at 30 minutes.
const STABILIZATION_WINDOW_MAX: Nanos = 3600 * SECOND;
const POLICY_PERIOD_MAX: Nanos = 1800 * SECOND;

fn queue_types(s: &mut Section<'_>, diags: &mut Diags) -> QueueTypes {
    let options = [
        "workflow",
        "activity",
        "workflow,activity",
        "activity,workflow",
    ];
    match s.choice(diags, "queue_types", &options) {
        Some("activity") => QueueTypes {
            workflow: false,
            activity: true,
        },
        Some("workflow,activity" | "activity,workflow") => QueueTypes {
            workflow: true,
            activity: true,
        },
        _ => QueueTypes {
            workflow: true,
            activity: false,
        },
    }
}

/// `tolerance`, `sync_period` and `[autoscaler.behavior]`, with Kubernetes' defaults.
fn control(s: &mut Section<'_>, diags: &mut Diags) -> HpaControl {
    let defaults = HpaControl::kubernetes_defaults();
    let tolerance = s.number(diags, "tolerance", defaults.tolerance, HALF_OPEN_FRACTION);
    let sync_period = s.duration_min(diags, "sync_period", defaults.sync_period, 1);
    let behavior_node = s.take("behavior");
    let path = s.key_path("behavior");
    let mut behavior = Section::open(behavior_node, &path, &s.origin, diags);
    let scale_up = scaling_rules(&mut behavior, "scale_up", defaults.scale_up, diags);
    let scale_down = scaling_rules(&mut behavior, "scale_down", defaults.scale_down, diags);
    behavior.finish(diags);
    HpaControl {
        tolerance,
        sync_period,
        scale_up,
        scale_down,
    }
}

const HALF_OPEN_FRACTION: Range = Range {
    lo: 0.0,
    lo_open: false,
    hi: 1.0,
    hi_open: true,
};

fn scaling_rules(
    behavior: &mut Section<'_>,
    key: &'static str,
    defaults: HpaScalingRules,
    diags: &mut Diags,
) -> HpaScalingRules {
    let node = behavior.take(key);
    let path = behavior.key_path(key);
    let mut s = Section::open(node, &path, &behavior.origin, diags);
    let stabilization_window = duration_in(
        &mut s,
        diags,
        "stabilization_window",
        defaults.stabilization_window,
        (0, STABILIZATION_WINDOW_MAX),
    );
    let select_policy = match s.choice(diags, "select_policy", &["max", "min", "disabled"]) {
        Some("min") => SelectPolicy::Min,
        Some("disabled") => SelectPolicy::Disabled,
        Some(_) => SelectPolicy::Max,
        None => defaults.select_policy,
    };
    let policies_node = s.take("policies");
    let policies_path = s.key_path("policies");
    let mut policies = Vec::new();
    let items = super::resolve::array_items(policies_node, &policies_path, diags);
    for (item_path, item) in &items {
        let mut p = Section::open(Some(*item), item_path, &item.origin, diags);
        let kind = match p.kind(diags, &["pods", "percent"]) {
            Some("percent") => PolicyKind::Percent,
            _ => PolicyKind::Pods,
        };
        if !p.has("value") {
            p.missing("value", "an integer >= 1", diags);
        }
        if !p.has("period") {
            p.missing("period", "a duration such as \"15s\"", diags);
        }
        let value = p.u32(diags, "value", 1, 1);
        let period = duration_in(&mut p, diags, "period", SECOND, (1, POLICY_PERIOD_MAX));
        policies.push(HpaPolicy {
            kind,
            value,
            period,
        });
        p.finish(diags);
    }
    if policies_node.is_some() && items.is_empty() && select_policy != SelectPolicy::Disabled {
        diags.error(
            &s.origin_of("policies"),
            &policies_path,
            "expected at least one policy (or select_policy = \"disabled\")",
        );
    }
    s.finish(diags);
    HpaScalingRules {
        stabilization_window,
        select_policy,
        policies: if policies_node.is_some() {
            policies
        } else {
            defaults.policies
        },
    }
}

/// A duration in `[min, max]` (Kubernetes' bounds); the default when absent or out of range.
fn duration_in(
    s: &mut Section<'_>,
    diags: &mut Diags,
    key: &'static str,
    default: Nanos,
    (min, max): (Nanos, Nanos),
) -> Nanos {
    let origin = s.origin_of(key);
    let value = s.duration_min(diags, key, default, min);
    if value > max {
        let message = format!(
            "expected a duration of at most {} (the Kubernetes limit), found \"{}\"",
            format_duration(max),
            format_duration(value)
        );
        diags.error(&origin, &s.key_path(key), message);
        return default;
    }
    value
}
