//! Typed reading of raw tables: `Section` hands out keys with their units checked and records
//! which keys the schema knows, so whatever is left over is reported as unknown, with a hint.
//! Getters record an error and fall back to the default, so one run reports every problem.

use super::config::{Dist, NANOS_PER_SECOND, Nanos};
use super::diag::{Diags, Origin, hint, key_hint, one_of};
use super::raw::{Node, Table, Value, describe};
use super::units;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// `path` made absolute against the current directory (unchanged if that fails), so a
/// resolved scenario written elsewhere still finds its CSV files.
pub(crate) fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// An allowed interval for a number, with its wording for messages.
#[derive(Clone, Copy)]
pub(crate) struct Range {
    pub lo: f64,
    pub lo_open: bool,
    pub hi: f64,
    pub hi_open: bool,
}

pub(crate) const PROBABILITY: Range = Range {
    lo: 0.0,
    lo_open: false,
    hi: 1.0,
    hi_open: false,
};
pub(crate) const FRACTION_POSITIVE: Range = Range {
    lo: 0.0,
    lo_open: true,
    hi: 1.0,
    hi_open: false,
};
/// `[lo, hi]` with both ends included.
pub(crate) const fn closed(lo: f64, hi: f64) -> Range {
    Range {
        lo,
        lo_open: false,
        hi,
        hi_open: false,
    }
}

/// `(0, hi]`.
pub(crate) const fn positive_up_to(hi: f64) -> Range {
    Range {
        lo: 0.0,
        lo_open: true,
        hi,
        hi_open: false,
    }
}

/// Caps on numbers that are finite but absurd (docs/scenario-reference.md, "Limits"): they keep
/// every product the model and the report compute (rate x horizon, tokens x price, vCPU-seconds
/// x price) finite, far beyond any real fleet.
/// Arrival rates in conversations per second, and the traffic multiplier.
pub(crate) const RATE: Range = closed(0.0, 1e6);
/// Prices in USD (per million tokens, per vCPU-second, per GiB-second).
pub(crate) const PRICE: Range = closed(0.0, 1e6);
/// Ratios and factors (peak-to-trough, backoff coefficient, incident degradation factor).
pub(crate) const FACTOR_MAX: f64 = 1e6;
/// Count-distribution parameters and empirical counts (messages, tokens).
pub(crate) const COUNT_MAX: f64 = 1e9;
/// Provider quotas in tokens per minute (a large provider tier is tens of millions).
pub(crate) const TOKENS_PER_MINUTE_MAX: f64 = 1e12;
/// Integer settings that size a worker (slots, cache entries, concurrency).
pub(crate) const SLOTS_MAX: u32 = 1_000_000;
/// vCPUs of one instance: beyond the largest machine a cloud rents.
pub(crate) const VCPUS_MAX: u32 = 1024;

impl Range {
    pub(crate) fn contains(&self, x: f64) -> bool {
        let above = if self.lo_open {
            x > self.lo
        } else {
            x >= self.lo
        };
        let below = if self.hi_open {
            x < self.hi
        } else {
            x <= self.hi
        };
        above && below
    }

    pub(crate) fn describe(&self) -> String {
        if self.hi.is_infinite() {
            let op = if self.lo_open { ">" } else { ">=" };
            return format!("a number {op} {}", self.lo);
        }
        let open = if self.lo_open { "(" } else { "[" };
        let close = if self.hi_open { ")" } else { "]" };
        format!("a number in {open}{}, {}{close}", self.lo, self.hi)
    }
}

/// A number for messages: `1e308` rather than 309 digits.
pub(crate) fn show_number(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The message for an integer literal beyond i64 (`text` as written) read by a key that takes
/// `expected`. The bound it broke is TOML's (signed 64-bit), not 64 bits as such: 2^64 - 1 fits
/// in 64 unsigned bits and is still refused. (The seed, which takes any u64, says its own range.)
fn beyond_toml_integers(text: &str, expected: &str) -> String {
    let bound = if text.starts_with('-') {
        format!("at least {}", i64::MIN)
    } else {
        format!("at most {}", i64::MAX)
    };
    format!(
        "integer {text} is out of range (TOML integers are 64-bit signed: {bound}), expected \
         {expected}"
    )
}

/// Reads a finite number (integer or float) within `range`.
pub(crate) fn number(node: &Node, path: &str, range: Range, diags: &mut Diags) -> Option<f64> {
    let x = match node.value {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        Value::BigInt { ref text, .. } => {
            let message = beyond_toml_integers(text, &range.describe());
            diags.error(&node.origin, path, message);
            return None;
        }
        ref other => {
            let expected = range.describe();
            diags.error(
                &node.origin,
                path,
                format!("expected {expected}, found {}", describe(other)),
            );
            return None;
        }
    };
    if !x.is_finite() || !range.contains(x) {
        diags.error(
            &node.origin,
            path,
            format!("expected {}, found {}", range.describe(), show_number(x)),
        );
        return None;
    }
    Some(x)
}

/// Reads an integer in `[min, max]`; floats such as 1.5 are rejected.
pub(crate) fn integer(
    node: &Node,
    path: &str,
    min: i64,
    max: i64,
    diags: &mut Diags,
) -> Option<i64> {
    // An integer key's natural width (u32) is its maximum where none is stated: the message
    // names the bound the value broke.
    let unbounded = max == i64::MAX || max == i64::from(u32::MAX);
    let expected = if unbounded {
        format!("an integer >= {min}")
    } else {
        format!("an integer in [{min}, {max}]")
    };
    match node.value {
        Value::Int(i) if (min..=max).contains(&i) => Some(i),
        Value::Int(i) => {
            let expected = if unbounded && i > max {
                format!("an integer in [{min}, {max}]")
            } else {
                expected
            };
            diags.error(
                &node.origin,
                path,
                format!("expected {expected}, found {i}"),
            );
            None
        }
        Value::BigInt { ref text, .. } => {
            let message = beyond_toml_integers(text, &format!("an integer in [{min}, {max}]"));
            diags.error(&node.origin, path, message);
            None
        }
        ref other => {
            diags.error(
                &node.origin,
                path,
                format!("expected {expected}, found {}", describe(other)),
            );
            None
        }
    }
}

/// Reads an integer in `[0, u64::MAX]` (the seed, which `--seed` takes as a u64): beyond
/// i64, where TOML stops, the literal is read as a u64. `what` names the value in messages.
pub(crate) fn unsigned(node: &Node, path: &str, what: &str, diags: &mut Diags) -> Option<u64> {
    let expected = format!("an integer in [0, {}] ({what})", u64::MAX);
    let found = match &node.value {
        Value::Int(i) => match u64::try_from(*i) {
            Ok(u) => return Some(u),
            Err(_) => i.to_string(),
        },
        Value::BigInt {
            unsigned: Some(u), ..
        } => return Some(*u),
        // Past u64 (or below i64): TOML's signed limit is not the one broken, the range is.
        Value::BigInt { text, .. } => text.clone(),
        other => describe(other),
    };
    diags.error(
        &node.origin,
        path,
        format!("expected {expected}, found {found}"),
    );
    None
}

pub(crate) fn string<'n>(node: &'n Node, path: &str, diags: &mut Diags) -> Option<&'n str> {
    match &node.value {
        Value::Str(s) => Some(s),
        other => {
            diags.error(
                &node.origin,
                path,
                format!("expected a string, found {}", describe(other)),
            );
            None
        }
    }
}

/// Reads a duration string, at least `min` nanoseconds.
pub(crate) fn duration(node: &Node, path: &str, min: Nanos, diags: &mut Diags) -> Option<Nanos> {
    let Value::Str(text) = &node.value else {
        let found = describe(&node.value);
        diags.error(
            &node.origin,
            path,
            format!("{}, found {found}", units::DURATION_EXPECTED),
        );
        return None;
    };
    match units::parse_duration(text) {
        Ok(nanos) if nanos >= min => Some(nanos),
        Ok(_) => {
            let min = units::format_duration(min);
            diags.error(
                &node.origin,
                path,
                format!("expected a duration of at least {min}, found \"{text}\""),
            );
            None
        }
        Err(why) => {
            let message = format!(
                "invalid duration \"{text}\" ({why}), {}",
                units::DURATION_EXPECTED
            );
            diags.error(&node.origin, path, message);
            None
        }
    }
}

/// Reads a rate string ("120/h") as events per second within `range` (per second).
pub(crate) fn rate(node: &Node, path: &str, range: Range, diags: &mut Diags) -> Option<f64> {
    let Value::Str(text) = &node.value else {
        let found = describe(&node.value);
        diags.error(
            &node.origin,
            path,
            format!("{}, found {found}", units::RATE_EXPECTED),
        );
        return None;
    };
    match units::parse_rate(text) {
        Ok(per_s) if per_s.is_finite() && range.contains(per_s) => Some(per_s),
        Ok(per_s) => {
            let expected = range.describe();
            diags.error(
                &node.origin,
                path,
                format!(
                    "expected {expected} per second, found \"{text}\" ({} per second)",
                    show_number(per_s)
                ),
            );
            None
        }
        Err(why) => {
            let message = format!("invalid rate \"{text}\" ({why}), {}", units::RATE_EXPECTED);
            diags.error(&node.origin, path, message);
            None
        }
    }
}

pub(crate) fn size(node: &Node, path: &str, diags: &mut Diags) -> Option<u64> {
    let Value::Str(text) = &node.value else {
        let found = describe(&node.value);
        diags.error(
            &node.origin,
            path,
            format!("{}, found {found}", units::SIZE_EXPECTED),
        );
        return None;
    };
    match units::parse_size(text) {
        Ok(bytes) => Some(bytes),
        Err(why) => {
            diags.error(
                &node.origin,
                path,
                format!("invalid size \"{text}\" ({why}), {}", units::SIZE_EXPECTED),
            );
            None
        }
    }
}

/// One of a fixed set of strings.
pub(crate) fn choice(
    node: &Node,
    path: &str,
    options: &[&'static str],
    diags: &mut Diags,
) -> Option<&'static str> {
    let text = string(node, path, diags)?;
    let found = options.iter().find(|o| **o == text).copied();
    if found.is_none() {
        let hint = hint(text, options.iter().copied());
        let expected = one_of(options.iter().copied());
        diags.error(
            &node.origin,
            path,
            format!("expected {expected}, found \"{text}\"{hint}"),
        );
    }
    found
}

/// A table being read: tracks the keys the schema asked for.
pub(crate) struct Section<'t> {
    table: Option<&'t Table>,
    pub path: String,
    pub origin: Origin,
    known: Vec<&'static str>,
}

impl<'t> Section<'t> {
    /// `node` None means the table is absent: every key takes its default.
    pub(crate) fn open(
        node: Option<&'t Node>,
        path: &str,
        absent: &Origin,
        diags: &mut Diags,
    ) -> Section<'t> {
        let mut section = Section {
            table: None,
            path: path.to_string(),
            origin: absent.clone(),
            known: Vec::new(),
        };
        if let Some(node) = node {
            section.origin = node.origin.clone();
            match &node.value {
                Value::Table(table) => section.table = Some(table),
                other => diags.error(
                    &node.origin,
                    path,
                    format!("expected a table, found {}", describe(other)),
                ),
            }
        }
        section
    }

    /// Whether `key` is in the table (without marking it known).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.get(key).is_some())
    }

    pub(crate) fn is_present(&self) -> bool {
        self.table.is_some()
    }

    /// The raw value of `key`, marking the key as known.
    pub(crate) fn take(&mut self, key: &'static str) -> Option<&'t Node> {
        self.known.push(key);
        self.table.and_then(|t| t.get(key))
    }

    pub(crate) fn key_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Where `key` is, or the table itself when the key is absent.
    pub(crate) fn origin_of(&self, key: &str) -> Origin {
        self.table
            .and_then(|t| t.get(key))
            .map_or_else(|| self.origin.clone(), |n| n.origin.clone())
    }

    /// Of keys whose values conflict (`key` with each of `others`), the one to name in the
    /// error, with its origin: the one given last (`--set` over the file over a default), since
    /// that is the value the user just changed; `key` when none was given later. A sweep
    /// grid's value counts as the file's: the error of a grid point ends with the point's
    /// coordinates (`sweep::point_errors`), which name it. The message should state every
    /// value, whichever key it is filed under.
    pub(crate) fn conflict(&self, key: &str, others: &[&str]) -> (Origin, String) {
        let given = |key: &str| {
            let node = self.table.and_then(|t| t.get(key));
            node.map_or(0, |n| if n.origin.is_override() { 2 } else { 1 })
        };
        let mut blamed = key;
        for &other in others {
            if given(other) > given(blamed) {
                blamed = other;
            }
        }
        (self.origin_of(blamed), self.key_path(blamed))
    }

    /// Reports every key the schema did not ask for.
    pub(crate) fn finish(self, diags: &mut Diags) {
        let Some(table) = self.table else { return };
        for entry in &table.entries {
            if self.known.contains(&entry.key.as_str()) {
                continue;
            }
            let hint = key_hint(&entry.key, &self.known);
            let expected = if self.known.is_empty() {
                "this table takes no keys".to_string()
            } else {
                format!("expected {}", one_of(self.known.iter().copied()))
            };
            diags.error(
                &entry.key_origin,
                &self.key_path(&entry.key),
                format!("unknown key, {expected}{hint}"),
            );
        }
    }

    pub(crate) fn missing(&self, key: &str, expected: &str, diags: &mut Diags) {
        diags.error(
            &self.origin,
            &self.key_path(key),
            format!("missing required key, expected {expected}"),
        );
    }

    pub(crate) fn duration(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: Nanos,
    ) -> Nanos {
        self.duration_min(diags, key, default, 0)
    }

    /// A duration that must be at least `min` (1 for "positive").
    pub(crate) fn duration_min(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: Nanos,
        min: Nanos,
    ) -> Nanos {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| duration(n, &path, min, diags))
            .unwrap_or(default)
    }

    /// A duration of at most `max` (per-event costs, which the model multiplies by counts).
    pub(crate) fn duration_max(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: Nanos,
        max: Nanos,
    ) -> Nanos {
        let path = self.key_path(key);
        let origin = self.origin_of(key);
        let value = self.duration(diags, key, default);
        if value > max {
            let message = format!(
                "expected a duration of at most {} (a cost per history event or page, \
                 multiplied by history lengths), found \"{}\"",
                units::format_duration(max),
                units::format_duration(value)
            );
            diags.error(&origin, &path, message);
            return default;
        }
        value
    }

    /// A size of at most `max` (per-event memory, which the model multiplies by counts).
    pub(crate) fn size_max(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u64,
        max: u64,
    ) -> u64 {
        let expected = format!(
            "at most {} (multiplied by history lengths)",
            units::format_size(max)
        );
        self.size_where(diags, key, default, |value| value <= max, &expected)
    }

    /// A size of at least `min` (a limit that would fail a run at its start below it).
    pub(crate) fn size_min(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u64,
        min: u64,
    ) -> u64 {
        let expected = format!("at least {}", units::format_size(min));
        self.size_where(diags, key, default, |value| value >= min, &expected)
    }

    /// A size that passes `ok`; otherwise an error ("expected a size of {expected}") and the
    /// default.
    fn size_where(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u64,
        ok: impl Fn(u64) -> bool,
        expected: &str,
    ) -> u64 {
        let path = self.key_path(key);
        let origin = self.origin_of(key);
        let value = self.size(diags, key, default);
        if !ok(value) {
            let message = format!(
                "expected a size of {expected}, found \"{}\"",
                units::format_size(value)
            );
            diags.error(&origin, &path, message);
            return default;
        }
        value
    }

    pub(crate) fn duration_required(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        min: Nanos,
    ) -> Option<Nanos> {
        let path = self.key_path(key);
        match self.take(key) {
            Some(node) => duration(node, &path, min, diags),
            None => {
                self.missing(key, "a duration string such as \"30s\"", diags);
                None
            }
        }
    }

    pub(crate) fn size(&mut self, diags: &mut Diags, key: &'static str, default: u64) -> u64 {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| size(n, &path, diags))
            .unwrap_or(default)
    }

    pub(crate) fn number(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: f64,
        range: Range,
    ) -> f64 {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| number(n, &path, range, diags))
            .unwrap_or(default)
    }

    pub(crate) fn number_required(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        range: Range,
    ) -> Option<f64> {
        let path = self.key_path(key);
        match self.take(key) {
            Some(node) => number(node, &path, range, diags),
            None => {
                self.missing(key, &range.describe(), diags);
                None
            }
        }
    }

    /// A required rate given either as a rate string under `key` (`rate = "120/h"`) or as a
    /// number per second under `per_s_key` (`rate_per_s = 0.033`), not both.
    pub(crate) fn rate_required(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        per_s_key: &'static str,
        range: Range,
    ) -> Option<f64> {
        let path = self.key_path(key);
        let per_s_path = self.key_path(per_s_key);
        match (self.take(key), self.take(per_s_key)) {
            (Some(node), None) => rate(node, &path, range, diags),
            (None, Some(node)) => number(node, &per_s_path, range, diags),
            (Some(node), Some(_)) => {
                diags.error(
                    &node.origin,
                    &path,
                    format!("give either {key} or {per_s_key}, not both"),
                );
                None
            }
            (None, None) => {
                let expected = format!(
                    "{key} (a rate string such as \"120/h\") or {per_s_key} ({} per second)",
                    range.describe()
                );
                self.missing(key, &expected, diags);
                None
            }
        }
    }

    pub(crate) fn u32(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u32,
        min: u32,
    ) -> u32 {
        let path = self.key_path(key);
        let value = self
            .take(key)
            .and_then(|n| integer(n, &path, min.into(), u32::MAX.into(), diags));
        value.and_then(|v| u32::try_from(v).ok()).unwrap_or(default)
    }

    /// An integer in `[min, max]`.
    pub(crate) fn u32_in(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u32,
        min: u32,
        max: u32,
    ) -> u32 {
        let path = self.key_path(key);
        let value = self
            .take(key)
            .and_then(|n| integer(n, &path, min.into(), max.into(), diags));
        value.and_then(|v| u32::try_from(v).ok()).unwrap_or(default)
    }

    /// An optional integer in `[min, max]`: None when absent.
    pub(crate) fn u32_optional(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        min: u32,
        max: u32,
    ) -> Option<u32> {
        let path = self.key_path(key);
        let value = self
            .take(key)
            .and_then(|n| integer(n, &path, min.into(), max.into(), diags));
        value.and_then(|v| u32::try_from(v).ok())
    }

    pub(crate) fn u64(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u64,
        min: u64,
    ) -> u64 {
        let path = self.key_path(key);
        let min = i64::try_from(min).unwrap_or(i64::MAX);
        let value = self
            .take(key)
            .and_then(|n| integer(n, &path, min, i64::MAX, diags));
        value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default)
    }

    /// Any u64 (the seed): see `unsigned`.
    pub(crate) fn u64_any(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        what: &str,
        default: u64,
    ) -> u64 {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| unsigned(n, &path, what, diags))
            .unwrap_or(default)
    }

    /// An integer in `[min, max]`.
    pub(crate) fn u64_in(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let path = self.key_path(key);
        let (min, max) = (
            i64::try_from(min).unwrap_or(i64::MAX),
            i64::try_from(max).unwrap_or(i64::MAX),
        );
        let value = self
            .take(key)
            .and_then(|n| integer(n, &path, min, max, diags));
        value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default)
    }

    /// An optional duration of at least `min`: None when absent.
    pub(crate) fn duration_optional(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        min: Nanos,
    ) -> Option<Nanos> {
        let path = self.key_path(key);
        self.take(key).and_then(|n| duration(n, &path, min, diags))
    }

    /// An optional number within `range`: None when absent.
    pub(crate) fn number_optional(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        range: Range,
    ) -> Option<f64> {
        let path = self.key_path(key);
        self.take(key).and_then(|n| number(n, &path, range, diags))
    }

    pub(crate) fn bool(&mut self, diags: &mut Diags, key: &'static str, default: bool) -> bool {
        let path = self.key_path(key);
        match self.take(key) {
            None => default,
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => *b,
            Some(node) => {
                let message = format!("expected true or false, found {}", describe(&node.value));
                diags.error(&node.origin, &path, message);
                default
            }
        }
    }

    pub(crate) fn string(&mut self, diags: &mut Diags, key: &'static str) -> Option<String> {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| string(n, &path, diags))
            .map(str::to_string)
    }

    pub(crate) fn choice(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        options: &[&'static str],
    ) -> Option<&'static str> {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| choice(n, &path, options, diags))
    }

    /// A required `kind` key choosing among `options`.
    pub(crate) fn kind(
        &mut self,
        diags: &mut Diags,
        options: &[&'static str],
    ) -> Option<&'static str> {
        if self.table.is_some_and(|t| t.get("kind").is_none()) {
            self.missing("kind", &one_of(options.iter().copied()), diags);
        }
        self.choice(diags, "kind", options)
    }

    pub(crate) fn dist(
        &mut self,
        diags: &mut Diags,
        key: &'static str,
        quantity: Quantity,
        files: Files<'_>,
    ) -> Option<Dist> {
        let path = self.key_path(key);
        self.take(key)
            .and_then(|n| dist(n, &path, quantity, files, diags))
    }
}

/// What a distribution is over: its parameters are duration strings or plain numbers.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Quantity {
    Duration,
    Count,
}

const DURATION_KINDS: [&str; 5] = [
    "constant",
    "exponential",
    "lognormal",
    "uniform",
    "empirical",
];
const COUNT_KINDS: [&str; 6] = [
    "constant",
    "exponential",
    "lognormal",
    "uniform",
    "geometric",
    "empirical",
];

/// Reads one distribution parameter in base units (seconds or counts).
fn parameter(
    section: &mut Section<'_>,
    key: &'static str,
    quantity: Quantity,
    positive: bool,
    diags: &mut Diags,
) -> Option<f64> {
    let path = section.key_path(key);
    let Some(node) = section.take(key) else {
        let expected = match quantity {
            Quantity::Duration => "a duration string such as \"1s\"",
            Quantity::Count if positive => "a number > 0",
            Quantity::Count => "a number >= 0",
        };
        section.missing(key, expected, diags);
        return None;
    };
    match quantity {
        Quantity::Duration => {
            let nanos = duration(node, &path, u64::from(positive), diags)?;
            Some(nanos as f64 / NANOS_PER_SECOND)
        }
        Quantity::Count => number(
            node,
            &path,
            if positive {
                positive_up_to(COUNT_MAX)
            } else {
                closed(0.0, COUNT_MAX)
            },
            diags,
        ),
    }
}

/// `{ kind = "...", ... }` for durations (parameters are duration strings) or counts.
pub(crate) fn dist(
    node: &Node,
    path: &str,
    quantity: Quantity,
    files: Files<'_>,
    diags: &mut Diags,
) -> Option<Dist> {
    if !matches!(node.value, Value::Table(_)) {
        let example = match quantity {
            Quantity::Duration => "{ kind = \"exponential\", mean = \"1s\" }",
            Quantity::Count => "{ kind = \"geometric\", mean = 5 }",
        };
        diags.error(
            &node.origin,
            path,
            format!(
                "expected a distribution table such as {example}, found {}",
                describe(&node.value)
            ),
        );
        return None;
    }
    let mut section = Section::open(Some(node), path, &node.origin, diags);
    let kinds: &[&'static str] = match quantity {
        Quantity::Duration => &DURATION_KINDS,
        Quantity::Count => &COUNT_KINDS,
    };
    let kind = section.kind(diags, kinds)?;
    let dist = dist_of_kind(&mut section, kind, quantity, files, diags);
    section.finish(diags);
    dist
}

fn dist_of_kind(
    section: &mut Section<'_>,
    kind: &str,
    quantity: Quantity,
    files: Files<'_>,
    diags: &mut Diags,
) -> Option<Dist> {
    match kind {
        "constant" => Some(Dist::Constant {
            value: parameter(section, "value", quantity, false, diags)?,
        }),
        "exponential" => Some(Dist::Exponential {
            mean: parameter(section, "mean", quantity, true, diags)?,
        }),
        "lognormal" => {
            let median = parameter(section, "median", quantity, true, diags);
            let p99 = parameter(section, "p99", quantity, true, diags);
            let (median, p99) = (median?, p99?);
            if median >= p99 {
                let message = format!(
                    "p99 must be greater than the median ({}), found {}",
                    show(median, quantity),
                    show(p99, quantity)
                );
                let (origin, path) = section.conflict("p99", &["median"]);
                diags.error(&origin, &path, message);
                return None;
            }
            Some(Dist::lognormal(median, p99))
        }
        "uniform" => {
            let min = parameter(section, "min", quantity, false, diags);
            let max = parameter(section, "max", quantity, false, diags);
            let (min, max) = (min?, max?);
            if min > max {
                let message = format!(
                    "min ({}) must not exceed max ({})",
                    show(min, quantity),
                    show(max, quantity)
                );
                let (origin, path) = section.conflict("min", &["max"]);
                diags.error(&origin, &path, message);
                return None;
            }
            Some(Dist::Uniform { min, max })
        }
        "geometric" => {
            let path = section.key_path("mean");
            let mean = parameter(section, "mean", quantity, true, diags)?;
            if mean < 1.0 {
                diags.error(
                    &section.origin_of("mean"),
                    &path,
                    format!("expected a number >= 1 (a count of trials), found {mean}"),
                );
                return None;
            }
            Some(Dist::Geometric { mean })
        }
        _ => empirical(section, quantity, files, diags),
    }
}

fn empirical(
    section: &mut Section<'_>,
    quantity: Quantity,
    files: Files<'_>,
    diags: &mut Diags,
) -> Option<Dist> {
    let path = section.key_path("csv");
    let Some(node) = section.take("csv") else {
        section.missing("csv", "a path to a one-column CSV file", diags);
        return None;
    };
    let csv = string(node, &path, diags)?;
    let origin = node.origin.clone();
    let joined = absolute(&files.dir.join(csv));
    let column = match quantity {
        Quantity::Duration => Column::Durations,
        Quantity::Count => Column::Numbers,
    };
    let values = files.cache.column(&joined, column, &origin, &path, diags)?;
    Some(Dist::Empirical {
        csv: joined,
        values,
    })
}

/// A value for messages: a duration string for durations, the number for counts.
fn show(value: f64, quantity: Quantity) -> String {
    match quantity {
        Quantity::Duration => units::format_duration(super::config::seconds_to_nanos(value)),
        Quantity::Count => value.to_string(),
    }
}

/// Where a scenario's CSV files are: the folder relative paths start from, and the columns
/// already read from them.
#[derive(Clone, Copy)]
pub(crate) struct Files<'a> {
    pub dir: &'a Path,
    pub cache: &'a CsvCache,
}

/// The CSV columns (empirical distributions, arrival traces) read for one scenario file, shared
/// by every resolution of it: each grid point of a sweep and each timeline phase holds the same
/// values, read and parsed once (a 1 M-row trace swept over 200 points took 1.6 GB and 200
/// parses when each point read its own). Only columns that loaded are kept: a file that failed
/// is read again, and reported again, by the next resolution that asks for it.
#[derive(Default)]
pub(crate) struct CsvCache {
    columns: Mutex<HashMap<ColumnKey, Arc<[f64]>>>,
    /// Traces, by absolute path.
    arrivals: Mutex<HashMap<String, Arc<[Nanos]>>>,
}

impl std::fmt::Debug for CsvCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let columns = lock(&self.columns).len();
        let traces = lock(&self.arrivals).len();
        write!(f, "CsvCache {{ columns: {columns}, traces: {traces} }}")
    }
}

/// A column's absolute path and how its cells are read.
type ColumnKey = (String, Column);

/// A cache's map; a panic while it was held (none is expected) leaves nothing half-written in
/// it, since entries are inserted whole, so a poisoned lock is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CsvCache {
    /// `file`'s values as `load_column` reads them, from the cache when an earlier resolution
    /// read them. The lock is held while a file is read, so grid points resolving in parallel
    /// read it once between them, not once each at the same time.
    pub(crate) fn column(
        &self,
        file: &str,
        column: Column,
        origin: &Origin,
        path: &str,
        diags: &mut Diags,
    ) -> Option<Arc<[f64]>> {
        let mut columns = lock(&self.columns);
        let key = (file.to_string(), column);
        if let Some(values) = columns.get(&key) {
            return Some(Arc::clone(values));
        }
        let values: Arc<[f64]> = load_column(file, column, origin, path, diags)?.into();
        columns.insert(key, Arc::clone(&values));
        Some(values)
    }

    /// A trace's arrival times, sorted, from `file`'s column of durations or seconds.
    pub(crate) fn arrivals(
        &self,
        file: &str,
        origin: &Origin,
        path: &str,
        diags: &mut Diags,
    ) -> Option<Arc<[Nanos]>> {
        let mut traces = lock(&self.arrivals);
        if let Some(arrivals) = traces.get(file) {
            return Some(Arc::clone(arrivals));
        }
        // Read directly, not through `column`: only the arrival times are kept.
        let seconds = load_column(file, Column::DurationsOrSeconds, origin, path, diags)?;
        let mut arrivals: Vec<Nanos> = seconds
            .into_iter()
            .map(super::config::seconds_to_nanos)
            .collect();
        arrivals.sort_unstable();
        let arrivals: Arc<[Nanos]> = arrivals.into();
        traces.insert(file.to_string(), Arc::clone(&arrivals));
        Some(arrivals)
    }
}

/// What a one-column CSV holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Column {
    /// Duration strings only, in seconds.
    Durations,
    /// Duration strings or bare seconds, in seconds.
    DurationsOrSeconds,
    /// Non-negative numbers.
    Numbers,
}

/// Loads a one-column CSV (a header row is optional, see `is_header`). Errors point at the CSV
/// row; a missing file points at the scenario key that names it.
pub(crate) fn load_column(
    file: &str,
    column: Column,
    origin: &Origin,
    path: &str,
    diags: &mut Diags,
) -> Option<Vec<f64>> {
    let max = super::limits::MAX_CSV_FILE_BYTES;
    let bytes = match super::read_input_file(Path::new(file), max) {
        Ok(bytes) => bytes,
        Err(why) => {
            diags.error(origin, path, format!("cannot read \"{file}\": {why}"));
            return None;
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(error) => {
            let location = match super::raw::origin_of_offset(&bytes, error.valid_up_to()) {
                Origin::File { line, .. } => Origin::Csv {
                    file: file.to_string(),
                    line,
                },
                other => other,
            };
            diags.error(&location, path, "invalid utf-8, expected a text file");
            return None;
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut values = Vec::new();
    let mut failed = false;
    for (index, line) in text.lines().enumerate() {
        let cell = line.trim().trim_matches('"').trim();
        if cell.is_empty() {
            continue;
        }
        if values.len() >= super::limits::MAX_CSV_ROWS {
            let message = format!(
                "\"{file}\" has more than the limit of {} values (a fixed limit of sim)",
                super::limits::MAX_CSV_ROWS
            );
            diags.error(origin, path, message);
            return None;
        }
        match parse_cell(cell, column) {
            Ok(value) => values.push(value),
            Err(_) if index == 0 && is_header(cell) => {}
            Err(why) => {
                failed = true;
                let location = Origin::Csv {
                    file: file.to_string(),
                    line: index + 1,
                };
                diags.error(&location, path, format!("\"{cell}\": {why}"));
            }
        }
    }
    if values.is_empty() && !failed {
        diags.error(
            origin,
            path,
            format!("\"{file}\" has no values, expected one value per row"),
        );
        return None;
    }
    if failed { None } else { Some(values) }
}

/// Whether a first row that is not a value is a header: only when it is not an attempt at one.
/// A number of any kind (out of range, or "nan", "inf", "infinity" in any case, which Rust
/// parses) or a cell that starts like one ("-1", "1e999s", "1,2") is a bad value, reported with
/// its line as it would be on line 2.
fn is_header(cell: &str) -> bool {
    let starts_like_a_number = cell.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c));
    cell.parse::<f64>().is_err() && !starts_like_a_number
}

fn parse_cell(cell: &str, column: Column) -> Result<f64, String> {
    if cell.contains(',') {
        return Err("expected one column".into());
    }
    let seconds = |nanos: Nanos| nanos as f64 / NANOS_PER_SECOND;
    let number = |cell: &str| -> Result<f64, String> {
        match cell.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=COUNT_MAX).contains(&x) => Ok(x),
            _ => Err("expected a number in [0, 1000000000]".into()),
        }
    };
    match column {
        Column::Numbers => number(cell),
        Column::Durations => units::parse_duration(cell)
            .map(seconds)
            .map_err(|why| format!("invalid duration ({why}), {}", units::DURATION_EXPECTED)),
        // A cell that is a number is seconds: out of range, it is that number that is wrong
        // ("1e10" is not a duration with the unit "e").
        Column::DurationsOrSeconds if cell.parse::<f64>().is_ok() => number(cell)
            .map_err(|_| "expected seconds in [0, 1000000000] or a duration string".to_string()),
        Column::DurationsOrSeconds => number(cell).or_else(|_| {
            units::parse_duration(cell).map(seconds).map_err(|why| {
                format!(
                    "invalid time ({why}), expected seconds or a duration string such as \"12.5s\""
                )
            })
        }),
    }
}
