//! `[[timeline]]`: timed interventions. A `set` is applied to the raw tree exactly like a
//! `--set` override, cumulatively in time order, and the result is resolved (and validated) as
//! a whole scenario, so the model can switch to `effective` without re-deriving anything.

use super::config::*;
use super::diag::{Diags, Origin, hint, one_of};
use super::raw::{self, Node, Value, assign, describe, format_value};
use super::read::*;
use super::resolve::{self, Context, WithTimeline};
use super::units::format_duration;

pub(crate) const DEPLOYS: [&str; 2] = ["rolling", "at_once"];
pub(crate) const INCIDENTS: [&str; 3] = ["outage", "degradation", "rate_limit"];
/// Settings that make no sense to change mid-run.
const FIXED_KEYS: [&str; 5] = ["timeline", "run", "seed", "name", "description"];

struct Assignment {
    key: String,
    key_origin: Origin,
    value: Node,
}

enum Pending {
    Set {
        assignments: Vec<Assignment>,
        deploy: Option<Deploy>,
    },
    Ready(Action),
}

struct Entry {
    path: String,
    origin: Origin,
    at: Nanos,
    label: Option<String>,
    pending: Pending,
}

pub(crate) fn resolve(
    node: Option<&Node>,
    root: &Node,
    base: &Scenario,
    cx: &Context<'_>,
    diags: &mut Diags,
) -> Vec<Intervention> {
    let items: Vec<(String, &Node)> = match node.map(|n| (n, &n.value)) {
        None => Vec::new(),
        Some((_, Value::Array(items))) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("timeline.{i}"), n))
            .collect(),
        Some((node, other)) => {
            diags.error(
                &node.origin,
                "timeline",
                format!(
                    "expected an array of tables ([[timeline]]), found {}",
                    describe(other)
                ),
            );
            Vec::new()
        }
    };
    let mut entries: Vec<Entry> = items
        .iter()
        .filter_map(|(path, item)| entry(path, item, base, diags))
        .collect();
    entries.sort_by_key(|e| e.at);
    if entries.is_empty() {
        // No copy of the tree to apply sets to (a sweep resolves this for every point).
        return Vec::new();
    }
    let mut working = root.clone();
    if let Value::Table(table) = &mut working.value {
        table.remove("timeline");
    }
    // Each set resolves a whole effective scenario. When the base (or an earlier set) already
    // has errors, later sets would only repeat them, once per set: skip them, so a broken file
    // with many sets is still rejected in time linear in its size.
    let mut resolving = diags.is_empty();
    entries
        .into_iter()
        .map(|e| intervention(e, &mut working, base, cx, diags, &mut resolving))
        .collect()
}

/// Turns a parsed entry into an intervention; a `set` is applied to `working` first.
fn intervention(
    entry: Entry,
    working: &mut Node,
    base: &Scenario,
    cx: &Context<'_>,
    diags: &mut Diags,
    resolving: &mut bool,
) -> Intervention {
    let action = match entry.pending {
        Pending::Ready(action) => action,
        Pending::Set {
            assignments,
            deploy,
        } => {
            for a in &assignments {
                if let Err(message) = assign(working, &a.key, a.value.clone(), &a.key_origin) {
                    diags.error(&a.key_origin, &a.key, message);
                }
            }
            let effective = if *resolving {
                let mut set_diags = diags.sibling();
                let effective = resolve::resolve(working, cx, &mut set_diags, WithTimeline::No);
                *resolving = set_diags.is_empty();
                // The base resolved without error, so the set made these: an error that points
                // elsewhere than the set's own keys and values says which set.
                let at = match &entry.origin {
                    Origin::File { line, .. } => format!(", line {line}"),
                    _ => String::new(),
                };
                let own: Vec<&Origin> = assignments
                    .iter()
                    .flat_map(|a| [&a.key_origin, &a.value.origin])
                    .collect();
                let suffix = format!(" (after the set of {}{at})", entry.path);
                diags.append_with(set_diags, &suffix, &own);
                check_shape_kept(&entry.path, &entry.origin, base, &effective, diags);
                effective
            } else {
                base.clone()
            };
            let assignments = assignments
                .into_iter()
                .map(|a| (a.key, format_value(&a.value.value)))
                .collect();
            Action::Set {
                assignments,
                deploy,
                effective: Box::new(effective),
            }
        }
    };
    let label = entry
        .label
        .unwrap_or_else(|| default_label(&action, &base.providers));
    Intervention {
        at: entry.at,
        label,
        action,
    }
}

fn default_label(action: &Action, providers: &[Provider]) -> String {
    match action {
        Action::Set {
            assignments,
            deploy,
            ..
        } => {
            let changes: Vec<String> = assignments
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let deploy = deploy.map_or(String::new(), |d| {
                format!(" with {} deploy", deploy_name(d))
            });
            format!("set {}{deploy}", changes.join(", "))
        }
        Action::ProviderIncident {
            provider,
            incident,
            factor,
            ..
        } => {
            let name = providers.get(*provider).map_or("?", |p| p.name.as_str());
            match incident {
                IncidentKind::Degradation => format!("degradation {name} x{factor}"),
                _ => format!("{} {name}", incident_name(*incident)),
            }
        }
        Action::Deploy { deploy } => format!("{} deploy", deploy_name(*deploy)),
    }
}

pub(crate) fn deploy_name(deploy: Deploy) -> &'static str {
    match deploy {
        Deploy::Rolling => "rolling",
        Deploy::AtOnce => "at_once",
    }
}

pub(crate) fn incident_name(incident: IncidentKind) -> &'static str {
    match incident {
        IncidentKind::Outage => "outage",
        IncidentKind::Degradation => "degradation",
        IncidentKind::RateLimit => "rate_limit",
    }
}

fn parse_deploy(name: &str) -> Deploy {
    if name == "rolling" {
        Deploy::Rolling
    } else {
        Deploy::AtOnce
    }
}

fn entry(path: &str, item: &Node, base: &Scenario, diags: &mut Diags) -> Option<Entry> {
    let mut s = Section::open(Some(item), path, &item.origin, diags);
    if !s.is_present() {
        return None;
    }
    let at = s.duration_required(diags, "at", 0);
    if let Some(at) = at.filter(|at| *at >= base.run.horizon) {
        let message = format!(
            "expected a time below the horizon ({}), found \"{}\"",
            format_duration(base.run.horizon),
            format_duration(at)
        );
        diags.error(&s.origin_of("at"), &s.key_path("at"), message);
    }
    let label = s.string(diags, "label");
    let pending = if s.has("set") && s.has("incident") {
        diags.error(
            &item.origin,
            path,
            "an entry takes either set (with an optional deploy) or incident, not both",
        );
        // Their keys are not unknown: the entry is wrong as a whole, said once.
        for key in [
            "set", "deploy", "incident", "provider", "duration", "factor",
        ] {
            s.take(key);
        }
        None
    } else if s.has("set") {
        let assignments = assignments(&mut s, diags);
        let deploy = s.choice(diags, "deploy", &DEPLOYS).map(parse_deploy);
        assignments.map(|assignments| Pending::Set {
            assignments,
            deploy,
        })
    } else if s.has("incident") {
        incident(&mut s, base, diags).map(Pending::Ready)
    } else if s.has("deploy") {
        s.choice(diags, "deploy", &DEPLOYS).map(|d| {
            Pending::Ready(Action::Deploy {
                deploy: parse_deploy(d),
            })
        })
    } else {
        let _ = (s.take("set"), s.take("incident"), s.take("deploy"));
        diags.error(
            &item.origin,
            path,
            "expected an action: set = { ... }, incident = \"...\" or deploy = \"...\"",
        );
        None
    };
    s.finish(diags);
    Some(Entry {
        path: path.to_string(),
        origin: item.origin.clone(),
        at: at?,
        label,
        pending: pending?,
    })
}

/// A `set` may change values, not the shape the run was built with: the providers (their
/// names and order), the agent's steps and the provider groups stay as they are.
fn check_shape_kept(
    path: &str,
    origin: &Origin,
    base: &Scenario,
    effective: &Scenario,
    diags: &mut Diags,
) {
    let names = |s: &Scenario| {
        s.providers
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    if names(base) != names(effective) {
        diags.error(
            origin,
            path,
            "a timeline set cannot add or remove providers",
        );
    }
    let workload_names = |s: &Scenario| {
        s.workloads
            .iter()
            .map(|w| w.name.clone())
            .collect::<Vec<_>>()
    };
    if workload_names(base) != workload_names(effective) {
        diags.error(
            origin,
            path,
            "a timeline set cannot add, remove or rename workloads",
        );
    }
    let shapes = |s: &Scenario| {
        s.workloads
            .iter()
            .map(|w| program_shape(&w.agent.steps))
            .collect::<Vec<_>>()
    };
    if shapes(base) != shapes(effective) {
        diags.error(
            origin,
            path,
            "a timeline set cannot change the shape of the agent's program (its steps, their \
             names and kinds, branches, options, on_failure and tool connection limits); it \
             can change their values",
        );
    }
    let serving_shape = |s: &Scenario| s.serving.request.as_ref().map(|r| r.session);
    if serving_shape(base) != serving_shape(effective) {
        diags.error(
            origin,
            path,
            "a timeline set cannot change serving.mode or serving.session; it can change \
             serving.max_concurrency (instances started after it) and serving.max_wait",
        );
    }
    let groups = |s: &Scenario| {
        s.provider_groups
            .iter()
            .map(|g| g.name.clone())
            .collect::<Vec<_>>()
    };
    if groups(base) != groups(effective) {
        diags.error(
            origin,
            path,
            "a timeline set cannot add or remove provider groups",
        );
    }
}

/// What a running model is built on: every step's name and kind, how its children are
/// arranged, whether it has a fallback and whether it holds a tool connection pool.
fn program_shape(steps: &[Step]) -> String {
    fn walk(steps: &[Step], out: &mut String) {
        out.push('[');
        for step in steps {
            out.push_str(&step.name);
            out.push(':');
            match &step.kind {
                StepKind::Llm { .. } => out.push_str("llm"),
                StepKind::Tool {
                    max_concurrent_calls,
                    ..
                } => out.push_str(if max_concurrent_calls.is_some() {
                    "tool+pool"
                } else {
                    "tool"
                }),
                StepKind::Parallel(p) => {
                    out.push_str(if p.width.is_some() {
                        "parallel-width"
                    } else {
                        "parallel"
                    });
                    for branch in &p.branches {
                        out.push_str(&branch.name);
                        walk(&branch.steps, out);
                    }
                }
                StepKind::Repeat { steps, .. } => {
                    out.push_str("repeat");
                    walk(steps, out);
                }
                StepKind::Choice { options } => {
                    out.push_str("choice");
                    for option in options {
                        walk(&option.steps, out);
                    }
                }
            }
            if let Some(fallback) = &step.on_failure {
                out.push_str("|on_failure");
                walk(&fallback.steps, out);
            }
            out.push(',');
        }
        out.push(']');
    }
    let mut out = String::new();
    walk(steps, &mut out);
    out
}

fn assignments(s: &mut Section<'_>, diags: &mut Diags) -> Option<Vec<Assignment>> {
    let path = s.key_path("set");
    let node = s.take("set")?;
    let Value::Table(table) = &node.value else {
        let message = format!(
            "expected a table such as {{ \"temporal.cache_size\" = 1000 }}, found {}",
            describe(&node.value)
        );
        diags.error(&node.origin, &path, message);
        return None;
    };
    if table.entries.is_empty() {
        diags.error(
            &node.origin,
            &path,
            "expected at least one \"dotted.key\" = value",
        );
        return None;
    }
    let mut ok = true;
    for (index, entry) in table.entries.iter().enumerate() {
        let first = entry.key.split('.').next().unwrap_or("").trim();
        if FIXED_KEYS.contains(&first) {
            diags.error(
                &entry.key_origin,
                &join(&path, &entry.key),
                format!("\"{first}\" cannot be changed on the timeline"),
            );
            ok = false;
            continue;
        }
        // `set = { temporal.cache_size = 200 }` is, in TOML, the nested table
        // `{ temporal = { cache_size = 200 } }`: it would replace the whole section and reset
        // its other keys. Only a whole section that names its `kind` may be replaced that way.
        if let Value::Table(inner) = &entry.node.value
            && !entry.key.contains('.')
            && !inner.entries.iter().any(|e| e.key == "kind")
        {
            let example = inner.entries.first().map_or("KEY", |e| e.key.as_str());
            diags.error(
                &entry.key_origin,
                &join(&path, &entry.key),
                format!(
                    "a table here would replace all of [{key}] and reset its other keys (a bare \
                     dotted key such as {key}.{example} is such a table in TOML); set each key \
                     as a quoted dotted key, e.g. \"{key}.{example}\" = ...",
                    key = entry.key
                ),
            );
            ok = false;
            continue;
        }
        // A quantity's two spellings in one `set`: either would drop the other.
        if let Some(other) = table.entries[..index]
            .iter()
            .find(|other| raw::same_setting(&other.key, &entry.key))
        {
            diags.error(
                &entry.key_origin,
                &join(&path, &entry.key),
                format!(
                    "\"{}\" and \"{}\" set one quantity: give either, not both",
                    other.key, entry.key
                ),
            );
            ok = false;
        }
    }
    let assignments = table
        .entries
        .iter()
        .map(|e| Assignment {
            key: e.key.clone(),
            key_origin: e.key_origin.clone(),
            value: e.node.clone(),
        })
        .collect();
    ok.then_some(assignments)
}

fn incident(s: &mut Section<'_>, base: &Scenario, diags: &mut Diags) -> Option<Action> {
    let kind = s.choice(diags, "incident", &INCIDENTS);
    let provider_path = s.key_path("provider");
    let provider = match s.take("provider") {
        None => {
            s.missing("provider", "the name of a [providers.NAME] table", diags);
            None
        }
        Some(node) => string(node, &provider_path, diags)
            .and_then(|name| provider_index(name, node, &provider_path, base, diags)),
    };
    let duration = s.duration_required(diags, "duration", 1);
    let factor = match kind {
        Some("degradation") => s.number_required(diags, "factor", positive_up_to(FACTOR_MAX)),
        _ => {
            if s.has("factor") {
                let _ = s.take("factor");
                diags.error(
                    &s.origin_of("factor"),
                    &s.key_path("factor"),
                    "factor applies only to incident = \"degradation\"",
                );
            }
            Some(1.0)
        }
    };
    let incident = match kind? {
        "outage" => IncidentKind::Outage,
        "degradation" => IncidentKind::Degradation,
        _ => IncidentKind::RateLimit,
    };
    Some(Action::ProviderIncident {
        provider: provider?,
        incident,
        duration: duration?,
        factor: factor?,
    })
}

fn provider_index(
    name: &str,
    node: &Node,
    path: &str,
    base: &Scenario,
    diags: &mut Diags,
) -> Option<usize> {
    let index = base.providers.iter().position(|p| p.name == name);
    if index.is_none() {
        let names = base.providers.iter().map(|p| p.name.as_str());
        let hint = hint(name, names.clone());
        let message = if base.providers.is_empty() {
            format!(
                "unknown provider \"{name}\": the scenario defines no providers, expected a \
                 [providers.{name}] table"
            )
        } else {
            format!(
                "unknown provider \"{name}\", expected {}{hint}",
                one_of(names)
            )
        };
        diags.error(&node.origin, path, message);
    }
    index
}
