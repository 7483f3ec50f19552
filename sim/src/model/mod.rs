//! The agent fleet: traffic, conversations, Temporal workflows and workers, instances,
//! autoscalers, LLM providers and cost.

use crate::metrics::report::RunOutput;
use crate::scenario::Scenario;

/// Why a run could not finish.
#[derive(Debug)]
pub enum RunError {
    /// A hard limit (events, open conversations) was reached.
    LimitReached(String),
    /// An end-of-run checker failed: a bug in the model.
    CheckFailed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::LimitReached(why) => write!(f, "limit reached: {why}"),
            RunError::CheckFailed(why) => write!(f, "end-of-run check failed: {why}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs one scenario with its own seed.
pub fn run(scenario: &Scenario) -> Result<RunOutput, RunError> {
    let _ = scenario;
    Err(RunError::LimitReached("the model is not built yet".into()))
}
