//! The `[autoscaler]` section: its `kind` picks one reader here, each applying the kind's
//! documented defaults and checking its rules (min <= max and the like). A new autoscaler kind
//! adds its reader here, its type to `config.rs`, its writer to `write.rs` and its model to
//! `model/autoscaler/`.

use super::config::*;
use super::diag::{Diags, Origin};
use super::raw::Node;
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
    let autoscaler = match s.kind(diags, &["fixed", "cloud_run"]) {
        None => return placeholder,
        Some("fixed") => Autoscaler::Fixed {
            instances: s.u32(diags, "instances", 1, 0),
        },
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
        diags.error(
            &s.origin_of("min_instances"),
            "autoscaler.min_instances",
            message,
        );
    }
    let default_initial = min_instances
        .max(1)
        .clamp(min_instances.min(max_instances), max_instances);
    let mut initial_instances = s.u32(diags, "initial_instances", default_initial, 0);
    if with_timeline == WithTimeline::No && min_instances <= max_instances {
        initial_instances = initial_instances.clamp(min_instances, max_instances);
    }
    if !(min_instances..=max_instances).contains(&initial_instances)
        && min_instances <= max_instances
    {
        let message = format!(
            "expected an integer in [min_instances, max_instances] = [{min_instances}, {max_instances}], found {initial_instances}"
        );
        diags.error(
            &s.origin_of("initial_instances"),
            "autoscaler.initial_instances",
            message,
        );
    }
    let window = s.duration_min(diags, "window", 60_000_000_000, 1);
    let evaluation_interval = s.duration_min(diags, "evaluation_interval", 2_000_000_000, 1);
    if !window.is_multiple_of(evaluation_interval) {
        let message = format!(
            "evaluation_interval ({}) must divide window ({})",
            format_duration(evaluation_interval),
            format_duration(window)
        );
        diags.error(
            &s.origin_of("evaluation_interval"),
            "autoscaler.evaluation_interval",
            message,
        );
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
