//! `Parallel`: fan-out and join. Every branch starts at once (a fixed list, or `width` copies of
//! a template, the width drawn per run from a workload stream); the join succeeds when
//! `wait_for` branches (default all) have succeeded. With `on_branch_failure = "fail"` the
//! first failed branch fails the step; with `"continue"` failed branches are dropped and the
//! step fails only if none succeeded. Branches still running when the join has decided are
//! abandoned: they run on, their results are ignored (as with a Temporal activity that is not
//! awaited). With `child_workflow`, each branch runs in a child workflow of its own.

use super::{NodeKind, occurrence};
use crate::model::Model;
use crate::model::state::*;
use crate::scenario::BranchFailure;
use crate::scenario::MAX_BRANCHES;

impl Model {
    pub(in crate::model) fn parallel_start(&mut self, frame: u32) {
        let f = &self.frames[frame];
        let NodeKind::Parallel {
            branches, width, ..
        } = &self.program.nodes[f.node as usize].kind
        else {
            unreachable!("a parallel frame")
        };
        let total = match width {
            Some(width) => self.draw_count(frame, width, MAX_BRANCHES),
            None => branches.len() as u32,
        };
        // Every branch counts as running before any starts, so a branch that finishes at once
        // cannot make the join decide before its siblings exist.
        let f = &mut self.frames[frame];
        f.total = total;
        f.running = total;
        self.stats.branches_started += total as u64;
        if total == 0 {
            self.report(frame, true);
            return;
        }
        for index in 0..total {
            let f = &self.frames[frame];
            if f.finished {
                // Decided already: the branches not started yet never run.
                let unstarted = total - index;
                self.stats.branches_started = (self.stats.branches_started)
                    .checked_sub(unstarted as u64)
                    .expect("branches_started counts the branches started");
                let f = &mut self.frames[frame];
                f.running = (f.running.checked_sub(unstarted))
                    .expect("a frame's running counts its children not finished");
                if self.frames[frame].running == 0 {
                    self.frames.remove(frame);
                }
                return;
            }
            let NodeKind::Parallel {
                branches,
                width,
                child_workflow,
                ..
            } = &self.program.nodes[f.node as usize].kind
            else {
                unreachable!("a parallel frame")
            };
            let branch = if width.is_some() {
                branches[0]
            } else {
                branches[index as usize]
            };
            let child_workflow = *child_workflow;
            let (wf, generation, key) = (f.wf, f.generation, occurrence(f.key, index as u64));
            if child_workflow {
                self.start_branch_workflow(wf, frame, generation, branch, key);
            } else {
                self.start_node(wf, frame, generation, branch, key);
            }
        }
    }

    pub(in crate::model) fn parallel_child_done(&mut self, frame: u32, signal: Signal) {
        let Signal::Done { ok, .. } = signal else {
            return;
        };
        let f = &mut self.frames[frame];
        if ok {
            f.succeeded += 1;
            self.stats.branches_succeeded += 1;
        } else {
            f.failed += 1;
            self.stats.branches_failed += 1;
        }
        let NodeKind::Parallel {
            wait_for,
            on_branch_failure,
            ..
        } = &self.program.nodes[f.node as usize].kind
        else {
            unreachable!("a parallel frame")
        };
        let needed = wait_for.map_or(f.total, |k| k.min(f.total));
        if !ok && *on_branch_failure == BranchFailure::Fail {
            self.report(frame, false);
        } else if f.succeeded >= needed {
            self.report(frame, true);
        } else if f.running == 0 {
            let ok = f.succeeded > 0;
            self.report(frame, ok);
        }
    }

    /// Starts a branch as a child workflow of `parent_wf`, reporting to `frame`.
    fn start_branch_workflow(
        &mut self,
        parent_wf: u32,
        frame: u32,
        frame_gen: u32,
        branch: u32,
        key: u64,
    ) {
        let p = &self.wfs[parent_wf];
        let (conv, conv_index, parent_gen, workload) =
            (p.conv, p.conv_index, p.generation, p.workload);
        let WorkflowKind::Child { turn, .. } = p.kind else {
            unreachable!("programs run in child workflows")
        };
        let child = self.wfs.insert_with(|previous| {
            let mut wf = Workflow::new(
                WorkflowKind::Child {
                    parent: parent_wf,
                    turn,
                },
                conv,
                conv_index,
                previous,
            );
            wf.workload = workload;
            wf.history_events = 1; // WorkflowExecutionStarted
            wf.inbox = INBOX_START;
            wf.program_node = branch;
            wf.program_key = key;
            wf.report_frame = frame;
            wf.report_frame_gen = frame_gen;
            wf.parent_gen = parent_gen;
            wf
        });
        // StartChildWorkflowExecutionInitiated and ChildWorkflowExecutionStarted.
        self.wfs[parent_wf].history_events += 2;
        self.schedule_workflow_task(child);
    }
}
