//! Output files: `summary.json`, `timeseries.csv`, `events.csv`, `scenario.resolved.toml` and
//! the figures, each written atomically.

pub mod plot;
