//! The value of one dotted key (as `--set` names it) in a resolved scenario, defaults included:
//! read from the scenario written back as TOML (`to_resolved_toml`), which has the file's shape.
//! `sim headroom` starts its search from it.

use super::Scenario;
use super::diag::Diags;
use super::raw::{Value, describe, parse_document};

/// A numeric setting's value and whether the key takes integers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyNumber {
    pub value: f64,
    pub integer: bool,
}

/// Why a key has no number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// The resolved scenario has no such key: for a misspelt one, the loader's did-you-mean
    /// message (the key set to anything) says more.
    Missing,
    /// The key holds something else (a duration, a size, a string): what it holds, as a
    /// message naming the key.
    NotANumber(String),
}

/// The number `key` holds in `scenario`, or why not.
pub fn resolved_number(scenario: &Scenario, key: &str) -> Result<KeyNumber, LookupError> {
    let text = super::to_resolved_toml(scenario);
    let mut diags = Diags::new("scenario.resolved.toml".to_string());
    let root = parse_document(&text, &mut diags).ok_or(LookupError::Missing)?;
    let mut node = &root;
    // Segments as `--set` reads them (a quoted one whole); a malformed key is missing here,
    // and the loader says what is wrong with it.
    let segments = super::raw::key_segments(key).map_err(|_| LookupError::Missing)?;
    for segment in segments.iter().map(String::as_str) {
        node = match &node.value {
            Value::Table(table) => table.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or(LookupError::Missing)?;
    }
    match &node.value {
        Value::Int(i) => Ok(KeyNumber {
            value: *i as f64,
            integer: true,
        }),
        Value::Float(f) => Ok(KeyNumber {
            value: *f,
            integer: false,
        }),
        other => Err(LookupError::NotANumber(format!(
            "{key}: expected a key that holds a number (an integer or a float, such as \
             traffic.multiplier or temporal.max_concurrent_activities), found {}",
            describe(other)
        ))),
    }
}
