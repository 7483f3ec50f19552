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

mod choice;
mod fallback;
mod parallel;
mod repeat;
mod sequence;

use super::state::*;
use super::{Model, dist, streams};
use crate::engine::rng::{self, Rng};
use crate::scenario::{BranchFailure, Dist, Step, StepKind, Workload};

/// The compiled program. Node ids are stable for a given shape of `[[agent.steps]]`, so a
/// timeline `set` (which cannot change the shape) recompiles it in place.
#[derive(Clone, Debug)]
pub struct Program {
    pub nodes: Vec<Node>,
    /// Each workload's turn: its top-level sequence.
    pub roots: Vec<u32>,
    /// Named steps in program order (workload by workload; a named workload's steps are
    /// `<workload>.<step>`): the per-step statistics' index.
    pub step_names: Vec<String>,
    /// The workload of each node, by node id.
    pub node_workloads: Vec<u32>,
    /// Connection limits of tool steps with `max_concurrent_calls`, by pool index.
    pub pool_limits: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    /// The step's on-failure fallback: its sequence node and `max_runs`.
    pub on_failure: Option<(u32, u32)>,
    /// Index into `step_names` (NONE for the anonymous sequences).
    pub stat: u32,
    /// Tool steps with a connection limit: their pool (NONE otherwise).
    pub pool: u32,
    /// A sequence whose only child is an activity without a fallback: that activity (NONE
    /// otherwise). A workflow whose program is such a sequence runs the activity without a
    /// frame (see `start_program`).
    pub lone_activity: u32,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A leaf step: one activity (its settings as resolved).
    Activity(Box<Step>),
    /// Children run one after another.
    Sequence { children: Vec<u32> },
    /// Branches (sequence nodes) run at once; with `width`, the one branch is a template.
    Parallel {
        branches: Vec<u32>,
        width: Option<Dist>,
        wait_for: Option<u32>,
        on_branch_failure: BranchFailure,
        child_workflow: bool,
    },
    /// `body` (a sequence node) `count` times.
    Repeat { count: Dist, body: u32 },
    /// One option (a sequence node) by probability: `cumulative[i]` is P(option <= i).
    Choice {
        cumulative: Vec<f64>,
        options: Vec<u32>,
    },
}

impl Program {
    /// Every workload's agent in one arena of nodes, so node ids, step statistics and tool
    /// pools are indexes across the fleet.
    pub fn compile(workloads: &[Workload]) -> Program {
        let mut program = Program {
            nodes: Vec::new(),
            roots: Vec::new(),
            step_names: Vec::new(),
            node_workloads: Vec::new(),
            pool_limits: Vec::new(),
        };
        for (index, workload) in workloads.iter().enumerate() {
            let first_step = program.step_names.len();
            let root = program.sequence(&workload.agent.steps);
            program.roots.push(root);
            if let Some(name) = &workload.name {
                for step in &mut program.step_names[first_step..] {
                    *step = format!("{name}.{step}");
                }
            }
            let nodes = program.nodes.len() - program.node_workloads.len();
            program
                .node_workloads
                .extend(std::iter::repeat_n(index as u32, nodes));
        }
        for node in 0..program.nodes.len() {
            if let NodeKind::Sequence { children } = &program.nodes[node].kind
                && let [child] = children[..]
                && let n = &program.nodes[child as usize]
                && matches!(n.kind, NodeKind::Activity(_))
                && n.on_failure.is_none()
            {
                program.nodes[node].lone_activity = child;
            }
        }
        program
    }

    fn push(&mut self, kind: NodeKind) -> u32 {
        self.nodes.push(Node {
            kind,
            on_failure: None,
            stat: NONE,
            pool: NONE,
            lone_activity: NONE,
        });
        (self.nodes.len() - 1) as u32
    }

    fn sequence(&mut self, steps: &[Step]) -> u32 {
        let children = steps.iter().map(|step| self.step(step)).collect();
        self.push(NodeKind::Sequence { children })
    }

    fn step(&mut self, step: &Step) -> u32 {
        let stat = self.step_names.len() as u32;
        self.step_names.push(step.name.clone());
        let mut pool = NONE;
        let kind = match &step.kind {
            StepKind::Llm { .. } => NodeKind::Activity(Box::new(step.clone())),
            StepKind::Tool {
                max_concurrent_calls,
                ..
            } => {
                if let Some(limit) = max_concurrent_calls {
                    pool = self.pool_limits.len() as u32;
                    self.pool_limits.push(*limit);
                }
                NodeKind::Activity(Box::new(step.clone()))
            }
            StepKind::Parallel(p) => NodeKind::Parallel {
                branches: p.branches.iter().map(|b| self.sequence(&b.steps)).collect(),
                width: p.width.clone(),
                wait_for: p.wait_for,
                on_branch_failure: p.on_branch_failure,
                child_workflow: p.child_workflow,
            },
            StepKind::Repeat { count, steps } => NodeKind::Repeat {
                count: count.clone(),
                body: self.sequence(steps),
            },
            StepKind::Choice { options } => {
                let mut total = 0.0;
                let cumulative = options
                    .iter()
                    .map(|o| {
                        total += o.probability;
                        total
                    })
                    .collect();
                NodeKind::Choice {
                    cumulative,
                    options: options.iter().map(|o| self.sequence(&o.steps)).collect(),
                }
            }
        };
        let on_failure = step
            .on_failure
            .as_ref()
            .map(|f| (self.sequence(&f.steps), f.max_runs));
        let node = self.push(kind);
        let n = &mut self.nodes[node as usize];
        n.on_failure = on_failure;
        n.stat = stat;
        n.pool = pool;
        node
    }

    /// The leaf step of an activity node.
    pub fn step_of(&self, node: u32) -> &Step {
        match &self.nodes[node as usize].kind {
            NodeKind::Activity(step) => step,
            other => unreachable!("node {node} is not an activity: {other:?}"),
        }
    }
}

/// Salt of the draw keys of on-failure fallback runs.
const FALLBACK_SALT: u64 = 0xFA11_BAC4_0000_0000;

/// The draw key of an on-failure fallback's `run`-th run (1-based) for a step drawn with `key`.
pub fn fallback_occurrence(key: u64, run: u32) -> u64 {
    rng::mix64(key ^ FALLBACK_SALT ^ run as u64) | 1 << 63
}

/// The draw key of a response child's top-level sequence. It is neither a position (those are
/// small) nor a nested key (those have the top bit set), so only the top-level sequence has it:
/// the first top-level step has key 0, and a composite one must mix its children's keys like
/// any other, or they would take positions and draw what the top-level steps draw.
pub const ROOT_KEY: u64 = 1 << 62;

/// The draw key of a frame's `index`-th child. The top-level sequence (`ROOT_KEY`) gives its
/// children their position (so a plain list of steps draws exactly as it always has); nested
/// keys are mixed and tagged with the top bit, so they never collide with a position.
pub fn occurrence(frame_key: u64, index: u64) -> u64 {
    if frame_key == ROOT_KEY {
        index
    } else {
        rng::mix64(frame_key ^ rng::mix64(index.wrapping_add(1))) | 1 << 63
    }
}

impl Model {
    /// Runs the program node of child workflow `wf` (its first task has just run).
    ///
    /// A program of one plain activity (the commonest turn, and every queueing validation)
    /// runs it with no frame: the activity reports straight to the workflow (frame NONE).
    /// This is exactly what the sequence frame would do for a lone child (a first chunk moves
    /// it on to nothing; its end is the sequence's end), without allocating the frame, and
    /// its results reach the workflow as inbox flags (`INBOX_ROOT_DONE`, `INBOX_ROOT_CHUNK`)
    /// rather than completion records.
    pub(super) fn start_program(&mut self, wf: u32) {
        let (node, key) = (self.wfs[wf].program_node, self.wfs[wf].program_key);
        let lone = self.program.nodes[node as usize].lone_activity;
        if lone != NONE {
            self.schedule_activity(wf, NONE, 0, lone, occurrence(key, 0));
        } else {
            self.start_node(wf, NONE, 0, node, key);
        }
    }

    /// Starts `node` in workflow `wf` as a child of `parent` (NONE: the workflow's root), with
    /// draw key `key`. A step with an on-failure fallback runs inside a wrapper frame.
    pub(super) fn start_node(
        &mut self,
        wf: u32,
        parent: u32,
        parent_gen: u32,
        node: u32,
        key: u64,
    ) {
        if self.program.nodes[node as usize].on_failure.is_some() {
            let frame = self.allocate_frame(wf, parent, parent_gen, node, true, key);
            self.fallback_start(frame);
        } else {
            self.start_core(wf, parent, parent_gen, node, key);
        }
    }

    /// Starts `node` itself (never its wrapper).
    pub(super) fn start_core(
        &mut self,
        wf: u32,
        parent: u32,
        parent_gen: u32,
        node: u32,
        key: u64,
    ) {
        let kind = &self.program.nodes[node as usize].kind;
        if let NodeKind::Activity(_) = kind {
            self.schedule_activity(wf, parent, parent_gen, node, key);
            return;
        }
        let frame = self.allocate_frame(wf, parent, parent_gen, node, false, key);
        match &self.program.nodes[node as usize].kind {
            NodeKind::Sequence { .. } => self.sequence_start(frame),
            NodeKind::Parallel { .. } => self.parallel_start(frame),
            NodeKind::Repeat { .. } => self.repeat_start(frame),
            NodeKind::Choice { .. } => self.choice_start(frame),
            NodeKind::Activity(_) => unreachable!("handled above"),
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
            streamed: false,
        })
    }

    /// Starts `child` under `frame` with draw key `key`, counted as running.
    pub(super) fn start_child(&mut self, frame: u32, child: u32, key: u64) {
        let f = &mut self.frames[frame];
        f.running += 1;
        let (wf, generation) = (f.wf, f.generation);
        self.start_node(wf, frame, generation, child, key);
    }

    /// A generator for the per-turn program draws of `frame` (a width, a count, a choice):
    /// keyed by (conversation, turn, the frame's draw key), from a workload stream, so the
    /// fleet never changes them.
    pub(super) fn program_draws(&self, frame: u32) -> Rng {
        let f = &self.frames[frame];
        let w = &self.wfs[f.wf];
        let WorkflowKind::Child { turn, .. } = w.kind else {
            unreachable!("programs run in child workflows")
        };
        let stream_key = super::conversation::key(w.conv_index, turn as u64, f.key);
        self.draws(streams::PROGRAM, stream_key)
    }

    /// A count drawn from `count` for `frame`, at most `max`.
    pub(super) fn draw_count(&self, frame: u32, count: &Dist, max: u32) -> u32 {
        let mut draws = self.program_draws(frame);
        dist::sample_count(count, &mut draws).min(max as u64) as u32
    }

    /// A signal for `frame`'s child. Results from outside the workflow arrive here through the
    /// workflow's task; a child frame calls it directly.
    pub(super) fn deliver(&mut self, frame: u32, frame_gen: u32, signal: Signal) {
        if !self.frames.is_live(frame) || self.frames[frame].generation != frame_gen {
            return;
        }
        let f = &mut self.frames[frame];
        if let Signal::Done { .. } = signal {
            f.running = (f.running.checked_sub(1)).expect("a frame's running children finish once");
        }
        if f.finished {
            // A straggler of a frame that has reported already.
            if let Signal::Done { .. } = signal {
                self.straggler_done(frame);
            }
            return;
        }
        if f.wrapper {
            self.fallback_child_done(frame, signal);
            return;
        }
        match &self.program.nodes[f.node as usize].kind {
            NodeKind::Sequence { .. } => self.sequence_child_done(frame, signal),
            NodeKind::Parallel { .. } => self.parallel_child_done(frame, signal),
            NodeKind::Repeat { .. } => self.repeat_child_done(frame, signal),
            NodeKind::Choice { .. } => self.choice_child_done(frame, signal),
            NodeKind::Activity(_) => unreachable!("activities have no frame"),
        }
    }

    /// A child of a frame that no longer waits for it has finished: count it, and free the
    /// frame when nothing of it runs any more.
    fn straggler_done(&mut self, frame: u32) {
        let f = &self.frames[frame];
        if !f.wrapper
            && matches!(
                self.program.nodes[f.node as usize].kind,
                NodeKind::Parallel { .. }
            )
        {
            self.stats.branches_abandoned += 1;
        }
        if self.frames[frame].running == 0 {
            self.frames.remove(frame);
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
            f.running = (f.running.checked_sub(1)).expect("a frame's running children finish once");
            let (parent, parent_gen, finished) = (f.parent, f.parent_gen, f.finished);
            self.straggler_done(frame);
            if self.frames.is_live(frame) && self.frames[frame].generation == frame_gen {
                return;
            }
            if finished {
                // It reported before: its parent no longer counts it.
                return;
            }
            (frame, frame_gen) = (parent, parent_gen);
        }
    }

    /// `frame` is done: record its step's latency, free it (or keep it for its stragglers)
    /// and tell its parent, or end the workflow's program.
    pub(super) fn report(&mut self, frame: u32, ok: bool) {
        let now = self.now();
        let f = &mut self.frames[frame];
        let (wf, parent, parent_gen, streamed) = (f.wf, f.parent, f.parent_gen, f.streamed);
        let (node, wrapper, started_at) = (f.node, f.wrapper, f.started_at);
        if f.running == 0 {
            self.frames.remove(frame);
        } else {
            f.finished = true;
        }
        let n = &self.program.nodes[node as usize];
        // A step's latency is its wrapper's when it has one (fallbacks included).
        if n.stat != NONE && (wrapper || n.on_failure.is_none()) {
            self.stats.record_step(n.stat, now, now - started_at, ok);
        }
        self.report_to(wf, parent, parent_gen, Signal::Done { ok, streamed });
    }

    /// Tells `parent` (or, when NONE, the workflow) that a child finished.
    pub(super) fn report_to(&mut self, wf: u32, parent: u32, parent_gen: u32, signal: Signal) {
        if parent != NONE {
            self.deliver(parent, parent_gen, signal);
        } else if let Signal::Done { ok, .. } = signal {
            self.wfs[wf].program_outcome = Some(ok);
        }
    }

    // ----- completions: results that wait for a workflow task -----

    /// Queues `signal` for `frame` in `wf`'s completion list and makes sure a workflow task
    /// will process it.
    #[inline]
    pub(super) fn complete_into(&mut self, wf: u32, frame: u32, frame_gen: u32, signal: Signal) {
        if frame == NONE {
            let w = &mut self.wfs[wf];
            w.inbox |= match signal {
                Signal::Done { ok, .. } => {
                    w.root_ok = ok;
                    INBOX_ROOT_DONE
                }
                Signal::FirstChunk => INBOX_ROOT_CHUNK,
            };
            self.schedule_workflow_task(wf);
            return;
        }
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
    #[inline]
    pub(super) fn drop_completions(&mut self, wf: u32) {
        let w = &self.wfs[wf];
        if w.completions.is_empty() && w.processing_completions.is_empty() {
            return;
        }
        self.drop_pending_completions(wf);
    }

    /// Out of line: a workflow seldom completes with results still unseen, and this loop
    /// inlined into `remove_workflow` made every removal save registers for it.
    #[inline(never)]
    fn drop_pending_completions(&mut self, wf: u32) {
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
        if processing & INBOX_ROOT_DONE != 0 {
            self.wfs[wf].program_outcome = Some(self.wfs[wf].root_ok);
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
        let w = &self.wfs[wf];
        if w.report_frame != NONE {
            // A branch child: its parent's frame hears of it through the parent's next task.
            let (frame, frame_gen, parent_gen) = (w.report_frame, w.report_frame_gen, w.parent_gen);
            if self.wfs.is_live(parent) && self.wfs[parent].generation == parent_gen {
                self.wfs[parent].history_events += 1; // ChildWorkflowExecutionCompleted
                let signal = Signal::Done {
                    ok,
                    streamed: false,
                };
                self.complete_into(parent, frame, frame_gen, signal);
            } else {
                self.deliver_orphan(frame, frame_gen);
            }
            return;
        }
        let parent_gen = w.parent_gen;
        assert!(
            self.wfs.is_live(parent) && self.wfs[parent].generation == parent_gen,
            "a response child's parent workflow outlives it"
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit;
    use crate::scenario::OnFailure;

    /// Only a sequence whose one child is a plain activity runs frameless: two steps, or a
    /// step with a fallback (whose wrapper frame runs the re-plan), keep their frames.
    #[test]
    fn only_a_lone_plain_activity_runs_frameless() {
        let one = testkit::mmc(1.0, 1.0, 1, 10.0);
        let program = Program::compile(&one.workloads);
        let root = program.roots[0] as usize;
        let NodeKind::Sequence { children } = &program.nodes[root].kind else {
            panic!("a root is a sequence")
        };
        assert_eq!(program.nodes[root].lone_activity, children[0]);

        let mut two = one.clone();
        let step = two.workloads[0].agent.steps[0].clone();
        two.workloads[0].agent.steps.push(Step {
            name: "second".into(),
            ..step.clone()
        });
        let program = Program::compile(&two.workloads);
        assert_eq!(program.nodes[program.roots[0] as usize].lone_activity, NONE);

        let mut fallback = one.clone();
        fallback.workloads[0].agent.steps[0].on_failure = Some(OnFailure {
            max_runs: 1,
            steps: vec![Step {
                name: "replan".into(),
                ..step
            }],
        });
        let program = Program::compile(&fallback.workloads);
        let root = program.roots[0] as usize;
        assert_eq!(program.nodes[root].lone_activity, NONE);
        // The fallback's own sequence holds one plain step: marked, but only a workflow's
        // program node (a turn's root, a branch child's branch) is started by `start_program`,
        // the one reader of the mark, so a fallback run still gets its frame.
    }
}
