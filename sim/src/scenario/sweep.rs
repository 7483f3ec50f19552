//! The `[sweep]` section (grid, replications, objective, search) and the grid points of a sweep: each
//! point is the raw tree with its grid values assigned, resolved like any scenario. Grid keys and
//! values keep their origin (the file's `sweep.grid` position, or the `--grid` argument), so a
//! misspelt key or a bad value is reported once, where it was written, with the reader's own
//! did-you-mean hint; a problem that only some combinations of values have is reported with
//! the coordinates of every point that has it.

use super::diag::{Diags, Origin, hint, one_of};
use super::raw::{self, Node, Value, describe};
use super::read::Section;
use crate::sweep::grid::{self, Axis, DEFAULT_REPLICATIONS, Grid, MAX_POINTS, MAX_REPLICATIONS};

/// One swept key with where it and each of its values came from.
#[derive(Clone, Debug)]
pub(crate) struct LocatedAxis {
    pub key: String,
    pub key_origin: Origin,
    /// Each value as `--set` would read it, with its origin.
    pub values: Vec<(String, Origin)>,
}

/// The `[sweep]` table as read.
#[derive(Clone, Debug, Default)]
pub(crate) struct SweepTable {
    /// Whether the scenario has a `[sweep]` table at all.
    pub present: bool,
    pub axes: Vec<LocatedAxis>,
    pub replications: Option<u32>,
    pub objective: Option<String>,
    /// `search`, `initial_replications` and `halving_factor`, as written.
    pub search: SearchTable,
}

/// The search keys of `[sweep]` (or the `--search` flags), before defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchTable {
    /// `search = "halving"` (`Some(true)`) or `"grid"` (`Some(false)`).
    pub halving: Option<bool>,
    pub initial_replications: Option<u32>,
    pub halving_factor: Option<u32>,
}

const KEYS_HINT: &str = "a table like { \"temporal.cache_size\" = [1000, 10000] }";

/// Reads `[sweep]`: unknown keys, bad replication counts, malformed grids and unknown objectives
/// are errors like any section's.
pub(crate) fn sweep_table(node: Option<&Node>, diags: &mut Diags) -> SweepTable {
    let mut s = Section::open(node, "sweep", &Origin::Whole, diags);
    let mut table = SweepTable {
        present: s.is_present(),
        ..SweepTable::default()
    };
    let given = s.has("replications");
    let replications = s.u32_in(
        diags,
        "replications",
        DEFAULT_REPLICATIONS,
        1,
        MAX_REPLICATIONS,
    );
    table.replications = given.then_some(replications);
    let objective_origin = s.origin_of("objective");
    if let Some(objective) = s.string(diags, "objective") {
        if let Err(message) = check_objective(&objective) {
            diags.error(&objective_origin, "sweep.objective", message);
        }
        table.objective = Some(objective);
    }
    let search = s.choice(diags, "search", &["grid", "halving"]);
    let initial_origin = s.origin_of("initial_replications");
    let factor_origin = s.origin_of("halving_factor");
    table.search = SearchTable {
        halving: search.map(|kind| kind == "halving"),
        initial_replications: s.u32_optional(diags, "initial_replications", 1, MAX_REPLICATIONS),
        halving_factor: s.u32_optional(
            diags,
            "halving_factor",
            crate::sweep::halving::MIN_FACTOR,
            crate::sweep::halving::MAX_FACTOR,
        ),
    };
    if table.search.halving != Some(true) {
        let why = if search.is_some() {
            "only used with search = \"halving\": remove it, or set search = \"halving\""
        } else {
            "only used with search = \"halving\", which this [sweep] table does not set"
        };
        if table.search.initial_replications.is_some() {
            diags.error(&initial_origin, "sweep.initial_replications", why);
        }
        if table.search.halving_factor.is_some() {
            diags.error(&factor_origin, "sweep.halving_factor", why);
        }
    }
    // Halving ends at the sweep's replications, so it cannot start above them; a table that
    // leaves `replications` out ends at its default, as `sim sweep` without `--replications`
    // does (the flags, which replace these keys, are checked when the sweep runs).
    if let Some(initial) = table.search.initial_replications {
        let message = match table.replications {
            Some(full) if initial > full => Some(format!(
                "expected at most sweep.replications = {full} (the count halving ends at), \
                 found {initial}"
            )),
            None if initial > DEFAULT_REPLICATIONS => Some(format!(
                "expected at most {DEFAULT_REPLICATIONS}, the default of sweep.replications \
                 (the count halving ends at), found {initial}: set sweep.replications to \
                 {initial} or more"
            )),
            _ => None,
        };
        if let Some(message) = message {
            diags.error(&initial_origin, "sweep.initial_replications", message);
        }
    }
    if let Some(grid_node) = s.take("grid") {
        table.axes = grid_table(grid_node, diags);
    }
    s.finish(diags);
    table
}

/// An objective names a metric a sweep reports and can minimise (see
/// `sweep::metrics::objectives`).
pub(crate) fn check_objective(name: &str) -> Result<(), String> {
    objective_index(name).map(|_| ())
}

/// The index in `sweep::METRICS` of the objective `name`, or a message with a hint.
pub fn objective_index(name: &str) -> Result<usize, String> {
    use crate::sweep::metrics;
    let names = metrics::objectives().map(|m| m.name);
    if let Some(index) = metrics::objective_index(name) {
        return Ok(index);
    }
    Err(format!(
        "unknown metric \"{name}\"{}, expected {}",
        hint(name, names.clone()),
        one_of(names)
    ))
}

fn grid_table(node: &Node, diags: &mut Diags) -> Vec<LocatedAxis> {
    let Value::Table(table) = &node.value else {
        diags.error(
            &node.origin,
            "sweep.grid",
            format!("expected {KEYS_HINT}, found {}", describe(&node.value)),
        );
        return Vec::new();
    };
    // File order (the parser gives keys sorted): keys vary in the order written.
    let mut entries: Vec<&raw::Entry> = table.entries.iter().collect();
    entries.sort_by_key(|e| match e.key_origin {
        Origin::File { line, col } => (0, line, col),
        _ => (1, 0, 0),
    });
    let mut axes = Vec::new();
    let mut points: usize = 1;
    for entry in entries {
        let path = format!("sweep.grid.\"{}\"", entry.key);
        let mut fine = true;
        let key = match grid::check_key(&entry.key) {
            Ok(key) => key,
            Err(e) => {
                diags.error(&entry.key_origin, &path, e.message);
                fine = false;
                entry.key.clone()
            }
        };
        if let Some(other) = axes
            .iter()
            .find(|a: &&LocatedAxis| raw::same_setting(&a.key, &key))
        {
            diags.error(&entry.key_origin, &path, grid::twice(&other.key, &key));
            fine = false;
        }
        let values = grid_values(&entry.node, &path, diags);
        let Some(values) = values.filter(|_| fine) else {
            continue;
        };
        points = points.saturating_mul(values.len());
        axes.push(LocatedAxis {
            key,
            key_origin: sweep_origin(&entry.key_origin),
            values,
        });
    }
    if points > MAX_POINTS {
        let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
        diags.error(
            &node.origin,
            "sweep.grid",
            format!(
                "the grid has {points} points ({}), more than the limit of {MAX_POINTS}: use \
                 coarser steps or fewer keys",
                sizes.join(" x ")
            ),
        );
    }
    axes
}

/// A file position as the origin of a grid key or value applied to a point.
fn sweep_origin(origin: &Origin) -> Origin {
    match origin {
        Origin::File { line, col } => Origin::SweepGrid {
            line: *line,
            col: *col,
        },
        other => other.clone(),
    }
}

/// The values of one grid key: an array of plain values, or a range string.
fn grid_values(node: &Node, path: &str, diags: &mut Diags) -> Option<Vec<(String, Origin)>> {
    let origin = sweep_origin(&node.origin);
    let values: Vec<(String, Origin)> = match &node.value {
        Value::Str(range) if range.contains("..") => match grid::expand_range_values(range) {
            Ok(values) => values.into_iter().map(|v| (v, origin.clone())).collect(),
            Err(why) => {
                diags.error(&node.origin, path, why);
                return None;
            }
        },
        Value::Array(items) if !items.is_empty() => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                let text = match &item.value {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    // Reported, with the key's range, when the grid point is read.
                    Value::BigInt { text, .. } => text.clone(),
                    Value::Float(f) => f.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        diags.error(
                            &item.origin,
                            path,
                            format!(
                                "expected a string, a number or a boolean, found {}",
                                describe(other)
                            ),
                        );
                        return None;
                    }
                };
                values.push((text, sweep_origin(&item.origin)));
            }
            values
        }
        other => {
            diags.error(
                &node.origin,
                path,
                format!(
                    "expected a non-empty array of values or a range string \
                     \"start..end:step\", found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    let texts: Vec<String> = values.iter().map(|(v, _)| v.clone()).collect();
    if let Err(why) = grid::check_values(&texts) {
        diags.error(&node.origin, path, why);
        return None;
    }
    Some(values)
}

/// `--grid` arguments as located axes; every malformed argument is reported.
pub(crate) fn grid_args(args: &[String], diags: &mut Diags) -> Vec<LocatedAxis> {
    let mut axes: Vec<LocatedAxis> = Vec::new();
    let mut points: usize = 1;
    for arg in args {
        let origin = Origin::GridArg(arg.clone());
        let axis = match grid::parse_grid_arg(arg) {
            Ok(axis) => axis,
            Err(e) => {
                diags.error(&Origin::Whole, "", e.message);
                continue;
            }
        };
        if let Some(other) = axes.iter().find(|a| raw::same_setting(&a.key, &axis.key)) {
            diags.error(&origin, "", grid::twice(&other.key, &axis.key));
            continue;
        }
        points = points.saturating_mul(axis.values.len());
        let Axis { key, values } = axis;
        let values = values
            .into_iter()
            .map(|v| {
                let located = Origin::GridArg(format!("{key}={v}"));
                (v, located)
            })
            .collect();
        axes.push(LocatedAxis {
            key,
            key_origin: origin,
            values,
        });
    }
    if points > MAX_POINTS {
        let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
        diags.error(
            &Origin::Whole,
            "",
            format!(
                "the grid has {points} points ({}), more than the limit of {MAX_POINTS}: use \
                 coarser steps or fewer keys",
                sizes.join(" x ")
            ),
        );
    }
    axes
}

/// A `--set` whose value the grid replaces at every point (the grid is assigned after the
/// `--set`s): explicit input dropped without a word. Each such pair is an error naming both,
/// the grid by its `--grid` argument or its line in the file. The grid replaces a `--set` when
/// it varies the same key, a table the `--set` wrote into (`--set traffic.rate_per_s=5` with
/// `traffic` swept), or a key the `--set`'s table value holds (`--set 'traffic={ kind =
/// "constant", rate_per_s = 5 }'` with `traffic.rate_per_s` swept; a table that leaves the
/// swept key out loses nothing to it). Keys are compared as `assign` reads them
/// (`raw::override_key`), segment by segment.
pub(crate) fn set_and_swept(axes: &[LocatedAxis], overrides: &[String], diags: &mut Diags) {
    for argument in overrides {
        let (Some(set), Some((_, value))) = (raw::override_key(argument), argument.split_once('='))
        else {
            continue; // reported by `apply_override`
        };
        // `rate` and `rate_per_s` are one key here: either replaces the other.
        let set = raw::setting_segments(&set);
        let value = raw::parse_override_value(value, &Origin::Override(argument.clone()));
        for axis in axes {
            let swept = raw::setting_segments(&axis.key);
            let replaced = match swept.strip_prefix(set.as_slice()) {
                Some(inside) => holds(&value, inside),
                None => set.starts_with(&swept),
            };
            if !replaced {
                continue;
            }
            let grid = match &axis.key_origin {
                Origin::GridArg(grid_arg) => format!("--grid {grid_arg}"),
                Origin::SweepGrid { line, .. } => {
                    format!("the sweep grid (sweep.grid, line {line})")
                }
                _ => "the sweep grid".to_string(),
            };
            diags.error(
                &Origin::Whole,
                "",
                format!(
                    "--set {argument} conflicts with {grid}, which varies {}: drop one",
                    axis.key
                ),
            );
        }
    }
}

/// Whether `node` has a value at the dotted `path` below it (table keys, array indices).
fn holds(node: &Node, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return true;
    };
    let next = match &node.value {
        Value::Table(table) => table
            .entries
            .iter()
            .find(|e| raw::one_spelling(&e.key) == *first)
            .map(|e| &e.node),
        Value::Array(items) => first.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    };
    next.is_some_and(|next| holds(next, rest))
}

/// The plain grid (keys and value strings) of located axes.
pub(crate) fn plain_grid(axes: &[LocatedAxis]) -> Grid {
    Grid {
        axes: axes
            .iter()
            .map(|a| Axis {
                key: a.key.clone(),
                values: a.values.iter().map(|(v, _)| v.clone()).collect(),
            })
            .collect(),
    }
}

/// Assigns grid point `coordinates` to `root`, each value located where it was written.
pub(crate) fn assign_point(
    root: &mut Node,
    axes: &[LocatedAxis],
    coordinates: &[usize],
    diags: &mut Diags,
) {
    for (axis, &index) in axes.iter().zip(coordinates) {
        let (text, origin) = &axis.values[index];
        let value = raw::parse_override_value(text, origin);
        if let Err(message) = raw::assign(root, &axis.key, value, &axis.key_origin) {
            diags.error(&axis.key_origin, &axis.key, message);
        }
    }
}

/// Per-point messages shown before the rest are counted: a grid of 2,000 rates past the
/// conversation limit would otherwise print 2,000 near-identical lines.
pub(crate) const MAX_PER_POINT_MESSAGES: usize = 20;

/// The messages of every invalid grid point, all at once. A problem with a grid key or value
/// that every point using it has is reported once, where it was written; any other problem once
/// per point that has it, with that point's coordinates, the first `MAX_PER_POINT_MESSAGES` of
/// them in point order and then a count of the rest.
pub(crate) fn point_messages(
    axes: &[LocatedAxis],
    grid: &Grid,
    per_point: &[Vec<(Origin, String)>],
    file: &str,
) -> Vec<String> {
    // Each distinct message with its origin and the points that have it, in first-seen order.
    let mut order: Vec<String> = Vec::new();
    let mut seen: std::collections::BTreeMap<String, (Origin, Vec<usize>)> =
        std::collections::BTreeMap::new();
    for (point, items) in per_point.iter().enumerate() {
        for (origin, message) in items {
            let entry = seen.entry(message.clone()).or_insert_with(|| {
                order.push(message.clone());
                (origin.clone(), Vec::new())
            });
            entry.1.push(point);
        }
    }
    let total = grid.len();
    // How many points carry a grid origin: a key is in every point; a value (or a range's
    // shared origin) in the points that use it.
    let scope = |origin: &Origin| -> Option<usize> {
        if !origin.is_grid() {
            return None;
        }
        let mut count = 0;
        for axis in axes {
            if &axis.key_origin == origin {
                return Some(total);
            }
            let uses = axis.values.iter().filter(|(_, o)| o == origin).count();
            count += total / axis.values.len().max(1) * uses;
        }
        (count > 0).then_some(count)
    };
    let mut once: Vec<(Origin, String)> = Vec::new();
    let mut per: Vec<(Origin, usize, String)> = Vec::new();
    for message in order {
        let (origin, points) = &seen[&message];
        if scope(origin) == Some(points.len()) {
            once.push((origin.clone(), message));
        } else {
            for &point in points {
                let coordinates: Vec<String> = grid
                    .point(point)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                per.push((
                    origin.clone(),
                    point,
                    format!("{message} (grid point {point} [{}])", coordinates.join(" ")),
                ));
            }
        }
    }
    once.sort_by_key(|a| a.0.sort_key());
    per.sort_by_key(|a| (a.1, a.0.sort_key()));
    let more = per.split_off(per.len().min(MAX_PER_POINT_MESSAGES));
    let mut messages: Vec<String> = once
        .into_iter()
        .map(|(_, m)| m)
        .chain(per.iter().map(|(_, _, m)| m.clone()))
        .collect();
    if !more.is_empty() {
        let mut points: Vec<usize> = more.iter().map(|p| p.1).collect();
        points.dedup();
        messages.push(format!(
            "{file}: {} more error{} at {} grid point{} not shown (the first \
             {MAX_PER_POINT_MESSAGES} are)",
            more.len(),
            if more.len() == 1 { "" } else { "s" },
            points.len(),
            if points.len() == 1 { "" } else { "s" },
        ));
    }
    messages
}

/// The error for grid points that run the same scenario (`fingerprints`, one per point, from
/// `run_fingerprint`): each such point repeats the runs of the first point equal to it. Points
/// that differ in one key's value are reported once at that value, as written; points that
/// differ in several keys (whose values cancel out) with their coordinates, the first
/// `MAX_PER_POINT_MESSAGES` pairs.
pub(crate) fn same_points(
    axes: &[LocatedAxis],
    grid: &Grid,
    fingerprints: &[Option<u128>],
    file: &str,
) -> Vec<String> {
    let mut first: std::collections::HashMap<u128, usize> = std::collections::HashMap::new();
    let mut diags = Diags::new(file.to_string());
    // Pairs named by their coordinates, at most `MAX_PER_POINT_MESSAGES` of them.
    let mut whole = 0;
    for (point, fingerprint) in fingerprints.iter().enumerate() {
        let Some(fingerprint) = fingerprint else {
            continue;
        };
        let Some(&earlier) = first.get(fingerprint) else {
            first.insert(*fingerprint, point);
            continue;
        };
        let (a, b) = (grid.coordinates(earlier), grid.coordinates(point));
        let differ: Vec<usize> = (0..axes.len()).filter(|&k| a[k] != b[k]).collect();
        if let [k] = differ[..] {
            let axis = &axes[k];
            let (text, origin) = &axis.values[b[k]];
            diags.error(
                origin,
                "",
                format!(
                    "value `{text}` of `{}` runs the same scenario as its value `{}`: list \
                     each value once",
                    axis.key, axis.values[a[k]].0
                ),
            );
        } else if whole < MAX_PER_POINT_MESSAGES {
            whole += 1;
            let show = |index: usize| -> String {
                let coordinates: Vec<String> = grid
                    .point(index)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("grid point {index} [{}]", coordinates.join(" "))
            };
            diags.error(
                &Origin::Whole,
                "",
                format!(
                    "{} runs the same scenario as {}: drop a value that makes them equal",
                    show(point),
                    show(earlier)
                ),
            );
        }
    }
    diags.into_messages()
}
