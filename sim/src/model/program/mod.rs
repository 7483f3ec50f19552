//! A turn's program: the agent's steps compiled into a tree of nodes (activities and the
//! composite kinds that arrange them), and the frames that run it.
//!
//! A response child (or a branch child) runs one node of the program: its root. Starting a node
//! either schedules an activity (a leaf) or allocates a `Frame` (a composite node, or the
//! on-failure wrapper of any node). A finished child reports to its frame with a `Signal`;
//! results that come from outside the workflow (activities, branch children) reach the frame
//! only through a workflow task of the frame's workflow, as in Temporal. A frame that has
//! finished reports to its parent frame at once, within the same task; the root's outcome
//! completes the workflow.
//!
//! Each composite kind keeps its rules in its own file; this file owns the frames' lifecycle
//! and the dispatch. Nothing here allocates per event: frames live in a slab.

mod sequence;

use super::Model;
use super::state::*;
use crate::engine::rng;
use crate::scenario::{Agent, Step, StepKind};

/// The compiled program. Node ids are stable for a given shape of `[[agent.steps]]`, so a
/// timeline `set` (which cannot change the shape) recompiles it in place.
#[derive(Clone, Debug)]
pub struct Program {
    pub nodes: Vec<Node>,
    /// The turn's top-level sequence.
    pub root: u32,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A leaf step: one activity (its settings as resolved).
    Activity(Box<Step>),
    /// Children run one after another.
    Sequence { children: Vec<u32> },
}

impl Program {
    pub fn compile(agent: &Agent) -> Program {
        let mut program = Program {
            nodes: Vec::new(),
            root: 0,
        };
        program.root = program.sequence(&agent.steps);
        program
    }

    fn push(&mut self, kind: NodeKind) -> u32 {
        self.nodes.push(Node { kind });
        (self.nodes.len() - 1) as u32
    }

    fn sequence(&mut self, steps: &[Step]) -> u32 {
        let children = steps.iter().map(|step| self.step(step)).collect();
        self.push(NodeKind::Sequence { children })
    }

    fn step(&mut self, step: &Step) -> u32 {
        match &step.kind {
            StepKind::Llm { .. } | StepKind::Tool { .. } => {
                self.push(NodeKind::Activity(Box::new(step.clone())))
            }
        }
    }

    /// The leaf step of an activity node.
    pub fn step_of(&self, node: u32) -> &Step {
        match &self.nodes[node as usize].kind {
            NodeKind::Activity(step) => step,
            other => unreachable!("node {node} is not an activity: {other:?}"),
        }
    }
}

/// The draw key of a frame's `index`-th child. The top-level sequence has key 0 and gives its
/// children their position (so a plain list of steps draws exactly as it always has); nested
/// keys are mixed and tagged with the top bit, so they never collide with a position.
pub fn occurrence(frame_key: u64, index: u64) -> u64 {
    if frame_key == 0 {
        index
    } else {
        rng::mix64(frame_key ^ rng::mix64(index.wrapping_add(1))) | 1 << 63
    }
}

impl Model {
    /// Runs the program node of child workflow `wf` (its first task has just run).
    pub(super) fn start_program(&mut self, wf: u32) {
        let (node, key) = (self.wfs[wf].program_node, self.wfs[wf].program_key);
        self.start_node(wf, NONE, 0, node, key);
    }

    /// Starts `node` in workflow `wf` as a child of `parent` (NONE: the workflow's root), with
    /// draw key `key`.
    pub(super) fn start_node(
        &mut self,
        wf: u32,
        parent: u32,
        parent_gen: u32,
        node: u32,
        key: u64,
    ) {
        match &self.program.nodes[node as usize].kind {
            NodeKind::Activity(_) => self.schedule_activity(wf, parent, parent_gen, node, key),
            NodeKind::Sequence { .. } => {
                let frame = self.allocate_frame(wf, parent, parent_gen, node, false, key);
                self.sequence_start(frame);
            }
        }
    }

    fn allocate_frame(
        &mut self,
        wf: u32,
        parent: u32,
        parent_gen: u32,
        node: u32,
        wrapper: bool,
        key: u64,
    ) -> u32 {
        let now = self.now();
        self.frames.insert_with(|previous| Frame {
            generation: previous.map_or(0, |p| p.generation.wrapping_add(1)),
            node,
            wrapper,
            wf,
            parent,
            parent_gen,
            key,
            started_at: now,
            position: 0,
            total: 0,
            running: 0,
            succeeded: 0,
            failed: 0,
            finished: false,
        })
    }

    /// Starts the `index`-th child of `frame`: the node `child`, counted as running.
    pub(super) fn start_child(&mut self, frame: u32, child: u32, index: u64) {
        let f = &mut self.frames[frame];
        f.running += 1;
        let (wf, generation) = (f.wf, f.generation);
        let key = occurrence(f.key, index);
        self.start_node(wf, frame, generation, child, key);
    }

    /// A child of `frame` finished. Results from outside the workflow arrive here through the
    /// workflow's task; a child frame calls it directly.
    pub(super) fn deliver(&mut self, frame: u32, frame_gen: u32, signal: Signal) {
        if !self.frames.is_live(frame) || self.frames[frame].generation != frame_gen {
            return;
        }
        let Signal::Done { .. } = signal;
        let f = &mut self.frames[frame];
        f.running -= 1;
        if f.finished {
            // A straggler of a frame that has reported already.
            if f.running == 0 {
                self.frames.remove(frame);
            }
            return;
        }
        let node = f.node;
        match &self.program.nodes[node as usize].kind {
            NodeKind::Sequence { .. } => self.sequence_child_done(frame, signal),
            NodeKind::Activity(_) => unreachable!("activities have no frame"),
        }
    }

    /// A child of `frame` finished after `frame`'s workflow completed: nothing can run any
    /// more; free the frames that have nothing left running.
    pub(super) fn deliver_orphan(&mut self, frame: u32, frame_gen: u32) {
        let (mut frame, mut frame_gen) = (frame, frame_gen);
        while frame != NONE
            && self.frames.is_live(frame)
            && self.frames[frame].generation == frame_gen
        {
            let f = &mut self.frames[frame];
            f.running -= 1;
            if f.running > 0 {
                return;
            }
            let (parent, parent_gen, finished) = (f.parent, f.parent_gen, f.finished);
            self.frames.remove(frame);
            if finished {
                // It reported before: its parent no longer counts it.
                return;
            }
            (frame, frame_gen) = (parent, parent_gen);
        }
    }

    /// `frame` is done: free it (or keep it for its stragglers) and tell its parent, or end the
    /// workflow's program.
    pub(super) fn report(&mut self, frame: u32, ok: bool) {
        let f = &mut self.frames[frame];
        let (wf, parent, parent_gen) = (f.wf, f.parent, f.parent_gen);
        if f.running == 0 {
            self.frames.remove(frame);
        } else {
            f.finished = true;
        }
        self.report_to(wf, parent, parent_gen, ok);
    }

    /// Tells `parent` (or, when NONE, the workflow) that a child finished with `ok`.
    pub(super) fn report_to(&mut self, wf: u32, parent: u32, parent_gen: u32, ok: bool) {
        if parent == NONE {
            self.wfs[wf].program_outcome = Some(ok);
        } else {
            self.deliver(parent, parent_gen, Signal::Done { ok });
        }
    }

    // ----- completions: results that wait for a workflow task -----

    /// Queues `signal` for `frame` in `wf`'s completion list and makes sure a workflow task
    /// will process it.
    pub(super) fn complete_into(&mut self, wf: u32, frame: u32, frame_gen: u32, signal: Signal) {
        let completion = self.completions.insert_with(|_| Completion {
            frame,
            frame_gen,
            signal,
            next: NONE,
        });
        let list = self.wfs[wf].completions;
        if list.tail == NONE {
            self.wfs[wf].completions.head = completion;
        } else {
            self.completions[list.tail].next = completion;
        }
        self.wfs[wf].completions.tail = completion;
        self.wfs[wf].inbox |= INBOX_COMPLETIONS;
        self.schedule_workflow_task(wf);
    }

    /// Delivers the completions the finished task of `wf` was processing, in arrival order.
    pub(super) fn process_completions(&mut self, wf: u32) {
        let mut next = std::mem::replace(
            &mut self.wfs[wf].processing_completions,
            CompletionList::EMPTY,
        )
        .head;
        while next != NONE {
            let c = self.completions[next];
            self.completions.remove(next);
            next = c.next;
            self.deliver(c.frame, c.frame_gen, c.signal);
        }
    }

    /// A task lost with its worker will be redone: its completions go back in front.
    pub(super) fn requeue_processing_completions(&mut self, wf: u32) {
        let w = &mut self.wfs[wf];
        let processing = std::mem::replace(&mut w.processing_completions, CompletionList::EMPTY);
        if processing.is_empty() {
            return;
        }
        let pending = w.completions;
        if pending.is_empty() {
            w.completions = processing;
        } else {
            self.completions[processing.tail].next = pending.head;
            self.wfs[wf].completions.head = processing.head;
        }
    }

    /// Frees what a completed workflow still holds in its completion lists.
    pub(super) fn drop_completions(&mut self, wf: u32) {
        for list in [
            std::mem::replace(&mut self.wfs[wf].completions, CompletionList::EMPTY),
            std::mem::replace(
                &mut self.wfs[wf].processing_completions,
                CompletionList::EMPTY,
            ),
        ] {
            let mut next = list.head;
            while next != NONE {
                let c = self.completions[next];
                self.completions.remove(next);
                next = c.next;
                self.deliver_orphan(c.frame, c.frame_gen);
            }
        }
    }
}

impl Model {
    /// A child workflow's task has run: start its program (first task), deliver what
    /// completed, and complete the child when its program has finished. Returns whether the
    /// child completed.
    pub(in crate::model) fn complete_child_task(
        &mut self,
        wf: u32,
        parent: u32,
        processing: u8,
    ) -> bool {
        if processing & INBOX_START != 0 {
            self.start_program(wf);
        }
        if processing & INBOX_COMPLETIONS != 0 {
            self.process_completions(wf);
        }
        match self.wfs[wf].program_outcome {
            Some(ok) => {
                self.finish_child(wf, parent, ok);
                true
            }
            None => false,
        }
    }

    fn finish_child(&mut self, wf: u32, parent: u32, ok: bool) {
        self.wfs[wf].history_events += 1; // WorkflowExecutionCompleted or Failed
        let p = &mut self.wfs[parent];
        p.history_events += 1; // ChildWorkflowExecutionCompleted or Failed
        p.inbox |= if ok {
            INBOX_CHILD_DONE
        } else {
            INBOX_CHILD_FAILED
        };
        self.schedule_workflow_task(parent);
    }
}
