//! Activities: the leaf steps of a turn's program, each an entity of its own from scheduling to
//! final outcome. The activity task queue, activity slots, the CPU part then the LLM or tool
//! wait, start-to-close timeouts and the retry policy. An attempt lost with its worker is
//! noticed only by its start-to-close timeout, as in Temporal. The final outcome goes to the
//! activity's frame through its workflow's next task.

use super::conversation::key;
use super::state::*;
use super::{Model, dist, llm, streams};
use crate::engine::Time;
use crate::engine::rng;
use crate::scenario::StepKind;
use rand::Rng as _;

impl Model {
    /// Schedules the first attempt of the activity node `node` for `frame` of workflow `wf`.
    pub(super) fn schedule_activity(
        &mut self,
        wf: u32,
        frame: u32,
        frame_gen: u32,
        node: u32,
        occurrence: u64,
    ) {
        let now = self.now();
        let wf_gen = self.wfs[wf].generation;
        let act = self.acts.insert_with(|previous| Activity {
            epoch: previous.map_or(0, |p| p.epoch.wrapping_add(1)),
            wf,
            wf_gen,
            frame,
            frame_gen,
            node,
            occurrence,
            attempt: 1,
            state: ActivityState::Backoff,
            inst: NONE,
            first_scheduled_at: now,
            scheduled_at: now,
            started_at: 0,
            outcome: ActivityOutcome::Completed,
            memory: 0,
        });
        self.wfs[wf].history_events += 1; // ActivityTaskScheduled
        self.stats.activities_scheduled += 1;
        self.enqueue_activity(act);
    }

    fn enqueue_activity(&mut self, act: u32) {
        let now = self.now();
        let a = &mut self.acts[act];
        a.epoch = a.epoch.wrapping_add(1);
        a.state = ActivityState::Queued;
        self.activities_queued += 1;
        a.scheduled_at = now;
        let epoch = a.epoch;
        if self.free_activity_slots > 0
            && let Some(inst) = self.pick_worker(|i| i.activity_slots_used < i.spec.activity_slots)
        {
            self.start_activity(inst, act);
            return;
        }
        self.activity_queue.push_back((act, epoch));
    }

    /// A worker with free activity slots takes queued activities.
    pub(super) fn pull_activities(&mut self, inst: u32) {
        while !self.activity_queue.is_empty() {
            let instance = &self.instances[inst as usize];
            if instance.state != InstanceState::Running
                || instance.activity_slots_used >= instance.spec.activity_slots
            {
                return;
            }
            let Some((act, epoch)) = self.activity_queue.pop_front() else {
                return;
            };
            if self.acts.is_live(act)
                && self.acts[act].epoch == epoch
                && self.acts[act].state == ActivityState::Queued
            {
                self.start_activity(inst, act);
            }
        }
    }

    fn start_activity(&mut self, inst: u32, act: u32) {
        let now = self.now();
        self.take_activity_slot(inst);
        let step = self.program.step_of(self.acts[act].node);
        let (cpu, memory) = (step.cpu, step.memory_bytes);
        let a = &mut self.acts[act];
        assert_eq!(a.state, ActivityState::Queued, "an activity starts once");
        a.state = ActivityState::Cpu;
        self.activities_queued -= 1;
        a.inst = inst;
        a.started_at = now;
        a.memory = memory;
        let waited = now - a.scheduled_at;
        let epoch = a.epoch;
        self.stats.record_activity_wait(now, waited);
        self.stats.attempts_started += 1;
        self.instances[inst as usize].activity_bytes += memory;
        self.note_memory(inst);
        self.submit_cpu(inst, CpuJob::Activity { act, epoch }, cpu);
    }

    /// The attempt's CPU part is done: call the LLM or the tool. Everything about the wait is
    /// drawn now, from streams keyed by (conversation, turn, occurrence, attempt).
    pub(super) fn begin_activity_wait(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act)
            || self.acts[act].epoch != epoch
            || self.acts[act].state != ActivityState::Cpu
        {
            return;
        }
        let now = self.now();
        let (wait, ok) = self.draw_activity_wait(act);
        let timeout = self
            .program
            .step_of(self.acts[act].node)
            .start_to_close_timeout;
        let a = &mut self.acts[act];
        let deadline = a.started_at.saturating_add(timeout);
        a.state = ActivityState::Waiting;
        let done_at = now.saturating_add(wait);
        let (at, event, outcome) = if done_at > deadline {
            (
                deadline.max(now),
                Event::ActivityTimeout { act, epoch },
                ActivityOutcome::TimedOut,
            )
        } else {
            let outcome = if ok {
                ActivityOutcome::Completed
            } else {
                ActivityOutcome::Failed
            };
            (done_at, Event::ActivityDone { act, epoch }, outcome)
        };
        a.outcome = outcome;
        if at <= self.horizon {
            self.schedule(at, event);
        }
    }

    /// The (conversation index, turn) an activity's workflow answers.
    fn turn_of(&self, wf: u32) -> (u64, u64) {
        let w = &self.wfs[wf];
        let WorkflowKind::Child { turn, .. } = w.kind else {
            unreachable!("activities belong to child workflows")
        };
        (self.convs[w.conv].index, turn as u64)
    }

    fn draw_activity_wait(&mut self, act: u32) -> (Time, bool) {
        let a = &self.acts[act];
        let (conv_index, turn) = self.turn_of(a.wf);
        let occurrence = a.occurrence;
        // A plain step's position keeps its historical key; nested occurrences are mixed.
        let attempt_part = if occurrence < 1 << 32 {
            (occurrence << 32) | a.attempt as u64
        } else {
            rng::mix64(occurrence ^ a.attempt as u64)
        };
        let attempt_key = key(conv_index, turn, attempt_part);
        match &self.program.step_of(a.node).kind {
            StepKind::Tool {
                latency,
                failure_probability,
            } => {
                let mut draws = rng::stream(self.seed, streams::TOOL, attempt_key);
                let wait = dist::sample_nanos(latency, &mut draws);
                let failed = draws.random::<f64>() < *failure_probability;
                (wait, !failed)
            }
            StepKind::Llm {
                group_index,
                input_tokens,
                output_tokens,
                ..
            } => {
                let mut tokens = rng::stream(
                    self.seed,
                    streams::TOKENS,
                    key(conv_index, turn, occurrence),
                );
                let input = dist::sample_count(input_tokens, &mut tokens);
                let output = dist::sample_count(output_tokens, &mut tokens);
                let mut draws = rng::stream(self.seed, streams::LLM, attempt_key);
                let group = &self.cfg.provider_groups[*group_index].providers;
                let outcome = llm::call(
                    &self.cfg.providers,
                    &self.conditions,
                    group,
                    output,
                    &mut draws,
                );
                let now = self.now();
                self.stats
                    .record_llm_call(now, &outcome, &self.cfg.providers, input, output);
                (outcome.elapsed, outcome.ok)
            }
        }
    }

    pub(super) fn on_activity_done(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act)
            || self.acts[act].epoch != epoch
            || self.acts[act].state != ActivityState::Waiting
        {
            return;
        }
        let outcome = self.acts[act].outcome;
        self.end_attempt(act, outcome);
    }

    pub(super) fn on_activity_timeout(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act) || self.acts[act].epoch != epoch {
            return;
        }
        if matches!(
            self.acts[act].state,
            ActivityState::Waiting | ActivityState::Lost
        ) {
            self.end_attempt(act, ActivityOutcome::TimedOut);
        }
    }

    /// Ends the current attempt: frees its slot (if its worker still has it), then retries or
    /// reports the final outcome.
    fn end_attempt(&mut self, act: u32, outcome: ActivityOutcome) {
        if self.acts[act].state == ActivityState::Waiting {
            let inst = self.acts[act].inst;
            let memory = self.acts[act].memory;
            let instance = &mut self.instances[inst as usize];
            instance.activity_bytes = instance
                .activity_bytes
                .checked_sub(memory)
                .expect("an instance's activity memory is the sum of its activities'");
            self.release_activity_slot(inst);
            self.pull_activities(inst);
            self.stop_if_drained(inst);
        }
        let a = &mut self.acts[act];
        a.inst = NONE;
        match outcome {
            ActivityOutcome::Completed => self.stats.attempts_completed += 1,
            ActivityOutcome::Failed => self.stats.attempts_failed += 1,
            ActivityOutcome::TimedOut => self.stats.attempts_timed_out += 1,
        }
        let retry = &self.cfg.retry;
        let attempt = a.attempt;
        let exhausted = retry.maximum_attempts > 0 && attempt >= retry.maximum_attempts;
        if outcome == ActivityOutcome::Completed || exhausted {
            self.finish_activity(act, outcome == ActivityOutcome::Completed);
            return;
        }
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let interval = retry.initial_interval as f64 * retry.backoff_coefficient.powi(exponent);
        let backoff = (interval.min(retry.maximum_interval as f64)) as Time;
        self.stats.retries += 1;
        let a = &mut self.acts[act];
        a.attempt += 1;
        a.state = ActivityState::Backoff;
        a.epoch = a.epoch.wrapping_add(1);
        let epoch = a.epoch;
        self.schedule_within_horizon(backoff, Event::ActivityRetry { act, epoch });
    }

    /// The activity's final outcome: record it in its workflow's history and hand it to its
    /// frame through the workflow's next task (or drop it if the workflow has completed).
    fn finish_activity(&mut self, act: u32, ok: bool) {
        let a = self.acts[act].clone();
        self.acts.remove(act);
        let workflow_alive = self.wfs.is_live(a.wf) && self.wfs[a.wf].generation == a.wf_gen;
        if !workflow_alive {
            self.deliver_orphan(a.frame, a.frame_gen);
            return;
        }
        self.wfs[a.wf].history_events += 2; // ActivityTaskStarted, Completed (or Failed)
        self.complete_into(a.wf, a.frame, a.frame_gen, Signal::Done { ok });
    }

    pub(super) fn on_activity_retry(&mut self, act: u32, epoch: u32) {
        if self.acts.is_live(act)
            && self.acts[act].epoch == epoch
            && self.acts[act].state == ActivityState::Backoff
        {
            self.enqueue_activity(act);
        }
    }

    /// Called when `inst` dies: its attempts are lost; their start-to-close timeouts (already
    /// implied by when they started) bring them back.
    pub(super) fn lose_activities(&mut self, inst: u32) {
        let now = self.now();
        let ids: Vec<u32> = self.acts.ids().collect();
        for act in ids {
            let a = &mut self.acts[act];
            let running = matches!(a.state, ActivityState::Cpu | ActivityState::Waiting);
            if !running || a.inst != inst {
                continue;
            }
            a.state = ActivityState::Lost;
            a.inst = NONE;
            a.epoch = a.epoch.wrapping_add(1);
            let (epoch, started_at, node) = (a.epoch, a.started_at, a.node);
            let timeout = self.program.step_of(node).start_to_close_timeout;
            let at = started_at.saturating_add(timeout).max(now);
            if at <= self.horizon {
                self.schedule(at, Event::ActivityTimeout { act, epoch });
            }
        }
    }
}
