//! sim: a deterministic discrete-event simulator for capacity planning of LLM agent fleets.
//!
//! `engine` is the domain-free event loop, `model` the agent fleet, `scenario` the TOML input,
//! `metrics` what a run measures and reports, `output` the files and figures. See
//! ARCHITECTURE.md for the map and its invariants.

pub mod engine;
pub mod metrics;
pub mod model;
pub mod output;
pub mod progress;
pub mod scenario;
pub mod sweep;

/// The program version recorded in every output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This build of the program: the first 16 hex digits of the SHA-256 of the running
/// executable, or `unknown` when it cannot be read. The version names a release, and a build
/// from source between two releases keeps the last one's; a sweep's `--resume` reuses only the
/// saved runs of the same build, so runs of an older model are never mixed with a newer one's.
/// Read once per process: tens of milliseconds for the 29 MB release binary.
pub fn build_id() -> &'static str {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD.get_or_init(|| {
        std::env::current_exe().and_then(std::fs::read).map_or_else(
            |_| "unknown".into(),
            |bytes| output::set::sha256_hex(&bytes)[..16].to_string(),
        )
    })
}
