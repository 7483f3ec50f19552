//! Warnings: what a valid scenario says that is probably not what its author meant. `sim
//! validate` and `sim run` print them on stderr and carry on (the exit code is unchanged).
//!
//! An unused provider group is a warning, not an error: a sweep grid or a `--set` may switch a
//! step between groups (`--grid agent.steps.0.group=main,fast`), leaving one of them unused at
//! each point on purpose.

use super::config::{Action, Scenario, Step, StepKind};

/// The warnings of a resolved scenario, each as `dotted.key: what, what to do`.
pub fn warnings(scenario: &Scenario) -> Vec<String> {
    let mut used = vec![false; scenario.provider_groups.len()];
    mark_used_groups(scenario, &mut used);
    for intervention in &scenario.timeline {
        if let Action::Set { effective, .. } = &intervention.action {
            mark_used_groups(effective, &mut used);
        }
    }
    scenario
        .provider_groups
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(group, _)| {
            format!(
                "provider_groups.{}: no llm step uses this group (group = \"{}\"); remove it, \
                 or check the steps' group names",
                group.name, group.name
            )
        })
        .collect()
}

/// Marks the groups that some step of some workload of `scenario` calls.
fn mark_used_groups(scenario: &Scenario, used: &mut [bool]) {
    for workload in &scenario.workloads {
        mark_steps(&workload.agent.steps, used);
    }
}

fn mark_steps(steps: &[Step], used: &mut [bool]) {
    for step in steps {
        match &step.kind {
            StepKind::Llm { group_index, .. } => {
                if let Some(slot) = used.get_mut(*group_index) {
                    *slot = true;
                }
            }
            StepKind::Tool { .. } => {}
            StepKind::Parallel(parallel) => {
                for branch in &parallel.branches {
                    mark_steps(&branch.steps, used);
                }
            }
            StepKind::Repeat { steps, .. } => mark_steps(steps, used),
            StepKind::Choice { options } => {
                for option in options {
                    mark_steps(&option.steps, used);
                }
            }
        }
        if let Some(on_failure) = &step.on_failure {
            mark_steps(&on_failure.steps, used);
        }
    }
}
