//! Scenario files: TOML in, strict validation with located diagnostics, defaults applied, the
//! resolved `Scenario` out (and back to TOML for `scenario.resolved.toml`).

mod agent;
pub mod config;
mod diag;
mod raw;
mod read;
mod resolve;
mod timeline;
mod units;
mod write;

#[cfg(test)]
mod tests;

pub use config::*;

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
/// `"dotted.key=value"`, validated like the file's own keys).
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioErrors {
        messages: vec![format!("{file}: cannot read scenario file: {error}")],
    })?;
    let mut diags = diag::Diags::new(file);
    let Some(mut root) = raw::parse_document(&text, &mut diags) else {
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
    let scenario = resolve::resolve(&root, &cx, &mut diags, resolve::WithTimeline::Yes);
    if diags.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioErrors {
            messages: diags.into_messages(),
        })
    }
}

/// The resolved scenario as TOML, with human units, loadable by `load`.
pub fn to_resolved_toml(scenario: &Scenario) -> String {
    write::to_resolved_toml(scenario)
}
