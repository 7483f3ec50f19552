//! White-box tests of the model's mechanisms on small scenarios built in code: they step the
//! model and look at its state at the moments that matter (a crash, a sticky timeout).

use super::testkit::{fleet, secs};
use super::*;
use crate::scenario::{Autoscaler, Dist, RatePoint, TrafficProfile};

fn started(scenario: &Scenario) -> Model {
    let mut model = Model::new(scenario, &RunOptions::default());
    model.start();
    model
}

fn step_until(model: &mut Model, mut done: impl FnMut(&Model) -> bool) {
    while !done(model) {
        assert!(
            model.step().expect("runs"),
            "run ended before the condition held"
        );
    }
}

fn finish(mut model: Model) -> RunOutput {
    model.run_loop().expect("runs");
    model.finish().expect("checks pass")
}

fn cloud_run(min: u32, max: u32, initial: u32) -> Autoscaler {
    Autoscaler::CloudRun(super::testkit::cloud_run(min, max, initial))
}

#[test]
fn a_cache_larger_than_the_open_workflows_has_no_misses_after_warmup() {
    let mut scenario = fleet(2.0, 1800.0);
    scenario.autoscaler = Autoscaler::Fixed { instances: 3 };
    scenario.run.warmup = secs(300.0);
    let summary = run(&scenario).unwrap().summary;
    assert!(summary.cache.hits > 10_000, "{:?}", summary.cache);
    assert_eq!(summary.cache.misses, 0);
    assert_eq!(summary.cache.evictions, 0);
}

#[test]
fn a_small_cache_misses_replays_and_its_memory_plateaus_at_its_size() {
    let mut scenario = fleet(2.0, 3600.0);
    scenario.temporal.cache_size = 50;
    let per_workflow = scenario.temporal.cached_workflow_memory_bytes;
    let per_event = scenario.temporal.cached_memory_per_event_bytes;
    let mut model = started(&scenario);
    step_until(&mut model, |m| m.now() >= secs(3000.0));
    let instance = &model.instances[0];
    assert!(
        (45..=50).contains(&instance.cache_entries),
        "the cache is full"
    );
    let max_history = model
        .wfs
        .ids()
        .map(|wf| model.wfs[wf].history_events as u64)
        .max()
        .unwrap();
    let entries = instance.cache_entries as u64;
    assert!(instance.cache_bytes >= entries * per_workflow);
    assert!(instance.cache_bytes <= entries * (per_workflow + max_history * per_event));
    let output = finish(model);
    let cache = &output.summary.cache;
    assert!(cache.misses > 1000 && cache.evictions > 1000, "{cache:?}");
    assert!(
        cache.replayed_events > cache.misses,
        "a miss replays the whole history"
    );
    // Memory plateaus: the last quarter's peak is within 5% of the third quarter's.
    let rows = output.timeseries.rows.to_vec();
    let quarter = rows.len() / 4;
    let peak = |r: &[crate::metrics::report::TimeseriesRow]| {
        r.iter().map(|row| row.memory_bytes_max).max().unwrap() as f64
    };
    let (third, last) = (
        peak(&rows[2 * quarter..3 * quarter]),
        peak(&rows[3 * quarter..]),
    );
    assert!(
        (last - third).abs() / third < 0.05,
        "third quarter {third}, last {last}"
    );
}

#[test]
fn an_oom_empties_the_cache_and_lost_activities_return_only_through_their_timeout() {
    let mut scenario = fleet(2.0, 1800.0);
    scenario.temporal.cached_workflow_memory_bytes = 1 << 20;
    scenario.instance.memory_limit_bytes = 300 << 20;
    let mut model = started(&scenario);
    step_until(&mut model, |m| m.stats.oom_crashes == 1);
    assert_eq!(model.instances[0].cache_entries, 0);
    assert_eq!(model.instances[0].cache_bytes, 0);
    assert!(model.wfs.ids().all(|wf| model.wfs[wf].cached_on == NONE));
    let mut lost: Vec<(Time, u32)> = model
        .acts
        .ids()
        .filter(|&act| model.acts[act].state == ActivityState::Lost)
        .map(|act| {
            let a = &model.acts[act];
            let stc = model.program.step_of(a.node).start_to_close_timeout;
            (a.started_at + stc, act)
        })
        .collect();
    lost.sort();
    assert!(!lost.is_empty(), "the crash lost in-flight activities");
    for (deadline, act) in lost {
        step_until(&mut model, |m| m.acts[act].state != ActivityState::Lost);
        assert_eq!(
            model.now(),
            deadline,
            "back only at the start-to-close timeout"
        );
        assert_eq!(
            model.acts[act].state,
            ActivityState::Backoff,
            "then the retry policy"
        );
    }
    let summary = finish(model).summary;
    assert!(summary.crashes.oom >= 1);
    assert!(summary.activities.attempts_timed_out > 0);
    assert!(summary.activities.retries >= summary.activities.attempts_timed_out);
}

#[test]
fn a_sticky_task_for_a_dead_worker_moves_to_the_normal_queue_after_the_sticky_timeout() {
    let mut scenario = fleet(1.0, 1200.0);
    scenario.autoscaler = Autoscaler::Fixed { instances: 2 };
    let sticky_timeout = scenario.temporal.sticky_schedule_to_start_timeout;
    let mut model = started(&scenario);
    // A parent cached on instance 0, idle, waiting for its customer's next message.
    step_until(&mut model, |m| m.now() > secs(300.0));
    let mut parent = NONE;
    step_until(&mut model, |m| {
        parent = m
            .wfs
            .ids()
            .find(|&wf| {
                let w = &m.wfs[wf];
                w.kind == WorkflowKind::Parent
                    && w.cached_on == 0
                    && w.task == TaskState::Idle
                    && m.convs[w.conv].timer_pending
                    && !m.convs[w.conv].done_talking
            })
            .unwrap_or(NONE);
        parent != NONE
    });
    model.check_oom_with_limit(0, 0);
    assert_eq!(model.instances[0].state, InstanceState::Down);
    step_until(&mut model, |m| {
        m.wfs[parent].task == TaskState::QueuedSticky
    });
    let queued_at = model.now();
    step_until(&mut model, |m| {
        m.wfs[parent].task != TaskState::QueuedSticky
    });
    assert_eq!(model.now(), queued_at + sticky_timeout);
    step_until(&mut model, |m| {
        m.wfs[parent].task != TaskState::QueuedNormal
    });
    assert_eq!(
        model.wfs[parent].task_inst, 1,
        "picked up by the live worker"
    );
    assert!(model.wfs[parent].task_replaying, "a cache miss there");
}

#[test]
fn cloud_run_scales_out_on_cpu_within_its_maximum() {
    let mut scenario = fleet(4.0, 1800.0);
    scenario.temporal.workflow_task_cpu = secs(0.2);
    scenario.autoscaler = cloud_run(1, 6, 1);
    let output = run(&scenario).unwrap();
    let s = &output.summary;
    assert!(output.events.iter().any(|e| e.kind == EventKind::ScaleOut));
    assert_eq!(s.instances.max, 6, "clamped to max_instances");
    let busy = output
        .timeseries
        .rows
        .iter()
        .filter(|r| r.cpu_utilization > 0.6)
        .count();
    assert!(busy > 0, "the CPU exceeded the target");
}

#[test]
fn cloud_run_scales_in_only_after_the_stabilisation_period_and_not_below_min() {
    let mut scenario = fleet(4.0, 5400.0);
    scenario.temporal.workflow_task_cpu = secs(0.03);
    scenario.workloads[0].traffic.profile = TrafficProfile::Piecewise {
        points: vec![
            RatePoint {
                at: 0,
                rate_per_s: 4.0,
            },
            RatePoint {
                at: secs(1800.0),
                rate_per_s: 0.0,
            },
        ],
    };
    scenario.autoscaler = cloud_run(2, 20, 2);
    let output = run(&scenario).unwrap();
    let at = |kind: EventKind| -> Vec<f64> {
        output
            .events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.t_s)
            .collect()
    };
    let (scale_outs, scale_ins) = (at(EventKind::ScaleOut), at(EventKind::ScaleIn));
    assert!(!scale_outs.is_empty() && !scale_ins.is_empty());
    // Each scale-out sets a desired count that holds for the stabilisation window.
    for scale_in in &scale_ins {
        let last_out = scale_outs
            .iter()
            .rfind(|t| *t <= scale_in)
            .copied()
            .unwrap();
        assert!(
            scale_in - last_out >= 900.0,
            "scale-in at {scale_in} s, {last_out} s out"
        );
    }
    let last_in = *scale_ins.last().unwrap();
    assert!(
        last_in >= 1800.0 + 900.0,
        "the last scale-in follows the traffic drop by 15 min"
    );
    let last = output.timeseries.rows.last().unwrap();
    assert_eq!(last.instances_running, 2, "down to min_instances");
}

#[test]
fn a_polling_worker_is_scaled_on_cpu_alone_however_long_its_backlog() {
    let mut scenario = fleet(2.0, 1800.0);
    // Few activity slots and slow tools: a long activity backlog but idle CPUs.
    scenario.temporal.max_concurrent_activities = 5;
    scenario.workloads[0].agent.steps[1].kind = crate::scenario::StepKind::Tool {
        latency: Dist::Constant { value: 5.0 },
        failure_probability: 0.0,
        price_per_call_usd: 0.0,
        max_concurrent_calls: None,
    };
    scenario.autoscaler = cloud_run(1, 10, 1);
    let output = run(&scenario).unwrap();
    let backlog = output
        .timeseries
        .rows
        .iter()
        .map(|r| r.activity_backlog)
        .max()
        .unwrap();
    assert!(backlog > 100, "activities queued: {backlog}");
    assert_eq!(output.summary.instances.max, 1, "no scale-out without CPU");
}

#[test]
fn when_every_provider_fails_the_retry_policy_applies() {
    let mut scenario = fleet(0.2, 900.0);
    // Traffic stops early so every activity has finished its attempts by the end.
    scenario.workloads[0].traffic.profile = TrafficProfile::Piecewise {
        points: vec![
            RatePoint {
                at: 0,
                rate_per_s: 0.2,
            },
            RatePoint {
                at: secs(600.0),
                rate_per_s: 0.0,
            },
        ],
    };
    for provider in &mut scenario.providers {
        provider.error_probability = 1.0;
    }
    scenario.retry.maximum_attempts = 3;
    let output = run(&scenario).unwrap();
    let s = &output.summary;
    let llm_attempts = s.activities.attempts_failed;
    assert!(llm_attempts > 0);
    assert_eq!(
        s.llm_calls["maker"].errors, llm_attempts,
        "each attempt tried the maker"
    );
    assert_eq!(
        s.llm_calls["cloud"].errors, llm_attempts,
        "then failed over to the cloud"
    );
    assert_eq!(
        s.activities.retries * 3,
        llm_attempts * 2,
        "two retries per activity"
    );
    assert_eq!(s.messages.answered, 0);
    assert_eq!(
        s.messages.unanswered + s.messages.in_flight_at_end,
        s.messages.received
    );
}

#[test]
fn failover_spreads_calls_and_latency_is_recorded_per_provider() {
    let mut scenario = fleet(1.0, 1200.0);
    scenario.providers[0].error_probability = 0.3;
    let s = run(&scenario).unwrap().summary;
    let (maker, cloud) = (&s.llm_calls["maker"], &s.llm_calls["cloud"]);
    let share = maker.errors as f64 / maker.calls as f64;
    assert!((share - 0.3).abs() < 0.05, "maker error share {share}");
    assert_eq!(
        cloud.calls, maker.errors,
        "every maker error fails over to the cloud"
    );
    let (maker_latency, cloud_latency) = (
        &s.llm_call_latency_s["maker"],
        &s.llm_call_latency_s["cloud"],
    );
    assert_eq!(maker_latency.count, maker.calls - maker.errors);
    assert_eq!(cloud_latency.count, cloud.calls);
    // TTFT medians 0.8 s and 1.0 s plus 200 tokens at 100 and 80 tokens/s.
    assert!((maker_latency.p50 - 2.8).abs() < 0.15, "{maker_latency:?}");
    assert!((cloud_latency.p50 - 3.5).abs() < 0.2, "{cloud_latency:?}");
}

/// A timeline set that changes the traffic profile keeps the arrivals exactly Poisson, as a
/// change of the multiplier does: the pending arrival's mass used so far is measured under the
/// old rate. Both routes to the same new rate bring the same arrivals at the same nanoseconds
/// (the rates are exact in binary, so the two products agree to the bit). It used to be
/// measured under the new rate, which brought the first arrival after a rise too early (and
/// forced one at the change when the gap since the last arrival was long enough).
#[test]
fn a_profile_change_on_the_timeline_keeps_the_arrival_process_poisson() {
    use crate::scenario::{Action, Intervention};
    let arrival_times = |seed: u64, assignment: (&str, &str), change: &dyn Fn(&mut Scenario)| {
        let mut scenario = fleet(0.25, 1200.0);
        scenario.seed = seed;
        let mut effective = scenario.clone();
        change(&mut effective);
        scenario.timeline = vec![Intervention {
            at: secs(600.0),
            label: "surge".into(),
            action: Action::Set {
                assignments: vec![(assignment.0.into(), assignment.1.into())],
                deploy: None,
                effective: Box::new(effective),
            },
        }];
        let mut model = started(&scenario);
        let mut times = Vec::new();
        while model.step().expect("runs") {
            let from = model.arrivals[0].from;
            if times.last() != Some(&from) && from > 0 {
                times.push(from);
            }
        }
        times
    };
    for seed in 1..=5 {
        let by_profile = arrival_times(seed, ("traffic.rate_per_s", "1.0"), &|s| {
            s.workloads[0].traffic.profile = TrafficProfile::Constant { rate_per_s: 1.0 }
        });
        let by_multiplier = arrival_times(seed, ("traffic.multiplier", "4.0"), &|s| {
            s.workloads[0].traffic.multiplier = 4.0
        });
        assert!(by_profile.len() > 600, "seed {seed}: {}", by_profile.len());
        assert_eq!(by_profile, by_multiplier, "seed {seed}");
    }
}

/// A set that switches to a trace replays the trace's rows from the change on, at their
/// times; one that switches from a trace to a rate starts a Poisson process at the change,
/// with no arrival forced there.
#[test]
fn a_timeline_switch_to_or_from_a_trace_replays_or_starts_afresh() {
    use crate::scenario::{Action, Intervention, Traffic};
    let arrival_times = |before: TrafficProfile, after: TrafficProfile| {
        let mut scenario = fleet(1.0, 1200.0);
        scenario.workloads[0].traffic = Traffic {
            profile: before,
            multiplier: 1.0,
        };
        let mut effective = scenario.clone();
        effective.workloads[0].traffic.profile = after;
        scenario.timeline = vec![Intervention {
            at: secs(600.0),
            label: "switch".into(),
            action: Action::Set {
                assignments: vec![("traffic".into(), "{}".into())],
                deploy: None,
                effective: Box::new(effective),
            },
        }];
        let mut model = started(&scenario);
        let mut times = Vec::new();
        let mut started_before = 0;
        while model.step().expect("runs") {
            let started_now = model.stats.conversations_started;
            if started_now != started_before {
                times.push(model.now());
                started_before = started_now;
            }
        }
        times
    };
    let trace = |seconds: &[f64]| TrafficProfile::Trace {
        csv: "trace.csv".into(),
        arrivals: seconds.iter().map(|&s| secs(s)).collect(),
    };
    let quiet = TrafficProfile::Constant { rate_per_s: 0.0 };
    assert_eq!(
        arrival_times(quiet, trace(&[100.0, 600.0, 700.0, 1100.0])),
        [secs(600.0), secs(700.0), secs(1100.0)]
    );
    let times = arrival_times(
        trace(&[100.0, 200.0]),
        TrafficProfile::Constant { rate_per_s: 1.0 },
    );
    assert_eq!(times[..2], [secs(100.0), secs(200.0)]);
    assert!(times[2] > secs(600.0), "{:?}", &times[..3]);
    assert!((500..700).contains(&times.len()), "{}", times.len());
}

/// A leak that a timeline `set` brings (with a deploy, since it belongs to the revision) is
/// checked every second from then on, as one there from the start is: with no traffic nothing
/// else looks at memory, and the leaking instances used to run far past their limit
/// unnoticed.
#[test]
fn a_leak_brought_by_a_timeline_set_is_checked_every_second() {
    use crate::scenario::{Action, Deploy, Intervention};
    let mut scenario = fleet(1.0, 600.0);
    scenario.workloads[0].traffic.profile = TrafficProfile::Constant { rate_per_s: 0.0 };
    scenario.autoscaler = Autoscaler::Fixed { instances: 2 };
    let mut effective = scenario.clone();
    // The whole limit in about 20 s.
    effective.instance.leak_bytes_per_hour = scenario.instance.memory_limit_bytes * 180;
    scenario.timeline = vec![Intervention {
        at: secs(60.0),
        label: "leaky release".into(),
        action: Action::Set {
            assignments: vec![("instance.leak_per_hour".into(), "?".into())],
            deploy: Some(Deploy::AtOnce),
            effective: Box::new(effective),
        },
    }];
    let summary = finish(started(&scenario)).summary;
    assert!(summary.crashes.oom >= 10, "{:?}", summary.crashes);
    let limit = scenario.instance.memory_limit_bytes;
    assert!(
        summary.memory_peak_bytes <= limit + limit / 10,
        "{} against a limit of {limit}",
        summary.memory_peak_bytes
    );
}

/// A timeline `set` of `[instance.gc]` without a deploy reaches the instances already
/// running (each keeps its revision's memory limit but reads the GC settings as they are now),
/// through the integer bound each instance keeps for the factor's shortcut: renewed with
/// every `set`, both ways.
#[test]
fn a_gc_set_on_the_timeline_reaches_the_running_instances() {
    use crate::scenario::{Action, GcPressure, Intervention};
    let mut scenario = fleet(1.0, 300.0);
    scenario.autoscaler = Autoscaler::Fixed { instances: 1 };
    scenario.instance.gc = None;
    let set = |at_s: f64, gc: Option<GcPressure>| {
        let mut effective = scenario.clone();
        effective.instance.gc = gc;
        Intervention {
            at: secs(at_s),
            label: "gc".into(),
            action: Action::Set {
                assignments: vec![("instance.gc.threshold".into(), "?".into())],
                deploy: None,
                effective: Box::new(effective),
            },
        }
    };
    scenario.timeline = vec![
        set(
            100.0,
            Some(GcPressure {
                threshold: 0.0,
                max_overhead: 1.0,
            }),
        ),
        set(
            200.0,
            Some(GcPressure {
                threshold: 0.99,
                max_overhead: 1.0,
            }),
        ),
    ];
    let mut model = started(&scenario);
    let mut factor_at = |t_s: f64| {
        step_until(&mut model, |m| m.now() >= secs(t_s));
        let inst = (0..model.instances.len() as u32)
            .find(|&i| model.instances[i as usize].state == InstanceState::Running)
            .expect("a running instance");
        let used = model.memory_bytes(inst) as f64
            / model.instances[inst as usize].spec.memory_limit_bytes as f64;
        assert!(used > 0.0 && used < 0.99, "{used}");
        (model.gc_factor(inst), used)
    };
    assert_eq!(factor_at(50.0).0, 1.0, "no GC pressure at first");
    let (factor, used) = factor_at(150.0);
    assert_eq!(
        factor,
        1.0 + used * used,
        "a threshold of 0: the factor rises at once"
    );
    assert_eq!(factor_at(250.0).0, 1.0, "under the new threshold again");
}

/// Incidents on one provider that overlap each end at their own time: an outage from 5 to 7
/// minutes does not last until the end of a degradation from 6 to 16 minutes (it used to: the
/// later incident's start made the earlier one's end stale, and the last end cleared both),
/// and a short second degradation hands the latency back to the first when it ends.
#[test]
fn overlapping_incidents_on_one_provider_each_end_at_their_own_time() {
    use crate::scenario::{Action, IncidentKind, Intervention};
    let incident = |at_s: f64, kind: IncidentKind, duration_s: f64, factor: f64| Intervention {
        at: secs(at_s),
        label: "incident".into(),
        action: Action::ProviderIncident {
            provider: 0,
            incident: kind,
            duration: secs(duration_s),
            factor,
        },
    };
    let mut scenario = fleet(1.0, 1500.0);
    scenario.timeline = vec![
        incident(300.0, IncidentKind::Outage, 120.0, 1.0),
        incident(360.0, IncidentKind::Degradation, 600.0, 2.0),
        incident(500.0, IncidentKind::Degradation, 100.0, 3.0),
    ];
    let mut model = started(&scenario);
    let mut condition_at = |t_s: f64| {
        step_until(&mut model, |m| m.now() >= secs(t_s));
        let c = model.conditions[0];
        (c.outage, c.latency_factor)
    };
    assert_eq!(condition_at(330.0), (true, 1.0));
    assert_eq!(condition_at(400.0), (true, 2.0));
    assert_eq!(
        condition_at(450.0),
        (false, 2.0),
        "the outage is over at 420 s"
    );
    assert_eq!(condition_at(550.0), (false, 3.0));
    assert_eq!(
        condition_at(700.0),
        (false, 2.0),
        "the first degradation goes on"
    );
    assert_eq!(condition_at(1000.0), (false, 1.0));
    let events = finish(model).events;
    let ends = events
        .iter()
        .filter(|e| e.kind == crate::metrics::report::EventKind::ProviderIncidentEnd)
        .count();
    assert_eq!(ends, 3);
}

#[test]
fn a_rolling_deploy_to_fewer_instances_retires_every_old_one() {
    use crate::scenario::{Action, Deploy, Intervention};
    let mut scenario = fleet(1.0, 900.0);
    scenario.autoscaler = Autoscaler::Fixed { instances: 4 };
    let mut effective = scenario.clone();
    effective.autoscaler = Autoscaler::Fixed { instances: 2 };
    scenario.timeline = vec![Intervention {
        at: secs(300.0),
        label: "shrink".into(),
        action: Action::Set {
            assignments: vec![("autoscaler.instances".into(), "2".into())],
            deploy: Some(Deploy::Rolling),
            effective: Box::new(effective),
        },
    }];
    let mut model = started(&scenario);
    step_until(&mut model, |m| m.now() >= secs(600.0));
    let alive: Vec<_> = model
        .instances
        .iter()
        .filter(|i| !matches!(i.state, InstanceState::Stopped))
        .collect();
    assert_eq!(alive.len(), 2, "two new instances, every old one gone");
    assert!(
        alive
            .iter()
            .all(|i| !i.retiring && i.state == InstanceState::Running)
    );
    let summary = finish(model).summary;
    assert_eq!(
        summary.messages.unanswered, 0,
        "nothing lost in a graceful rollout"
    );
}

#[test]
fn hpa_scales_out_on_cpu_within_its_maximum() {
    let mut scenario = fleet(4.0, 1800.0);
    scenario.temporal.workflow_task_cpu = secs(0.2);
    scenario.autoscaler = Autoscaler::Hpa(super::testkit::hpa_cpu(1, 6, 0.6));
    let output = run(&scenario).unwrap();
    let outs: Vec<&EventRecord> = output
        .events
        .iter()
        .filter(|e| e.kind == EventKind::ScaleOut)
        .collect();
    assert!(!outs.is_empty(), "the HPA scaled out");
    assert!(outs[0].detail.contains("(cpu "), "{}", outs[0].detail);
    // Evaluations happen on the 15 s sync period.
    assert!(outs.iter().all(|e| e.t_s % 15.0 == 0.0), "{outs:?}");
    assert_eq!(output.summary.instances.max, 6, "clamped to max_replicas");
    let steps = &output.timeseries.cpu_target_steps;
    assert_eq!(steps.len(), 1);
    assert_eq!(
        steps[0].cpu_utilization,
        Some(0.6),
        "the run reports its target"
    );
}

#[test]
fn keda_scales_to_zero_when_idle_and_back_on_the_first_queued_task() {
    let mut scenario = fleet(1.0, 3600.0);
    // No customers for 20 minutes, then one a second.
    scenario.workloads[0].traffic.profile = TrafficProfile::Piecewise {
        points: vec![
            RatePoint {
                at: 0,
                rate_per_s: 0.0,
            },
            RatePoint {
                at: secs(1200.0),
                rate_per_s: 1.0,
            },
        ],
    };
    scenario.autoscaler = Autoscaler::Keda(super::testkit::keda(0, 10));
    let output = run(&scenario).unwrap();
    let to_zero = output
        .events
        .iter()
        .find(|e| e.kind == EventKind::ScaleIn && e.detail.contains("-> 0 "))
        .expect("scaled to zero while idle");
    // The start counts as activity; the first poll more than 300 s later is at 330 s.
    assert_eq!(to_zero.t_s, 330.0, "{to_zero:?}");
    assert_eq!(to_zero.detail, "1 -> 0 (backlog 0)");
    let from_zero = output
        .events
        .iter()
        .find(|e| e.kind == EventKind::ScaleOut && e.detail.starts_with("0 -> 1 "))
        .expect("scaled from zero when work came");
    // The first workflow task queues after 1200 s; the next 30 s poll activates.
    assert!(
        from_zero.t_s > 1200.0 && from_zero.t_s <= 1230.0 && from_zero.t_s % 30.0 == 0.0,
        "{from_zero:?}"
    );
    assert!(
        output.timeseries.cpu_target_steps[0]
            .cpu_utilization
            .is_none()
    );
    assert!(output.summary.messages.received > 0);
}

#[test]
fn event_kinds_are_named_in_declaration_order_and_count_every_event_once() {
    let samples = [
        Event::Arrival {
            workload: 0,
            epoch: 0,
        },
        Event::CustomerMessage { conv: 0, epoch: 0 },
        Event::Abandon { conv: 0, epoch: 0 },
        Event::AbandonDue { workload: 0 },
        Event::IdleTimer { conv: 0, epoch: 0 },
        Event::StickyTimeout { wf: 0, epoch: 0 },
        Event::HistoryFetched {
            inst: 0,
            inst_gen: 0,
            wf: 0,
            epoch: 0,
        },
        Event::CpuDone {
            inst: 0,
            inst_gen: 0,
            job: CpuJob::Startup,
        },
        Event::WorkflowTaskTimeout { wf: 0, epoch: 0 },
        Event::ActivityDone { act: 0, epoch: 0 },
        Event::ActivityTimeout { act: 0, epoch: 0 },
        Event::ActivityRetry { act: 0, epoch: 0 },
        Event::LlmAttempt {
            act: 0,
            epoch: 0,
            call: 0,
        },
        Event::ActivityFirstChunk { act: 0, epoch: 0 },
        Event::InstanceReady {
            inst: 0,
            inst_gen: 0,
        },
        Event::InstanceRestart {
            inst: 0,
            inst_gen: 0,
        },
        Event::ShutdownDeadline {
            inst: 0,
            inst_gen: 0,
        },
        Event::RequestTimeout { conv: 0, epoch: 0 },
        Event::AutoscalerTick,
        Event::Sample,
        Event::MemoryTick,
        Event::Timeline { index: 0 },
        Event::IncidentEnd {
            provider: 0,
            incident: 0,
        },
    ];
    for (index, event) in samples.iter().enumerate() {
        assert_eq!(event.kind(), index, "{event:?}");
        let name = Event::KIND_NAMES[index];
        assert!(
            format!("{event:?}").starts_with(name),
            "{event:?} is not {name}"
        );
    }

    let mut scenario = fleet(2.0, 1800.0);
    scenario.temporal.cache_size = 50;
    let (output, counts) = run_counted(&scenario).expect("runs");
    assert_eq!(counts.total(), output.summary.events_processed);
    let count = |name: &str| {
        counts
            .by_kind()
            .find(|(kind, _)| *kind == name)
            .map(|(_, n)| n)
            .expect("a kind")
    };
    // One arrival event per conversation started, plus the pending next one cut by the horizon
    // (not processed), and a sample per sample interval.
    assert_eq!(count("Arrival"), output.summary.conversations.started);
    assert_eq!(
        count("Sample"),
        output.timeseries.rows.len() as u64,
        "one row per sample"
    );
    assert_eq!(run(&scenario).expect("runs").summary, output.summary);
}

/// An attempt that ends on a draining worker, and so lets it stop, is over before the stop:
/// the stop does not count it among what it loses, and schedules no start-to-close timeout for
/// it. (It did: a timeout for an attempt already over, discarded when it fired, one event in
/// each such stop.)
#[test]
fn an_attempt_that_lets_its_draining_worker_stop_is_not_lost_with_it() {
    let mut scenario = fleet(0.05, 900.0);
    scenario.autoscaler = Autoscaler::Fixed { instances: 2 };
    // The deadline never cuts the drain short: the attempt ends it.
    scenario.instance.shutdown_grace = secs(10_000.0);
    let mut model = started(&scenario);
    // An instance whose only work is one attempt in its wait.
    let alone = |m: &Model| {
        m.acts.ids().find_map(|act| {
            let a = &m.acts[act];
            let inst = a.inst;
            (a.state == ActivityState::Waiting
                && m.instances[inst as usize].state == InstanceState::Running
                && m.instances[inst as usize].workflow_slots_used == 0
                && m.instances[inst as usize].activity_slots_used == 1)
                .then_some((act, a.epoch, inst))
        })
    };
    step_until(&mut model, |m| alone(m).is_some());
    let (act, epoch, inst) = alone(&model).expect("found above");
    model.drain(inst);
    assert_eq!(
        model.instances[inst as usize].state,
        InstanceState::Draining
    );
    step_until(&mut model, |m| {
        !m.acts.is_live(act) || m.acts[act].epoch != epoch
    });
    assert_eq!(
        model.instances[inst as usize].state,
        InstanceState::Stopped,
        "the attempt's end stopped its draining worker"
    );
    model.run_loop().expect("runs");
    let timeouts = model
        .event_counts
        .by_kind()
        .find(|(name, _)| *name == "ActivityTimeout")
        .map(|(_, n)| n);
    assert_eq!(
        timeouts,
        Some(0),
        "no attempt in this run reaches its timeout"
    );
}
