//! Raw tree to resolved `Scenario`: one function per TOML section, each reading its keys with
//! units and ranges checked, applying the documented defaults (see config.rs) and checking the
//! rules that span keys (min <= max and the like). Errors are recorded, never returned early,
//! so the caller sees them all; the returned scenario is only meaningful when there were none.

use super::config::*;
use super::diag::{Diags, Origin, hint, one_of};
use super::raw::{Node, Value, describe};
use super::read::*;
use super::timeline;
use super::units::{format_duration, format_size};
use crate::metrics::registry::{self, Vacuity};

/// What resolution needs besides the tree.
pub(crate) struct Context<'a> {
    /// The scenario file's directory (CSV paths are relative to it) and the CSV columns read.
    pub files: super::read::Files<'a>,
    /// The scenario file's stem, the default name.
    pub stem: &'a str,
}

/// Whether to resolve `[[timeline]]` (not when resolving a timeline `set`'s effective scenario).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum WithTimeline {
    Yes,
    No,
}

/// The longest per-event (or per-page) cost: 100 ms (real ones are tens of microseconds).
/// Multiplied by a history of up to 2^32 events (4.3e17 ns) and stretched by GC pressure (at
/// most 11x), it stays below 2^64 nanoseconds.
const PER_EVENT_MAX: Nanos = 100_000_000;

const HALF_OPEN_UNIT: Range = Range {
    lo: 0.0,
    lo_open: false,
    hi: 1.0,
    hi_open: true,
};
const HOUR_OF_DAY: Range = Range {
    lo: 0.0,
    lo_open: false,
    hi: 24.0,
    hi_open: true,
};

pub(crate) fn resolve(
    root: &Node,
    cx: &Context<'_>,
    diags: &mut Diags,
    with_timeline: WithTimeline,
) -> Scenario {
    let mut top = Section::open(Some(root), "", &Origin::Whole, diags);
    let name = scenario_name(&mut top, cx, diags);
    let description = top.string(diags, "description").unwrap_or_default();
    let seed = top.u64_any(diags, "seed", "a seed", 1);
    let run = run(top.take("run"), diags);
    let single = [
        top.take("traffic"),
        top.take("conversation"),
        top.take("agent"),
    ];
    let workloads_node = top.take("workloads");
    let activity = activity(top.take("activity"), diags);
    let providers = providers(top.take("providers"), cx, diags);
    let provider_groups = provider_groups(top.take("provider_groups"), &providers, diags);
    let workloads = workloads(
        single,
        workloads_node,
        &activity,
        &provider_groups,
        cx,
        diags,
    );
    let retry = retry(top.take("retry"), diags);
    let temporal = temporal(top.take("temporal"), diags);
    let instance = instance(top.take("instance"), cx, diags);
    let autoscaler_node = top.take("autoscaler");
    let mut autoscaler = super::autoscaler::autoscaler(autoscaler_node, with_timeline, diags);
    let serving =
        super::serving::serving(top.take("serving"), autoscaler_node, &mut autoscaler, diags);
    let cost = cost(top.take("cost"), diags);
    let slos = slos(top.take("slo"), &workloads, diags);
    let timeline_node = top.take("timeline");
    // `[sweep]` is checked with the rest; `load_sweep` reads its values.
    let sweep_node = top.take("sweep");
    if with_timeline == WithTimeline::Yes {
        super::sweep::sweep_table(sweep_node, diags);
    }
    top.finish(diags);
    let mut scenario = Scenario {
        name,
        description,
        seed,
        run,
        workloads,
        activity,
        retry,
        temporal,
        instance,
        autoscaler,
        serving,
        providers,
        provider_groups,
        cost,
        slos,
        timeline: Vec::new(),
    };
    if with_timeline == WithTimeline::Yes {
        scenario.timeline = timeline::resolve(timeline_node, root, &scenario, cx, diags);
    }
    scenario
}

/// `[traffic]`, `[conversation]` and `[agent]` at the top level (one unnamed workload), or
/// `[[workloads]]`, each with its own three tables; not both.
fn workloads(
    single: [Option<&Node>; 3],
    node: Option<&Node>,
    activity: &ActivityDefaults,
    groups: &[ProviderGroup],
    cx: &Context<'_>,
    diags: &mut Diags,
) -> Vec<Workload> {
    let [traffic_node, conversation_node, agent_node] = single;
    let Some(node) = node else {
        return vec![Workload {
            name: None,
            traffic: traffic(traffic_node, "traffic", &Origin::Whole, cx, diags),
            conversation: conversation(conversation_node, "conversation", cx, diags),
            agent: super::agent::agent(
                agent_node,
                "agent",
                &Origin::Whole,
                activity,
                groups,
                cx,
                diags,
            ),
        }];
    };
    for (key, given) in ["traffic", "conversation", "agent"].iter().zip(single) {
        if let Some(given) = given {
            diags.error(
                &given.origin,
                key,
                format!(
                    "[{key}] cannot be used with [[workloads]]: give each workload its own \
                     [workloads.{key}]"
                ),
            );
        }
    }
    let items = array_items(Some(node), "workloads", diags);
    if items.is_empty() && matches!(node.value, Value::Array(_)) {
        diags.error(
            &node.origin,
            "workloads",
            "expected at least one [[workloads]] table",
        );
    }
    if items.len() > MAX_WORKLOADS {
        diags.error(
            &node.origin,
            "workloads",
            format!(
                "{} workloads, more than the limit of {MAX_WORKLOADS}",
                items.len()
            ),
        );
        return Vec::new();
    }
    // Each name given so far, with where it was written and its key.
    let mut seen: Vec<(String, Origin, String)> = Vec::new();
    let mut workloads = Vec::new();
    for (path, item) in items {
        let mut s = Section::open(Some(item), &path, &item.origin, diags);
        let name = s.string(diags, "name");
        if s.is_present() && !s.has("name") {
            s.missing(
                "name",
                "a name such as \"chat\" (letters, digits, _ and -)",
                diags,
            );
        }
        let name_origin = s.origin_of("name");
        let traffic_node = s.take("traffic");
        let conversation_node = s.take("conversation");
        let agent_node = s.take("agent");
        s.finish(diags);
        // A missing name is reported above; an empty one given is not a name either.
        let given = name.is_some();
        let name = name.unwrap_or_default();
        let plain = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if given && !plain {
            diags.error(
                &name_origin,
                &join(&path, "name"),
                format!(
                    "expected at most 64 letters, digits, _ and - (it names columns and \
                     metrics), found \"{name}\""
                ),
            );
        } else if let Some((_, first_origin, first_key)) =
            seen.iter().find(|(n, ..)| given && *n == name)
        {
            // A `--set` that renames a workload onto another's name is what to blame, even
            // when the workload it renamed comes first.
            let key = join(&path, "name");
            let (blame, blame_key, other) =
                if first_origin.is_override() && !name_origin.is_override() {
                    (first_origin, first_key.as_str(), &name_origin)
                } else {
                    (&name_origin, key.as_str(), first_origin)
                };
            let also = match other {
                Origin::File { line, col } => format!(" (also at {line}:{col})"),
                Origin::Override(arg) => format!(" (also by --set {arg})"),
                _ => String::new(),
            };
            diags.error(
                blame,
                blame_key,
                format!("workload name \"{name}\" is used twice{also}"),
            );
        }
        seen.push((name.clone(), name_origin.clone(), join(&path, "name")));
        workloads.push(Workload {
            name: Some(name),
            traffic: traffic(
                traffic_node,
                &join(&path, "traffic"),
                &item.origin,
                cx,
                diags,
            ),
            conversation: conversation(conversation_node, &join(&path, "conversation"), cx, diags),
            agent: super::agent::agent(
                agent_node,
                &join(&path, "agent"),
                &item.origin,
                activity,
                groups,
                cx,
                diags,
            ),
        });
    }
    workloads
}

/// The name names an output folder, so it must be one plain path component; the file's stem,
/// its default, too (`..toml` would name `results/./`, `.toml` a hidden `results/.toml/`).
/// Checked here, so `sim validate` refuses what `sim run` would.
fn scenario_name(top: &mut Section<'_>, cx: &Context<'_>, diags: &mut Diags) -> String {
    let Some(name) = top.string(diags, "name") else {
        if let Err(why) = check_name(cx.stem) {
            let message = format!(
                "the file name gives the scenario the name \"{}\", which {why}: set name = \"...\" \
                 or rename the file",
                cx.stem.escape_debug()
            );
            diags.error(&top.origin_of("name"), "name", message);
        }
        return cx.stem.to_string();
    };
    if let Err(why) = check_name(&name) {
        let message = format!(
            "expected a name that can name the output folder, found \"{}\", which {why}",
            name.escape_debug()
        );
        diags.error(&top.origin_of("name"), "name", message);
    }
    name
}

/// Why `name` cannot name an output folder, if it cannot: it must be one visible path
/// component. A leading `.` hides the folder and can collide with sim's own temporary names
/// (`.NAME.tmp`, `.sim-staging.tmp`), which a later run deletes; a blank name, or one with
/// whitespace at an end, names a folder that looks like none or like another.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("is empty".into())
    } else if name.trim().is_empty() {
        Err("is blank".into())
    } else if name.trim() != name {
        // `results/agent /` passes for `results/agent/` in a listing, and shells drop the space.
        Err("starts or ends with whitespace".into())
    } else if name.starts_with('.') {
        Err("starts with '.' (a hidden folder, or . or ..)".into())
    } else if name.contains(['/', '\\']) {
        Err("contains / or \\".into())
    } else if name.chars().any(char::is_control) {
        Err("contains a control character".into())
    } else {
        Ok(())
    }
}

/// Items of an array-of-tables key such as `[[slo]]`, with their paths.
pub(crate) fn array_items<'t>(
    node: Option<&'t Node>,
    path: &str,
    diags: &mut Diags,
) -> Vec<(String, &'t Node)> {
    match node.map(|n| (n, &n.value)) {
        None => Vec::new(),
        Some((_, Value::Array(items))) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{path}.{i}"), item))
            .collect(),
        Some((node, other)) => {
            let message = format!(
                "expected an array of tables ([[{path}]]), found {}",
                describe(other)
            );
            diags.error(&node.origin, path, message);
            Vec::new()
        }
    }
}

fn run(node: Option<&Node>, diags: &mut Diags) -> RunLimits {
    let mut s = Section::open(node, "run", &Origin::Whole, diags);
    let horizon = s.duration_min(diags, "horizon", 24 * 3600 * 1_000_000_000, 1);
    let warmup = s.duration(diags, "warmup", 0);
    if warmup >= horizon {
        let message = format!(
            "warmup ({}) must be below the horizon ({}): lower run.warmup (--set \
             run.warmup=DURATION) or lengthen the horizon",
            format_duration(warmup),
            format_duration(horizon)
        );
        let (origin, path) = s.conflict("warmup", &["horizon"]);
        diags.error(&origin, &path, message);
    }
    let limits = RunLimits {
        horizon,
        warmup,
        max_events: s.u64(diags, "max_events", super::limits::DEFAULT_MAX_EVENTS, 1),
        sample_interval: s.duration_min(diags, "sample_interval", 60_000_000_000, 1),
        max_open_conversations: s.u64(diags, "max_open_conversations", 10_000_000, 1),
        max_memory_bytes: s.size_min(
            diags,
            "max_memory",
            super::limits::DEFAULT_MAX_MEMORY,
            super::limits::MIN_MAX_MEMORY,
        ),
        max_conversations: s.u64(
            diags,
            "max_conversations",
            super::limits::DEFAULT_MAX_CONVERSATIONS,
            1,
        ),
        max_instances: s.u64(
            diags,
            "max_instances",
            super::limits::DEFAULT_MAX_INSTANCES,
            1,
        ),
        max_timeseries_rows: s.u64(
            diags,
            "max_timeseries_rows",
            super::limits::DEFAULT_MAX_TIMESERIES_ROWS,
            1,
        ),
    };
    s.finish(diags);
    limits
}

const TRAFFIC_KINDS: [&str; 4] = ["constant", "piecewise", "diurnal", "trace"];

fn traffic(
    node: Option<&Node>,
    path: &str,
    absent: &Origin,
    cx: &Context<'_>,
    diags: &mut Diags,
) -> Traffic {
    let placeholder = Traffic {
        profile: TrafficProfile::Constant { rate_per_s: 0.0 },
        multiplier: 1.0,
    };
    let mut s = Section::open(node, path, absent, diags);
    if node.is_none() {
        let kinds = one_of(TRAFFIC_KINDS);
        let table = table_header(path);
        diags.error(
            absent,
            path,
            format!("missing required table, expected [{table}] with kind = {kinds}"),
        );
    }
    if !s.is_present() {
        return placeholder;
    }
    let multiplier = s.number(diags, "multiplier", 1.0, RATE);
    let Some(kind) = s.kind(diags, &TRAFFIC_KINDS) else {
        return placeholder;
    };
    let profile = match kind {
        "constant" => s
            .rate_required(diags, "rate", "rate_per_s", RATE)
            .map(|rate_per_s| TrafficProfile::Constant { rate_per_s }),
        "piecewise" => piecewise(&mut s, diags),
        "diurnal" => {
            let mean = s.rate_required(
                diags,
                "mean_rate",
                "mean_rate_per_s",
                positive_up_to(RATE.hi),
            );
            let ratio = s.number_required(diags, "peak_to_trough", closed(1.0, FACTOR_MAX));
            let hour = s.number_required(diags, "peak_hour", HOUR_OF_DAY);
            Some(TrafficProfile::Diurnal {
                mean_rate_per_s: mean.unwrap_or(0.0),
                peak_to_trough: ratio.unwrap_or(1.0),
                peak_hour: hour.unwrap_or(0.0),
            })
        }
        _ => trace(&mut s, cx, diags),
    };
    s.finish(diags);
    Traffic {
        profile: profile.unwrap_or(placeholder.profile),
        multiplier,
    }
}

fn piecewise(s: &mut Section<'_>, diags: &mut Diags) -> Option<TrafficProfile> {
    let path = s.key_path("points");
    let Some(node) = s.take("points") else {
        s.missing(
            "points",
            "an array such as [{ at = \"0h\", rate = \"60/h\" }]",
            diags,
        );
        return None;
    };
    let mut points: Vec<RatePoint> = Vec::new();
    let items = array_items(Some(node), &path, diags);
    // Checked on the times as written, so a point refused for its rate (or its own time) does
    // not make the next one "first" or "not increasing".
    let mut previous: Option<Nanos> = None;
    for (index, (item_path, item)) in items.iter().enumerate() {
        let mut p = Section::open(Some(item), item_path, &item.origin, diags);
        let at = p.duration_required(diags, "at", 0);
        let rate = p.rate_required(diags, "rate", "rate_per_s", RATE);
        let at_origin = p.origin_of("at");
        p.finish(diags);
        let Some(at) = at else {
            continue;
        };
        if index == 0 && at != 0 {
            diags.error(
                &at_origin,
                &join(item_path, "at"),
                format!(
                    "the first point must be at \"0s\", found \"{}\"",
                    format_duration(at)
                ),
            );
        }
        if previous.is_some_and(|previous| at <= previous) {
            diags.error(
                &at_origin,
                &join(item_path, "at"),
                "times must be strictly increasing",
            );
        }
        previous = Some(at);
        if let Some(rate_per_s) = rate {
            points.push(RatePoint { at, rate_per_s });
        }
    }
    if items.is_empty() {
        diags.error(&node.origin, &path, "expected at least one point");
    }
    Some(TrafficProfile::Piecewise { points })
}

fn trace(s: &mut Section<'_>, cx: &Context<'_>, diags: &mut Diags) -> Option<TrafficProfile> {
    let path = s.key_path("csv");
    let Some(node) = s.take("csv") else {
        s.missing("csv", "a path to a CSV of arrival times", diags);
        return None;
    };
    let csv = string(node, &path, diags)?;
    let joined = super::read::absolute(&cx.files.dir.join(csv));
    let arrivals = cx
        .files
        .cache
        .arrivals(&joined, &node.origin, &path, diags)?;
    Some(TrafficProfile::Trace {
        csv: joined,
        arrivals,
    })
}

fn conversation(
    node: Option<&Node>,
    path: &str,
    cx: &Context<'_>,
    diags: &mut Diags,
) -> Conversation {
    let mut s = Section::open(node, path, &Origin::Whole, diags);
    let conversation = Conversation {
        messages: s
            .dist(diags, "messages", Quantity::Count, cx.files)
            .unwrap_or(Dist::Geometric { mean: 5.0 }),
        think_time: s
            .dist(diags, "think_time", Quantity::Duration, cx.files)
            .unwrap_or(Dist::lognormal(30.0, 600.0)),
        idle_timeout: s.duration(diags, "idle_timeout", 30 * 60 * 1_000_000_000),
        abandon_after: s.duration_min(diags, "abandon_after", 5 * 60 * 1_000_000_000, 1),
        response_budget: s.duration_optional(diags, "response_budget", 1),
    };
    s.finish(diags);
    conversation
}

fn activity(node: Option<&Node>, diags: &mut Diags) -> ActivityDefaults {
    let mut s = Section::open(node, "activity", &Origin::Whole, diags);
    let activity = ActivityDefaults {
        start_to_close_timeout: s.duration_min(diags, "start_to_close_timeout", 600_000_000_000, 1),
        memory_bytes: s.size(diags, "memory", 4 << 20),
    };
    s.finish(diags);
    activity
}

fn retry(node: Option<&Node>, diags: &mut Diags) -> RetryPolicy {
    let mut s = Section::open(node, "retry", &Origin::Whole, diags);
    let initial_interval = s.duration_min(diags, "initial_interval", 1_000_000_000, 1);
    let backoff_coefficient = s.number(diags, "backoff_coefficient", 2.0, closed(1.0, FACTOR_MAX));
    // Temporal's default maximum is 100 x the initial interval, within the duration cap (so
    // scenario.resolved.toml, which spells the default out, loads back).
    let maximum_interval = s.duration_min(
        diags,
        "maximum_interval",
        initial_interval
            .saturating_mul(100)
            .min(super::units::MAX_DURATION_NANOS),
        1,
    );
    if maximum_interval < initial_interval {
        let message = format!(
            "maximum_interval ({}) must be at least initial_interval ({})",
            format_duration(maximum_interval),
            format_duration(initial_interval)
        );
        let (origin, path) = s.conflict("maximum_interval", &["initial_interval"]);
        diags.error(&origin, &path, message);
    }
    let policy = RetryPolicy {
        initial_interval,
        backoff_coefficient,
        maximum_interval,
        maximum_attempts: s.u32(diags, "maximum_attempts", 0, 0),
    };
    s.finish(diags);
    policy
}

fn temporal(node: Option<&Node>, diags: &mut Diags) -> Temporal {
    let mut s = Section::open(node, "temporal", &Origin::Whole, diags);
    let temporal = Temporal {
        cache_size: s.u32_in(diags, "cache_size", 10_000, 0, SLOTS_MAX),
        max_concurrent_workflow_tasks: s.u32_in(
            diags,
            "max_concurrent_workflow_tasks",
            1000,
            1,
            SLOTS_MAX,
        ),
        max_concurrent_activities: s.u32_in(diags, "max_concurrent_activities", 1000, 1, SLOTS_MAX),
        sticky_schedule_to_start_timeout: s.duration_min(
            diags,
            "sticky_schedule_to_start_timeout",
            5_000_000_000,
            1,
        ),
        workflow_task_timeout: s.duration_min(diags, "workflow_task_timeout", 10_000_000_000, 1),
        workflow_task_cpu: s.duration(diags, "workflow_task_cpu", 1_000_000),
        replay_cpu_per_event: s.duration_max(diags, "replay_cpu_per_event", 50_000, PER_EVENT_MAX),
        history_fetch_base: s.duration(diags, "history_fetch_base", 20_000_000),
        history_fetch_per_page: s.duration_max(
            diags,
            "history_fetch_per_page",
            10_000_000,
            PER_EVENT_MAX,
        ),
        history_page_size: s.u32(diags, "history_page_size", 256, 1),
        cached_workflow_memory_bytes: s.size(diags, "cached_workflow_memory", 64 << 10),
        cached_memory_per_event_bytes: s.size_max(
            diags,
            "cached_memory_per_event",
            1 << 10,
            1 << 30,
        ),
        cached_memory_per_turn_bytes: s.size_max(diags, "cached_memory_per_turn", 0, 1 << 30),
    };
    s.finish(diags);
    temporal
}

fn instance(node: Option<&Node>, cx: &Context<'_>, diags: &mut Diags) -> Instance {
    let mut s = Section::open(node, "instance", &Origin::Whole, diags);
    let vcpus = s.u32_in(diags, "vcpus", 1, 1, VCPUS_MAX);
    // Bounded so that CPU durations stay within 100x of the work the scenario states.
    let cpu_speed = s.number(diags, "cpu_speed", 1.0, closed(0.01, 100.0));
    let memory_limit_bytes = s.size(diags, "memory_limit", 512 << 20);
    let runtime_memory_bytes = s.size(diags, "runtime_memory", 64 << 20);
    if runtime_memory_bytes >= memory_limit_bytes {
        let message = format!(
            "runtime_memory ({}) must be below memory_limit ({}), or every instance is killed \
             as it starts",
            format_size(runtime_memory_bytes),
            format_size(memory_limit_bytes)
        );
        let (origin, path) = s.conflict("runtime_memory", &["memory_limit"]);
        diags.error(&origin, &path, message);
    }
    let gc = s.take("gc").map(|node| gc(node, diags));
    let instance = Instance {
        vcpus,
        cpu_speed,
        memory_limit_bytes,
        runtime_memory_bytes,
        leak_bytes_per_hour: s.size(diags, "leak_per_hour", 0),
        gc,
        restart_delay: s.duration(diags, "restart_delay", 1_000_000_000),
        cold_start: s
            .dist(diags, "cold_start", Quantity::Duration, cx.files)
            .unwrap_or(Dist::Uniform {
                min: 10.0,
                max: 30.0,
            }),
        startup_cpu: s.duration(diags, "startup_cpu", 1_000_000_000),
        crash_loop_backoff: s.duration(diags, "crash_loop_backoff", 0),
        crash_loop_backoff_max: s.duration(diags, "crash_loop_backoff_max", 300_000_000_000),
        shutdown_grace: s.duration(diags, "shutdown_grace", 10_000_000_000),
    };
    if instance.crash_loop_backoff_max < instance.crash_loop_backoff {
        let message = format!(
            "crash_loop_backoff_max ({}) must be at least crash_loop_backoff ({})",
            format_duration(instance.crash_loop_backoff_max),
            format_duration(instance.crash_loop_backoff)
        );
        let (origin, path) = s.conflict("crash_loop_backoff_max", &["crash_loop_backoff"]);
        diags.error(&origin, &path, message);
    }
    s.finish(diags);
    instance
}

fn gc(node: &Node, diags: &mut Diags) -> GcPressure {
    let mut s = Section::open(Some(node), "instance.gc", &node.origin, diags);
    let gc = GcPressure {
        threshold: s.number(diags, "threshold", 0.5, HALF_OPEN_UNIT),
        max_overhead: s.number(diags, "max_overhead", 1.0, closed(0.0, 10.0)),
    };
    s.finish(diags);
    gc
}

/// `(name, node)` pairs of a table of named tables such as `[providers.NAME]`, sorted by name.
fn named_entries<'t>(
    node: Option<&'t Node>,
    path: &str,
    diags: &mut Diags,
) -> Vec<(String, &'t Node)> {
    let mut entries: Vec<(String, &Node)> = match node.map(|n| (n, &n.value)) {
        None => Vec::new(),
        Some((_, Value::Table(table))) => table
            .entries
            .iter()
            .map(|e| (e.key.clone(), &e.node))
            .collect(),
        Some((node, other)) => {
            diags.error(
                &node.origin,
                path,
                format!(
                    "expected a table of named entries, found {}",
                    describe(other)
                ),
            );
            Vec::new()
        }
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

fn providers(node: Option<&Node>, cx: &Context<'_>, diags: &mut Diags) -> Vec<Provider> {
    let entries = named_entries(node, "providers", diags);
    let in_file: Vec<&str> = entries
        .iter()
        .filter(|(_, item)| !matches!(item.origin, Origin::Override(_)))
        .map(|(name, _)| name.as_str())
        .collect();
    let mut providers = Vec::new();
    for (name, item) in &entries {
        if let Some(message) = misspelt_provider(name, item, &in_file) {
            diags.error(&item.origin, &join("providers", name), message);
            continue;
        }
        providers.push(provider(name.clone(), item, cx, diags));
    }
    providers
}

/// `--set providers.NAME.KEY=...` creates provider NAME when the file has none of that name.
/// When NAME is close to a provider of the file and the new table lacks what a provider needs,
/// it is a typo: say so, rather than report the missing keys of a provider nobody meant to add.
fn misspelt_provider(name: &str, item: &Node, in_file: &[&str]) -> Option<String> {
    let Origin::Override(_) = item.origin else {
        return None;
    };
    let Value::Table(table) = &item.value else {
        return None;
    };
    if table.get("ttft").is_some() && table.get("output_tokens_per_s").is_some() {
        return None;
    }
    let hint = hint(name, in_file.iter().copied());
    (!hint.is_empty()).then(|| {
        format!(
            "unknown provider, expected {}{hint}; --set adds a provider only with its ttft and \
             output_tokens_per_s",
            one_of(in_file.iter().copied())
        )
    })
}

fn provider(name: String, item: &Node, cx: &Context<'_>, diags: &mut Diags) -> Provider {
    let path = join("providers", &name);
    let mut s = Section::open(Some(item), &path, &item.origin, diags);
    let ttft = s.dist(diags, "ttft", Quantity::Duration, cx.files);
    if !s.has("ttft") && s.is_present() {
        s.missing("ttft", "a duration distribution such as { kind = \"lognormal\", median = \"800ms\", p99 = \"8s\" }", diags);
    }
    let output_tokens_per_s = if s.is_present() {
        s.number_required(diags, "output_tokens_per_s", positive_up_to(COUNT_MAX))
    } else {
        None
    };
    let provider = Provider {
        name,
        ttft: ttft.unwrap_or(Dist::Constant { value: 0.0 }),
        output_tokens_per_s: output_tokens_per_s.unwrap_or(1.0),
        error_probability: s.number(diags, "error_probability", 0.0, PROBABILITY),
        timeout: s.duration_min(diags, "timeout", 60_000_000_000, 1),
        input_price_per_million_usd: s.number(diags, "input_price_per_million_usd", 0.0, PRICE),
        output_price_per_million_usd: s.number(diags, "output_price_per_million_usd", 0.0, PRICE),
        cached_input_price_per_million_usd: 0.0,
        ttft_timeout: s.duration_optional(diags, "ttft_timeout", 1),
        prefill_tokens_per_s: s.number_optional(
            diags,
            "prefill_tokens_per_s",
            positive_up_to(COUNT_MAX),
        ),
        requests_per_minute: s.number_optional(
            diags,
            "requests_per_minute",
            positive_up_to(COUNT_MAX),
        ),
        tokens_per_minute: s.number_optional(
            diags,
            "tokens_per_minute",
            positive_up_to(TOKENS_PER_MINUTE_MAX),
        ),
        max_concurrent_requests: s.u32_optional(diags, "max_concurrent_requests", 1, SLOTS_MAX),
    };
    let mut provider = provider;
    provider.cached_input_price_per_million_usd = s
        .number_optional(diags, "cached_input_price_per_million_usd", PRICE)
        .unwrap_or(provider.input_price_per_million_usd);
    s.finish(diags);
    provider
}

fn provider_groups(
    node: Option<&Node>,
    providers: &[Provider],
    diags: &mut Diags,
) -> Vec<ProviderGroup> {
    named_entries(node, "provider_groups", diags)
        .into_iter()
        .map(|(name, item)| {
            let path = join("provider_groups", &name);
            let members = group_members(&path, item, providers, diags);
            ProviderGroup {
                name,
                providers: members,
            }
        })
        .collect()
}

fn group_members(path: &str, item: &Node, providers: &[Provider], diags: &mut Diags) -> Vec<usize> {
    let Value::Array(names) = &item.value else {
        diags.error(
            &item.origin,
            path,
            format!(
                "expected an array of provider names such as [\"openai\", \"azure\"], found {}",
                describe(&item.value)
            ),
        );
        return Vec::new();
    };
    if names.is_empty() {
        diags.error(&item.origin, path, "expected at least one provider");
    }
    if names.len() > crate::model::llm::MAX_GROUP {
        let message = format!(
            "expected at most {} providers in a group, found {}",
            crate::model::llm::MAX_GROUP,
            names.len()
        );
        diags.error(&item.origin, path, message);
    }
    let known: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
    let mut members = Vec::new();
    for (i, name_node) in names.iter().enumerate() {
        let element = format!("{path}.{i}");
        let Some(name) = string(name_node, &element, diags) else {
            continue;
        };
        match known.iter().position(|k| *k == name) {
            Some(index) if members.contains(&index) => diags.error(
                &name_node.origin,
                &element,
                format!("provider \"{name}\" is listed twice"),
            ),
            Some(index) => members.push(index),
            None => {
                let hint = hint(name, known.iter().copied());
                let message = if known.is_empty() {
                    format!(
                        "unknown provider \"{name}\": the scenario defines no providers, \
                         expected a [providers.{name}] table"
                    )
                } else {
                    format!(
                        "unknown provider \"{name}\", expected {} (a [providers.NAME] table){hint}",
                        one_of(known.iter().copied())
                    )
                };
                diags.error(&name_node.origin, &element, message);
            }
        }
    }
    members
}

fn cost(node: Option<&Node>, diags: &mut Diags) -> CostPrices {
    let mut s = Section::open(node, "cost", &Origin::Whole, diags);
    let cost = CostPrices {
        vcpu_second_usd: s.number(diags, "vcpu_second_usd", 0.000018, PRICE),
        gib_second_usd: s.number(diags, "gib_second_usd", 0.000002, PRICE),
    };
    s.finish(diags);
    cost
}

/// How a table at `path` is written: `workloads.0.traffic` is `[workloads.traffic]` in the
/// file (the index is the position of its `[[workloads]]`).
pub(crate) fn table_header(path: &str) -> String {
    path.split('.')
        .filter(|part| part.parse::<usize>().is_err())
        .collect::<Vec<_>>()
        .join(".")
}

fn slos(node: Option<&Node>, workloads: &[Workload], diags: &mut Diags) -> Vec<Slo> {
    let named: Vec<&str> = workloads.iter().filter_map(|w| w.name.as_deref()).collect();
    let metric_names: Vec<&'static str> = registry::slo_metrics().map(|m| m.name).collect();
    let mut slos = Vec::new();
    for (path, item) in array_items(node, "slo", diags) {
        let mut s = Section::open(Some(item), &path, &item.origin, diags);
        let name = s.string(diags, "name");
        if s.is_present() && !s.has("metric") {
            s.missing("metric", &one_of(metric_names.iter().copied()), diags);
        }
        let metric = s
            .choice(diags, "metric", &metric_names)
            .and_then(registry::metric);
        let max = if s.is_present() {
            s.number_required(diags, "max", closed(0.0, 1e15))
        } else {
            None
        };
        let workload = s.string(diags, "workload");
        if let Some(w) = &workload
            && !named.contains(&w.as_str())
        {
            let message = if named.is_empty() {
                format!(
                    "no workload is named \"{w}\": workload applies to scenarios with \
                     [[workloads]]"
                )
            } else {
                format!(
                    "no workload is named \"{w}\"{}, expected {}",
                    hint(w, named.iter().copied()),
                    one_of(named.iter().copied())
                )
            };
            diags.error(&s.origin_of("workload"), &s.key_path("workload"), message);
        }
        if let (Some(metric), Some(_)) = (metric, &workload)
            && metric.per_workload.is_none()
        {
            let per: Vec<&str> = registry::slo_metrics()
                .filter(|m| m.per_workload.is_some())
                .map(|m| m.name)
                .collect();
            diags.error(
                &s.origin_of("workload"),
                &s.key_path("workload"),
                format!(
                    "{} is a fleet metric and has no value per workload; per workload: {}",
                    metric.name,
                    per.join(", ")
                ),
            );
        }
        let has_budget = match &workload {
            Some(w) => workloads
                .iter()
                .any(|x| x.name.as_deref() == Some(w) && x.conversation.response_budget.is_some()),
            None => workloads
                .iter()
                .any(|x| x.conversation.response_budget.is_some()),
        };
        if let Some(metric) = metric
            && metric.slo == Some(Vacuity::BudgetedAnswer)
            && !has_budget
        {
            diags.error(
                &s.origin_of("metric"),
                &s.key_path("metric"),
                format!(
                    "{} needs [conversation] response_budget (e.g. \"800ms\")",
                    metric.name
                ),
            );
        }
        s.finish(diags);
        if let (Some(metric), Some(max)) = (metric, max) {
            let base = metric.name.to_string();
            slos.push(Slo {
                name: name.unwrap_or_else(|| match &workload {
                    Some(w) => format!("{w}.{base}"),
                    None => base,
                }),
                metric,
                max,
                workload,
            });
        }
    }
    slos
}
