//! The sweep grid: `--grid key=v1,v2,...` and `--grid key=start..end:step` arguments, the
//! value syntax the `[sweep]` table shares with them (read by `scenario/sweep.rs`), and the
//! cartesian product of their values.
//!
//! Values stay strings: each grid point becomes `"key=value"` overrides, validated by the
//! scenario loader exactly like `--set`. Ranges are expanded here (inclusive end) for integers,
//! decimals and numbers with a unit suffix shared by start, end and step (`10s..60s:10s`,
//! `1GiB..4GiB:1GiB`). The product's order is deterministic: keys in the order given, the last
//! key varying fastest.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The most grid points a sweep may have (replications multiply this into runs).
pub const MAX_POINTS: usize = 10_000;
/// The most replications a sweep may have.
pub const MAX_REPLICATIONS: u32 = 10_000;
/// The replications of a sweep when neither `--replications` nor `sweep.replications` sets
/// them; a halving search ends there too.
pub const DEFAULT_REPLICATIONS: u32 = 1;
/// The most runs (points x replications) in one sweep: each keeps a record in memory until the
/// statistics are reduced, and a million runs of even a short scenario is days of CPU.
pub const MAX_RUNS: u64 = 1_000_000;

/// One swept key and its values, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// The swept keys, in the order given. An empty grid has one point (the scenario as is).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

/// A grid or `[sweep]` table problem. The message says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridError {
    pub message: String,
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GridError {}

fn error(message: impl Into<String>) -> GridError {
    GridError {
        message: message.into(),
    }
}

/// The error for a key swept twice (`first` and `second` may be a quantity's two spellings).
pub(crate) fn twice(first: &str, second: &str) -> String {
    if first == second {
        format!("grid key `{first}` is given twice: list all its values in one --grid")
    } else {
        format!(
            "grid keys `{first}` and `{second}` set one quantity (either replaces the other): \
             sweep it with one of them"
        )
    }
}

impl Grid {
    /// Parses `--grid` arguments, in order. Duplicate keys are an error.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<Grid, GridError> {
        let mut grid = Grid::default();
        for arg in args {
            grid.push(parse_grid_arg(arg.as_ref())?)?;
        }
        grid.check_size()?;
        Ok(grid)
    }

    /// Adds an axis; a key already in the grid is an error.
    pub fn push(&mut self, axis: Axis) -> Result<(), GridError> {
        if let Some(other) = self
            .axes
            .iter()
            .find(|a| crate::scenario::raw::same_setting(&a.key, &axis.key))
        {
            return Err(error(twice(&other.key, &axis.key)));
        }
        self.axes.push(axis);
        Ok(())
    }

    /// The number of points (the product of the axes' lengths), or an error past `MAX_POINTS`.
    pub fn check_size(&self) -> Result<usize, GridError> {
        let mut points: usize = 1;
        for axis in &self.axes {
            points = points.saturating_mul(axis.values.len());
        }
        if points > MAX_POINTS {
            let sizes: Vec<String> = self
                .axes
                .iter()
                .map(|a| a.values.len().to_string())
                .collect();
            return Err(error(format!(
                "the grid has {points} points ({}), more than the limit of {MAX_POINTS}: \
                 use coarser steps or fewer keys",
                sizes.join(" x ")
            )));
        }
        Ok(points)
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Never true: an empty grid still has one point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value index along each axis of point `index` (the last axis varies fastest).
    pub fn coordinates(&self, mut index: usize) -> Vec<usize> {
        let mut coords = vec![0; self.axes.len()];
        for (slot, axis) in coords.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len();
            *slot = index % n;
            index /= n;
        }
        coords
    }

    /// The `(key, value)` pairs of point `index`.
    pub fn point(&self, index: usize) -> Vec<(String, String)> {
        self.coordinates(index)
            .into_iter()
            .zip(&self.axes)
            .map(|(i, axis)| (axis.key.clone(), axis.values[i].clone()))
            .collect()
    }

    /// The `"key=value"` overrides of point `index`, for `scenario::load`.
    pub fn overrides(&self, index: usize) -> Vec<String> {
        self.point(index)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}

/// Parses one `--grid key=VALUES` argument. VALUES is a comma-separated list whose items are
/// single values or `start..end:step` ranges (inclusive end).
pub fn parse_grid_arg(arg: &str) -> Result<Axis, GridError> {
    let Some((key, values)) = arg.split_once('=') else {
        return Err(error(format!(
            "--grid `{arg}`: expected `key=v1,v2,...` or `key=start..end:step`"
        )));
    };
    let key = check_key(key.trim())?;
    let mut expanded = Vec::new();
    for item in values.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(error(if values.trim().is_empty() {
                format!(
                    "--grid {key}: no values after '=', expected key=v1,v2,... or \
                     key=start..end:step"
                )
            } else {
                format!("--grid {key}: an empty value in `{values}` (two commas, or one at an end)")
            }));
        }
        if item.contains("..") {
            expanded.extend(expand_range(&key, item)?);
        } else {
            expanded.push(item.to_string());
        }
        if expanded.len() > MAX_POINTS {
            return Err(error(format!(
                "grid key {key}: more than the limit of {MAX_POINTS} values"
            )));
        }
    }
    axis(key, expanded)
}

fn axis(key: String, values: Vec<String>) -> Result<Axis, GridError> {
    check_values(&values).map_err(|why| error(format!("grid key {key}: {why}")))?;
    Ok(Axis { key, values })
}

/// An axis's values: at most `MAX_POINTS`, none twice.
pub(crate) fn check_values(values: &[String]) -> Result<(), String> {
    if values.len() > MAX_POINTS {
        return Err(format!(
            "{} values, more than the limit of {MAX_POINTS}",
            values.len()
        ));
    }
    // A set, not a scan of the earlier values: linear in the number of values.
    let mut seen = std::collections::BTreeSet::new();
    for value in values {
        if !seen.insert(value.as_str()) {
            return Err(format!("value `{value}` appears twice"));
        }
    }
    Ok(())
}

/// A swept key: a dotted setting name, not `seed`, `name` or `description`.
pub(crate) fn check_key(key: &str) -> Result<String, GridError> {
    let valid = !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !valid {
        return Err(error(format!(
            "grid key `{key}` is not a dotted setting name like `temporal.cache_size`"
        )));
    }
    if key == "seed" {
        return Err(error(
            "the seed cannot be swept: use --replications (replication r of every point uses \
             the same seed)",
        ));
    }
    if key == "name" || key == "description" {
        return Err(error(format!(
            "the scenario's {key} cannot be swept: it changes nothing in a run, so every point \
             would run the same runs"
        )));
    }
    Ok(key.to_string())
}

/// A number with an optional unit suffix: `"10"`, `"0.25"`, `"1e-3"`, `"30s"`, `"1.5GiB"`.
struct Quantity<'a> {
    digits: &'a str,
    unit: &'a str,
}

impl Quantity<'_> {
    fn has_exponent(&self) -> bool {
        self.digits.contains(['e', 'E'])
    }
}

fn split_quantity(text: &str) -> Option<Quantity<'_>> {
    let bytes = text.as_bytes();
    let mut end = bytes
        .iter()
        .enumerate()
        .find(|&(i, &c)| !(c.is_ascii_digit() || c == b'.' || (i == 0 && (c == b'-' || c == b'+'))))
        .map_or(text.len(), |(i, _)| i);
    // A decimal exponent (`1e-3`, `2.5E6`) belongs to the number, not to the unit: no unit
    // starts with `e` followed by a digit or a sign and a digit.
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut digits_from = end + 1;
        if matches!(bytes.get(digits_from), Some(b'-' | b'+')) {
            digits_from += 1;
        }
        let exponent_end = bytes[digits_from..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(bytes.len(), |n| digits_from + n);
        if exponent_end > digits_from {
            end = exponent_end;
        }
    }
    let (digits, unit) = text.split_at(end);
    if digits.is_empty() || digits.parse::<f64>().is_err() {
        return None;
    }
    Some(Quantity { digits, unit })
}

/// The decimal places `digits` is written to: those of its fraction, less its exponent
/// (`0.25` has 2, `5e-1` has 1, `2.5e3` has -3). Saturating: the exponent of a number that
/// parsed as a positive finite f64 is within a few hundred.
fn decimals(digits: &str) -> i64 {
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(at) => (&digits[..at], digits[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (digits, 0),
    };
    let fraction = mantissa.split_once('.').map_or(0, |(_, frac)| frac.len()) as i64;
    fraction.saturating_sub(exponent)
}

/// Values at or above this print with an exponent (`2e20`, not 21 digits).
const FIXED_BELOW: f64 = 1e15;
/// The most decimal places a value prints with in fixed notation; finer ranges print with an
/// exponent (`3e-20`, not `0.00000000000000000` for every value).
const FIXED_PLACES: i64 = 17;

/// One value of a range written to `places` decimal places (negative: tens, hundreds...):
/// in fixed notation while that reads well, else as a mantissa and exponent to the same place.
fn range_value(value: f64, places: i64, fixed: bool) -> String {
    if fixed {
        return format!("{:.*}", places.clamp(0, FIXED_PLACES) as usize, value);
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i64;
    let precision = magnitude.saturating_add(places).clamp(0, FIXED_PLACES) as usize;
    format!("{value:.precision$e}")
}

/// Expands `start..end:step` (inclusive end) into value strings.
fn expand_range(key: &str, item: &str) -> Result<Vec<String>, GridError> {
    expand_range_values(item).map_err(|why| error(format!("--grid {key}: {why}")))
}

/// Expands `start..end:step` (inclusive end) into value strings; the error says what is wrong
/// with the range, without naming where it came from.
pub(crate) fn expand_range_values(item: &str) -> Result<Vec<String>, String> {
    let bad = |why: &str| {
        format!(
            "bad range `{item}`: {why} (expected `start..end:step`, e.g. `0..4:1`, \
             `0.1..0.5:0.1` or `10s..60s:10s`)"
        )
    };
    let (bounds, step) = item.split_once(':').ok_or_else(|| bad("no `:step`"))?;
    let (start, end) = bounds.split_once("..").ok_or_else(|| bad("no `..`"))?;
    let parts = [start.trim(), end.trim(), step.trim()];
    let mut quantities = Vec::with_capacity(3);
    for part in parts {
        quantities
            .push(split_quantity(part).ok_or_else(|| bad(&format!("`{part}` is not a number")))?);
    }
    let unit = quantities[0].unit;
    if quantities.iter().any(|q| q.unit != unit) {
        return Err(bad("start, end and step must have the same unit"));
    }
    let integer = quantities
        .iter()
        .all(|q| !q.digits.contains('.') && !q.has_exponent());
    if integer {
        let [start, end, step] = [0, 1, 2].map(|i| quantities[i].digits.parse::<i64>());
        let (Ok(start), Ok(end), Ok(step)) = (start, end, step) else {
            return Err(bad("integer out of range"));
        };
        if step <= 0 {
            return Err(bad("the step must be positive"));
        }
        if end < start {
            return Err(bad("the end is below the start"));
        }
        let Some(span) = end.checked_sub(start) else {
            return Err(bad("integer out of range"));
        };
        let count = (span / step) as u64 + 1;
        if count > MAX_POINTS as u64 {
            return Err(bad(&format!(
                "{count} values, more than the limit of {MAX_POINTS}"
            )));
        }
        return Ok((0..count as i64)
            .map(|i| format!("{}{unit}", start + i * step))
            .collect());
    }
    let [start, end, step] =
        [0, 1, 2].map(|i| quantities[i].digits.parse::<f64>().unwrap_or(f64::NAN));
    if step.is_nan() || step <= 0.0 || !step.is_finite() {
        return Err(bad("the step must be positive"));
    }
    if end < start {
        return Err(bad("the end is below the start"));
    }
    // A small tolerance so that 0.1..0.5:0.1 includes 0.5 despite binary rounding.
    let steps = ((end - start) / step + 1e-9).floor();
    if steps + 1.0 > MAX_POINTS as f64 {
        return Err(bad(&format!("more than {MAX_POINTS} values")));
    }
    let places = quantities
        .iter()
        .map(|q| decimals(q.digits))
        .max()
        .unwrap_or(0);
    let values: Vec<f64> = (0..=steps as u64)
        .map(|i| start + i as f64 * step)
        .collect();
    let fixed = places <= FIXED_PLACES && values.iter().all(|v| v.abs() < FIXED_BELOW);
    // With an exponent, a zero end says nothing of the place (`0..3e307:1e307` is to 1e307).
    let places = if fixed {
        places
    } else {
        quantities
            .iter()
            .filter(|q| q.digits.parse::<f64>().is_ok_and(|v| v != 0.0))
            .map(|q| decimals(q.digits))
            .max()
            .unwrap_or(0)
    };
    Ok(values
        .into_iter()
        .map(|v| format!("{}{unit}", range_value(v, places, fixed)))
        .collect())
}

/// Fuzz entry point (the `grid` target and its regression replay): each line of `bytes` as one
/// `--grid` argument, and the whole text as a scenario's `[sweep]` table. Returns whether a
/// grid was accepted; never panics.
pub fn fuzz_grid(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let args: Vec<&str> = text.lines().take(16).collect();
    let mut accepted = false;
    if let Ok(grid) = Grid::from_args(&args) {
        let points = grid.len();
        assert!(points <= MAX_POINTS, "{points} points");
        for index in [0, points / 2, points.saturating_sub(1)] {
            assert_eq!(grid.overrides(index).len(), grid.axes.len());
        }
        accepted = true;
    }
    if let Some(grid) = crate::scenario::fuzz::sweep_grid(bytes) {
        assert!(grid.len() <= MAX_POINTS);
        accepted = true;
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(arg: &str) -> Vec<String> {
        parse_grid_arg(arg).unwrap().values
    }

    fn err(arg: &str) -> String {
        parse_grid_arg(arg).unwrap_err().message
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(values("temporal.cache_size=1000,10000"), ["1000", "10000"]);
        assert_eq!(
            values("autoscaler.min_instances=0..4:1"),
            ["0", "1", "2", "3", "4"]
        );
        assert_eq!(values("a.b=0..10:4"), ["0", "4", "8"]);
        assert_eq!(
            values("a.b=0.1..0.5:0.1"),
            ["0.1", "0.2", "0.3", "0.4", "0.5"]
        );
        assert_eq!(values("a.b=0.5..1:0.25"), ["0.50", "0.75", "1.00"]);
        assert_eq!(values("instance.memory_limit=1GiB,2GiB"), ["1GiB", "2GiB"]);
        assert_eq!(values("a.b=10s..30s:10s"), ["10s", "20s", "30s"]);
        assert_eq!(values("a.b=1,3..5:1"), ["1", "3", "4", "5"]);
        assert_eq!(values("a.b=-2..2:2"), ["-2", "0", "2"]);
        assert_eq!(values("a.b=7..7:1"), ["7"]);
        // Scientific notation is a number, not a number with the unit `e0`.
        assert_eq!(values("a.b=1e0..2e0:5e-1"), ["1.0", "1.5", "2.0"]);
        assert_eq!(values("a.b=1e-1..3e-1:1e-1"), ["0.1", "0.2", "0.3"]);
        assert_eq!(values("a.b=1E3..3e3:1e3"), ["1000", "2000", "3000"]);
        assert_eq!(values("a.b=2.5e-3..5e-3:2.5e-3"), ["0.0025", "0.0050"]);
        // Beyond what fixed notation shows well, values keep an exponent, to the place written:
        // not 308 digits each, nor 17 zeros for every value (which then "appeared twice").
        assert_eq!(
            values("a.b=1e307..3e307:1e307"),
            ["1e307", "2e307", "3e307"]
        );
        assert_eq!(
            values("a.b=1e-20..3e-20:1e-20"),
            ["1e-20", "2e-20", "3e-20"]
        );
        assert_eq!(
            values("a.b=1e20..2e20:2.5e19"),
            ["1.00e20", "1.25e20", "1.50e20", "1.75e20", "2.00e20"]
        );
        assert_eq!(values("a.b=0..2e-18:1e-18"), ["0", "1e-18", "2e-18"]);
        assert_eq!(values("a.b=0..2e307:1e307"), ["0", "1e307", "2e307"]);
        for value in values("a.b=1e-20..1e-19:1e-20") {
            assert!(value.parse::<f64>().is_ok(), "{value}");
        }
    }

    #[test]
    fn malformed_ranges_and_lists() {
        assert!(
            err("a.b=").contains("no values after '='"),
            "{}",
            err("a.b=")
        );
        assert!(err("a.b= ").contains("no values after '='"));
        assert!(err("a.b=1,,2").contains("an empty value in `1,,2` (two commas"));
        assert!(err("a.b=0..4:0").contains("step must be positive"));
        assert!(err("a.b=0..4:-1").contains("step must be positive"));
        assert!(err("a.b=0.0..1:0").contains("step must be positive"));
        assert!(err("a.b=4..0:1").contains("end is below the start"));
        assert!(err("a.b=0..4").contains("no `:step`"));
        assert!(err("a.b=x..4:1").contains("`x` is not a number"));
        assert!(err("a.b=1s..4m:1s").contains("same unit"));
        assert!(err("a.b=0..100000:1").contains("limit of 10000"));
        assert!(err("a.b=0..1e9:1").contains("more than 10000 values"));
        assert!(err("a.b=1e0..2s:1").contains("same unit"));
        assert!(err("a.b=1e..2:1").contains("same unit"));
        assert!(err("a.b=0..1:1e-400").contains("step must be positive"));
        assert!(err("a.b=1,,2").contains("empty value"));
        assert!(err("a.b=1,2,1").contains("appears twice"));
        assert!(err("a.b").contains("expected `key=v1,v2,...`"));
        assert!(err("a..b=1").contains("not a dotted setting name"));
        assert!(err("seed=1,2").contains("--replications"));
    }

    #[test]
    fn duplicate_keys_and_size_cap() {
        let e = Grid::from_args(&["a.b=1,2", "a.b=3"]).unwrap_err();
        assert!(e.message.contains("given twice"), "{e}");
        // A quantity's two spellings are one key.
        let e = Grid::from_args(&["traffic.rate_per_s=1,2", "traffic.rate=3/s"]).unwrap_err();
        assert!(
            e.message.contains(
                "grid keys `traffic.rate_per_s` and `traffic.rate` set one quantity (either \
                 replaces the other)"
            ),
            "{e}"
        );
        let e = Grid::from_args(&["a.x=1..200:1", "a.y=1..200:1"]).unwrap_err();
        assert!(e.message.contains("40000 points (200 x 200)"), "{e}");
    }

    #[test]
    fn product_order_last_key_fastest() {
        let grid = Grid::from_args(&["a.x=1,2", "a.y=p,q,r"]).unwrap();
        assert_eq!(grid.len(), 6);
        let points: Vec<Vec<String>> = (0..6).map(|i| grid.overrides(i)).collect();
        assert_eq!(points[0], ["a.x=1", "a.y=p"]);
        assert_eq!(points[1], ["a.x=1", "a.y=q"]);
        assert_eq!(points[3], ["a.x=2", "a.y=p"]);
        assert_eq!(points[5], ["a.x=2", "a.y=r"]);
        assert_eq!(Grid::default().len(), 1);
        assert!(Grid::default().overrides(0).is_empty());
    }
}
