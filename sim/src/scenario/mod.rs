//! Scenario files: TOML in, strict validation with located diagnostics, defaults applied, the
//! resolved `Scenario` out (and back to TOML for `scenario.resolved.toml`).

mod agent;
mod autoscaler;
pub mod config;
mod diag;
pub mod fuzz;
pub mod limits;
mod raw;
mod read;
mod resolve;
mod schema;
mod serving;
pub mod templates;
mod timeline;
mod units;
mod warnings;
mod write;

#[cfg(test)]
mod tests;

pub use config::*;
pub use schema::schema_json;
pub use units::{MAX_SIZE_BYTES, format_duration, format_size, parse_duration, parse_size};
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
    let file = path.display().to_string();
    let mut diags = diag::Diags::new(file);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let origin = raw::origin_of_offset(bytes, error.valid_up_to());
            diags.error(
                &origin,
                "",
                "invalid utf-8: a scenario file must be UTF-8 text",
            );
            return Err(ScenarioErrors {
                messages: diags.into_messages(),
            });
        }
    };
    if bytes.len() > limits::MAX_SCENARIO_FILE_BYTES {
        diags.error(
            &diag::Origin::Whole,
            "",
            limits::file_too_large(bytes.len()),
        );
        return Err(ScenarioErrors {
            messages: diags.into_messages(),
        });
    }
    let Some(mut root) = raw::parse_document(text, &mut diags) else {
        return Err(ScenarioErrors {
            messages: diags.into_messages(),
        });
    };
    for argument in overrides {
        raw::apply_override(&mut root, argument, &mut diags);
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(""));
    let cx = resolve::Context { dir, stem: &stem };
    let scenario = if limits::check_raw(&root, bytes.len(), &mut diags) {
        let scenario = resolve::resolve(&root, &cx, &mut diags, resolve::WithTimeline::Yes);
        if diags.is_empty() {
            limits::check_resolved(&scenario, &mut diags);
        }
        Some(scenario)
    } else {
        None
    };
    match scenario {
        Some(scenario) if diags.is_empty() => Ok(scenario),
        _ => Err(ScenarioErrors {
            messages: diags.into_messages(),
        }),
    }
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
