//! Scenario files: TOML in, strict validation with located diagnostics, defaults applied, the
//! resolved `Scenario` out (and back to TOML for `scenario.resolved.toml`).

mod agent;
mod autoscaler;
pub mod config;
mod diag;
pub mod fuzz;
pub mod limits;
mod lookup;
pub(crate) mod raw;
mod read;
mod resolve;
pub use resolve::check_name;
mod schema;
mod serving;
mod sweep;
pub mod templates;
mod timeline;
mod units;
mod warnings;
mod write;

#[cfg(test)]
mod tests;

pub use config::*;
pub use lookup::{KeyNumber, LookupError, resolved_number};
pub(crate) use raw::format_float;
pub use raw::override_key;
pub use schema::schema_json;
pub use sweep::{SearchTable, objective_index};
pub use units::{
    MAX_DURATION_NANOS, MAX_SIZE_BYTES, format_duration, format_size, parse_duration, parse_size,
};
pub use warnings::warnings;

use std::path::Path;

/// All problems found in one scenario file, each with its location.
#[derive(Debug)]
pub struct ScenarioErrors {
    pub messages: Vec<String>,
}

impl std::fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, message) in self.messages.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// Reads, validates and resolves a scenario file, applying `overrides` (each
/// `"dotted.key=value"`, validated like the file's own keys). The file must be a regular file
/// of at most `limits::MAX_SCENARIO_FILE_BYTES` (a FIFO or a device would block or never end).
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioErrors> {
    let file = path.display().to_string();
    let bytes =
        read_input_file(path, limits::MAX_SCENARIO_FILE_BYTES).map_err(|why| ScenarioErrors {
            messages: vec![format!("{file}: cannot read scenario file: {why}")],
        })?;
    load_bytes(&bytes, path, overrides)
}

/// Validates and resolves scenario text as if it were the file at `path` (which is only used
/// for messages, the default name and the folder relative CSV paths start from). Never
/// panics, whatever the bytes: the fuzz targets call this.
pub fn load_bytes(
    bytes: &[u8],
    path: &Path,
    overrides: &[String],
) -> Result<Scenario, ScenarioErrors> {
    let mut diags = diag::Diags::new(path.display().to_string());
    let Some(root) = parse(bytes, overrides, &mut diags) else {
        return Err(ScenarioErrors {
            messages: diags.into_messages(),
        });
    };
    let file = FileContext::of(path, bytes.len());
    match file.resolve(&root, &mut diags) {
        Some(scenario) if diags.is_empty() => Ok(scenario),
        _ => Err(ScenarioErrors {
            messages: diags.into_messages(),
        }),
    }
}

/// The raw tree of scenario bytes with `overrides` applied, or `None` (with the errors in
/// `diags`) when the bytes are not a TOML document.
fn parse(bytes: &[u8], overrides: &[String], diags: &mut diag::Diags) -> Option<raw::Node> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let origin = raw::origin_of_offset(bytes, error.valid_up_to());
            diags.error(
                &origin,
                "",
                "invalid utf-8: a scenario file must be UTF-8 text",
            );
            return None;
        }
    };
    if bytes.len() > limits::MAX_SCENARIO_FILE_BYTES {
        diags.error(
            &diag::Origin::Whole,
            "",
            limits::file_too_large(bytes.len()),
        );
        return None;
    }
    let mut root = raw::parse_document(text, diags)?;
    for argument in overrides {
        raw::apply_override(&mut root, argument, diags);
    }
    Some(root)
}

/// What resolution needs to know about the file besides its tree.
#[derive(Clone, Debug)]
struct FileContext {
    dir: std::path::PathBuf,
    stem: String,
    bytes: usize,
    /// The CSV columns read, shared by every resolution of the file (grid points, clones).
    csv: std::sync::Arc<read::CsvCache>,
}

impl FileContext {
    fn of(path: &Path, bytes: usize) -> FileContext {
        FileContext {
            dir: path.parent().unwrap_or(Path::new("")).to_path_buf(),
            stem: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes,
            csv: Default::default(),
        }
    }

    /// The resolved scenario of `root`; `None` when a size limit stopped resolution. Errors are
    /// in `diags`: the scenario is only meaningful when it has none.
    fn resolve(&self, root: &raw::Node, diags: &mut diag::Diags) -> Option<Scenario> {
        let cx = resolve::Context {
            files: read::Files {
                dir: &self.dir,
                cache: &self.csv,
            },
            stem: &self.stem,
        };
        if !limits::check_raw(root, self.bytes, diags) {
            return None;
        }
        let scenario = resolve::resolve(root, &cx, diags, resolve::WithTimeline::Yes);
        if diags.is_empty() {
            limits::check_resolved(&scenario, diags);
        }
        Some(scenario)
    }
}

/// A scenario file read for a sweep: the scenario as written (with `--set`), its `[sweep]`
/// table, and the grid (the file's, or the `--grid` arguments that replace it), every key and
/// value remembering where it was written.
#[derive(Clone, Debug)]
pub struct SweepSource {
    file: String,
    context: FileContext,
    root: raw::Node,
    axes: Vec<sweep::LocatedAxis>,
    /// The grid the points come from.
    pub grid: crate::sweep::Grid,
    /// `sweep.replications`, if written.
    pub replications: Option<u32>,
    /// `sweep.objective`, if written (a name of `sweep::METRICS`).
    pub objective: Option<String>,
    /// `sweep.search`, `sweep.initial_replications` and `sweep.halving_factor`, if written.
    pub search: sweep::SearchTable,
    /// Whether the file has a `[sweep]` table.
    pub has_sweep_table: bool,
    /// The scenario without any grid value.
    pub base: Scenario,
}

/// What the `--set` arguments read with a sweep's file apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetsApplyTo {
    /// Every point of a sweep: one that sets a key the grid varies would be replaced by the
    /// grid's value without a word, and is refused (`sweep::set_and_swept`).
    EveryPoint,
    /// The scenario as one run (`sim validate`, `sim run`, `sim diff`): the grid is checked
    /// but not run, so a `--set` of a swept key is what the run uses.
    TheScenario,
}

/// Reads a scenario for a sweep: the scenario with `overrides` (for every point: one that sets
/// a key the grid varies is an error naming both), its `[sweep]` table and, from `grid_args`
/// (`--grid key=VALUES`, replacing the file's grid when any are given) or the file, the grid.
/// Every problem of the file, the table and the arguments is reported at once; the grid points
/// themselves are checked by `SweepSource::load_points`.
pub fn load_sweep(
    path: &Path,
    overrides: &[String],
    grid_args: &[String],
) -> Result<SweepSource, ScenarioErrors> {
    read_sweep(path, overrides, grid_args, SetsApplyTo::EveryPoint)
}

fn read_sweep(
    path: &Path,
    overrides: &[String],
    grid_args: &[String],
    sets: SetsApplyTo,
) -> Result<SweepSource, ScenarioErrors> {
    let file = path.display().to_string();
    let bytes =
        read_input_file(path, limits::MAX_SCENARIO_FILE_BYTES).map_err(|why| ScenarioErrors {
            messages: vec![format!("{file}: cannot read scenario file: {why}")],
        })?;
    let mut diags = diag::Diags::new(file.clone());
    let Some(root) = parse(&bytes, overrides, &mut diags) else {
        return Err(ScenarioErrors {
            messages: diags.into_messages(),
        });
    };
    let context = FileContext::of(path, bytes.len());
    let base = context.resolve(&root, &mut diags);
    // The resolver reported the table's problems; read its values without repeating them.
    let sweep_node = match &root.value {
        raw::Value::Table(table) => table.get("sweep"),
        _ => None,
    };
    let table = sweep::sweep_table(sweep_node, &mut diags.sibling());
    let axes = if grid_args.is_empty() {
        table.axes
    } else {
        sweep::grid_args(grid_args, &mut diags)
    };
    if sets == SetsApplyTo::EveryPoint {
        sweep::set_and_swept(&axes, overrides, &mut diags);
    }
    match base {
        Some(base) if diags.is_empty() => Ok(SweepSource {
            file,
            context,
            grid: sweep::plain_grid(&axes),
            root,
            axes,
            replications: table.replications,
            objective: table.objective,
            search: table.search,
            has_sweep_table: table.present,
            base,
        }),
        _ => Err(ScenarioErrors {
            messages: diags.into_messages(),
        }),
    }
}

/// One grid point's errors, each with where it was written.
type PointErrors = Vec<(diag::Origin, String)>;

impl SweepSource {
    /// Grid point `index`: the scenario with that point's values, or its errors.
    fn point(&self, index: usize) -> Result<Scenario, Vec<(diag::Origin, String)>> {
        let mut diags = diag::Diags::new(self.file.clone());
        let mut root = self.root.clone();
        sweep::assign_point(
            &mut root,
            &self.axes,
            &self.grid.coordinates(index),
            &mut diags,
        );
        match self.context.resolve(&root, &mut diags) {
            Some(scenario) if diags.is_empty() => Ok(scenario),
            _ => Err(diags.into_items()),
        }
    }

    /// The bytes of the scenario file: a resolved point's memory grows with them.
    pub fn file_bytes(&self) -> usize {
        self.context.bytes
    }

    /// Grid point `index` resolved again (the same scenario `load_points` gave: the tree is
    /// held, and the CSV columns were read once), or its errors.
    pub fn point_scenario(&self, index: usize) -> Result<Scenario, ScenarioErrors> {
        if self.axes.is_empty() {
            return Ok(self.base.clone());
        }
        self.point(index).map_err(|errors| {
            let mut per_point = vec![Vec::new(); self.grid.len()];
            per_point[index] = errors;
            ScenarioErrors {
                messages: sweep::point_messages(&self.axes, &self.grid, &per_point, &self.file),
            }
        })
    }

    /// Every grid point's scenario, in point order (in parallel, on the current rayon pool).
    /// When any point is invalid, the errors of every invalid point, at once: a problem with a
    /// grid key or value is reported once where it was written, any other problem with the
    /// coordinates of each point that has it.
    pub fn load_points(&self) -> Result<Vec<Scenario>, ScenarioErrors> {
        self.load_points_with(|_, scenario| scenario)
    }

    /// As `load_points`, but each point's scenario is handed to `keep` as soon as it resolves,
    /// and what `keep` returns is what is collected: a sweep too large to hold every resolved
    /// point keeps a summary of each and resolves it again when it runs (`point_scenario`).
    pub fn load_points_with<T: Send>(
        &self,
        keep: impl Fn(usize, Scenario) -> T + Sync,
    ) -> Result<Vec<T>, ScenarioErrors> {
        use rayon::prelude::*;
        if self.axes.is_empty() {
            return Ok(vec![keep(0, self.base.clone())]);
        }
        let results: Vec<Result<(T, Option<u128>), PointErrors>> = (0..self.grid.len())
            .into_par_iter()
            .map(|index| {
                self.point(index).map(|scenario| {
                    let (scenario, fingerprint) = run_fingerprint(scenario);
                    (keep(index, scenario), fingerprint)
                })
            })
            .collect();
        if results.iter().all(Result::is_ok) {
            let (kept, fingerprints): (Vec<T>, Vec<Option<u128>>) =
                results.into_iter().flatten().unzip();
            let same = sweep::same_points(&self.axes, &self.grid, &fingerprints, &self.file);
            if !same.is_empty() {
                return Err(ScenarioErrors { messages: same });
            }
            return Ok(kept);
        }
        let per_point: Vec<Vec<(diag::Origin, String)>> = results
            .into_iter()
            .map(|r| r.err().unwrap_or_default())
            .collect();
        Err(ScenarioErrors {
            messages: sweep::point_messages(&self.axes, &self.grid, &per_point, &self.file),
        })
    }
}

/// Warnings about the sweep grid of `path` with `overrides` and `grid_args` (`--grid`, else the
/// file's `[sweep].grid`), each as `FILE: warning: ...`: a swept key that a timeline `set`
/// assigns (or a table holding it, or a key inside a swept table) runs the timeline's value at
/// every point from that time on, so the points differ only before it. Nothing when the file
/// does not load: its errors are reported by the command that reads it.
pub fn grid_warnings(path: &Path, overrides: &[String], grid_args: &[String]) -> Vec<String> {
    let Ok(source) = read_sweep(path, overrides, grid_args, SetsApplyTo::TheScenario) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    for axis in &source.axes {
        let swept = raw::setting_segments(&axis.key);
        for intervention in &source.base.timeline {
            let Action::Set { assignments, .. } = &intervention.action else {
                continue;
            };
            for (key, _) in assignments {
                let set = raw::setting_segments(key);
                if !(swept.starts_with(&set) || set.starts_with(&swept)) {
                    continue;
                }
                let at = units::format_duration(intervention.at);
                warnings.push(format!(
                    "{}: warning: sweep.grid \"{}\": the timeline sets {key} at {at} (\"{}\"): \
                     from then on every point runs the timeline's value, so the points differ \
                     only before {at}",
                    source.file, axis.key, intervention.label
                ));
            }
        }
    }
    warnings
}

/// What a run of `scenario` depends on, hashed: the resolved scenario without its name and
/// description (which name the run but change nothing in it), as JSON (floats exactly). Two
/// grid points with the same fingerprint would run the same runs twice (`--grid
/// run.warmup=1m,60s`). 128 bits from two SipHash states, one primed with a byte: for 10,000
/// points, a chance collision (which would refuse a valid grid) is out of reach, and it is
/// several times faster than SHA-256 without the processor's SHA instructions (a 1,000-step
/// file's points serialise to about 200 KB each: `sim validate` of 2,000 of them took 2.5 s
/// before this check and 2.9 s with it, on 2 threads).
/// `None` if the scenario does not serialise (it always does once resolved).
fn run_fingerprint(mut scenario: Scenario) -> (Scenario, Option<u128>) {
    use std::hash::Hasher;
    let name = std::mem::take(&mut scenario.name);
    let description = std::mem::take(&mut scenario.description);
    let json = serde_json::to_vec(&scenario);
    scenario.name = name;
    scenario.description = description;
    let fingerprint = json.ok().map(|json| {
        let mut low = std::hash::DefaultHasher::new();
        let mut high = std::hash::DefaultHasher::new();
        high.write_u8(1);
        low.write(&json);
        high.write(&json);
        (u128::from(high.finish()) << 64) | u128::from(low.finish())
    });
    (scenario, fingerprint)
}

/// `sim validate`: the scenario with `overrides`, its `[sweep]` table and, when it has a grid,
/// every grid point.
/// The per-second spelling of a key whose quantity a file may also write as a rate string
/// (`traffic.rate` -> `traffic.rate_per_s`); `None` for any other key.
pub fn per_second_key(key: &str) -> Option<String> {
    let (table, last) = key.rsplit_once('.').unwrap_or(("", key));
    let per_second = raw::per_second_spelling(last)?;
    Some(if table.is_empty() {
        per_second.to_string()
    } else {
        format!("{table}.{per_second}")
    })
}

pub fn validate(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioErrors> {
    let source = read_sweep(path, overrides, &[], SetsApplyTo::TheScenario)?;
    if !source.grid.axes.is_empty() {
        // Each point checked and dropped: none is kept (10,000 points of a large file held
        // gigabytes at once).
        if let Err(errors) = source.load_points_with(|_, _| ()) {
            // A point that fails only under this command's `--set` (one that turns the swept
            // `traffic.rate_per_s` into a diurnal profile's) is no fault of the file, and a
            // run does not run the grid: the file's own points are what must hold.
            let file_alone = (!overrides.is_empty())
                .then(|| read_sweep(path, &[], &[], SetsApplyTo::TheScenario).ok())
                .flatten();
            match file_alone {
                Some(file) if file.load_points_with(|_, _| ()).is_ok() => {}
                _ => return Err(errors),
            }
        }
    }
    Ok(source.base)
}

/// Reads a whole input file (a scenario or a CSV it names): only a regular file, and at most
/// `max_bytes`. The error is a lowercase fragment such as "not a regular file (a fifo)".
pub fn read_input_file(path: &Path, max_bytes: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let lower = |error: std::io::Error| {
        let text = error.to_string();
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => text,
        }
    };
    let metadata = std::fs::metadata(path).map_err(lower)?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "a fifo, socket or device"
        };
        return Err(format!(
            "not a regular file ({kind}), expected a file on disk"
        ));
    }
    if metadata.len() > max_bytes as u64 {
        return Err(format!(
            "the file has {} bytes, more than the limit of {max_bytes}",
            metadata.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(lower)?;
    // Opened after the check, so the file could have been swapped: `take` still bounds it.
    let mut bytes = Vec::new();
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(lower)?;
    if bytes.len() > max_bytes {
        return Err(format!(
            "the file has more than the limit of {max_bytes} bytes"
        ));
    }
    Ok(bytes)
}

/// The resolved scenario as TOML, with human units, loadable by `load`.
pub fn to_resolved_toml(scenario: &Scenario) -> String {
    write::to_resolved_toml(scenario)
}
